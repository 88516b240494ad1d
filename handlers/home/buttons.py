"""The home tab's buttons: rate a lead, this week's KPIs, the meeting schedule."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from handlers.deps import Deps
from handlers.kpi.command import show_kpis_text
from handlers.meetings.command import meeting_list_for
from handlers.payload import team_of, text_at
from handlers.views.ratings import rating_modal, truncate


def handle_home_rate_lead(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """Open the rating form (trigger IDs expire in 3 s, so before anything else)."""
    ack()
    _open(client, body, rating_modal(origin_channel=None))


def handle_home_report(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Show this week's KPI table in a modal."""
    ack()
    text = show_kpis_text(deps, team_id=team_of(body), week=None)
    _open(client, body, _text_modal("KPIs", text))


def handle_home_meetings(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Show the workspace's meetings in a modal."""
    ack()
    text = meeting_list_for(deps, team_id=team_of(body))
    _open(client, body, _text_modal("Meetings", text))


def _open(client: WebClient, body: dict[str, Any], view: View) -> None:
    """Open a modal for the click; a payload without a trigger ID has nothing to open."""
    trigger_id = text_at(body, "trigger_id")
    if trigger_id:
        client.views_open(trigger_id=trigger_id, view=view)


def _text_modal(title: str, text: str) -> View:
    return View(
        type="modal",
        title=title,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text)))],
    )
