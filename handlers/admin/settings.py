"""``/leadloop settings``: this workspace's channels, time zone, user groups and answer SLA."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlmodel import Session

from domain.admin.parse import (
    CHANNEL,
    DEFAULT_WORD,
    DURATION,
    HOURS,
    SETTING_ABOUT,
    SETTING_KINDS,
    USER,
    USERGROUP,
    ChangeSetting,
)
from domain.admin.parse import USAGE as ADMIN_USAGE
from domain.admin.settings import SETTING_COLUMNS, WorkspaceSettings
from domain.parsing import ChannelRef, UsageError
from handlers.deps import Deps
from handlers.slack_lookups import resolve_channel
from storage import outbox
from storage.models import Workspace
from storage.workspaces import change_settings, restart_sla_clock

HOW_TO_CHANGE = (
    "Change one with `/leadloop settings <name> <value>`, e.g. "
    "`/leadloop settings feedback #lead-feedback`, `/leadloop settings timezone Europe/Berlin` "
    f"or `/leadloop settings sales @sales-team`. `/leadloop settings <name> {DEFAULT_WORD}` "
    "goes back to the environment's value."
)
# What happens while a setting has no value at all (the time zone always has one).
WHEN_UNSET = {
    "feedback": "ratings are kept until it is set",
    "report": "no weekly report is posted",
    "handoff": "hand-offs go to the lead owner only",
    "sales": "only `/leadloop role` makes people sales",
    "marketing": "only `/leadloop role` makes people marketing",
    "sla-low": "low scores get the same answer time",
    "marketing-lead": "ratings past twice their answer time are nudged, not escalated",
}
# Settings whose default is leadloop's own, not one the environment sets.
LEADLOOP_DEFAULTS = {"sla", "sla-low", "hours", "marketing-lead"}


def settings_text(deps: Deps, *, team_id: str) -> str:
    """Every setting in force in ``team_id``, where it comes from, and how to change it."""
    with deps.session_before_ack() as session:
        in_force = deps.settings_in(session, team_id=team_id)
        chosen = _chosen_here(session, team_id=team_id)
    lines = [
        f"• `{name}` ({SETTING_ABOUT[name]}): {_origin(name, in_force, chosen)}"
        for name in SETTING_COLUMNS
    ]
    return "*Settings in this workspace*\n" + "\n".join(lines) + "\n" + HOW_TO_CHANGE


def change_setting(deps: Deps, request: ChangeSetting, *, team_id: str, client: WebClient) -> str:
    """Store one setting for ``team_id`` and make the posts that failed meanwhile due now.

    A channel typed by name is looked up first, with no transaction open during the call to
    Slack; bad input changes nothing. The setting and the posts made due are committed in
    one transaction, before the command is acknowledged; the delivery process sends them.
    """
    value = request.value
    if isinstance(value, ChannelRef):
        typed, value = value, resolve_channel(value, client=client)
        if value is None:
            return UsageError(
                f"I can't find the channel #{typed.name}. Pick it from Slack's "
                "suggestions when you type #, or invite me to it first.",
                usage=ADMIN_USAGE,
            ).message
    column = SETTING_COLUMNS[request.name]
    now = deps.clock()
    with deps.session_before_ack() as session:
        sla_was_off = deps.settings_in(session, team_id=team_id).answer_sla_policy() is None
        change_settings(session, team_id=team_id, now=now, values={column: value})
        if sla_was_off and deps.settings_in(session, team_id=team_id).answer_sla_policy():
            # Ratings from while it was off are not nudged all at once now.
            restart_sla_clock(session, team_id=team_id, now=now)
        retry_ids = outbox.retry_failed_now(session, team_id=team_id, now=now)
        in_force = deps.settings_in(session, team_id=team_id)
        session.commit()
    text = _changed_text(request.name, in_force, reset=value is None)
    if retry_ids:
        text += f"\n{len(retry_ids)} post(s) that were waiting are being sent now."
    return text


def _chosen_here(session: Session, *, team_id: str) -> set[str]:
    """The names of the settings this workspace's admins chose."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        return set()
    return {
        name for name, column in SETTING_COLUMNS.items() if getattr(workspace, column) is not None
    }


def _origin(name: str, in_force: WorkspaceSettings, chosen: set[str]) -> str:
    shown = _shown_value(name, in_force)
    if name in chosen:
        return f"{shown}, set here"
    if shown is None:
        return f"not set ({WHEN_UNSET[name]})"
    return f"{shown}, {_whose_default(name)}"


def _whose_default(name: str) -> str:
    return "leadloop's default" if name in LEADLOOP_DEFAULTS else "the environment's default"


def _changed_text(name: str, in_force: WorkspaceSettings, *, reset: bool) -> str:
    shown = _shown_value(name, in_force)
    if reset:
        value = shown if shown is not None else f"not set ({WHEN_UNSET[name]})"
        return f"`{name}` is back to {_whose_default(name)}: {value}."
    text = f"`{name}` is now {shown} in this workspace: {SETTING_ABOUT[name]}."
    if SETTING_KINDS[name] == CHANNEL:
        text += " If it is a private channel, invite me to it with `/invite @leadloop`."
    return text


def _shown_value(name: str, in_force: WorkspaceSettings) -> str | None:
    value = getattr(in_force, SETTING_COLUMNS[name])
    if value is None:
        return None
    kind = SETTING_KINDS[name]
    if kind == CHANNEL:
        return f"<#{value}>"
    if kind == USERGROUP:
        return f"<!subteam^{value}>"
    if kind == USER:
        return f"<@{value}>"
    return f"`{value}`" if kind in (DURATION, HOURS) else str(value)
