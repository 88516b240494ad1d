"""hand-off digests: one message listing many new leads of an import

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handoff_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["outbox_message_id"], ["outbox_message.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_message_id", name="uq_handoff_digest_outbox"),
    )
    op.create_table(
        "handoff_digest_lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["digest_id"], ["handoff_digest.id"]),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest_id", "lead_id", name="uq_handoff_digest_lead"),
    )
    op.create_index(
        "ix_handoff_digest_lead_team_lead",
        "handoff_digest_lead",
        ["team_id", "lead_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_handoff_digest_lead_team_lead", table_name="handoff_digest_lead")
    op.drop_table("handoff_digest_lead")
    op.drop_table("handoff_digest")
