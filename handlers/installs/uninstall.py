"""Forgetting a workspace's tokens when it uninstalls leadloop, and pausing its schedules.

Its data stays: ratings, answers, meetings and settings come back as they were if the
workspace installs leadloop again (``leadloop export`` still reads them meanwhile).

Slack does not send an event again once it got a 200 for it, and Bolt sends that 200 before
a listener runs (events are acknowledged as soon as the listener is handed to Bolt's pool).
So the work is done by listener middleware, which Bolt runs in ``App.dispatch`` before the
listener runner: the tokens are forgotten and the workspace marked uninstalled before the
200. When the database refuses, the answer is a 500 and Slack sends the event again (in
Socket Mode, Bolt then sends no acknowledgement, which Slack also retries). Each step is
safe to repeat, so a retry changes nothing that was already done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_bolt.listener.builtins import TokenRevocationListeners
from sqlalchemy.exc import SQLAlchemyError

from handlers.deps import Deps
from storage.workspaces import mark_uninstalled

logger = logging.getLogger(__name__)


def forget_uninstalled_workspace(
    body: dict[str, Any], context: BoltContext, deps: Deps, next_: Callable[[], None]
) -> BoltResponse | None:
    """Listener middleware of ``app_uninstalled``: forget the tokens, pause the schedules."""
    team_id = body.get("team_id")
    if not isinstance(team_id, str) or not team_id:
        next_()
        return None

    def forget() -> None:
        if deps.installations is not None:
            revoked = TokenRevocationListeners(deps.installations.store)
            revoked.handle_app_uninstalled_events(context)
        _stop_workspace(deps, team_id, why="leadloop was uninstalled")

    return _before_the_200(forget, body=body, next_=next_)


def forget_revoked_tokens(
    body: dict[str, Any],
    event: dict[str, Any],
    context: BoltContext,
    deps: Deps,
    next_: Callable[[], None],
) -> BoltResponse | None:
    """Listener middleware of ``tokens_revoked``: forget those tokens; without its bot token,
    a workspace is stopped as if uninstalled."""
    team_id = body.get("team_id")
    if not isinstance(team_id, str) or not team_id:
        next_()
        return None

    def forget() -> None:
        if deps.installations is not None:
            revoked = TokenRevocationListeners(deps.installations.store)
            revoked.handle_tokens_revoked_events(event, context)
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            _stop_workspace(deps, team_id, why="its bot token was revoked")

    return _before_the_200(forget, body=body, next_=next_)


def handle_access_lost() -> None:
    """Both events' listener: after the 200 nothing is left to do, their middleware did it."""


def _before_the_200(
    work: Callable[[], None], *, body: dict[str, Any], next_: Callable[[], None]
) -> BoltResponse | None:
    """Do ``work`` and go on to the listener (whose ack is the 200), or answer 500 so that
    Slack sends the event again."""
    try:
        work()
    except SQLAlchemyError:
        logger.exception(
            "could not store event %s; answering 500 so that Slack sends it again",
            body.get("event_id"),
        )
        return BoltResponse(status=500, body="")
    next_()
    return None


def _stop_workspace(deps: Deps, team_id: str, *, why: str) -> None:
    with deps.session_before_ack() as session:
        changed = mark_uninstalled(session, team_id=team_id, now=deps.clock())
        session.commit()
    if changed:
        logger.warning(
            "workspace %s: %s; its reminders and reports stop until it is installed again",
            team_id,
            why,
        )
