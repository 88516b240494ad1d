"""Scheduled posts (meeting reminders, weekly reports): each occurrence claimed once.

A row per occurrence, unique on what it is for, is the claim: whichever process inserts it
posts it, so restarts and extra instances never lose or double one. Scoped by ``team_id``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.models import ScheduledPost
from storage.unique import add_unless_duplicate

POSTED = "posted"
LATE = "late"
MISSED = "missed"
SKIPPED = "skipped"
PENDING = "pending"
CLAIMED = "claimed"


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


def _aware(value: datetime) -> datetime:
    # SQLite hands aggregates back without our column type, so without a zone.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
