"""What a signed Slack request must look like before Bolt reads it.

Bolt reads a payload's routing fields (``type``, ``command``, ``actions[].action_id``,
``view.callback_id``, ``event.type``) and the ids it builds each request's context from
(enterprise, team, user, channel, in the payload, its ``authorizations`` and its event)
without checking their types, and answers 500 (or raises) when one of them is an object
where it expects a string, or a string where it expects a list. Slack never sends such a
payload; leadloop answers it with a 400 before Bolt sees it.

This checks the shape only, never the values: an unknown action or a hostile string is
for the listeners to answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request.internals import parse_body

NoneType = type(None)
TEXT: tuple[type, ...] = (str,)
TEXT_OR_NULL: tuple[type, ...] = (str, NoneType)

# Where the ids are, in the payload and in each part Bolt looks into for them.
CONTEXT_FIELDS: dict[str, tuple[type, ...]] = {
    "type": TEXT,
    "subtype": TEXT_OR_NULL,
    "enterprise_id": TEXT_OR_NULL,
    "team_id": TEXT_OR_NULL,
    "user_id": TEXT_OR_NULL,
    "channel_id": TEXT_OR_NULL,
    "user_team": TEXT_OR_NULL,
    "context_team_id": TEXT_OR_NULL,
    "context_enterprise_id": TEXT_OR_NULL,
    "thread_ts": TEXT_OR_NULL,
    "ts": TEXT_OR_NULL,
    "bot_id": TEXT_OR_NULL,
    "function_execution_id": TEXT_OR_NULL,
    "bot_access_token": TEXT_OR_NULL,
    "is_enterprise_install": (bool, str, NoneType),  # a form says "true" or "false"
    "enterprise": (str, dict, NoneType),
    "team": (str, dict, NoneType),
    "user": (str, dict, NoneType),
    "channel": (str, dict, NoneType),
    "authorizations": (list, NoneType),
    "message": (dict, NoneType),
    "previous_message": (dict, NoneType),
    "item": (dict, NoneType),
    "assistant_thread": (dict, NoneType),
}
# The parts Bolt looks into for ids when the payload itself has none.
NESTED_CONTEXTS = ("message", "previous_message", "item", "assistant_thread")
# The fields of an id object: payload.team, payload.user, payload.channel, …
ID_OBJECT_FIELDS: dict[str, tuple[type, ...]] = {
    "id": TEXT_OR_NULL,
    "team_id": TEXT_OR_NULL,
    "enterprise_id": TEXT_OR_NULL,
}
TOP_FIELDS: dict[str, tuple[type, ...]] = {
    **CONTEXT_FIELDS,
    "event": (dict,),
    "view": (dict,),
    "actions": (list,),
    "command": TEXT,
    "text": TEXT,
    "callback_id": TEXT,
    "response_url": TEXT,
    "response_urls": (list,),
    "trigger_id": TEXT,
    "event_id": TEXT,
    "challenge": TEXT,
    "token": TEXT,
    "function_data": (dict,),
}
VIEW_FIELDS: dict[str, tuple[type, ...]] = {
    "id": TEXT,
    "type": TEXT,
    "callback_id": TEXT,
    "team_id": TEXT_OR_NULL,
    "app_installed_team_id": TEXT_OR_NULL,
    "private_metadata": TEXT,
    "state": (dict,),
}
ACTION_FIELDS: dict[str, tuple[type, ...]] = {
    "action_id": TEXT,
    "block_id": TEXT,
    "type": TEXT,
    "value": TEXT,
}
# What Slack always sends with each kind of request.
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "block_actions": ("actions", "user"),
    "message_action": ("callback_id", "trigger_id", "user"),
    "view_submission": ("view", "user"),
    "view_closed": ("view", "user"),
    "event_callback": ("event", "event_id", "team_id"),
    "url_verification": ("challenge",),
}
COMMAND_REQUIRED = (
    "command",
    "text",
    "team_id",
    "user_id",
    "channel_id",
    "response_url",
    "trigger_id",
)

_KIND_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true or false",
    NoneType: "null",
}


def read_body(text: str, content_type: str) -> dict[str, Any]:
    """The payload of a Slack request's body, as Bolt reads it, with one fix.

    Bolt takes any form body that contains the word "payload" for an interactive payload
    (``parse_body`` in ``slack_bolt/request/internals.py``), so a slash command such as
    ``/rate-lead ACME-1 2 payload too big`` would reach no listener. A form without a
    ``payload`` field is read as the form it is.
    """
    payload = parse_body(text, content_type.split(";")[0] or None)
    if payload == {} and "payload" in text and not text.lstrip().startswith("{"):
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in form:
            return form
    return payload


def request_problem(body: bytes, content_type: str) -> str | None:
    """What is wrong with a Slack request's body, in a few words, or None when Bolt can read it.

    The body is parsed as Bolt parses it, so this checks what Bolt will see.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    try:
        payload = read_body(text, content_type)
    except ValueError:  # json.JSONDecodeError among them
        return "the body is not valid JSON"
    except RecursionError:
        return "the body is nested too deep"
    return payload_problem(payload)


