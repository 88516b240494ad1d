"""What commands need to ask Slack: the user's time zone, a channel's ID by name."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from domain.parsing import ChannelRef

logger = logging.getLogger(__name__)


def user_timezone(client: WebClient, user_id: str, *, default: str) -> str:
    """The user's Slack time zone (users.info ``tz``), or ``default`` if Slack can't say."""
    try:
        tz = (client.users_info(user=user_id).get("user") or {}).get("tz")
    except (SlackClientError, OSError):
        logger.info("could not read %s's time zone; using %s", user_id, default)
        return default
    if not isinstance(tz, str):
        return default
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return default
    return tz


def resolve_channel(channel: ChannelRef, *, client: WebClient) -> str | None:
    """The ID of a channel as typed (``/meeting add``, ``/leadloop settings``), or None.

    Slack's escaped mention carries the ID; a plain ``#name`` is looked up among the public
    channels, and one Slack cannot tell us about counts as not found.
    """
    if channel.channel_id:
        return channel.channel_id
    try:
        return channel_id_by_name(client, channel.name or "")
    except (SlackClientError, OSError):
        return None


def channel_id_by_name(client: WebClient, name: str) -> str | None:
    """The ID of the public channel called ``name``, or None if there is none."""
    cursor = None
    for _ in range(50):  # 50 pages of 1,000 channels
        page = client.conversations_list(
            types="public_channel", exclude_archived=True, limit=1000, cursor=cursor
        )
        for channel in page.get("channels") or []:
            if channel.get("name") == name:
                return str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None
