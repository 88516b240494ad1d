"""Drives the running app over real HTTP the way Slack does, and waits for its work."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from bot.delivery import OutboxPump
from tests import slack_payloads as payloads


class TrackingExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, able to say when every listener run has finished."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="listener")
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = super().submit(fn, *args, **kwargs)
        with self._lock:
            self._futures.append(future)
        return future

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until everything submitted is done, including work submitted by that work."""
        seen = 0
        while True:
            with self._lock:
                pending = self._futures[seen:]
                seen = len(self._futures)
            if not pending:
                return
            done, not_done = wait(pending, timeout=timeout)
            assert not not_done, f"{len(not_done)} task(s) still busy after {timeout}s"
            for future in done:
                future.result()


@dataclass
class HttpAnswer:
    """What our server answered."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode()


def http_request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HttpAnswer:
    """A real HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return HttpAnswer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.read())


@dataclass
class SlackAppClient:
    """Sends signed requests to ``base_url`` and waits for the listeners they start."""

    base_url: str
    executor: TrackingExecutor
    # Sends what the requests left owed, as the delivery process would (None: nothing sends).
    pump: OutboxPump | None = None

    def wait_idle(self) -> None:
        """Wait for the listeners' work, then send every post it owes."""
        self.executor.wait_idle()
        if self.pump is not None:
            self.pump.drain()

    @property
    def events_url(self) -> str:
        """Where Slack sends every request."""
        return self.base_url + "/slack/events"

    def post_signed(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        secret: str = payloads.SIGNING_SECRET,
        extra_headers: dict[str, str] | None = None,
        wait: bool = True,
    ) -> HttpAnswer:
        """POST a body signed with ``secret``; by default wait for the listener to finish."""
        headers = payloads.signed_headers(
            body, content_type=content_type, secret=secret, timestamp=timestamp
        )
        headers.update(extra_headers or {})
        answer = http_request(self.events_url, method="POST", body=body.encode(), headers=headers)
        if wait:
            self.wait_idle()
        return answer

    def command(
        self, text: str, *, response_url: str, wait: bool = True, **fields: Any
    ) -> HttpAnswer:
        """Invoke ``/rate-lead`` (or ``command=...``) with ``text``."""
        body = payloads.form_body(payloads.slash_command(text, response_url=response_url, **fields))
        return self.post_signed(body, content_type="application/x-www-form-urlencoded", wait=wait)

    def interact(self, payload: dict[str, Any]) -> HttpAnswer:
        """Send an interactivity payload (view submission, block action)."""
        return self.post_signed(
            payloads.interactive_body(payload), content_type="application/x-www-form-urlencoded"
        )

    def event(self, envelope: dict[str, Any], *, retry_num: int | None = None) -> HttpAnswer:
        """Deliver an Events API envelope, as a retry when ``retry_num`` is given."""
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post_signed(
            json.dumps(envelope), content_type="application/json", extra_headers=extra
        )
