"""leadloop's Socket Mode client against the fake Socket Mode server, in this process:
refreshes, drops, refused handshakes, silent connections, closing, and its log lines."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.socket_mode import (
    CONNECTED,
    LOST,
    PING_INTERVAL,
    STALE_AFTER,
    LeadloopSocketModeClient,
)
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode

APP_TOKEN = "xapp-1-A0LEADLOOP-1-test"


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    """A running FakeSocketMode whose URL the fake Web API hands out."""
    with FakeSocketMode() as server:
        fake_slack.socket_mode_url = server.url
        yield server


@dataclass
class Acker:
    """A request listener that acknowledges every envelope after ``delay`` seconds."""

    delay: float = 0.0
    started: threading.Event = field(default_factory=threading.Event)

    def __call__(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        self.started.set()
        threading.Event().wait(self.delay)
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id))


def acking_client(
    fake_slack: FakeSlack,
    acker: Acker | None = None,
    *,
    ping_interval: float = PING_INTERVAL,
    stale_after: float = STALE_AFTER,
) -> LeadloopSocketModeClient:
    """A client whose listener acknowledges every envelope."""
    client = LeadloopSocketModeClient(
        app_token=APP_TOKEN,
        web_client=WebClient(base_url=fake_slack.api_url, retry_handlers=[]),
        ping_interval=ping_interval,
        stale_after=stale_after,
    )
    client.socket_mode_request_listeners.append(acker or Acker())
    return client


@pytest.fixture
def client(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode
) -> Iterator[LeadloopSocketModeClient]:
    """A connected, acknowledging client; closed after the test."""
    client = acking_client(fake_slack)
    client.connect()
    socket_mode.wait_connected()
    try:
        yield client
    finally:
        client.close()


def state_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(level, message) of every line the client logged at INFO or above."""
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "bot.socket_mode" and record.levelno >= logging.INFO
    ]


def test_a_refresh_opens_the_new_connection_before_leaving_the_old_one(
    client: LeadloopSocketModeClient, socket_mode: FakeSocketMode
) -> None:
    # Slack keeps the old connection open for a while: the client must not wait for it.
    asked = socket_mode.refresh(overlap=5.0)
    moved = socket_mode.wait_for_hello(since=asked)
    both_open = socket_mode.open_connections
    envelope_id = socket_mode.send_envelope("slash_commands", {"text": "x"})
    socket_mode.wait_for_ack(envelope_id)

    wait = socket_mode.ack_wait(envelope_id)
    assert moved - asked < 0.5
    assert both_open == 2
    assert wait is not None and wait < 0.5
    assert client.is_connected()


def test_a_dropped_connection_is_replaced_at_once_and_the_log_says_so(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    client = acking_client(fake_slack)
    client.connect()
    try:
        socket_mode.wait_connected()
        dropped = socket_mode.drop()
        back = socket_mode.wait_for_hello(since=dropped)
        envelope_id = socket_mode.send_envelope("slash_commands", {"text": "x"})
        socket_mode.wait_for_ack(envelope_id)
    finally:
        client.close()

    assert back - dropped < 0.5
    assert state_lines(caplog) == [("INFO", CONNECTED), ("WARNING", LOST), ("INFO", CONNECTED)]


def test_refused_handshakes_are_retried_soon_with_one_warning(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    client = acking_client(fake_slack)
    client.connect()
    try:
        socket_mode.wait_connected()
        socket_mode.refuse_handshakes(3)
        dropped = socket_mode.drop()
        back = socket_mode.wait_for_hello(since=dropped)
        # Answered on the new connection: the client has taken its hello (and said so).
        envelope_id = socket_mode.send_envelope("slash_commands", {"text": "x"})
        socket_mode.wait_for_ack(envelope_id)
    finally:
        client.close()

    # Tried at once, then after 0.25, 0.5 and 1 s.
    assert 1.5 <= back - dropped < 2.5
    assert len(socket_mode.handshakes) == 5
    [(level, refused)] = [line for line in state_lines(caplog) if "could not" in line[1]]
    assert level == "WARNING"
    assert "503" in refused and "trying again in 0.25 s" in refused
    assert [line for line in state_lines(caplog) if "could not" not in line[1]] == [
        ("INFO", CONNECTED),
        ("WARNING", LOST),
        ("INFO", CONNECTED),
    ]


def test_a_connection_that_stops_answering_pings_is_replaced(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    # A pong later than 1 s means a dead path; a busy machine (CI) answers well within that.
    client = acking_client(fake_slack, ping_interval=0.1, stale_after=1.0)
    client.connect()
    try:
        socket_mode.wait_connected()
        assert socket_mode.wait_for_pings(3)  # pings answered: no line for them
        socket_mode.mute()
        muted = socket_mode.hellos[-1]
        back = socket_mode.wait_for_hello(since=muted + 0.01, timeout=5)
        # Answered on the new connection: the client has taken its hello (and said so).
        envelope_id = socket_mode.send_envelope("slash_commands", {"text": "x"})
        socket_mode.wait_for_ack(envelope_id)
    finally:
        client.close()

    assert back - muted < 3.0
    assert state_lines(caplog) == [("INFO", CONNECTED), ("WARNING", LOST), ("INFO", CONNECTED)]


def test_closing_acknowledges_the_envelopes_in_hand_first(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    acker = Acker(delay=0.3)
    client = acking_client(fake_slack, acker)
    client.connect()
    socket_mode.wait_connected()
    envelope_id = socket_mode.send_envelope("slash_commands", {"text": "x"})
    assert acker.started.wait(5)

    client.close()

    assert socket_mode.wait_for_ack(envelope_id, timeout=0.1) == {"envelope_id": envelope_id}
    assert socket_mode.wait_all_closed()  # the server may see the close a moment later
    assert not client.is_connected()
    assert state_lines(caplog) == [("INFO", CONNECTED)]  # stopping is not losing


def test_an_app_token_slack_refuses_is_an_error_on_connect(fake_slack: FakeSlack) -> None:
    client = LeadloopSocketModeClient(
        app_token="xoxb-not-an-app-token",
        web_client=WebClient(base_url=fake_slack.api_url, retry_handlers=[]),
    )
    try:
        with pytest.raises(SlackApiError) as refused:
            client.connect()
    finally:
        client.close()

    assert refused.value.response["error"] == "not_allowed_token_type"
