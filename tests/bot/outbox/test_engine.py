"""Delivering the outbox to the fake Slack server: posts, notices, retries and their limits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.app import build_deliverer
from bot.config import Settings, SimulatedClock
from bot.outbox.engine import CLAIM_LEASE, RECORD_RETRY_DELAYS, Deliverer, retry_delay
from bot.slack_client import build_web_client
from domain.ratings.loop import (
    ReplyOutcome,
    SubmittedRating,
    ThreadReply,
    record_thread_reply,
    submit_rating,
)
from domain.ratings.parse import RatingInput
from storage import outbox
from storage.engine import SessionFactory, create_db_engine, make_session_factory
from storage.models import OutboxMessage, Rating
from storage.ratings import get_rating
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, SleepRecorder
from tests.fake_slack import FakeSlack

TEAM = payloads.TEAM_ID


def submit(
    session_factory: SessionFactory,
    clock: FakeClock,
    *,
    lead_ref: str = "ACME-1042",
    score: int = 2,
    reason: str = "wrong industry, no budget",
) -> SubmittedRating:
    """A rep's rating, stored with its owed post in one committed transaction."""
    with session_factory() as session:
        submitted = submit_rating(
            session,
            team_id=TEAM,
            rater_id=payloads.RATER_ID,
            rating=RatingInput(lead_ref=lead_ref, score=score, reason=reason),
            via="command",
            origin_channel=payloads.SALES_CHANNEL,
            now=clock(),
        )
        session.commit()
    assert submitted.post_message_id is not None
    return submitted


def post_id(submitted: SubmittedRating) -> int:
    assert submitted.post_message_id is not None
    return submitted.post_message_id


def outbox_row(session_factory: SessionFactory, message_id: int) -> OutboxMessage:
    with session_factory() as session:
        message = outbox.get_message(session, message_id=message_id)
    assert message is not None
    return message


def stored_rating(session_factory: SessionFactory, submitted: SubmittedRating) -> Rating:
    with session_factory() as session:
        rating = get_rating(session, team_id=TEAM, rating_id=submitted.rating.id or -1)
    assert rating is not None
    return rating


def test_a_rating_is_posted_to_the_feedback_channel(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)

    assert deliverer.deliver(post_id(submitted)) is True

    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == payloads.FEEDBACK_CHANNEL
    assert "ACME-1042" in post.params["text"]
    assert "★★☆☆☆" in str(post.params["blocks"])
    assert "wrong industry, no budget" in str(post.params["blocks"])
    rating = stored_rating(session_factory, submitted)
    assert rating.post_channel == payloads.FEEDBACK_CHANNEL
    assert rating.post_ts is not None and rating.post_ts.startswith("1700000000.")
    assert rating.posted_at == clock()
    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.sent_at, message.claimed_until) == ("sent", clock(), None)


def test_a_delivered_message_is_not_posted_again(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    assert deliverer.deliver(post_id(submitted))

    assert deliverer.deliver(post_id(submitted)) is False
    clock.advance(hours=1)
    assert deliverer.deliver(post_id(submitted)) is False
    assert deliverer.deliver_due() == 0

    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_two_deliverers_racing_post_each_rating_once(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    settings: Settings,
    session_factory: SessionFactory,
    clock: FakeClock,
    sleeps: SleepRecorder,
) -> None:
    ids = [post_id(submit(session_factory, clock, lead_ref=f"ACME-{n}")) for n in range(20)]
    # A second process: its own engine, sessions and Slack client.
    other_engine = create_db_engine(settings.database_url)
    other = build_deliverer(
        settings,
        session_factory=make_session_factory(other_engine),
        client=build_web_client(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, sleep=sleeps
        ),
        clock=clock,
    )
    start = threading.Barrier(2)
    sent: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def run(index: int, worker: Deliverer) -> None:
        try:
            start.wait(timeout=10)
            sent[index].extend(message_id for message_id in ids if worker.deliver(message_id))
        except BaseException as error:  # reported by the main thread below
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=(index, worker))
        for index, worker in enumerate((deliverer, other))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        other_engine.dispose()

    assert errors == []
    assert sorted(sent[0] + sent[1]) == sorted(ids)
    posts = fake_slack.calls_to("chat.postMessage")
    assert sorted(post.params["text"].split()[1] for post in posts) == sorted(
        f"ACME-{n}" for n in range(20)
    )
    assert all(outbox_row(session_factory, message_id).status == "sent" for message_id in ids)


def test_a_short_rate_limit_is_waited_out_inline(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    sleeps: SleepRecorder,
) -> None:
    submitted = submit(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)

    assert deliverer.deliver(post_id(submitted)) is True

    assert len(sleeps.waits) == 1
    assert 1 <= sleeps.waits[0] < 1.2
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # the 429, then the post
    assert stored_rating(session_factory, submitted).post_ts is not None
    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.attempts) == ("sent", 1)


