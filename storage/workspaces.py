"""The workspaces leadloop knows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Workspace


def record_workspace(
    session: Session,
    *,
    team_id: str,
    team_name: str | None,
    bot_user_id: str | None,
    now: datetime,
) -> Workspace:
    """Insert or refresh a workspace (the bot started in it, or it was installed)."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        workspace = Workspace(team_id=team_id, installed_at=now, updated_at=now)
    workspace.team_name = team_name
    workspace.bot_user_id = bot_user_id
    workspace.updated_at = now
    session.add(workspace)
    session.flush()
    return workspace


def all_workspaces(session: Session) -> list[Workspace]:
    """Every recorded workspace (the scheduler's view)."""
    return list(session.exec(select(Workspace).order_by(col(Workspace.team_id))).all())


def known_workspaces(session: Session) -> list[str]:
    """Team IDs of every recorded workspace."""
    return list(session.exec(select(Workspace.team_id).order_by(col(Workspace.team_id))).all())
