"""Rows for ``leadloop export``: streamed, one workspace at a time, oldest first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import union
from sqlmodel import Session, col, select

from storage.models import Lead, Rating, Response

RATING_COLUMNS = (
    "id",
    "team_id",
    "lead_ref",
    "score",
    "reason",
    "tags",
    "rater_id",
    "via",
    "created_at",
    "post_channel",
    "post_ts",
)
RESPONSE_COLUMNS = (
    "id",
    "team_id",
    "rating_id",
    "lead_ref",
    "user_id",
    "is_answer",
    "text",
    "ts",
    "created_at",
    "edited_at",
    "deleted",
)
LEAD_COLUMNS = (
    "id",
    "team_id",
    "external_ref",
    "name",
    "email",
    "company",
    "campaign",
    "source",
    "owner_id",
    "created_at",
)
BATCH = 1000


def workspaces(session: Session) -> list[str]:
    """Every workspace that has data; the CLI's way to pick one when none is named."""
    statement = union(select(Lead.team_id).distinct(), select(Rating.team_id).distinct())
    return sorted({row[0] for row in session.execute(statement)})


def iter_ratings(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every rating of the workspace with its lead's reference."""
    statement = (
        select(Rating, Lead.external_ref)
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(Rating.team_id == team_id, Lead.team_id == team_id)
        .order_by(col(Rating.id))
    )
    if since is not None:
        statement = statement.where(Rating.created_at >= since)
    for rating, lead_ref in session.execute(statement).yield_per(BATCH):
        row = rating.model_dump()
        row["lead_ref"] = lead_ref
        yield {column: row[column] for column in RATING_COLUMNS}


def iter_responses(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every thread reply of the workspace, with the rating and lead it answers."""
    statement = (
        select(Response, Lead.external_ref)
        .join(Rating, col(Rating.id) == col(Response.rating_id))
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(Response.team_id == team_id, Rating.team_id == team_id)
        .order_by(col(Response.id))
    )
    if since is not None:
        statement = statement.where(Response.created_at >= since)
    for response, lead_ref in session.execute(statement).yield_per(BATCH):
        row = response.model_dump()
        row["lead_ref"] = lead_ref
        yield {column: row[column] for column in RESPONSE_COLUMNS}


def iter_leads(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every lead of the workspace."""
    statement = select(Lead).where(Lead.team_id == team_id).order_by(col(Lead.id))
    if since is not None:
        statement = statement.where(Lead.created_at >= since)
    for (lead,) in session.execute(statement).yield_per(BATCH):
        row = lead.model_dump()
        yield {column: row[column] for column in LEAD_COLUMNS}
