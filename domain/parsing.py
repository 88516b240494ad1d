"""The parsing toolkit every command shares: the usage error, showing input back, and the
words for Slack channels, days and times."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

DAYS = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
TIME_OF_DAY = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
_CHANNEL_LINK = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|([^>]*))?>$")
_PLAIN_CHANNEL = re.compile(r"^#([a-z0-9][a-z0-9._-]{0,79})$")


@dataclass(frozen=True)
class UsageError:
    """Input a command cannot use: what was wrong, then how to write the command.

    Two errors are equal when their problems are: the usage text is the command's, not
    part of what went wrong.
    """

    problem: str
    usage: str = field(default="", compare=False)

    @property
    def message(self) -> str:
        """The text shown to the user."""
        return f"{self.problem}\n\n{self.usage}" if self.usage else self.problem


def shown(text: str, limit: int = 30) -> str:
    """User input repeated back in a message: one line, short, printable, no backticks."""
    text = " ".join(text.split())
    short = text if len(text) <= limit else text[:limit] + "…"
    return "".join(
        ch if ch.isprintable() and ch != "`" and not "\ud800" <= ch <= "\udfff" else "?"
        for ch in short
    )


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<`` and ``>`` in message and command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True)
class ChannelRef:
    """A channel as typed: an ID from Slack's escaped mention, or a plain ``#name``."""

    channel_id: str | None = None
    name: str | None = None


def parse_channel(text: str) -> ChannelRef | None:
    """Slack's escaped ``<#C0123|name>`` or a plain ``#name``."""
    linked = _CHANNEL_LINK.match(text)
    if linked:
        return ChannelRef(channel_id=linked.group(1), name=linked.group(2) or None)
    plain = _PLAIN_CHANNEL.match(text.lower())
    if plain:
        return ChannelRef(name=plain.group(1))
    return None


def parse_time(text: str) -> time | None:
    """``10:00``, ``9:30``, ``14:05``, ``2pm``, ``2:30 pm``; None if not a time of day."""
    match = TIME_OF_DAY.match(text.strip())
    if match is None or not text.isascii():
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif match.group(2) is None:
        return None  # a bare "10" is too ambiguous to schedule a meeting on
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_day_list(text: str) -> frozenset[int] | None:
    """``mon,thu``, ``mon-fri``, ``mon,wed-fri``; None for anything else."""
    days: set[int] = set()
    for part in text.lower().split(","):
        start, dash, end = part.partition("-")
        if start not in DAYS or (dash and end not in DAYS):
            return None
        first, last = DAYS[start], DAYS[end] if dash else DAYS[start]
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(span)
    return frozenset(days)
