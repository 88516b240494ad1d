"""A fake of Slack's Socket Mode endpoint: a WebSocket server on 127.0.0.1 (standard library).

It speaks the part of Socket Mode a bot sees: after the handshake it sends ``hello``; the
test then hands it envelopes (``slash_commands``, ``interactive``, ``events_api``) and waits
for the bot's acknowledgement, ``{"envelope_id": ...}`` with an optional ``payload``.
The fake Web API's ``apps.connections.open`` hands out its URL (``FakeSlack.socket_mode_url``).

It also plays the edges of a connection's life, and times what the client does there:

- ``refresh()`` sends ``disconnect`` with ``reason: refresh_requested``, as Slack does before
  it closes a connection; the old connection is closed once the client has a new one (or
  after a deadline), so envelopes sent meanwhile land on whichever is open.
- ``drop()`` closes the newest connection abruptly: no close frame, only TCP's FIN.
- ``mute()`` stops answering the newest connection's pings, as a dead network path would.
- ``refuse_handshakes(n)`` answers the next ``n`` handshakes with a 503.
- ``hellos`` holds when each connection was greeted; ``ack_wait(envelope_id)`` how long an
  envelope waited, from when the test sent it (or asked to, with no connection open) to
  its acknowledgement.

Only what slack-sdk's Socket Mode clients use is implemented: an RFC 6455 handshake, text,
ping, pong and close frames, masked from the client and unmasked from the server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["FakeSocketMode"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
_OP_CONTINUATION, _OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA
_MAX_HANDSHAKE = 16_384

JsonDict = dict[str, Any]


class _Closed(Exception):
    """The client went away or closed the WebSocket."""


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame, as a server sends it."""
    length = len(payload)
    if length <= 125:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


@dataclass
class _Connection:
    """One client's WebSocket; ``send`` may be called from any thread."""

    sock: socket.socket
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    greeted: bool = False  # sent ``hello``: envelopes may go to it
    muted: bool = False  # answers no ping: a path that silently stopped carrying anything

    def send(self, opcode: int, payload: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(encode_frame(opcode, payload))

    def receive_exactly(self, count: int) -> bytes:
        chunks, missing = [], count
        while missing:
            chunk = self.sock.recv(missing)
            if not chunk:
                raise _Closed
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def receive_frame(self) -> tuple[bool, int, bytes]:
        """(final, opcode, unmasked payload) of the next frame."""
        first, second = self.receive_exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.receive_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.receive_exactly(8))
        mask = self.receive_exactly(4) if second & 0x80 else b"\0\0\0\0"
        data = self.receive_exactly(length)
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))
        return bool(first & 0x80), first & 0x0F, payload


