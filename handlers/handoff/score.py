"""A score button (1 to 5) on a hand-off message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from domain.leads.buttons import ButtonOutcome, ButtonRating, rate_from_button
from domain.ratings.cards import card_for
from handlers.deps import Deps
from handlers.handoff.click import Click, read_click
from handlers.views.handoffs import (
    LEAD_NOT_FOUND,
    NOT_A_RATING_BUTTON,
    parse_score_value,
    score_changed,
    score_kept,
)
from handlers.views.ratings import confirmation_text


def handle_handoff_score(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Record the clicker's score of the handed-off lead; the message shows it."""
    ack()
    click = read_click(body)

    def rate_and_tell() -> None:
        text = rate(deps, click)
        respond(text=text, response_type="ephemeral", replace_original=False)

    deps.after_ack(rate_and_tell, body=body, client=client)


def rate(deps: Deps, click: Click) -> str:
    """Store the click's rating, deliver what it owes at once; the text for the clicker."""
    score = parse_score_value(click.value)
    if score is None or not click.user_id:
        return NOT_A_RATING_BUTTON
    with deps.session_factory() as session:
        result = rate_from_button(
            session,
            team_id=click.team_id,
            rater_id=click.user_id,
            click=score,
            origin_channel=click.channel_id,
            now=deps.clock(),
        )
        feedback_channel = deps.settings_in(session, team_id=click.team_id).feedback_channel
        session.commit()
    if result is None:
        return LEAD_NOT_FOUND
    delivered = {
        message_id: deps.deliverer.deliver(message_id) for message_id in result.message_ids
    }
    posted = delivered.get(result.post_message_id or -1, True)
    return _reply(result, posted=posted, feedback_channel=feedback_channel)


def _reply(result: ButtonRating, *, posted: bool, feedback_channel: str | None) -> str:
    lead_ref = result.lead.external_ref
    if result.outcome is ButtonOutcome.SAME:
        return score_kept(lead_ref=lead_ref, score=result.rating.score)
    if result.outcome is ButtonOutcome.CHANGED:
        return score_changed(
            lead_ref=lead_ref,
            previous=result.previous_score or 0,
            score=result.rating.score,
            feedback_channel=feedback_channel,
        )
    card = card_for(result.rating, result.lead)
    return confirmation_text(card, posted=posted, feedback_channel=feedback_channel)
