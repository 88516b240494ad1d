"""Ratings still waiting for marketing's answer: what the answer SLA nudges about.

Scoped to one workspace. A rating waits while it has no answer (a thread reply from
marketing that was not deleted), no verdict (agree, dispute or acknowledge: an
acknowledgement stops the nudges too) and no later rating by the same rep of the same lead
(which has a post, and a clock, of its own).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Lead, Rating, RatingVerdict, Response, ScheduledPost

# The most ratings one tick looks at per workspace and kind; the next tick takes the rest.
BATCH = 500


def waiting_ratings(
    session: Session,
    *,
    team_id: str,
    since: datetime,
    not_claimed_as: str | None = None,
    limit: int = BATCH,
) -> list[tuple[Rating, Lead]]:
    """Posted ratings from ``since`` on, still waiting for an answer (and, with
    ``not_claimed_as``, not yet claimed as that: a nudge or an escalation), oldest first,
    with their leads."""
    later = aliased(Rating)
    unclaimed = (
        ~exists().where(
            col(ScheduledPost.team_id) == team_id,
            col(ScheduledPost.kind) == not_claimed_as,
            col(ScheduledPost.subject_id) == col(Rating.id),
        )
        if not_claimed_as
        else true()
    )
    statement = (
        select(Rating, Lead)
        .join(Lead, and_(col(Lead.id) == col(Rating.lead_id), col(Lead.team_id) == team_id))
        .where(
            col(Rating.team_id) == team_id,
            col(Rating.created_at) >= since,
            col(Rating.post_ts).is_not(None),
            ~waiting_ended(Rating),
            ~exists().where(
                col(later.team_id) == team_id,
                col(later.lead_id) == col(Rating.lead_id),
                col(later.rater_id) == col(Rating.rater_id),
                col(later.id) > col(Rating.id),
            ),
            unclaimed,
        )
        .order_by(col(Rating.created_at), col(Rating.id))
        .limit(limit)
    )
    return [(rating, lead) for rating, lead in session.exec(statement).all()]


def still_waiting(session: Session, *, team_id: str, rating_id: int) -> bool:
    """Whether the rating still has no answer and no verdict (checked again at send time)."""
    statement = select(Rating.id).where(
        col(Rating.team_id) == team_id, col(Rating.id) == rating_id, ~waiting_ended(Rating)
    )
    return session.exec(statement).first() is not None


def waiting_ended(rating: type[Rating]) -> ColumnElement[bool]:
    """SQL: the rating has an answer that was not deleted, or a verdict."""
    answered = exists().where(
        col(Response.team_id) == col(rating.team_id),
        col(Response.rating_id) == col(rating.id),
        col(Response.is_answer).is_(True),
        col(Response.deleted).is_(False),
    )
    judged = exists().where(
        col(RatingVerdict.team_id) == col(rating.team_id),
        col(RatingVerdict.rating_id) == col(rating.id),
    )
    return answered | judged
