"""Meetings and their agenda items. Scoped by ``team_id``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, col, select

from storage.models import AgendaItem, Meeting


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
