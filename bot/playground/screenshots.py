"""``make screenshots``: the README's pictures of what users see, taken of the playground in
headless Chromium.

``python -m bot.playground.screenshots OUT_DIR`` starts a playground on a fresh database,
at a fixed time (so the pictures only change when what users see changes), acts through
the page as the demo people do, and writes one PNG per scene in ``SCENES`` to OUT_DIR.
Selenium (a dev dependency) is imported only here, when the pictures are taken.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.playground.chromium import BrowserUnavailable, browser_paths, headless_chromium
from bot.playground.running import FEEDBACK, start_playground
from domain.kpis.demo import MARKETERS, REPS

# One PNG per scene, named <scene>.png; the README shows each of them (a test checks).
SCENES = (
    "playground-handoff",
    "playground-rating-form",
    "playground-rating-post",
    "playground-thread-answer",
    "playground-page",
    "playground-app-home",
)
# A Tuesday morning of the week after the README's chart (2026-W47): the demo data's last
# week is that one, and the page's clock and every date in the messages stay the same.
START_AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
# The page's viewport in CSS pixels: WIDTH wide always; each scene sets the height it
# needs, between MIN_HEIGHT and MAX_HEIGHT.
WIDTH = 1200
DEFAULT_HEIGHT = 760
MIN_HEIGHT = 420
MAX_HEIGHT = 1600
WAIT_SECONDS = 15
EXIT_OK = 0
EXIT_UNAVAILABLE = 2
ALEX, BEA, FAY = REPS[0], REPS[1], MARKETERS[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Write every scene's PNG to OUT_DIR; exit status 2 when the browser is missing."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.playground.screenshots",
        description="Take the README's screenshots of the playground in headless Chromium.",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="where the PNGs go")
    args = parser.parse_args(argv)
    try:
        written = take_screenshots(args.out_dir)
    except BrowserUnavailable as error:
        print(f"screenshots: none taken: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    for path in written:
        print(f"screenshots: wrote {path} ({path.stat().st_size // 1024} KB)")
    return EXIT_OK


def take_screenshots(out_dir: Path, *, environ: dict[str, str] | None = None) -> list[Path]:
    """Run every scene against a fresh playground; the PNGs written, in ``SCENES`` order."""
    env = dict(os.environ if environ is None else environ)
    chromium, chromedriver = browser_paths(env)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="leadloop-screenshots-") as scratch,
        headless_chromium(
            chromium, chromedriver, Path(scratch) / "profile", window=(WIDTH, DEFAULT_HEIGHT)
        ) as browser,
    ):
        playground = start_playground(
            database=Path(scratch) / "playground.db", port=0, start_at=START_AT
        )
        try:
            page = _Page(browser)
            page.viewport(DEFAULT_HEIGHT)
            browser.get(playground.url)
            page.wait_for("#person", "Alex")
            shots = {name: out_dir / f"{name}.png" for name in SCENES}
            for name, scene in _scenes().items():
                _save(page, scene(page), shots[name])
        finally:
            playground.close()
    return [shots[name] for name in SCENES]


class _Page:
    """The playground's page, as a person uses it."""

    def __init__(self, browser: Any) -> None:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import Select, WebDriverWait

        self.browser = browser
        self.by = By
        self._stale = StaleElementReferenceException
        self._conditions = expected_conditions
        self._select = Select
        self._wait = WebDriverWait

    def until(self, condition: Callable[[Any], Any]) -> Any:
        """What ``condition`` returns once it is true, trying again when the page redrew."""
        return self._wait(self.browser, WAIT_SECONDS, ignored_exceptions=(self._stale,)).until(
            condition
        )

    def find(self, css: str) -> Any:
        return self.browser.find_element(self.by.CSS_SELECTOR, css)

    def wait_for(self, css: str, text: str) -> Any:
        """The element at ``css`` once its text contains ``text``."""
        self.until(
            self._conditions.text_to_be_present_in_element((self.by.CSS_SELECTOR, css), text)
        )
        return self.find(css)

    def click(self, css: str) -> None:
        self.until(lambda driver: self.find(css).click() or True)

    def click_xpath(self, xpath: str) -> None:
        self.until(lambda driver: driver.find_element(self.by.XPATH, xpath).click() or True)

    def act_as(self, person: str) -> None:
        self._select(self.find("#person")).select_by_value(person)

    def choose(self, css: str, value: str) -> None:
        self._select(self.find(css)).select_by_value(value)

    def open(self, conversation: str) -> None:
        self.click(f'[data-conversation="{conversation}"]')

    def type_line(self, box: str, text: str) -> None:
        field = self.find(f"#{box}")
        field.send_keys(text)
        field.submit()

    def viewport(self, height: int) -> None:
        """The page's viewport, ``WIDTH`` wide and ``height`` high, in CSS pixels."""
        self.browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def fit(self, *areas: str) -> None:
        """Make the viewport as high as the scrolling ``areas`` need to show all they hold,
        no more, so that a picture has neither a scroll bar nor a blank stretch."""
        extra = self.browser.execute_script(FIT_SCRIPT, list(areas))
        height = self.browser.execute_script("return window.innerHeight") + int(extra or 0)
        self.viewport(max(MIN_HEIGHT, min(MAX_HEIGHT, height)))
        self.settle()

    def settle(self) -> None:
        """Let the page finish drawing, with no focus ring or blinking caret in the way."""
        self.browser.execute_async_script(SETTLE_SCRIPT)