def test_a_long_rate_limit_puts_the_post_back_until_slack_allows_it(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    sleeps: SleepRecorder,
) -> None:
    submitted = submit(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=120)
    limited_at = clock()

    assert deliverer.deliver(post_id(submitted)) is False

    assert sleeps.waits == []
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.last_error, message.claimed_until) == (
        "pending",
        "ratelimited",
        None,
    )
    assert message.next_attempt_at >= limited_at + timedelta(seconds=120)
    assert stored_rating(session_factory, submitted).post_ts is None

    clock.advance(seconds=119)
    assert deliverer.deliver_due() == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 1

    clock.advance(seconds=2)
    assert deliverer.deliver_due() == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"
    assert stored_rating(session_factory, submitted).post_ts is not None


@pytest.mark.parametrize(
    ("status", "drop_connection", "error"),
    [
        pytest.param(500, False, "internal_error", id="server-error"),
        pytest.param(200, True, "RemoteDisconnected", id="dropped-connection"),
    ],
)
def test_slack_failing_beyond_the_inline_retries_leaves_the_post_owed(
    status: int,
    drop_connection: bool,
    error: str,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    sleeps: SleepRecorder,
) -> None:
    submitted = submit(session_factory, clock)
    fake_slack.fail_next(
        "chat.postMessage", status=status, drop_connection=drop_connection, times=3
    )
    failed_at = clock()

    assert deliverer.deliver(post_id(submitted)) is False

    assert len(fake_slack.calls_to("chat.postMessage")) == 3
    assert len(sleeps.waits) == 2  # recorded, never slept
    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.claimed_until) == ("pending", None)
    assert message.last_error is not None and message.last_error.startswith(error)
    assert message.next_attempt_at == failed_at + timedelta(seconds=30)
    assert stored_rating(session_factory, submitted).post_ts is None

    # Slack has recovered; the next sweeps after the back-off post it, once.
    clock.advance(seconds=30)
    assert deliverer.deliver_due() == 1
    clock.advance(minutes=10)
    assert deliverer.deliver_due() == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.attempts) == ("sent", 2)
    assert stored_rating(session_factory, submitted).post_ts is not None


def test_the_bot_joins_a_channel_it_is_not_in_and_posts(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")

    assert deliverer.deliver(post_id(submitted)) is True

    [join] = fake_slack.calls_to("conversations.join")
    assert join.params["channel"] == payloads.FEEDBACK_CHANNEL
    methods = [call.method for call in fake_slack.calls]
    assert methods == ["chat.postMessage", "conversations.join", "chat.postMessage"]
    assert stored_rating(session_factory, submitted).post_channel == payloads.FEEDBACK_CHANNEL
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"


def test_a_missing_channel_is_retried_with_growing_delays(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    delays = [30, 60, 120, 240]
    fake_slack.fail_next("chat.postMessage", error="channel_not_found", times=len(delays))

    for attempt, delay in enumerate(delays, start=1):
        assert deliverer.deliver_due() == 0
        message = outbox_row(session_factory, post_id(submitted))
        assert (message.status, message.attempts) == ("pending", attempt)
        assert message.last_error == "channel_not_found"
        assert message.next_attempt_at == clock() + timedelta(seconds=delay)
        clock.advance(seconds=delay - 1)
        assert deliverer.deliver_due() == 0  # not due yet: nothing tried
        assert len(fake_slack.calls_to("chat.postMessage")) == attempt
        clock.advance(seconds=1)

    assert deliverer.deliver_due() == 1
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        (1, timedelta(seconds=30)),
        (2, timedelta(seconds=60)),
        (3, timedelta(minutes=2)),
        (6, timedelta(minutes=16)),
        (7, timedelta(minutes=30)),
        (8, timedelta(minutes=30)),
        (43, timedelta(minutes=30)),
        (1000, timedelta(minutes=30)),
    ],
)
def test_retry_delay_doubles_from_30_seconds_up_to_30_minutes(
    attempts: int, expected: timedelta
) -> None:
    assert retry_delay(attempts) == expected


def test_retry_delay_never_comes_before_slacks_retry_after() -> None:
    assert retry_delay(1, retry_after=120) == timedelta(seconds=120)
    assert retry_delay(3, retry_after=10) == timedelta(minutes=2)
    assert retry_delay(10, retry_after=3600) == timedelta(hours=1)


