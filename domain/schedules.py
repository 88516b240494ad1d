"""When a recurring meeting happens: pure date arithmetic in the meeting's own time zone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Far enough for any weekly or biweekly rule to produce an occurrence.
SEARCH_DAYS = 15


@dataclass(frozen=True)
class MeetingRule:
    """Weekdays (0 = Monday), every one or two weeks, at a local time in a zone."""

    weekdays: frozenset[int]
    every_weeks: int
    anchor_date: date
    local_time: time
    timezone: str

    def describe(self) -> str:
        """E.g. "Mon, Thu at 10:00 (Europe/Berlin)" or "every other Tue at 09:30 (UTC)"."""
        days = ", ".join(WEEKDAY_NAMES[day] for day in sorted(self.weekdays))
        if self.weekdays == frozenset(range(7)):
            days = "Every day"
        elif self.weekdays == frozenset(range(5)):
            days = "Weekdays"
        prefix = "Every other " if self.every_weeks == 2 else ""
        return f"{prefix}{days} at {self.local_time:%H:%M} ({self.timezone})"


def occurrence_on(rule: MeetingRule, day: date) -> datetime | None:
    """The meeting's start on ``day`` in UTC, or None if it does not meet that day.

    A local time that does not exist (skipped by a spring-forward change) lands on the same
    instant the clock shows an hour later; an ambiguous one (autumn) is its first instance.
    """
    if day.weekday() not in rule.weekdays or day < rule.anchor_date:
        return None
    if rule.every_weeks > 1:
        weeks_apart = (_monday(day) - _monday(rule.anchor_date)).days // 7
        if weeks_apart % rule.every_weeks:
            return None
    local = datetime.combine(day, rule.local_time, tzinfo=ZoneInfo(rule.timezone))
    return local.astimezone(UTC)


def occurrences_after(rule: MeetingRule, moment: datetime) -> Iterator[datetime]:
    """Every start strictly after ``moment``, in order, forever."""
    day = moment.astimezone(ZoneInfo(rule.timezone)).date() - timedelta(days=1)
    while True:
        start = occurrence_on(rule, day)
        if start is not None and start > moment:
            yield start
        day += timedelta(days=1)


def next_occurrence(rule: MeetingRule, moment: datetime) -> datetime | None:
    """The first start after ``moment``; None only for a rule that never meets."""
    if not rule.weekdays:
        return None
    return next(occurrences_after(rule, moment))


def occurrences_between(rule: MeetingRule, start: datetime, end: datetime) -> list[datetime]:
    """Starts in the half-open interval (``start``, ``end``]."""
    if not rule.weekdays:
        return []
    found = []
    for occurrence in occurrences_after(rule, start):
        if occurrence > end:
            break
        found.append(occurrence)
    return found


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
