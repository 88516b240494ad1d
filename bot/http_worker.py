"""gunicorn's threaded worker, with each request read whole before a thread sees it.

gunicorn's ``gthread`` worker hands a connection to a thread, and the thread reads the
request: a client that trickles its headers or its body holds that thread for as long as
it likes, and a few such clients hold them all (``/healthz`` and Slack's requests then time
out). Here the worker's main loop, which already waits on every socket with a selector,
reads each request itself, without blocking, into a buffer, within deadlines and size caps
(``RequestLimits``). Only a complete request goes to a thread, through gunicorn's own
parser reading from that buffer: a thread never waits for a client to send.

What is refused never reaches the app: a short answer with ``Connection: close``, then a
brief linger that discards what the client still sends (so that it reads the answer rather
than a reset), and at most one summary line in the log a minute.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import selectors
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Any

from gunicorn.errors import ConfigError
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.refusals import REFUSAL_WINDOW_SECONDS
from bot.server import MAX_BODY_BYTES
from bot.workspace_gate import OncePerKey

logger = logging.getLogger("leadloop.refusals")

HEAD_END = b"\r\n\r\n"
READ_SIZE = 64 * 1024


@dataclass(frozen=True)
class RequestLimits:
    """How long a client may take to send a request, and how large it may be."""

    # From the accept (or a kept-alive connection's first byte) to the end of the headers.
    header_seconds: float = 5.0
    # From the end of the headers to the end of the body.
    body_seconds: float = 10.0
    header_bytes: int = 16 * 1024
    # Slack's payloads are a few KB; the lead webhook takes up to 1,000,000 bytes.
    body_bytes: int = MAX_BODY_BYTES
    # Bodies a worker holds at once, all connections together: 1,000 connections sending
    # 1 MB each must not take a gigabyte.
    buffered_body_bytes: int = 64 * 1024 * 1024
    # After a refusal: how long the rest of the request is read and thrown away.
    linger_seconds: float = 2.0
    # A thread writing an answer to a client that does not read it gives up after this.
    send_seconds: float = 10.0


# The limits every worker applies. A test may replace them before the server forks.
LIMITS = RequestLimits()


@dataclass(frozen=True)
class Refusal:
    """An answer given in place of the app's, and what the log calls it."""

    status: HTTPStatus
    error: str
    summary: str

    def response(self) -> bytes:
        """The whole HTTP answer: short, JSON like the app's errors, and closing."""
        body = json.dumps({"error": self.error}).encode()
        head = (
            f"HTTP/1.1 {self.status.value} {self.status.phrase}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        return head.encode() + body


TOO_SLOW = Refusal(HTTPStatus.REQUEST_TIMEOUT, "request too slow", "too slow")
HEADERS_TOO_LARGE = Refusal(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers too large", "headers too large"
)
BODY_TOO_LARGE = Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large", "body too large")
# Slack always sends a Content-Length, and so does every CRM webhook we know: a chunked
# body, whose size is known only at its end, is refused rather than buffered chunk by chunk.
LENGTH_REQUIRED = Refusal(
    HTTPStatus.LENGTH_REQUIRED, "Content-Length header required", "chunked or encoded body"
)
BAD_LENGTH = Refusal(HTTPStatus.BAD_REQUEST, "malformed Content-Length", "bad Content-Length")
BUSY = Refusal(
    HTTPStatus.SERVICE_UNAVAILABLE, "too many requests arriving; try again", "too many bodies"
)


@dataclass(frozen=True)
class Head:
    """What the headers of a request say about the rest of it."""

    size: int  # bytes up to and including the empty line that ends the headers
    body_length: int
    expects_continue: bool


def read_head(
    data: bytes | bytearray, limits: RequestLimits, *, since: int = 0
) -> Head | Refusal | None:
    """The request's head once it is all in ``data``; None while it is still arriving.

    Frames the request the way gunicorn's parser will, so that the thread it goes to never
    needs a byte more: one Content-Length of ASCII digits, or none (no body). ``since``
    is how much of ``data`` was already searched for the end of the head.
    """
    start = 2 if data.startswith(b"\r\n") else 0  # gunicorn skips one empty line first
    end = data.find(HEAD_END, max(start, since - len(HEAD_END) + 1))
    if end < 0:
        return HEADERS_TOO_LARGE if len(data) > limits.header_bytes else None
    size = end + len(HEAD_END)
    if size > limits.header_bytes:
        return HEADERS_TOO_LARGE
    request_line, *fields = bytes(data[start:end]).split(b"\r\n")
    lengths: list[bytes] = []
    expects_continue = False
    for line in fields:
        name, _, value = line.partition(b":")
        name, value = name.lower(), value.strip(b" \t")
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            return LENGTH_REQUIRED
        elif name == b"expect":
            expects_continue = value.lower() == b"100-continue"
    if not lengths:
        return Head(size=size, body_length=0, expects_continue=False)
    if len(lengths) > 1 or not (lengths[0].isascii() and lengths[0].isdigit()):
        return BAD_LENGTH
    body_length = int(lengths[0])
    if body_length > limits.body_bytes:
        return BODY_TOO_LARGE
    http11 = request_line.endswith(b" HTTP/1.1")  # gunicorn ignores Expect from HTTP/1.0
    return Head(size=size, body_length=body_length, expects_continue=expects_continue and http11)


@dataclass(eq=False)
class ArrivingRequest:
    """A connection whose next request the main loop is reading."""

    conn: Any  # gunicorn's TConn
    deadline: float
    timer: int = -1  # its deadline's number in ``Deadlines``
    data: bytearray = field(default_factory=bytearray)
    head: Head | None = None
    searched: int = 0  # bytes of ``data`` already searched for the end of the head

    @property
    def complete(self) -> bool:
        """Headers and body are all in ``data`` (and perhaps the start of the next one)."""
        return self.head is not None and len(self.data) >= self.head.size + self.head.body_length


class Deadlines:
    """Connections to act on at given instants, soonest first.

    A cancelled deadline lets go of its connection at once: a request that was answered
    is not kept in memory until the deadline it no longer has.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._waiting: dict[int, Any] = {}
        self._numbers = itertools.count()

    def add(self, when: float, conn: Any) -> int:
        """Remember ``conn`` until ``when``; the deadline's number, to cancel it."""
        number = next(self._numbers)
        self._waiting[number] = conn
        heapq.heappush(self._heap, (when, number))
        return number

    def cancel(self, number: int) -> None:
        """Forget a deadline (one that passed or was cancelled already: nothing happens)."""
        self._waiting.pop(number, None)

    def due(self, now: float) -> list[Any]:
        """The connections whose deadlines have passed, each forgotten as it is returned."""
        passed = []
        while self._heap and self._heap[0][0] <= now:
            _, number = heapq.heappop(self._heap)
            conn = self._waiting.pop(number, None)
            if conn is not None:
                passed.append(conn)
        return passed


class RefusalTally:
    """Counts refusals; logs one line summing them up, at most once a minute."""

    def __init__(
        self,
        *,
        interval: float = REFUSAL_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counts: Counter[Refusal] = Counter()
        self._once = OncePerKey(interval=interval, clock=clock)
        self._interval = interval

    def note(self, refusal: Refusal) -> None:
        """Count one refusal."""
        self._counts[refusal] += 1

    def log_if_due(self) -> None:
        """Log what was counted since the last line, unless a line went out this minute."""
        if not self._counts or not self._once.allow("refused"):
            return
        parts = ", ".join(
            f"{count} {refusal.summary} ({refusal.status.value})"
            for refusal, count in self._counts.most_common()
        )
        logger.warning(
            "refused %s request(s) before they reached the app (at most one such line "
            "every %g s): %s",
            sum(self._counts.values()),
            self._interval,
            parts,
        )
        self._counts.clear()


# The signals that stop a worker. The master blocks them while it forks one
# (``bot.serving.LeadloopArbiter``); the new worker takes them once its own handlers are in.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGQUIT, signal.SIGTERM})


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gthread, except that a thread gets a connection only with a whole request read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = LIMITS
        self._arriving: dict[Any, ArrivingRequest] = {}
        self._lingering: dict[Any, int] = {}  # connection -> its deadline's number
        self._deadlines = Deadlines()
        self._buffered_body_bytes = 0
        self._refusals = RefusalTally()

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """Plain HTTP/1.x only: TLS is the proxy's, and HTTP/2 is not read here."""
        super().check_config(cfg, log)
        plain_http1 = list(cfg.http_protocols) == ["h1"] and cfg.http2_cleartext == "off"
        if cfg.is_ssl or not plain_http1 or cfg.proxy_protocol != "off":
            raise ConfigError("leadloop's worker serves plain HTTP/1.x: terminate TLS in front")

    def init_signals(self) -> None:
        """gunicorn's worker handlers, then the stop signals the fork held back, if any."""
        super().init_signals()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    # --- where connections come from -------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        """A new connection: its request is read here, not in a thread."""
        try:
            client, address = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client, address, listener.getsockname())  # non-blocking
        arriving = ArrivingRequest(conn, self._now() + self.limits.header_seconds)
        self._watch(arriving)
        # Under load the request is often here already: reading it now saves a turn of the
        # loop, and each turn waits for the interpreter lock while the threads run the app.
        self._read(arriving, client)

    def on_client_socket_readable(self, conn: Any, client: socket.socket) -> None:
        """A kept-alive connection's next request begins: read it here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        arriving = ArrivingRequest(conn, self._now() + self.limits.header_seconds)
        self._watch(arriving)
        self._read(arriving, client)

    def finish_request(self, conn: Any, fs: Future[Any]) -> None:
        """After a thread answered: close, read a pipelined request, or keep alive."""
        if not _kept_alive(fs):
            self._close_after_answer(conn)
            return
        pipelined = conn.parser.unreader.take_buffered()
        if not pipelined:
            super().finish_request(conn, fs)  # back to the poller until its next request
            return
        # The client sent its next request behind the last one: it is read like any other.
        arriving = ArrivingRequest(conn, self._now() + self.limits.header_seconds)
        arriving.data += pipelined
        self._watch(arriving)
        self._advance(arriving)

    # --- reading requests in the main loop ---------------------------------------------

    def _watch(self, arriving: ArrivingRequest) -> None:
        arriving.conn.sock.setblocking(False)
        self._arriving[arriving.conn] = arriving
        arriving.timer = self._deadlines.add(arriving.deadline, arriving.conn)
        self.poller.register(
            arriving.conn.sock, selectors.EVENT_READ, partial(self._read, arriving)
        )

    def _read(self, arriving: ArrivingRequest, _sock: Any) -> None:
        try:
            chunk = arriving.conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away
            self._forget(arriving)
            self._close_now(arriving.conn)
            return
        arriving.data += chunk
        self._advance(arriving)

    def _advance(self, arriving: ArrivingRequest) -> None:
        """Check what arrived: the head, then the body; refuse, hand over, or wait."""
        if arriving.head is None:
            head = read_head(arriving.data, self.limits, since=arriving.searched)
            arriving.searched = len(arriving.data)
            if isinstance(head, Refusal):
                self._refuse(arriving, head)
                return
            if head is None:
                return
            if not self._reserve(head.body_length):
                self._refuse(arriving, BUSY)
                return
            arriving.head = head
            if head.body_length:
                self._move_deadline(arriving, self._now() + self.limits.body_seconds)
            if head.expects_continue and len(arriving.data) == head.size:
                _send_quietly(arriving.conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
        if arriving.complete:
            self._hand_over(arriving)

    def _reserve(self, body_length: int) -> bool:
        if self._buffered_body_bytes + body_length > self.limits.buffered_body_bytes:
            return False
        self._buffered_body_bytes += body_length
        return True

    def _forget(self, arriving: ArrivingRequest) -> None:
        """Stop reading this request: no more events, its body no longer held."""
        del self._arriving[arriving.conn]
        self._deadlines.cancel(arriving.timer)
        _unregister(self.poller, arriving.conn.sock)
        if arriving.head is not None:
            self._buffered_body_bytes -= arriving.head.body_length

    def _hand_over(self, arriving: ArrivingRequest) -> None:
        """The whole request is here: a thread serves it, parsed from the buffer alone.

        The parser reads ``arriving.data`` and never the socket: if it wanted more than the
        buffer holds, the request would end there, and the thread could still not wait.
        Bytes past the request (a pipelined one) stay in the parser's buffer, where
        ``finish_request`` finds them.
        """
        self._forget(arriving)
        conn = arriving.conn
        conn.parser = RequestParser(self.cfg, [bytes(arriving.data)], conn.client)
        conn.data_ready = True
        self.enqueue_req(conn)

    def handle_request(self, req: Any, conn: Any) -> bool:
        """Runs in a thread: the answer is written within ``send_seconds`` or not at all."""
        conn.sock.settimeout(self.limits.send_seconds)
        # The body is here already: a 100 Continue now would come late (RFC 9110 lets a
        # server that has the content omit it). The main loop sent one if it was awaited.
        req._expected_100_continue = False
        try:
            return bool(super().handle_request(req, conn))
        except TimeoutError:
            self.log.debug("A client did not read its answer; closing the connection.")
            return False

    # --- refusing and closing ---------------------------------------------------------

    def _refuse(self, arriving: ArrivingRequest, refusal: Refusal) -> None:
        self._forget(arriving)
        self._refusals.note(refusal)
        _send_quietly(arriving.conn.sock, refusal.response())
        self._close_after_answer(arriving.conn)

    def _close_after_answer(self, conn: Any) -> None:
        """Send FIN, then read and discard until the client closes or ``linger_seconds``.

        Closing at once, with the client's bytes unread, would make the kernel reset the
        connection, and the client could lose the answer. gunicorn lingers too, but
        blocking, in this very loop.
        """
        try:
            conn.sock.setblocking(False)
            conn.sock.shutdown(socket.SHUT_WR)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._discard, conn))
        except (OSError, ValueError):  # already closed by the thread, or reset
            self._close_now(conn)
            return
        self._lingering[conn] = self._deadlines.add(self._now() + self.limits.linger_seconds, conn)

    def _discard(self, conn: Any, _sock: Any) -> None:
        try:
            chunk = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._stop_lingering(conn)

    def _stop_lingering(self, conn: Any) -> None:
        self._deadlines.cancel(self._lingering.pop(conn))
        _unregister(self.poller, conn.sock)
        self._close_now(conn)

    def _close_now(self, conn: Any) -> None:
        self.nr_conns -= 1
        conn.close()

    # --- deadlines ----------------------------------------------------------------------

    def _move_deadline(self, arriving: ArrivingRequest, deadline: float) -> None:
        self._deadlines.cancel(arriving.timer)
        arriving.deadline = deadline
        arriving.timer = self._deadlines.add(deadline, arriving.conn)

    def murder_pending(self) -> None:
        """gthread calls this on every turn of its loop, stopping too: enforce deadlines."""
        super().murder_pending()
        for conn in self._deadlines.due(self._now()):
            self._expire(conn)
        self._refusals.log_if_due()

    def _expire(self, conn: Any) -> None:
        arriving = self._arriving.get(conn)
        if arriving is not None:
            if arriving.data:
                self._refuse(arriving, TOO_SLOW)
            else:  # an idle connection that never sent a byte: nobody waits for an answer
                self._forget(arriving)
                self._close_now(conn)
        elif conn in self._lingering:
            self._stop_lingering(conn)

    def _cap_keepalive(self, deadline: float) -> None:
        """Stopping: idle connections, kept-alive or new and silent, close by ``deadline``."""
        super()._cap_keepalive(deadline)
        for arriving in self._arriving.values():
            if not arriving.data and arriving.deadline > deadline:
                self._move_deadline(arriving, deadline)

    @staticmethod
    def _now() -> float:
        return time.monotonic()


def _kept_alive(fs: Future[Any]) -> bool:
    """Whether the thread left the connection open for another request."""
    return not fs.cancelled() and fs.exception() is None and bool(fs.result())


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send a short answer without blocking; a client that cannot take it loses it."""
    try:
        sock.send(data)
    except OSError:
        pass


def _unregister(poller: selectors.BaseSelector, sock: socket.socket) -> None:
    try:
        poller.unregister(sock)
    except (KeyError, ValueError, OSError):
        pass
