"""The Slack calls senders share: post (joining a public channel first if need be), post a
hand-off to a channel or a DM, update a message that may be gone."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

# A hand-off DM to an owner who cannot get one is skipped, not retried forever.
UNREACHABLE_USER = {"channel_not_found", "user_not_found", "user_disabled", "cannot_dm_bot"}
# A message someone deleted (or whose channel is gone) cannot be updated; skip it.
GONE_MESSAGE = {"message_not_found", "cant_update_message", "channel_not_found", "is_archived"}


def post_joining_if_needed(client: WebClient, *, channel: str, **kwargs: Any) -> Any:
    """chat.postMessage; in a public channel the bot was never invited to, join and retry."""
    try:
        return client.chat_postMessage(channel=channel, **kwargs)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
    client.conversations_join(channel=channel)
    return client.chat_postMessage(channel=channel, **kwargs)


def post_handoff_to(client: WebClient, target: str, **kwargs: Any) -> Any:
    """Post to a channel, or DM a user; None when that user cannot get a DM (skipped)."""
    if target.startswith(("C", "G")):
        return post_joining_if_needed(client, channel=target, **kwargs)
    try:
        return client.chat_postMessage(channel=target, **kwargs)
    except SlackApiError as error:
        reason = error.response.get("error")
        if reason not in UNREACHABLE_USER:
            raise
    logger.warning("could not DM the hand-off to %s (%s); skipping them", target, reason)
    return None


def update_message(client: WebClient, *, channel: str, ts: str, **kwargs: Any) -> None:
    """chat.update; a message that is gone is left alone."""
    try:
        client.chat_update(channel=channel, ts=ts, **kwargs)
    except SlackApiError as error:
        if error.response.get("error") not in GONE_MESSAGE:
            raise
        logger.info("message %s in %s is gone; it is not updated", ts, channel)
