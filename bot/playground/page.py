"""The playground's page and the little HTTP API its script calls, as one WSGI app.

The page is plain HTML, CSS and JavaScript from ``bot/playground/static`` (no build step,
nothing fetched from elsewhere). Messages, forms and App Home are drawn here, on the
server, by ``blockkit``; the script only swaps the HTML in and posts what you typed or
clicked. The stand-in's own paths (``/api/`` and the rest) are served by the same server.

Only requests addressed to this server by its own address are served (a page elsewhere
cannot reach it through DNS tricks), and the actions take JSON only, which no other site
can send here without the browser asking first.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from bot.playground.blockkit import mrkdwn, render_blocks, render_text
from bot.playground.slack_side import MESSAGE_SHORTCUTS, PlaygroundError, SlackSide
from bot.playground.slack_standin import Note, SlackStandin

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

LONG_POLL_SECONDS = 15.0
MAX_ACTION_BODY = 64 * 1024
JUMPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/page.css": ("page.css", "text/css; charset=utf-8"),
    "/page.js": ("page.js", "text/javascript; charset=utf-8"),
}

Json = dict[str, Any]
_ARCHIVE = re.compile(r"/archives/([A-Z0-9]+)/p([0-9]{7,20})")
_TS = re.compile(r"[0-9]{1,14}\.[0-9]{6}")


@dataclass(frozen=True)
class Controls:
    """What the page's actions work through, once the app is up."""

    slack: SlackSide
    now: Callable[[], datetime]
    jump: Callable[[timedelta], None]  # moves the clock forward, posting what comes due


def build_page_app(
    standin: SlackStandin, controls: Callable[[], Controls]
) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The page, its API and the stand-in, as one WSGI application; ``controls`` raises
    ``PlaygroundError`` until the app is up."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO") or "/")
        if not _addressed_to(standin, str(environ.get("HTTP_HOST") or "")):
            where = f"{standin.base_url}/"
            refusal = f"The leadloop playground answers only at {where}: open that address."
            return _send(start_response, "421 Misdirected Request", refusal.encode(), "text/plain")
        if standin.handles(path):
            return standin.wsgi(environ, start_response)
        method = str(environ.get("REQUEST_METHOD") or "GET")
        if method == "GET" and path in _STATIC:
            name, kind = _STATIC[path]
            body = resources.files("bot.playground").joinpath("static", name).read_bytes()
            return _send(start_response, "200 OK", body, kind)
        if method == "GET" and path.startswith("/archives/"):
            return _permalink(environ, start_response, path)
        if method == "GET" and path == "/state":
            query = parse_qs(str(environ.get("QUERY_STRING") or ""))
            user = (query.get("as") or [""])[0]
            since = (query.get("since") or [""])[0]
            if since.isdigit():
                standin.wait_for_change(int(since), LONG_POLL_SECONDS)
            return _json(start_response, page_state(standin, user_id=user, now=_now(controls)))
        if method == "POST" and path.startswith("/do/"):
            return _action(environ, start_response, path.removeprefix("/do/"))
        return _send(start_response, "404 Not Found", b"not found", "text/plain")

    def _action(
        environ: WSGIEnvironment, start_response: StartResponse, name: str
    ) -> Iterable[bytes]:
        if str(environ.get("CONTENT_TYPE") or "").split(";")[0] != "application/json":
            return _json(start_response, {"ok": False, "error": "JSON only"}, "415 Unsupported")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if not 0 < length <= MAX_ACTION_BODY:
            return _json(start_response, {"ok": False, "error": "no body"}, "400 Bad Request")
        try:
            asked = json.loads(environ["wsgi.input"].read(length))
            if not isinstance(asked, dict):
                raise PlaygroundError("a JSON object, please")
            answer = do(name, asked)
        except (PlaygroundError, ValueError) as error:
            return _json(start_response, {"ok": False, "error": str(error)}, "400 Bad Request")
        return _json(start_response, {"ok": True, **answer})

    def do(name: str, asked: Json) -> Json:
        user = _person(standin, asked.get("as"))
        control = controls()
        side = control.slack
        if name == "type":
            side.type_text(
                user_id=user,
                channel=_text(asked, "channel"),
                text=_text(asked, "text"),
                thread_ts=str(asked.get("thread_ts") or "") or None,
            )
        elif name == "click":
            side.click(
                user_id=user,
                action_id=_text(asked, "action_id"),
                block_id=str(asked.get("block_id") or ""),
                value=str(asked.get("value") or ""),
                channel=str(asked.get("channel") or ""),
                ts=str(asked.get("ts") or ""),
                where=_text(asked, "where"),
            )
        elif name == "shortcut":
            side.shortcut(
                user_id=user,
                callback_id=_text(asked, "callback_id"),
                channel=_text(asked, "channel"),
                ts=_text(asked, "ts"),
            )
        elif name == "submit":
            values = asked.get("values")
            if not isinstance(values, dict):
                raise PlaygroundError("the form's values are missing")
            return {"errors": side.submit(user_id=user, values=values)}
        elif name == "close":
            standin.close_modal(user)
        elif name == "home":
            side.open_home(user_id=user)
        elif name == "clock":
            jump = JUMPS.get(str(asked.get("by")))
            if jump is None:
                raise PlaygroundError(f"the clock jumps by one of: {', '.join(JUMPS)}")
            control.jump(jump)
            standin.touch()  # the page shows the new time
        else:
            raise PlaygroundError(f"no such action: {name}")
        return {}

    return application


