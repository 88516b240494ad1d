"""The "Rate with reason" button on a hand-off message: the rating form, prefilled."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handlers.deps import Deps
from handlers.handoff.click import read_click
from handlers.payload import tell_clicker, text_at
from handlers.views.handoffs import LEAD_NOT_FOUND, NOT_A_RATING_BUTTON, parse_lead_value
from handlers.views.ratings import rating_modal
from storage.ratings import get_lead


def handle_handoff_reason(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Open the rating form with the lead filled in (this workspace's leads only)."""
    ack()
    click = read_click(body)
    lead_id = parse_lead_value(click.value)
    if lead_id is None:
        tell_clicker(respond, body, NOT_A_RATING_BUTTON)
        return
    # A quick lookup before views.open: its trigger_id expires 3 s after the click.
    with deps.session_factory() as session:
        lead = get_lead(session, team_id=click.team_id, lead_id=lead_id)
    if lead is None:
        tell_clicker(respond, body, LEAD_NOT_FOUND)
        return
    view = rating_modal(origin_channel=click.channel_id, lead_ref=lead.external_ref)
    trigger_id = text_at(body, "trigger_id")
    if trigger_id:
        client.views_open(trigger_id=trigger_id, view=view)
