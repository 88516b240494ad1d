"""Tests for FakeSocketMode, driven by slack-sdk's built-in Socket Mode client and by a raw
websocket-client WebSocket (for the edges: refresh, drop, refused handshakes, mute)."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import websocket
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode, accept_key


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    """A running FakeSocketMode whose URL the fake Web API hands out."""
    with FakeSocketMode() as server:
        fake_slack.socket_mode_url = server.url
        yield server


def test_accept_key_is_the_one_from_rfc_6455() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xoxb-1-bot", "not_allowed_token_type"),
        ("xapp-1-A0-1-abc", "fake_slack_has_no_socket_mode_url"),
    ],
    ids=["bot-token", "no-socket-mode-server"],
)
def test_apps_connections_open_refuses_without_an_app_token_or_a_server(
    fake_slack: FakeSlack, token: str, error: str
) -> None:
    web_client = WebClient(base_url=fake_slack.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as refused:
        web_client.apps_connections_open(app_token=token)
    assert refused.value.response["error"] == error


@pytest.mark.parametrize("size", [10, 1_000, 70_000], ids=["short", "medium", "long"])
def test_the_builtin_client_gets_hello_an_envelope_and_its_ack_comes_back(
    fake_slack: FakeSlack, socket_mode: FakeSocketMode, size: int
) -> None:
    received: list[SocketModeRequest] = []
    got_hello = threading.Event()

    def on_message(client: SocketModeClient, message: dict, raw: str | None) -> None:
        if message.get("type") == "hello":
            got_hello.set()

    def on_request(client: SocketModeClient, request: SocketModeRequest) -> None:
        received.append(request)
        echo = {"text": request.payload["text"]}
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload=echo))

    client = SocketModeClient(
        app_token="xapp-1-A0-1-abc", web_client=WebClient(base_url=fake_slack.api_url)
    )
    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(on_request)
    try:
        client.connect()
        socket_mode.wait_connected()
        assert got_hello.wait(5)
        envelope_id = socket_mode.send_envelope("slash_commands", {"text": "x" * size})
        ack = socket_mode.wait_for_ack(envelope_id)
    finally:
        socket_mode.stop()  # a close frame first: the client then lets go at once
        client.close()

    assert [(r.type, r.envelope_id) for r in received] == [("slash_commands", envelope_id)]
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "x" * size}}
    [handshake] = socket_mode.handshakes
    assert handshake.startswith("GET /link/?ticket=")


def _greeted_client(socket_mode: FakeSocketMode) -> websocket.WebSocket:
    """A raw WebSocket client that connected and read its ``hello``."""
    client = websocket.create_connection(socket_mode.url, timeout=5)
    assert json.loads(client.recv())["type"] == "hello"
    return client


def test_refresh_asks_the_client_to_move_then_closes_the_old_connection_after_the_new_hello(
    socket_mode: FakeSocketMode,
) -> None:
    old = _greeted_client(socket_mode)
    asked = socket_mode.refresh(overlap=0.2)
    notice = json.loads(old.recv())
    before_move = socket_mode.send_envelope("events_api", {"n": 1})
    new = _greeted_client(socket_mode)
    after_move = socket_mode.send_envelope("events_api", {"n": 2})

    # Until the new connection said hello, envelopes go to the old one; then to the new.
    assert json.loads(old.recv())["envelope_id"] == before_move
    assert json.loads(new.recv())["envelope_id"] == after_move
    opcode, data = old.recv_data(control_frame=True)
    closed = time.monotonic()

    assert notice == {
        "type": "disconnect",
        "reason": "refresh_requested",
        "debug_info": {"host": "fake-socket-mode"},
    }
    assert (opcode, struct.unpack("!H", data[:2])) == (websocket.ABNF.OPCODE_CLOSE, (1001,))
    [_, moved] = socket_mode.hellos
    assert socket_mode.disconnects == [asked]
    assert 0.2 <= closed - moved < 2
    new.close()


def test_drop_ends_the_connection_without_a_close_frame(socket_mode: FakeSocketMode) -> None:
    client = _greeted_client(socket_mode)

    dropped = socket_mode.drop()

    with pytest.raises(websocket.WebSocketConnectionClosedException):
        client.recv()
    assert socket_mode.drops == [dropped]
    assert socket_mode.open_connections == 0


def test_refused_handshakes_are_answered_503_then_clients_connect_again(
    socket_mode: FakeSocketMode,
) -> None:
    socket_mode.refuse_handshakes(2)

    for _ in range(2):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(socket_mode.url, timeout=5)
        assert refused.value.status_code == 503
    client = _greeted_client(socket_mode)

    assert len(socket_mode.handshakes) == 3
    assert len(socket_mode.hellos) == 1
    client.close()


def test_a_muted_connection_answers_no_ping_and_gets_no_envelope(
    socket_mode: FakeSocketMode,
) -> None:
    client = _greeted_client(socket_mode)
    client.ping(b"before")
    assert client.recv_data(control_frame=True) == (websocket.ABNF.OPCODE_PONG, b"before")

    socket_mode.mute()
    client.ping(b"after")
    client.settimeout(0.5)

    with pytest.raises(websocket.WebSocketTimeoutException):
        client.recv_data(control_frame=True)
    assert socket_mode.open_connections == 0
    client.close(timeout=0)


def test_ack_wait_counts_from_sending_even_while_no_client_is_connected() -> None:
    now = [100.0]
    sent: list[str] = []
    with FakeSocketMode(ack_clock=lambda: now[0]) as socket_mode:
        sender = threading.Thread(
            target=lambda: sent.append(
                socket_mode.send_envelope("slash_commands", {"text": "x"}, wait=5)
            )
        )
        sender.start()
        assert socket_mode.wait_for_envelope_waiting()
        now[0] += 0.3  # the client connects 0.3 s after the envelope was sent
        client = _greeted_client(socket_mode)
        envelope = json.loads(client.recv())
        client.send(json.dumps({"envelope_id": envelope["envelope_id"]}))
        sender.join()
        socket_mode.wait_for_ack(envelope["envelope_id"])
        client.close()

    assert sent == [envelope["envelope_id"]]
    assert socket_mode.ack_wait(envelope["envelope_id"]) == pytest.approx(0.3)
    assert socket_mode.ack_wait("never-sent-or-acked") is None
