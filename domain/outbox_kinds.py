"""Every kind of outbox message, named once: the domain owes them, the shell delivers them.

The strings are stored in ``outbox_message.kind`` (and the dedupe keys built from them), so
a value here never changes once released. ``MEETING_REMINDER``, ``WEEKLY_REPORT`` and
``KPI_CHART`` also name the occurrence claimed in ``scheduled_post.kind`` before its message
is owed.
"""

from __future__ import annotations

from typing import Final

# A rating's card in the feedback channel, and a re-render of it when a button changes it
# (a score button, or marketing's verdict).
RATING_POST: Final = "rating_post"
RATING_UPDATE: Final = "rating_update"
# A DM to the rater when someone first answers in their rating's thread.
ANSWER_NOTICE: Final = "answer_notice"
# A DM to the rater when marketing disputes their rating, with the reason.
DISPUTE_NOTICE: Final = "dispute_notice"
# A new lead's hand-off (owner's DM and/or the hand-off channel), an import's digest of
# many, and a re-render of both once the lead is rated.
HANDOFF_POST: Final = "handoff_post"
HANDOFF_DIGEST: Final = "handoff_digest"
HANDOFF_REFRESH: Final = "handoff_refresh"
# A meeting's reminder (or its snooze) with its agenda; the weekly KPI report.
MEETING_REMINDER: Final = "meeting_reminder"
WEEKLY_REPORT: Final = "weekly_report"
# One week's KPI chart, asked for with `/kpi chart` in a channel.
KPI_CHART: Final = "kpi_chart"
# A rating past its answer SLA: a nudge in its thread; at twice the SLA, a DM to the
# marketing lead. Also the kinds of the occurrences claimed in ``scheduled_post``.
SLA_NUDGE: Final = "sla_nudge"
SLA_ESCALATION: Final = "sla_escalation"

ALL_KINDS: Final = frozenset(
    {
        RATING_POST,
        RATING_UPDATE,
        ANSWER_NOTICE,
        DISPUTE_NOTICE,
        HANDOFF_POST,
        HANDOFF_DIGEST,
        HANDOFF_REFRESH,
        MEETING_REMINDER,
        WEEKLY_REPORT,
        KPI_CHART,
        SLA_NUDGE,
        SLA_ESCALATION,
    }
)
