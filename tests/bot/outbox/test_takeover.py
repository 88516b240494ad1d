"""Taking over a dead sender's posts: heartbeats keep a live sender's claims, a lapsed claim
is taken over within a minute, and a post the dead sender got into Slack is found there
(by its message metadata) and recorded instead of being posted twice."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import time, timedelta

import pytest
from sqlmodel import Session

from bot.outbox.engine import CLAIM_LEASE, HEARTBEAT_SECONDS, Deliverer
from bot.outbox.slack_calls import HISTORY_MARGIN, OUTBOX_EVENT
from bot.scheduler import run_scheduled_posts
from domain.meetings.parse import AddMeeting
from domain.meetings.reminders import create_meeting
from domain.ratings.loop import ReplyOutcome, ThreadReply, record_thread_reply
from storage import outbox
from storage.engine import SessionFactory
from storage.models import OutboxMessage, Rating
from tests import slack_payloads as payloads
from tests.bot.outbox.test_engine import outbox_row, post_id, stored_rating, submit
from tests.conftest import FakeClock
from tests.fake_slack import Call, FakeSlack

TEAM = payloads.TEAM_ID
PAST_THE_LEASE = CLAIM_LEASE + timedelta(seconds=1)


@pytest.fixture
def fake_slack(fake_slack: FakeSlack, clock: FakeClock) -> FakeSlack:
    """Slack's ts values on the test's clock, as a real Slack's are on real time."""
    fake_slack.clock = clock
    return fake_slack


@pytest.fixture
def deliverer(deliverer: Deliverer) -> Deliverer:
    """The deliverer, beating only when the test says so."""
    return replace(deliverer, heartbeat_seconds=0)


def vanishing(deliverer: Deliverer) -> Deliverer:
    """A process that dies right after Slack accepts each post: nothing is recorded."""
    doomed = replace(deliverer)
    doomed._record_sent = lambda message, record: None  # type: ignore[method-assign]
    return doomed


def posts(fake_slack: FakeSlack) -> list[Call]:
    return fake_slack.calls_to("chat.postMessage")


def metadata_of(call: Call) -> dict[str, object]:
    metadata = call.params["metadata"]
    assert isinstance(metadata, dict)
    return metadata


@contextmanager
def sending_stuck_in_slack(
    deliverer: Deliverer, fake_slack: FakeSlack, message_id: int
) -> Iterator[threading.Event]:
    """``deliverer`` is inside its Slack post of the message until the event is set."""
    release = fake_slack.hold("chat.postMessage")
    sending = threading.Thread(target=deliverer.deliver, args=(message_id,))
    sending.start()
    fake_slack.wait_for("chat.postMessage")
    try:
        yield release
    finally:
        release.set()
        sending.join()


# ---------------------------------------------------------------- heartbeats and leases


def test_a_dead_senders_claims_lapse_within_a_minute() -> None:
    assert CLAIM_LEASE <= timedelta(seconds=60)
    assert CLAIM_LEASE >= 2 * timedelta(seconds=HEARTBEAT_SECONDS)  # a missed beat is survived


