"""The "Snooze 10 min" button on a meeting reminder."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from domain.meetings.reminders import snooze_reminder
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.payload import first_action, parse_id, team_of, tell_clicker
from handlers.views.meetings import slack_date

logger = logging.getLogger(__name__)


def handle_snooze(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Post the reminder again in ten minutes (once per reminder).

    The snooze is stored before the click is acknowledged: Slack never sends an answered
    click again. Only telling the clicker comes after.
    """
    try:
        text = snooze(deps, body)
    except SQLAlchemyError:
        logger.exception("could not store a snooze")
        text = DATABASE_DOWN
    ack()

    def tell() -> None:
        tell_clicker(respond, body, text)

    deps.after_ack(tell, body=body, client=client)


def snooze(deps: Deps, body: dict[str, Any]) -> str:
    """Snooze the reminder the button belongs to; the text tells the clicker what happened."""
    team_id = team_of(body)
    post_id = parse_id(first_action(body).get("value"))
    if post_id is None:
        return "That button is not one of leadloop's reminders; nothing was snoozed."
    with deps.session_before_ack() as session:
        result = snooze_reminder(session, team_id=team_id, post_id=post_id, now=deps.clock())
        session.commit()
    if result is None:
        return "I can't find that reminder in this workspace; nothing was snoozed."
    if result.due_at is None:
        return "This reminder is already snoozed; it will come back shortly."
    return f"Snoozed: I'll post this reminder again {slack_date(result.due_at, '{time}')}."
