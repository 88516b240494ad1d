"""Time as a dependency: code asks a clock, tests hand in their own."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def scaled_clock(*, start: datetime, epoch: float, scale: float) -> Clock:
    """A clock showing ``start`` at real Unix time ``epoch`` and running ``scale`` times fast."""

    def now() -> datetime:
        return start + timedelta(seconds=(time.time() - epoch) * scale)

    return now


def slack_ts_to_datetime(ts: str) -> datetime | None:
    """A Slack message ``ts`` ("1700000000.000100") as a UTC time; None if malformed."""
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
