"""The weekly KPI report: every number behind the chart, computed in SQL for one workspace.

Each number is defined in docs/glossary.md; ``DEFINITIONS_VERSION`` names that version of
the definitions and goes out with ``leadloop report --json``. Every loop figure of week W is
taken as the data stood at the end of W (see ``storage.reports``), so a report run again
later shows the same numbers.

One unit convention for every number, shared by the chart and ``leadloop report --json``:
percentages are percent points (13.3 means 13.3%) and named ``..._pct`` unless a KPI's
``unit`` says "percent"; money is in the workspace's currency; scores are 1 to 5; times are
hours. Everything is rounded to 1 decimal, money to the cent, so that the JSON and the chart
show the same numbers and no float noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from charts.report_data import CampaignScore, KpiSeries, LoopTrend, ReportData
from domain.kpis.answer_times import week_answer_time_numbers
from domain.kpis.calibration import calibration_numbers
from domain.kpis.metrics import (
    METRICS,
    KpiStatus,
    Metric,
    Target,
    describe_target,
    format_value,
    gap_ratio,
    kpi_status,
    resolve_target,
    stored_target,
)
from domain.sla import AnswerSla
from domain.weeks import IsoWeek, week_bounds, weeks_in_year
from storage import kpis as kpi_store
from storage import reports

WEEKS_SHOWN = 12
# Raised whenever a number's definition changes, so that a stored report says which it used.
# 2: as-of-week-end figures, one population of ratings per week, handed off = import/webhook.
# 3: answer-time figures with the answer-time settings and campaign owners of the week's end.
DEFINITIONS_VERSION = 3
GLOSSARY = "docs/glossary.md"
DECIMALS = 1
MONEY_DECIMALS = 2


def rounded(value: float | None, *, decimals: int = DECIMALS) -> float | None:
    """``value`` rounded for people and spreadsheets; never ``-0.0``."""
    return None if value is None else round(value, decimals) + 0.0


def percent(fraction: float | None) -> float | None:
    """A fraction as rounded percent points: 0.6667 becomes 66.7."""
    return None if fraction is None else rounded(fraction * 100)


def in_unit(value: float | None, unit: Literal["percent", "currency"]) -> float | None:
    """A KPI value rounded for its unit: percent points to 1 decimal, money to the cent."""
    return rounded(value, decimals=MONEY_DECIMALS if unit == "currency" else DECIMALS)


def same_week_last_year(week: IsoWeek) -> IsoWeek:
    """The same ISO week a year earlier (week 53 maps to 52 in a 52-week year)."""
    return IsoWeek(week.year - 1, min(week.week, weeks_in_year(week.year - 1)))


@dataclass(frozen=True)
class MetricView:
    """One business KPI for the report week: actual, target and status."""

    metric: Metric
    target: Target
    actual: float | None
    target_value: float | None
    series: tuple[float | None, ...]

    @property
    def status(self) -> KpiStatus:
        """ "on track", "behind", "no data" or "no target", judged on the week's own value."""
        return kpi_status(self.actual, self.target_value, self.metric.higher_is_better)

    @property
    def gap(self) -> float | None:
        """How far behind target, relative to it (positive when behind)."""
        return gap_ratio(self.actual, self.target_value, self.metric.higher_is_better)


def business_kpis(
    session: Session, *, team_id: str, week: IsoWeek, weeks_shown: int = WEEKS_SHOWN
) -> list[MetricView]:
    """Each business KPI over the weeks shown, against its resolved target."""
    weeks = [week.shifted(offset) for offset in range(1 - weeks_shown, 1)]
    values = kpi_store.kpi_values(
        session, team_id=team_id, first=_key(weeks[0]), last=_key(weeks[-1])
    )
    targets = kpi_store.kpi_targets(session, team_id=team_id)
    views = []
    for metric in METRICS:
        stored = targets.get(metric.key)
        target = (stored and stored_target(stored.kind, stored.value)) or metric.default_target
        baseline_week = (
            (stored.baseline_year, stored.baseline_week)
            if stored and stored.baseline_year and stored.baseline_week
            else kpi_store.earliest_kpi_week(session, team_id=team_id, metric=metric.key)
        )
        baseline = (
            kpi_store.kpi_value_at(session, team_id=team_id, metric=metric.key, week=baseline_week)
            if baseline_week
            else None
        )
        last_year = kpi_store.kpi_value_at(
            session, team_id=team_id, metric=metric.key, week=_key(same_week_last_year(week))
        )
        # Rounded here, so that every status is judged on the numbers people are shown.
        series = tuple(
            in_unit(values.get((metric.key, _key(shown))), metric.unit) for shown in weeks
        )
        views.append(
            MetricView(
                metric=metric,
                target=target,
                actual=series[-1],
                target_value=in_unit(
                    resolve_target(target, baseline=baseline, same_week_last_year=last_year),
                    metric.unit,
                ),
                series=series,
            )
        )
    return views


