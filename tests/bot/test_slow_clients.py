"""Slow and oversized clients against ``leadloop run``, served by gunicorn as in production.

Each server is the real command (``bot.cli.main``), started in a process of its own after
setting the worker's limits (``bot.http_worker.LIMITS``) to what the test needs: long
deadlines while hundreds of clients trickle, short ones where a test waits for a deadline
to pass. The tests wait for log lines and answers; nothing sleeps to let time pass.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import logging
import re
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.http_worker import (
    BAD_LENGTH,
    BODY_TOO_LARGE,
    HEADERS_TOO_LARGE,
    LENGTH_REQUIRED,
    TOO_SLOW,
    Deadlines,
    Head,
    Refusal,
    RefusalTally,
    RequestLimits,
    read_head,
)
from tests import slack_payloads as payloads
from tests.bot.test_serving import bot_env, query, rating_request
from tests.fake_slack import FakeSlack
from tests.processes import ProcessLog, stop_process

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"leadloop is listening on http://127\.0\.0\.1:(\d+)")
# A client that waits longer than this for /healthz or its ack has given up.
CLIENT_TIMEOUT = 5.0
TRICKLE_EVERY = 0.5
SLOW_CLIENTS_OF_EACH_KIND = 200
# Sets the worker's limits, then runs `leadloop run` with the remaining arguments.
LAUNCHER = """
import json, sys
from bot import http_worker
http_worker.LIMITS = http_worker.RequestLimits(**json.loads(sys.argv[1]))
from bot.cli import main
sys.exit(main(sys.argv[2:]))
"""
# Deadlines longer than any test: the slow clients are still sending when the test asks.
PATIENT = RequestLimits(header_seconds=60, body_seconds=60)
# Deadlines that pass quickly, and room for 1.5 MB of bodies in arrival.
STRICT = RequestLimits(header_seconds=1, body_seconds=1, buffered_body_bytes=1_500_000)


@dataclass
class Server:
    """A running ``leadloop run``: where it listens, its log and its database."""

    process: subprocess.Popen[str]
    port: int
    log: ProcessLog
    database_url: str
    fake_slack: FakeSlack

    def connect(self) -> socket.socket:
        """A new TCP connection to the server."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=CLIENT_TIMEOUT)

    def http(self) -> http.client.HTTPConnection:
        """An HTTP client that gives up after CLIENT_TIMEOUT."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)

    def ratings(self) -> list[str]:
        """The leads of the stored ratings."""
        rows = query(
            self.database_url,
            "SELECT lead.external_ref FROM rating JOIN lead ON lead.id = rating.lead_id",
        )
        return sorted(row[0] for row in rows)


@contextmanager
def running_server(
    fake_slack: FakeSlack,
    database_url: str,
    limits: RequestLimits,
    *,
    threads: int = 8,
) -> Iterator[Server]:
    """``leadloop run`` with one worker (so that it gets every slow client), until SIGTERM;
    then it must stop cleanly, without a traceback in its log."""
    command = [sys.executable, "-c", LAUNCHER, json.dumps(dataclasses.asdict(limits))]
    command += ["run", "--host", "127.0.0.1", "--port", "0", "--workers", "1"]
    command += ["--threads", str(threads), "--without-delivery"]
    env = bot_env(fake_slack, database_url)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    log = ProcessLog(process.stderr)
    try:
        match = LISTENING.search(log.wait_for("leadloop is listening on ", timeout=60))
        assert match is not None
        yield Server(process, int(match.group(1)), log, database_url, fake_slack)
    except BaseException:
        stop_process(process)
        raise
    assert stop_process(process) == 0, log.wait_until_closed()
    assert "Traceback" not in log.wait_until_closed()


@pytest.fixture(scope="module")
def module_fake_slack() -> Iterator[FakeSlack]:
    """One fake Slack for the module's shared server."""
    with FakeSlack(team_id=payloads.TEAM_ID) as fake:
        yield fake


