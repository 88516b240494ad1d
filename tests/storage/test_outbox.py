"""The persisted outbox on a real database: dedupe, claims and leases, retries, due order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlmodel import Session

from storage import outbox
from storage.engine import SessionFactory
from storage.models import OutboxMessage
from storage.workspaces import mark_uninstalled, record_workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
LEASE = timedelta(minutes=2)


def owe(session_factory: SessionFactory, *, now: datetime, key: str, team_id: str = TEAM) -> int:
    """Enqueue and commit one message; its id."""
    with session_factory() as session:
        message = outbox.enqueue(
            session, team_id=team_id, kind="test", dedupe_key=key, rating_id=None, now=now
        )
        session.commit()
    assert message is not None and message.id is not None
    return message.id


def try_claim(session_factory: SessionFactory, message_id: int, *, now: datetime) -> bool:
    """One claim in its own unit of work, as a delivering process makes it."""
    with session_factory() as session:
        won = outbox.claim(session, message_id=message_id, now=now, lease=LEASE)
        session.commit()
    return won


def due_ids(session_factory: SessionFactory, *, now: datetime) -> list[int]:
    with session_factory() as session:
        return outbox.due_message_ids(session, now=now)


def load(session_factory: SessionFactory, message_id: int) -> OutboxMessage:
    with session_factory() as session:
        message = outbox.get_message(session, message_id=message_id)
    assert message is not None
    return message


def pending(session_factory: SessionFactory, team_id: str) -> list[OutboxMessage]:
    with session_factory() as session:
        return outbox.pending_messages(session, team_id=team_id)


def test_a_second_message_with_the_same_key_is_not_owed_again(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    first = owe(session_factory, now=clock(), key="rating_post:1")
    with session_factory() as session:
        again = outbox.enqueue(
            session,
            team_id=TEAM,
            kind="test",
            dedupe_key="rating_post:1",
            rating_id=None,
            now=clock(),
        )
        elsewhere = outbox.enqueue(
            session,
            team_id=OTHER_TEAM,
            kind="test",
            dedupe_key="rating_post:1",
            rating_id=None,
            now=clock(),
        )
        session.commit()
    assert again is None
    assert elsewhere is not None
    assert [m.id for m in pending(session_factory, TEAM)] == [first]


def test_a_key_already_sent_is_not_owed_again(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, now=clock(), key="rating_post:1")
    with session_factory() as session:
        outbox.mark_sent(session, message_id=message_id, now=clock())
        again = outbox.enqueue(
            session,
            team_id=TEAM,
            kind="test",
            dedupe_key="rating_post:1",
            rating_id=None,
            now=clock(),
        )
        session.commit()
    assert again is None


def test_a_new_message_is_pending_and_due_at_once(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, now=clock(), key="k")
    message = load(session_factory, message_id)
    assert (message.status, message.attempts, message.claimed_until) == (outbox.PENDING, 0, None)
    assert message.next_attempt_at == clock()
    assert due_ids(session_factory, now=clock()) == [message_id]


def test_only_one_of_two_claims_wins(session_factory: SessionFactory, clock: FakeClock) -> None:
    message_id = owe(session_factory, now=clock(), key="k")
    assert try_claim(session_factory, message_id, now=clock()) is True
    assert try_claim(session_factory, message_id, now=clock()) is False
    message = load(session_factory, message_id)
    assert message.attempts == 1
    assert message.claimed_until == clock() + LEASE
    assert due_ids(session_factory, now=clock()) == []


def test_a_claim_can_be_taken_over_only_after_its_lease_runs_out(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, now=clock(), key="k")
    assert try_claim(session_factory, message_id, now=clock())

    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert try_claim(session_factory, message_id, now=clock()) is False
    clock.advance(seconds=1)
    assert try_claim(session_factory, message_id, now=clock()) is False
    assert due_ids(session_factory, now=clock()) == []

    clock.advance(seconds=1)
    assert due_ids(session_factory, now=clock()) == [message_id]
    assert try_claim(session_factory, message_id, now=clock()) is True
    assert load(session_factory, message_id).attempts == 2


def test_a_message_due_later_is_neither_claimable_nor_due(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, now=clock.now + timedelta(minutes=5), key="k")
    assert due_ids(session_factory, now=clock()) == []
    assert try_claim(session_factory, message_id, now=clock()) is False

    clock.advance(minutes=5)
    assert due_ids(session_factory, now=clock()) == [message_id]
    assert try_claim(session_factory, message_id, now=clock()) is True


def test_sent_and_dropped_messages_are_no_longer_due(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    sent = owe(session_factory, now=clock(), key="sent")
    dropped = owe(session_factory, now=clock(), key="dropped")
    still_owed = owe(session_factory, now=clock(), key="owed")
    assert try_claim(session_factory, sent, now=clock())
    with session_factory() as session:
        outbox.mark_sent(session, message_id=sent, now=clock())
        outbox.mark_dropped(session, message_id=dropped, now=clock(), reason="rating gone")
        session.commit()

    later = clock.advance(hours=1)
    assert due_ids(session_factory, now=later) == [still_owed]
    assert try_claim(session_factory, sent, now=later) is False
    assert try_claim(session_factory, dropped, now=later) is False
    sent_row, dropped_row = load(session_factory, sent), load(session_factory, dropped)
    assert (sent_row.status, sent_row.claimed_until, sent_row.last_error) == (
        outbox.SENT,
        None,
        None,
    )
    assert sent_row.sent_at == later - timedelta(hours=1)
    assert (dropped_row.status, dropped_row.last_error) == (outbox.DROPPED, "rating gone")
    assert [m.id for m in pending(session_factory, TEAM)] == [still_owed]


def test_a_failure_releases_the_claim_until_the_retry_time(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = owe(session_factory, now=clock(), key="k")
    assert try_claim(session_factory, message_id, now=clock())
    retry_at = clock.now + timedelta(seconds=30)
    with session_factory() as session:
        outbox.mark_failed(session, message_id=message_id, error="x" * 600, retry_at=retry_at)
        session.commit()

    message = load(session_factory, message_id)
    assert message.status == outbox.PENDING
    assert message.claimed_until is None
    assert message.next_attempt_at == retry_at
    assert message.last_error == "x" * 500
    assert try_claim(session_factory, message_id, now=clock.advance(seconds=29)) is False
    # Well inside the first lease: only the released claim makes this possible.
    assert try_claim(session_factory, message_id, now=clock.advance(seconds=1)) is True
    assert load(session_factory, message_id).attempts == 2


def test_due_messages_come_oldest_first(session_factory: SessionFactory, clock: FakeClock) -> None:
    start = clock()
    newest = owe(session_factory, now=start + timedelta(seconds=20), key="newest")
    oldest = owe(session_factory, now=start, key="oldest", team_id=OTHER_TEAM)
    middle = owe(session_factory, now=start + timedelta(seconds=10), key="middle")
    same_time = owe(session_factory, now=start + timedelta(seconds=10), key="same-time")
    assert due_ids(session_factory, now=start + timedelta(minutes=1)) == [
        oldest,
        middle,
        same_time,
        newest,
    ]
    with session_factory() as session:
        limited = outbox.due_message_ids(session, now=start + timedelta(minutes=1), limit=2)
    assert limited == [oldest, middle]


def owe_kind(session_factory: SessionFactory, *, now: datetime, key: str, kind: str) -> int:
    with session_factory() as session:
        message = outbox.enqueue(session, team_id=TEAM, kind=kind, dedupe_key=key, now=now)
        session.commit()
    assert message is not None and message.id is not None
    return message.id


def test_a_workspaces_backlog_does_not_hold_up_the_others(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    start = clock()
    backlog = [owe(session_factory, now=start, key=f"import-{n}") for n in range(5)]
    theirs = owe(session_factory, now=start + timedelta(seconds=30), key="x", team_id=OTHER_TEAM)

    with session_factory() as session:
        first_two = outbox.due_message_ids(session, now=start + timedelta(minutes=1), limit=2)

    assert first_two == [backlog[0], theirs]


def test_bulk_messages_wait_behind_the_workspaces_other_posts(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    start = clock()
    handoffs = [
        owe_kind(session_factory, now=start, key=f"handoff-{n}", kind="handoff_post")
        for n in range(3)
    ]
    retry = owe_kind(session_factory, now=start + timedelta(seconds=30), key="r", kind="rating")

    with session_factory() as session:
        due = outbox.due_message_ids(
            session, now=start + timedelta(minutes=1), bulk_kinds=("handoff_post",)
        )

    assert due == [retry, *handoffs]


def test_an_uninstalled_workspaces_messages_wait_for_its_return(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ours = owe(session_factory, now=clock(), key="ours")
    theirs = owe(session_factory, now=clock(), key="theirs", team_id=OTHER_TEAM)
    with session_factory() as session:
        mark_uninstalled(session, team_id=OTHER_TEAM, now=clock())
        session.commit()
    while_gone = due_ids(session_factory, now=clock() + timedelta(minutes=1))
    with session_factory() as session:
        record_workspace(session, team_id=OTHER_TEAM, team_name=None, bot_user_id=None, now=clock())
        session.commit()

    assert while_gone == [ours]
    assert due_ids(session_factory, now=clock() + timedelta(minutes=1)) == [ours, theirs]


def test_pending_messages_are_those_of_the_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    first = owe(session_factory, now=clock(), key="a")
    theirs = owe(session_factory, now=clock(), key="a", team_id=OTHER_TEAM)
    second = owe(session_factory, now=clock(), key="b")
    assert [m.id for m in pending(session_factory, TEAM)] == [first, second]
    assert [m.id for m in pending(session_factory, OTHER_TEAM)] == [theirs]
    assert pending(session_factory, "T0NOBODY") == []


def test_racing_claimers_each_win_a_message_exactly_once(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        ids = [
            enqueued.id
            for enqueued in (
                outbox.enqueue(
                    session,
                    team_id=TEAM,
                    kind="test",
                    dedupe_key=f"k{n}",
                    rating_id=None,
                    now=clock(),
                )
                for n in range(50)
            )
            if enqueued is not None and enqueued.id is not None
        ]
        session.commit()
    assert len(ids) == 50
    now = clock()
    start = threading.Barrier(2)
    wins: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def claimer(index: int) -> None:
        try:
            start.wait(timeout=10)
            for message_id in ids:
                session: Session
                with session_factory() as session:
                    if outbox.claim(session, message_id=message_id, now=now, lease=LEASE):
                        wins[index].append(message_id)
                    session.commit()
        except BaseException as error:  # reported by the main thread below
            errors.append(error)

    threads = [threading.Thread(target=claimer, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sorted(wins[0] + wins[1]) == sorted(ids)
    assert set(wins[0]).isdisjoint(wins[1])
    assert all(load(session_factory, message_id).attempts == 1 for message_id in ids)
