"""Claims on a real database: which ones lapsed, and renewing the live ones (the heartbeat)."""

from __future__ import annotations

from datetime import timedelta

from storage import outbox
from storage.engine import SessionFactory
from storage.models import OutboxMessage
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID
LEASE = timedelta(seconds=45)


def owe(session_factory: SessionFactory, clock: FakeClock, key: str) -> int:
    with session_factory() as session:
        message = outbox.enqueue(session, team_id=TEAM, kind="test", dedupe_key=key, now=clock())
        session.commit()
    assert message is not None and message.id is not None
    return message.id


def claim(
    session_factory: SessionFactory, message_id: int, clock: FakeClock
) -> outbox.Claim | None:
    with session_factory() as session:
        won = outbox.claim_message(session, message_id=message_id, now=clock(), lease=LEASE)
        session.commit()
    return won


def renew(session_factory: SessionFactory, ids: list[int], clock: FakeClock) -> int:
    with session_factory() as session:
        renewed = outbox.renew_claims(session, message_ids=ids, now=clock(), lease=LEASE)
        session.commit()
    return renewed


def load(session_factory: SessionFactory, message_id: int) -> OutboxMessage:
    with session_factory() as session:
        message = outbox.get_message(session, message_id=message_id)
    assert message is not None
    return message


def test_a_first_claim_is_not_lapsed(session_factory: SessionFactory, clock: FakeClock) -> None:
    message_id = owe(session_factory, clock, "k")

    assert claim(session_factory, message_id, clock) == outbox.Claim(lapsed=False)
    assert claim(session_factory, message_id, clock) is None  # held


def test_a_claim_not_renewed_lapses_after_the_lease_and_the_next_one_says_so(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, clock, "k")
    assert claim(session_factory, message_id, clock)

    clock.advance(seconds=LEASE.total_seconds())
    assert claim(session_factory, message_id, clock) is None  # the lease's last instant
    clock.advance(seconds=1)
    assert claim(session_factory, message_id, clock) == outbox.Claim(lapsed=True)


def test_a_renewed_claim_does_not_lapse(session_factory: SessionFactory, clock: FakeClock) -> None:
    message_id = owe(session_factory, clock, "k")
    assert claim(session_factory, message_id, clock)

    for _ in range(4):  # a minute of 15-second beats: longer than the lease
        clock.advance(seconds=15)
        assert renew(session_factory, [message_id], clock) == 1
        assert claim(session_factory, message_id, clock) is None

    assert load(session_factory, message_id).claimed_until == clock() + LEASE
    clock.advance(seconds=LEASE.total_seconds() + 1)  # the beats stop: it lapses
    assert claim(session_factory, message_id, clock) == outbox.Claim(lapsed=True)


def test_a_claim_released_by_a_failure_is_not_lapsed(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, clock, "k")
    assert claim(session_factory, message_id, clock)
    with session_factory() as session:
        outbox.mark_failed(session, message_id=message_id, error="boom", retry_at=clock())
        session.commit()

    clock.advance(seconds=1)
    assert claim(session_factory, message_id, clock) == outbox.Claim(lapsed=False)


def test_a_failure_that_keeps_the_claim_leaves_the_next_claim_lapsed(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, clock, "k")
    assert claim(session_factory, message_id, clock)
    with session_factory() as session:
        outbox.mark_failed(
            session,
            message_id=message_id,
            error="boom",
            retry_at=clock() + timedelta(seconds=30),
            release=False,
        )
        session.commit()

    clock.advance(seconds=31)
    assert claim(session_factory, message_id, clock) is None  # the claim runs out first
    clock.advance(seconds=LEASE.total_seconds())
    assert claim(session_factory, message_id, clock) == outbox.Claim(lapsed=True)


def test_a_renewal_skips_what_is_no_longer_claimed(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    stale, sent, failed, live, never = (owe(session_factory, clock, key) for key in "abcde")
    for message_id in (stale, sent, failed):
        assert claim(session_factory, message_id, clock)
    with session_factory() as session:
        outbox.mark_sent(session, message_id=sent, now=clock())
        outbox.mark_failed(session, message_id=failed, error="x", retry_at=clock())
        session.commit()
    clock.advance(seconds=LEASE.total_seconds() + 1)  # stale's claim has run out
    assert claim(session_factory, live, clock)
    clock.advance(seconds=30)

    assert renew(session_factory, [stale, sent, failed, live, never], clock) == 1

    assert load(session_factory, live).claimed_until == clock() + LEASE
    assert load(session_factory, stale).claimed_until == clock() - timedelta(seconds=31)
    for message_id in (sent, failed, never):
        assert load(session_factory, message_id).claimed_until is None


def test_several_claims_are_renewed_in_one_call(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ids = [owe(session_factory, clock, f"k{n}") for n in range(3)]
    for message_id in ids:
        assert claim(session_factory, message_id, clock)
    clock.advance(seconds=40)

    assert renew(session_factory, ids, clock) == 3
    assert renew(session_factory, [], clock) == 0
    assert {load(session_factory, i).claimed_until for i in ids} == {clock() + LEASE}


def claim_batch(
    session_factory: SessionFactory, ids: list[int], clock: FakeClock
) -> list[outbox.ClaimedMessage]:
    with session_factory() as session:
        won = outbox.claim_messages(session, message_ids=ids, now=clock(), lease=LEASE)
        session.commit()
    return won


def test_a_batch_claim_takes_the_free_and_the_lapsed_and_says_which_lapsed(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    fresh, lapsing, held, released = (owe(session_factory, clock, key) for key in "abcd")
    assert claim(session_factory, lapsing, clock)
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert claim(session_factory, held, clock)  # claimed just now: not due to anyone else
    assert claim(session_factory, released, clock)
    with session_factory() as session:  # a failure released its claim: free again
        outbox.mark_failed(session, message_id=released, error="x", retry_at=clock())
        session.commit()

    won = claim_batch(session_factory, [released, held, lapsing, fresh], clock)

    assert [(c.message.id, c.lapsed) for c in won] == [
        (fresh, False),
        (lapsing, True),
        (released, False),
    ]
    assert {c.workspace.team_id if c.workspace else None for c in won} <= {TEAM, None}
    assert all(
        load(session_factory, c.message.id or -1).claimed_until == clock() + LEASE for c in won
    )
    assert claim_batch(session_factory, [fresh, lapsing, held, released], clock) == []


def test_a_batch_claim_leaves_messages_not_due_and_those_already_sent(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    later, sent = owe(session_factory, clock, "later"), owe(session_factory, clock, "sent")
    with session_factory() as session:
        outbox.mark_failed(
            session, message_id=later, error="x", retry_at=clock() + timedelta(minutes=1)
        )
        outbox.mark_sent(session, message_id=sent, now=clock())
        session.commit()

    assert claim_batch(session_factory, [later, sent, 999_999], clock) == []
    assert load(session_factory, later).attempts == 0
