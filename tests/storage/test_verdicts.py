"""Marketing's verdicts in the loop figures (storage/reports.py), on hand-made data.

The period is ISO week 2026-W45 in UTC, [Mon 2 Nov, Mon 9 Nov), as in test_reports.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from storage.engine import SessionFactory
from storage.models import Rating
from storage.reports import answer_stats, unanswered_ratings
from storage.verdicts import ACKNOWLEDGE, AGREE, DISPUTE, add_verdict, verdicts_on
from tests import slack_payloads as payloads
from tests.storage.test_reports import (
    END,
    OTHER_TEAM,
    START,
    TEAM,
    add_lead,
    add_rating,
    add_reply,
    at,
)


def give(
    session: Session, rating: Rating, verdict: str, *, when: datetime, team_id: str = TEAM
) -> None:
    assert rating.id is not None
    stored = add_verdict(
        session,
        team_id=team_id,
        rating_id=rating.id,
        user_id=payloads.MARKETER_ID,
        verdict=verdict,
        reason="",
        now=when,
    )
    assert stored is not None


def test_agree_and_dispute_answer_from_their_click_acknowledge_and_later_ones_do_not(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "ACME-1")
        agreed = add_rating(session, lead, score=2, created=at(0), rater="UREP1")
        give(session, agreed, AGREE, when=at(2))
        add_reply(session, agreed, created=at(5))  # after the Agree: 2 h stands
        replied = add_rating(session, lead, score=1, created=at(1), rater="UREP2")
        add_reply(session, replied, created=at(4))
        give(session, replied, DISPUTE, when=at(7))  # after the reply: 3 h stands
        seen = add_rating(session, lead, score=3, created=at(2), rater="UREP3")
        give(session, seen, ACKNOWLEDGE, when=at(3))
        give(session, seen, AGREE, when=at(2.5), team_id=OTHER_TEAM)  # not this workspace's
        late = add_rating(session, lead, score=2, created=at(3), rater="UREP4")
        give(session, late, AGREE, when=END + timedelta(hours=1))
        session.commit()

    with session_factory() as session:
        stats = answer_stats(session, team_id=TEAM, start=START, end=END)
        waiting, oldest = unanswered_ratings(session, team_id=TEAM)

    # Ratings 4; answered by the week's end: agreed (2 h) and replied (3 h); median 2.5 h.
    assert (stats.ratings, stats.answered) == (4, 2)
    assert stats.median_hours == pytest.approx(2.5)
    # Now, the late Agree answers its rating; the acknowledged one still waits.
    assert (waiting, [item.rating_id for item in oldest]) == (1, [seen.id])


def test_a_verdict_is_stored_once_per_person_rating_and_kind(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        rating = add_rating(session, add_lead(session, "ACME-2"), score=2, created=at(0))
        assert rating.id is not None
        give(session, rating, ACKNOWLEDGE, when=at(1))
        give(session, rating, AGREE, when=at(2))
        again = add_verdict(
            session,
            team_id=TEAM,
            rating_id=rating.id,
            user_id=payloads.MARKETER_ID,
            verdict=AGREE,
            reason="",
            now=at(3),
        )
        session.commit()
        stored = verdicts_on(session, team_id=TEAM, rating_id=rating.id)
        foreign = verdicts_on(session, team_id=OTHER_TEAM, rating_id=rating.id)

    assert again is None
    assert [(row.verdict, row.created_at) for row in stored] == [
        (ACKNOWLEDGE, at(1)),
        (AGREE, at(2)),
    ]
    assert foreign == []