def payload_problem(payload: Any) -> str | None:
    """What is wrong with the shape of a parsed payload, or None."""
    if not isinstance(payload, dict):
        return f"the payload is {_kind(payload)}, not an object"
    problem = _fields_problem(payload, TOP_FIELDS, "payload") or _context_problem(
        payload, "payload"
    )
    if problem:
        return problem
    kind = payload.get("type")
    required = REQUIRED_BY_TYPE.get(kind, ()) if isinstance(kind, str) else ()
    if "command" in payload:
        required += COMMAND_REQUIRED
    missing = [name for name in required if name not in payload]
    if missing:
        return f"payload.{missing[0]} is missing"
    return (
        _response_url_problem(payload.get("response_url"))
        or _event_problem(payload.get("event"))
        or _view_problem(payload.get("view"))
        or _actions_problem(payload.get("actions"), required=kind == "block_actions")
        or _response_urls_problem(payload.get("response_urls"))
    )


def _context_problem(part: dict[str, Any], where: str, *, depth: int = 0) -> str | None:
    """The ids Bolt reads from ``part``: its id objects, authorizations and nested parts."""
    for name in ("enterprise", "team", "user", "channel"):
        value = part.get(name)
        if isinstance(value, dict):
            problem = _fields_problem(value, ID_OBJECT_FIELDS, f"{where}.{name}")
            if problem:
                return problem
    authorizations = part.get("authorizations") or []
    for index, authorization in enumerate(authorizations):
        here = f"{where}.authorizations[{index}]"
        if not isinstance(authorization, dict):
            return f"{here} is {_kind(authorization)}, not an object"
        problem = _fields_problem(authorization, CONTEXT_FIELDS, here) or _context_problem(
            authorization, here, depth=depth + 1
        )
        if problem:
            return problem
    if depth >= 3:  # Slack nests a message in an event, and no deeper
        return None
    for name in NESTED_CONTEXTS:
        nested = part.get(name)
        if isinstance(nested, dict):
            here = f"{where}.{name}"
            problem = _fields_problem(nested, CONTEXT_FIELDS, here) or _context_problem(
                nested, here, depth=depth + 1
            )
            if problem:
                return problem
    return None


def _event_problem(event: Any) -> str | None:
    if event is None:
        return None
    if "type" not in event:
        return "payload.event.type is missing"
    return (
        _fields_problem(event, CONTEXT_FIELDS, "payload.event")
        or _context_problem(event, "payload.event", depth=1)
        or _revoked_tokens_problem(event)
    )


def _revoked_tokens_problem(event: dict[str, Any]) -> str | None:
    """``tokens_revoked``: Bolt's own listener reads the user ids and bots revoked."""
    if event.get("type") != "tokens_revoked" or "tokens" not in event:
        return None
    tokens = event["tokens"]
    if not isinstance(tokens, dict):
        return f"payload.event.tokens is {_kind(tokens)}, not an object"
    for name in ("oauth", "bot"):
        ids = tokens.get(name, [])
        if not isinstance(ids, list) or not all(isinstance(id_, str) for id_ in ids):
            return f"payload.event.tokens.{name} is not a list of strings"
    return None


def _view_problem(view: Any) -> str | None:
    if view is None:
        return None
    if "callback_id" not in view:
        return "payload.view.callback_id is missing"
    problem = _fields_problem(view, VIEW_FIELDS, "payload.view")
    state = view.get("state")
    if problem is None and isinstance(state, dict) and "values" in state:
        if not isinstance(state["values"], dict):
            return f"payload.view.state.values is {_kind(state['values'])}, not an object"
    return problem


def _actions_problem(actions: Any, *, required: bool) -> str | None:
    if actions is None:
        return None
    if required and not actions:
        return "payload.actions is empty"
    for index, action in enumerate(actions):
        here = f"payload.actions[{index}]"
        if not isinstance(action, dict):
            return f"{here} is {_kind(action)}, not an object"
        if "action_id" not in action:
            return f"{here}.action_id is missing"
        problem = _fields_problem(action, ACTION_FIELDS, here)
        if problem:
            return problem
    return None


def _response_url_problem(response_url: Any) -> str | None:
    """Bolt's ``respond`` posts to it: a web address, or nothing ("" where there is none)."""
    if not response_url or str(response_url).startswith(("https://", "http://")):
        return None
    return "payload.response_url is not a web address"


def _response_urls_problem(response_urls: Any) -> str | None:
    """A modal's ``response_urls``: Bolt answers through the first one."""
    if not response_urls:
        return None
    first = response_urls[0]
    if not isinstance(first, dict):
        return f"payload.response_urls[0] is {_kind(first)}, not an object"
    fields = {"response_url": TEXT, "channel_id": TEXT}
    return _fields_problem(first, fields, "payload.response_urls[0]") or _response_url_problem(
        first.get("response_url")
    )


def _fields_problem(
    part: Mapping[str, Any], fields: Mapping[str, tuple[type, ...]], where: str
) -> str | None:
    """The first field of ``part`` whose type is none of those ``fields`` allows it."""
    for name, kinds in fields.items():
        if name in part and not _is(part[name], kinds):
            expected = " or ".join(_KIND_NAMES[kind] for kind in kinds)
            return f"{where}.{name} is {_kind(part[name])}, not {expected}"
    return None


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, not to JSON
        return bool in kinds
    return isinstance(value, kinds)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return _KIND_NAMES.get(type(value), "something else")
