"""Tests for FakeSocketMode, driven by slack-sdk's built-in Socket Mode client (what Bolt's
SocketModeHandler, and so leadloop, uses)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
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
