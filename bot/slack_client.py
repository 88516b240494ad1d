"""The one way leadloop builds a Slack Web API client: our base URL, our retry policy."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

Sleep = Callable[[float], None]

# Waiting longer than this inside a request would tie up a worker thread; a post that is
# rate limited for longer goes back to the outbox, which retries it when Slack allows.
MAX_INLINE_RETRY_AFTER_SECONDS = 5


def retry_after_seconds(response: HttpResponse | None) -> int | None:
    """Slack's ``Retry-After`` header as whole seconds, if the response has one."""
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0, int(values[0]))
            except ValueError:
                return None
    return None


class _SleepInjected(RetryHandler):
    """A retry handler whose waiting goes through an injectable ``sleep``."""

    def __init__(self, *, max_retry_count: int, sleep: Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


class PatientConnectionErrorRetryHandler(_SleepInjected, ConnectionErrorRetryHandler):
    """Retries connection resets and refused connections."""


class PatientServerErrorRetryHandler(_SleepInjected, ServerErrorRetryHandler):
    """Retries Slack's 500 and 503 answers."""


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Honours ``Retry-After`` inline only when the wait is short."""

    def __init__(self, *, max_retry_count: int, sleep: Sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response)
        return wait is None or wait <= MAX_INLINE_RETRY_AFTER_SECONDS

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = retry_after_seconds(response)
        self._sleep((1 if wait is None else wait) + random.random() / 10)
        state.increment_current_attempt()


def retry_handlers(*, sleep: Sleep = time.sleep, max_retries: int = 2) -> list[RetryHandler]:
    """Rate-limit, server-error and connection-error retries for every client we build."""
    return [
        BoundedRateLimitRetryHandler(max_retry_count=max_retries, sleep=sleep),
        PatientServerErrorRetryHandler(max_retry_count=max_retries, sleep=sleep),
        PatientConnectionErrorRetryHandler(max_retry_count=max_retries, sleep=sleep),
    ]


def build_web_client(
    *,
    token: str | None,
    base_url: str,
    sleep: Sleep = time.sleep,
    timeout: int = 10,
    logger: logging.Logger | None = None,
) -> WebClient:
    """A WebClient on ``base_url`` (``SLACK_API_URL``) with leadloop's retry handlers."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers(sleep=sleep),
        logger=logger,
    )


def silent_logger() -> logging.Logger:
    """A logger for a client whose failures the caller reports itself, in its own words."""
    logger = logging.getLogger("leadloop.quiet_slack_client")
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger
