"""Reading Slack payloads defensively: a missing or oddly typed field is never a crash.

Slack's payloads are trusted only after signature verification, and even then a field can
be missing (an old client) or hostile (a tampered button value); listeners read through
these helpers so a bad field turns into a friendly answer, not a traceback.
"""

from __future__ import annotations

from typing import Any

MAX_ID_DIGITS = 10
MAX_ROW_ID = 2**31 - 1  # ids are 32-bit INTEGER columns in PostgreSQL


def text_at(payload: Any, *path: str) -> str:
    """The string at ``path`` through nested dicts, or "" if any step is missing or not a dict."""
    current = payload
    for key in path:
        if not isinstance(current, dict):
            return ""
        current = current.get(key)
    if isinstance(current, str):
        return current
    if isinstance(current, int) and not isinstance(current, bool):
        return str(current)
    return ""


def object_at(payload: Any, *path: str) -> dict[str, Any]:
    """The object at ``path`` through nested dicts, or {} if any step is missing or not a dict."""
    current = payload
    for key in path:
        current = current.get(key) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def first_action(body: Any) -> dict[str, Any]:
    """The clicked action of a ``block_actions`` payload, or {}."""
    actions = body.get("actions") if isinstance(body, dict) else None
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return actions[0]
    return {}


def team_of(body: Any) -> str:
    """The workspace of an interaction, wherever this payload type keeps it."""
    return (
        text_at(body, "team", "id") or text_at(body, "user", "team_id") or text_at(body, "team_id")
    )


def parse_id(value: Any) -> int | None:
    """A row id from a button value or private metadata: ASCII digits only, bounded."""
    text = value if isinstance(value, str) else ""
    text = text.strip().lstrip("#")
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


def tell_clicker(respond: Any, body: Any, text: str) -> None:
    """An ephemeral note to whoever clicked, when the payload says where (a response URL)."""
    if text_at(body, "response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