@pytest.fixture(scope="module")
def server(
    module_fake_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server with STRICT limits, shared by the tests that only talk to it."""
    database_url = f"sqlite:///{tmp_path_factory.mktemp('slow') / 'leadloop.db'}"
    with running_server(module_fake_slack, database_url, STRICT) as running:
        yield running


# --- clients -------------------------------------------------------------------------------


@dataclass
class SlowClients:
    """Connections that each send a first part, then one byte every TRICKLE_EVERY seconds."""

    trickling: list[socket.socket] = field(default_factory=list)
    idle: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def open(self, server: Server, count: int, first_part: bytes, *, trickle: bool) -> None:
        """Open ``count`` connections and send each ``first_part``."""
        for _ in range(count):
            connection = server.connect()
            connection.sendall(first_part)
            (self.trickling if trickle else self.idle).append(connection)

    def start(self) -> None:
        """Trickle on a thread until ``close``."""
        threading.Thread(target=self._trickle, name="trickle", daemon=True).start()

    def _trickle(self) -> None:
        while not self._stop.wait(TRICKLE_EVERY):
            for connection in self.trickling:
                try:
                    connection.send(b"a")
                except OSError:
                    pass  # the test's assertions say whether the server let it go

    def answered(self) -> list[socket.socket]:
        """The connections on which the server sent something or hung up."""
        poll = select.poll()
        by_fd = {}
        for connection in self.trickling + self.idle:
            poll.register(connection, select.POLLIN)
            by_fd[connection.fileno()] = connection
        return [by_fd[fd] for fd, _ in poll.poll(0)]

    def close(self) -> None:
        self._stop.set()
        for connection in self.trickling + self.idle:
            connection.close()


def slack_head(length: int, *, extra: str = "") -> bytes:
    """The start of a POST to /slack/events announcing ``length`` bytes of body."""
    return (
        "POST /slack/events HTTP/1.1\r\nHost: leadloop\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def raw_rating(lead_ref: str, fake_slack: FakeSlack, *, padding: int = 0) -> bytes:
    """A whole signed ``/rate-lead`` request as sent on the wire, its text padded by
    ``padding`` spaces."""
    fields = payloads.slash_command(
        f"{lead_ref} 2 no budget" + " " * padding, response_url=fake_slack.response_url()
    )
    body = payloads.form_body(fields)
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request_line = "POST /slack/events HTTP/1.1\r\nHost: leadloop\r\n"
    length = f"Content-Length: {len(body.encode())}\r\n\r\n"
    return (request_line + head + length + body).encode()


def trickle_until_answered(connection: socket.socket, data: bytes) -> None:
    """Send ``data`` a byte every TRICKLE_EVERY seconds until the server answers; fails if
    it has not answered when ``data`` runs out."""
    for byte in data:
        if select.select([connection], [], [], TRICKLE_EVERY)[0]:
            return
        connection.send(bytes([byte]))
    raise AssertionError(f"no answer after trickling {len(data)} bytes")


def read_answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    """The status code of the first answer in ``answer``."""
    return int(answer.split(b" ", 2)[1])


# --- tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [8, 1])
def test_healthz_and_a_signed_rating_answer_while_600_slow_clients_hold_connections(
    threads: int, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'leadloop.db'}"
    with running_server(fake_slack, database_url, PATIENT, threads=threads) as server:
        clients = SlowClients()
        try:
            count = SLOW_CLIENTS_OF_EACH_KIND
            clients.open(server, count, b"POST /slack/events HTTP/1.1\r\nX-Slow: ", trickle=True)
            clients.open(server, count, slack_head(100_000), trickle=True)
            clients.open(server, count, b"", trickle=False)
            clients.start()

            health = server.http()
            health.request("GET", "/healthz")
            health_answer = health.getresponse()
            body, headers = rating_request("SLOW-1", fake_slack)
            rating = server.http()
            rating.request("POST", "/slack/events", body=body, headers=headers)
            rating_answer = rating.getresponse()

            assert health_answer.status == 200
            assert health_answer.read() == b'{"status": "ok"}'
            assert rating_answer.status == 200
            assert b"It is saved" in rating_answer.read()
            assert clients.answered() == []  # all 600 were still connected and waiting
        finally:
            clients.close()
        assert server.ratings() == ["SLOW-1"]


def test_a_stopping_server_closes_connections_that_sent_nothing_at_once(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'leadloop.db'}"
    with running_server(fake_slack, database_url, PATIENT) as server:
        idle = server.connect()
        health = server.http()
        health.request("GET", "/healthz")  # accepted after the idle connection
        assert health.getresponse().status == 200

        server.process.send_signal(signal.SIGTERM)

        # Closed within the client's timeout: not after its 60 s, nor the 30 s grace.
        assert read_answer(idle) == b""


def test_a_client_that_trickles_its_headers_past_the_deadline_gets_408_and_is_closed(
    server: Server,
) -> None:
    connection = server.connect()
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: leadloop\r\n")
    trickle_until_answered(connection, b"X" * 30)

    answer = read_answer(connection)  # and the server closes the connection

    assert status_of(answer) == 408
    assert b"Connection: close" in answer
    server.log.wait_for("refused 1 request(s) before they reached the app")


def test_a_client_that_trickles_its_body_past_the_deadline_gets_408_and_nothing_is_stored(
    server: Server,
) -> None:
    whole = raw_rating("TRICKLED-BODY", server.fake_slack)
    connection = server.connect()
    connection.sendall(whole[:-30])
    trickle_until_answered(connection, whole[-30:-1])  # never the last byte

    assert status_of(read_answer(connection)) == 408
    assert "TRICKLED-BODY" not in server.ratings()


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server: Server) -> None:
    connection = server.connect()

    assert read_answer(connection) == b""


def test_headers_over_16_kb_are_refused_with_431_and_nothing_is_stored(server: Server) -> None:
    whole = raw_rating("BIG-HEAD", server.fake_slack)
    head_end = whole.index(b"\r\n\r\n")
    padded = whole[:head_end] + b"\r\nX-Padding: " + b"p" * 16 * 1024 + whole[head_end:]
    connection = server.connect()
    connection.sendall(padded)

    answer = read_answer(connection)

    assert status_of(answer) == 431
    assert answer.endswith(b'{"error": "headers too large"}')
    assert "BIG-HEAD" not in server.ratings()


def test_a_body_over_1_mb_is_refused_with_413_and_nothing_is_stored(server: Server) -> None:
    connection = server.connect()
    connection.sendall(raw_rating("BIG-BODY", server.fake_slack, padding=1024 * 1024))

    answer = read_answer(connection)

    assert status_of(answer) == 413
    assert answer.endswith(b'{"error": "body too large"}')
    assert "BIG-BODY" not in server.ratings()


def test_a_body_past_what_the_worker_may_hold_at_once_is_refused_with_503(
    server: Server,
) -> None:
    first = server.connect()  # announces 1 MB, of the 1.5 MB the worker may hold
    first.sendall(slack_head(1_000_000, extra="Expect: 100-continue\r\n"))
    assert first.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"  # its 1 MB is reserved
    second = server.connect()
    second.sendall(slack_head(600_000))

    answer = read_answer(second)

    assert status_of(answer) == 503
    assert answer.endswith(b'{"error": "too many requests arriving; try again"}')
    first.close()


def test_a_chunked_body_is_refused_with_411(server: Server) -> None:
    connection = server.connect()
    connection.sendall(
        b"POST /slack/events HTTP/1.1\r\nHost: leadloop\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    )

    assert status_of(read_answer(connection)) == 411


def test_a_client_that_waits_for_100_continue_gets_it_before_sending_its_body(
    server: Server,
) -> None:
    whole = raw_rating("CONTINUED", server.fake_slack)
    head_end = whole.index(b"\r\n\r\n") + 2
    connection = server.connect()
    connection.sendall(whole[:head_end] + b"Expect: 100-continue\r\n\r\n")

    interim = connection.recv(65536)  # nothing else is sent until this arrives
    connection.sendall(whole[head_end + 2 :])
    answer = connection.recv(65536)

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")  # and no second 100 Continue
    assert "CONTINUED" in server.ratings()


def test_two_requests_on_one_kept_alive_connection_are_both_answered(server: Server) -> None:
    client = server.http()
    client.request("GET", "/healthz")
    first = client.getresponse()
    first.read()
    kept = client.sock
    body, headers = rating_request("KEPT-ALIVE", server.fake_slack)
    client.request("POST", "/slack/events", body=body, headers=headers)
    second = client.getresponse()

    assert (first.status, second.status) == (200, 200)
    assert b"It is saved" in second.read()
    assert client.sock is kept  # the same connection, not a new one
    assert "KEPT-ALIVE" in server.ratings()


def test_pipelined_requests_are_each_answered_in_order(server: Server) -> None:
    healthz = b"GET /healthz HTTP/1.1\r\nHost: leadloop\r\n\r\n"
    rating = raw_rating("PIPELINED", server.fake_slack)
    last = b"GET /healthz HTTP/1.1\r\nHost: leadloop\r\nConnection: close\r\n\r\n"
    connection = server.connect()
    # The third request arrives in two parts: the second part after the others' answers.
    connection.sendall(healthz + rating + last[:20])
    received = b""
    while received.count(b"HTTP/1.1 200") < 2:
        received += connection.recv(65536)
    connection.sendall(last[20:])

    answers = received + read_answer(connection)

    assert [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3})", answers)] == [200, 200, 200]
    assert answers.index(b'{"status": "ok"}') < answers.index(b"It is saved")
    assert "PIPELINED" in server.ratings()


# --- the worker's framing and its log line, without a server --------------------------------

LIMITS = RequestLimits()


def test_a_head_is_read_only_once_its_empty_line_has_arrived() -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: leadloop\r\n\r\n"

    assert read_head(request[:-1], LIMITS) is None
    assert read_head(request, LIMITS, since=len(request) - 1) == Head(
        size=len(request), body_length=0, expects_continue=False
    )


def test_a_head_says_how_much_body_follows_and_whether_it_waits_for_100_continue() -> None:
    head = read_head(slack_head(250, extra="Expect: 100-continue\r\n"), LIMITS)

    assert isinstance(head, Head)
    assert (head.body_length, head.expects_continue) == (250, True)


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        (b"Content-Length: 5\r\nContent-Length: 5\r\n", BAD_LENGTH),
        (b"Content-Length: +5\r\n", BAD_LENGTH),
        (b"Content-Length: \xb2\r\n", BAD_LENGTH),
        (b"Transfer-Encoding: chunked\r\n", LENGTH_REQUIRED),
        (b"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", LENGTH_REQUIRED),
        (f"Content-Length: {LIMITS.body_bytes + 1}\r\n".encode(), BODY_TOO_LARGE),
        (b"X-Padding: " + b"p" * LIMITS.header_bytes + b"\r\n", HEADERS_TOO_LARGE),
    ],
)
def test_a_head_gunicorn_would_frame_differently_or_too_large_is_refused(
    fields: bytes, refusal: Refusal
) -> None:
    assert read_head(b"POST / HTTP/1.1\r\n" + fields + b"\r\n", LIMITS) == refusal


def test_headers_still_arriving_past_the_cap_are_refused_before_they_end() -> None:
    assert read_head(b"GET / HTTP/1.1\r\nX: " + b"x" * LIMITS.header_bytes, LIMITS) == (
        HEADERS_TOO_LARGE
    )


def test_refusals_are_logged_as_one_summary_line_at_most_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    tally = RefusalTally(interval=60, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="leadloop.refusals")

    tally.note(TOO_SLOW)
    tally.log_if_due()
    for refusal in (TOO_SLOW, TOO_SLOW, BODY_TOO_LARGE):
        tally.note(refusal)
    tally.log_if_due()  # within the minute: counted, not logged
    now[0] = 61.0
    tally.log_if_due()
    tally.log_if_due()  # nothing new: no line

    assert [record.getMessage().split(": ", 1)[1] for record in caplog.records] == [
        "1 too slow (408)",
        "2 too slow (408), 1 body too large (413)",
    ]


def test_deadlines_come_due_in_order_and_a_cancelled_one_never_does() -> None:
    deadlines = Deadlines()
    deadlines.add(3.0, "late")
    cancelled = deadlines.add(1.0, "answered")
    deadlines.add(2.0, "slow")
    deadlines.cancel(cancelled)

    assert deadlines.due(0.5) == []
    assert deadlines.due(2.5) == ["slow"]
    assert deadlines.due(10.0) == ["late"]
    assert deadlines.due(10.0) == []
