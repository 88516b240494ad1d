"""The delivery process's schedules: forgetting old event ids, and the jobs' timing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import insert
from sqlmodel import col, select

from bot.outbox.engine import Deliverer
from bot.scheduler import (
    EVENT_MEMORY,
    WEBHOOK_DELIVERY_MEMORY,
    build_scheduler,
    claim_scheduled_posts,
    forget_old_events,
)
from storage.engine import SessionFactory
from storage.leads import remember_delivery
from storage.models import SLACK_OAUTH_STATES_TABLE, ProcessedEvent, WebhookDelivery
from storage.responses import claim_event
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID


def remembered_events(session_factory: SessionFactory) -> list[str]:
    with session_factory() as session:
        rows = session.exec(select(ProcessedEvent).order_by(col(ProcessedEvent.id))).all()
    return [row.event_id for row in rows]


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


def test_webhook_signatures_are_forgotten_after_a_day_of_real_time(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    wall_clock = FakeClock(clock())
    hour = timedelta(hours=1)
    with session_factory() as session:
        for signature, age in [("v1=old", WEBHOOK_DELIVERY_MEMORY + hour), ("v1=recent", hour)]:
            received = wall_clock() - age
            remember_delivery(
                session, team_id=TEAM, signature=signature, signed_at=received, now=received
            )
        session.commit()
    clock.advance(days=30)  # a simulated clock running fast forgets nothing early

    assert forget_old_events(session_factory, clock, wall_clock) == 1

    with session_factory() as session:
        assert session.exec(select(WebhookDelivery.signature)).all() == ["v1=recent"]


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
    scheduler = build_scheduler(
        defaults=deliverer.defaults, session_factory=session_factory, clock=clock
    )

    assert scheduler.running is False
    assert {job.id for job in scheduler.get_jobs()} == {"forget-old-events", "scheduled-posts"}
    posts = scheduler.get_job("scheduled-posts")
    assert posts is not None and posts.func is claim_scheduled_posts  # claims; the pump sends
    forget = scheduler.get_job("forget-old-events")
    assert forget is not None
    assert forget.func is forget_old_events
    assert list(forget.args) == [session_factory, clock]
    assert isinstance(forget.trigger, IntervalTrigger)
    assert forget.trigger.interval == timedelta(hours=1)