def test_a_sender_that_keeps_beating_keeps_its_claim_past_the_lease(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    message_id = post_id(submit(session_factory, clock))
    other = replace(deliverer)
    with sending_stuck_in_slack(deliverer, fake_slack, message_id):
        for _ in range(8):  # two minutes of beats: well past the lease
            clock.advance(seconds=HEARTBEAT_SECONDS)
            assert deliverer.heartbeat() == 1
            assert other.deliver_due() == 0

    assert len(posts(fake_slack)) == 1
    assert outbox_row(session_factory, message_id).status == "sent"
    assert deliverer.heartbeat() == 0  # nothing in flight any more: no UPDATE at all


def test_a_sender_that_stops_beating_is_taken_over_once_the_lease_runs_out(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    message_id = post_id(submit(session_factory, clock))
    other = replace(deliverer)
    with sending_stuck_in_slack(deliverer, fake_slack, message_id) as release:
        clock.advance(seconds=HEARTBEAT_SECONDS)
        assert deliverer.heartbeat() == 1
        clock.advance(seconds=CLAIM_LEASE.total_seconds())  # no beat since: just within it
        assert other.deliver_due() == 0
        clock.advance(seconds=1)
        overtaking = threading.Thread(target=other.deliver_due)
        overtaking.start()
        fake_slack.wait_for("chat.postMessage", 2)
        release.set()
        overtaking.join()
    # Two posts, as the held first one had not reached the channel when the history was read.
    assert len(fake_slack.calls_to("conversations.history")) == 1


@dataclass
class BeatWatcher:
    """Sessions that tell the test when the heartbeat thread committed a beat."""

    real: SessionFactory
    beat: threading.Event

    def __call__(self) -> Session:
        session = self.real()
        commit = session.commit

        def watched_commit() -> None:
            commit()
            if threading.current_thread().name == "leadloop-outbox-heartbeat":
                self.beat.set()

        session.commit = watched_commit  # type: ignore[method-assign]
        return session


def test_the_heartbeat_thread_renews_the_claims_by_itself_and_stops_on_close(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    beat = threading.Event()
    beating = replace(
        deliverer, session_factory=BeatWatcher(session_factory, beat), heartbeat_seconds=0.01
    )
    message_id = post_id(submit(session_factory, clock))
    with sending_stuck_in_slack(beating, fake_slack, message_id):
        clock.advance(seconds=30)
        for _ in range(100):  # a beat that read the clock before the advance may come first
            assert beat.wait(timeout=5)
            beat.clear()
            if outbox_row(session_factory, message_id).claimed_until == clock() + CLAIM_LEASE:
                break
        assert outbox_row(session_factory, message_id).claimed_until == clock() + CLAIM_LEASE
        beater = beating._beater
        assert beater is not None and beater.is_alive()
    beating.close()
    assert not beater.is_alive()
    assert beating._beater is None
    beating.close()  # twice is fine


def test_the_heartbeat_thread_ends_when_nothing_is_being_sent(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    beating = replace(deliverer, heartbeat_seconds=0.01)
    message_id = post_id(submit(session_factory, clock))
    with sending_stuck_in_slack(beating, fake_slack, message_id):
        beater = beating._beater
        assert beater is not None
    beater.join(timeout=5)

    assert not beater.is_alive()
    assert outbox_row(session_factory, message_id).status == "sent"
    assert beating.deliver(post_id(submit(session_factory, clock, lead_ref="ACME-2")))
    beating.close()


# ---------------------------------------------------------------- metadata and history


def test_a_first_send_is_tagged_with_its_outbox_id_and_reads_no_history(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    message_id = post_id(submit(session_factory, clock))

    assert deliverer.deliver(message_id)

    [post] = posts(fake_slack)
    assert metadata_of(post) == {
        "event_type": OUTBOX_EVENT,
        "event_payload": {"outbox_id": message_id, "team": TEAM},
    }
    assert [call.method for call in fake_slack.calls] == ["chat.postMessage"]


def test_a_post_that_reached_slack_before_its_sender_died_is_recorded_not_posted_again(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    created_at = clock()
    clock.advance(seconds=5)
    assert vanishing(deliverer).deliver(post_id(submitted))
    [first] = posts(fake_slack)
    assert stored_rating(session_factory, submitted).post_ts is None

    clock.advance(seconds=PAST_THE_LEASE.total_seconds())
    assert deliverer.deliver_due() == 1

    assert posts(fake_slack) == [first]
    rating = stored_rating(session_factory, submitted)
    assert (rating.post_channel, rating.post_ts) == (
        payloads.FEEDBACK_CHANNEL,
        first_ts(fake_slack),
    )
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"
    [history] = fake_slack.calls_to("conversations.history")
    assert history.params["channel"] == payloads.FEEDBACK_CHANNEL
    assert history.params["include_all_metadata"] in (True, "1", "true")
    assert float(history.params["oldest"]) == (created_at - HISTORY_MARGIN).timestamp()
    assert 100 <= int(history.params["limit"]) <= 200


def first_ts(fake_slack: FakeSlack) -> str:
    return fake_slack.posts[0][1]


def test_a_post_of_another_message_in_the_channel_is_no_match(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    """Another rating's post, sent and recorded, does not stand in for the lost one."""
    assert deliverer.deliver(post_id(submit(session_factory, clock, lead_ref="ACME-1")))
    crashed = submit(session_factory, clock, lead_ref="ACME-2")
    with session_factory() as session:  # claimed by a process that died before posting
        assert outbox.claim(session, message_id=post_id(crashed), now=clock(), lease=CLAIM_LEASE)
        session.commit()

    clock.advance(seconds=PAST_THE_LEASE.total_seconds())
    assert deliverer.deliver_due() == 1

    assert len(posts(fake_slack)) == 2
    assert "ACME-2" in posts(fake_slack)[1].params["text"]
    assert stored_rating(session_factory, crashed).post_ts == fake_slack.posts[1][1]


def test_where_the_history_cannot_be_read_the_post_goes_out_again_with_one_warning(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.refuse_history("missing_scope")
    lost = [submit(session_factory, clock, lead_ref=f"ACME-{n}") for n in range(2)]
    for submitted in lost:
        assert vanishing(deliverer).deliver(post_id(submitted))
    clock.advance(seconds=PAST_THE_LEASE.total_seconds())

    with caplog.at_level(logging.WARNING, logger="bot.outbox.slack_calls"):
        assert deliverer.deliver_due() == 2

    assert len(posts(fake_slack)) == 4  # the documented trade-off: each posted twice
    assert len(fake_slack.calls_to("conversations.history")) == 2
    for submitted, again in zip(lost, fake_slack.posts[2:], strict=True):
        assert stored_rating(session_factory, submitted).post_ts == again[1]
    [warning] = [r for r in caplog.records if r.name == "bot.outbox.slack_calls"]
    assert warning.levelno == logging.WARNING
    assert "missing_scope" in warning.getMessage()
    assert "channels:history" in warning.getMessage()
    assert "may appear twice" in warning.getMessage()


def test_a_history_slack_cannot_serve_now_is_read_again_on_the_retry(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    """Slack failing (not refusing) leaves the message to the back-off, still to be checked."""
    submitted = submit(session_factory, clock)
    assert vanishing(deliverer).deliver(post_id(submitted))
    clock.advance(seconds=PAST_THE_LEASE.total_seconds())
    fake_slack.fail_next("conversations.history", status=503, times=3)  # every inline retry

    assert deliverer.deliver_due() == 0
    assert len(fake_slack.calls_to("conversations.history")) == 3
    message = outbox_row(session_factory, post_id(submitted))
    assert message.claimed_until is not None  # left to run out: the next claim is lapsed too
    assert len(posts(fake_slack)) == 1

    clock.advance(hours=1)
    assert deliverer.deliver_due() == 1

    assert len(posts(fake_slack)) == 1
    assert stored_rating(session_factory, submitted).post_ts == first_ts(fake_slack)


def test_a_dm_that_reached_slack_is_found_in_the_dm_and_not_sent_again(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    assert deliverer.deliver(post_id(submitted))
    notice_id = answer_notice_owed(
        session_factory, clock, stored_rating(session_factory, submitted)
    )

    assert vanishing(deliverer).deliver(notice_id)
    clock.advance(seconds=PAST_THE_LEASE.total_seconds())
    assert deliverer.deliver_due() == 1

    rating_post, notice = posts(fake_slack)
    assert notice.params["channel"] == payloads.RATER_ID
    assert metadata_of(notice)["event_payload"] == {"outbox_id": notice_id, "team": TEAM}
    [opened] = fake_slack.calls_to("conversations.open")
    assert opened.params["users"] == payloads.RATER_ID
    [history] = fake_slack.calls_to("conversations.history")
    assert history.params["channel"] == f"D{payloads.RATER_ID}"
    assert outbox_row(session_factory, notice_id).status == "sent"


def answer_notice_owed(session_factory: SessionFactory, clock: FakeClock, rating: Rating) -> int:
    """Marketing answers in the rating's thread; the id of the DM it owes the rater."""
    assert rating.post_channel is not None and rating.post_ts is not None
    with session_factory() as session:
        result = record_thread_reply(
            session,
            reply=ThreadReply(
                team_id=TEAM,
                event_id="Ev0001",
                channel=rating.post_channel,
                thread_ts=rating.post_ts,
                ts="1700000100.000100",
                user_id=payloads.MARKETER_ID,
                text="Thanks, we'll fix the form",
                sent_at=clock(),
            ),
            now=clock(),
        )
        session.commit()
    assert result.outcome is ReplyOutcome.STORED and result.notice_message_id is not None
    return result.notice_message_id


def test_a_meeting_reminder_is_tagged_and_found_after_its_sender_died(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    with session_factory() as session:
        create_meeting(
            session,
            team_id=TEAM,
            request=AddMeeting(
                frozenset(range(7)), 1, time(10, 0), None, "Pipeline sync", timedelta(minutes=15)
            ),
            channel_id="CMEETINGS",
            timezone="UTC",
            user_id="UCREATOR",
            now=clock(),
        )
        session.commit()
    clock.now = clock.now.replace(hour=9, minute=46)

    run_scheduled_posts(
        session_factory=session_factory, deliverer=vanishing(deliverer), clock=clock
    )
    [reminder] = posts(fake_slack)
    [owed] = pending_rows(session_factory)
    assert metadata_of(reminder)["event_payload"] == {"outbox_id": owed.id, "team": TEAM}

    clock.advance(seconds=PAST_THE_LEASE.total_seconds())
    assert deliverer.deliver_due() == 1

    assert len(posts(fake_slack)) == 1
    assert outbox_row(session_factory, owed.id or -1).status == "sent"


def pending_rows(session_factory: SessionFactory) -> list[OutboxMessage]:
    with session_factory() as session:
        return outbox.pending_messages(session, team_id=TEAM)


def test_a_simulated_clock_ahead_of_slacks_reads_the_newest_messages_instead(
    deliverer: Deliverer,
    session_factory: SessionFactory,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    """With LEADLOOP_CLOCK_START in the future, ``oldest`` would hide every real message."""
    clock.now = clock.now.replace(year=2100)
    submitted = submit(session_factory, clock)
    assert vanishing(deliverer).deliver(post_id(submitted))
    clock.advance(seconds=PAST_THE_LEASE.total_seconds())

    assert deliverer.deliver_due() == 1

    assert len(posts(fake_slack)) == 1
    [history] = fake_slack.calls_to("conversations.history")
    assert "oldest" not in history.params
    assert stored_rating(session_factory, submitted).post_ts == first_ts(fake_slack)