def test_a_post_failing_for_over_a_day_is_still_retried_every_30_minutes(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    # 60 failed attempts, about a day of a channel nobody fixed.
    with session_factory() as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == post_id(submitted))
            .values(attempts=60)
        )
        session.commit()
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")

    assert deliverer.deliver(post_id(submitted)) is False

    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.claimed_until) == ("pending", None)
    assert message.last_error == "channel_not_found"
    assert message.next_attempt_at == clock() + timedelta(minutes=30)


def test_a_message_about_a_deleted_rating_is_dropped_unsent(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    with session_factory() as session:
        # The outbox row's foreign key would refuse the delete; detach it first, as an
        # ON DELETE SET NULL would.
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == post_id(submitted))
            .values(rating_id=None)
        )
        session.execute(delete(Rating).where(col(Rating.id) == submitted.rating.id))
        session.commit()

    assert deliverer.deliver(post_id(submitted)) is False

    assert fake_slack.calls_to("chat.postMessage") == []
    message = outbox_row(session_factory, post_id(submitted))
    assert (message.status, message.claimed_until) == ("dropped", None)
    assert message.last_error
    clock.advance(hours=1)
    assert deliverer.deliver_due() == 0


def test_the_rater_is_told_in_a_dm_when_marketing_answers(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submitted = submit(session_factory, clock)
    assert deliverer.deliver(post_id(submitted))
    rating = stored_rating(session_factory, submitted)
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
                text="Thanks, we'll fix the form's industry field",
                sent_at=clock.advance(minutes=5),
            ),
            now=clock(),
        )
        session.commit()
    assert result.outcome is ReplyOutcome.STORED
    assert result.notice_message_id is not None

    assert deliverer.deliver(result.notice_message_id) is True

    first_post, notice = fake_slack.calls_to("chat.postMessage")
    assert first_post.params["channel"] == payloads.FEEDBACK_CHANNEL
    assert notice.params["channel"] == payloads.RATER_ID
    assert "ACME-1042" in notice.params["text"]
    blocks = str(notice.params["blocks"])
    assert "Thanks, we'll fix the form's industry field" in blocks
    assert f"<@{payloads.MARKETER_ID}>" in blocks
    assert outbox_row(session_factory, result.notice_message_id).status == "sent"
    assert deliverer.deliver(result.notice_message_id) is False
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_no_database_lock_is_held_while_slack_is_slow(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    """A slow Slack must not hold up new ratings (SQLite has one writer at a time)."""
    message_id = submit(session_factory, clock, lead_ref="SLOW-1").post_message_id
    release = fake_slack.hold("chat.postMessage")
    delivery = threading.Thread(target=deliverer.deliver, args=(message_id,))
    delivery.start()
    fake_slack.wait_for("chat.postMessage")  # the delivery is now inside its Slack call

    stored = threading.Event()

    def rate_another() -> None:
        submit(session_factory, clock, lead_ref="FAST-2")
        stored.set()

    writer = threading.Thread(target=rate_another)
    writer.start()
    writer_done = stored.wait(timeout=10)  # far below the 15 s lock wait it would need
    release.set()
    delivery.join()
    writer.join()

    assert writer_done
    with session_factory() as session:
        posted = session.exec(select(Rating).where(col(Rating.post_ts).is_not(None))).all()
    assert len(posted) == 1


@contextmanager
def first_sender_stuck_in_slack(
    settings: Settings,
    session_factory: SessionFactory,
    web_client: WebClient,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> Iterator[tuple[Deliverer, threading.Event]]:
    """One process is inside its Slack post; yields a second process and the release."""
    first, second = (
        build_deliverer(settings, session_factory=session_factory, client=web_client, clock=clock)
        for _ in range(2)
    )
    message_id = post_id(submit(session_factory, clock))
    release = fake_slack.hold("chat.postMessage")
    sending = threading.Thread(target=first.deliver, args=(message_id,))
    sending.start()
    fake_slack.wait_for("chat.postMessage")
    try:
        yield second, release
    finally:
        release.set()
        sending.join()


def test_a_send_slower_than_the_lease_is_taken_over(
    settings: Settings,
    session_factory: SessionFactory,
    web_client: WebClient,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    """The lease is what lets a dead process's message go out; it is also its limit."""
    with first_sender_stuck_in_slack(settings, session_factory, web_client, fake_slack, clock) as (
        second,
        _,
    ):
        clock.advance(seconds=(CLAIM_LEASE + timedelta(seconds=1)).total_seconds())
        overtaking = threading.Thread(target=second.deliver_due)
        overtaking.start()
        fake_slack.wait_for("chat.postMessage", 2)
    overtaking.join()


def test_a_fast_simulated_clock_stretches_the_lease_so_no_post_is_doubled(
    settings: Settings,
    session_factory: SessionFactory,
    web_client: WebClient,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> None:
    """At 43,200x, a 50 ms Slack call is 36 simulated minutes: far past an unscaled lease."""
    simulated = replace(
        settings, simulated_clock=SimulatedClock(start=clock(), epoch=0, scale=43_200)
    )
    with first_sender_stuck_in_slack(simulated, session_factory, web_client, fake_slack, clock) as (
        second,
        release,
    ):
        clock.advance(hours=1)
        assert second.deliver_due() == 0
        release.set()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@dataclass
class SessionsFailingAfterThePost:
    """Sessions whose commits fail, once Slack has the post, with the errors queued here."""

    real: SessionFactory
    fake_slack: FakeSlack
    failures: list[Exception]

    def __call__(self) -> Session:
        session = self.real()
        commit = session.commit

        def failing_commit() -> None:
            if self.failures and self.fake_slack.calls_to("chat.postMessage"):
                session.rollback()
                raise self.failures.pop(0)
            commit()

        session.commit = failing_commit  # type: ignore[method-assign]
        return session


def connection_lost() -> OperationalError:
    return OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


@dataclass
class PostThenDatabaseFailure:
    """A rating posted by a deliverer whose database fails once Slack has the post."""

    session_factory: SessionFactory
    deliverer: Deliverer
    fake_slack: FakeSlack
    clock: FakeClock
    waits: SleepRecorder

    def deliver(self, *failures: Exception) -> SubmittedRating:
        """Submit a rating and deliver it while the next commits fail with ``failures``."""
        submitted = submit(self.session_factory, self.clock)
        sessions = SessionsFailingAfterThePost(self.session_factory, self.fake_slack, [*failures])
        failing = replace(self.deliverer, session_factory=sessions, sleep=self.waits)
        assert failing.deliver(post_id(submitted)) is True
        return submitted

    def posts_after_a_sweep_in(self, later: timedelta) -> int:
        """How many times the rating was posted, once a healthy sweep ran ``later``."""
        self.clock.advance(seconds=later.total_seconds())
        self.deliverer.deliver_due()
        return len(self.fake_slack.calls_to("chat.postMessage"))


@pytest.fixture
def post_then_failure(
    deliverer: Deliverer, session_factory: SessionFactory, fake_slack: FakeSlack, clock: FakeClock
) -> PostThenDatabaseFailure:
    fake_slack.clock = clock  # ts values on the test's time, as conversations.history's oldest
    return PostThenDatabaseFailure(session_factory, deliverer, fake_slack, clock, SleepRecorder())


def test_a_database_blip_after_the_post_is_waited_out_and_the_post_is_not_repeated(
    post_then_failure: PostThenDatabaseFailure, session_factory: SessionFactory
) -> None:
    submitted = post_then_failure.deliver(connection_lost(), connection_lost())

    assert post_then_failure.posts_after_a_sweep_in(CLAIM_LEASE * 2) == 1
    # The first failure is the batch's; the post is then recorded alone, at once, and the
    # second failure is waited out.
    assert post_then_failure.waits.waits == list(RECORD_RETRY_DELAYS[:1])
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"
    assert stored_rating(session_factory, submitted).post_ts is not None


def test_a_post_whose_changes_cannot_be_stored_is_still_marked_sent_and_never_repeated(
    post_then_failure: PostThenDatabaseFailure, session_factory: SessionFactory
) -> None:
    duplicate = IntegrityError("UPDATE rating", {}, Exception("duplicate key"))
    submitted = post_then_failure.deliver(duplicate)

    assert post_then_failure.posts_after_a_sweep_in(CLAIM_LEASE * 2) == 1
    assert post_then_failure.waits.waits == []  # a constraint does not go away by waiting
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"


def test_a_database_down_through_every_retry_leaves_the_post_to_be_found_once_its_lease_ends(
    post_then_failure: PostThenDatabaseFailure, session_factory: SessionFactory
) -> None:
    # The batch's try, every try to store the result alone, then the try to mark it sent.
    outage = [connection_lost() for _ in range(len(RECORD_RETRY_DELAYS) + 3)]
    submitted = post_then_failure.deliver(*outage)

    within_the_lease = post_then_failure.posts_after_a_sweep_in(CLAIM_LEASE - timedelta(seconds=1))
    after_it = post_then_failure.posts_after_a_sweep_in(timedelta(seconds=2))

    assert post_then_failure.waits.waits == list(RECORD_RETRY_DELAYS)
    # The claim lapsed unreleased: the next sender finds the post in the channel, by its
    # metadata, and records it rather than posting it again.
    assert (within_the_lease, after_it) == (1, 1)
    assert outbox_row(session_factory, post_id(submitted)).status == "sent"
    [(_, ts)] = post_then_failure.fake_slack.posts
    assert stored_rating(session_factory, submitted).post_ts == ts
