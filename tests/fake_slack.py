"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that records calls and injects faults."""

from __future__ import annotations

import itertools
import json
import socket
import socketserver
import sys
import threading
import traceback
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["Call", "FakeSlack"]

HOLD_SAFETY_TIMEOUT = 10.0
"""Seconds a held call waits for its Event before proceeding anyway."""

_JSON_TYPE = "application/json; charset=utf-8"
_TEXT_TYPE = "text/plain; charset=utf-8"
_TS_BASE_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100
_HISTORY_DEFAULT_LIMIT = 100
_HISTORY_MAX_LIMIT = 999

JsonDict = dict[str, Any]
_MethodHandler = Callable[[JsonDict], JsonDict]


@dataclass
class Call:
    """One HTTP request received by the fake Slack server."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    path: str
    body: bytes
    token: str | None


@dataclass(frozen=True)
class _Fault:
    """A queued fault for one call."""

    status: int
    error: str | None
    retry_after: int | None
    drop_connection: bool


@dataclass
class _Reply:
    """An HTTP answer the request handler should write (or a dropped connection)."""

    status: int = 200
    body: bytes = b""
    content_type: str = _JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def _json_reply(
    payload: JsonDict, status: int = 200, headers: dict[str, str] | None = None
) -> _Reply:
    """Build a JSON reply."""
    return _Reply(status=status, body=json.dumps(payload).encode(), headers=headers or {})


def _text_reply(text: str, status: int = 200) -> _Reply:
    """Build a plain-text reply."""
    return _Reply(status=status, body=text.encode(), content_type=_TEXT_TYPE)


def _maybe_json(value: Any) -> Any:
    """Decode strings that look like JSON objects/arrays; return anything else unchanged."""
    if isinstance(value, str) and value.startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _pairs_to_params(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Collapse (key, value) pairs into a dict (repeated keys become lists), decoding JSON."""
    grouped: dict[str, list[Any]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(_maybe_json(value))
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse multipart/form-data; text fields are decoded like form fields, files kept as bytes."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, Any]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None:
            pairs.append((name, data))
        else:
            charset = part.get_content_charset() or "utf-8"
            pairs.append((name, data.decode(charset, errors="replace")))
    return _pairs_to_params(pairs)


def _parse_params(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], bool]:
    """Merge query-string and body params; return (params, body_was_invalid_json)."""
    params = _pairs_to_params(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return params, False
    if mime == "application/json" or (not mime and body.lstrip().startswith((b"{", b"["))):
        try:
            decoded = json.loads(body)
        except ValueError:
            return params, True
        if isinstance(decoded, dict):
            params.update(decoded)
        else:
            params["_json"] = decoded
        return params, False
    if mime == "multipart/form-data":
        params.update(_parse_multipart(content_type, body))
        return params, False
    text = body.decode("utf-8", errors="replace")
    params.update(_pairs_to_params(parse_qsl(text, keep_blank_values=True)))
    return params, False


def _truthy(value: Any) -> bool:
    """A boolean argument as Slack reads it: true, "true" or "1"."""
    return value is True or str(value).lower() in ("true", "1")


def _ts_micros(value: Any) -> int | None:
    """A ts argument ("1700000000.000100") in microseconds; None when absent or malformed."""
    if value is None or value == "":
        return None
    try:
        return round(float(value) * 1_000_000)
    except (TypeError, ValueError):
        return None


def _dm(channel: str) -> str:
    """The conversation a post to ``channel`` lands in: a user's DM for a user ID."""
    return f"D{channel}" if channel.startswith(("U", "W")) else channel


def _extract_token(headers: dict[str, str], params: dict[str, Any]) -> str | None:
    """Token from a Bearer Authorization header, else from the "token" param."""
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = params.get("token")
    return token if isinstance(token, str) and token else None


class _Server(ThreadingHTTPServer):
    """Threading HTTP server that knows its FakeSlack and tracks open connections."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, fake: FakeSlack) -> None:
        """Bind to an ephemeral port on 127.0.0.1."""
        self.fake = fake
        self.stopping = False
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without the reverse-DNS lookup HTTPServer.server_bind performs."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, conn: socket.socket) -> None:
        """Remember an open client connection."""
        with self._conn_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        """Forget a client connection."""
        with self._conn_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        """Shut down every open client connection so idle keep-alive threads exit."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about client disconnects; report real handler bugs."""
        exc = sys.exc_info()[1]
        if self.stopping or isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Request handler that delegates to FakeSlack."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "FakeSlack/1.0"
    sys_version = ""

    def setup(self) -> None:
        """Register the connection with the server."""
        super().setup()
        cast(_Server, self.server).track(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            cast(_Server, self.server).untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Suppress access logs."""

    def do_POST(self) -> None:
        """Handle POST requests."""
        self._serve()

    def do_GET(self) -> None:
        """Handle GET requests (Slack accepts GET with a query string)."""
        self._serve()

    def _read_body(self) -> bytes | None:
        """Read the request body (Content-Length or chunked); None if malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        """Read, dispatch and answer one request."""
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(_text_reply("bad request", status=400))
            return
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            name = key.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        reply = cast(_Server, self.server).fake._handle_request(self.path, headers, body)
        if reply.drop:
            self.close_connection = True
            return
        self._write(reply)

    def _write(self, reply: _Reply) -> None:
        """Write a reply with an explicit Content-Length (keep-alive safe)."""
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()


class FakeSlack:
    """In-process fake of https://slack.com/api/ served over real HTTP on 127.0.0.1."""

    def __init__(
        self,
        *,
        team_id: str = "T0TEST",
        enterprise_id: str | None = None,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        users: dict[str, dict[str, Any]] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Configure the fake; call start() (or use it as a context manager) to serve.

        Message ts values count up from 1700000000.000100, or follow ``clock`` when it is
        given (so that conversations.history's ``oldest`` means what the code under test
        thinks it means); ``clock`` may also be set later.
        """
        self.team_id = team_id
        self.enterprise_id = enterprise_id  # the bot token's organisation, if in a Grid
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.users: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (users or {}).items()}
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in (usergroups or {}).items()}
        self.calls: list[Call] = []
        self.channels: dict[str, str] = {"C0GENERAL": "general"}
        # OAuth: codes Slack would hand an installer's browser, and the bot tokens they buy.
        self.install_codes: dict[str, JsonDict] = {}
        self.installed_tokens: dict[str, JsonDict] = {}
        self.revoked_tokens: list[str] = []
        # Socket Mode: the WebSocket URL apps.connections.open hands out (a FakeSocketMode's).
        self.socket_mode_url: str | None = None
        # Each chat.postMessage that succeeded: its parameters and the ts it was given.
        self.posts: list[tuple[JsonDict, str]] = []
        # Each conversation's messages as conversations.history shows them, oldest first. A
        # post to a user ID lands in the DM conversations.open names for that user.
        self.conversations: dict[str, list[JsonDict]] = {}
        # When set, conversations.history fails with this error (see refuse_history).
        self.history_error: str | None = None
        self.clock = clock
        self._last_ts_micros = 0
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._faults: dict[str, deque[_Fault]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._response_url_counter = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, _MethodHandler] = {
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "oauth.v2.access": self._oauth_v2_access,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views,
            "views.update": self._views,
            "views.push": self._views,
            "views.publish": self._views,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on an ephemeral port and serve in a daemon thread; return self."""
        with self._lock:
            if self._server is not None:
                return self
            server = _Server(self)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=f"FakeSlack:{server.server_port}",
                daemon=True,
            )
            self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join the server thread; safe to call twice."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
            holds = list(self._holds.values())
        if server is None:
            return
        server.stopping = True
        for event in holds:
            event.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=HOLD_SAFETY_TIMEOUT)

    def __enter__(self) -> FakeSlack:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (server must be running)."""
        server = self._server
        if server is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return server.server_port

    @property
    def base_url(self) -> str:
        """Root URL of the server, e.g. http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Web API base URL with trailing slash, usable as WebClient(base_url=...)."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "cmd") -> str:
        """Return a fresh unique response URL whose POSTs are recorded as "response_url"."""
        with self._lock:
            n = next(self._response_url_counter)
        return f"{self.base_url}/respond/{name}-{n}"

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[Call]:
        """All recorded calls to `method`, in arrival order."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until at least `count` calls to `method` arrived, then return calls_to(method)."""
        with self._cond:
            arrived = self._cond.wait_for(
                lambda: sum(1 for call in self.calls if call.method == method) >= count,
                timeout=timeout,
            )
            if not arrived:
                got = sum(1 for call in self.calls if call.method == method)
                recorded = [call.method for call in self.calls]
                raise AssertionError(
                    f"FakeSlack: timed out after {timeout}s waiting for {count} call(s) to "
                    f"{method!r} (got {got}); methods recorded so far: {recorded}"
                )
            return self.calls_to(method)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until ``condition()`` holds, checked as each call arrives; fail after
        ``timeout`` seconds. The condition may read the calls (the lock is reentrant)."""
        with self._cond:
            if not self._cond.wait_for(condition, timeout=timeout):
                recorded = Counter(call.method for call in self.calls)
                raise AssertionError(
                    f"FakeSlack: timed out after {timeout}s waiting for a condition; "
                    f"calls so far: {dict(recorded)}"
                )

    # ------------------------------------------------------------------ behaviour control

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        drop_connection: bool = False,
    ) -> None:
        """Queue `times` faults for `method`, consumed FIFO one per incoming call."""
        if times < 0:
            raise ValueError("times must be >= 0")
        fault = _Fault(
            status=status, error=error, retry_after=retry_after, drop_connection=drop_connection
        )
        with self._lock:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def hold(self, method: str) -> threading.Event:
        """Make calls to `method` block in the server until the returned Event is set."""
        with self._lock:
            event = self._holds.get(method)
            if event is None or event.is_set():
                event = threading.Event()
                self._holds[method] = event
            return event

    def refuse_history(self, error: str | None = "missing_scope") -> None:
        """Make every conversations.history call fail with ``error`` (None: answer again).

        ``missing_scope`` answers like Slack, naming the scope needed for the channel.
        """
        with self._lock:
            self.history_error = error

    def messages_in(self, conversation: str) -> list[JsonDict]:
        """The messages stored in a conversation (a channel ID, or a user's DM), oldest first."""
        with self._lock:
            return [dict(message) for message in self.conversations.get(_dm(conversation), [])]

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Set (merge) profile fields returned by users.info for `user_id`."""
        with self._lock:
            self.users.setdefault(user_id, {}).update(fields)

    # ------------------------------------------------------------------ request pipeline

    def _handle_request(self, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        """Route, record, apply faults/holds and answer one request (runs on a server thread)."""
        split = urlsplit(raw_path)
        path = split.path
        content_type = headers.get("content-type", "")
        invalid_json = False
        if path.startswith("/api/"):
            method = unquote(path[len("/api/") :])
            params, invalid_json = _parse_params(split.query, content_type, body)
        elif path.startswith("/respond/"):
            method = "response_url"
            params, invalid_json = _parse_params(split.query, content_type, body)
        elif path.startswith("/upload/"):
            method = "file_upload"
            params = _pairs_to_params(parse_qsl(split.query, keep_blank_values=True))
            params["file_id"] = unquote(path[len("/upload/") :])
        else:
            return _json_reply({"ok": False, "error": "not_found"}, status=404)

        call = Call(
            method=method,
            params=params,
            headers=headers,
            path=raw_path,
            body=body,
            token=_extract_token(headers, params),
        )
        fault = self._record(call)
        self._wait_if_held(method)
        if fault is not None:
            return self._fault_reply(fault)
        try:
            if method == "response_url":
                if invalid_json:
                    return _text_reply("invalid_payload", status=400)
                return _text_reply("ok")
            if method == "file_upload":
                return _text_reply(f"OK - {len(body)}")
            return self._answer_api(call, invalid_json)
        except Exception as exc:  # a bug in the fake: answer loudly instead of hanging
            traceback.print_exc()
            return _json_reply({"ok": False, "error": f"fake_slack_error: {exc!r}"}, status=500)

    def _record(self, call: Call) -> _Fault | None:
        """Append the call, pop its next fault (atomically) and wake waiters."""
        with self._cond:
            self.calls.append(call)
            queue = self._faults.get(call.method)
            fault = queue.popleft() if queue else None
            self._cond.notify_all()
        return fault

    def _wait_if_held(self, method: str) -> None:
        """Block while `method` is held (up to HOLD_SAFETY_TIMEOUT)."""
        with self._lock:
            event = self._holds.get(method)
        if event is None:
            return
        if not event.wait(HOLD_SAFETY_TIMEOUT):
            print(
                f"FakeSlack: hold on {method!r} not released within {HOLD_SAFETY_TIMEOUT}s; "
                "proceeding",
                file=sys.stderr,
            )
            return
        with self._lock:
            if self._holds.get(method) is event:
                del self._holds[method]

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        """Translate a queued fault into a reply."""
        if fault.drop_connection:
            return _Reply(drop=True)
        headers: dict[str, str] = {}
        if fault.status == 429:
            headers["Retry-After"] = str(fault.retry_after or 1)
            return _json_reply(
                {"ok": False, "error": fault.error or "ratelimited"}, status=429, headers=headers
            )
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return _json_reply(
            {"ok": False, "error": fault.error or "internal_error"},
            status=fault.status,
            headers=headers,
        )

    def _answer_api(self, call: Call, invalid_json: bool) -> _Reply:
        """Answer a /api/<method> request like Slack would."""
        # oauth.v2.access is the one method called with the app's credentials, not a token.
        if call.token is None and call.method != "oauth.v2.access":
            return _json_reply({"ok": False, "error": "not_authed"})
        if invalid_json:
            return _json_reply({"ok": False, "error": "invalid_json"})
        handler = self._methods.get(call.method)
        if handler is None:
            return _json_reply({"ok": False, "error": "unknown_method"})
        return _json_reply(handler({**call.params, "_token": call.token}))

    def _next_ts(self) -> str:
        """A unique, increasing message ts like 1700000000.000100 (or from ``clock``)."""
        with self._lock:
            n = next(self._ts_counter)
            if self.clock is None:
                total = _TS_BASE_SECONDS * 1_000_000 + n * _TS_STEP_MICROS
            else:
                now = round(self.clock().timestamp() * 1_000_000)
                total = max(now, self._last_ts_micros + _TS_STEP_MICROS)
                self._last_ts_micros = total
        seconds, micros = divmod(total, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _next_id(self, prefix: str) -> str:
        """A unique Slack-style id such as V0000001 or F0000002."""
        with self._lock:
            n = next(self._id_counter)
        return f"{prefix}{n:07d}"

    # ------------------------------------------------------------------ method handlers

    def grant_install(
        self,
        code: str,
        *,
        team_id: str | None,
        team_name: str,
        installer_id: str,
        enterprise_id: str | None = None,
        org_wide: bool = False,
    ) -> str:
        """Let ``oauth.v2.access`` exchange ``code`` for a new bot token of ``team_id``; with
        ``org_wide``, of the whole organisation ``enterprise_id`` (no team, as Slack says it)."""
        owner = enterprise_id if org_wide else team_id
        token = f"xoxb-{owner}-{len(self.installed_tokens) + 1}"
        with self._lock:
            self.install_codes[code] = {
                "team_id": None if org_wide else team_id,
                "team_name": team_name,
                "installer_id": installer_id,
                "token": token,
                "enterprise_id": enterprise_id,
                "org_wide": org_wide,
            }
        return token

    def _oauth_v2_access(self, params: JsonDict) -> JsonDict:
        with self._lock:
            grant = self.install_codes.pop(str(params.get("code")), None)
            if grant is None:
                return {"ok": False, "error": "invalid_code"}
            self.installed_tokens[grant["token"]] = grant
        owner = grant["team_id"] or grant.get("enterprise_id")
        enterprise_id = grant.get("enterprise_id")
        return {
            "ok": True,
            "access_token": grant["token"],
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": f"UBOT{owner}",
            "app_id": "A0LEADLOOP",
            "team": None
            if grant.get("org_wide")
            else {"id": grant["team_id"], "name": grant["team_name"]},
            "enterprise": {"id": enterprise_id, "name": "Org"} if enterprise_id else None,
            "is_enterprise_install": bool(grant.get("org_wide")),
            "authed_user": {"id": grant["installer_id"]},
        }

    def _auth_revoke(self, params: JsonDict) -> JsonDict:
        token = str(params.get("_token"))
        with self._lock:
            self.revoked_tokens.append(token)
            self.installed_tokens.pop(token, None)
        return {"ok": True, "revoked": True}

    def _apps_connections_open(self, params: JsonDict) -> JsonDict:
        if not str(params.get("_token")).startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if self.socket_mode_url is None:
            return {"ok": False, "error": "fake_slack_has_no_socket_mode_url"}
        return {"ok": True, "url": self.socket_mode_url}

    def _auth_test(self, params: JsonDict) -> JsonDict:
        installed = self.installed_tokens.get(str(params.get("_token")))
        if installed is not None:
            owner = installed["team_id"] or installed.get("enterprise_id")
            answer = {
                "ok": True,
                "url": f"https://{owner.lower()}.slack.com/",
                "team": installed["team_name"],
                "user": "leadloop",
                "team_id": installed["team_id"],
                "user_id": f"UBOT{owner}",
                "bot_id": f"B{owner}",
                "is_enterprise_install": bool(installed.get("org_wide")),
            }
            if installed.get("enterprise_id"):
                answer["enterprise_id"] = installed["enterprise_id"]
            return answer
        answer = {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test Team",
            "user": "leadloop",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }
        if self.enterprise_id is not None:
            answer["enterprise_id"] = self.enterprise_id
        return answer

    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        ts = self._next_ts()
        message: JsonDict = {
            "type": "message",
            "text": params.get("text", ""),
            "blocks": _maybe_json(params.get("blocks", [])),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "ts": ts,
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        metadata = _maybe_json(params.get("metadata"))
        if isinstance(metadata, dict):
            message["metadata"] = metadata
        with self._cond:
            self.posts.append((params, ts))
            self.conversations.setdefault(_dm(str(params.get("channel"))), []).append(message)
        return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}

    def _stored_message(self, channel: Any, ts: Any) -> JsonDict | None:
        for message in self.conversations.get(_dm(str(channel)), []):
            if message["ts"] == ts:
                return message
        return None

    def _conversations_history(self, params: JsonDict) -> JsonDict:
        channel = params.get("channel")
        with self._lock:
            error = self.history_error
        if error == "missing_scope":
            needed = {"G": "groups:history", "D": "im:history"}.get(str(channel)[:1])
            return {
                "ok": False,
                "error": error,
                "needed": needed or "channels:history",
                "provided": "commands,chat:write",
            }
        if error is not None:
            return {"ok": False, "error": error}
        # Slack reads a conversation ID here: a user ID (which chat.postMessage takes) is not.
        if not isinstance(channel, str) or not channel or channel.startswith(("U", "W")):
            return {"ok": False, "error": "channel_not_found"}
        oldest, latest = _ts_micros(params.get("oldest")), _ts_micros(params.get("latest"))
        inclusive = _truthy(params.get("inclusive"))
        try:
            limit = int(params.get("limit") or _HISTORY_DEFAULT_LIMIT)
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_limit"}
        limit = min(max(limit, 1), _HISTORY_MAX_LIMIT)

        def shown(message: JsonDict) -> bool:
            ts = _ts_micros(message["ts"]) or 0
            if message.get("thread_ts") not in (None, message["ts"]):
                return False  # a thread reply, which Slack leaves to conversations.replies
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                return False
            return latest is None or ts < latest or (ts == latest and inclusive)

        with self._lock:
            matching = [dict(m) for m in self.conversations.get(channel, []) if shown(m)]
        matching.sort(key=lambda message: _ts_micros(message["ts"]) or 0, reverse=True)
        page = matching[:limit]
        if not _truthy(params.get("include_all_metadata")):
            for message in page:
                message.pop("metadata", None)
        return {
            "ok": True,
            "messages": page,
            "has_more": len(matching) > limit,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_replies(self, params: JsonDict) -> JsonDict:
        """A thread: its parent and its replies, oldest first (Slack's order here)."""
        channel, thread = params.get("channel"), params.get("ts")
        if not isinstance(channel, str) or not channel or not isinstance(thread, str):
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            error = self.history_error
            if error is not None:
                return {"ok": False, "error": error}
            messages = [
                dict(m)
                for m in self.conversations.get(channel, [])
                if m["ts"] == thread or m.get("thread_ts") == thread
            ]
        if not messages:
            return {"ok": False, "error": "thread_not_found"}
        messages.sort(key=lambda message: _ts_micros(message["ts"]) or 0)
        if not _truthy(params.get("include_all_metadata")):
            for message in messages:
                message.pop("metadata", None)
        return {"ok": True, "messages": messages, "has_more": False}

    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_update(self, params: JsonDict) -> JsonDict:
        with self._lock:
            stored = self._stored_message(params.get("channel"), params.get("ts"))
            if stored is not None:
                stored["text"] = params.get("text", stored["text"])
                if "blocks" in params:
                    stored["blocks"] = _maybe_json(params["blocks"])
        return {
            "ok": True,
            "channel": params.get("channel"),
            "ts": params.get("ts"),
            "text": params.get("text", ""),
        }

    def _chat_delete(self, params: JsonDict) -> JsonDict:
        with self._lock:
            stored = self._stored_message(params.get("channel"), params.get("ts"))
            if stored is not None:
                self.conversations[_dm(str(params.get("channel")))].remove(stored)
        return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}

    def _conversations_list(self, params: JsonDict) -> JsonDict:
        channels = [{"id": cid, "name": name} for cid, name in self.channels.items()]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _chat_get_permalink(self, params: JsonDict) -> JsonDict:
        channel, ts = params.get("channel"), str(params.get("message_ts", ""))
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _views(self, params: JsonDict) -> JsonDict:
        view = _maybe_json(params.get("view"))
        view_dict: JsonDict = view if isinstance(view, dict) else {}
        view_id = params.get("view_id")
        return {
            "ok": True,
            "view": {
                "id": view_id if isinstance(view_id, str) else self._next_id("V"),
                **view_dict,
            },
        }

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        users = params.get("users")
        if isinstance(users, list):
            users = ",".join(str(u) for u in users)
        if isinstance(users, str) and users:
            return {"ok": True, "channel": {"id": "D" + users.replace(",", "")}}
        channel = params.get("channel")
        if isinstance(channel, str) and channel:
            return {"ok": True, "channel": {"id": channel}}
        return {"ok": False, "error": "users_list_not_supplied"}

    def _conversations_join(self, params: JsonDict) -> JsonDict:
        return {"ok": True, "channel": {"id": params.get("channel")}}

    def _conversations_info(self, params: JsonDict) -> JsonDict:
        return {
            "ok": True,
            "channel": {"id": params.get("channel"), "name": "general", "is_member": True},
        }

    def _users_info(self, params: JsonDict) -> JsonDict:
        user = params.get("user")
        if not isinstance(user, str) or not user:
            return {"ok": False, "error": "user_not_found"}
        with self._lock:
            extra = dict(self.users.get(user, {}))
        return {
            "ok": True,
            "user": {
                "id": user,
                "name": user.lower(),
                "tz": "America/New_York",
                "tz_offset": -18000,
                "is_bot": False,
                **extra,
            },
        }

    def _usergroups_users_list(self, params: JsonDict) -> JsonDict:
        group = params.get("usergroup")
        with self._lock:
            members = self.usergroups.get(group) if isinstance(group, str) else None
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _files_get_upload_url(self, params: JsonDict) -> JsonDict:
        file_id = self._next_id("F")
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: JsonDict) -> JsonDict:
        entries = _maybe_json(params.get("files", []))
        if not isinstance(entries, list):
            return {"ok": False, "error": "invalid_arguments"}
        files = [
            {"id": entry.get("id"), "title": entry.get("title")}
            for entry in entries
            if isinstance(entry, dict)
        ]
        return {"ok": True, "files": files}
