"""The weekly KPI chart in the playground: posted by the real app, shown on the page as an
image the page's own server serves."""

from __future__ import annotations

import re
import urllib.request

import pytest

from bot.playground.running import REPORTS, Playground
from domain.kpis.demo import MARKETERS
from tests.bot.playground.playground_driver import PageClient

FAY = MARKETERS[0]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def page(playground: Playground) -> PageClient:
    """The page's side of the playground."""
    return PageClient(playground)


def test_the_weekly_chart_asked_for_in_a_channel_shows_on_the_page_as_an_image(
    page: PageClient,
) -> None:
    answer = page.do("type", **{"as": FAY, "channel": REPORTS, "text": "/kpi chart last"})
    assert answer == {"ok": True}

    page.wait_until(lambda: "<img" in page.conversation(FAY, REPORTS)["html"])
    shown = page.conversation(FAY, REPORTS)["html"]
    [source] = re.findall(r'<figure class="file"><img src="([^"]+)"', shown)
    assert source.startswith("/files/")  # served by the page's own server, not by Slack
    with urllib.request.urlopen(page.playground.url + source.lstrip("/"), timeout=10) as image:
        assert image.headers["Content-Type"] == "image/png"
        assert image.read().startswith(PNG_SIGNATURE)