def _key(week: IsoWeek) -> tuple[int, int]:
    return (week.year, week.week)


@dataclass(frozen=True)
class WeeklyReport:
    """The chart's input and the numbers behind it."""

    week: IsoWeek
    data: ReportData
    numbers: dict[str, Any]


def build_report(
    session: Session,
    *,
    team_id: str,
    week: IsoWeek,
    timezone: str,
    weeks_shown: int = WEEKS_SHOWN,
    answer_time: AnswerSla | None = None,
    default_timezone: str | None = None,
) -> WeeklyReport:
    """Everything the weekly chart shows for ``week``, and the JSON numbers behind it.

    The numbers also say how marketing kept the answer time: each week with the answer time
    and campaign owners of its end (``answer_time``, the one in force now, answers for a
    workspace without their history; ``default_timezone``, the environment's zone, for a
    time zone left at its default then, else ``timezone``).
    """
    zone_default = default_timezone or timezone
    weeks = [week.shifted(offset) for offset in range(1 - weeks_shown, 1)]
    labels = tuple(shown.label for shown in weeks)
    business = business_kpis(session, team_id=team_id, week=week, weeks_shown=weeks_shown)
    this_start, this_end = week_bounds(week, timezone)
    previous_start, _ = week_bounds(week.previous(), timezone)
    this_week = reports.average_scores(
        session, team_id=team_id, start=this_start, end=this_end, by="campaign"
    )
    previous = reports.average_scores(
        session, team_id=team_id, start=previous_start, end=this_start, by="campaign"
    )
    answers = [
        _answers(reports.answer_stats(session, team_id=team_id, start=start, end=end))
        for start, end in (week_bounds(shown, timezone) for shown in weeks)
    ]
    data = ReportData(
        week=week.label,
        business=tuple(
            KpiSeries(
                key=view.metric.key,
                label=view.metric.label,
                unit=view.metric.unit,
                weeks=labels,
                actual=view.series,
                target=view.target_value,
                higher_is_better=view.metric.higher_is_better,
                status=view.status,
            )
            for view in business
        ),
        campaigns=_campaign_scores(this_week, previous),
        loop=LoopTrend(
            weeks=labels,
            response_rate=tuple(shown["answered_pct"] for shown in answers),
            median_hours_to_answer=tuple(
                shown["median_hours_to_first_answer"] for shown in answers
            ),
            within_answer_time=_within_answer_time(
                session,
                team_id=team_id,
                weeks=weeks,
                timezone=timezone,
                sla=answer_time,
                default_timezone=zone_default,
            ),
        ),
    )
    numbers = _numbers(
        session,
        team_id=team_id,
        weeks=weeks,
        timezone=timezone,
        business=business,
        answers=answers,
        campaigns=(this_week, previous),
    )
    window_start, _ = week_bounds(weeks[0], timezone)
    numbers["calibration"] = calibration_numbers(
        reports.rated_outcomes(session, team_id=team_id, start=window_start, end=this_end)
    )
    numbers["loop"]["answer_time"] = week_answer_time_numbers(
        session,
        team_id=team_id,
        start=this_start,
        end=this_end,
        current=answer_time,
        default_timezone=zone_default,
    )
    return WeeklyReport(week=week, data=data, numbers=numbers)


def _within_answer_time(
    session: Session,
    *,
    team_id: str,
    weeks: list[IsoWeek],
    timezone: str,
    sla: AnswerSla | None,
    default_timezone: str,
) -> tuple[float | None, ...]:
    """Each shown week's share answered within the answer time of its end (empty when no
    shown week had one)."""
    shares = []
    kept = False
    for shown in weeks:
        start, end = week_bounds(shown, timezone)
        figures = week_answer_time_numbers(
            session,
            team_id=team_id,
            start=start,
            end=end,
            current=sla,
            default_timezone=default_timezone,
        )
        kept = kept or figures is not None
        shares.append(figures["overall"]["within_pct"] if figures else None)
    return tuple(shares) if kept else ()


def _answers(stats: reports.AnswerStats) -> dict[str, Any]:
    """One week of marketing's answers, in the report's units."""
    return {
        "ratings": stats.ratings,
        "answered": stats.answered,
        "answered_pct": percent(stats.answered_share),
        "median_hours_to_first_answer": rounded(stats.median_hours),
    }


