"""Headless Chromium (Debian's chromium and chromium-driver, driven by Selenium) for the
playground's screenshots and its browser tests.

Selenium is a dev dependency, imported only here and only when a browser is started.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Where Chromium and its driver are, when not on PATH or in /usr/bin.
CHROMIUM_ENV = "LEADLOOP_CHROMIUM"
CHROMEDRIVER_ENV = "LEADLOOP_CHROMEDRIVER"
INSTALL_HINT = "apt-get install chromium chromium-driver, then make install"


class BrowserUnavailable(RuntimeError):
    """Selenium, Chromium or chromedriver is missing or will not start: the message says
    which, and how to install it."""


def browser_paths(env: Mapping[str, str]) -> tuple[str, str]:
    """Where Chromium and chromedriver are; ``BrowserUnavailable`` when either, or
    Selenium, is missing."""
    if importlib.util.find_spec("selenium") is None:
        raise BrowserUnavailable(f"Selenium is not installed: {INSTALL_HINT}")
    chromium = env.get(CHROMIUM_ENV) or shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = (
        env.get(CHROMEDRIVER_ENV) or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    )
    for name, path in (("Chromium", chromium), ("chromedriver", chromedriver)):
        if not Path(path).is_file():
            raise BrowserUnavailable(f"{name} is not at {path}: {INSTALL_HINT}")
    return chromium, chromedriver


@contextmanager
def headless_chromium(
    chromium: str, chromedriver: str, profile: Path, *, window: tuple[int, int]
) -> Iterator[Any]:
    """A headless Chromium with a profile of its own, no background traffic, no scroll
    bars and one device pixel per CSS pixel; quit on the way out."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    width, height = window
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(
            service=webdriver.ChromeService(executable_path=chromedriver), options=options
        )
    except WebDriverException as error:
        reason = next(iter((error.msg or "").splitlines()), "no reason given")
        raise BrowserUnavailable(
            f"headless Chromium would not start ({reason}): {INSTALL_HINT}"
        ) from None
    try:
        yield driver
    finally:
        driver.quit()
