"""Marketing's verdicts on rating posts (agree, dispute, acknowledge), scoped by ``team_id``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Lead, Rating, RatingVerdict
from storage.unique import add_unless_duplicate

# The stored values of ``rating_verdict.verdict``; they never change once released.
AGREE = "agree"
DISPUTE = "dispute"
ACKNOWLEDGE = "acknowledge"
VERDICTS = (AGREE, DISPUTE, ACKNOWLEDGE)
# The verdicts that answer a rating, as a reply from marketing does; an acknowledgement
# only says that marketing saw it.
ANSWERING_VERDICTS = frozenset({AGREE, DISPUTE})

VERDICT_COLUMNS = (
    "id",
    "team_id",
    "rating_id",
    "lead_ref",
    "user_id",
    "verdict",
    "is_answer",
    "reason",
    "created_at",
)
BATCH = 1000


def add_verdict(
    session: Session,
    *,
    team_id: str,
    rating_id: int,
    user_id: str,
    verdict: str,
    reason: str,
    now: datetime,
) -> RatingVerdict | None:
    """Store a verdict; None when this person already gave this verdict on this rating."""
    row = RatingVerdict(
        team_id=team_id,
        rating_id=rating_id,
        user_id=user_id,
        verdict=verdict,
        reason=reason,
        created_at=now,
    )
    return add_unless_duplicate(session, row)


def get_verdict(session: Session, *, team_id: str, verdict_id: int) -> RatingVerdict | None:
    """A verdict of this workspace by id."""
    statement = select(RatingVerdict).where(
        RatingVerdict.team_id == team_id, RatingVerdict.id == verdict_id
    )
    return session.exec(statement).first()


def verdicts_on(session: Session, *, team_id: str, rating_id: int) -> list[RatingVerdict]:
    """Every verdict on a rating, oldest first."""
    statement = (
        select(RatingVerdict)
        .where(RatingVerdict.team_id == team_id, RatingVerdict.rating_id == rating_id)
        .order_by(col(RatingVerdict.created_at), col(RatingVerdict.id))
    )
    return list(session.exec(statement).all())


def iter_verdicts(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every verdict of the workspace (``leadloop export verdicts``), with its lead's ref and
    whether it counts as an answer."""
    statement = (
        select(RatingVerdict, Lead.external_ref)
        .join(Rating, col(Rating.id) == col(RatingVerdict.rating_id))
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(RatingVerdict.team_id == team_id, Rating.team_id == team_id)
        .order_by(col(RatingVerdict.id))
    )
    if since is not None:
        statement = statement.where(RatingVerdict.created_at >= since)
    for verdict, lead_ref in session.execute(statement).yield_per(BATCH):
        row = verdict.model_dump() | {
            "lead_ref": lead_ref,
            "is_answer": verdict.verdict in ANSWERING_VERDICTS,
        }
        yield {column: row[column] for column in VERDICT_COLUMNS}
