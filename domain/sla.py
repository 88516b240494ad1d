"""Answer SLAs: how long marketing has to answer a rating, counted in business hours.

A workspace agrees an answer time with its marketing team (``/leadloop settings sla 4h``),
optionally a shorter one for low scores (``sla-low 2h``: a 1 or 2 is a lead that went
wrong), and its business hours (``hours mon-fri 09:00-18:00``) in its time zone. The clock
of a rating runs only inside those hours: a rating at 17:00 on a Friday with a 4-hour SLA
is due at 12:00 on Monday. Local wall-clock hours are kept across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_BUSINESS_HOURS = "mon-fri 09:00-18:00"
DEFAULT_SLA_MINUTES = 4 * 60
# A score at or below this is a "low score", answered within the low-score SLA when set.
LOW_SCORE = 2
# Longest SLA accepted: a week of business hours is already a week nobody answered.
MAX_SLA_MINUTES = 7 * 24 * 60
# Ratings older than this are never reminded about or listed as past their answer time:
# twice the longest SLA fits well inside it.
SLA_LOOKBACK = timedelta(days=60)
# How far ahead business time is counted before giving up (no open hours at all).
_MAX_DAYS = 400

_DURATION = re.compile(r"^(?:(\d{1,3})\s*h)?\s*(?:(\d{1,4})\s*m(?:in)?)?$")
_HOURS = re.compile(
    r"^(?P<days>[a-z,\-]+)\s+(?P<opens>\d{1,2}:\d{2})\s*-\s*(?P<closes>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class BusinessHours:
    """The days (0 is Monday) and the local hours a workspace answers in."""

    days: frozenset[int]
    opens: time
    closes: time

    def describe(self) -> str:
        """The canonical text, as ``/leadloop settings hours`` takes it."""
        return f"{_describe_days(self.days)} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def is_open(self, moment: datetime, zone: ZoneInfo) -> bool:
        """Whether ``moment`` falls inside business hours, in ``zone``'s local time."""
        start, end = self._window(moment.astimezone(zone).date(), zone)
        return start is not None and end is not None and start <= moment < end

    def add(self, start: datetime, minutes: int, zone: ZoneInfo) -> datetime | None:
        """The instant ``minutes`` business minutes after ``start``; None if never."""
        remaining = timedelta(minutes=minutes)
        cursor = start.astimezone(UTC)
        day = start.astimezone(zone).date()
        for _ in range(_MAX_DAYS):
            opens, closes = self._window(day, zone)
            if opens is not None and closes is not None:
                begin = max(opens, cursor)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
        return None

    def open_minutes(self, start: datetime, end: datetime, zone: ZoneInfo) -> float:
        """Business minutes between two instants (0 when ``end`` is not after ``start``)."""
        total = timedelta()
        day = start.astimezone(zone).date()
        last = end.astimezone(zone).date()
        while day <= last:
            opens, closes = self._window(day, zone)
            if opens is not None and closes is not None:
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def _window(self, day: date, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """The day's open hours as UTC instants (wall-clock times in ``zone``)."""
        if day.weekday() not in self.days:
            return None, None
        opens = datetime.combine(day, self.opens, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, self.closes, tzinfo=zone).astimezone(UTC)
        return opens, closes


@dataclass(frozen=True)
class AnswerSla:
    """A workspace's answer time for ratings, and when each rating is due and overdue."""

    minutes: int
    low_score_minutes: int | None
    hours: BusinessHours
    zone: ZoneInfo

    def minutes_for(self, score: int) -> int:
        """The SLA of a rating with this score: the low-score one for a 1 or 2, when set."""
        if score <= LOW_SCORE and self.low_score_minutes:
            return min(self.minutes, self.low_score_minutes)
        return self.minutes

    def answer_due(self, rated_at: datetime, score: int) -> datetime | None:
        """When an unanswered rating crosses its SLA (it is nudged then)."""
        return self.hours.add(rated_at, self.minutes_for(score), self.zone)

    def escalation_due(self, rated_at: datetime, score: int) -> datetime | None:
        """Twice the SLA: an unanswered rating is escalated to the marketing lead."""
        return self.hours.add(rated_at, 2 * self.minutes_for(score), self.zone)


def parse_duration(text: str) -> int | None:
    """Minutes from ``4h``, ``90m``, ``1h30m`` or ``1h 30min``; None if not one, or 0."""
    match = _DURATION.match(text.strip().lower())
    if match is None or not any(match.groups()):
        return None
    minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    return minutes if 0 < minutes <= MAX_SLA_MINUTES else None


def describe_duration(minutes: int) -> str:
    """``4h``, ``1h30m``, ``45m``: as ``parse_duration`` reads it back."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}m"
    return f"{hours}h{rest}m" if rest else f"{hours}h"


def parse_business_hours(text: str) -> BusinessHours | None:
    """``mon-fri 09:00-18:00`` or ``mon,wed,fri 8:30-17:00``; None if not that form.

    The hours close later than they open on the same day (no overnight shifts).
    """
    match = _HOURS.match(" ".join(text.lower().split()))
    if match is None:
        return None
    days = _parse_days(match.group("days"))
    opens, closes = _parse_time(match.group("opens")), _parse_time(match.group("closes"))
    if not days or opens is None or closes is None or closes <= opens:
        return None
    return BusinessHours(days=days, opens=opens, closes=closes)


def _parse_days(text: str) -> frozenset[int] | None:
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            return None
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            return None
        days.update(range(start, end + 1))
    return frozenset(days)


def _parse_time(text: str) -> time | None:
    hour, minute = (int(part) for part in text.split(":"))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _describe_days(days: frozenset[int]) -> str:
    """Runs of consecutive days as ranges: ``mon-fri``, ``mon,wed-fri``."""
    runs: list[tuple[int, int]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return ",".join(
        WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
        for first, last in runs
    )
