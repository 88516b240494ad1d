"""What a person's App Home shows: bounded, indexed reads scoped by ``team_id``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from storage.models import Lead, Rating, Response


def leads_waiting_for(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[Lead]:
    """Leads handed to ``user_id`` that they have not rated yet, newest first."""
    rated = exists().where(
        col(Rating.team_id) == team_id,
        col(Rating.lead_id) == col(Lead.id),
        col(Rating.rater_id) == user_id,
    )
    statement = (
        select(Lead)
        .where(Lead.team_id == team_id, Lead.owner_id == user_id, ~rated)
        .order_by(col(Lead.created_at).desc(), col(Lead.id).desc())
        .limit(limit)
    )
    return list(session.exec(statement).all())


@dataclass(frozen=True)
class RatingWithAnswer:
    """One of a rep's ratings and marketing's first answer, if any."""

    lead_ref: str
    score: int
    created_at: datetime
    answer: str | None
    answered_by: str | None


def latest_ratings_by(
    session: Session, *, team_id: str, user_id: str, limit: int = 10
) -> list[RatingWithAnswer]:
    """A rep's most recent ratings with marketing's first answer to each."""
    ratings = (
        select(Rating.id, Lead.external_ref, Rating.score, Rating.created_at)
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(Rating.team_id == team_id, Rating.rater_id == user_id)
        .order_by(col(Rating.created_at).desc(), col(Rating.id).desc())
        .limit(limit)
    )
    rows = session.execute(ratings).all()
    answers = _first_answers(session, team_id=team_id, rating_ids=[row[0] for row in rows])
    return [
        RatingWithAnswer(
            lead_ref=lead_ref,
            score=score,
            created_at=created_at,
            answer=answers.get(rating_id, (None, None))[0],
            answered_by=answers.get(rating_id, (None, None))[1],
        )
        for rating_id, lead_ref, score, created_at in rows
    ]


def _first_answers(
    session: Session, *, team_id: str, rating_ids: list[int]
) -> dict[int, tuple[str, str]]:
    if not rating_ids:
        return {}
    first = (
        select(Response.rating_id, func.min(Response.id).label("first_id"))
        .where(
            Response.team_id == team_id,
            col(Response.rating_id).in_(rating_ids),
            col(Response.is_answer).is_(True),
            col(Response.deleted).is_(False),
        )
        .group_by(col(Response.rating_id))
        .subquery()
    )
    statement = select(Response.rating_id, Response.text, Response.user_id).join(
        first, first.c.first_id == col(Response.id)
    )
    return {rating_id: (text, user_id) for rating_id, text, user_id in session.execute(statement)}
