"""A stand-in for the Slack Web API, in memory, for the local playground.

It answers only the methods leadloop calls, the way Slack answers them, and keeps what
leadloop posted so that the playground page can show it: each conversation's messages
(threads included), the private notes a person was shown, the form open in front of each
person and their App Home. It is served by the playground's own HTTP server under
``/api/`` (SLACK_API_URL), with ``/respond/`` for response URLs and ``/files/`` for uploads,
on 127.0.0.1 only: nothing in it talks to a real Slack.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from domain.clock import system_clock

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

JsonDict = dict[str, Any]

API_PREFIX = "/api/"
RESPOND_PREFIX = "/respond/"
FILES_PREFIX = "/files/"
BOT_USER_ID = "UPLAYBOT"
BOT_ID = "BPLAYBOT"
MAX_BODY = 8 * 1024 * 1024  # a chart upload is well under a megabyte


@dataclass
class Person:
    """Someone the playground lets you act as."""

    user_id: str
    name: str
    role: str  # "sales" or "marketing"


@dataclass
class Note:
    """A private message shown to one person in one conversation ("Only visible to you")."""

    user_id: str
    channel: str
    text: str
    blocks: list[Any]
    ts: str


@dataclass
class SlackStandin:
    """The workspace as leadloop sees it through the Web API, kept in memory."""

    team_id: str
    people: list[Person]
    channels: dict[str, str]  # channel ID -> name
    # Others in the workspace, whom the page names but you cannot act as: ID -> name.
    colleagues: dict[str, str] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    clock: Callable[[], datetime] = system_clock  # message timestamps follow it
    base_url: str = ""  # set once the server is bound: http://127.0.0.1:PORT
    conversations: dict[str, list[JsonDict]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    modals: dict[str, JsonDict] = field(default_factory=dict)  # user -> the open form
    homes: dict[str, JsonDict] = field(default_factory=dict)  # user -> published App Home
    files: dict[str, bytes] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # method names, in order
    version: int = 0  # grows with every change the page should show
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _changed: threading.Condition = field(init=False, repr=False)
    _last_ts_micros: int = field(default=0, repr=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _response_urls: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    _triggers: dict[str, str] = field(default_factory=dict, repr=False)  # trigger -> user

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    # ------------------------------------------------------------------ for the page

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL is set to."""
        return self.base_url + API_PREFIX

    def dm_of(self, user_id: str) -> str:
        """The bot's DM conversation with a person."""
        return f"D{user_id}"

    def next_ts(self) -> str:
        """A fresh message timestamp from the clock, always increasing, in Slack's format."""
        with self._lock:
            micros = max(round(self.clock().timestamp() * 1e6), self._last_ts_micros + 1)
            self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        """A fresh ID (view, file, trigger)."""
        return f"{prefix}{next(self._ids):06d}"

    def response_url(self, *, user_id: str, channel: str) -> str:
        """A response URL whose answers appear to ``user_id`` in ``channel``."""
        with self._lock:
            key = self.next_id("R")
            self._response_urls[key] = (user_id, channel)
        return f"{self.base_url}{RESPOND_PREFIX}{key}"

    def trigger_for(self, user_id: str) -> str:
        """A trigger ID that opens a form in front of ``user_id``, as a click's would."""
        with self._lock:
            trigger = self.next_id("trigger-")
            self._triggers[trigger] = user_id
        return trigger

    def add_user_message(
        self, *, channel: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> JsonDict:
        """A person's own message, as Slack stores it before it tells the app."""
        message: JsonDict = {"type": "message", "user": user_id, "text": text}
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            message["ts"] = self.next_ts()
            self.conversations.setdefault(channel, []).append(message)
            self.touch()
        return dict(message)

    def add_note(self, *, user_id: str, channel: str, answer: Mapping[str, Any]) -> None:
        """Show ``answer`` (an ack body or a response URL's JSON) privately."""
        text = str(answer.get("text") or "")
        blocks = answer.get("blocks")
        blocks = blocks if isinstance(blocks, list) else []
        if not text and not blocks:
            return
        with self._lock:
            self.notes.append(Note(user_id, channel, text, blocks, self.next_ts()))
            self.touch()

    def close_modal(self, user_id: str) -> None:
        """The person closed the form (or submitted it and it closed)."""
        with self._lock:
            self.modals.pop(user_id, None)
            self.touch()

    def set_modal(self, user_id: str, view: JsonDict) -> None:
        """Put ``view`` in front of ``user_id`` (a form's answer: update, errors)."""
        with self._lock:
            self.modals[user_id] = view
            self.touch()

    def find_message(self, channel: str, ts: str) -> JsonDict | None:
        """A stored message, by conversation and ts."""
        with self._lock:
            for message in self.conversations.get(channel, []):
                if message["ts"] == ts:
                    return dict(message)
        return None

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """Wait until something changed after version ``seen``; the version now."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version

    @property
    def lock(self) -> threading.RLock:
        """Held while the page reads a consistent picture."""
        return self._lock

    def touch(self) -> None:
        """Something the page shows changed: wake the pages waiting for it."""
        with self._lock:
            self.version += 1
            self._changed.notify_all()

    # ------------------------------------------------------------------ the Web API

    def call(self, method: str, params: Mapping[str, Any]) -> JsonDict:
        """One Web API call, answered as Slack would (``unknown_method`` for the rest)."""
        handler = _METHODS.get(method)
        with self._lock:
            self.calls.append(method)
            if handler is None:
                return {"ok": False, "error": "unknown_method"}
            return handler(self, {key: _decoded(value) for key, value in params.items()})

    def _channel(self, channel: Any) -> str:
        """Where a post to ``channel`` lands: a user ID means the bot's DM with them."""
        text = str(channel or "")
        return self.dm_of(text) if text.startswith(("U", "W")) else text

    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "url": f"{self.base_url}/",  # message links lead back to the page (/archives/…)
            "team": "leadloop playground",
            "user": "leadloop",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        message: JsonDict = {
            "type": "message",
            "text": str(params.get("text") or ""),
            "blocks": _list(params.get("blocks")),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": self.next_ts(),
        }
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]
        self.conversations.setdefault(channel, []).append(message)
        self.touch()
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _post_ephemeral(self, params: JsonDict) -> JsonDict:
        ts = self.next_ts()
        self.notes.append(
            Note(
                str(params.get("user")),
                self._channel(params.get("channel")),
                str(params.get("text") or ""),
                _list(params.get("blocks")),
                ts,
            )
        )
        self.touch()
        return {"ok": True, "message_ts": ts}

    def _update(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"))
        for message in self.conversations.get(channel, []):
            if message["ts"] == params.get("ts"):
                if "text" in params:
                    message["text"] = str(params["text"])
                if "blocks" in params:
                    message["blocks"] = _list(params["blocks"])
                message["edited"] = True
                self.touch()
                return {"ok": True, "channel": channel, "ts": message["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _delete(self, params: JsonDict) -> JsonDict:
        channel = self._channel(params.get("channel"))
        kept = [m for m in self.conversations.get(channel, []) if m["ts"] != params.get("ts")]
        self.conversations[channel] = kept
        self.touch()
        return {"ok": True, "channel": channel, "ts": params.get("ts")}

    def _history(self, params: JsonDict) -> JsonDict:
        channel = str(params.get("channel") or "")
        limit = int(params.get("limit") or 100)
        oldest = float(params.get("oldest") or 0)
        messages = [
            dict(m)
            for m in self.conversations.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) and float(m["ts"]) >= oldest
        ]
        messages.reverse()
        return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}

    def _replies(self, params: JsonDict) -> JsonDict:
        channel, thread = str(params.get("channel") or ""), params.get("ts")
        messages = [
            dict(m)
            for m in self.conversations.get(channel, [])
            if m["ts"] == thread or m.get("thread_ts") == thread
        ]
        if not messages:
            return {"ok": False, "error": "thread_not_found"}
        return {"ok": True, "messages": messages, "has_more": False}

    def _views_open(self, params: JsonDict) -> JsonDict:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        user = self._triggers.get(str(params.get("trigger_id")))
        if user is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        shown = {"id": self.next_id("V"), **view}
        self.modals[user] = shown
        self.touch()
        return {"ok": True, "view": shown}

    def _views_publish(self, params: JsonDict) -> JsonDict:
        view = params.get("view")
        user = str(params.get("user_id") or "")
        if not isinstance(view, dict) or not user:
            return {"ok": False, "error": "invalid_arguments"}
        self.homes[user] = {"id": self.next_id("V"), **view}
        self.touch()
        return {"ok": True, "view": self.homes[user]}

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        users = str(params.get("users") or "")
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": self.dm_of(users.split(",")[0])}}

    def _conversations_join(self, params: JsonDict) -> JsonDict:
        return {"ok": True, "channel": {"id": params.get("channel")}}

    def _conversations_list(self, params: JsonDict) -> JsonDict:
        channels = [{"id": cid, "name": name} for cid, name in self.channels.items()]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _users_info(self, params: JsonDict) -> JsonDict:
        user = str(params.get("user") or "")
        person = next((p for p in self.people if p.user_id == user), None)
        name = person.name if person else self.colleagues.get(user, user.lower())
        return {
            "ok": True,
            "user": {"id": user, "name": name, "real_name": name, "tz": "UTC", "is_bot": False},
        }

    def _usergroup_users(self, params: JsonDict) -> JsonDict:
        members = self.usergroups.get(str(params.get("usergroup")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _upload_url(self, params: JsonDict) -> JsonDict:
        file_id = self.next_id("F")
        return {
            "ok": True,
            "upload_url": f"{self.base_url}{FILES_PREFIX}{file_id}",
            "file_id": file_id,
        }

    def _complete_upload(self, params: JsonDict) -> JsonDict:
        entries = [e for e in _list(params.get("files")) if isinstance(e, dict)]
        channel = self._channel(params.get("channel_id"))
        files = [
            {
                "id": entry.get("id"),
                "title": entry.get("title"),
                "url": f"{FILES_PREFIX}{entry.get('id')}",
            }
            for entry in entries
        ]
        if channel:
            message: JsonDict = {
                "type": "message",
                "text": str(params.get("initial_comment") or ""),
                "blocks": [],
                "files": files,
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "ts": self.next_ts(),
            }
            if params.get("thread_ts"):
                message["thread_ts"] = str(params["thread_ts"])
            self.conversations.setdefault(channel, []).append(message)
            self.touch()
        return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in files]}

    # ------------------------------------------------------------------ HTTP

    def handles(self, path: str) -> bool:
        """Whether a request path is the stand-in's (the rest is the page's)."""
        return path.startswith((API_PREFIX, RESPOND_PREFIX, FILES_PREFIX))

    def wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve the Web API, response URLs and uploaded files."""
        path = str(environ.get("PATH_INFO") or "")
        method = str(environ.get("REQUEST_METHOD") or "GET")
        if path.startswith(FILES_PREFIX) and method == "GET":
            data = self.files.get(path[len(FILES_PREFIX) :])
            if data is None:
                return _reply(start_response, "404 Not Found", b"", "text/plain")
            return _reply(start_response, "200 OK", data, _image_type(data))
        if method != "POST":
            return _reply(start_response, "405 Method Not Allowed", b"", "text/plain")
        body = _read(environ)
        if body is None:
            return _reply(start_response, "413 Content Too Large", b"", "text/plain")
        if path.startswith(FILES_PREFIX):
            with self._lock:
                self.files[path[len(FILES_PREFIX) :]] = body
            return _reply(start_response, "200 OK", b"OK - uploaded", "text/plain")
        params = _params(str(environ.get("CONTENT_TYPE") or ""), body)
        if path.startswith(RESPOND_PREFIX):
            target = self._response_urls.get(path[len(RESPOND_PREFIX) :])
            if target is None:
                return _json(start_response, {"ok": False, "error": "expired_url"}, "404 Not Found")
            self.add_note(user_id=target[0], channel=target[1], answer=params)
            return _json(start_response, {"ok": True})
        token = _bearer(environ) or str(params.pop("token", "") or "")
        if not token.startswith("xoxb-"):
            return _json(start_response, {"ok": False, "error": "not_authed"})
        return _json(start_response, self.call(path[len(API_PREFIX) :], params))


def _decoded(value: Any) -> Any:
    """Slack's form-encoded arguments carry JSON (blocks, view, metadata) as strings."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _list(value: Any) -> list[Any]:
    value = _decoded(value)
    return value if isinstance(value, list) else []


def _params(content_type: str, body: bytes) -> JsonDict:
    if content_type.split(";")[0].strip() == "application/json":
        try:
            decoded = json.loads(body or b"{}")
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _read(environ: WSGIEnvironment) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def _bearer(environ: WSGIEnvironment) -> str:
    scheme, _, value = str(environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _image_type(data: bytes) -> str:
    return "image/png" if data.startswith(b"\x89PNG") else "application/octet-stream"


def _json(start_response: StartResponse, body: JsonDict, status: str = "200 OK") -> list[bytes]:
    return _reply(start_response, status, json.dumps(body).encode(), "application/json")


def _reply(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body)))])
    return [body]


_METHODS = {
    "auth.test": SlackStandin._auth_test,
    "chat.postMessage": SlackStandin._post_message,
    "chat.postEphemeral": SlackStandin._post_ephemeral,
    "chat.update": SlackStandin._update,
    "chat.delete": SlackStandin._delete,
    "conversations.history": SlackStandin._history,
    "conversations.replies": SlackStandin._replies,
    "conversations.open": SlackStandin._conversations_open,
    "conversations.join": SlackStandin._conversations_join,
    "conversations.list": SlackStandin._conversations_list,
    "views.open": SlackStandin._views_open,
    "views.publish": SlackStandin._views_publish,
    "users.info": SlackStandin._users_info,
    "usergroups.users.list": SlackStandin._usergroup_users,
    "files.getUploadURLExternal": SlackStandin._upload_url,
    "files.completeUploadExternal": SlackStandin._complete_upload,
}
