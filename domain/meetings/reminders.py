"""Meeting reminders: creating meetings, deciding which occurrences are due, claiming them
once, and the commands that change a meeting. No Slack payloads; typed values in and out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.meetings.parse import AddMeeting
from domain.outbox_kinds import MEETING_REMINDER
from domain.schedules import MeetingRule, next_occurrence, occurrences_between
from storage import meetings as store
from storage import outbox, scheduled_posts
from storage.models import Meeting, ScheduledPost

# A snoozed reminder's occurrence (scheduled_post only: its message is a MEETING_REMINDER).
SNOOZE = "meeting_snooze"
SNOOZE_FOR = timedelta(minutes=10)
# A reminder this late still counts as on time (a tick or a slow start can take that long).
ON_TIME_TOLERANCE = timedelta(minutes=2)
# After a long outage, older occurrences are not worth a row each.
MAX_CATCH_UP = timedelta(days=14)


def rule_of(meeting: Meeting) -> MeetingRule:
    """The meeting's schedule as pure data."""
    hour, minute = (int(part) for part in meeting.local_time.split(":"))
    return MeetingRule(
        weekdays=frozenset(meeting.weekdays),
        every_weeks=meeting.every_weeks,
        anchor_date=meeting.anchor_date,
        local_time=time(hour, minute),
        timezone=meeting.timezone,
    )


def first_meeting_day(weekdays: frozenset[int], today: date) -> date:
    """The first day on or after ``today`` that is one of ``weekdays`` (biweekly parity)."""
    day = today
    while day.weekday() not in weekdays:
        day += timedelta(days=1)
    return day


def create_meeting(
    session: Session,
    *,
    team_id: str,
    request: AddMeeting,
    channel_id: str,
    timezone: str,
    user_id: str,
    now: datetime,
) -> Meeting:
    """Store a new meeting whose reminders start with its next occurrence."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    meeting = Meeting(
        team_id=team_id,
        channel_id=channel_id,
        title=request.title,
        weekdays=sorted(request.weekdays),
        every_weeks=request.every_weeks,
        anchor_date=first_meeting_day(request.weekdays, today),
        local_time=request.local_time.strftime("%H:%M"),
        timezone=timezone,
        remind_minutes=int(request.remind.total_seconds() // 60),
        created_by=user_id,
        created_at=now,
        active_since=now,
    )
    return store.add_meeting(session, meeting)


@dataclass(frozen=True)
class Decision:
    """What to do about one occurrence whose reminder time has come."""

    meeting: Meeting
    occurrence_at: datetime
    due_at: datetime
    status: str  # posted, late or missed


def plan_reminders(
    meetings: Iterable[Meeting], last_claimed: dict[tuple[str, int], datetime], now: datetime
) -> list[Decision]:
    """Every occurrence whose reminder is due and not yet claimed, with what to do about it.

    On time or a little late: post. Late but before the meeting starts (missed by less
    than its lead time, e.g. during a restart): post, marked late. After the start: record
    it as missed, post nothing.
    """
    decisions = []
    for meeting in meetings:
        lead = timedelta(minutes=meeting.remind_minutes)
        since = max(meeting.active_since, now - MAX_CATCH_UP)
        claimed = last_claimed.get((meeting.team_id, meeting.id or -1))
        if claimed is not None:
            since = max(since, claimed)
        for occurrence in occurrences_between(rule_of(meeting), since, now + lead):
            due = occurrence - lead
            decisions.append(Decision(meeting, occurrence, due, _status(due, occurrence, now)))
    return decisions


def _status(due: datetime, occurrence: datetime, now: datetime) -> str:
    if now - due <= ON_TIME_TOLERANCE:
        return scheduled_posts.POSTED
    if now < occurrence:
        return scheduled_posts.LATE
    return scheduled_posts.MISSED


def claim_reminder(session: Session, decision: Decision, *, now: datetime) -> int | None:
    """Claim the occurrence; returns the outbox message to deliver, if one is owed."""
    meeting = decision.meeting
    post = scheduled_posts.claim_occurrence(
        session,
        team_id=meeting.team_id,
        kind=MEETING_REMINDER,
        subject_id=meeting.id or -1,
        occurrence_at=decision.occurrence_at,
        due_at=decision.due_at,
        status=decision.status,
        now=now,
    )
    if post is None or decision.status == scheduled_posts.MISSED:
        return None
    return _owe_post(session, post, now=now)


def claim_snooze(session: Session, post: ScheduledPost, *, now: datetime) -> int | None:
    """Claim a snoozed reminder whose time has come; returns its outbox message."""
    if not scheduled_posts.claim_due_pending(session, post_id=post.id or -1, now=now):
        return None
    return _owe_post(session, post, now=now)


def _owe_post(session: Session, post: ScheduledPost, *, now: datetime) -> int | None:
    return outbox.owe_scheduled_post(
        session,
        kind=MEETING_REMINDER,
        scheduled_post_id=post.id or -1,
        team_id=post.team_id,
        now=now,
    )


@dataclass(frozen=True)
class SnoozeResult:
    """When the snoozed reminder comes back, or None if it was already snoozed."""

    due_at: datetime | None


def snooze_reminder(
    session: Session, *, team_id: str, post_id: int, now: datetime
) -> SnoozeResult | None:
    """Post a reminder again in ten minutes; None if the reminder is not this workspace's."""
    post = scheduled_posts.get_scheduled_post(session, team_id=team_id, post_id=post_id)
    if post is None or post.kind not in {MEETING_REMINDER, SNOOZE}:
        return None
    snooze = scheduled_posts.claim_occurrence(
        session,
        team_id=team_id,
        kind=SNOOZE,
        subject_id=post.subject_id,
        occurrence_at=post.occurrence_at,
        due_at=now + SNOOZE_FOR,
        status=scheduled_posts.PENDING,
        now=now,
    )
    return SnoozeResult(snooze.due_at if snooze else None)


@dataclass(frozen=True)
class SkipResult:
    """The occurrence skipped and the one after it."""

    skipped: datetime
    following: datetime | None


def skip_next(session: Session, meeting: Meeting, *, now: datetime) -> SkipResult | None:
    """Skip the next occurrence whose reminder has not gone out yet."""
    rule = rule_of(meeting)
    moment = now
    for _ in range(60):
        occurrence = next_occurrence(rule, moment)
        if occurrence is None:
            return None
        claimed = scheduled_posts.claim_occurrence(
            session,
            team_id=meeting.team_id,
            kind=MEETING_REMINDER,
            subject_id=meeting.id or -1,
            occurrence_at=occurrence,
            due_at=occurrence - timedelta(minutes=meeting.remind_minutes),
            status=scheduled_posts.SKIPPED,
            now=now,
        )
        if claimed is not None:
            return SkipResult(occurrence, next_occurrence(rule, occurrence))
        moment = occurrence
    return None


def previous_occurrence(meeting: Meeting, before: datetime) -> datetime | None:
    """The meeting's last occurrence before ``before`` within the catch-up window."""
    found = occurrences_between(rule_of(meeting), before - MAX_CATCH_UP, before)
    earlier = [occurrence for occurrence in found if occurrence < before]
    return earlier[-1] if earlier else None
