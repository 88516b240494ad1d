"""Thread replies and handled event ids on a real database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from storage.engine import SessionFactory
from storage.models import ProcessedEvent, Rating, Response
from storage.ratings import add_rating, get_or_create_lead
from storage.responses import (
    add_response,
    claim_event,
    count_answers,
    edit_response,
    find_response,
    first_answer,
    mark_response_deleted,
    prune_processed_events,
)
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
CHANNEL = payloads.FEEDBACK_CHANNEL


def make_rating(session: Session, *, team_id: str = TEAM, now: datetime) -> Rating:
    """A stored rating to reply to."""
    lead = get_or_create_lead(session, team_id=team_id, external_ref="ACME-1", now=now)
    return add_rating(
        session,
        team_id=team_id,
        lead=lead,
        rater_id=payloads.RATER_ID,
        score=2,
        reason="wrong industry",
        tags=[],
        via="command",
        origin_channel=payloads.SALES_CHANNEL,
        now=now,
    )


def reply(
    session: Session,
    *,
    rating: Rating,
    ts: str,
    now: datetime,
    user_id: str = payloads.MARKETER_ID,
    text: str = "We'll check the form",
    is_answer: bool = True,
    team_id: str | None = None,
    channel: str = CHANNEL,
) -> Response | None:
    """Store a reply in the rating's thread."""
    return add_response(
        session,
        team_id=team_id or rating.team_id,
        rating_id=rating.id or -1,
        user_id=user_id,
        channel=channel,
        ts=ts,
        text=text,
        is_answer=is_answer,
        created_at=now,
    )


def event_ids(session: Session) -> list[tuple[str, str]]:
    rows = session.exec(select(ProcessedEvent).order_by(ProcessedEvent.id)).all()
    return [(row.team_id, row.event_id) for row in rows]


def test_an_event_is_claimed_once_per_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        assert claim_event(session, team_id=TEAM, event_id="Ev1", now=clock()) is True
        assert claim_event(session, team_id=TEAM, event_id="Ev1", now=clock()) is False
        assert claim_event(session, team_id=OTHER_TEAM, event_id="Ev1", now=clock()) is True
        session.commit()

    with session_factory() as session:
        # A retry arriving later, in another unit of work, is still recognised.
        assert claim_event(session, team_id=TEAM, event_id="Ev1", now=clock()) is False
        assert claim_event(session, team_id=OTHER_TEAM, event_id="Ev1", now=clock()) is False
        session.commit()
        assert event_ids(session) == [(TEAM, "Ev1"), (OTHER_TEAM, "Ev1")]


