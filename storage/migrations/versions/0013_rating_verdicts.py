"""rating verdicts: marketing's agree, dispute and acknowledge buttons on a rating post

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

One row per person, rating and verdict: a second click of the same button stores nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rating_verdict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("rating_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rating_id"], ["rating.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "team_id", "rating_id", "user_id", "verdict", name="uq_rating_verdict_once"
        ),
    )
    op.create_index(
        "ix_rating_verdict_team_rating",
        "rating_verdict",
        ["team_id", "rating_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_rating_verdict_team_created", "rating_verdict", ["team_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_rating_verdict_team_created", table_name="rating_verdict")
    op.drop_index("ix_rating_verdict_team_rating", table_name="rating_verdict")
    op.drop_table("rating_verdict")
