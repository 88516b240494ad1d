"""The feedback loop's KPIs on small hand-made data sets with known answers (storage/reports.py).

Every timestamp is explicit; the period is ISO week 2026-W45 in UTC, [Mon 2 Nov, Mon 9 Nov).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from storage.engine import SessionFactory
from storage.leads import change_score
from storage.models import Lead, LeadFieldChange, Rating, Response
from storage.reports import (
    NO_CAMPAIGN,
    NO_SOURCE,
    AnswerStats,
    CampaignScore,
    ScoreGroup,
    ScoreOutcome,
    answer_stats,
    average_scores,
    leads_handed_off,
    leads_rated,
    lowest_scoring_campaigns,
    outcomes_by_score,
    unanswered_ratings,
)
from tests import slack_payloads as payloads

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
START = datetime(2026, 11, 2, tzinfo=UTC)
END = datetime(2026, 11, 9, tzinfo=UTC)
TICK = timedelta(microseconds=1)
ALEX, BEA, CHO = "UREPALEX", "UREPBEA", "UREPCHO"


def at(hours: float) -> datetime:
    """``hours`` after the period starts."""
    return START + timedelta(hours=hours)


def add_lead(
    session: Session,
    ref: str,
    *,
    created: datetime = START,
    campaign: str | None = None,
    source: str | None = None,
    status: str | None = None,
    team_id: str = TEAM,
    handed_off: bool = True,
) -> Lead:
    """A lead an import brought in at ``created`` (with its status known then), or, without
    ``handed_off``, one that only a /rate-lead created."""
    lead = Lead(
        team_id=team_id,
        external_ref=ref,
        campaign=campaign,
        source=source,
        status=status,
        status_changed_at=created if status else None,
        created_at=created,
        updated_at=created,
        handed_off_at=created if handed_off else None,
    )
    session.add(lead)
    session.flush()
    return lead


def add_rating(
    session: Session,
    lead: Lead,
    *,
    score: int,
    created: datetime,
    rater: str = ALEX,
    posted: bool = True,
) -> Rating:
    """A rating of ``lead`` in the lead's workspace, posted for marketing unless told not."""
    assert lead.id is not None
    rating = Rating(
        team_id=lead.team_id,
        lead_id=lead.id,
        rater_id=rater,
        score=score,
        via="command",
        created_at=created,
    )
    session.add(rating)
    session.flush()
    if posted:
        rating.post_channel = payloads.FEEDBACK_CHANNEL
        rating.post_ts = f"1700000000.{rating.id:06d}"
        rating.posted_at = created
        session.flush()
    return rating


def add_reply(
    session: Session, rating: Rating, *, created: datetime, is_answer: bool = True
) -> Response:
    """A reply in ``rating``'s thread: marketing's answer unless ``is_answer`` is False."""
    assert rating.id is not None
    reply = Response(
        team_id=rating.team_id,
        rating_id=rating.id,
        user_id=payloads.MARKETER_ID if is_answer else ALEX,
        channel=payloads.FEEDBACK_CHANNEL,
        ts=f"{created.timestamp():.0f}.{rating.id:06d}",
        text="thanks",
        is_answer=is_answer,
        created_at=created,
    )
    session.add(reply)
    session.flush()
    return reply


def answered_after(session: Session, rating: Rating, hours: float) -> Response:
    return add_reply(session, rating, created=rating.created_at + timedelta(hours=hours))


# --- leads handed off and rated ----------------------------------------------------------


