"""Business KPI values, their targets, and the weekly report's schedule; scoped by team."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import KpiTarget, KpiValue, ReportSchedule

Week = tuple[int, int]  # (ISO year, ISO week)


def set_kpi_value(
    session: Session,
    *,
    team_id: str,
    metric: str,
    week: Week,
    value: float,
    set_by: str,
    now: datetime,
) -> tuple[KpiValue, float | None]:
    """Record a week's value (replacing an earlier one); returns it and the value it replaced."""
    year, number = week
    row = session.exec(
        select(KpiValue).where(
            KpiValue.team_id == team_id,
            KpiValue.metric == metric,
            KpiValue.year == year,
            KpiValue.week == number,
        )
    ).first()
    previous = row.value if row else None
    if row is None:
        row = KpiValue(
            team_id=team_id,
            metric=metric,
            year=year,
            week=number,
            value=value,
            set_by=set_by,
            updated_at=now,
        )
    row.value, row.set_by, row.updated_at = value, set_by, now
    session.add(row)
    session.flush()
    return row, previous


def kpi_values(
    session: Session, *, team_id: str, first: Week, last: Week
) -> dict[tuple[str, Week], float]:
    """Every recorded value from week ``first`` to ``last`` inclusive, by (metric, week)."""
    statement = select(KpiValue).where(
        KpiValue.team_id == team_id,
        (col(KpiValue.year) * 100 + col(KpiValue.week)) >= first[0] * 100 + first[1],
        (col(KpiValue.year) * 100 + col(KpiValue.week)) <= last[0] * 100 + last[1],
    )
    return {(row.metric, (row.year, row.week)): row.value for row in session.exec(statement)}


def kpi_value_at(session: Session, *, team_id: str, metric: str, week: Week) -> float | None:
    """One metric's value in one week."""
    return kpi_values(session, team_id=team_id, first=week, last=week).get((metric, week))


def earliest_kpi_week(session: Session, *, team_id: str, metric: str) -> Week | None:
    """The first week a metric was recorded: the default baseline of a relative target."""
    statement = (
        select(KpiValue.year, KpiValue.week)
        .where(KpiValue.team_id == team_id, KpiValue.metric == metric)
        .order_by(col(KpiValue.year), col(KpiValue.week))
        .limit(1)
    )
    row = session.exec(statement).first()
    return (row[0], row[1]) if row else None


def set_kpi_target(
    session: Session,
    *,
    team_id: str,
    metric: str,
    kind: str,
    value: float,
    baseline: Week | None,
    set_by: str,
    now: datetime,
) -> KpiTarget:
    """Record a metric's target, replacing the previous one."""
    row = session.exec(
        select(KpiTarget).where(KpiTarget.team_id == team_id, KpiTarget.metric == metric)
    ).first()
    if row is None:
        row = KpiTarget(
            team_id=team_id, metric=metric, kind=kind, value=value, set_by=set_by, updated_at=now
        )
    row.kind, row.value, row.set_by, row.updated_at = kind, value, set_by, now
    row.baseline_year, row.baseline_week = baseline if baseline else (None, None)
    session.add(row)
    session.flush()
    return row


def kpi_targets(session: Session, *, team_id: str) -> dict[str, KpiTarget]:
    """The workspace's targets by metric (metrics without one use their default)."""
    rows = session.exec(select(KpiTarget).where(KpiTarget.team_id == team_id))
    return {row.metric: row for row in rows}


def report_schedule(session: Session, *, team_id: str) -> ReportSchedule | None:
    """The workspace's own report schedule, if an admin set one."""
    return session.get(ReportSchedule, team_id)


def set_report_schedule(
    session: Session,
    *,
    team_id: str,
    weekday: int,
    local_time: str,
    timezone: str,
    updated_by: str,
    now: datetime,
) -> ReportSchedule:
    """Move the weekly report to another day and time."""
    row = session.get(ReportSchedule, team_id) or ReportSchedule(
        team_id=team_id,
        weekday=weekday,
        local_time=local_time,
        timezone=timezone,
        updated_by=updated_by,
        updated_at=now,
    )
    row.weekday, row.local_time, row.timezone = weekday, local_time, timezone
    row.updated_by, row.updated_at = updated_by, now
    session.add(row)
    session.flush()
    return row
