"""Rows for ``leadloop export``: streamed, one workspace at a time, oldest first.

The exports together hold every fact a report counts (docs/glossary.md): which rating
replaced which and when, a button rating's score changes, when a reply was deleted, when a
lead was handed off, its campaign, source and status before each change, and the answer-time
settings and campaign owners the workspace had at every time. Columns only
ever get added at the end, so scripts keep working.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, union
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.campaigns import campaign_owner_history
from storage.models import (
    KpiTarget,
    KpiValue,
    Lead,
    LeadFieldChange,
    Rating,
    RatingScoreChange,
    Response,
)
from storage.workspaces import answer_time_settings_history

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
    "lead_id",
    "replaced_by",
    "replaced_at",
    "score_changes",
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
    "deleted_at",
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
    "status",
    "status_changed_at",
    "handed_off_at",
    "updated_at",
)
LEAD_CHANGE_COLUMNS = (
    "id",
    "team_id",
    "lead_id",
    "lead_ref",
    "field",
    "value_before",
    "value_after",
    "changed_at",
)
KPI_VALUE_COLUMNS = ("id", "team_id", "metric", "week", "value", "set_by", "updated_at")
KPI_TARGET_COLUMNS = (
    "id",
    "team_id",
    "metric",
    "kind",
    "value",
    "baseline_week",
    "set_by",
    "updated_at",
)
ANSWER_TIME_SETTINGS_COLUMNS = (
    "id",
    "team_id",
    "answer_sla",
    "low_score_sla",
    "business_hours",
    "timezone",
    "changed_at",
)
CAMPAIGN_OWNER_COLUMNS = ("id", "team_id", "campaign", "owner_id", "changed_at")
BATCH = 1000


def workspaces(session: Session) -> list[str]:
    """Every workspace that has data; the CLI's way to pick one when none is named."""
    statement = union(select(Lead.team_id).distinct(), select(Rating.team_id).distinct())
    return sorted({row[0] for row in session.execute(statement)})


def iter_ratings(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every rating of the workspace with its lead's reference, and the rating that replaced
    it: the same rep's next rating of the same lead (None while it is the latest)."""
    successor = aliased(Rating)
    next_id = (
        select(func.min(successor.id))
        .where(
            successor.team_id == team_id,
            col(successor.lead_id) == col(Rating.lead_id),
            col(successor.rater_id) == col(Rating.rater_id),
            col(successor.id) > col(Rating.id),
        )
        .scalar_subquery()
    )
    replacement = aliased(Rating)
    statement = (
        select(Rating, Lead.external_ref, replacement.id, replacement.created_at)
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .outerjoin(replacement, col(replacement.id) == next_id)
        .where(Rating.team_id == team_id, Lead.team_id == team_id)
        .order_by(col(Rating.id))
    )
    if since is not None:
        statement = statement.where(Rating.created_at >= since)
    changes = _score_changes(session, team_id=team_id)
    rows = session.execute(statement).yield_per(BATCH)
    for rating, lead_ref, replaced_by, replaced_at in rows:
        row = rating.model_dump()
        row |= {"lead_ref": lead_ref, "replaced_by": replaced_by, "replaced_at": replaced_at}
        row["score_changes"] = changes.get(rating.id, [])
        yield {column: row[column] for column in RATING_COLUMNS}


def _score_changes(session: Session, *, team_id: str) -> dict[int, list[str]]:
    """Each changed button rating's changes, oldest first, as ``<UTC time> <before>><after>``.

    Only a score button clicked again changes a rating, so these are few: read at once.
    """
    statement = (
        select(RatingScoreChange)
        .where(RatingScoreChange.team_id == team_id)
        .order_by(col(RatingScoreChange.changed_at), col(RatingScoreChange.id))
    )
    changes: dict[int, list[str]] = {}
    for change in session.exec(statement):
        when = change.changed_at.astimezone(UTC).isoformat()
        changes.setdefault(change.rating_id, []).append(
            f"{when} {change.score_before}>{change.score_after}"
        )
    return changes


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


def iter_lead_changes(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every change an import or the webhook made to a lead's campaign, source or status."""
    statement = (
        select(LeadFieldChange, Lead.external_ref)
        .join(Lead, col(Lead.id) == col(LeadFieldChange.lead_id))
        .where(LeadFieldChange.team_id == team_id, Lead.team_id == team_id)
        .order_by(col(LeadFieldChange.id))
    )
    if since is not None:
        statement = statement.where(LeadFieldChange.changed_at >= since)
    for change, lead_ref in session.execute(statement).yield_per(BATCH):
        row = change.model_dump() | {"lead_ref": lead_ref}
        yield {column: row[column] for column in LEAD_CHANGE_COLUMNS}


def _week_label(year: int | None, week: int | None) -> str | None:
    return None if year is None or week is None else f"{year:04d}-W{week:02d}"


def iter_kpi_values(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every business KPI value recorded, by week (``2026-W45``)."""
    statement = (
        select(KpiValue)
        .where(KpiValue.team_id == team_id)
        .order_by(col(KpiValue.metric), col(KpiValue.year), col(KpiValue.week))
    )
    if since is not None:
        statement = statement.where(KpiValue.updated_at >= since)
    for value in session.exec(statement):
        row = value.model_dump() | {"week": _week_label(value.year, value.week)}
        yield {column: row[column] for column in KPI_VALUE_COLUMNS}


def iter_kpi_targets(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Every target an admin set (a KPI without one has its default, README and glossary)."""
    statement = (
        select(KpiTarget).where(KpiTarget.team_id == team_id).order_by(col(KpiTarget.metric))
    )
    if since is not None:
        statement = statement.where(KpiTarget.updated_at >= since)
    for target in session.exec(statement):
        baseline = _week_label(target.baseline_year, target.baseline_week)
        row = target.model_dump() | {"baseline_week": baseline}
        yield {column: row[column] for column in KPI_TARGET_COLUMNS}


def iter_answer_time_settings(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """The workspace's answer-time configuration (``sla``, ``sla-low``, ``hours``,
    ``timezone``) each time it changed, whole, oldest first; empty values are the defaults."""
    for change in answer_time_settings_history(session, team_id=team_id, since=since):
        row = change.model_dump()
        yield {column: row[column] for column in ANSWER_TIME_SETTINGS_COLUMNS}


def iter_campaign_owners(
    session: Session, *, team_id: str, since: datetime | None
) -> Iterator[dict[str, Any]]:
    """Each campaign's owner each time it changed (None: taken away), oldest first; the
    campaign in lower case, as owners match a lead's campaign without regard to case."""
    for change in campaign_owner_history(session, team_id=team_id, since=since):
        row = change.model_dump() | {"campaign": change.campaign_key}
        yield {column: row[column] for column in CAMPAIGN_OWNER_COLUMNS}
