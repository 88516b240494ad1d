"""Thread replies to rating posts, and the Events API deliveries already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from storage.models import ProcessedEvent, Response
from storage.unique import add_unless_duplicate


def claim_event(session: Session, *, team_id: str, event_id: str, now: datetime) -> bool:
    """Record ``event_id`` as handled; False when it already was (a retry or a second instance).

    Claim it in the same transaction as the work it triggers: if that work fails and rolls
    back, the claim goes too, and Slack's retry is processed like a first delivery.
    """
    event = ProcessedEvent(team_id=team_id, event_id=event_id, received_at=now)
    return add_unless_duplicate(session, event) is not None


def find_response(session: Session, *, team_id: str, channel: str, ts: str) -> Response | None:
    """The stored reply with this channel and ts."""
    statement = select(Response).where(
        Response.team_id == team_id, Response.channel == channel, Response.ts == ts
    )
    return session.exec(statement).first()


def add_response(
    session: Session,
    *,
    team_id: str,
    rating_id: int,
    user_id: str,
    channel: str,
    ts: str,
    text: str,
    is_answer: bool,
    created_at: datetime,
) -> Response | None:
    """Store a reply; None when this message was already stored."""
    response = Response(
        team_id=team_id,
        rating_id=rating_id,
        user_id=user_id,
        channel=channel,
        ts=ts,
        text=text,
        is_answer=is_answer,
        created_at=created_at,
    )
    return add_unless_duplicate(session, response)


def count_answers(session: Session, *, team_id: str, rating_id: int) -> int:
    """How many replies to the rating count as marketing's answer."""
    statement = select(func.count(col(Response.id))).where(
        Response.team_id == team_id,
        Response.rating_id == rating_id,
        col(Response.is_answer).is_(True),
    )
    return session.exec(statement).one()


def edit_response(
    session: Session, *, team_id: str, channel: str, ts: str, text: str, now: datetime
) -> Response | None:
    """Replace a stored reply's text after its author edited it in Slack."""
    return _change_response(session, team_id=team_id, channel=channel, ts=ts, now=now, text=text)


def mark_response_deleted(
    session: Session, *, team_id: str, channel: str, ts: str, now: datetime
) -> Response | None:
    """Flag a reply its author deleted in Slack; the row stays for the record.

    ``deleted_at`` keeps when: a report for a week that ended before still counts the reply.
    A reply deleted again keeps its first deletion time.
    """
    response = find_response(session, team_id=team_id, channel=channel, ts=ts)
    deleted_at = response.deleted_at if response is not None and response.deleted_at else now
    return _change_response(
        session,
        team_id=team_id,
        channel=channel,
        ts=ts,
        now=now,
        deleted=True,
        deleted_at=deleted_at,
    )


def _change_response(
    session: Session, *, team_id: str, channel: str, ts: str, now: datetime, **changes: object
) -> Response | None:
    response = find_response(session, team_id=team_id, channel=channel, ts=ts)
    if response is None:
        return None
    for name, value in changes.items():
        setattr(response, name, value)
    response.edited_at = now
    session.add(response)
    session.flush()
    return response


def first_answer(session: Session, *, team_id: str, rating_id: int) -> Response | None:
    """Marketing's first answer to a rating, deleted or not."""
    statement = (
        select(Response)
        .where(
            Response.team_id == team_id,
            Response.rating_id == rating_id,
            col(Response.is_answer).is_(True),
        )
        .order_by(col(Response.created_at), col(Response.id))
    )
    return session.exec(statement).first()


def prune_processed_events(session: Session, *, before: datetime) -> int:
    """Forget handled event ids older than ``before``; Slack stops retrying within the hour."""
    result = session.exec(
        delete(ProcessedEvent)
        .where(col(ProcessedEvent.received_at) < before)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
