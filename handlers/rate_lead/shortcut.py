"""The "Rate this lead" message shortcut: the rating form, opened from any message.

A rep sees a CRM notification, a hand-off or a colleague's note about a lead and rates it
from the message's menu. When the message names a lead the workspace knows, the form opens
with it filled in; otherwise it opens empty, as ``/rate-lead`` alone does.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from domain.ratings.mentions import candidate_refs, first_known
from handlers.deps import Deps
from handlers.payload import team_of, text_at
from handlers.views.ratings import rating_modal
from storage.engine import only_reading
from storage.ratings import known_lead_refs

logger = logging.getLogger(__name__)


def handle_rate_from_message(
    ack: Ack, shortcut: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Open the rating form, with the lead the message names when it is a known one."""
    ack()
    trigger_id = text_at(shortcut, "trigger_id")
    if not trigger_id:
        return
    message = shortcut.get("message")
    lead_ref = named_lead(deps, team_id=team_of(shortcut), message=message)
    view = rating_modal(
        origin_channel=text_at(shortcut, "channel", "id") or None, lead_ref=lead_ref
    )
    client.views_open(trigger_id=trigger_id, view=view)


def named_lead(deps: Deps, *, team_id: str, message: Any) -> str:
    """The first known lead the message names, or "" (the form then opens empty)."""
    candidates = candidate_refs(message) if isinstance(message, dict) else []
    if not candidates or not team_id:
        return ""
    try:
        with deps.session_factory() as session:
            only_reading(session)
            known = known_lead_refs(session, team_id=team_id, refs=candidates)
    except SQLAlchemyError as error:  # the form still opens, for the rep to fill in
        logger.warning("could not look up the leads a message names (%s)", type(error).__name__)
        return ""
    return first_known(candidates, known) or ""
