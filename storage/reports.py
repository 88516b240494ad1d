"""Aggregates that agendas and reports read, computed in SQL and scoped by ``team_id``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, func
from sqlmodel import Session, and_, col, select

from storage.models import Lead, Rating, Response

NO_CAMPAIGN = "(no campaign)"


@dataclass(frozen=True)
class CampaignScore:
    """A campaign's average lead score over a period."""

    campaign: str
    average: float
    ratings: int


def latest_rating_ids(team_id: str) -> Select[tuple[int]]:
    """Ids of each rep's latest rating of each lead (what reports count)."""
    return (
        select(func.max(Rating.id))
        .where(Rating.team_id == team_id)
        .group_by(col(Rating.lead_id), col(Rating.rater_id))
    )


def lowest_scoring_campaigns(
    session: Session, *, team_id: str, since: datetime, until: datetime, limit: int = 3
) -> list[CampaignScore]:
    """Campaigns by average latest score of ratings given in [since, until), lowest first."""
    campaign = func.coalesce(Lead.campaign, NO_CAMPAIGN)
    statement = (
        select(campaign, func.avg(Rating.score), func.count(col(Rating.id)))
        .join(Lead, and_(col(Lead.id) == col(Rating.lead_id), Lead.team_id == team_id))
        .where(
            Rating.team_id == team_id,
            Rating.created_at >= since,
            Rating.created_at < until,
            col(Rating.id).in_(latest_rating_ids(team_id)),
        )
        .group_by(campaign)
        .order_by(func.avg(Rating.score), campaign)
        .limit(limit)
    )
    return [
        CampaignScore(campaign=name, average=float(average), ratings=int(count))
        for name, average, count in session.execute(statement)
    ]


@dataclass(frozen=True)
class UnansweredRating:
    """A rating posted for marketing that nobody from marketing has answered yet."""

    rating_id: int
    lead_ref: str
    score: int
    post_channel: str
    post_ts: str
    created_at: datetime


def unanswered_ratings(
    session: Session, *, team_id: str, limit: int = 5
) -> tuple[int, list[UnansweredRating]]:
    """How many posted ratings wait for an answer, and the oldest ``limit`` of them."""
    answered = exists().where(
        Response.team_id == team_id,
        col(Response.rating_id) == col(Rating.id),
        col(Response.is_answer).is_(True),
    )
    waiting = and_(
        Rating.team_id == team_id,
        col(Rating.post_ts).is_not(None),
        ~answered,
    )
    total = session.execute(select(func.count(col(Rating.id))).where(waiting)).scalar_one()
    statement = (
        select(
            Rating.id,
            Lead.external_ref,
            Rating.score,
            Rating.post_channel,
            Rating.post_ts,
            Rating.created_at,
        )
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(waiting)
        .order_by(col(Rating.created_at), col(Rating.id))
        .limit(limit)
    )
    oldest = [UnansweredRating(*row) for row in session.execute(statement)]
    return int(total), oldest