def _addressed_to(standin: SlackStandin, host: str) -> bool:
    """Whether ``host`` (the request's Host header) names this server: 127.0.0.1 or
    localhost, with its port. Any other name may be a DNS trick of a page elsewhere."""
    port = standin.base_url.rsplit(":", 1)[1]
    return host in {f"127.0.0.1:{port}", f"localhost:{port}"}


def _permalink(
    environ: WSGIEnvironment, start_response: StartResponse, path: str
) -> Iterable[bytes]:
    """A Slack message link (``/archives/C…/p…?thread_ts=…``): the page, showing it."""
    match = _ARCHIVE.fullmatch(path)
    if match is None:
        return _send(start_response, "404 Not Found", b"not found", "text/plain")
    channel, digits = match.groups()
    thread = (parse_qs(str(environ.get("QUERY_STRING") or "")).get("thread_ts") or [""])[0]
    ts = thread if _TS.fullmatch(thread) else f"{digits[:-6]}.{digits[-6:]}"
    start_response("302 Found", [("Location", f"/#{channel}/{ts}"), ("Content-Length", "0")])
    return [b""]


def _now(controls: Callable[[], Controls]) -> datetime:
    try:
        return controls().now()
    except PlaygroundError:
        return datetime.now(UTC)


def page_state(standin: SlackStandin, *, user_id: str, now: datetime) -> Json:
    """Everything the page shows to ``user_id``, drawn as HTML, with the stand-in's version."""
    with standin.lock:
        version = standin.version
        names = _names(standin)
        conversations: list[Json] = [
            {"id": cid, "title": f"# {name}", "kind": "channel"}
            for cid, name in standin.channels.items()
        ] + [
            {"id": standin.dm_of(p.user_id), "title": f"leadloop → {p.name}", "kind": "dm"}
            for p in standin.people
        ]
        for conversation in conversations:
            cid = conversation["id"]
            messages = standin.conversations.get(cid, [])
            notes = [n for n in standin.notes if n.user_id == user_id and n.channel == cid]
            conversation["html"] = _timeline(cid, messages, notes, names)
            conversation["threads"] = {
                m["ts"]: _thread(cid, m, messages, names)
                for m in messages
                if m.get("thread_ts") in (None, m["ts"])
            }
            conversation["count"] = len(messages)
        modal = standin.modals.get(user_id)
        home = standin.homes.get(user_id)
        return {
            "version": version,
            "now": now.strftime("%a %d %b %Y, %H:%M UTC"),
            "people": [{"id": p.user_id, "name": p.name} for p in standin.people],
            "conversations": conversations,
            "modal": _modal(modal, names) if modal else None,
            "home": render_blocks(home.get("blocks") or [], names=names) if home else None,
        }


def _timeline(
    channel: str, messages: list[Json], notes: list[Note], names: Callable[[str], str]
) -> str:
    shown = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
    items = [(m["ts"], _message(channel, m, names, messages=messages)) for m in shown]
    items += [(n.ts, _note(n, names)) for n in notes]
    items.sort(key=lambda item: float(item[0]))
    if not items:
        return '<p class="empty">Nothing here yet.</p>'
    return "".join(fragment for _, fragment in items)


def _thread(channel: str, parent: Json, messages: list[Json], names: Callable[[str], str]) -> str:
    replies = [m for m in messages if m.get("thread_ts") == parent["ts"] and m is not parent]
    return _message(channel, parent, names) + "".join(
        _message(channel, reply, names) for reply in replies
    )


