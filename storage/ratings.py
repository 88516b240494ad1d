"""Leads and ratings. Every function is scoped to one workspace by ``team_id``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, and_, col, select

from storage.models import Lead, Rating
from storage.unique import add_unless_duplicate


def find_lead(session: Session, *, team_id: str, external_ref: str) -> Lead | None:
    """The workspace's lead with this CRM reference, if known."""
    statement = select(Lead).where(Lead.team_id == team_id, Lead.external_ref == external_ref)
    return session.exec(statement).first()


def known_lead_refs(session: Session, *, team_id: str, refs: list[str]) -> set[str]:
    """Those of ``refs`` that name a lead of this workspace."""
    if not refs:
        return set()
    statement = select(Lead.external_ref).where(
        Lead.team_id == team_id, col(Lead.external_ref).in_(refs)
    )
    return set(session.exec(statement).all())


def get_or_create_lead(session: Session, *, team_id: str, external_ref: str, now: datetime) -> Lead:
    """Upsert by (workspace, reference); safe when two requests create the same lead at once."""
    lead = find_lead(session, team_id=team_id, external_ref=external_ref)
    if lead is not None:
        return lead
    lead = Lead(team_id=team_id, external_ref=external_ref, created_at=now, updated_at=now)
    if add_unless_duplicate(session, lead) is not None:
        return lead
    # Another request created it between our SELECT and INSERT.
    existing = find_lead(session, team_id=team_id, external_ref=external_ref)
    if existing is None:
        raise LookupError(f"lead {external_ref!r} vanished while being created")
    return existing


def add_rating(
    session: Session,
    *,
    team_id: str,
    lead: Lead,
    rater_id: str,
    score: int,
    reason: str,
    tags: list[str],
    via: str,
    origin_channel: str | None,
    now: datetime,
) -> Rating:
    """Store one more rating in the lead's history."""
    if lead.team_id != team_id:
        raise ValueError("a rating and its lead must belong to the same workspace")
    if lead.id is None:
        raise ValueError("a lead must be flushed before it is rated")
    rating = Rating(
        team_id=team_id,
        lead_id=lead.id,
        rater_id=rater_id,
        score=score,
        reason=reason,
        tags=tags,
        via=via,
        origin_channel=origin_channel,
        created_at=now,
    )
    session.add(rating)
    session.flush()
    return rating


def get_rating(session: Session, *, team_id: str, rating_id: int) -> Rating | None:
    """A rating of this workspace by id; None for another workspace's id."""
    statement = select(Rating).where(Rating.team_id == team_id, Rating.id == rating_id)
    return session.exec(statement).first()


def get_rating_with_lead(
    session: Session, *, team_id: str, rating_id: int
) -> tuple[Rating, Lead] | None:
    """A rating and its lead, both of this workspace, in one query."""
    statement = (
        select(Rating, Lead)
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(Rating.team_id == team_id, Rating.id == rating_id, Lead.team_id == team_id)
    )
    found = session.exec(statement).first()
    return (found[0], found[1]) if found is not None else None


def get_lead(session: Session, *, team_id: str, lead_id: int) -> Lead | None:
    """A lead of this workspace by id."""
    return session.exec(select(Lead).where(Lead.team_id == team_id, Lead.id == lead_id)).first()


def find_rating_by_post(session: Session, *, team_id: str, channel: str, ts: str) -> Rating | None:
    """The rating whose feedback-channel post is ``channel``/``ts``."""
    statement = select(Rating).where(
        Rating.team_id == team_id, Rating.post_channel == channel, Rating.post_ts == ts
    )
    return session.exec(statement).first()


def record_post(
    session: Session, *, team_id: str, rating_id: int, channel: str, ts: str, now: datetime
) -> None:
    """Remember where the rating was posted, so thread replies can find it."""
    result = session.exec(
        update(Rating)
        .where(col(Rating.team_id) == team_id, col(Rating.id) == rating_id)
        .values(post_channel=channel, post_ts=ts, posted_at=now)
    )
    if result.rowcount != 1:
        raise LookupError(f"rating {rating_id} not found in workspace {team_id}")


def latest_ratings(
    session: Session, *, team_id: str, since: datetime | None = None
) -> list[Rating]:
    """Each rep's latest rating of each lead: what reports count."""
    newest = (
        select(
            Rating.lead_id,
            Rating.rater_id,
            func.max(Rating.id).label("latest_id"),
        )
        .where(Rating.team_id == team_id)
        .group_by(col(Rating.lead_id), col(Rating.rater_id))
        .subquery()
    )
    # Ids grow with time, so the highest id per (lead, rep) is the latest rating.
    statement = (
        select(Rating)
        .join(newest, and_(Rating.id == newest.c.latest_id))
        .where(Rating.team_id == team_id)
        .order_by(col(Rating.created_at), col(Rating.id))
    )
    if since is not None:
        statement = statement.where(Rating.created_at >= since)
    return list(session.exec(statement).all())