class FakeSocketMode:
    """Slack's Socket Mode WebSocket endpoint, for one test; use it as a context manager."""

    def __init__(
        self, *, app_id: str = "A0LEADLOOP", ack_clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app_id = app_id
        self._ack_clock = ack_clock  # what ack_wait() measures on; a test may inject one
        self._envelopes_waiting = 0  # sent with no client connected yet
        self.acks: list[JsonDict] = []
        self.handshakes: list[str] = []  # the request line of each client's handshake
        self.hellos: list[float] = []  # time.monotonic() of each ``hello`` sent
        self.disconnects: list[float] = []  # when each ``refresh()`` asked the client to move
        self.drops: list[float] = []  # when each ``drop()`` cut a connection
        self._sent_at: dict[str, float] = {}
        self._acked_at: dict[str, float] = {}
        self._refusals = 0
        self._cond = threading.Condition()
        self._connections: list[_Connection] = []
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._stopping = False
        self.pings_answered = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSocketMode:
        """Listen on an ephemeral port of 127.0.0.1 and accept clients on a daemon thread."""
        listener = socket.create_server(("127.0.0.1", 0))
        self._listener = listener
        self._spawn(self._accept_loop, name=f"FakeSocketMode:{self.port}")
        return self

    def stop(self) -> None:
        """Say goodbye (a close frame, 1001 going away) to every client, close every
        connection and the listening socket; join the threads. Safe to call twice."""
        with self._cond:
            self._stopping = True
            connections = list(self._connections)
            self._cond.notify_all()
        for connection in connections:
            try:
                connection.send(_OP_CLOSE, struct.pack("!H", 1001))
            except OSError:
                pass
            _shutdown(connection.sock)
        if self._listener is not None and self._listener.fileno() != -1:
            _shutdown(self._listener)
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._listener is None:
            raise RuntimeError("FakeSocketMode is not running; call start() first")
        return int(self._listener.getsockname()[1])

    @property
    def url(self) -> str:
        """What ``apps.connections.open`` answers: ``ws://`` since the fake has no TLS."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket=fake-ticket&app_id={self.app_id}"

    # ------------------------------------------------------------------ what tests use

    def wait_connected(self, timeout: float = 10.0) -> None:
        """Block until a client finished the handshake and was sent ``hello``."""
        with self._cond:
            if not self._cond.wait_for(self._newest, timeout=timeout):
                raise AssertionError(f"FakeSocketMode: no client connected within {timeout}s")

    def wait_for_hello(self, *, since: float, timeout: float = 10.0) -> float:
        """Block until a connection was greeted at or after ``since`` (``time.monotonic()``);
        returns when."""

        def greeted() -> float | None:
            return next((at for at in self.hellos if at >= since), None)

        with self._cond:
            if not self._cond.wait_for(lambda: greeted() is not None, timeout=timeout):
                raise AssertionError(
                    f"FakeSocketMode: no new connection within {timeout}s "
                    f"({len(self.hellos)} greeted in all)"
                )
            at = greeted()
            assert at is not None
            return at

    @property
    def open_connections(self) -> int:
        """How many greeted connections are open now."""
        with self._cond:
            return sum(1 for connection in self._connections if connection.greeted)

    def wait_all_closed(self, timeout: float = 5.0) -> bool:
        """Block until no greeted connection is open (the server saw each close)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not any(connection.greeted for connection in self._connections),
                timeout=timeout,
            )

    def send_envelope(
        self,
        envelope_type: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool = True,
        wait: float = 0.0,
    ) -> str:
        """Deliver ``payload`` to the newest greeted connection as Slack would; returns its
        envelope_id. With none open, wait up to ``wait`` seconds for one: the envelope's
        wait for its ack counts from now, as Slack's 3 seconds do."""
        envelope_id = str(uuid.uuid4())
        with self._cond:
            self._sent_at[envelope_id] = self._ack_clock()
            self._envelopes_waiting += 1
            self._cond.notify_all()
            try:
                if not self._cond.wait_for(self._newest, timeout=wait):
                    raise AssertionError("FakeSocketMode: no client is connected")
            finally:
                self._envelopes_waiting -= 1
            connection = self._newest()
            assert connection is not None
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
        }
        connection.send(_OP_TEXT, json.dumps(envelope).encode())
        return envelope_id

    def wait_for_envelope_waiting(self, timeout: float = 5.0) -> bool:
        """Block until ``send_envelope`` holds an envelope while no client is connected."""
        with self._cond:
            return self._cond.wait_for(lambda: self._envelopes_waiting > 0, timeout=timeout)

    def ack_wait(self, envelope_id: str) -> float | None:
        """Seconds from sending ``envelope_id`` to its acknowledgement; None if not acked."""
        with self._cond:
            acked = self._acked_at.get(envelope_id)
            return None if acked is None else acked - self._sent_at[envelope_id]

    def refresh(self, *, overlap: float = 0.5, deadline: float = 10.0) -> float:
        """Ask the newest connection's client to move (``disconnect``, ``refresh_requested``),
        as Slack does before closing a connection; returns when it was asked.

        The old connection is closed (with a close frame) ``overlap`` seconds after a new
        one was greeted, or ``deadline`` seconds after asking if none comes.
        """
        with self._cond:
            old = self._newest()
            if old is None:
                raise AssertionError("FakeSocketMode: no client is connected")
        notice = {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "fake-socket-mode"},
        }
        asked = time.monotonic()
        with self._cond:
            self.disconnects.append(asked)
        old.send(_OP_TEXT, json.dumps(notice).encode())

        def close_old() -> None:
            with self._cond:
                moved = self._cond.wait_for(
                    lambda: self._stopping or any(at >= asked for at in self.hellos),
                    timeout=deadline,
                )
                if moved:
                    self._cond.wait_for(lambda: self._stopping, timeout=overlap)
            _close_politely(old)

        self._spawn(close_old, name="FakeSocketMode-refresh")
        return asked

    def drop(self) -> float:
        """Cut the newest connection without a close frame (a dead load balancer, a network
        blip): the client only sees the socket end. Returns when."""
        with self._cond:
            connection = self._newest()
            if connection is None:
                raise AssertionError("FakeSocketMode: no client is connected")
            self._connections.remove(connection)
            at = time.monotonic()
            self.drops.append(at)
        _shutdown(connection.sock)
        return at

    def wait_for_pings(self, count: int, timeout: float = 5.0) -> bool:
        """Block until ``count`` more pings than now have been answered."""
        with self._cond:
            target = self.pings_answered + count
            return self._cond.wait_for(lambda: self.pings_answered >= target, timeout=timeout)

    def mute(self) -> None:
        """Stop answering the newest connection's pings, and send nothing on it: a network
        path that died without closing. Only the client's pings can tell."""
        with self._cond:
            connection = self._newest()
            if connection is None:
                raise AssertionError("FakeSocketMode: no client is connected")
            connection.muted = True
            connection.greeted = False  # no envelope goes there any more

    def refuse_handshakes(self, count: int) -> None:
        """Answer the next ``count`` handshakes with 503, as Slack does when it is unwell."""
        with self._cond:
            self._refusals = count

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> JsonDict:
        """Block until the client acknowledged ``envelope_id``; returns the acknowledgement."""

        def ack() -> JsonDict | None:
            return next((a for a in self.acks if a.get("envelope_id") == envelope_id), None)

        with self._cond:
            if not self._cond.wait_for(lambda: ack() is not None, timeout=timeout):
                raise AssertionError(
                    f"FakeSocketMode: envelope {envelope_id} not acknowledged within {timeout}s; "
                    f"acknowledgements so far: {self.acks}"
                )
            found = ack()
            assert found is not None
            return found

    # ------------------------------------------------------------------ server side

    def _newest(self) -> _Connection | None:
        """The newest greeted connection; the caller holds ``_cond``."""
        return next((c for c in reversed(self._connections) if c.greeted), None)

    def _spawn(self, target: Any, *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _address = self._listener.accept()
            except OSError:
                return  # stop() closed the listener
            with self._cond:
                if self._stopping:
                    sock.close()
                    return
            self._spawn(self._serve, sock, name="FakeSocketMode-connection")

    def _serve(self, sock: socket.socket) -> None:
        connection = _Connection(sock)
        try:
            if not self._handshake(sock):
                return
            with self._cond:
                self._connections.append(connection)
                count = len(self._connections)
            # Slack says hello first; a client may not act on envelopes before it.
            hello = {
                "type": "hello",
                "num_connections": count,
                "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 3600},
                "connection_info": {"app_id": self.app_id},
            }
            with self._cond:
                connection.send(_OP_TEXT, json.dumps(hello).encode())
                connection.greeted = True
                self.hellos.append(time.monotonic())
                self._cond.notify_all()
            self._receive_loop(connection)
        except (_Closed, OSError):
            pass
        finally:
            with self._cond:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._cond.notify_all()
            sock.close()

    def _handshake(self, sock: socket.socket) -> bool:
        """Read the upgrade request and answer 101; False (after a 400) if it is not one."""
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(1024)
            if not chunk or len(request) > _MAX_HANDSHAKE:
                return False
            request += chunk
        head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines)
        }
        key = headers.get("sec-websocket-key")
        with self._cond:
            refused, self._refusals = self._refusals > 0, max(0, self._refusals - 1)
            self.handshakes.append(request_line)
        if refused:
            sock.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            return False
        if (
            not request_line.startswith("GET ")
            or headers.get("upgrade", "").lower() != "websocket"
            or headers.get("sec-websocket-version") != "13"
            or not key
        ):
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
            ).encode()
        )
        return True

    def _receive_loop(self, connection: _Connection) -> None:
        message = b""
        while True:
            final, opcode, payload = connection.receive_frame()
            if opcode == _OP_PING:
                if not connection.muted:
                    connection.send(_OP_PONG, payload)
                    with self._cond:
                        self.pings_answered += 1
                        self._cond.notify_all()
            elif opcode == _OP_CLOSE:
                connection.send(_OP_CLOSE, payload[:2])
                return
            elif opcode in (_OP_TEXT, _OP_CONTINUATION):
                message += payload
                if final:
                    self._record(message)
                    message = b""

    def _record(self, message: bytes) -> None:
        try:
            decoded = json.loads(message)
        except ValueError:
            decoded = {"unparsable": message.decode("utf-8", errors="replace")}
        with self._cond:
            self.acks.append(decoded)
            envelope_id = decoded.get("envelope_id") if isinstance(decoded, dict) else None
            if isinstance(envelope_id, str):
                self._acked_at.setdefault(envelope_id, self._ack_clock())
            self._cond.notify_all()


def _close_politely(connection: _Connection) -> None:
    """A close frame (1001, going away), then the end of the socket."""
    try:
        connection.send(_OP_CLOSE, struct.pack("!H", 1001))
    except OSError:
        pass
    _shutdown(connection.sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
