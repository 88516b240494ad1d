"""Builders for the requests Slack sends us, signed as Slack signs them."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from domain.leads.webhook_body import sign_webhook

SIGNING_SECRET = "test-signing-secret-0123456789"
TEAM_ID = "T0TEST"
OTHER_TEAM_ID = "T0OTHER"
RATER_ID = "URATER"
MARKETER_ID = "UMARKETER"
FEEDBACK_CHANNEL = "CFEEDBACK"
SALES_CHANNEL = "CSALES"


def signed_headers(
    body: str,
    *,
    content_type: str,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers Slack adds: content type, request timestamp and v0 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def form_body(fields: dict[str, Any]) -> str:
    """An application/x-www-form-urlencoded body."""
    return urlencode(fields)


def slash_command(
    text: str,
    *,
    response_url: str,
    command: str = "/rate-lead",
    team_id: str = TEAM_ID,
    user_id: str = RATER_ID,
    channel_id: str = SALES_CHANNEL,
    trigger_id: str = "trigger-1",
) -> dict[str, Any]:
    """The form fields of a slash command invocation."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "test",
        "channel_id": channel_id,
        "channel_name": "sales",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0LEADLOOP",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def interactive_body(payload: dict[str, Any]) -> str:
    """Interactivity requests carry their JSON in a ``payload`` form field."""
    return urlencode({"payload": json.dumps(payload)})


def view_submission(
    *,
    lead: str | None = "ACME-1042",
    score: str | None = "2",
    tags: list[str] | None = None,
    reason: str | None = "no budget this year",
    team_id: str = TEAM_ID,
    user_id: str = RATER_ID,
    origin_channel: str | None = SALES_CHANNEL,
) -> dict[str, Any]:
    """A ``view_submission`` of the rating form with the given field values."""
    values: dict[str, Any] = {
        "lead": {"lead_input": {"type": "plain_text_input", "value": lead}},
        "score": {
            "score_input": {
                "type": "static_select",
                "selected_option": {"value": score} if score is not None else None,
            }
        },
        "tags": {
            "tags_input": {
                "type": "checkboxes",
                "selected_options": [{"value": tag} for tag in tags or []],
            }
        },
        "reason": {"reason_input": {"type": "plain_text_input", "value": reason}},
    }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0LEADLOOP",
        "trigger_id": "trigger-2",
        "view": {
            "id": "V0001",
            "team_id": team_id,
            "type": "modal",
            "callback_id": "rate_lead_modal",
            "private_metadata": json.dumps({"channel": origin_channel}),
            "state": {"values": values},
        },
    }


def event_callback(
    event: dict[str, Any], *, event_id: str, team_id: str = TEAM_ID
) -> dict[str, Any]:
    """An Events API envelope around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": "A0LEADLOOP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000000,
        "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True}],
    }


def thread_reply(
    *,
    thread_ts: str,
    ts: str,
    text: str = "These came from the webinar list; we'll tighten the filter.",
    user: str = MARKETER_ID,
    channel: str = FEEDBACK_CHANNEL,
    team_id: str = TEAM_ID,
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event for a reply in a thread."""
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "team": team_id,
        "channel_type": "channel",
        **extra,
    }


def message_shortcut(
    message: dict[str, Any],
    *,
    team_id: str = TEAM_ID,
    user_id: str = RATER_ID,
    channel_id: str = "CCRM",
    trigger_id: str = "trigger-shortcut",
) -> dict[str, Any]:
    """A ``message_action`` payload: "Rate this lead" chosen from ``message``'s menu."""
    return {
        "type": "message_action",
        "callback_id": "rate_lead_from_message",
        "trigger_id": trigger_id,
        "action_ts": "1700000000.000200",
        "message_ts": str(message.get("ts", "1700000000.000100")),
        "response_url": "",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "name": "rep", "team_id": team_id},
        "channel": {"id": channel_id, "name": "crm-alerts"},
        "message": {"type": "message", "ts": "1700000000.000100", **message},
        "token": "deprecated",
    }


