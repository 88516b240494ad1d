"""Dispute on a rating post: opens the form for the reason (nothing is stored yet)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from domain.ratings.verdicts import VerdictOutcome
from handlers.deps import Deps
from handlers.payload import tell_clicker, text_at
from handlers.verdicts.reading import REFUSALS, check_before_storing, read_click
from handlers.views.ratings import dispute_modal


def handle_dispute_click(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Open the dispute form for marketing; anyone else is told privately why not."""
    ack()
    request = read_click(body)
    # A quick read before views.open: its trigger_id expires 3 s after the click.
    checked = check_before_storing(deps, request)
    refusal = REFUSALS.get(checked.outcome)
    if refusal is not None or checked.lead is None or request.post is None:
        tell_clicker(respond, body, refusal or REFUSALS[VerdictOutcome.NOT_FOUND])
        return
    view = dispute_modal(
        rating_id=request.rating_id or -1,
        channel=request.post.channel,
        message_ts=request.post.ts,
        lead_ref=checked.lead.external_ref,
    )
    trigger_id = text_at(body, "trigger_id")
    if trigger_id:
        client.views_open(trigger_id=trigger_id, view=view)
