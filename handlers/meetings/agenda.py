"""The "Add agenda item" button and its form."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from handlers import ids
from handlers.deps import Deps
from handlers.payload import first_action, parse_id, team_of, text_at
from handlers.views.meetings import MAX_AGENDA_ITEM_LENGTH, agenda_item_modal
from storage import meetings as store

logger = logging.getLogger(__name__)


def handle_add_agenda_click(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Open the agenda form for the reminder's meeting (this workspace's only)."""
    ack()
    meeting_id = parse_id(first_action(body).get("value"))
    trigger_id = text_at(body, "trigger_id")
    meeting = None
    if meeting_id is not None and trigger_id:
        with deps.session_factory() as session:
            meeting = store.get_meeting(session, team_id=team_of(body), meeting_id=meeting_id)
    if meeting is None:
        _tell(client, body, "That meeting no longer exists, so it has no agenda to add to.")
        return
    view = agenda_item_modal(meeting_id=meeting.id or -1, title=meeting.title)
    client.views_open(trigger_id=trigger_id, view=view)


def handle_agenda_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], deps: Deps
) -> None:
    """Store the topic for the meeting's next reminder, or show what is wrong."""
    text = text_at(view, "state", "values", ids.AGENDA_BLOCK, ids.AGENDA_INPUT, "value").strip()
    problem = agenda_problem(text)
    if problem:
        ack(response_action="errors", errors={ids.AGENDA_BLOCK: problem})
        return
    team_id = team_of(body)
    meeting_id = parse_id(text_at(view, "private_metadata"))
    user_id = text_at(body, "user", "id")
    with deps.session_factory() as session:
        meeting = None
        if meeting_id is not None and user_id:
            meeting = store.get_meeting(session, team_id=team_id, meeting_id=meeting_id)
        if meeting is None:
            ack(response_action="errors", errors={ids.AGENDA_BLOCK: "This meeting is gone."})
            return
        store.add_agenda_item(
            session,
            team_id=team_id,
            meeting_id=meeting.id or -1,
            text=text,
            added_by=user_id,
            now=deps.clock(),
        )
        session.commit()
    ack()


def agenda_problem(text: str) -> str | None:
    """What is wrong with an agenda item, if anything."""
    if not text:
        return "Write the topic you want to discuss."
    if len(text) > MAX_AGENDA_ITEM_LENGTH:
        return f"Keep it under {MAX_AGENDA_ITEM_LENGTH} characters."
    if any(not ch.isprintable() and ch not in "\n\t" for ch in text):
        return "The topic contains control characters. Type it again as plain text."
    return None


def _tell(client: WebClient, body: dict[str, Any], text: str) -> None:
    channel = text_at(body, "channel", "id")
    user = text_at(body, "user", "id")
    if not channel or not user:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackClientError:
        logger.info("could not tell %s that the meeting is gone", user)
