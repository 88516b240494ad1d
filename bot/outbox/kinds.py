"""Every outbox kind, with its sender and what the engine must know of it: the one table.

A kind the domain owes (``domain.outbox_kinds``) and this table does not list is dropped
as undeliverable; a test checks that the two lists agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.outbox.answer_notices import notify_rater
from bot.outbox.digests import post_digest
from bot.outbox.dispute_notices import notify_disputed
from bot.outbox.handoffs import post_handoff, refresh_handoff
from bot.outbox.job import Sender
from bot.outbox.kpi_charts import post_kpi_chart
from bot.outbox.meetings import post_reminder
from bot.outbox.ratings import post_rating, update_rating_post
from bot.outbox.sla import post_escalation, post_nudge
from bot.outbox.weekly_report import post_weekly_report
from domain.outbox_kinds import (
    ANSWER_NOTICE,
    DISPUTE_NOTICE,
    HANDOFF_DIGEST,
    HANDOFF_POST,
    HANDOFF_REFRESH,
    KPI_CHART,
    MEETING_REMINDER,
    RATING_POST,
    RATING_UPDATE,
    SLA_ESCALATION,
    SLA_NUDGE,
    WEEKLY_REPORT,
)


@dataclass(frozen=True)
class Kind:
    """How one kind of message is sent."""

    send: Sender
    # Owed by the thousand (an import's hand-offs): within a workspace, the sweep takes
    # them after everything else, so ratings and reminders are not stuck behind them.
    bulk: bool = False


KINDS: Mapping[str, Kind] = {
    RATING_POST: Kind(post_rating),
    RATING_UPDATE: Kind(update_rating_post),
    ANSWER_NOTICE: Kind(notify_rater),
    DISPUTE_NOTICE: Kind(notify_disputed),
    HANDOFF_POST: Kind(post_handoff, bulk=True),
    HANDOFF_DIGEST: Kind(post_digest, bulk=True),
    HANDOFF_REFRESH: Kind(refresh_handoff),
    MEETING_REMINDER: Kind(post_reminder),
    WEEKLY_REPORT: Kind(post_weekly_report),
    KPI_CHART: Kind(post_kpi_chart),
    SLA_NUDGE: Kind(post_nudge),
    SLA_ESCALATION: Kind(post_escalation),
}

BULK_KINDS = tuple(name for name, kind in KINDS.items() if kind.bulk)
