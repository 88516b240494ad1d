"""The playground's page in headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium): what a person types and clicks reaches the app and comes back drawn.

Skipped, saying why, where Chromium or its driver is not installed (`make test` installs
them when it can).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.playground.chromium import BrowserUnavailable, browser_paths, headless_chromium
from bot.playground.running import FEEDBACK, HANDOFFS, MEETINGS, Playground
from domain.kpis.demo import MARKETERS, REPS

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="Selenium is not installed: pip install -e '.[dev]'"
)
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

WINDOW = (1400, 900)
WAIT_SECONDS = 15
ALEX, FAY = REPS[0], MARKETERS[0]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium, with a profile of its own and no background traffic."""
    with ExitStack() as stack:
        try:
            chromium, chromedriver = browser_paths(os.environ)
            driver = stack.enter_context(
                headless_chromium(chromium, chromedriver, tmp_path / "profile", window=WINDOW)
            )
        except BrowserUnavailable as error:
            pytest.skip(f"no browser tests: {error} (`make test` tries this)")
        yield driver


def wait_for(browser: Any, css: str, text: str) -> Any:
    """The element at ``css`` once its text contains ``text``."""
    WebDriverWait(browser, WAIT_SECONDS).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )
    return browser.find_element(By.CSS_SELECTOR, css)


def click(browser: Any, css: str, *, within: str = "body") -> None:
    """Click the element at ``css``, found again if the page redrew it meanwhile."""

    def clicked(driver: Any) -> bool:
        driver.find_element(By.CSS_SELECTOR, within).find_element(By.CSS_SELECTOR, css).click()
        return True

    WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    ).until(clicked)


def act_as(browser: Any, person: str) -> None:
    Select(browser.find_element(By.ID, "person")).select_by_value(person)


def open_conversation(browser: Any, conversation: str) -> None:
    click(browser, f'[data-conversation="{conversation}"]')


def type_line(browser: Any, box: str, text: str) -> None:
    field = browser.find_element(By.ID, box)
    field.send_keys(text)
    field.submit()


def test_a_rating_typed_on_the_page_shows_in_the_feedback_channel_and_its_answer_in_the_dm(
    browser: Any, playground: Playground
) -> None:
    browser.get(playground.url)
    assert "nothing here reaches Slack" in wait_for(browser, "#local-only", "local").text
    wait_for(browser, "#person", "Alex")
    act_as(browser, ALEX)
    open_conversation(browser, f"D{ALEX}")

    type_line(browser, "text", "/rate-lead ACME-1 2 wrong industry")

    wait_for(browser, "#messages", "Only visible to you")
    open_conversation(browser, FEEDBACK)
    post = wait_for(browser, "#messages", "Lead ACME-1")
    assert "2/5" in post.text and "wrong industry" in post.text
    assert post.find_element(By.CSS_SELECTOR, '[data-action-id="verdict_agree"]').is_displayed()

    act_as(browser, FAY)
    click(browser, "#messages .replies")
    type_line(browser, "thread-text", "We'll tighten the webinar list")
    wait_for(browser, "#thread-messages", "We'll tighten the webinar list")

    act_as(browser, ALEX)
    open_conversation(browser, f"D{ALEX}")
    assert "answered your 2/5 rating" in wait_for(browser, "#messages", "answered").text


def test_a_handoff_button_clicked_in_the_browser_updates_the_message(
    browser: Any, playground: Playground
) -> None:
    browser.get(playground.url)
    wait_for(browser, "#person", "Alex")
    open_conversation(browser, f"D{ALEX}")
    wait_for(browser, "#messages", "ACME-1")

    handoff = '//div[@class="message"][.//b[contains(., ": ACME-1")]]'
    button = handoff + '//button[@data-action-id="handoff_score_4"]'
    WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda driver: driver.find_element(By.XPATH, button).click() or True)

    wait_for(browser, "#messages", "Rated by")
    assert "4/5" in browser.find_element(By.ID, "messages").text