def test_a_failed_duplicate_claim_keeps_the_rest_of_the_transaction(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        assert claim_event(session, team_id=TEAM, event_id="Ev1", now=clock())
        session.commit()

    with session_factory() as session:
        assert claim_event(session, team_id=TEAM, event_id="Ev2", now=clock())
        assert not claim_event(session, team_id=TEAM, event_id="Ev1", now=clock())
        session.commit()
        assert event_ids(session) == [(TEAM, "Ev1"), (TEAM, "Ev2")]


def test_a_claim_rolled_back_with_its_work_can_be_claimed_again(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        assert claim_event(session, team_id=TEAM, event_id="Ev1", now=clock())
        make_rating(session, now=clock())
        # The processing failed: the claim goes with the work.
        session.rollback()

    with session_factory() as session:
        assert claim_event(session, team_id=TEAM, event_id="Ev1", now=clock.advance(seconds=60))
        session.commit()
        assert event_ids(session) == [(TEAM, "Ev1")]


def test_the_same_message_is_stored_once(session_factory: SessionFactory, clock: FakeClock) -> None:
    with session_factory() as session:
        rating = make_rating(session, now=clock())
        first = reply(session, rating=rating, ts="1700000001.000100", now=clock())
        session.commit()
    assert first is not None

    with session_factory() as session:
        again = reply(session, rating=rating, ts="1700000001.000100", text="copy", now=clock())
        assert again is None
        session.commit()
        stored = session.exec(select(Response)).all()
        assert [(row.id, row.text) for row in stored] == [(first.id, "We'll check the form")]


def test_the_same_ts_in_another_channel_or_workspace_is_another_message(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        rating = make_rating(session, now=clock())
        theirs = make_rating(session, team_id=OTHER_TEAM, now=clock())
        ts = "1700000001.000100"
        assert reply(session, rating=rating, ts=ts, now=clock()) is not None
        assert reply(session, rating=rating, ts=ts, channel="COTHER", now=clock()) is not None
        assert reply(session, rating=theirs, ts=ts, now=clock()) is not None
        session.commit()
        assert len(session.exec(select(Response)).all()) == 3


def test_count_answers_counts_only_answers_of_that_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        rating = make_rating(session, now=clock())
        theirs = make_rating(session, team_id=OTHER_TEAM, now=clock())
        assert rating.id is not None and theirs.id is not None
        reply(session, rating=rating, ts="1.1", now=clock())
        reply(session, rating=rating, ts="1.2", now=clock(), user_id="UOTHERMARKETER")
        reply(session, rating=rating, ts="1.3", now=clock(), is_answer=False)
        reply(session, rating=theirs, ts="1.4", now=clock())
        session.commit()

    with session_factory() as session:
        assert count_answers(session, team_id=TEAM, rating_id=rating.id) == 2
        assert count_answers(session, team_id=OTHER_TEAM, rating_id=theirs.id) == 1
        assert count_answers(session, team_id=TEAM, rating_id=theirs.id) == 0
        assert count_answers(session, team_id=OTHER_TEAM, rating_id=rating.id) == 0


def test_an_edit_replaces_the_text_and_records_when(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        rating = make_rating(session, now=clock())
        reply(session, rating=rating, ts="1.1", now=clock())
        session.commit()
    edited_at = clock.advance(minutes=5)

    with session_factory() as session:
        edited = edit_response(
            session, team_id=TEAM, channel=CHANNEL, ts="1.1", text="Fixed the form", now=edited_at
        )
        session.commit()
    assert edited is not None

    with session_factory() as session:
        stored = find_response(session, team_id=TEAM, channel=CHANNEL, ts="1.1")
    assert stored is not None
    assert (stored.text, stored.edited_at, stored.deleted) == ("Fixed the form", edited_at, False)


def test_a_deletion_flags_the_reply_and_keeps_it(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        rating = make_rating(session, now=clock())
        reply(session, rating=rating, ts="1.1", now=clock())
        session.commit()
    deleted_at = clock.advance(minutes=5)

    with session_factory() as session:
        deleted = mark_response_deleted(
            session, team_id=TEAM, channel=CHANNEL, ts="1.1", now=deleted_at
        )
        session.commit()
    assert deleted is not None

    with session_factory() as session:
        stored = find_response(session, team_id=TEAM, channel=CHANNEL, ts="1.1")
    assert stored is not None
    assert (stored.text, stored.edited_at, stored.deleted) == (
        "We'll check the form",
        deleted_at,
        True,
    )


def test_edits_and_deletions_of_unknown_or_foreign_messages_change_nothing(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        theirs = make_rating(session, team_id=OTHER_TEAM, now=clock())
        reply(session, rating=theirs, ts="1.1", now=clock())
        session.commit()
    later = clock.advance(minutes=5)

    with session_factory() as session:
        for team_id, ts in ((TEAM, "1.1"), (OTHER_TEAM, "9.9")):
            assert (
                edit_response(session, team_id=team_id, channel=CHANNEL, ts=ts, text="x", now=later)
                is None
            )
            assert (
                mark_response_deleted(session, team_id=team_id, channel=CHANNEL, ts=ts, now=later)
                is None
            )
        session.commit()

    with session_factory() as session:
        stored = find_response(session, team_id=OTHER_TEAM, channel=CHANNEL, ts="1.1")
    assert stored is not None
    assert (stored.text, stored.edited_at, stored.deleted) == ("We'll check the form", None, False)


def test_first_answer_is_the_earliest_answer_deleted_or_not(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        rating = make_rating(session, now=clock())
        assert rating.id is not None
        assert first_answer(session, team_id=TEAM, rating_id=rating.id) is None
        start = clock()
        # Stored out of order: Slack may deliver a later reply's event first.
        reply(session, rating=rating, ts="1.3", now=start + timedelta(minutes=3), text="third")
        reply(session, rating=rating, ts="1.2", now=start + timedelta(minutes=2), text="second")
        reply(
            session,
            rating=rating,
            ts="1.0",
            now=start,
            text="rater follow-up",
            user_id=payloads.RATER_ID,
            is_answer=False,
        )
        session.commit()

    with session_factory() as session:
        first = first_answer(session, team_id=TEAM, rating_id=rating.id)
        assert first is not None and first.text == "second"
        mark_response_deleted(session, team_id=TEAM, channel=CHANNEL, ts="1.2", now=clock())
        session.commit()

    with session_factory() as session:
        first = first_answer(session, team_id=TEAM, rating_id=rating.id)
        assert first is not None and (first.text, first.deleted) == ("second", True)
        assert first_answer(session, team_id=OTHER_TEAM, rating_id=rating.id) is None


def test_pruning_forgets_only_events_older_than_the_cutoff(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    start = clock()
    with session_factory() as session:
        claim_event(session, team_id=TEAM, event_id="EvOld", now=start)
        claim_event(session, team_id=OTHER_TEAM, event_id="EvOld", now=start)
        claim_event(session, team_id=TEAM, event_id="EvEdge", now=start + timedelta(hours=1))
        claim_event(session, team_id=TEAM, event_id="EvNew", now=start + timedelta(hours=2))
        session.commit()

    with session_factory() as session:
        removed = prune_processed_events(session, before=start + timedelta(hours=1))
        session.commit()
    assert removed == 2

    with session_factory() as session:
        assert event_ids(session) == [(TEAM, "EvEdge"), (TEAM, "EvNew")]
        # A forgotten id can be claimed again.
        assert claim_event(session, team_id=TEAM, event_id="EvOld", now=clock())
