"""Thread replies over Socket Mode: a reply the database refuses is not acknowledged.

Bolt's Socket Mode adapter acknowledges an envelope only when ``App.dispatch`` answers 200
(``send_response`` in ``slack_bolt/adapter/socket_mode/internals.py``); for the 500 of a
refused write it sends nothing and logs the status. Slack then delivers the event again,
and the redelivery, with the same ``event_id``, is stored once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import create_app
from bot.config import Settings
from storage.engine import SessionFactory
from storage.models import ProcessedEvent
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode
from tests.handlers.test_thread_replies import (
    failing_at,
    rate_and_get_post_ts,
    reply_event,
    stored_responses,
)
from tests.slack_app_client import SlackAppClient

BOLT_LOGGER = "leadloop.bolt"  # the app's logger, which Bolt's Socket Mode client logs to


class Unacknowledged(logging.Handler):
    """Notices Bolt's Socket Mode adapter deciding not to acknowledge an envelope."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.seen = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Unsuccessful Bolt execution result"):
            self.messages.append(message)
            self.seen.set()


@pytest.fixture
def socket_mode(
    fake_slack: FakeSlack,
    settings: Settings,
    session_factory: SessionFactory,
    web_client: WebClient,
    clock: FakeClock,
) -> Iterator[FakeSocketMode]:
    """The app connected to a fake Socket Mode endpoint, as ``leadloop run`` connects it."""
    app = create_app(settings, session_factory=session_factory, client=web_client, clock=clock)
    with FakeSocketMode() as server:
        fake_slack.socket_mode_url = server.url
        handler = SocketModeHandler(
            app,
            app_token="xapp-1-A0LEADLOOP-1-test",
            web_client=WebClient(base_url=fake_slack.api_url),
        )
        handler.connect()  # type: ignore[no-untyped-call]
        try:
            server.wait_connected()
            yield server
        finally:
            server.stop()
            handler.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def unacknowledged(caplog: pytest.LogCaptureFixture) -> Iterator[Unacknowledged]:
    watcher = Unacknowledged()
    caplog.set_level(logging.INFO, logger=BOLT_LOGGER)  # restored after the test
    logging.getLogger(BOLT_LOGGER).addHandler(watcher)
    try:
        yield watcher
    finally:
        logging.getLogger(BOLT_LOGGER).removeHandler(watcher)


def test_a_reply_the_database_refuses_is_not_acknowledged_and_its_redelivery_is_stored_once(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    socket_mode: FakeSocketMode,
    unacknowledged: Unacknowledged,
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    envelope = reply_event(post_ts, event_id="EvSocket")

    with failing_at(engine, "INSERT INTO response"):
        refused = socket_mode.send_envelope("events_api", envelope)
        assert unacknowledged.seen.wait(10)

    assert [ack for ack in socket_mode.acks if ack.get("envelope_id") == refused] == []
    [logged] = unacknowledged.messages
    assert "status: 500" in logged
    assert stored_responses(session_factory) == []

    redelivered = socket_mode.send_envelope("events_api", envelope)
    socket_mode.wait_for_ack(redelivered)
    once_more = socket_mode.send_envelope("events_api", envelope)
    socket_mode.wait_for_ack(once_more)

    assert len(stored_responses(session_factory)) == 1
    with session_factory() as session:
        assert [e.event_id for e in session.exec(select(ProcessedEvent))] == ["EvSocket"]
