"""Submitting the dispute form: the reason is stored with the dispute."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from sqlalchemy.exc import SQLAlchemyError

from domain.ratings.parse import normalise_newlines
from domain.ratings.verdicts import (
    DISPUTE,
    VerdictOutcome,
    dispute_reason_problem,
)
from handlers import ids
from handlers.deps import Deps
from handlers.payload import object_at, text_at
from handlers.verdicts.reading import (
    REFUSALS,
    read_dispute_form,
    store_verdict,
)
from handlers.views.ratings import disputed_view, notice_view, verdict_already_given

logger = logging.getLogger(__name__)

# Shown on the reason when the dispute could not be stored; the form stays open.
NOT_SAVED = (
    "Not saved: leadloop could not reach its database. Your reason is still here; "
    "please try again in a minute."
)


def handle_dispute_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    """Show a missing or unusable reason in the form, or store the dispute and say so.

    The dispute, the post's update and the rater's DM are committed before the ack, whose
    answer replaces the form (Slack sends an answered form never again).
    """
    values = object_at(view, "state", "values")
    reason = text_at(values, ids.DISPUTE_REASON_BLOCK, ids.DISPUTE_REASON_INPUT, "value")
    problem = dispute_reason_problem(reason)
    if problem is not None:
        ack(response_action="errors", errors={ids.DISPUTE_REASON_BLOCK: problem})
        return
    request = read_dispute_form(body, view)
    try:
        result = store_verdict(
            deps, request, verdict=DISPUTE, reason=normalise_newlines(reason).strip()
        )
    except SQLAlchemyError:
        logger.exception("could not store a dispute")
        ack(response_action="errors", errors={ids.DISPUTE_REASON_BLOCK: NOT_SAVED})
        return
    refusal = REFUSALS.get(result.outcome)
    if refusal is not None or result.lead is None:
        refused = refusal or REFUSALS[VerdictOutcome.NOT_FOUND]
        ack(response_action="update", view=notice_view("Not disputed", refused))
        return
    lead_ref = result.lead.external_ref
    if result.outcome is VerdictOutcome.ALREADY_GIVEN:
        done = verdict_already_given(DISPUTE, lead_ref)
        ack(response_action="update", view=notice_view("Disputed", done))
        return
    ack(response_action="update", view=disputed_view(lead_ref))