def test_leads_handed_off_count_the_half_open_period_of_this_workspace(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        add_lead(session, "AT-START", created=START)
        add_lead(session, "MIDWEEK", created=at(72))
        add_lead(session, "LAST-INSTANT", created=END - TICK)
        add_lead(session, "BEFORE", created=START - TICK)
        add_lead(session, "AT-END", created=END)
        add_lead(session, "OTHER", created=at(1), team_id=OTHER_TEAM)
        session.commit()

    with session_factory() as session:
        assert leads_handed_off(session, team_id=TEAM, start=START, end=END) == 3
        assert leads_handed_off(session, team_id=OTHER_TEAM, start=START, end=END) == 1
        assert leads_handed_off(session, team_id=TEAM, start=END, end=END + timedelta(days=7)) == 1


def test_leads_rated_counts_each_lead_of_the_period_with_any_rating_once(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        once = add_lead(session, "ONCE", created=at(1))
        twice = add_lead(session, "TWICE", created=at(2))
        rated_later = add_lead(session, "RATED-LATER", created=END - TICK)
        add_lead(session, "NOT-RATED", created=at(3))
        earlier = add_lead(session, "EARLIER", created=START - TICK)
        other = add_lead(session, "OTHER", created=at(1), team_id=OTHER_TEAM)
        add_rating(session, once, score=3, created=at(5))
        add_rating(session, twice, score=2, created=at(5), rater=ALEX)
        add_rating(session, twice, score=4, created=at(6), rater=BEA)
        # Rated after the period: handed off in it, but not rated by its end.
        add_rating(session, rated_later, score=5, created=END + timedelta(days=2))
        add_rating(session, earlier, score=3, created=at(5))
        add_rating(session, other, score=3, created=at(5))
        session.commit()

    with session_factory() as session:
        assert leads_handed_off(session, team_id=TEAM, start=START, end=END) == 4
        assert leads_rated(session, team_id=TEAM, start=START, end=END) == 2
        assert leads_rated(session, team_id=OTHER_TEAM, start=START, end=END) == 1


# --- average scores ----------------------------------------------------------------------


def build_scored_week(session: Session) -> None:
    """Latest scores in W45: webinar leads 4 (Alex, re-rated from 2), 3 (Bea) and 5;
    an ads lead 1; a lead without campaign or source 3. Noise around it must not count."""
    first = add_lead(session, "WEB-1", campaign="Webinar", source="webinar")
    second = add_lead(session, "WEB-2", campaign="Webinar", source="paid search")
    ads = add_lead(session, "ADS-1", campaign="Ads", source="paid search")
    bare = add_lead(session, "BARE-1")
    add_rating(session, first, score=2, created=at(2), rater=ALEX)
    add_rating(session, first, score=4, created=at(3), rater=ALEX)  # replaces Alex's 2
    add_rating(session, first, score=3, created=at(4), rater=BEA)  # another rep: counts too
    add_rating(session, second, score=5, created=START)
    add_rating(session, ads, score=1, created=END - TICK)
    add_rating(session, bare, score=3, created=at(50))
    outside = add_lead(session, "WEB-OUTSIDE", campaign="Webinar", source="webinar")
    add_rating(session, outside, score=1, created=START - TICK, rater=ALEX)
    add_rating(session, outside, score=1, created=END, rater=BEA)
    foreign = add_lead(session, "WEB-1", campaign="Webinar", source="webinar", team_id=OTHER_TEAM)
    add_rating(session, foreign, score=1, created=at(2))


def test_average_score_counts_each_reps_latest_rating_of_each_lead(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_scored_week(session)
        session.commit()

    with session_factory() as session:
        overall = average_scores(session, team_id=TEAM, start=START, end=END)

    # (4 + 3 + 5 + 1 + 3) / 5
    assert overall == [ScoreGroup(name="all", average=pytest.approx(3.2), ratings=5)]


def test_average_score_per_campaign_lowest_first_with_a_group_for_no_campaign(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_scored_week(session)
        session.commit()

    with session_factory() as session:
        by_campaign = average_scores(session, team_id=TEAM, start=START, end=END, by="campaign")

    assert by_campaign == [
        ScoreGroup(name="Ads", average=1.0, ratings=1),
        ScoreGroup(name=NO_CAMPAIGN, average=3.0, ratings=1),
        ScoreGroup(name="Webinar", average=4.0, ratings=3),
    ]


def test_average_score_per_source_with_a_group_for_no_source(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_scored_week(session)
        session.commit()

    with session_factory() as session:
        by_source = average_scores(session, team_id=TEAM, start=START, end=END, by="source")

    assert {group.name: (group.average, group.ratings) for group in by_source} == {
        "webinar": (3.5, 2),
        "paid search": (3.0, 2),
        NO_SOURCE: (3.0, 1),
    }
    assert by_source[-1].name == "webinar"


def test_average_scores_of_an_empty_period_or_another_workspace_are_empty(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_scored_week(session)
        session.commit()

    with session_factory() as session:
        later = average_scores(session, team_id=TEAM, start=END + TICK, end=END + timedelta(7))
        other = average_scores(session, team_id=OTHER_TEAM, start=START, end=END, by="campaign")

    assert later == []
    assert other == [ScoreGroup(name="Webinar", average=1.0, ratings=1)]


def test_average_scores_refuse_an_unknown_grouping(session_factory: SessionFactory) -> None:
    with session_factory() as session, pytest.raises(ValueError, match="owner"):
        average_scores(session, team_id=TEAM, start=START, end=END, by="owner")


# --- answers by marketing ----------------------------------------------------------------


def test_answer_share_and_median_of_an_odd_count_use_each_ratings_first_answer(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "L-1")
        quick = add_rating(session, lead, score=2, created=at(1), rater=ALEX)
        answered_after(session, quick, 1)
        chatty = add_rating(session, lead, score=3, created=at(2), rater=BEA)
        add_reply(session, chatty, created=at(2.5), is_answer=False)  # sales chatting: no answer
        answered_after(session, chatty, 2)  # first answer: 2 h
        answered_after(session, chatty, 3)
        late = add_rating(session, lead, score=4, created=END - timedelta(hours=1), rater=CHO)
        answered_after(session, late, 6)  # after the period ended: not answered in it
        add_rating(session, lead, score=1, created=at(4), rater="UREPDAN")  # never answered
        chat_only = add_rating(session, lead, score=1, created=at(5), rater="UREPEVA")
        add_reply(session, chat_only, created=at(6), is_answer=False)
        before = add_rating(session, lead, score=5, created=START - TICK, rater="UREPFAY")
        answered_after(session, before, 0.5)  # answered in the period, rated before it
        foreign = add_rating(
            session, add_lead(session, "L-1", team_id=OTHER_TEAM), score=1, created=at(1)
        )
        answered_after(session, foreign, 10)
        session.commit()

    with session_factory() as session:
        stats = answer_stats(session, team_id=TEAM, start=START, end=END)

    assert (stats.ratings, stats.answered) == (5, 2)
    assert stats.answered_share == pytest.approx(0.4)
    # first answers by the period's end after 1 h and 2 h
    assert stats.median_hours == pytest.approx(1.5, abs=1e-6)


@pytest.mark.parametrize(
    ("delays", "median"),
    [
        ([5.0, 2.0], 3.5),
        ([30.0, 1.0, 10.0, 2.0], 6.0),
        ([0.25, 8.0, 1.5], 1.5),
        ([7.0], 7.0),
    ],
    ids=["2h-and-5h", "four-unsorted", "three-unsorted", "one"],
)
def test_median_hours_to_first_answer_is_computed_in_the_database(
    session_factory: SessionFactory, delays: list[float], median: float
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "L-1")
        for number, hours in enumerate(delays):
            rating = add_rating(session, lead, score=3, created=at(number), rater=f"UREP{number}")
            answered_after(session, rating, hours)
        add_rating(session, lead, score=3, created=at(20), rater="UREPNONE")
        session.commit()

    with session_factory() as session:
        stats = answer_stats(session, team_id=TEAM, start=START, end=END)

    assert (stats.ratings, stats.answered) == (len(delays) + 1, len(delays))
    assert stats.median_hours == pytest.approx(median, abs=1e-6)


def test_answer_stats_without_ratings_or_without_answers_have_no_median(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "L-1")
        add_rating(session, lead, score=2, created=at(1), rater=ALEX)
        add_rating(session, lead, score=2, created=at(2), rater=BEA)
        session.commit()

    with session_factory() as session:
        unanswered = answer_stats(session, team_id=TEAM, start=START, end=END)
        empty = answer_stats(session, team_id=OTHER_TEAM, start=START, end=END)

    assert unanswered == AnswerStats(ratings=2, answered=0, median_hours=None)
    assert unanswered.answered_share == 0.0
    assert empty == AnswerStats(ratings=0, answered=0, median_hours=None)
    assert empty.answered_share is None


def test_answer_stats_count_ratings_of_the_half_open_period(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "L-1")
        for rater, created in [(ALEX, START - TICK), (BEA, START), (CHO, END - TICK)]:
            rating = add_rating(session, lead, score=3, created=created, rater=rater)
            answered_after(session, rating, 1)
            lead_for_end = add_lead(session, f"L-{rater}")
            add_rating(session, lead_for_end, score=3, created=END, rater=rater)
        session.commit()

    with session_factory() as session:
        stats = answer_stats(session, team_id=TEAM, start=START, end=END)

    # Cho's rating of the last instant was answered an hour after the period ended.
    assert (stats.ratings, stats.answered) == (2, 1)
    assert stats.median_hours == pytest.approx(1.0, abs=1e-6)


# --- outcomes ----------------------------------------------------------------------------


def test_outcomes_count_won_and_lost_leads_per_latest_score_and_ignore_open_ones(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        for ref, status, score in [
            ("WON-5A", "won", 5),
            ("WON-5B", "won", 5),
            ("LOST-5", "lost", 5),
            ("LOST-2", "lost", 2),
            ("OPEN-4", "open", 4),
            ("NONE-4", None, 4),
        ]:
            add_rating(session, add_lead(session, ref, status=status), score=score, created=at(1))
        rerated = add_lead(session, "WON-RERATED", status="won")
        add_rating(session, rerated, score=1, created=at(1))
        add_rating(session, rerated, score=4, created=at(2))  # only the latest score counts
        before = add_lead(session, "WON-BEFORE", status="won")
        add_rating(session, before, score=3, created=START - TICK)
        at_end = add_lead(session, "LOST-AT-END", status="lost")
        add_rating(session, at_end, score=3, created=END)
        foreign = add_lead(session, "WON-5A", status="won", team_id=OTHER_TEAM)
        add_rating(session, foreign, score=5, created=at(1))
        session.commit()

    with session_factory() as session:
        outcomes = outcomes_by_score(session, team_id=TEAM, start=START, end=END)

    assert outcomes == [
        ScoreOutcome(score=2, won=0, lost=1),
        ScoreOutcome(score=4, won=1, lost=0),
        ScoreOutcome(score=5, won=2, lost=1),
    ]
    assert [outcome.conversion for outcome in outcomes] == [
        0.0,
        1.0,
        pytest.approx(2 / 3),
    ]


def test_outcomes_without_decided_leads_are_empty(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        add_rating(session, add_lead(session, "OPEN", status="open"), score=4, created=at(1))
        session.commit()

    with session_factory() as session:
        assert outcomes_by_score(session, team_id=TEAM, start=START, end=END) == []
    assert ScoreOutcome(score=3, won=0, lost=0).conversion is None


# --- lowest scoring campaigns ------------------------------------------------------------


def test_lowest_scoring_campaigns_come_lowest_first_with_no_campaign_as_one_group(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        for ref, campaign, score in [
            ("ADS-1", "Ads", 1),
            ("ADS-2", "Ads", 2),
            ("BARE-1", None, 2),
            ("BARE-2", None, 2),
            ("EVENT-1", "Events", 3),
            ("WEB-1", "Webinar", 4),
        ]:
            add_rating(
                session, add_lead(session, ref, campaign=campaign), score=score, created=at(1)
            )
        rerated = add_lead(session, "WEB-2", campaign="Webinar")
        add_rating(session, rerated, score=1, created=at(1))
        add_rating(session, rerated, score=5, created=at(2))  # replaces the 1
        # Outside [since, until) or in another workspace: not counted.
        add_rating(session, add_lead(session, "ADS-3", campaign="Ads"), score=5, created=END)
        add_rating(
            session, add_lead(session, "ADS-4", campaign="Ads"), score=5, created=START - TICK
        )
        foreign = add_lead(session, "EVENT-1", campaign="Events", team_id=OTHER_TEAM)
        add_rating(session, foreign, score=1, created=at(1))
        session.commit()

    with session_factory() as session:
        lowest = lowest_scoring_campaigns(session, team_id=TEAM, since=START, until=END)
        every = lowest_scoring_campaigns(session, team_id=TEAM, since=START, until=END, limit=10)

    assert lowest == [
        CampaignScore(campaign="Ads", average=1.5, ratings=2),
        CampaignScore(campaign=NO_CAMPAIGN, average=2.0, ratings=2),
        CampaignScore(campaign="Events", average=3.0, ratings=1),
    ]
    assert every[3:] == [CampaignScore(campaign="Webinar", average=4.5, ratings=2)]


# --- unanswered ratings ------------------------------------------------------------------


def test_unanswered_ratings_count_posted_ratings_without_an_answer_oldest_first(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "ACME-7")
        # Stored out of time order: the oldest must come first, not the lowest id.
        newest = add_rating(session, lead, score=5, created=at(30), rater="UREP5")
        oldest = add_rating(session, lead, score=1, created=at(1), rater="UREP1")
        answered = add_rating(session, lead, score=2, created=at(0), rater="UREP0")
        answered_after(session, answered, 1)
        chat_only = add_rating(session, lead, score=3, created=at(2), rater="UREP3")
        add_reply(session, chat_only, created=at(3), is_answer=False)
        add_rating(session, lead, score=4, created=at(0.5), rater="UREP4", posted=False)
        add_rating(session, lead, score=2, created=at(20), rater="UREP2")
        foreign = add_lead(session, "ACME-7", team_id=OTHER_TEAM)
        add_rating(session, foreign, score=1, created=START - timedelta(days=30))
        session.commit()

    with session_factory() as session:
        total, first_two = unanswered_ratings(session, team_id=TEAM, limit=2)
        _, every = unanswered_ratings(session, team_id=TEAM, limit=10)

    assert total == 4
    assert [(item.rating_id, item.lead_ref, item.score) for item in first_two] == [
        (oldest.id, "ACME-7", 1),
        (chat_only.id, "ACME-7", 3),
    ]
    assert (first_two[0].post_channel, first_two[0].post_ts, first_two[0].created_at) == (
        payloads.FEEDBACK_CHANNEL,
        oldest.post_ts,
        at(1),
    )
    assert [item.created_at for item in every] == [at(1), at(2), at(20), at(30)]
    assert every[-1].rating_id == newest.id


def test_nothing_waits_when_every_posted_rating_is_answered(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        rating = add_rating(session, add_lead(session, "ACME-8"), score=2, created=at(1))
        answered_after(session, rating, 1)
        session.commit()

    with session_factory() as session:
        assert unanswered_ratings(session, team_id=TEAM) == (0, [])


# --- workspace scoping -------------------------------------------------------------------


def test_another_workspaces_loop_data_never_counts_here(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        lead = add_lead(session, "ACME-1", campaign="Ads", source="web", status="won")
        rating = add_rating(session, lead, score=2, created=at(1))
        answered_after(session, rating, 2)
        add_rating(session, lead, score=4, created=at(2), rater=BEA)
        session.commit()

    with session_factory() as session:
        assert leads_handed_off(session, team_id=OTHER_TEAM, start=START, end=END) == 0
        assert leads_rated(session, team_id=OTHER_TEAM, start=START, end=END) == 0
        for by in (None, "campaign", "source"):
            assert average_scores(session, team_id=OTHER_TEAM, start=START, end=END, by=by) == []
        assert answer_stats(session, team_id=OTHER_TEAM, start=START, end=END) == AnswerStats(
            ratings=0, answered=0, median_hours=None
        )
        assert outcomes_by_score(session, team_id=OTHER_TEAM, start=START, end=END) == []
        assert lowest_scoring_campaigns(session, team_id=OTHER_TEAM, since=START, until=END) == []
        assert unanswered_ratings(session, team_id=OTHER_TEAM) == (0, [])
        # ...while this workspace sees all of it.
        assert leads_rated(session, team_id=TEAM, start=START, end=END) == 1
        assert unanswered_ratings(session, team_id=TEAM)[0] == 1


# --- as of the end of the period ---------------------------------------------------------

NEXT_END = END + timedelta(days=7)


def delete_reply(session: Session, reply: Response, *, at_time: datetime) -> None:
    """Mark ``reply`` deleted at ``at_time``, as the thread-reply listener does."""
    reply.deleted, reply.deleted_at, reply.edited_at = True, at_time, at_time
    session.add(reply)
    session.flush()


def test_a_rating_replaced_after_the_period_still_counts_in_it_and_the_new_one_in_its_own(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "WEB-1", campaign="Webinar")
        add_rating(session, lead, score=2, created=at(10), rater=ALEX)
        add_rating(session, lead, score=5, created=END + timedelta(days=1), rater=ALEX)
        session.commit()

    with session_factory() as session:
        then = average_scores(session, team_id=TEAM, start=START, end=END)
        later = average_scores(session, team_id=TEAM, start=END, end=NEXT_END)
        answers_then = answer_stats(session, team_id=TEAM, start=START, end=END)

    assert then == [ScoreGroup(name="all", average=2.0, ratings=1)]
    assert later == [ScoreGroup(name="all", average=5.0, ratings=1)]
    assert answers_then.ratings == 1


def test_a_rating_replaced_within_the_period_counts_only_as_its_replacement(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "WEB-1", campaign="Webinar")
        replaced = add_rating(session, lead, score=2, created=at(10), rater=ALEX)
        answered_after(session, replaced, 1)
        add_rating(session, lead, score=4, created=at(20), rater=ALEX)
        session.commit()

    with session_factory() as session:
        scores = average_scores(session, team_id=TEAM, start=START, end=END)
        answers = answer_stats(session, team_id=TEAM, start=START, end=END)

    # One population: the answered rating was replaced, so the week has one unanswered one.
    assert scores == [ScoreGroup(name="all", average=4.0, ratings=1)]
    assert answers == AnswerStats(ratings=1, answered=0, median_hours=None)


def test_leads_only_rated_with_rate_lead_are_not_handed_off(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        imported = add_lead(session, "IMPORTED", created=at(1))
        rated_only = add_lead(session, "RATED-ONLY", created=at(1), handed_off=False)
        add_rating(session, imported, score=3, created=at(2))
        add_rating(session, rated_only, score=3, created=at(2))
        session.commit()

    with session_factory() as session:
        assert leads_handed_off(session, team_id=TEAM, start=START, end=END) == 1
        assert leads_rated(session, team_id=TEAM, start=START, end=END) == 1
        # Its rating still counts among the week's ratings.
        assert average_scores(session, team_id=TEAM, start=START, end=END)[0].ratings == 2


def test_a_reply_deleted_before_the_period_ends_is_no_answer_one_deleted_later_still_was(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "L-1")
        gone = add_rating(session, lead, score=2, created=at(1), rater=ALEX)
        delete_reply(session, answered_after(session, gone, 1), at_time=at(5))
        kept_then = add_rating(session, lead, score=3, created=at(1), rater=BEA)
        delete_reply(session, answered_after(session, kept_then, 3), at_time=END + TICK)
        second = add_rating(session, lead, score=4, created=at(1), rater=CHO)
        delete_reply(session, answered_after(session, second, 1), at_time=at(3))
        answered_after(session, second, 4)  # the answer that stands: 4 h
        session.commit()

    with session_factory() as session:
        stats = answer_stats(session, team_id=TEAM, start=START, end=END)
        waiting, _ = unanswered_ratings(session, team_id=TEAM)

    assert (stats.ratings, stats.answered) == (3, 2)
    assert stats.median_hours == pytest.approx(3.5, abs=1e-6)  # 3 h and 4 h
    assert waiting == 2  # today, Alex's and Bea's answers are deleted


def test_ratings_a_rep_replaced_no_longer_wait_for_an_answer(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "L-1")
        add_rating(session, lead, score=2, created=at(1), rater=ALEX)
        latest = add_rating(session, lead, score=4, created=at(2), rater=ALEX)
        session.commit()

    with session_factory() as session:
        total, oldest = unanswered_ratings(session, team_id=TEAM)

    assert total == 1
    assert [rating.rating_id for rating in oldest] == [latest.id]


def test_outcomes_count_only_statuses_recorded_by_the_periods_end(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        won_then = add_lead(session, "WON-THEN", status="won", created=at(1))
        won_later = add_lead(session, "WON-LATER", status="won", created=at(1))
        won_later.status_changed_at = END
        add_rating(session, won_then, score=4, created=at(2))
        add_rating(session, won_later, score=4, created=at(2))
        session.commit()

    with session_factory() as session:
        then = outcomes_by_score(session, team_id=TEAM, start=START, end=END)
        now = outcomes_by_score(session, team_id=TEAM, start=START, end=NEXT_END)

    assert then == [ScoreOutcome(score=4, won=1, lost=0)]
    assert now == [ScoreOutcome(score=4, won=2, lost=0)]


def test_a_button_rating_changed_after_the_period_keeps_its_score_of_then_in_it(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "WEB-1", campaign="Webinar", status="won")
        clicked = add_rating(session, lead, score=4, created=at(10))
        change_score(session, team_id=TEAM, rating_id=clicked.id or -1, score=2, now=at(11))
        change_score(session, team_id=TEAM, rating_id=clicked.id or -1, score=5, now=END)
        change_score(session, team_id=TEAM, rating_id=clicked.id or -1, score=1, now=NEXT_END)
        session.commit()

    with session_factory() as session:
        then = average_scores(session, team_id=TEAM, start=START, end=END, by="campaign")
        outcomes = outcomes_by_score(session, team_id=TEAM, start=START, end=END)
        campaigns = lowest_scoring_campaigns(session, team_id=TEAM, since=START, until=END)
        later = outcomes_by_score(session, team_id=TEAM, start=START, end=NEXT_END)

    assert then == [ScoreGroup(name="Webinar", average=2.0, ratings=1)]
    assert outcomes == [ScoreOutcome(score=2, won=1, lost=0)]
    assert campaigns == [CampaignScore(campaign="Webinar", average=2.0, ratings=1)]
    assert later == [ScoreOutcome(score=5, won=1, lost=0)]


def test_a_lead_moved_to_another_campaign_after_the_period_counts_under_the_old_one_in_it(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        lead = add_lead(session, "WEB-1", campaign="Webinar", source="webinar")
        add_rating(session, lead, score=4, created=at(10))
        session.add(
            LeadFieldChange(
                team_id=TEAM,
                lead_id=lead.id or -1,
                field="campaign",
                value_before="Webinar",
                value_after="Ads",
                changed_at=END,
            )
        )
        lead.campaign = "Ads"
        session.commit()

    with session_factory() as session:
        then = average_scores(session, team_id=TEAM, start=START, end=END, by="campaign")
        by_source = average_scores(session, team_id=TEAM, start=START, end=END, by="source")
        now = average_scores(session, team_id=TEAM, start=START, end=NEXT_END, by="campaign")

    assert then == [ScoreGroup(name="Webinar", average=4.0, ratings=1)]
    assert by_source == [ScoreGroup(name="webinar", average=4.0, ratings=1)]
    assert now == [ScoreGroup(name="Ads", average=4.0, ratings=1)]
