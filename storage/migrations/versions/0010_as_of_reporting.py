"""as-of reporting: when a lead was handed off and got its status, when a reply was deleted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Rows from before this revision get the best times they kept: an intake lead (one with a
hand-off, a webhook mark, or any field only an import or the webhook sets) was handed off
when it was created; a status was set when the lead was last updated; a deleted reply was
deleted at its ``edited_at``, which deletion used to set.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INTAKE_FIELDS = ("name", "email", "company", "campaign", "source", "owner_id", "status")


def upgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_off_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_lead_team_handed_off", ["team_id", "handed_off_at"], unique=False)
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    from_intake = " OR ".join(
        [
            "webhook_signed_at IS NOT NULL",
            "EXISTS (SELECT 1 FROM handoff WHERE handoff.lead_id = lead.id)",
            *(f"{name} IS NOT NULL" for name in _INTAKE_FIELDS),
        ]
    )
    op.execute(f"UPDATE lead SET handed_off_at = created_at WHERE {from_intake}")
    op.execute("UPDATE lead SET status_changed_at = updated_at WHERE status IS NOT NULL")
    op.execute("UPDATE response SET deleted_at = edited_at WHERE deleted")


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_team_handed_off")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("handed_off_at")
