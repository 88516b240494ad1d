"""Business KPI values, targets and the report schedule on a real database (storage/kpis.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, func, select

from storage.engine import SessionFactory
from storage.kpis import (
    Week,
    earliest_kpi_week,
    kpi_targets,
    kpi_value_at,
    kpi_values,
    report_schedule,
    set_kpi_target,
    set_kpi_value,
    set_report_schedule,
)
from storage.models import KpiTarget, KpiValue, ReportSchedule
from tests import slack_payloads as payloads

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
ADMIN = "UADMIN"


def record(
    session: Session,
    metric: str,
    week: Week,
    value: float,
    *,
    team_id: str = TEAM,
    now: datetime = NOW,
    set_by: str = ADMIN,
) -> float | None:
    """Store one value; returns the value it replaced."""
    _, previous = set_kpi_value(
        session, team_id=team_id, metric=metric, week=week, value=value, set_by=set_by, now=now
    )
    return previous


def row_count(session: Session, model: type[KpiValue | KpiTarget | ReportSchedule]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_setting_a_value_twice_replaces_it_and_returns_the_previous_value(
    session_factory: SessionFactory,
) -> None:
    later = NOW + timedelta(hours=2)
    with session_factory() as session:
        first = record(session, "conversion_rate", (2026, 45), 12.5)
        second = record(session, "conversion_rate", (2026, 45), 13.0, now=later, set_by="UOTHER")
        session.commit()

    with session_factory() as session:
        [row] = session.exec(select(KpiValue)).all()
    assert (first, second) == (None, 12.5)
    assert (row.team_id, row.metric, row.year, row.week) == (TEAM, "conversion_rate", 2026, 45)
    assert (row.value, row.set_by, row.updated_at) == (13.0, "UOTHER", later)


def test_values_are_kept_apart_per_metric_week_and_workspace(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        previous = [
            record(session, "conversion_rate", (2026, 45), 12.5),
            record(session, "conversion_rate", (2026, 44), 11.0),
            record(session, "cac", (2026, 45), 1200.0),
            record(session, "conversion_rate", (2025, 45), 9.0),
            record(session, "conversion_rate", (2026, 45), 30.0, team_id=OTHER_TEAM),
        ]
        session.commit()

    with session_factory() as session:
        assert row_count(session, KpiValue) == 5
        assert (
            kpi_value_at(session, team_id=TEAM, metric="conversion_rate", week=(2026, 45)) == 12.5
        )
        assert (
            kpi_value_at(session, team_id=OTHER_TEAM, metric="conversion_rate", week=(2026, 45))
            == 30.0
        )
    assert previous == [None] * 5


def test_a_missing_value_reads_as_none(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "cac", (2026, 45), 1200.0)
        session.commit()

    with session_factory() as session:
        assert kpi_value_at(session, team_id=TEAM, metric="cac", week=(2026, 44)) is None
        assert kpi_value_at(session, team_id=TEAM, metric="revenue", week=(2026, 45)) is None


def test_a_range_across_the_new_year_includes_both_ends_and_nothing_outside(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        for week, value in [
            ((2025, 50), 1.0),
            ((2025, 51), 2.0),
            ((2025, 52), 3.0),
            ((2026, 1), 4.0),
            ((2026, 2), 5.0),
            ((2026, 3), 6.0),
        ]:
            record(session, "roi", week, value)
        session.commit()

    with session_factory() as session:
        values = kpi_values(session, team_id=TEAM, first=(2025, 51), last=(2026, 2))

    assert values == {
        ("roi", (2025, 51)): 2.0,
        ("roi", (2025, 52)): 3.0,
        ("roi", (2026, 1)): 4.0,
        ("roi", (2026, 2)): 5.0,
    }


def test_a_range_includes_week_53_of_a_long_year(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        for week in [(2020, 52), (2020, 53), (2021, 1), (2021, 2)]:
            record(session, "revenue", week, float(week[1]))
        session.commit()

    with session_factory() as session:
        values = kpi_values(session, team_id=TEAM, first=(2020, 53), last=(2021, 1))

    assert values == {("revenue", (2020, 53)): 53.0, ("revenue", (2021, 1)): 1.0}


def test_a_range_returns_every_metric_of_the_workspace_only(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "roi", (2026, 45), 210.0)
        record(session, "cac", (2026, 45), 900.0)
        record(session, "roi", (2026, 45), 1.0, team_id=OTHER_TEAM)
        session.commit()

    with session_factory() as session:
        values = kpi_values(session, team_id=TEAM, first=(2026, 45), last=(2026, 45))

    assert values == {("roi", (2026, 45)): 210.0, ("cac", (2026, 45)): 900.0}


def test_earliest_week_orders_by_year_before_week(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 2), 11.0)
        record(session, "conversion_rate", (2025, 50), 10.0)
        record(session, "conversion_rate", (2026, 40), 12.0)
        record(session, "cac", (2026, 30), 1000.0)
        record(session, "conversion_rate", (2024, 1), 5.0, team_id=OTHER_TEAM)
        session.commit()

    with session_factory() as session:
        assert earliest_kpi_week(session, team_id=TEAM, metric="conversion_rate") == (2025, 50)
        assert earliest_kpi_week(session, team_id=TEAM, metric="cac") == (2026, 30)
        assert earliest_kpi_week(session, team_id=TEAM, metric="revenue") is None
        assert earliest_kpi_week(session, team_id=OTHER_TEAM, metric="conversion_rate") == (
            2024,
            1,
        )


def test_a_new_target_replaces_the_old_one_and_stores_its_baseline(
    session_factory: SessionFactory,
) -> None:
    later = NOW + timedelta(days=1)
    with session_factory() as session:
        set_kpi_target(
            session,
            team_id=TEAM,
            metric="conversion_rate",
            kind="relative",
            value=20.0,
            baseline=None,
            set_by=ADMIN,
            now=NOW,
        )
        session.commit()
    with session_factory() as session:
        set_kpi_target(
            session,
            team_id=TEAM,
            metric="conversion_rate",
            kind="relative",
            value=25.0,
            baseline=(2026, 1),
            set_by="UOTHER",
            now=later,
        )
        session.commit()

    with session_factory() as session:
        [row] = session.exec(select(KpiTarget)).all()
        targets = kpi_targets(session, team_id=TEAM)
    assert (row.kind, row.value, row.baseline_year, row.baseline_week) == (
        "relative",
        25.0,
        2026,
        1,
    )
    assert (row.set_by, row.updated_at) == ("UOTHER", later)
    assert set(targets) == {"conversion_rate"}


def test_a_target_without_baseline_clears_the_earlier_baseline(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        for kind, value, baseline in [("relative", 20.0, (2026, 1)), ("absolute", 14.0, None)]:
            set_kpi_target(
                session,
                team_id=TEAM,
                metric="conversion_rate",
                kind=kind,
                value=value,
                baseline=baseline,
                set_by=ADMIN,
                now=NOW,
            )
        session.commit()

    with session_factory() as session:
        target = kpi_targets(session, team_id=TEAM)["conversion_rate"]
    assert (target.kind, target.value, target.baseline_year, target.baseline_week) == (
        "absolute",
        14.0,
        None,
        None,
    )


def test_targets_belong_to_their_workspace(session_factory: SessionFactory) -> None:
    with session_factory() as session:
        set_kpi_target(
            session,
            team_id=TEAM,
            metric="roi",
            kind="absolute",
            value=300.0,
            baseline=None,
            set_by=ADMIN,
            now=NOW,
        )
        session.commit()

    with session_factory() as session:
        assert kpi_targets(session, team_id=OTHER_TEAM) == {}
        assert kpi_targets(session, team_id=TEAM)["roi"].value == 300.0


def test_report_schedule_is_none_until_set_then_replaced_in_place(
    session_factory: SessionFactory,
) -> None:
    later = NOW + timedelta(days=3)
    with session_factory() as session:
        assert report_schedule(session, team_id=TEAM) is None
        set_report_schedule(
            session,
            team_id=TEAM,
            weekday=0,
            local_time="09:00",
            timezone="UTC",
            updated_by=ADMIN,
            now=NOW,
        )
        session.commit()
    with session_factory() as session:
        set_report_schedule(
            session,
            team_id=TEAM,
            weekday=4,
            local_time="16:30",
            timezone="Europe/Berlin",
            updated_by="UOTHER",
            now=later,
        )
        session.commit()

    with session_factory() as session:
        schedule = report_schedule(session, team_id=TEAM)
        assert row_count(session, ReportSchedule) == 1
    assert schedule is not None
    assert (schedule.weekday, schedule.local_time, schedule.timezone) == (
        4,
        "16:30",
        "Europe/Berlin",
    )
    assert (schedule.updated_by, schedule.updated_at) == ("UOTHER", later)


def test_another_workspace_sees_nothing_of_this_ones_kpis(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 45), 12.5)
        set_kpi_target(
            session,
            team_id=TEAM,
            metric="conversion_rate",
            kind="relative",
            value=20.0,
            baseline=(2026, 45),
            set_by=ADMIN,
            now=NOW,
        )
        set_report_schedule(
            session,
            team_id=TEAM,
            weekday=2,
            local_time="08:00",
            timezone="UTC",
            updated_by=ADMIN,
            now=NOW,
        )
        session.commit()

    with session_factory() as session:
        assert kpi_values(session, team_id=OTHER_TEAM, first=(2000, 1), last=(2099, 1)) == {}
        assert earliest_kpi_week(session, team_id=OTHER_TEAM, metric="conversion_rate") is None
        assert kpi_targets(session, team_id=OTHER_TEAM) == {}
        assert report_schedule(session, team_id=OTHER_TEAM) is None
