"""answer SLA: each workspace's answer time for ratings, business hours and marketing lead

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

``sla_since`` is when the SLA started to apply in a workspace: ratings from before it are
never nudged, so upgrading leadloop (or turning the SLA back on) does not nudge every old
unanswered rating at once.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_sla", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("low_score_sla", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("business_hours", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("marketing_lead", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sla_since", sa.DateTime(timezone=True), nullable=True))
    workspace = sa.table("workspace", sa.column("sla_since", sa.DateTime(timezone=True)))
    op.execute(workspace.update().values(sla_since=datetime.now(UTC)))


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("sla_since")
        batch_op.drop_column("marketing_lead")
        batch_op.drop_column("business_hours")
        batch_op.drop_column("low_score_sla")
        batch_op.drop_column("answer_sla")
