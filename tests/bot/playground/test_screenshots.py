"""``make screenshots``: the README's pictures of the playground, taken in headless Chromium.

The browser test is skipped, saying why, where Chromium or its driver is not installed
(`make test` installs them when it can); the others need no browser.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.playground.chromium import (
    CHROMEDRIVER_ENV,
    CHROMIUM_ENV,
    BrowserUnavailable,
    browser_paths,
)
from bot.playground.running import start_playground
from bot.playground.screenshots import EXIT_UNAVAILABLE, SCENES, START_AT, main

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
IMAGES = ROOT / "docs" / "images"
# Pictures the README shows that are not the playground's screenshots (`make pictures`).
OTHER_PICTURES = {"weekly-report"}


def test_the_command_writes_every_scene_as_a_real_picture(tmp_path: Path) -> None:
    try:
        browser_paths(os.environ)
    except BrowserUnavailable as error:
        pytest.skip(f"no screenshots: {error} (`make test` tries this)")
    image = pytest.importorskip("PIL.Image", reason="Pillow (matplotlib's) is not installed")

    assert main([str(tmp_path / "images")]) == 0

    written = sorted(path.name for path in (tmp_path / "images").iterdir())
    assert written == sorted(f"{scene}.png" for scene in SCENES)
    for scene in SCENES:
        path = tmp_path / "images" / f"{scene}.png"
        assert path.stat().st_size < 150_000, f"{scene}.png is too big for the README"
        with image.open(path) as picture:
            picture.verify()
        with image.open(path) as picture:
            assert picture.format == "PNG"
            assert picture.width >= 300 and picture.height >= 200, (scene, picture.size)
            colours = picture.convert("RGB").getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 16, f"{scene}.png is (nearly) one colour"


def test_the_readme_shows_exactly_the_screenshots_the_command_takes() -> None:
    shown = re.findall(r"\]\(docs/images/([\w-]+)\.png\)", README.read_text(encoding="utf-8"))

    assert set(shown) - OTHER_PICTURES == set(SCENES)
    for scene in SCENES:
        assert (IMAGES / f"{scene}.png").is_file(), f"run make screenshots: {scene}.png"


def test_the_readme_gives_each_screenshot_words_for_who_cannot_see_it() -> None:
    readme = README.read_text(encoding="utf-8")
    for scene in SCENES:
        alt = re.search(rf"!\[([^\]]*)\]\(docs/images/{scene}\.png\)", readme)
        assert alt and len(alt.group(1).split()) >= 8, f"{scene}.png has no real alt text"


def test_without_chromium_the_command_says_what_to_install_and_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "no-chromium-here"
    env = {**os.environ, CHROMIUM_ENV: str(missing), CHROMEDRIVER_ENV: str(missing)}

    done = subprocess.run(
        [sys.executable, "-m", "bot.playground.screenshots", str(tmp_path / "images")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == EXIT_UNAVAILABLE
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert str(missing) in done.stderr
    assert "apt-get install chromium chromium-driver" in done.stderr
    assert "make install" in done.stderr
    assert not (tmp_path / "images").exists()


def test_a_playground_started_at_a_fixed_time_reads_that_time_and_runs_on(
    tmp_path: Path,
) -> None:
    playground = start_playground(database=tmp_path / "playground.db", port=0, start_at=START_AT)
    try:
        first = playground.clock()
        assert START_AT <= first < START_AT + timedelta(seconds=30)
        assert playground.clock() >= first
    finally:
        playground.close()
