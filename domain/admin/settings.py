"""Per-workspace settings: what a workspace's admins chose, over the environment's defaults.

The environment (FEEDBACK_CHANNEL, LEADLOOP_TZ, ...) gives every workspace its starting
values; ``/leadloop settings`` overrides them for one workspace, in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.sla import (
    DEFAULT_BUSINESS_HOURS,
    DEFAULT_SLA_MINUTES,
    AnswerSla,
    describe_duration,
    parse_business_hours,
    parse_duration,
)
from storage.models import Workspace
from storage.workspaces import SETTABLE_COLUMNS

# The names admins use in `/leadloop settings <name> <value>`, and the column each sets.
SETTING_COLUMNS = {
    "feedback": "feedback_channel",
    "report": "report_channel",
    "handoff": "handoff_channel",
    "timezone": "timezone",
    "sales": "sales_usergroup",
    "marketing": "marketing_usergroup",
    "sla": "answer_sla",
    "sla-low": "low_score_sla",
    "hours": "business_hours",
    "marketing-lead": "marketing_lead",
}


@dataclass(frozen=True)
class WorkspaceSettings:
    """The settings in force in one workspace."""

    feedback_channel: str | None = None
    report_channel: str | None = None
    handoff_channel: str | None = None
    timezone: str = "UTC"
    sales_usergroup: str | None = None
    marketing_usergroup: str | None = None
    # The answer SLA's settings, as stored; read them through ``answer_sla_policy``.
    answer_sla: str = describe_duration(DEFAULT_SLA_MINUTES)
    low_score_sla: str | None = None
    business_hours: str = DEFAULT_BUSINESS_HOURS
    marketing_lead: str | None = None

    def answer_sla_policy(self) -> AnswerSla | None:
        """The SLA in force, or None when it is off (or its stored values are unreadable)."""
        minutes = parse_duration(self.answer_sla)
        hours = parse_business_hours(self.business_hours)
        if minutes is None or hours is None:
            return None
        low = parse_duration(self.low_score_sla) if self.low_score_sla else None
        return AnswerSla(
            minutes=minutes, low_score_minutes=low, hours=hours, zone=ZoneInfo(self.timezone)
        )

    def overridden_by(self, workspace: Workspace | None) -> WorkspaceSettings:
        """These defaults with whatever the workspace's admins set instead."""
        if workspace is None:
            return self
        chosen = {
            column: getattr(workspace, column)
            for column in SETTABLE_COLUMNS
            if getattr(workspace, column) is not None
        }
        return replace(self, **chosen)


def workspace_settings(
    session: Session, *, team_id: str, defaults: WorkspaceSettings
) -> WorkspaceSettings:
    """The settings in force in ``team_id``: its own choices over the defaults."""
    return defaults.overridden_by(session.get(Workspace, team_id))
