"""Agree and Acknowledge on a rating post: stored at the click."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from domain.ratings.verdicts import ACKNOWLEDGE, AGREE, VerdictOutcome, VerdictResult
from handlers import ids
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.payload import first_action, tell_clicker
from handlers.verdicts.reading import (
    REFUSALS,
    read_click,
    store_verdict,
)
from handlers.views.ratings import verdict_already_given, verdict_stored

logger = logging.getLogger(__name__)

VERDICT_OF_ACTION = {ids.VERDICT_AGREE: AGREE, ids.VERDICT_ACKNOWLEDGE: ACKNOWLEDGE}


def handle_verdict_click(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Store the marketer's verdict and the post update it owes, then acknowledge.

    Slack never sends a click again once it has its answer, so the verdict is committed
    first; the post's update goes from the outbox. Only the private note to the clicker
    goes after the ack (a click's ack cannot carry text).
    """
    request = read_click(body)
    verdict = VERDICT_OF_ACTION[str(first_action(body).get("action_id"))]
    try:
        result = store_verdict(deps, request, verdict=verdict)
    except SQLAlchemyError:
        logger.exception("could not store a verdict click")
        ack()
        tell_clicker(respond, body, DATABASE_DOWN)
        return
    ack()

    def tell() -> None:
        tell_clicker(respond, body, _reply(result, verdict))

    deps.after_ack(tell, body=body, client=client)


def _reply(result: VerdictResult, verdict: str) -> str:
    refusal = REFUSALS.get(result.outcome)
    if refusal is not None or result.lead is None:
        return refusal or REFUSALS[VerdictOutcome.NOT_FOUND]
    if result.outcome is VerdictOutcome.ALREADY_GIVEN:
        return verdict_already_given(verdict, result.lead.external_ref)
    return verdict_stored(verdict, result.lead.external_ref)
