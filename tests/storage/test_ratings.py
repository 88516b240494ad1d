"""Leads and ratings on a real database: upserts, tenant scoping, latest ratings, timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import Session, func, select

from storage.engine import SessionFactory
from storage.models import Lead, Rating
from storage.ratings import (
    add_rating,
    find_lead,
    find_rating_by_post,
    get_lead,
    get_or_create_lead,
    get_rating,
    get_rating_with_lead,
    latest_ratings,
    record_post,
)
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID


def rate(
    session: Session,
    *,
    lead: Lead,
    rater_id: str = payloads.RATER_ID,
    score: int = 3,
    now: datetime,
    team_id: str | None = None,
) -> Rating:
    """Store a rating of ``lead`` in the lead's own workspace unless told otherwise."""
    return add_rating(
        session,
        team_id=team_id or lead.team_id,
        lead=lead,
        rater_id=rater_id,
        score=score,
        reason="",
        tags=[],
        via="command",
        origin_channel=payloads.SALES_CHANNEL,
        now=now,
    )


def lead_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Lead)).one()


def test_the_same_reference_twice_gives_one_lead(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        first = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        session.commit()
    with session_factory() as session:
        second = get_or_create_lead(
            session, team_id=TEAM, external_ref="ACME-1", now=clock.advance(hours=1)
        )
        session.commit()
        assert second.id == first.id
        assert second.created_at == first.created_at
        assert lead_count(session) == 1


def test_the_same_reference_twice_in_one_transaction_gives_one_lead(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        first = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        second = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        session.commit()
        assert first.id == second.id
        assert lead_count(session) == 1


def test_the_same_reference_in_two_workspaces_gives_two_leads(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        ours = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        theirs = get_or_create_lead(session, team_id=OTHER_TEAM, external_ref="ACME-1", now=clock())
        session.commit()
        assert ours.id != theirs.id
        assert (ours.team_id, theirs.team_id) == (TEAM, OTHER_TEAM)
        assert lead_count(session) == 2
        assert find_lead(session, team_id=OTHER_TEAM, external_ref="ACME-1") == theirs


def test_a_rating_of_another_workspaces_lead_is_refused(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        theirs = get_or_create_lead(session, team_id=OTHER_TEAM, external_ref="ACME-1", now=clock())
        with pytest.raises(ValueError, match="same workspace"):
            rate(session, lead=theirs, team_id=TEAM, now=clock())
        assert session.exec(select(func.count()).select_from(Rating)).one() == 0


def test_another_workspaces_ids_are_not_found(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=OTHER_TEAM, external_ref="ACME-1", now=clock())
        rating = rate(session, lead=lead, now=clock())
        assert lead.id is not None and rating.id is not None
        record_post(
            session,
            team_id=OTHER_TEAM,
            rating_id=rating.id,
            channel=payloads.FEEDBACK_CHANNEL,
            ts="1700000000.000100",
            now=clock(),
        )
        session.commit()

    with session_factory() as session:
        assert get_rating(session, team_id=TEAM, rating_id=rating.id) is None
        assert get_lead(session, team_id=TEAM, lead_id=lead.id) is None
        assert get_rating_with_lead(session, team_id=TEAM, rating_id=rating.id) is None
        assert find_lead(session, team_id=TEAM, external_ref="ACME-1") is None
        assert (
            find_rating_by_post(
                session, team_id=TEAM, channel=payloads.FEEDBACK_CHANNEL, ts="1700000000.000100"
            )
            is None
        )
        # The owner still finds them, so the Nones above are the scoping at work.
        assert get_rating(session, team_id=OTHER_TEAM, rating_id=rating.id) is not None
        assert get_lead(session, team_id=OTHER_TEAM, lead_id=lead.id) is not None
        found = get_rating_with_lead(session, team_id=OTHER_TEAM, rating_id=rating.id)
        assert found is not None
        assert (found[0].id, found[1].id) == (rating.id, lead.id)
        assert (
            find_rating_by_post(
                session,
                team_id=OTHER_TEAM,
                channel=payloads.FEEDBACK_CHANNEL,
                ts="1700000000.000100",
            )
            is not None
        )


def test_record_post_stores_where_and_when_the_rating_was_posted(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        rating = rate(session, lead=lead, now=clock())
        session.commit()
    assert rating.id is not None
    posted_at = clock.advance(seconds=2)

    with session_factory() as session:
        record_post(
            session,
            team_id=TEAM,
            rating_id=rating.id,
            channel=payloads.FEEDBACK_CHANNEL,
            ts="1700000000.000200",
            now=posted_at,
        )
        session.commit()

    with session_factory() as session:
        stored = get_rating(session, team_id=TEAM, rating_id=rating.id)
        assert stored is not None
        assert (stored.post_channel, stored.post_ts) == (
            payloads.FEEDBACK_CHANNEL,
            "1700000000.000200",
        )
        assert stored.posted_at == posted_at
        found = find_rating_by_post(
            session, team_id=TEAM, channel=payloads.FEEDBACK_CHANNEL, ts="1700000000.000200"
        )
        assert found is not None and found.id == rating.id


def test_record_post_refuses_another_workspaces_rating(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=OTHER_TEAM, external_ref="ACME-1", now=clock())
        rating = rate(session, lead=lead, now=clock())
        assert rating.id is not None
        with pytest.raises(LookupError):
            record_post(
                session,
                team_id=TEAM,
                rating_id=rating.id,
                channel=payloads.FEEDBACK_CHANNEL,
                ts="1700000000.000100",
                now=clock(),
            )


def test_latest_ratings_counts_only_a_reps_newest_rating_of_a_lead(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        rate(session, lead=lead, score=2, now=clock())
        rate(session, lead=lead, score=4, now=clock.advance(days=1))
        newest = rate(session, lead=lead, score=5, now=clock.advance(days=1))
        session.commit()

    with session_factory() as session:
        latest = latest_ratings(session, team_id=TEAM)
    assert [(rating.id, rating.score) for rating in latest] == [(newest.id, 5)]


def test_latest_ratings_keeps_each_reps_rating_of_the_same_lead(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        other_lead = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-2", now=clock())
        rate(session, lead=lead, rater_id="UREP1", score=2, now=clock())
        rate(session, lead=lead, rater_id="UREP2", score=4, now=clock.advance(minutes=1))
        rate(session, lead=other_lead, rater_id="UREP1", score=1, now=clock.advance(minutes=1))
        session.commit()

    with session_factory() as session:
        latest = latest_ratings(session, team_id=TEAM)
    assert [(r.lead_id, r.rater_id, r.score) for r in latest] == [
        (lead.id, "UREP1", 2),
        (lead.id, "UREP2", 4),
        (other_lead.id, "UREP1", 1),
    ]


def test_latest_ratings_leave_out_other_workspaces(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        ours = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        theirs = get_or_create_lead(session, team_id=OTHER_TEAM, external_ref="ACME-1", now=clock())
        mine = rate(session, lead=ours, score=2, now=clock())
        # Same rater id and a later rating in the other workspace: must not shadow ours.
        rate(session, lead=theirs, score=5, now=clock.advance(minutes=1))
        session.commit()

    with session_factory() as session:
        assert [rating.id for rating in latest_ratings(session, team_id=TEAM)] == [mine.id]
        assert [rating.score for rating in latest_ratings(session, team_id=OTHER_TEAM)] == [5]
        assert latest_ratings(session, team_id="T0NOBODY") == []


def test_latest_ratings_since_leaves_out_ratings_last_given_before_it(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        old_lead = get_or_create_lead(session, team_id=TEAM, external_ref="OLD", now=clock())
        rerated = get_or_create_lead(session, team_id=TEAM, external_ref="RERATED", now=clock())
        rate(session, lead=old_lead, score=1, now=clock())
        rate(session, lead=rerated, score=2, now=clock())
        since = clock.advance(days=7)
        on_the_edge = rate(session, lead=rerated, score=3, now=since)
        new_lead = get_or_create_lead(session, team_id=TEAM, external_ref="NEW", now=clock())
        fresh = rate(session, lead=new_lead, score=4, now=clock.advance(hours=1))
        session.commit()

    with session_factory() as session:
        latest = latest_ratings(session, team_id=TEAM, since=since)
    assert [rating.id for rating in latest] == [on_the_edge.id, fresh.id]


def test_timestamps_come_back_timezone_aware_in_utc(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    paris_time = datetime(2026, 11, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=TEAM, external_ref="ACME-1", now=clock())
        rating = rate(session, lead=lead, now=paris_time)
        session.commit()

    with session_factory() as session:
        stored_lead = get_lead(session, team_id=TEAM, lead_id=lead.id or -1)
        stored = get_rating(session, team_id=TEAM, rating_id=rating.id or -1)
    assert stored_lead is not None and stored is not None
    for value in (stored_lead.created_at, stored_lead.updated_at, stored.created_at):
        assert value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
    assert stored_lead.created_at == clock()
    assert stored.created_at == datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_storing_a_naive_datetime_raises(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        session.add(
            Lead(
                team_id=TEAM,
                external_ref="ACME-1",
                created_at=datetime(2026, 11, 2, 9, 30),
                updated_at=datetime(2026, 11, 2, 9, 30),
            )
        )
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
