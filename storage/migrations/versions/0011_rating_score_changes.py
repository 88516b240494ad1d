"""rating score changes: a button rating's score before and after each change, and when

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

A score button clicked again changes that button rating in place; the change is kept so
that a week that ended before it still counts the score it had then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rating_score_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("rating_id", sa.Integer(), nullable=False),
        sa.Column("score_before", sa.Integer(), nullable=False),
        sa.Column("score_after", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rating_id"], ["rating.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rating_score_change_rating",
        "rating_score_change",
        ["team_id", "rating_id", "changed_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_rating_score_change_rating", table_name="rating_score_change")
    op.drop_table("rating_score_change")