def block_action(
    *,
    action_id: str,
    value: str,
    team_id: str = TEAM_ID,
    user_id: str = RATER_ID,
    channel_id: str = "CMEETINGS",
    response_url: str = "",
    trigger_id: str = "trigger-3",
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button click on a message."""
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0LEADLOOP",
        "trigger_id": trigger_id,
        "channel": {"id": channel_id, "name": "meetings"},
        "container": {"type": "message", "channel_id": channel_id, "message_ts": "1700.1"},
        "message": {"type": "message", "ts": "1700.1", "text": "reminder"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "action_ts": "1700000000.1",
            }
        ],
    }


def agenda_submission(
    *, meeting_id: str, text: str | None, team_id: str = TEAM_ID, user_id: str = RATER_ID
) -> dict[str, Any]:
    """A ``view_submission`` of the agenda item form."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0LEADLOOP",
        "view": {
            "id": "V0002",
            "team_id": team_id,
            "type": "modal",
            "callback_id": "meeting_agenda_modal",
            "private_metadata": meeting_id,
            "state": {
                "values": {
                    "agenda_item": {
                        "agenda_item_input": {"type": "plain_text_input", "value": text}
                    }
                }
            },
        },
    }


OWNER_ID = "UOWNER"
HANDOFF_CHANNEL = "CHANDOFF"
LEAD_WEBHOOK_SECRET = "test-lead-webhook-secret-0123456789"


def handoff_click(
    *,
    action_id: str,
    value: str,
    response_url: str,
    team_id: str = TEAM_ID,
    user_id: str = RATER_ID,
    channel_id: str = HANDOFF_CHANNEL,
    message_ts: str = "1700000000.000100",
    trigger_id: str = "trigger-handoff",
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a hand-off message's button."""
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0LEADLOOP",
        "trigger_id": trigger_id,
        "channel": {"id": channel_id, "name": "handoffs"},
        "container": {"type": "message", "channel_id": channel_id, "message_ts": message_ts},
        "message": {"type": "message", "ts": message_ts, "text": "New lead"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "handoff_actions",
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }


def lead_webhook_headers(
    body: bytes, *, secret: str = LEAD_WEBHOOK_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """The headers a CRM workflow sends with a lead: JSON, a timestamp and its signature."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "X-Leadloop-Timestamp": str(stamp),
        "X-Leadloop-Signature": sign_webhook(body, secret=secret, timestamp=stamp),
    }


def rating_post_click(
    *,
    action_id: str,
    value: str,
    post_ts: str,
    response_url: str,
    user_id: str = MARKETER_ID,
    team_id: str = TEAM_ID,
    channel_id: str = FEEDBACK_CHANNEL,
    trigger_id: str = "trigger-verdict",
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a rating post's verdict button."""
    return {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0LEADLOOP",
        "trigger_id": trigger_id,
        "channel": {"id": channel_id, "name": "lead-feedback"},
        "container": {"type": "message", "channel_id": channel_id, "message_ts": post_ts},
        "message": {"type": "message", "ts": post_ts, "text": "Lead rated"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "verdict_actions",
                "value": value,
                "action_ts": "1700000002.000300",
            }
        ],
    }


def dispute_submission(
    *,
    reason: str | None,
    rating_id: str,
    post_ts: str,
    user_id: str = MARKETER_ID,
    team_id: str = TEAM_ID,
    channel_id: str = FEEDBACK_CHANNEL,
) -> dict[str, Any]:
    """A ``view_submission`` of the dispute form, its metadata naming the rating and post."""
    metadata = {"rating_id": rating_id, "channel": channel_id, "ts": post_ts}
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "test"},
        "user": {"id": user_id, "team_id": team_id},
        "api_app_id": "A0LEADLOOP",
        "view": {
            "id": "V0003",
            "team_id": team_id,
            "type": "modal",
            "callback_id": "verdict_dispute_modal",
            "private_metadata": json.dumps(metadata),
            "state": {
                "values": {
                    "dispute_reason": {
                        "dispute_reason_input": {"type": "plain_text_input", "value": reason}
                    }
                }
            },
        },
    }
