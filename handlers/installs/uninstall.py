"""Forgetting a workspace's tokens when it uninstalls leadloop, and pausing its schedules.

Its data stays: ratings, answers, meetings and settings come back as they were if the
workspace installs leadloop again (``leadloop export`` still reads them meanwhile).
Both events may be retried by Slack; each step is safe to repeat.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.listener.builtins import TokenRevocationListeners

from handlers.deps import Deps
from storage.workspaces import mark_uninstalled

logger = logging.getLogger(__name__)


def handle_uninstalled(body: dict[str, Any], context: BoltContext, deps: Deps) -> None:
    """``app_uninstalled``: forget the workspace's tokens and pause its schedules."""
    team_id = body.get("team_id")
    if not isinstance(team_id, str):
        return
    if deps.installations is not None:
        TokenRevocationListeners(deps.installations.store).handle_app_uninstalled_events(context)
    _stop_workspace(deps, team_id, why="leadloop was uninstalled")


def handle_tokens_revoked(
    body: dict[str, Any], event: dict[str, Any], context: BoltContext, deps: Deps
) -> None:
    """``tokens_revoked``: forget those tokens; without its bot token, a workspace is gone too."""
    team_id = body.get("team_id")
    if not isinstance(team_id, str):
        return
    if deps.installations is not None:
        TokenRevocationListeners(deps.installations.store).handle_tokens_revoked_events(
            event, context
        )
    tokens = event.get("tokens")
    if isinstance(tokens, dict) and tokens.get("bot"):
        _stop_workspace(deps, team_id, why="its bot token was revoked")


def _stop_workspace(deps: Deps, team_id: str, *, why: str) -> None:
    with deps.session_factory() as session:
        changed = mark_uninstalled(session, team_id=team_id, now=deps.clock())
        session.commit()
    if changed:
        logger.warning(
            "workspace %s: %s; its reminders and reports stop until it is installed again",
            team_id,
            why,
        )
