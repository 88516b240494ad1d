"""The ``/rate-lead`` slash command."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from domain.parsing import UsageError
from domain.ratings.parse import USAGE, Intent, parse_rate_lead
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.rate_lead.storing import store_before_ack
from handlers.views.ratings import rating_modal, stored_rating_confirmation

logger = logging.getLogger(__name__)


def handle_rate_lead(ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Rate a lead from the command line, show help, or open the rating form."""
    parsed = parse_rate_lead(command.get("text") or "")
    if parsed is Intent.OPEN_MODAL:
        ack()
        view = rating_modal(origin_channel=command.get("channel_id"))
        client.views_open(trigger_id=command["trigger_id"], view=view)
        return
    if parsed is Intent.HELP:
        ack(response_type="ephemeral", text=USAGE)
        return
    if isinstance(parsed, UsageError):
        ack(response_type="ephemeral", text=parsed.message)
        return
    team_id, user_id = command.get("team_id"), command.get("user_id")
    if not team_id or not user_id:  # answered in the ack: a failure before it would be a 5xx
        ack(response_type="ephemeral", text="Slack sent an incomplete command; nothing was saved.")
        return
    try:
        stored = store_before_ack(
            deps,
            team_id=team_id,
            rater_id=user_id,
            rating=parsed,
            via="command",
            origin_channel=command.get("channel_id"),
        )
    except SQLAlchemyError:
        # One transaction: nothing of the rating was written. The ack says so, so the rep
        # tries again, and Slack gets its answer in time.
        logger.exception("could not store a /rate-lead rating")
        ack(response_type="ephemeral", text=DATABASE_DOWN)
        return
    # The commit woke the delivery process, which posts the rating for marketing.
    ack(response_type="ephemeral", text=stored_rating_confirmation(stored))