# How much higher (or, when negative, lower) the page could be for the scrolling areas to
# show their last child whole: the most any of them needs.
FIT_SCRIPT = """
return Math.max(...arguments[0].map((css) => {
  const area = document.querySelector(css);
  const last = area && area.lastElementChild;
  if (!last) return -Infinity;
  const padding = parseFloat(getComputedStyle(area).paddingBottom) || 0;
  const bottom = last.getBoundingClientRect().bottom + area.scrollTop;
  return Math.ceil(bottom + padding - area.getBoundingClientRect().top - area.clientHeight);
}));
"""
SETTLE_SCRIPT = """
const done = arguments[arguments.length - 1];
if (document.activeElement) document.activeElement.blur();
document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(done)));
"""


# A lead's hand-off message, by the lead's reference.
HANDOFF_OF = '//div[@class="message"][.//b[contains(., ": %s")]]'


def _scenes() -> dict[str, Callable[[_Page], Any]]:
    """Each scene acts on the page and returns the element to photograph; they run in
    ``SCENES`` order, each on what the ones before left."""
    return {
        "playground-handoff": _handoff,
        "playground-rating-form": _rating_form,
        "playground-rating-post": _rating_post,
        "playground-thread-answer": _thread_answer,
        "playground-page": _whole_page,
        "playground-app-home": _app_home,
    }


def _handoff(page: _Page) -> Any:
    """A new lead's hand-off in the rep's DM, with its one-click rating buttons (Bea's: her
    DM holds just the one, so the picture does not depend on which was delivered first)."""
    page.act_as(BEA)
    page.open(f"D{BEA}")
    page.wait_for("#messages", "GLOBEX-7")
    page.fit("#messages")
    return page.find(".pane")


def _rating_form(page: _Page) -> Any:
    """The rating form, opened from a hand-off's "Rate with reason" and filled in."""
    page.viewport(DEFAULT_HEIGHT)
    page.act_as(ALEX)
    page.open(f"D{ALEX}")
    page.click_xpath(HANDOFF_OF % "ACME-2" + '//button[@data-action-id="handoff_rate_with_reason"]')
    page.wait_for("#modal", "Rate a lead")
    page.choose('#modal [data-action-id="score_input"]', "3")
    page.click_xpath('//div[@id="modal"]//label[contains(., "Not ready to buy")]')
    page.find("#modal textarea").send_keys("Keen, but their budget is for next quarter.")
    page.settle()
    return page.find("#modal")


def _rating_post(page: _Page) -> Any:
    """A rep's ``/rate-lead`` typed in #lead-feedback: the confirmation only the rep sees,
    and the rating post everyone there sees, with marketing's buttons."""
    page.click("#modal .close")
    page.until(lambda driver: not page.find("#modal-backdrop").is_displayed())
    page.open(FEEDBACK)
    page.type_line("text", "/rate-lead ACME-1 2 wrong industry")
    page.wait_for("#messages", "Lead ACME-1")
    page.wait_for("#messages", "Only visible to you")
    page.fit("#messages")
    return page.find(".pane")


def _thread_answer(page: _Page) -> Any:
    """Marketing's (Fay's) answer in the rating post's thread."""
    page.viewport(DEFAULT_HEIGHT)
    page.act_as(FAY)
    page.wait_for("#messages", "Lead ACME-1")
    page.click("#messages .replies")
    page.type_line("thread-text", "Agreed: we'll take retail off the webinar's invite list.")
    page.wait_for("#thread-messages", "retail off")
    page.wait_for("#messages", "1 reply")
    page.fit("#messages", "#thread-messages", ".sidebar")
    return page.find("#thread")


def _whole_page(page: _Page) -> Any:
    """The whole page as it stands: who you are, the clock, the channels and DMs, the
    channel and the thread."""
    return page.find("body")


def _app_home(page: _Page) -> Any:
    """The rep's App Home: leads waiting for a rating, the latest ratings and answers."""
    page.viewport(DEFAULT_HEIGHT)
    page.act_as(ALEX)
    page.click(".home-tab")
    page.wait_for("#messages", "Your latest ratings")
    page.wait_for("#messages", "take retail off")
    page.fit("#messages")
    return page.find("#messages")


def _save(page: _Page, element: Any, path: Path) -> None:
    """The viewport cut to ``element`` (the whole pixels inside its edges: none of the
    neighbours' shows), as a PNG of at most 256 colours: a fraction of the size, and the
    same look, since the page is flat colours and anti-aliased text."""
    from PIL import Image

    rect = element.rect
    with Image.open(io.BytesIO(page.browser.get_screenshot_as_png())) as shot:
        box = (
            math.ceil(rect["x"]),
            math.ceil(rect["y"]),
            min(shot.width, math.floor(rect["x"] + rect["width"])),
            min(shot.height, math.floor(rect["y"] + rect["height"])),
        )
        picture = shot.convert("RGB").crop(box)
    quantized = picture.quantize(colors=256, dither=Image.Dither.NONE)
    quantized.save(path, format="PNG", optimize=True)


if __name__ == "__main__":
    raise SystemExit(main())