def test_the_rating_form_flags_a_missing_score_and_then_rates(
    browser: Any, playground: Playground
) -> None:
    browser.get(playground.url)
    wait_for(browser, "#person", "Alex")
    type_line(browser, "text", "/rate-lead")
    wait_for(browser, "#modal", "Rate a lead")
    browser.find_element(By.CSS_SELECTOR, '#modal [data-action-id="lead_input"]').send_keys(
        "ACME-2"
    )

    click(browser, ".submit", within="#modal")

    error = wait_for(browser, '#modal [data-block-id="score"] .bk-error', "")
    WebDriverWait(browser, WAIT_SECONDS).until(lambda _: error.is_displayed() and error.text)
    Select(
        browser.find_element(By.CSS_SELECTOR, '#modal [data-action-id="score_input"]')
    ).select_by_value("3")
    click(browser, ".submit", within="#modal")
    # Stored: the form turns into the "Rated" view, which only closes.
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: not driver.find_elements(By.CSS_SELECTOR, "#modal .submit")
    )
    click(browser, ".close", within="#modal")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: not driver.find_element(By.ID, "modal-backdrop").is_displayed()
    )
    open_conversation(browser, FEEDBACK)
    assert "3/5" in wait_for(browser, "#messages", "Lead ACME-2").text


def test_app_home_opens_for_the_chosen_person(browser: Any, playground: Playground) -> None:
    browser.get(playground.url)
    wait_for(browser, "#person", "Fay")
    act_as(browser, FAY)

    click(browser, ".home-tab")

    assert wait_for(browser, "#title", "App Home")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, "#messages .bk-block")
    )
    # A home tab has no message box, as in Slack.
    assert not browser.find_element(By.ID, "composer").is_displayed()


def test_rate_this_lead_from_a_messages_menu_opens_the_form_with_its_lead(
    browser: Any, playground: Playground
) -> None:
    browser.get(playground.url)
    wait_for(browser, "#person", "Alex")
    open_conversation(browser, HANDOFFS)
    wait_for(browser, "#messages", "ACME-1")
    handoff = '//div[@data-ts][.//b[contains(., ": ACME-1")]]'  # the message, by its ts

    WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    ).until(lambda driver: driver.find_element(By.XPATH, handoff + "//summary").click() or True)
    shortcut = browser.find_element(By.XPATH, handoff + "//button[@data-shortcut]")
    assert shortcut.text == "Rate this lead" and shortcut.is_displayed()
    shortcut.click()

    wait_for(browser, "#modal", "Rate a lead")
    lead = browser.find_element(By.CSS_SELECTOR, '#modal [data-action-id="lead_input"]')
    assert lead.get_attribute("value") == "ACME-1"


def test_jumping_the_clock_on_the_page_brings_a_meeting_reminder(
    browser: Any, playground: Playground
) -> None:
    # A daily meeting in 90 minutes, reminded an hour before: due in 30 minutes.
    at = (playground.clock() + timedelta(minutes=90)).strftime("%H:%M")
    days = "mon,tue,wed,thu,fri,sat,sun"
    browser.get(playground.url)
    wait_for(browser, "#person", "Fay")
    act_as(browser, FAY)
    open_conversation(browser, MEETINGS)
    type_line(
        browser, "text", f"/meeting add {days} {at} #sales-marketing Pipeline sync --remind 1h"
    )
    wait_for(browser, "#messages", "Only visible to you")
    assert not browser.find_elements(By.CSS_SELECTOR, "#messages .message[data-ts]")
    before = browser.find_element(By.ID, "now").text

    click(browser, '[data-jump="hour"]')

    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda driver: driver.find_element(By.ID, "now").text != before
    )
    posted = f'#messages .message[data-channel="{MEETINGS}"][data-ts]'
    WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    ).until(
        lambda driver: any(
            "Pipeline sync" in message.text
            for message in driver.find_elements(By.CSS_SELECTOR, posted)
        )
    )
