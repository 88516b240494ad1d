"""Target arithmetic, week bounds and the numbers behind the weekly chart (bot/report.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from charts.kpi_report import CampaignScore
from domain.kpis.metrics import IsoWeek, Target
from domain.kpis.report import (
    DEFINITIONS_VERSION,
    GLOSSARY,
    MetricView,
    build_report,
    business_kpis,
    kpis_furthest_from_target,
    same_week_last_year,
    week_bounds,
)
from storage import kpis as kpi_store
from storage.engine import SessionFactory
from storage.models import Lead, Rating, Response
from tests import slack_payloads as payloads

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
W45 = IsoWeek(2026, 45)
NOW = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
SHOWN = tuple(f"2026-W{week:02d}" for week in range(34, 46))
METRIC_KEYS = {"conversion_rate", "cac", "revenue", "retention_rate", "roi"}


def record(
    session: Session, metric: str, week: tuple[int, int], value: float, *, team_id: str = TEAM
) -> None:
    kpi_store.set_kpi_value(
        session, team_id=team_id, metric=metric, week=week, value=value, set_by="UADMIN", now=NOW
    )


def set_target(
    session: Session,
    metric: str,
    kind: str,
    value: float,
    *,
    baseline: tuple[int, int] | None = None,
) -> None:
    kpi_store.set_kpi_target(
        session,
        team_id=TEAM,
        metric=metric,
        kind=kind,
        value=value,
        baseline=baseline,
        set_by="UADMIN",
        now=NOW,
    )


def views_of(
    session_factory: SessionFactory, week: IsoWeek = W45, team_id: str = TEAM
) -> dict[str, MetricView]:
    with session_factory() as session:
        return {
            view.metric.key: view for view in business_kpis(session, team_id=team_id, week=week)
        }


def target_and_status(view: MetricView) -> tuple[float | None, str]:
    return view.target_value, view.status


# --- business KPIs against their targets -------------------------------------------------


def test_a_relative_target_is_measured_against_the_earliest_recorded_week_by_default(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 20), 10.0)  # before the 12 weeks shown
        record(session, "conversion_rate", (2026, 40), 11.0)
        record(session, "conversion_rate", (2026, 45), 11.5)
        session.commit()

    conversion = views_of(session_factory)["conversion_rate"]

    assert conversion.target == Target("relative", 20.0)
    assert conversion.actual == 11.5
    assert target_and_status(conversion) == (pytest.approx(12.0), "behind")
    assert conversion.gap == pytest.approx(0.5 / 12)
    assert len(conversion.series) == 12
    assert conversion.series[6] == 11.0  # 2026-W40
    assert [value for value in conversion.series if value is not None] == [11.0, 11.5]


def test_meeting_a_relative_target_exactly_is_on_track(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "retention_rate", (2026, 40), 80.0)
        record(session, "retention_rate", (2026, 45), 88.0)  # +10%, the default target
        session.commit()

    retention = views_of(session_factory)["retention_rate"]

    assert target_and_status(retention) == (pytest.approx(88.0), "on track")


def test_a_relative_target_uses_the_explicit_baseline_week(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 30), 10.0)
        record(session, "conversion_rate", (2026, 40), 11.0)
        record(session, "conversion_rate", (2026, 45), 13.5)
        set_target(session, "conversion_rate", "relative", 20.0, baseline=(2026, 40))
        session.commit()

    conversion = views_of(session_factory)["conversion_rate"]

    assert target_and_status(conversion) == (pytest.approx(13.2), "on track")


def test_a_baseline_week_without_a_value_leaves_the_kpi_without_target(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 45), 13.5)
        set_target(session, "conversion_rate", "relative", 20.0, baseline=(2026, 1))
        session.commit()

    conversion = views_of(session_factory)["conversion_rate"]

    assert target_and_status(conversion) == (None, "no target")
    assert conversion.gap is None


def test_lower_is_better_for_acquisition_cost(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "cac", (2026, 40), 1000.0)
        record(session, "cac", (2026, 44), 850.0)
        record(session, "cac", (2026, 45), 900.0)
        session.commit()

    behind = views_of(session_factory)["cac"]
    on_target = views_of(session_factory, IsoWeek(2026, 44))["cac"]

    assert target_and_status(behind) == (pytest.approx(850.0), "behind")  # -15% by default
    assert behind.gap == pytest.approx(50 / 850)
    assert on_target.status == "on track"


def test_an_absolute_target_needs_no_history(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "roi", (2026, 45), 210.0)
        record(session, "conversion_rate", (2026, 45), 13.0)
        set_target(session, "conversion_rate", "absolute", 14.0)
        session.commit()

    views = views_of(session_factory)

    assert target_and_status(views["roi"]) == (200.0, "on track")  # the default: 200%
    assert target_and_status(views["conversion_rate"]) == (14.0, "behind")


def test_values_and_targets_are_rounded_before_the_status_is_judged(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "retention_rate", (2026, 40), 88.5)  # +10%: 97.35000000000001
        record(session, "retention_rate", (2026, 45), 97.349)
        record(session, "cac", (2026, 40), 1238.8)  # -15%: 1052.98 after rounding
        record(session, "cac", (2026, 45), 1052.984)
        session.commit()

    views = views_of(session_factory)

    # What people are shown (97.3% vs 97.4%, $1,052.98 vs $1,052.98) is what is judged.
    assert target_and_status(views["retention_rate"]) == (97.4, "behind")
    assert views["retention_rate"].actual == 97.3
    assert target_and_status(views["cac"]) == (1052.98, "on track")
    assert views["cac"].series[-1] == 1052.98


def test_revenue_growth_is_measured_against_the_same_week_a_year_earlier(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "revenue", (2025, 45), 1_000_000.0)
        record(session, "revenue", (2025, 44), 5_000_000.0)  # a different week: irrelevant
        record(session, "revenue", (2026, 45), 1_250_000.0)
        record(session, "revenue", (2026, 44), 1_100_000.0)
        session.commit()

    this_week = views_of(session_factory)["revenue"]
    last_week = views_of(session_factory, IsoWeek(2026, 44))["revenue"]

    assert this_week.target == Target("annual_growth", 20.0)
    assert target_and_status(this_week) == (pytest.approx(1_200_000.0), "on track")
    assert target_and_status(last_week) == (pytest.approx(6_000_000.0), "behind")


def test_revenue_without_the_same_week_last_year_has_no_target(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "revenue", (2025, 46), 1_000_000.0)
        record(session, "revenue", (2026, 45), 1_250_000.0)
        session.commit()

    revenue = views_of(session_factory)["revenue"]

    assert target_and_status(revenue) == (None, "no target")


def test_week_53_compares_with_the_last_week_of_a_52_week_year(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "revenue", (2025, 52), 100_000.0)
        record(session, "revenue", (2026, 53), 110_000.0)
        session.commit()

    revenue = views_of(session_factory, IsoWeek(2026, 53))["revenue"]

    assert same_week_last_year(IsoWeek(2026, 53)) == IsoWeek(2025, 52)
    assert same_week_last_year(IsoWeek(2021, 52)) == IsoWeek(2020, 52)
    assert target_and_status(revenue) == (pytest.approx(120_000.0), "behind")


def test_a_week_without_a_value_has_no_data_even_with_a_target(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 40), 10.0)
        session.commit()

    views = views_of(session_factory)

    assert target_and_status(views["conversion_rate"]) == (pytest.approx(12.0), "no data")
    assert views["conversion_rate"].actual is None
    assert target_and_status(views["roi"]) == (200.0, "no data")
    assert target_and_status(views["retention_rate"]) == (None, "no data")
    assert set(views) == METRIC_KEYS


def test_business_kpis_read_only_their_own_workspace(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 40), 10.0)
        record(session, "conversion_rate", (2026, 45), 12.5)
        set_target(session, "roi", "absolute", 500.0)
        record(session, "roi", (2026, 45), 300.0, team_id=OTHER_TEAM)
        session.commit()

    other = views_of(session_factory, team_id=OTHER_TEAM)

    assert other["conversion_rate"].actual is None
    assert other["conversion_rate"].target_value is None
    assert target_and_status(other["roi"]) == (200.0, "on track")


# --- week bounds -------------------------------------------------------------------------


def test_a_week_in_utc_runs_monday_to_monday() -> None:
    assert week_bounds(W45, "UTC") == (
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2026, 11, 9, tzinfo=UTC),
    )


def test_the_week_summer_time_ends_in_berlin_lasts_169_hours() -> None:
    start, end = week_bounds(IsoWeek(2026, 43), "Europe/Berlin")  # clocks go back 25 Oct

    assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)  # Mon 00:00 CEST
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Mon 00:00 CET
    assert end - start == timedelta(hours=169)


def test_the_week_summer_time_starts_in_berlin_lasts_167_hours() -> None:
    start, end = week_bounds(IsoWeek(2026, 13), "Europe/Berlin")  # clocks go forward 29 Mar

    assert start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=167)


def test_consecutive_weeks_share_their_boundary() -> None:
    _, end = week_bounds(IsoWeek(2026, 43), "Europe/Berlin")
    start, _ = week_bounds(IsoWeek(2026, 44), "Europe/Berlin")

    assert end == start


# --- the report --------------------------------------------------------------------------


def add_rated_lead(
    session: Session,
    ref: str,
    *,
    campaign: str | None,
    score: int,
    rated: datetime,
    source: str | None = "webinar",
    status: str | None = None,
    answer_after_hours: float | None = None,
    team_id: str = TEAM,
) -> None:
    """A lead handed off an hour before it was rated, answered if told when."""
    lead = Lead(
        team_id=team_id,
        external_ref=ref,
        campaign=campaign,
        source=source,
        status=status,
        status_changed_at=rated if status else None,
        created_at=rated - timedelta(hours=1),
        updated_at=rated,
        handed_off_at=rated - timedelta(hours=1),
    )
    session.add(lead)
    session.flush()
    rating = Rating(
        team_id=team_id,
        lead_id=lead.id or -1,
        rater_id="UREP",
        score=score,
        via="command",
        created_at=rated,
    )
    session.add(rating)
    session.flush()
    if answer_after_hours is not None:
        answered = rated + timedelta(hours=answer_after_hours)
        session.add(
            Response(
                team_id=team_id,
                rating_id=rating.id or -1,
                user_id=payloads.MARKETER_ID,
                channel=payloads.FEEDBACK_CHANNEL,
                ts=f"{answered.timestamp():.6f}",
                created_at=answered,
            )
        )
        session.flush()


def build_two_weeks(session: Session) -> None:
    """W45: Webinar 4 (answered in 2 h) and 2, Ads 5 (answered in 6 h, won), one lead
    not rated. W44: Webinar 1 (answered in 4 h), Events 3. W40: Webinar 3 (lost)."""
    monday = datetime(2026, 11, 2, tzinfo=UTC)
    add_rated_lead(
        session,
        "W45-A",
        campaign="Webinar",
        score=4,
        rated=monday + timedelta(hours=10),
        answer_after_hours=2,
    )
    add_rated_lead(session, "W45-B", campaign="Webinar", score=2, rated=monday + timedelta(days=2))
    add_rated_lead(
        session,
        "W45-C",
        campaign="Ads",
        source="paid search",
        score=5,
        rated=monday + timedelta(days=3),
        status="won",
        answer_after_hours=6,
    )
    session.add(
        Lead(
            team_id=TEAM,
            external_ref="W45-UNRATED",
            created_at=monday + timedelta(days=4),
            updated_at=monday + timedelta(days=4),
            handed_off_at=monday + timedelta(days=4),
        )
    )
    add_rated_lead(
        session,
        "W44-A",
        campaign="Webinar",
        score=1,
        rated=monday - timedelta(days=3),
        answer_after_hours=4,
    )
    add_rated_lead(session, "W44-B", campaign="Events", score=3, rated=monday - timedelta(days=2))
    add_rated_lead(
        session,
        "W40-A",
        campaign="Webinar",
        score=3,
        rated=monday - timedelta(weeks=5),
        status="lost",
    )
    add_rated_lead(
        session,
        "W45-A",
        campaign="Webinar",
        score=1,
        rated=monday + timedelta(hours=10),
        team_id=OTHER_TEAM,
    )
    for week, value in [((2026, 40), 10.0), ((2026, 44), 11.0), ((2026, 45), 12.5)]:
        record(session, "conversion_rate", week, value)
    record(session, "revenue", (2026, 44), 1_000_000.0)
    record(session, "revenue", (2026, 45), 1_100_000.0)
    record(session, "roi", (2026, 45), 180.0)


def test_the_report_numbers_hold_every_business_and_loop_kpi_of_the_week(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_two_weeks(session)
        session.commit()

    with session_factory() as session:
        report = build_report(session, team_id=TEAM, week=W45, timezone="UTC")
    numbers = json.loads(json.dumps(report.numbers))

    assert (numbers["week"], numbers["timezone"]) == ("2026-W45", "UTC")
    assert tuple(numbers["weeks_shown"]) == SHOWN
    assert set(numbers["business"]) == METRIC_KEYS
    conversion = numbers["business"]["conversion_rate"]
    assert (conversion["actual"], conversion["status"], conversion["unit"]) == (
        12.5,
        "on track",
        "percent",
    )
    assert conversion["target"] == pytest.approx(12.0)
    assert conversion["target_rule"] == "+20% vs baseline"
    assert tuple(conversion["weeks"]) == SHOWN
    assert (conversion["weeks"]["2026-W40"], conversion["weeks"]["2026-W41"]) == (10.0, None)
    assert numbers["business"]["roi"]["status"] == "behind"
    assert numbers["business"]["retention_rate"]["status"] == "no data"
    assert numbers["revenue_growth_week_over_week_pct"] == 10.0

    loop = numbers["loop"]
    assert (loop["leads_handed_off"], loop["leads_rated"]) == (4, 3)
    assert loop["rated_pct"] == 75.0
    assert (loop["average_score"], loop["ratings"]) == (3.7, 3)
    assert loop["average_score_by_campaign"] == {
        "Webinar": {"average": 3.0, "ratings": 2},
        "Ads": {"average": 5.0, "ratings": 1},
    }
    assert loop["average_score_by_campaign_previous_week"] == {
        "Webinar": {"average": 1.0, "ratings": 1},
        "Events": {"average": 3.0, "ratings": 1},
    }
    assert loop["average_score_by_source"] == {
        "webinar": {"average": 3.0, "ratings": 2},
        "paid search": {"average": 5.0, "ratings": 1},
    }
    assert loop["answered_pct"] == 66.7
    assert loop["median_hours_to_first_answer"] == 4.0
    assert loop["conversion_by_score"] == {
        "3": {"won": 0, "lost": 1, "won_pct": 0.0},
        "5": {"won": 1, "lost": 0, "won_pct": 100.0},
    }


def test_the_report_numbers_hold_the_loop_numbers_of_all_twelve_weeks_shown(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_two_weeks(session)
        session.commit()

    with session_factory() as session:
        report = build_report(session, team_id=TEAM, week=W45, timezone="UTC")
    weeks = report.numbers["loop"]["weeks"]

    assert tuple(weeks) == SHOWN
    assert weeks["2026-W45"]["ratings"] == 3 and weeks["2026-W45"]["answered"] == 2
    assert weeks["2026-W44"] == {
        "ratings": 2,
        "answered": 1,
        "answered_pct": 50.0,
        "median_hours_to_first_answer": 4.0,
    }
    assert weeks["2026-W40"] == {
        "ratings": 1,
        "answered": 0,
        "answered_pct": 0.0,
        "median_hours_to_first_answer": None,
    }
    assert weeks["2026-W34"] == {
        "ratings": 0,
        "answered": 0,
        "answered_pct": None,
        "median_hours_to_first_answer": None,
    }


def test_the_chart_data_shows_campaigns_this_week_beside_the_previous_week(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        build_two_weeks(session)
        session.commit()

    with session_factory() as session:
        data = build_report(session, team_id=TEAM, week=W45, timezone="UTC").data

    assert data.week == "2026-W45"
    assert data.campaigns == (
        CampaignScore(campaign="Ads", this_week=5.0, previous_week=None, ratings=1),
        CampaignScore(campaign="Events", this_week=None, previous_week=3.0, ratings=0),
        CampaignScore(campaign="Webinar", this_week=3.0, previous_week=1.0, ratings=2),
    )
    assert [series.key for series in data.business] == [
        "conversion_rate",
        "cac",
        "revenue",
        "retention_rate",
        "roi",
    ]
    assert all(series.weeks == SHOWN for series in data.business)
    assert data.loop.weeks == SHOWN
    assert data.loop.response_rate[-2:] == (50.0, 66.7)
    assert data.loop.median_hours_to_answer[-1] == 4.0


def test_the_report_counts_the_week_in_the_workspaces_time_zone(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        # Sunday 23:30 UTC is already Monday 00:30 in Berlin.
        add_rated_lead(
            session,
            "SUN-NIGHT",
            campaign="Ads",
            score=2,
            rated=datetime(2026, 11, 1, 23, 30, tzinfo=UTC),
        )
        add_rated_lead(
            session,
            "NEXT-SUN-NIGHT",
            campaign="Ads",
            score=4,
            rated=datetime(2026, 11, 8, 23, 30, tzinfo=UTC),
        )
        session.commit()

    with session_factory() as session:
        utc = build_report(session, team_id=TEAM, week=W45, timezone="UTC").numbers
        berlin = build_report(session, team_id=TEAM, week=W45, timezone="Europe/Berlin").numbers

    assert utc["loop"]["average_score_by_campaign"] == {"Ads": {"average": 4.0, "ratings": 1}}
    assert berlin["loop"]["average_score_by_campaign"] == {"Ads": {"average": 2.0, "ratings": 1}}


def test_an_empty_workspace_gives_a_report_without_numbers(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        report = build_report(session, team_id=TEAM, week=W45, timezone="UTC")

    loop = report.numbers["loop"]
    assert (loop["leads_handed_off"], loop["rated_pct"], loop["average_score"]) == (0, None, None)
    assert (loop["answered_pct"], loop["median_hours_to_first_answer"]) == (None, None)
    assert report.data.campaigns == ()
    assert {view["status"] for view in report.numbers["business"].values()} == {"no data"}


# --- what moved most ---------------------------------------------------------------------


def test_kpis_furthest_from_target_lists_only_those_behind_most_behind_first(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "roi", (2026, 43), 150.0)  # the latest of the last 4 weeks: 25% behind
        record(session, "conversion_rate", (2026, 40), 10.0)
        record(session, "conversion_rate", (2026, 45), 9.6)  # target 12: 20% behind
        record(session, "cac", (2026, 40), 1000.0)
        record(session, "cac", (2026, 45), 935.0)  # target 850: 10% behind
        record(session, "retention_rate", (2026, 38), 80.0)  # nothing in the last 4 weeks
        record(session, "revenue", (2026, 45), 1_000_000.0)  # no target: no last year
        session.commit()

    with session_factory() as session:
        lines = kpis_furthest_from_target(session, team_id=TEAM, week=W45)
        first = kpis_furthest_from_target(session, team_id=TEAM, week=W45, limit=1)

    assert lines == [
        "Marketing ROI: 150% vs target 200%",
        "Lead conversion rate: 9.6% vs target 12%",
        "Customer acquisition cost: $935 vs target $850",
    ]
    assert first == lines[:1]


def test_kpis_on_track_are_never_listed_as_behind(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "roi", (2026, 45), 250.0)
        record(session, "conversion_rate", (2026, 40), 10.0)
        record(session, "conversion_rate", (2026, 45), 12.0)
        session.commit()

    with session_factory() as session:
        assert kpis_furthest_from_target(session, team_id=TEAM, week=W45) == []


def test_the_definitions_version_the_report_names_is_the_glossarys() -> None:
    glossary = Path(__file__).resolve().parents[3] / GLOSSARY

    assert f"**definitions version {DEFINITIONS_VERSION}**" in glossary.read_text()
