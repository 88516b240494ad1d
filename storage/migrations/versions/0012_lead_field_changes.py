"""lead field changes: a lead's campaign, source and status before and after each re-import

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

An import or the webhook that changes a known lead's campaign, source or status keeps the
value it had, so that a week that ended before still counts the lead as it was then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_field_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value_before", sa.String(length=200), nullable=True),
        sa.Column("value_after", sa.String(length=200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_lead_field_change_lead",
        "lead_field_change",
        ["team_id", "lead_id", "field", "changed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_lead_field_change_lead", table_name="lead_field_change")
    op.drop_table("lead_field_change")
