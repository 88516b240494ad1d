"""What a click on a hand-off message's button tells us, read defensively."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from handlers.payload import first_action, team_of, text_at


@dataclass(frozen=True)
class Click:
    """Who clicked, where, in which workspace, and the button's value (unchecked)."""

    team_id: str
    user_id: str
    channel_id: str | None
    value: object


def read_click(body: dict[str, Any]) -> Click:
    """The parts of a ``block_actions`` payload the hand-off buttons use."""
    channel_id = text_at(body, "channel", "id") or text_at(body, "container", "channel_id")
    return Click(
        team_id=team_of(body),
        user_id=text_at(body, "user", "id"),
        channel_id=channel_id or None,
        value=first_action(body).get("value"),
    )
