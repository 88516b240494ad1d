"""``retry_failed_now``: after a settings change, a workspace's failed posts are due at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import outbox
from storage.engine import SessionFactory
from storage.models import OutboxMessage
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
LEASE = timedelta(minutes=2)


def owe(session_factory: SessionFactory, *, now: datetime, key: str, team_id: str = TEAM) -> int:
    """Enqueue and commit one message; its id."""
    with session_factory() as session:
        message = outbox.enqueue(session, team_id=team_id, kind="test", dedupe_key=key, now=now)
        session.commit()
    assert message is not None and message.id is not None
    return message.id


def fail(
    session_factory: SessionFactory, message_id: int, *, now: datetime, retry_in: timedelta
) -> None:
    """Claim the message and record a failed attempt, as the deliverer does."""
    with session_factory() as session:
        assert outbox.claim(session, message_id=message_id, now=now, lease=LEASE)
        outbox.mark_failed(
            session, message_id=message_id, error="no feedback channel", retry_at=now + retry_in
        )
        session.commit()


def retry_now(session_factory: SessionFactory, *, team_id: str, now: datetime) -> list[int]:
    with session_factory() as session:
        ids = outbox.retry_failed_now(session, team_id=team_id, now=now)
        session.commit()
    return ids


def load(session_factory: SessionFactory, message_id: int) -> OutboxMessage:
    with session_factory() as session:
        message = outbox.get_message(session, message_id=message_id)
    assert message is not None
    return message


def test_failed_messages_waiting_for_their_retry_become_due_now(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    first = owe(session_factory, now=clock(), key="a")
    second = owe(session_factory, now=clock(), key="b")
    fail(session_factory, first, now=clock(), retry_in=timedelta(minutes=30))
    fail(session_factory, second, now=clock(), retry_in=timedelta(minutes=2))
    clock.advance(minutes=1)

    ids = retry_now(session_factory, team_id=TEAM, now=clock())

    assert ids == [first, second]
    assert load(session_factory, first).next_attempt_at == clock()
    with session_factory() as session:
        assert outbox.due_message_ids(session, now=clock()) == [first, second]


def test_only_the_named_workspace_is_touched(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ours = owe(session_factory, now=clock(), key="a")
    theirs = owe(session_factory, now=clock(), key="a", team_id=OTHER_TEAM)
    for message_id in (ours, theirs):
        fail(session_factory, message_id, now=clock(), retry_in=timedelta(minutes=30))

    assert retry_now(session_factory, team_id=TEAM, now=clock()) == [ours]
    assert load(session_factory, theirs).next_attempt_at == clock() + timedelta(minutes=30)


def test_messages_never_tried_sent_or_being_sent_are_left_alone(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    fresh = owe(session_factory, now=clock(), key="fresh")
    sent = owe(session_factory, now=clock(), key="sent")
    in_flight = owe(session_factory, now=clock(), key="in-flight")
    fail(session_factory, sent, now=clock(), retry_in=timedelta(minutes=30))
    with session_factory() as session:
        outbox.mark_sent(session, message_id=sent, now=clock())
        session.commit()
    fail(session_factory, in_flight, now=clock(), retry_in=timedelta(seconds=30))
    clock.advance(seconds=30)
    with session_factory() as session:
        assert outbox.claim(session, message_id=in_flight, now=clock(), lease=LEASE)
        session.commit()

    assert retry_now(session_factory, team_id=TEAM, now=clock()) == []
    assert load(session_factory, fresh).next_attempt_at == clock() - timedelta(seconds=30)
    assert load(session_factory, in_flight).claimed_until == clock() + LEASE
    assert load(session_factory, sent).status == outbox.SENT


def test_all_become_due_but_only_the_oldest_are_handed_back_to_send_at_once(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ids = [owe(session_factory, now=clock(), key=f"m{n}") for n in range(3)]
    for message_id in ids:
        fail(session_factory, message_id, now=clock(), retry_in=timedelta(minutes=30))

    with session_factory() as session:
        handed_back = outbox.retry_failed_now(session, team_id=TEAM, now=clock(), limit=2)
        session.commit()

    assert handed_back == ids[:2]
    with session_factory() as session:
        assert outbox.due_message_ids(session, now=clock()) == ids