def _message(
    channel: str, message: Json, names: Callable[[str], str], *, messages: list[Json] | None = None
) -> str:
    author = "leadloop" if message.get("bot_id") else names(str(message.get("user") or ""))
    blocks = message.get("blocks") or []
    body = render_blocks(blocks, names=names) if blocks else mrkdwn(str(message.get("text") or ""))
    for file in message.get("files") or []:
        title = html.escape(str(file.get("title") or ""))
        url = html.escape(str(file.get("url") or ""))
        body += (
            f'<figure class="file"><img src="{url}" alt="{title}">'
            f"<figcaption>{title}</figcaption></figure>"
        )
    edited = ' <span class="edited">(edited)</span>' if message.get("edited") else ""
    replies = ""
    if messages is not None and not channel.startswith("D"):
        count = sum(1 for m in messages if m.get("thread_ts") == message["ts"] and m is not message)
        if count:
            word = "reply" if count == 1 else "replies"
            replies = _replies_button(message["ts"], f"{count} {word}")
        else:
            replies = _replies_button(message["ts"], "Reply in thread")
    return (
        f'<div class="message" data-channel="{html.escape(channel)}" '
        f'data-ts="{html.escape(str(message["ts"]))}">{_more_actions()}'
        f'<div class="author">{html.escape(author)}{edited}</div>'
        f'<div class="body">{body}</div>{replies}</div>'
    )


def _more_actions() -> str:
    """A message's "More actions" menu: leadloop's message shortcuts, as Slack lists them."""
    items = "".join(
        f'<button type="button" class="shortcut" role="menuitem" '
        f'data-shortcut="{html.escape(callback_id)}">{html.escape(name)}</button>'
        for callback_id, name in MESSAGE_SHORTCUTS.items()
    )
    return (
        '<details class="more-actions"><summary title="More actions" aria-label="More actions">'
        f'&#x22EF;</summary><div class="more-actions-menu" role="menu">{items}</div></details>'
    )


def _replies_button(ts: str, label: str) -> str:
    return (
        f'<button type="button" class="replies" data-thread="{html.escape(ts)}">'
        f"{html.escape(label)}</button>"
    )


def _note(note: Note, names: Callable[[str], str]) -> str:
    body = (
        render_blocks(note.blocks, names=names) if note.blocks else mrkdwn(note.text, names=names)
    )
    return (
        '<div class="message note"><div class="author">leadloop '
        '<span class="only-you">Only visible to you</span></div>'
        f'<div class="body">{body}</div></div>'
    )


def _modal(view: Json, names: Callable[[str], str]) -> str:
    title = render_text(view.get("title"), names=names)
    blocks = render_blocks(view.get("blocks") or [], names=names)
    close = render_text(view.get("close") or {"type": "plain_text", "text": "Close"})
    submit = ""
    if view.get("submit"):
        label = render_text(view["submit"])
        submit = (
            f'<button type="button" class="bk-button bk-button-primary submit">{label}</button>'
        )
    return (
        f'<div class="modal-title">{title}</div><div class="modal-body">{blocks}</div>'
        f'<div class="modal-buttons"><button type="button" class="bk-button close">{close}'
        f"</button>{submit}</div>"
    )


def _names(standin: SlackStandin) -> Callable[[str], str]:
    known = dict(standin.colleagues) | {p.user_id: p.name for p in standin.people}
    known |= dict(standin.channels)
    known |= {group: "sales" for group in standin.usergroups if "SALES" in group}
    known |= {group: "marketing" for group in standin.usergroups if "MKT" in group}

    def name(identifier: str) -> str:
        return known.get(identifier, identifier)

    return name


def _person(standin: SlackStandin, user: Any) -> str:
    if not any(p.user_id == user for p in standin.people):
        raise PlaygroundError("choose who you are first")
    return str(user)


def _text(asked: Mapping[str, Any], key: str) -> str:
    value = asked.get(key)
    if not isinstance(value, str) or not value:
        raise PlaygroundError(f"{key} is missing")
    return value


def _json(start_response: StartResponse, body: Json, status: str = "200 OK") -> list[bytes]:
    return _send(start_response, status, json.dumps(body).encode(), "application/json")


def _send(start_response: StartResponse, status: str, body: bytes, kind: str) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", kind),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [body]
