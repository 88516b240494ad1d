"""The outbox pump of the delivery process: what it sends, and how a commit wakes it."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from sqlalchemy import Engine, update
from sqlmodel import col

from bot.delivery import BATCH, OutboxPump
from bot.outbox.engine import Deliverer
from bot.team_clients import OneWorkspace
from domain.admin.settings import WorkspaceSettings
from domain.leads.intake import fold_records, intake_leads
from domain.leads.records import LeadRecord
from domain.ratings.loop import SubmittedRating, submit_rating
from domain.ratings.parse import RatingInput
from storage.engine import SessionFactory
from storage.models import OutboxMessage
from storage.outbox_signal import watch_commits
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack

TEAM = payloads.TEAM_ID


def submit(session_factory: SessionFactory, clock: FakeClock, lead_ref: str) -> SubmittedRating:
    """A stored rating whose post is owed, committed."""
    with session_factory() as session:
        submitted = submit_rating(
            session,
            team_id=TEAM,
            rater_id=payloads.RATER_ID,
            rating=RatingInput(lead_ref=lead_ref, score=4),
            via="command",
            origin_channel=payloads.SALES_CHANNEL,
            now=clock(),
        )
        session.commit()
    return submitted


def test_the_pump_sends_every_due_message_and_counts_them(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    for n in range(3):
        submit(session_factory, clock, f"ACME-{n}")

    assert OutboxPump(deliverer).drain() == 3

    texts = [call.params["text"] for call in fake_slack.calls_to("chat.postMessage")]
    # Sent side by side on the sender threads, so in any order.
    assert sorted(text.split()[1] for text in texts) == ["ACME-0", "ACME-1", "ACME-2"]
    assert OutboxPump(deliverer).drain() == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


def test_the_pump_leaves_messages_that_are_not_yet_due(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submit(session_factory, clock, "ACME-1")
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    assert OutboxPump(deliverer).drain() == 0

    clock.advance(seconds=29)
    assert OutboxPump(deliverer).drain() == 0
    clock.advance(seconds=1)
    assert OutboxPump(deliverer).drain() == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_a_running_pump_survives_an_unreachable_database(
    web_client: WebClient,
    fake_slack: FakeSlack,
    unreachable_session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    deliverer = Deliverer(
        session_factory=unreachable_session_factory,
        clients=OneWorkspace(web_client),
        clock=clock,
        defaults=WorkspaceSettings(feedback_channel=payloads.FEEDBACK_CHANNEL),
    )

    failed_read = LogSeen("could not read the outbox")
    logging.getLogger("bot.delivery").addHandler(failed_read)
    pump = OutboxPump(deliverer, NeverWakes()).start()
    try:
        assert failed_read.wait(5), "the pump never said it could not read the outbox"
    finally:
        pump.close()
        logging.getLogger("bot.delivery").removeHandler(failed_read)

    assert fake_slack.calls == []


def test_a_message_that_keeps_failing_does_not_hold_up_the_others(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    stuck = submit(session_factory, clock, "STUCK-1")
    # A day of failed attempts at a channel nobody fixed; it is also the oldest due message.
    with session_factory() as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == stuck.post_message_id)
            .values(attempts=60)
        )
        session.commit()
    clock.advance(seconds=1)
    submit(session_factory, clock, "ACME-2")
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")

    # One sender thread, so that the stuck message is tried first, and fails again.
    assert OutboxPump(deliverer, senders=1).drain() == 1

    texts = [call.params["text"] for call in fake_slack.calls_to("chat.postMessage")]
    assert len(texts) == 2 and "STUCK-1" in texts[0] and "ACME-2" in texts[1]


class LogSeen(logging.Handler):
    """A log handler that lets a test wait for a line containing ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text
        self._seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self._text in record.getMessage():
            self._seen.set()

    def wait(self, timeout: float) -> bool:
        return self._seen.wait(timeout)


class NeverWakes:
    """A commit watcher that sees no commit: the pump reads the outbox on its own timer."""

    def __init__(self) -> None:
        self._closed = threading.Event()

    def wait(self, timeout: float) -> bool:
        self._closed.wait(timeout)
        return False

    def close(self) -> None:
        self._closed.set()


def test_a_commit_wakes_the_running_pump_at_once(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    engine: Engine,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    # An idle sweep an hour away: only the commit's signal can make it send in time.
    pump = OutboxPump(deliverer, watch_commits(engine), idle_seconds=3600).start()
    try:
        submit(session_factory, clock, "ACME-1")
        fake_slack.wait_for("chat.postMessage", timeout=2.0)
    finally:
        pump.close()
    [post] = fake_slack.calls_to("chat.postMessage")
    assert "ACME-1" in post.params["text"]


def test_the_running_pump_sends_what_was_owed_before_it_started(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    for n in range(3):
        submit(session_factory, clock, f"ACME-{n}")

    pump = OutboxPump(deliverer, NeverWakes(), idle_seconds=3600).start()
    try:
        fake_slack.wait_for("chat.postMessage", count=3)
    finally:
        pump.close()


def test_closing_the_pump_lets_sends_in_progress_finish(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submit(session_factory, clock, "ACME-1")
    release = fake_slack.hold("chat.postMessage")
    pump = OutboxPump(deliverer, NeverWakes(), idle_seconds=3600).start()
    fake_slack.wait_for("chat.postMessage")
    closing = threading.Thread(target=pump.close)
    closing.start()
    closing.join(timeout=0.2)
    assert closing.is_alive()  # close() waits for the send Slack has not answered yet

    release.set()
    closing.join()

    assert OutboxPump(deliverer).drain() == 0  # recorded as sent, not left owed
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_owing_hand_offs_in_bulk_wakes_the_delivery_process(
    engine: Engine, session_factory: SessionFactory, clock: FakeClock
) -> None:
    watcher = watch_commits(engine)
    try:
        assert watcher.wait(0.05) is False  # nothing committed yet
        with session_factory() as session:
            counts = intake_leads(
                session,
                team_id=TEAM,
                leads=fold_records([LeadRecord("ACME-1", owner_slack_id=payloads.OWNER_ID)]),
                now=clock(),
            )
            session.commit()
        assert counts.handoff_message_ids
        assert watcher.wait(2.0) is True
    finally:
        watcher.close()


def test_the_running_pump_sends_more_than_a_batch_without_a_commit_to_wake_it(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    owed = BATCH + 12
    for n in range(owed):
        submit(session_factory, clock, f"ACME-{n}")

    # No commit signal and no idle sweep: only the ends of its own sends make it read again.
    pump = OutboxPump(deliverer, NeverWakes(), idle_seconds=3600).start()
    try:
        fake_slack.wait_for("chat.postMessage", count=owed, timeout=30)
    finally:
        pump.close()
    assert len(fake_slack.calls_to("chat.postMessage")) == owed