def _campaign_scores(
    this_week: list[reports.ScoreGroup], previous: list[reports.ScoreGroup]
) -> tuple[CampaignScore, ...]:
    before = {group.name: rounded(group.average) for group in previous}
    now = {group.name: group for group in this_week}
    names = sorted(set(now) | set(before))
    return tuple(
        CampaignScore(
            campaign=name,
            this_week=rounded(now[name].average) if name in now else None,
            previous_week=before.get(name),
            ratings=now[name].ratings if name in now else 0,
        )
        for name in names
    )


def _numbers(
    session: Session,
    *,
    team_id: str,
    weeks: list[IsoWeek],
    timezone: str,
    business: list[MetricView],
    answers: list[dict[str, Any]],
    campaigns: tuple[list[reports.ScoreGroup], list[reports.ScoreGroup]],
) -> dict[str, Any]:
    week = weeks[-1]
    start, end = week_bounds(week, timezone)
    handed_off = reports.leads_handed_off(session, team_id=team_id, start=start, end=end)
    rated = reports.leads_rated(session, team_id=team_id, start=start, end=end)
    overall = reports.average_scores(session, team_id=team_id, start=start, end=end)
    by_source = reports.average_scores(session, team_id=team_id, start=start, end=end, by="source")
    # Won and lost per score over every week shown: outcomes take weeks to be known.
    window_start, _ = week_bounds(weeks[0], timezone)
    zone = ZoneInfo(timezone)
    outcomes = reports.outcomes_by_score(session, team_id=team_id, start=window_start, end=end)
    revenue = next(view for view in business if view.metric.key == "revenue")
    return {
        "week": week.label,
        "weeks_shown": [shown.label for shown in weeks],
        "timezone": timezone,
        "definitions_version": DEFINITIONS_VERSION,
        "definitions": GLOSSARY,
        # Every loop figure counts the data as it stood at the window's end.
        "window": {
            "start": start.astimezone(zone).isoformat(),
            "end": end.astimezone(zone).isoformat(),
        },
        "conversion_window": {
            "start": window_start.astimezone(zone).isoformat(),
            "end": end.astimezone(zone).isoformat(),
        },
        "business": {
            view.metric.key: {
                "label": view.metric.label,
                "unit": view.metric.unit,
                "actual": view.actual,
                "target": view.target_value,
                "target_rule": describe_target(view.target, view.metric),
                "status": view.status,
                "weeks": dict(zip((shown.label for shown in weeks), view.series, strict=True)),
            }
            for view in business
        },
        "revenue_growth_week_over_week_pct": percent(
            _growth(revenue.series[-2], revenue.series[-1])
        ),
        "loop": {
            "leads_handed_off": handed_off,
            "leads_rated": rated,
            "rated_pct": percent(rated / handed_off) if handed_off else None,
            "average_score": rounded(overall[0].average) if overall else None,
            "ratings": overall[0].ratings if overall else 0,
            "average_score_by_campaign": _groups(campaigns[0]),
            "average_score_by_campaign_previous_week": _groups(campaigns[1]),
            "average_score_by_source": _groups(by_source),
            "answered_pct": answers[-1]["answered_pct"],
            "median_hours_to_first_answer": answers[-1]["median_hours_to_first_answer"],
            "weeks": dict(zip((shown.label for shown in weeks), answers, strict=True)),
            "conversion_by_score": {
                str(outcome.score): {
                    "won": outcome.won,
                    "lost": outcome.lost,
                    "won_pct": percent(outcome.conversion),
                }
                for outcome in outcomes
            },
        },
    }


def _groups(groups: list[reports.ScoreGroup]) -> dict[str, dict[str, float | int | None]]:
    return {
        group.name: {"average": rounded(group.average), "ratings": group.ratings}
        for group in groups
    }


def _growth(before: float | None, after: float | None) -> float | None:
    if before is None or before == 0 or after is None:
        return None
    return (after - before) / before


def kpis_furthest_from_target(
    session: Session, *, team_id: str, week: IsoWeek, limit: int = 3
) -> list[str]:
    """Lines like "Lead conversion rate: 11% vs target 14.4%" for the KPIs most behind."""
    gaps = []
    for view in business_kpis(session, team_id=team_id, week=week, weeks_shown=4):
        latest = next((value for value in reversed(view.series) if value is not None), None)
        gap = gap_ratio(latest, view.target_value, view.metric.higher_is_better)
        if latest is not None and view.target_value is not None and gap is not None and gap > 0:
            gaps.append((gap, view.metric, latest, view.target_value))
    gaps.sort(key=lambda item: item[0], reverse=True)
    return [
        f"{metric.label}: {format_value(latest, metric)} vs target {format_value(target, metric)}"
        for _, metric, latest, target in gaps[:limit]
    ]
