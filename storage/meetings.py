"""Meetings, their claimed occurrences and agenda items. Scoped by ``team_id``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, update
from sqlmodel import Session, col, select

from storage.models import AgendaItem, Meeting, ScheduledPost
from storage.unique import add_unless_duplicate

POSTED = "posted"
LATE = "late"
MISSED = "missed"
SKIPPED = "skipped"
PENDING = "pending"
CLAIMED = "claimed"


def add_meeting(session: Session, meeting: Meeting) -> Meeting:
    """Store a new meeting."""
    session.add(meeting)
    session.flush()
    return meeting


def get_meeting(session: Session, *, team_id: str, meeting_id: int) -> Meeting | None:
    """A live (not removed) meeting of this workspace; None for another workspace's id."""
    statement = select(Meeting).where(
        Meeting.team_id == team_id, Meeting.id == meeting_id, col(Meeting.removed).is_(False)
    )
    return session.exec(statement).first()


def list_meetings(session: Session, *, team_id: str) -> list[Meeting]:
    """The workspace's meetings, oldest first."""
    statement = (
        select(Meeting)
        .where(Meeting.team_id == team_id, col(Meeting.removed).is_(False))
        .order_by(col(Meeting.id))
    )
    return list(session.exec(statement).all())


def active_meetings(session: Session) -> list[Meeting]:
    """Every meeting that should get reminders, across workspaces (the scheduler's view)."""
    statement = (
        select(Meeting)
        .where(col(Meeting.paused).is_(False), col(Meeting.removed).is_(False))
        .order_by(col(Meeting.id))
    )
    return list(session.exec(statement).all())


def last_occurrences(session: Session, *, kind: str) -> dict[tuple[str, int], datetime]:
    """The latest claimed occurrence per (team, subject) for one kind of scheduled post."""
    statement = (
        select(
            ScheduledPost.team_id,
            ScheduledPost.subject_id,
            func.max(ScheduledPost.occurrence_at),
        )
        .where(ScheduledPost.kind == kind)
        .group_by(col(ScheduledPost.team_id), col(ScheduledPost.subject_id))
    )
    latest: dict[tuple[str, int], datetime] = {}
    for team_id, subject_id, occurrence_at in session.execute(statement):
        latest[(team_id, subject_id)] = _aware(occurrence_at)
    return latest


def claim_occurrence(
    session: Session,
    *,
    team_id: str,
    kind: str,
    subject_id: int,
    occurrence_at: datetime,
    due_at: datetime,
    status: str,
    now: datetime,
) -> ScheduledPost | None:
    """Claim one occurrence; None when another process (or an earlier run) already has it."""
    post = ScheduledPost(
        team_id=team_id,
        kind=kind,
        subject_id=subject_id,
        occurrence_at=occurrence_at,
        due_at=due_at,
        status=status,
        claimed_at=now,
    )
    return add_unless_duplicate(session, post)


def get_scheduled_post(session: Session, *, team_id: str, post_id: int) -> ScheduledPost | None:
    """A scheduled post of this workspace by id."""
    statement = select(ScheduledPost).where(
        ScheduledPost.team_id == team_id, ScheduledPost.id == post_id
    )
    return session.exec(statement).first()


def find_occurrence(
    session: Session, *, team_id: str, kind: str, subject_id: int, occurrence_at: datetime
) -> ScheduledPost | None:
    """The claim row of one occurrence, if any."""
    statement = select(ScheduledPost).where(
        ScheduledPost.team_id == team_id,
        ScheduledPost.kind == kind,
        ScheduledPost.subject_id == subject_id,
        ScheduledPost.occurrence_at == occurrence_at,
    )
    return session.exec(statement).first()


def claim_due_pending(session: Session, *, post_id: int, now: datetime) -> bool:
    """Turn a pending post (a snooze) into a claimed one; only one process can."""
    result = session.exec(
        update(ScheduledPost)
        .where(
            col(ScheduledPost.id) == post_id,
            col(ScheduledPost.status) == PENDING,
            col(ScheduledPost.due_at) <= now,
        )
        .values(status=CLAIMED, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def due_pending_posts(session: Session, *, now: datetime, limit: int = 100) -> list[ScheduledPost]:
    """Pending posts whose time has come, across workspaces (the scheduler's view)."""
    statement = (
        select(ScheduledPost)
        .where(col(ScheduledPost.status) == PENDING, col(ScheduledPost.due_at) <= now)
        .order_by(col(ScheduledPost.due_at))
        .limit(limit)
    )
    return list(session.exec(statement).all())


def record_scheduled_post_sent(
    session: Session, *, team_id: str, post_id: int, channel: str, ts: str | None
) -> None:
    """Remember where a scheduled post landed."""
    post = get_scheduled_post(session, team_id=team_id, post_id=post_id)
    if post is None:
        raise LookupError(f"scheduled post {post_id} not found in workspace {team_id}")
    post.post_channel = channel
    post.post_ts = ts
    session.add(post)
    session.flush()


def add_agenda_item(
    session: Session, *, team_id: str, meeting_id: int, text: str, added_by: str, now: datetime
) -> AgendaItem:
    """Add a topic to a meeting's next reminder."""
    item = AgendaItem(
        team_id=team_id, meeting_id=meeting_id, text=text, added_by=added_by, created_at=now
    )
    session.add(item)
    session.flush()
    return item


def open_agenda_items(
    session: Session, *, team_id: str, meeting_id: int, shown_in_id: int | None = None
) -> list[AgendaItem]:
    """Items not yet shown in a reminder (or already shown in ``shown_in_id``)."""
    condition: ColumnElement[bool] = col(AgendaItem.shown_in_id).is_(None)
    if shown_in_id is not None:
        condition = condition | (col(AgendaItem.shown_in_id) == shown_in_id)
    statement = (
        select(AgendaItem)
        .where(AgendaItem.team_id == team_id, AgendaItem.meeting_id == meeting_id, condition)
        .order_by(col(AgendaItem.id))
    )
    return list(session.exec(statement).all())


def mark_agenda_shown(
    session: Session, *, team_id: str, item_ids: list[int], shown_in_id: int
) -> None:
    """Agenda items that a reminder has shown; the next reminder starts fresh."""
    if not item_ids:
        return
    session.execute(
        update(AgendaItem)
        .where(
            col(AgendaItem.team_id) == team_id,
            col(AgendaItem.id).in_(item_ids),
            col(AgendaItem.shown_in_id).is_(None),
        )
        .values(shown_in_id=shown_in_id)
        .execution_options(synchronize_session=False)
    )


def _aware(value: datetime) -> datetime:
    # SQLite hands aggregates back without our column type, so without a zone.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
