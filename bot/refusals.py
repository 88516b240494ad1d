"""Requests that Slack did not sign: refused, and logged by size, path and reason only.

Bolt's own check logs every refusal with the whole body, so anyone who can reach the port
could write (and forge) lines in the log and fill the disk, and a real request that clock
skew makes look stale would log its ``response_url`` and text. Here a refusal is one short
line, a few a minute; the rest are counted, and the count is logged once the minute ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger("leadloop.refusals")

REFUSALS_LOGGED_PER_WINDOW = 5
REFUSAL_WINDOW_SECONDS = 60.0
# Slack's own limit (slack_sdk's SignatureVerifier applies it): older requests are replays.
MAX_CLOCK_SKEW_SECONDS = 5 * 60

Schedule = Callable[[float, Callable[[], None]], None]


def run_later(delay: float, action: Callable[[], None]) -> None:
    """Run ``action`` on a daemon thread after ``delay`` seconds."""
    timer = threading.Timer(delay, action)
    timer.daemon = True
    timer.start()


class RefusalLog:
    """One line per refused request, at most ``limit`` lines per ``window`` seconds.

    Past the limit, refusals are only counted; when the window ends, one line says how
    many there were. Nothing of a request is logged beyond its path, size and the reason.
    """

    def __init__(
        self,
        *,
        limit: int = REFUSALS_LOGGED_PER_WINDOW,
        window: float = REFUSAL_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule = run_later,
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._schedule = schedule
        self._lock = threading.Lock()
        self._window_ends = float("-inf")
        self._logged = 0
        self._unlogged = 0
        self._summary_due = False

    def refused(self, *, path: str, size: int, reason: str) -> None:
        """Record one refused request."""
        schedule_summary = False
        with self._lock:
            now = self._clock()
            if now >= self._window_ends:
                self._window_ends, self._logged = now + self._window, 0
            log_line = self._logged < self._limit
            if log_line:
                self._logged += 1
            else:
                self._unlogged += 1
                schedule_summary, self._summary_due = not self._summary_due, True
        if log_line:
            logger.warning(
                "refused a request to %s that Slack did not sign (%s bytes): %s",
                path,
                f"{size:,}",
                reason,
            )
        elif schedule_summary:
            self._schedule(max(self._window_ends - now, 0.0), self._log_summary)

    def flush(self) -> None:
        """Log now the refusals still waiting for their window's summary (at shutdown, so
        that a worker stopping mid-window does not lose their count)."""
        self._log_summary()

    def _log_summary(self) -> None:
        with self._lock:
            count, self._unlogged, self._summary_due = self._unlogged, 0, False
        if count:
            logger.warning(
                "refused %s more requests that Slack did not sign in the last %s s "
                "(not logged one by one)",
                f"{count:,}",
                f"{self._window:g}",
            )


def unsigned_reason(
    verifier: SignatureVerifier,
    body: bytes | str,
    *,
    timestamp: str | None,
    signature: str | None,
) -> str | None:
    """None when Slack signed ``body`` (slack_sdk's check, as Bolt makes it); otherwise why
    not, in a few words of our own."""
    if not signature:
        return "no signature"
    if not timestamp:
        return "no timestamp"
    try:
        stamp = int(timestamp)
        if verifier.is_valid(body, timestamp, signature):
            return None
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    except ValueError:
        return "the timestamp is not a number"
    if abs(verifier.clock.now() - stamp) > MAX_CLOCK_SKEW_SECONDS:
        return "the timestamp is more than 5 minutes off (a replay, or a skewed clock)"
    return "the signature does not match (is SLACK_SIGNING_SECRET this app's?)"


class SignedBySlack(RequestVerification):
    """Bolt's signature check, with our refusal log instead of Bolt's, which logs the body."""

    def __init__(
        self, signing_secret: str, *, refusals: RefusalLog, path: str = "/slack/events"
    ) -> None:
        super().__init__(signing_secret)
        self._refusals = refusals
        self._path = path  # Bolt doesn't know it; leadloop serves Bolt at this one path

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt calls it by this name
    ) -> BoltResponse:
        if self._can_skip(req.mode, req.body):  # Socket Mode: the connection is the proof
            return next()
        reason = unsigned_reason(
            self.verifier,
            req.raw_body,
            timestamp=_first(req.headers, "x-slack-request-timestamp"),
            signature=_first(req.headers, "x-slack-signature"),
        )
        if reason is None:
            return next()
        size = len(req.raw_body.encode("utf-8", "replace"))
        self._refusals.refused(path=self._path, size=size, reason=reason)
        return self._build_error_response()


def _first(headers: dict[str, Any], name: str) -> str | None:
    values = headers.get(name) or [None]
    value = values[0]
    return value if isinstance(value, str) else None
