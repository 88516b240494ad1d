"""leadloop's Socket Mode client: slack-sdk's client interface, so Bolt's Socket Mode code
runs on it, over websocket-client, built for what Slack does at a connection's edges.

slack-sdk's clients were measured against ``tests/fake_socket_mode.py`` (the numbers are in
docs/architecture.md). Its built-in client keeps reading the old socket for up to 3 s after
a refresh, so an envelope on the new one waited 3.1 s, and it did not notice a socket that
Slack closed without a close frame for tens of seconds; its websocket-client one closes the
old connection before the new one is open, so an envelope in between was never acked. This
client:

- refreshes make-before-break: on ``disconnect`` it opens a new connection and keeps reading
  the old one until Slack closes it (or ``RETIRE_AFTER`` seconds after the new one said
  hello), so envelopes sent to either are read at once;
- replaces a connection that ended (closed by Slack, the TCP connection gone, no pong for
  ``STALE_AFTER`` seconds) at once, then after 0.25, 0.5, 1, ... up to 10 s while it fails;
- acknowledges each envelope on the connection it came on while that one is open;
- logs one line when leadloop is connected and one when it is not, never one per ping.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Queue
from time import monotonic
from typing import Any

import websocket
from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientNotConnectedError
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack_shapes import payload_problem

logger = logging.getLogger(__name__)

CONNECTED = "leadloop is connected to Slack over Socket Mode"
LOST = "leadloop lost its Socket Mode connection to Slack; reconnecting"

PING_INTERVAL = 5.0  # seconds between our pings on each connection
STALE_AFTER = 12.0  # a connection that sent nothing, not even a pong, for this long is cut
HELLO_TIMEOUT = 10.0  # a new connection must say hello within this
HANDSHAKE_TIMEOUT = 10.0
RETIRE_AFTER = 10.0  # an old connection still open this long after its successor's hello
CLOSE_GRACE = 2.0  # after our close frame, the socket is cut if Slack has not answered
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0)  # after the 1st, 2nd, ... failure
STILL_FAILING_EVERY = 60.0  # seconds between "still not connected" lines
_TICK = 0.25


@dataclass(eq=False)
class _Connection:
    """One WebSocket to Slack, read on its own thread."""

    ws: websocket.WebSocket
    number: int
    opened_at: float = field(default_factory=monotonic)
    last_heard: float = field(default_factory=monotonic)
    last_ping: float = field(default_factory=monotonic)
    greeted_at: float | None = None
    retiring: bool = False  # Slack asked us to move (``disconnect``)
    succeeded_at: float | None = None  # when a newer connection said hello
    closing_at: float | None = None  # when we sent our close frame
    ended: bool = False

    def send(self, text: str) -> None:
        self.ws.send(text)

    def ping(self) -> None:
        self.last_ping = monotonic()
        self.ws.ping()

    def close_politely(self) -> None:
        """Our close frame; the reader ends when Slack answers, or ``cut`` after a grace."""
        if self.closing_at is not None:
            return
        self.closing_at = monotonic()
        try:
            self.ws.send_close(websocket.STATUS_NORMAL)
        except (websocket.WebSocketException, OSError):
            self.cut()

    def cut(self) -> None:
        """End the TCP connection now; its reader wakes up and reports the end."""
        sock = self.ws.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LeadloopSocketModeClient(BaseSocketModeClient):
    """Socket Mode for a Bolt app: connections kept open, refreshed and replaced by two
    threads (one opens connections, one pings and retires them), each read by its own."""

    def __init__(
        self,
        *,
        app_token: str,
        web_client: WebClient,
        library_logger: logging.Logger | None = None,
        concurrency: int = 10,
        ping_interval: float = PING_INTERVAL,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.app_token = app_token
        self.web_client = web_client
        # What slack-sdk's and Bolt's shared Socket Mode code logs (listener failures).
        self.logger = library_logger or logging.getLogger("slack_sdk.socket_mode")
        self.message_queue: Queue[str] = Queue()  # unused: messages go straight to workers
        self.message_listeners = []
        self.socket_mode_request_listeners = []
        self.message_workers = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="leadloop-socket-mode"
        )
        self.closed = False
        self.connect_operation_lock = threading.Lock()
        self.ping_interval = ping_interval
        self.stale_after = stale_after
        self._cond = threading.Condition()
        self._connections: list[_Connection] = []  # oldest first
        self._origin: dict[str, _Connection] = {}  # envelope_id: the connection it came on
        self._numbered = 0
        self._connected = False
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ slack-sdk's interface

    def connect(self) -> None:
        """Open the first connection and keep one open from then on.

        Raises ``SlackApiError`` when Slack refuses the app token; a failed handshake is
        tried again at once, and logged if that fails too.
        """
        try:
            self._open_connection()
        except (websocket.WebSocketException, OSError) as error:
            logger.debug("the first Socket Mode handshake failed: %s", _reason(error))
        if not self._threads:
            for target, name in (
                (self._keep_connected, "leadloop-socket-mode-connect"),
                (self._watch, "leadloop-socket-mode-watch"),
            ):
                thread = threading.Thread(target=target, name=name, daemon=True)
                self._threads.append(thread)
                thread.start()

    def is_connected(self) -> bool:
        with self._cond:
            return self._connected

    def disconnect(self) -> None:
        with self._cond:
            connections = list(self._connections)
        for connection in connections:
            connection.close_politely()

    def close(self) -> None:
        """Take no new envelope, acknowledge those in hand, then close every connection."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self.message_workers.shutdown(wait=True)
        self.disconnect()
        with self._cond:
            self._cond.wait_for(lambda: not self._connections, timeout=CLOSE_GRACE)
            left = list(self._connections)
        for connection in left:
            connection.cut()
        for thread in self._threads:
            thread.join(timeout=5)

    def send_message(self, message: str) -> None:
        connection = self._newest_greeted()
        if connection is None:
            raise SlackClientNotConnectedError("no Socket Mode connection is open")
        connection.send(message)

    def send_socket_mode_response(self, response: dict[str, Any] | SocketModeResponse) -> None:
        """Acknowledge on the envelope's own connection, or else on the newest."""
        body = response.to_dict() if isinstance(response, SocketModeResponse) else response
        envelope_id = body.get("envelope_id")
        with self._cond:
            origin = self._origin.pop(str(envelope_id), None)
        text = json.dumps(body)
        newest = self._newest_greeted()
        for connection in dict.fromkeys(c for c in (origin, newest) if c is not None):
            if connection.ended:
                continue
            try:
                connection.send(text)
                return
            except (websocket.WebSocketException, OSError):
                continue
        logger.warning(
            "could not acknowledge Socket Mode envelope %s: no connection to Slack is open",
            envelope_id,
        )

    # ------------------------------------------------------------------ opening connections

    def _open_connection(self) -> _Connection:
        response = self.web_client.apps_connections_open(app_token=self.app_token)
        url = str(response["url"])
        ws = websocket.create_connection(
            url, timeout=HANDSHAKE_TIMEOUT, enable_multithread=True, skip_utf8_validation=True
        )
        ws.settimeout(None)  # the reader blocks; ``cut`` wakes it
        with self._cond:
            self._numbered += 1
            connection = _Connection(ws=ws, number=self._numbered)
            self._connections.append(connection)
        reader = threading.Thread(
            target=self._read,
            args=(connection,),
            name=f"leadloop-socket-mode-read-{connection.number}",
            daemon=True,
        )
        reader.start()
        if self.closed:  # close() ran while this one was opening
            connection.close_politely()
        return connection

    def _needs_connection(self) -> bool:
        """No connection is open, or about to be, that Slack has not asked us to leave."""
        return not any(c for c in self._connections if not c.retiring and c.closing_at is None)

    def _keep_connected(self) -> None:
        failures, first_failure, last_said = 0, 0.0, 0.0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self.closed or self._needs_connection())
                if self.closed:
                    return
            try:
                self._open_connection()
            except (SlackApiError, websocket.WebSocketException, OSError) as error:
                failures += 1
                delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
                now = monotonic()
                if failures == 1:
                    first_failure = last_said = now
                    logger.warning(_could_not_connect(error, retry_in=delay))
                elif now - last_said >= STILL_FAILING_EVERY:
                    last_said = now
                    logger.warning(
                        "leadloop is still not connected to Slack over Socket Mode after %d "
                        "attempts in %.0f s (%s); trying again every %.0f s",
                        failures,
                        now - first_failure,
                        _reason(error),
                        delay,
                    )
                else:
                    logger.debug("Socket Mode attempt %d failed: %s", failures, _reason(error))
                with self._cond:
                    if self._cond.wait_for(lambda: self.closed, timeout=delay):
                        return
            else:
                failures = 0

    # ------------------------------------------------------------------ reading

    def _read(self, connection: _Connection) -> None:
        try:
            while True:
                opcode, data = connection.ws.recv_data(control_frame=True)
                connection.last_heard = monotonic()
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self._on_text(connection, data.decode("utf-8", errors="replace"))
                elif opcode == websocket.ABNF.OPCODE_CLOSE:
                    return
        except (websocket.WebSocketException, OSError, ValueError) as error:
            logger.debug("Socket Mode connection %d ended: %s", connection.number, error)
        finally:
            connection.ws.shutdown()  # type: ignore[no-untyped-call]  # unannotated there
            self._ended(connection)

    def _on_text(self, connection: _Connection, text: str) -> None:
        try:
            message = json.loads(text) if text.startswith("{") else {}
        except ValueError:
            message = {}
        if not isinstance(message, dict):
            message = {}
        kind = message.get("type")
        if kind == "disconnect":
            logger.debug(
                "Slack asks leadloop to leave Socket Mode connection %d (%s)",
                connection.number,
                message.get("reason"),
            )
            with self._cond:
                connection.retiring = True
                self._cond.notify_all()
            return
        if kind == "hello":
            self._greeted(connection)
        envelope_id = message.get("envelope_id")
        with self._cond:
            if self.closed:
                return  # not acknowledged: Slack delivers it elsewhere or retries it
            if isinstance(envelope_id, str):
                self._origin[envelope_id] = connection
            self.message_workers.submit(self.run_message_listeners, message, text)

    def _greeted(self, connection: _Connection) -> None:
        with self._cond:
            now = monotonic()
            connection.greeted_at = now
            for older in self._connections:
                if older is not connection and older.retiring and older.succeeded_at is None:
                    older.succeeded_at = now
            self._report_state()

    def _ended(self, connection: _Connection) -> None:
        with self._cond:
            connection.ended = True
            if connection in self._connections:
                self._connections.remove(connection)
            for envelope_id in [e for e, c in self._origin.items() if c is connection]:
                del self._origin[envelope_id]
            self._report_state()
            self._cond.notify_all()

    def _report_state(self) -> None:
        """One line per change between connected and not; the caller holds ``_cond``."""
        connected = any(c.greeted_at is not None for c in self._connections)
        if connected == self._connected:
            return
        self._connected = connected
        if connected:
            logger.info(CONNECTED)
        elif not self.closed:
            logger.warning(LOST)

    def _newest_greeted(self) -> _Connection | None:
        with self._cond:
            return next(
                (
                    c
                    for c in reversed(self._connections)
                    if c.greeted_at is not None and not c.ended
                ),
                None,
            )

    # ------------------------------------------------------------------ watching

    def _watch(self) -> None:
        """Ping each connection, cut the silent and the unanswered, retire the replaced."""
        while True:
            with self._cond:
                if self._cond.wait_for(lambda: self.closed, timeout=_TICK):
                    return
                connections = list(self._connections)
            now = monotonic()
            for connection in connections:
                self._check(connection, now)

    def _check(self, connection: _Connection, now: float) -> None:
        if connection.closing_at is not None:
            if now - connection.closing_at > CLOSE_GRACE:
                connection.cut()
        elif connection.greeted_at is None:
            if now - connection.opened_at > HELLO_TIMEOUT:
                logger.debug("Socket Mode connection %d never said hello", connection.number)
                connection.cut()
        elif connection.succeeded_at is not None and now - connection.succeeded_at > RETIRE_AFTER:
            connection.close_politely()
        elif now - connection.last_heard > self.stale_after:
            logger.debug("Socket Mode connection %d went silent", connection.number)
            connection.cut()
        elif now - connection.last_ping >= self.ping_interval:
            try:
                connection.ping()
            except (websocket.WebSocketException, OSError):
                connection.cut()


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's Socket Mode adapter, on ``LeadloopSocketModeClient``."""

    client: LeadloopSocketModeClient

    def __init__(self, app: App, *, app_token: str, web_client: WebClient, **options: Any):
        self.app = app
        self.client = LeadloopSocketModeClient(
            app_token=app_token, web_client=web_client, **options
        )
        self.client.socket_mode_request_listeners.append(self.handle)

    def connect(self) -> None:
        """Open the first connection; raises ``SlackApiError`` if Slack refuses the token."""
        self.client.connect()

    def close(self) -> None:
        """Acknowledge the envelopes in hand, then close the connections."""
        self.client.close()

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        """Run the Bolt app on one envelope and acknowledge it.

        A payload of a shape Bolt can't read (it would raise in a listener matcher, with a
        traceback and no ack, and Slack would send it again and again) is acknowledged
        with an empty answer and one line in the log, as the HTTP path answers it 400.
        """
        start = time.time()
        problem = payload_problem(req.payload)
        if problem is not None:
            logger.warning("refused a Socket Mode envelope of the wrong shape: %s", problem)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        send_response(client, req, run_bolt_app(self.app, req), start)


def _reason(error: BaseException) -> str:
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error')}"
    text = str(error).split(" -+-+- ")[0]  # websocket-client appends the headers
    return f"{type(error).__name__}: {text}"[:200]


def _could_not_connect(error: BaseException, *, retry_in: float) -> str:
    return (
        f"leadloop could not connect to Slack over Socket Mode ({_reason(error)}); "
        f"trying again in {retry_in:g} s"
    )
