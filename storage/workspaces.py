"""The workspaces leadloop knows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.models import SLACK_OAUTH_STATES_TABLE, AnswerTimeSettingsChange, Workspace

SETTABLE_COLUMNS = frozenset(
    {
        "feedback_channel",
        "report_channel",
        "handoff_channel",
        "timezone",
        "sales_usergroup",
        "marketing_usergroup",
        "answer_sla",
        "low_score_sla",
        "business_hours",
        "marketing_lead",
    }
)
# The columns a week's answer-time figures depend on: each change of one is kept
# (``AnswerTimeSettingsChange``) so that a past week is read with the values of its end.
ANSWER_TIME_COLUMNS = ("answer_sla", "low_score_sla", "business_hours", "timezone")


def record_workspace(
    session: Session,
    *,
    team_id: str,
    team_name: str | None,
    bot_user_id: str | None,
    now: datetime,
) -> Workspace:
    """Insert or refresh a workspace (the bot started in it, or it was (re)installed)."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = _new_workspace(session, team_id=team_id, now=now)
    workspace.team_name = team_name
    workspace.bot_user_id = bot_user_id
    workspace.uninstalled_at = None
    workspace.updated_at = now
    session.add(workspace)
    session.flush()
    return workspace


def all_workspaces(session: Session) -> list[Workspace]:
    """Every recorded workspace."""
    return list(session.exec(select(Workspace).order_by(col(Workspace.team_id))).all())


def installed_workspaces(session: Session) -> list[Workspace]:
    """Every workspace the app is installed in now (the scheduler's view)."""
    query = select(Workspace).where(col(Workspace.uninstalled_at).is_(None))
    return list(session.exec(query.order_by(col(Workspace.team_id))).all())


def uninstalled_team_ids(session: Session) -> set[str]:
    """Workspaces that uninstalled the app: nothing is scheduled or posted there."""
    query = select(Workspace.team_id).where(col(Workspace.uninstalled_at).is_not(None))
    return set(session.exec(query).all())


def get_workspace(session: Session, *, team_id: str) -> Workspace | None:
    """The recorded workspace ``team_id``, if any."""
    return session.get(Workspace, team_id)


def mark_uninstalled(session: Session, *, team_id: str, now: datetime) -> bool:
    """Remember that the app was uninstalled from ``team_id``; False if already known."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = _new_workspace(session, team_id=team_id, now=now)
    elif workspace.uninstalled_at is not None:
        return False
    workspace.uninstalled_at = now
    workspace.updated_at = now
    session.add(workspace)
    session.flush()
    return True


def prune_oauth_states(session: Session, *, now: datetime) -> int:
    """Forget install links that expired unused (each view of /slack/install makes one)."""
    table = SLACK_OAUTH_STATES_TABLE
    naive_utc = now.astimezone(UTC).replace(tzinfo=None)  # slack-sdk stores naive UTC
    result = session.exec(delete(table).where(table.c.expire_at < naive_utc))
    return result.rowcount or 0


def change_settings(
    session: Session, *, team_id: str, now: datetime, values: dict[str, str | None]
) -> Workspace:
    """Set workspace settings by column name; None goes back to the environment's value.

    A change of the answer-time configuration (``ANSWER_TIME_COLUMNS``) also appends its new
    whole value to the workspace's history, in the same transaction.
    """
    workspace = _recorded(session, team_id=team_id, now=now)
    before = _answer_time_values(workspace)
    for column, value in values.items():
        if column not in SETTABLE_COLUMNS:
            raise ValueError(f"{column} is not a workspace setting")
        setattr(workspace, column, value)
    workspace.updated_at = now
    session.add(workspace)
    if _answer_time_values(workspace) != before:
        _keep_answer_time_settings(session, workspace, now=now)
    session.flush()
    return workspace


def answer_time_settings_as_of(
    session: Session, *, team_id: str, at: datetime
) -> AnswerTimeSettingsChange | None:
    """The workspace's answer-time configuration as it stood at ``at``.

    The latest change at or before ``at``; when ``at`` is before the first change (data
    older than the workspace's record), the earliest one. None only for a workspace with no
    history at all (never recorded).
    """
    table = AnswerTimeSettingsChange
    mine = select(table).where(col(table.team_id) == team_id)
    latest = session.exec(
        mine.where(col(table.changed_at) <= at)
        .order_by(col(table.changed_at).desc(), col(table.id).desc())
        .limit(1)
    ).first()
    if latest is not None:
        return latest
    return session.exec(mine.order_by(col(table.changed_at), col(table.id)).limit(1)).first()


def answer_time_settings_history(
    session: Session, *, team_id: str, since: datetime | None = None
) -> list[AnswerTimeSettingsChange]:
    """Every answer-time configuration the workspace had (from ``since`` on), oldest first."""
    table = AnswerTimeSettingsChange
    statement = (
        select(table)
        .where(col(table.team_id) == team_id)
        .order_by(col(table.changed_at), col(table.id))
    )
    if since is not None:
        statement = statement.where(col(table.changed_at) >= since)
    return list(session.exec(statement).all())


def _answer_time_values(workspace: Workspace) -> tuple[str | None, ...]:
    return tuple(getattr(workspace, column) for column in ANSWER_TIME_COLUMNS)


def _keep_answer_time_settings(session: Session, workspace: Workspace, *, now: datetime) -> None:
    session.add(
        AnswerTimeSettingsChange(
            team_id=workspace.team_id,
            answer_sla=workspace.answer_sla,
            low_score_sla=workspace.low_score_sla,
            business_hours=workspace.business_hours,
            timezone=workspace.timezone,
            changed_at=now,
        )
    )


def _new_workspace(session: Session, *, team_id: str, now: datetime) -> Workspace:
    """A workspace seen for the first time, with the first row of its answer-time history."""
    workspace = Workspace(team_id=team_id, installed_at=now, updated_at=now)
    _keep_answer_time_settings(session, workspace, now=now)
    return workspace


def set_webhook_secret(
    session: Session, *, team_id: str, secret: str | None, now: datetime
) -> None:
    """Give ``team_id`` a lead-webhook secret of its own; None goes back to the deployment's."""
    workspace = _recorded(session, team_id=team_id, now=now)
    workspace.lead_webhook_secret = secret
    workspace.updated_at = now
    session.add(workspace)
    session.flush()


def own_webhook_secret(session: Session, *, team_id: str) -> str | None:
    """``team_id``'s own lead-webhook secret; None when it has none."""
    workspace = session.get(Workspace, team_id)
    return workspace.lead_webhook_secret if workspace is not None else None


def only_workspace(session: Session) -> str | None:
    """The team ID of the one recorded workspace; None when there are none or several."""
    first_two = session.exec(select(Workspace.team_id).limit(2)).all()
    return first_two[0] if len(first_two) == 1 else None


def _recorded(session: Session, *, team_id: str, now: datetime) -> Workspace:
    """The workspace's row, new if an admin's change comes before it was recorded."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = _new_workspace(session, team_id=team_id, now=now)
    return workspace


def known_workspaces(session: Session) -> list[str]:
    """Team IDs of every recorded workspace."""
    return list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))).all())


def restart_sla_clock(session: Session, *, team_id: str, now: datetime) -> None:
    """Only ratings from ``now`` on are nudged (the answer SLA was just turned on)."""
    workspace = session.get(Workspace, team_id)
    if workspace is not None:
        workspace.sla_since = now
        session.add(workspace)
        session.flush()
