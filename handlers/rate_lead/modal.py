"""Submitting the rating form."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack
from sqlalchemy.exc import SQLAlchemyError

from domain.parsing import UsageError
from domain.ratings.parse import rating_field_problems, validate_rating
from handlers import ids
from handlers.deps import Deps
from handlers.payload import object_at, team_of, text_at
from handlers.rate_lead.storing import store_before_ack
from handlers.views.ratings import rated_view

logger = logging.getLogger(__name__)

# Shown on the form's lead field when the rating could not be stored; the form stays open.
NOT_SAVED = (
    "Not saved: leadloop could not reach its database. Your answers are still here; "
    "please try again in a minute."
)

FIELD_BLOCKS = {
    "lead": ids.LEAD_BLOCK,
    "score": ids.SCORE_BLOCK,
    "tags": ids.TAGS_BLOCK,
    "reason": ids.REASON_BLOCK,
}


def read_form(view: dict[str, Any]) -> dict[str, Any]:
    """The form's values, tolerating missing or malformed parts of the payload."""
    values = object_at(view, "state", "values")
    tag_options = object_at(values, ids.TAGS_BLOCK, ids.TAGS_INPUT).get("selected_options")
    return {
        "lead_ref": text_at(values, ids.LEAD_BLOCK, ids.LEAD_INPUT, "value"),
        "score_text": text_at(values, ids.SCORE_BLOCK, ids.SCORE_INPUT, "selected_option", "value"),
        "reason": text_at(values, ids.REASON_BLOCK, ids.REASON_INPUT, "value"),
        "tags": tuple(
            str(option.get("value"))
            for option in (tag_options if isinstance(tag_options, list) else [])
            if isinstance(option, dict)
        ),
    }


def origin_channel_of(view: dict[str, Any]) -> str | None:
    """The channel the form was opened from, kept in the view's private metadata."""
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    except (ValueError, AttributeError):
        return None
    return channel if isinstance(channel, str) and channel else None


def handle_rating_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    """Show field errors in the form, or store the rating and say so in the form.

    The rating and the post it owes are committed before the ack, whose answer replaces the
    form with its confirmation (Slack sends an answered form never again). The post goes to
    the feedback channel from the outbox, after the ack.
    """
    form = read_form(view)
    problems = rating_field_problems(**form)
    if problems:
        ack(
            response_action="errors",
            errors={FIELD_BLOCKS[field]: text for field, text in problems.items()},
        )
        return
    rating = validate_rating(**form)
    if isinstance(rating, UsageError):  # cannot happen: the problems were checked above
        ack(response_action="errors", errors={ids.LEAD_BLOCK: rating.problem})
        return
    user_id = text_at(body, "user", "id")
    team_id = team_of(body) or text_at(view, "team_id")
    if not user_id or not team_id:  # answered in the form: a second ack() never arrives
        ack(response_action="errors", errors={ids.LEAD_BLOCK: "Slack sent an incomplete form."})
        return
    try:
        stored = store_before_ack(
            deps,
            team_id=team_id,
            rater_id=user_id,
            rating=rating,
            via="modal",
            origin_channel=origin_channel_of(view),
        )
    except SQLAlchemyError:
        # Nothing was written (one transaction); the form stays open with what was typed.
        logger.exception("could not store a rating from the rating form")
        ack(response_action="errors", errors={ids.LEAD_BLOCK: NOT_SAVED})
        return
    # The commit woke the delivery process, which posts the rating for marketing.
    ack(response_action="update", view=rated_view(stored))
