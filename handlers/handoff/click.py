"""What a click on a hand-off message's button tells us, read defensively."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Click:
    """Who clicked, where, in which workspace, and the button's value (unchecked)."""

    team_id: str
    user_id: str
    channel_id: str | None
    value: object


def read_click(body: dict[str, Any]) -> Click:
    """The parts of a ``block_actions`` payload the hand-off buttons use."""
    user = body.get("user") or {}
    team_id = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    actions = body.get("actions") or [{}]
    action = actions[0] if isinstance(actions[0], dict) else {}
    return Click(
        team_id=str(team_id),
        user_id=str(user.get("id") or ""),
        channel_id=str(channel_id) if channel_id else None,
        value=action.get("value"),
    )
