"""Slack rate-limiting (429) and failing (500) for a minute: nothing is lost, nothing doubled.

Time is the injected FakeClock. The background work is driven the way the scheduler drives
it, one tick every ten seconds: the outbox sweep (``deliverer.deliver_due``) and the
scheduled-post tick (``run_scheduled_posts``). During the minute, every ``chat.postMessage``
attempt gets the fault queued for it; afterwards Slack answers normally.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.outbox.engine import Deliverer
from bot.scheduler import run_scheduled_posts
from storage.engine import SessionFactory
from storage.models import OutboxMessage, Rating, Response, ScheduledPost
from storage.outbox import SENT
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import Call, FakeSlack
from tests.slack_app_client import SlackAppClient

POST = "chat.postMessage"
MEETING_CHANNEL = "CMEETINGS"
OUTAGE_STARTS = datetime(2026, 11, 2, 9, 34, 30, tzinfo=UTC)
OUTAGE_ENDS = OUTAGE_STARTS + timedelta(minutes=1)
# "daily 9:50" in UTC, reminded 15 minutes before: due at 09:35, half-way through the outage.
MEETING_AT = datetime(2026, 11, 2, 9, 50, tzinfo=UTC)
RETRY_AFTER_SECONDS = 60
# bot.slack_client retries a 500 twice inline (without really sleeping here): three calls.
CALLS_PER_FAILED_500_ATTEMPT = 3
# /rate-lead answers in its ack, before the post is tried: it promises the channel, no more.
SAVED_NOTE = f"It is saved and goes to <#{payloads.FEEDBACK_CHANNEL}>"


@dataclass
class Outage:
    """Queues Slack's faults for the posting attempts made during the outage."""

    fake: FakeSlack
    queued: int = 0

    def rate_limits(self, attempts: int = 1) -> None:
        """The next ``attempts`` posts get 429 with a Retry-After of a minute."""
        self.fake.fail_next(
            POST, status=429, retry_after=RETRY_AFTER_SECONDS, times=attempts, error="ratelimited"
        )
        self.queued += attempts

    def errors(self, attempts: int = 1) -> None:
        """The next ``attempts`` posts get 500, each try of each attempt."""
        calls = attempts * CALLS_PER_FAILED_500_ATTEMPT
        self.fake.fail_next(POST, status=500, times=calls)
        self.queued += calls


def tick(session_factory: SessionFactory, deliverer: Deliverer, clock: FakeClock) -> None:
    """One round of background work, as the running bot's scheduler does it."""
    deliverer.deliver_due()
    run_scheduled_posts(session_factory=session_factory, deliverer=deliverer, clock=clock)


def posted_where(call: Call) -> str:
    """What a post was: the lead of a rating post, a DM's recipient, or a meeting reminder."""
    channel = str(call.params["channel"])
    if channel == MEETING_CHANNEL:
        return "reminder"
    if channel == payloads.FEEDBACK_CHANNEL:
        text = str(call.params["text"])
        return next((ref for ref in ("ACME-0", "ACME-1", "ACME-2") if ref in text), text)
    return f"DM {channel}"


def post_ts_of_only_rating(session_factory: SessionFactory) -> str:
    """The feedback-channel ts of the one rating stored so far."""
    with session_factory() as session:
        [rating] = session.exec(select(Rating)).all()
    assert rating.post_ts is not None
    return rating.post_ts


def test_posts_owed_during_a_minute_of_429_and_500_are_all_delivered_once_afterwards(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    deliverer: Deliverer,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    fake_slack.set_user(payloads.RATER_ID, tz="UTC")
    clock.now = OUTAGE_STARTS - timedelta(minutes=4, seconds=30)
    slack.command(
        "add daily 9:50 Pipeline sync",
        command="/meeting",
        channel_id=MEETING_CHANNEL,
        response_url=fake_slack.response_url(),
    )
    slack.command("ACME-0 3 posted before the outage", response_url=fake_slack.response_url())
    thread_ts = post_ts_of_only_rating(session_factory)
    assert len(fake_slack.calls_to(POST)) == 1
    outage = Outage(fake_slack)

    clock.now = OUTAGE_STARTS
    outage.rate_limits()
    first_confirmation = slack.command(
        "ACME-1 2 rated while Slack rate-limits", response_url=fake_slack.response_url()
    ).json()

    clock.advance(seconds=10)
    outage.errors()
    second_confirmation = slack.command(
        "ACME-2 4 rated while Slack fails", response_url=fake_slack.response_url()
    ).json()

    clock.advance(seconds=10)
    outage.rate_limits()  # marketing answers ACME-0: the DM to the rater is owed
    reply = payloads.thread_reply(thread_ts=thread_ts, ts="1700000100.000100")
    slack.event(payloads.event_callback(reply, event_id="Ev-during-outage"))

    clock.advance(seconds=10)  # 09:35:00: the reminder is due
    outage.errors()
    tick(session_factory, deliverer, clock)

    clock.advance(seconds=10)  # ACME-2's first retry, 30 s after it failed
    outage.errors()
    tick(session_factory, deliverer, clock)

    clock.advance(seconds=10)  # nothing is due: Retry-After and the back-off are honoured
    tick(session_factory, deliverer, clock)

    during = fake_slack.calls_to(POST)[1:]
    assert len(during) == outage.queued  # every attempt met a fault: nothing got through
    assert Counter(posted_where(call) for call in during) == {
        "ACME-1": 1,
        "ACME-2": 2 * CALLS_PER_FAILED_500_ATTEMPT,
        f"DM {payloads.RATER_ID}": 1,
        "reminder": CALLS_PER_FAILED_500_ATTEMPT,
    }
    for confirmation in (first_confirmation, second_confirmation):
        assert confirmation["response_type"] == "ephemeral"
        assert SAVED_NOTE in confirmation["text"]

    clock.now = OUTAGE_ENDS  # Slack answers normally from here on
    while clock.now <= OUTAGE_ENDS + timedelta(minutes=5):
        tick(session_factory, deliverer, clock)
        clock.advance(seconds=10)

    after = fake_slack.calls_to(POST)[1 + len(during) :]
    assert sorted(posted_where(call) for call in after) == sorted(
        ["ACME-1", "ACME-2", f"DM {payloads.RATER_ID}", "reminder"]
    )
    with session_factory() as session:
        ratings = session.exec(select(Rating)).all()
        assert len(ratings) == 3
        assert all(rating.post_channel == payloads.FEEDBACK_CHANNEL for rating in ratings)
        [response] = session.exec(select(Response)).all()
        assert response.ts == "1700000100.000100"
        [reminder] = session.exec(select(ScheduledPost)).all()
        assert reminder.occurrence_at == MEETING_AT
        assert (reminder.status, reminder.post_channel) == ("posted", MEETING_CHANNEL)
        assert {row.status for row in session.exec(select(OutboxMessage)).all()} == {SENT}
