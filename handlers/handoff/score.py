"""A score button (1 to 5) on a hand-off message."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from domain.leads.buttons import ButtonOutcome, ButtonRating, rate_from_button
from domain.ratings.cards import card_for
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.handoff.click import Click, read_click
from handlers.payload import tell_clicker
from handlers.views.handoffs import (
    LEAD_NOT_FOUND,
    NOT_A_RATING_BUTTON,
    parse_score_value,
    score_changed,
    score_kept,
)
from handlers.views.ratings import saved_rating_confirmation

logger = logging.getLogger(__name__)


def handle_handoff_score(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Store the clicker's score of the handed-off lead, then acknowledge; the message shows it.

    Slack never sends a click again once it has its answer, so the rating is committed
    first, with what it owes (the post for marketing, the hand-off updates), which the
    delivery process sends. Only the private note to the clicker goes after the ack: a
    click's ack cannot carry text.
    """
    click = read_click(body)
    try:
        stored = store(deps, click)
    except SQLAlchemyError:
        logger.exception("could not store a hand-off score click")
        ack()
        tell_clicker(respond, body, DATABASE_DOWN)
        return
    ack()

    def tell() -> None:
        tell_clicker(respond, body, reply_to(stored))

    deps.after_ack(tell, body=body, client=client)


@dataclass(frozen=True)
class StoredClick:
    """What a click stored, or the refusal to show when it stored nothing."""

    result: ButtonRating | None
    feedback_channel: str | None
    refusal: str | None = None


def store(deps: Deps, click: Click) -> StoredClick:
    """Store the click's rating and the messages it owes, in one transaction."""
    score = parse_score_value(click.value)
    if score is None or not click.user_id:
        return StoredClick(None, None, refusal=NOT_A_RATING_BUTTON)
    with deps.session_before_ack() as session:
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
        return StoredClick(None, None, refusal=LEAD_NOT_FOUND)
    return StoredClick(result, feedback_channel)


def reply_to(stored: StoredClick) -> str:
    """The private note for the clicker: what their click stored, or why nothing."""
    result = stored.result
    if result is None:
        return stored.refusal or NOT_A_RATING_BUTTON
    return _reply(result, feedback_channel=stored.feedback_channel)


def _reply(result: ButtonRating, *, feedback_channel: str | None) -> str:
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
    return saved_rating_confirmation(card, feedback_channel=feedback_channel)
