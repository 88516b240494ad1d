"""What meeting messages show: reminders, agendas and the /meeting list, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class AgendaLine:
    """One line of the computed agenda, with an optional link."""

    text: str
    link: str | None = None


@dataclass(frozen=True)
class Agenda:
    """What the meeting should cover, computed when the reminder is sent."""

    low_campaigns: tuple[str, ...] = ()
    unanswered_total: int = 0
    unanswered: tuple[AgendaLine, ...] = ()
    # Of those, the ones past their answer time (the oldest few); None: no answer time set.
    past_answer_time_total: int | None = None
    past_answer_time: tuple[AgendaLine, ...] = ()
    kpis: tuple[str, ...] = ()
    items: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ReminderCard:
    """A reminder about to be posted."""

    meeting_id: int
    post_id: int
    title: str
    starts_at: datetime
    schedule: str
    late: bool
    snoozed: bool


@dataclass(frozen=True)
class MeetingLine:
    """One meeting in ``/meeting list``."""

    meeting_id: int
    channel_id: str
    title: str
    schedule: str
    remind_minutes: int
    next_at: datetime | None
    paused: bool
