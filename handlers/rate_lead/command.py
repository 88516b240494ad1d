"""The ``/rate-lead`` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from domain.parsing import UsageError
from domain.ratings.loop import save_and_post_rating
from domain.ratings.parse import USAGE, Intent, parse_rate_lead
from handlers.deps import Deps
from handlers.views.ratings import rating_modal, saved_rating_confirmation


def handle_rate_lead(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
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
    ack()
    rating = parsed

    def save_and_confirm() -> None:
        saved = save_and_post_rating(
            deps.session_factory,
            team_id=command["team_id"],
            rater_id=command["user_id"],
            rating=rating,
            via="command",
            origin_channel=command.get("channel_id"),
            now=deps.clock(),
            feedback_channel_in=lambda session: (
                deps.settings_in(session, team_id=command["team_id"]).feedback_channel
            ),
            deliver=deps.deliverer.deliver,
        )
        respond(response_type="ephemeral", text=saved_rating_confirmation(saved))

    deps.after_ack(save_and_confirm, body=command, client=client)
