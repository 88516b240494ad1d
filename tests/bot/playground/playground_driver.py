"""Drives a running playground over its page's own HTTP API, as the page's script does."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.playground.running import Playground

WAIT_SECONDS = 10.0


@dataclass
class PageClient:
    """What the page's script does: read the state, post what was typed or clicked."""

    playground: Playground

    def do(self, action: str, **asked: Any) -> dict[str, Any]:
        """POST an action (type, click, submit, close, home, clock); its JSON answer."""
        request = urllib.request.Request(
            f"{self.playground.url}do/{action}",
            data=json.dumps(asked).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read())
        return answer

    def state(self, person: str) -> dict[str, Any]:
        """What the page shows ``person`` now."""
        with urllib.request.urlopen(f"{self.playground.url}state?as={person}", timeout=10) as r:
            state: dict[str, Any] = json.loads(r.read())
        return state

    def conversation(self, person: str, conversation_id: str) -> dict[str, Any]:
        """One conversation as the page shows it to ``person``."""
        for conversation in self.state(person)["conversations"]:
            if conversation["id"] == conversation_id:
                return conversation
        raise AssertionError(f"the page shows no conversation {conversation_id}")

    def wait_until(self, shown: Callable[[], bool]) -> None:
        """Wait until ``shown()`` holds, woken by each change the stand-in records."""
        standin = self.playground.standin
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            seen = standin.version
            if shown():
                return
            left = deadline - time.monotonic()
            assert left > 0, f"not shown within {WAIT_SECONDS} s"
            standin.wait_for_change(seen, left)


def message_ts(html: str, containing: str) -> str:
    """The ts of the first message in a timeline's HTML whose HTML contains ``containing``."""
    for match in re.finditer(r'<div class="message" data-channel="[^"]+" data-ts="([^"]+)">', html):
        end = html.find('<div class="message', match.end())
        if containing in html[match.end() : end if end >= 0 else len(html)]:
            return match.group(1)
    raise AssertionError(f"no message containing {containing!r}")


def message_html(html: str, ts: str) -> str:
    """One message of a timeline's HTML, by its ts."""
    start = html.index(f'data-ts="{ts}"')
    end = html.find('<div class="message', start)
    return html[start : end if end >= 0 else len(html)]
