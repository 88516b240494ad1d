"""The background jobs: the outbox sweep, forgetting old event ids, and their schedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from sqlalchemy import insert, update
from sqlmodel import col, select

from bot.outbox.engine import Deliverer
from bot.scheduler import (
    EVENT_MEMORY,
    OUTBOX_SWEEP_SECONDS,
    build_scheduler,
    forget_old_events,
    sweep_outbox,
)
from bot.team_clients import OneWorkspace
from domain.admin.settings import WorkspaceSettings
from domain.ratings.loop import SubmittedRating, submit_rating
from domain.ratings.parse import RatingInput
from storage.engine import SessionFactory, create_db_engine, make_session_factory
from storage.models import SLACK_OAUTH_STATES_TABLE, OutboxMessage, ProcessedEvent
from storage.responses import claim_event
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack

TEAM = payloads.TEAM_ID
UNREACHABLE_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"


@pytest.fixture
def unreachable_session_factory() -> Iterator[SessionFactory]:
    """Sessions on a database server that is not there (a closed port)."""
    engine = create_db_engine(UNREACHABLE_DATABASE_URL)
    yield make_session_factory(engine)
    engine.dispose()


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


def remembered_events(session_factory: SessionFactory) -> list[str]:
    with session_factory() as session:
        rows = session.exec(select(ProcessedEvent).order_by(col(ProcessedEvent.id))).all()
    return [row.event_id for row in rows]


def test_the_sweep_sends_every_due_message_and_counts_them(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    for n in range(3):
        submit(session_factory, clock, f"ACME-{n}")

    assert sweep_outbox(deliverer) == 3

    texts = [call.params["text"] for call in fake_slack.calls_to("chat.postMessage")]
    assert [text.split()[1] for text in texts] == ["ACME-0", "ACME-1", "ACME-2"]
    assert sweep_outbox(deliverer) == 0
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


def test_the_sweep_leaves_messages_that_are_not_yet_due(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    submit(session_factory, clock, "ACME-1")
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    assert sweep_outbox(deliverer) == 0

    clock.advance(seconds=29)
    assert sweep_outbox(deliverer) == 0
    clock.advance(seconds=1)
    assert sweep_outbox(deliverer) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_the_sweep_survives_an_unreachable_database(
    web_client: WebClient,
    fake_slack: FakeSlack,
    unreachable_session_factory: SessionFactory,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deliverer = Deliverer(
        session_factory=unreachable_session_factory,
        clients=OneWorkspace(web_client),
        clock=clock,
        defaults=WorkspaceSettings(feedback_channel=payloads.FEEDBACK_CHANNEL),
    )

    assert sweep_outbox(deliverer) == 0

    assert fake_slack.calls == []
    assert "outbox sweep failed" in caplog.text


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

    assert sweep_outbox(deliverer) == 1

    texts = [call.params["text"] for call in fake_slack.calls_to("chat.postMessage")]
    assert len(texts) == 2 and "ACME-2" in texts[1]


def test_old_event_ids_are_forgotten(session_factory: SessionFactory, clock: FakeClock) -> None:
    start = clock()
    with session_factory() as session:
        claim_event(session, team_id=TEAM, event_id="EvOld", now=start)
        claim_event(session, team_id=TEAM, event_id="EvRecent", now=start + timedelta(hours=2))
        session.commit()
    clock.advance(seconds=(EVENT_MEMORY + timedelta(hours=1)).total_seconds())

    assert forget_old_events(session_factory, clock) == 1

    assert remembered_events(session_factory) == ["EvRecent"]
    assert forget_old_events(session_factory, clock) == 0


def test_expired_install_links_are_forgotten(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    naive_now = clock().replace(tzinfo=None)
    with session_factory() as session:
        session.execute(
            insert(SLACK_OAUTH_STATES_TABLE),
            [
                {"state": "expired", "expire_at": naive_now - timedelta(minutes=1)},
                {"state": "live", "expire_at": naive_now + timedelta(minutes=9)},
            ],
        )
        session.commit()

    assert forget_old_events(session_factory, clock) == 1

    with session_factory() as session:
        left = session.execute(select(SLACK_OAUTH_STATES_TABLE.c.state)).scalars().all()
    assert left == ["live"]


def test_forgetting_events_survives_an_unreachable_database(
    unreachable_session_factory: SessionFactory,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert forget_old_events(unreachable_session_factory, clock) == 0
    assert "could not prune" in caplog.text


def test_the_scheduler_has_leadloops_recurring_jobs(
    deliverer: Deliverer, session_factory: SessionFactory, clock: FakeClock
) -> None:
    scheduler = build_scheduler(deliverer=deliverer, session_factory=session_factory, clock=clock)

    assert scheduler.running is False
    assert {job.id for job in scheduler.get_jobs()} == {
        "outbox-sweep",
        "forget-old-events",
        "scheduled-posts",
    }
    sweep = scheduler.get_job("outbox-sweep")
    assert sweep is not None
    assert sweep.func is sweep_outbox
    assert list(sweep.args) == [deliverer]
    assert isinstance(sweep.trigger, IntervalTrigger)
    assert sweep.trigger.interval == timedelta(seconds=OUTBOX_SWEEP_SECONDS)
    forget = scheduler.get_job("forget-old-events")
    assert forget is not None
    assert forget.func is forget_old_events
    assert list(forget.args) == [session_factory, clock]
    assert isinstance(forget.trigger, IntervalTrigger)
    assert forget.trigger.interval == timedelta(hours=1)
