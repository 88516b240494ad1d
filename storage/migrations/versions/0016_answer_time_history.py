"""answer-time history: each workspace's answer-time settings and campaign owners over time

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05

A week's answer-time figures use the settings and campaign owners as they stood at the
week's end, so that changing them later leaves past weeks alone. Both tables are
append-only. Each workspace starts with one row of its current settings, dated when it was
recorded (``installed_at``); each campaign owner starts with one row of its current owner,
dated 1970-01-01 (the owner table keeps no creation time), so that it holds for every
earlier week.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Before any data: the backfilled owners held for every week leadloop can report.
BEFORE_ANY_DATA = datetime(1970, 1, 1, tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "answer_time_settings_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("answer_sla", sa.String(length=16), nullable=True),
        sa.Column("low_score_sla", sa.String(length=16), nullable=True),
        sa.Column("business_hours", sa.String(length=64), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_answer_time_settings_change_team",
        "answer_time_settings_change",
        ["team_id", "changed_at"],
        unique=False,
    )
    op.create_table(
        "campaign_owner_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_key", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_campaign_owner_change_team",
        "campaign_owner_change",
        ["team_id", "campaign_key", "changed_at"],
        unique=False,
    )
    _backfill()


def _backfill() -> None:
    columns = ("answer_sla", "low_score_sla", "business_hours", "timezone")
    workspace = sa.table(
        "workspace",
        sa.column("team_id", sa.String()),
        *(sa.column(name, sa.String()) for name in columns),
        sa.column("installed_at", sa.DateTime(timezone=True)),
    )
    settings = sa.table(
        "answer_time_settings_change",
        sa.column("team_id", sa.String()),
        *(sa.column(name, sa.String()) for name in columns),
        sa.column("changed_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        settings.insert().from_select(
            ["team_id", *columns, "changed_at"],
            sa.select(
                workspace.c.team_id,
                *(workspace.c[name] for name in columns),
                workspace.c.installed_at,
            ),
        )
    )
    owner = sa.table(
        "campaign_owner",
        sa.column("team_id", sa.String()),
        sa.column("campaign_key", sa.String()),
        sa.column("owner_id", sa.String()),
    )
    owner_changes = sa.table(
        "campaign_owner_change",
        sa.column("team_id", sa.String()),
        sa.column("campaign_key", sa.String()),
        sa.column("owner_id", sa.String()),
        sa.column("changed_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        owner_changes.insert().from_select(
            ["team_id", "campaign_key", "owner_id", "changed_at"],
            sa.select(
                owner.c.team_id,
                owner.c.campaign_key,
                owner.c.owner_id,
                sa.literal(BEFORE_ANY_DATA, sa.DateTime(timezone=True)),
            ),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_campaign_owner_change_team", table_name="campaign_owner_change")
    op.drop_table("campaign_owner_change")
    op.drop_index("ix_answer_time_settings_change_team", table_name="answer_time_settings_change")
    op.drop_table("answer_time_settings_change")
