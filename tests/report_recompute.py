"""The weekly report's loop figures recomputed from ``leadloop export`` alone, in plain Python.

Written from docs/glossary.md, not from storage/reports.py: the tests compare the two, so
an export that lacks a fact, or code that drifts from the glossary, fails them.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.sla import (
    DEFAULT_BUSINESS_HOURS,
    DEFAULT_SLA_MINUTES,
    AnswerSla,
    describe_duration,
    parse_business_hours,
    parse_duration,
)

NO_CAMPAIGN = "(no campaign)"
NO_OWNER = "(no owner)"
NO_SOURCE = "(no source)"
WEEKS_SHOWN = 12


def _time(value: str | None) -> datetime | None:
    return None if value in (None, "") else datetime.fromisoformat(str(value))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1) + 0.0


def _percent(part: int, whole: int) -> float | None:
    return _rounded(100 * part / whole) if whole else None


def week_window(label: str, timezone: str, *, shift: int = 0) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, local time in ``timezone``, of ISO week
    ``label`` (``2026-W44``) moved by ``shift`` weeks."""
    year, week = label.split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1) + timedelta(weeks=shift)
    zone = ZoneInfo(timezone)
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(weeks=1), time(0), tzinfo=zone)
    return start, end


def week_label(label: str, shift: int) -> str:
    """The ISO week ``shift`` weeks from ``label``."""
    year, week = label.split("-W")
    iso = (date.fromisocalendar(int(year), int(week), 1) + timedelta(weeks=shift)).isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


@dataclass(frozen=True)
class Exports:
    """The exports of one workspace, as ``leadloop export --format json`` writes them."""

    ratings: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    leads: list[dict[str, Any]]
    lead_changes: list[dict[str, Any]]
    kpi_values: list[dict[str, Any]]
    kpi_targets: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    answer_time_settings: list[dict[str, Any]]
    campaign_owners: list[dict[str, Any]]

    def leads_by_id(self) -> dict[int, dict[str, Any]]:
        """Each lead by its id."""
        return {int(lead["id"]): lead for lead in self.leads}

    def lead_field_at(self, lead: dict[str, Any], field: str, end: datetime) -> str | None:
        """A lead's campaign, source or status at ``end``: the value before its first change
        at or after ``end``, else the value it has now (a status only once it was set)."""
        for change in self.lead_changes:
            if int(change["lead_id"]) != int(lead["id"]) or change["field"] != field:
                continue
            changed = _time(change["changed_at"])
            assert changed is not None
            if changed >= end:
                return change["value_before"]  # type: ignore[no-any-return]
        if field == "status":
            decided = _time(lead["status_changed_at"])
            return lead["status"] if decided is not None and decided < end else None
        return lead[field]  # type: ignore[no-any-return]


def counted_ratings(exports: Exports, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The ratings a week counts: given in [start, end) and not replaced by ``end``."""
    counted = []
    for rating in exports.ratings:
        created, replaced = _time(rating["created_at"]), _time(rating["replaced_at"])
        assert created is not None
        if start <= created < end and (replaced is None or replaced >= end):
            counted.append(rating)
    return counted


def score_at(rating: dict[str, Any], end: datetime) -> int:
    """A rating's score at ``end``: the score before the first change at or after ``end``
    (``score_changes`` lists them oldest first as ``<time> <before>><after>``)."""
    for change in rating["score_changes"]:
        when, scores = change.split(" ")
        if datetime.fromisoformat(when) >= end:
            return int(scores.split(">")[0])
    return int(rating["score"])


def first_answer_at(exports: Exports, rating: dict[str, Any], end: datetime) -> datetime | None:
    """The time of marketing's first answer to a rating standing at ``end``: the earliest
    answering reply not deleted by then, or Agree or Dispute, given before ``end``."""
    times = []
    for reply in exports.responses:
        if reply["rating_id"] != rating["id"] or not reply["is_answer"]:
            continue
        written, deleted = _time(reply["created_at"]), _time(reply["deleted_at"])
        assert written is not None
        if written < end and (not reply["deleted"] or (deleted is not None and deleted >= end)):
            times.append(written)
    for verdict in exports.verdicts:
        given = _time(verdict["created_at"])
        assert given is not None
        if verdict["rating_id"] == rating["id"] and verdict["is_answer"] and given < end:
            times.append(given)
    return min(times) if times else None


def first_answer_hours(exports: Exports, rating: dict[str, Any], end: datetime) -> float | None:
    """Hours from a rating to marketing's first answer standing at ``end``, or None."""
    answered = first_answer_at(exports, rating, end)
    if answered is None:
        return None
    rated = _time(rating["created_at"])
    assert rated is not None
    return (answered - rated).total_seconds() / 3600


def answers(exports: Exports, start: datetime, end: datetime) -> dict[str, Any]:
    """One week of the report's answer history."""
    ratings = counted_ratings(exports, start, end)
    delays = [first_answer_hours(exports, rating, end) for rating in ratings]
    answered = [delay for delay in delays if delay is not None]
    return {
        "ratings": len(ratings),
        "answered": len(answered),
        "answered_pct": _percent(len(answered), len(ratings)),
        "median_hours_to_first_answer": _rounded(statistics.median(answered)) if answered else None,
    }


def grouped_scores(
    exports: Exports, ratings: Iterable[dict[str, Any]], field: str, blank: str, end: datetime
) -> dict[str, dict[str, Any]]:
    """Average score at ``end`` and count per lead ``field`` (its value at ``end``), blank
    ones as ``blank``."""
    leads = exports.leads_by_id()
    scores: dict[str, list[int]] = defaultdict(list)
    for rating in ratings:
        group = exports.lead_field_at(leads[int(rating["lead_id"])], field, end) or blank
        scores[group].append(score_at(rating, end))
    return {
        name: {"average": _rounded(statistics.fmean(values)), "ratings": len(values)}
        for name, values in scores.items()
    }


def _by_change(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (_time(row["changed_at"]), int(row["id"])))


def answer_time_at(exports: Exports, end: datetime, default_timezone: str) -> AnswerSla | None:
    """The answer time in force at ``end``: the latest settings row at or before it, else the
    earliest (none at all: the defaults); None when it was off (``sla off``)."""
    history = _by_change(exports.answer_time_settings)
    before = [row for row in history if (_time(row["changed_at"]) or end) <= end]
    row = before[-1] if before else (history[0] if history else {})
    minutes = parse_duration(row.get("answer_sla") or describe_duration(DEFAULT_SLA_MINUTES))
    hours = parse_business_hours(row.get("business_hours") or DEFAULT_BUSINESS_HOURS)
    if minutes is None or hours is None:
        return None
    low = row.get("low_score_sla")
    return AnswerSla(
        minutes=minutes,
        low_score_minutes=parse_duration(low) if low else None,
        hours=hours,
        zone=ZoneInfo(row.get("timezone") or default_timezone),
    )


def campaign_owners_at(exports: Exports, end: datetime) -> dict[str, str]:
    """Each campaign's owner at ``end`` (its latest change at or before it), by the
    campaign in lower case."""
    owners: dict[str, str | None] = {}
    for change in _by_change(exports.campaign_owners):
        if (_time(change["changed_at"]) or end) <= end:
            owners[change["campaign"]] = change["owner_id"]
    return {campaign: owner for campaign, owner in owners.items() if owner}


def answer_time(
    exports: Exports, start: datetime, end: datetime, default_timezone: str
) -> dict[str, Any] | None:
    """``loop.answer_time`` of the week [start, end), with the answer time and campaign
    owners of its end."""
    sla = answer_time_at(exports, end, default_timezone)
    if sla is None:
        return None
    leads = exports.leads_by_id()
    owners = campaign_owners_at(exports, end)
    overall: list[tuple[datetime, int, datetime | None]] = []
    by_owner: dict[str, list[tuple[datetime, int, datetime | None]]] = defaultdict(list)
    for rating in counted_ratings(exports, start, end):
        rated = _time(rating["created_at"])
        assert rated is not None
        campaign = exports.lead_field_at(leads[int(rating["lead_id"])], "campaign", end)
        answer = (rated, score_at(rating, end), first_answer_at(exports, rating, end))
        overall.append(answer)
        by_owner[owners.get((campaign or NO_CAMPAIGN).lower(), NO_OWNER)].append(answer)
    return {
        "sla": describe_duration(sla.minutes),
        "low_score_sla": describe_duration(sla.low_score_minutes)
        if sla.low_score_minutes
        else None,
        "business_hours": sla.hours.describe(),
        "overall": _kept(overall, sla, end),
        "by_campaign_owner": {
            owner: _kept(group, sla, end) for owner, group in sorted(by_owner.items())
        },
    }


def _kept(
    ratings: list[tuple[datetime, int, datetime | None]], sla: AnswerSla, end: datetime
) -> dict[str, Any]:
    """Due, within, not yet due and answered, and the business hours to first answers."""
    due = [
        (rated, answered, deadline)
        for rated, score, answered in ratings
        if (deadline := sla.answer_due(rated, score)) is not None and deadline <= end
    ]
    within = [1 for _, answered, deadline in due if answered is not None and answered <= deadline]
    hours = sorted(
        sla.hours.open_minutes(rated, answered, sla.zone) / 60
        for rated, _, answered in ratings
        if answered is not None
    )
    return {
        "due": len(due),
        "within": len(within),
        "within_pct": _percent(len(within), len(due)),
        "not_yet_due": len(ratings) - len(due),
        "answered": len(hours),
        "median_business_hours_to_first_answer": _rounded(statistics.median(hours))
        if hours
        else None,
        "p90_business_hours_to_first_answer": _rounded(hours[math.ceil(0.9 * len(hours)) - 1])
        if hours
        else None,
    }


def loop_figures(
    exports: Exports, *, week: str, timezone: str, default_timezone: str = "UTC"
) -> dict[str, Any]:
    """Every loop figure of the report for ``week``, as ``report --json`` names them."""
    start, end = week_window(week, timezone)
    previous_start, _ = week_window(week, timezone, shift=-1)
    ratings = counted_ratings(exports, start, end)
    handed_off = [
        lead
        for lead in exports.leads
        if (moment := _time(lead["handed_off_at"])) is not None and start <= moment < end
    ]
    rated = [lead for lead in handed_off if _rated_by(exports, lead, end)]
    history = {
        week_label(week, shift): answers(exports, *week_window(week, timezone, shift=shift))
        for shift in range(1 - WEEKS_SHOWN, 1)
    }
    scores = [score_at(rating, end) for rating in ratings]
    window_start, _ = week_window(week, timezone, shift=1 - WEEKS_SHOWN)
    return {
        "leads_handed_off": len(handed_off),
        "leads_rated": len(rated),
        "rated_pct": _percent(len(rated), len(handed_off)),
        "average_score": _rounded(statistics.fmean(scores)) if scores else None,
        "ratings": len(scores),
        "average_score_by_campaign": grouped_scores(exports, ratings, "campaign", NO_CAMPAIGN, end),
        "average_score_by_campaign_previous_week": grouped_scores(
            exports,
            counted_ratings(exports, previous_start, start),
            "campaign",
            NO_CAMPAIGN,
            start,
        ),
        "average_score_by_source": grouped_scores(exports, ratings, "source", NO_SOURCE, end),
        "answered_pct": history[week]["answered_pct"],
        "median_hours_to_first_answer": history[week]["median_hours_to_first_answer"],
        "weeks": history,
        "conversion_by_score": conversion_by_score(exports, window_start, end),
        "answer_time": answer_time(exports, start, end, default_timezone),
    }


def _rated_by(exports: Exports, lead: dict[str, Any], end: datetime) -> bool:
    return any(
        int(rating["lead_id"]) == int(lead["id"]) and (_time(rating["created_at"]) or end) < end
        for rating in exports.ratings
    )


def conversion_by_score(exports: Exports, start: datetime, end: datetime) -> dict[str, Any]:
    """Won and lost per score of the ratings the conversion window counts, outcomes
    recorded by ``end``."""
    leads = exports.leads_by_id()
    outcomes: dict[int, dict[str, int]] = defaultdict(lambda: {"won": 0, "lost": 0})
    for rating in counted_ratings(exports, start, end):
        status = exports.lead_field_at(leads[int(rating["lead_id"])], "status", end)
        if status in ("won", "lost"):
            outcomes[score_at(rating, end)][status] += 1
    return {
        str(score): {
            "won": counts["won"],
            "lost": counts["lost"],
            "won_pct": _percent(counts["won"], counts["won"] + counts["lost"]),
        }
        for score, counts in sorted(outcomes.items())
    }


@dataclass(frozen=True)
class Kpi:
    """A business KPI as the README describes it: unit, direction and default target."""

    unit: str
    higher_is_better: bool
    default_kind: str
    default_value: float


# README, "Default targets".
KPIS = {
    "conversion_rate": Kpi("percent", True, "relative", 20.0),
    "cac": Kpi("currency", False, "relative", -15.0),
    "revenue": Kpi("currency", True, "annual_growth", 20.0),
    "retention_rate": Kpi("percent", True, "relative", 10.0),
    "roi": Kpi("percent", True, "absolute", 200.0),
}


def _in_unit(value: float | None, kpi: Kpi) -> float | None:
    return None if value is None else round(value, 2 if kpi.unit == "currency" else 1) + 0.0


def _same_week_last_year(label: str) -> str:
    year, week = (int(part) for part in label.split("-W"))
    weeks_then = date(year - 1, 12, 28).isocalendar().week
    return f"{year - 1:04d}-W{min(week, weeks_then):02d}"


def business_figures(exports: Exports, *, week: str) -> dict[str, Any]:
    """Each business KPI's actual, target, status and weeks, and revenue's weekly growth."""
    values = {(row["metric"], row["week"]): float(row["value"]) for row in exports.kpi_values}
    targets = {row["metric"]: row for row in exports.kpi_targets}
    shown = [week_label(week, shift) for shift in range(1 - WEEKS_SHOWN, 1)]
    figures: dict[str, Any] = {}
    for key, kpi in KPIS.items():
        series = {label: _in_unit(values.get((key, label)), kpi) for label in shown}
        stored = targets.get(key)
        kind = stored["kind"] if stored else kpi.default_kind
        amount = float(stored["value"]) if stored else kpi.default_value
        recorded = sorted(label for metric, label in values if metric == key)
        baseline_week = (stored and stored["baseline_week"]) or (recorded[0] if recorded else None)
        if kind == "absolute":
            target: float | None = amount
        else:
            reference_week = baseline_week if kind == "relative" else _same_week_last_year(week)
            reference = values.get((key, reference_week)) if reference_week else None
            target = None if reference is None else reference * (1 + amount / 100)
        target = _in_unit(target, kpi)
        actual = series[week]
        figures[key] = {
            "actual": actual,
            "target": target,
            "status": _status(actual, target, kpi.higher_is_better),
            "weeks": series,
        }
    revenue = figures["revenue"]["weeks"]
    before, after = revenue[shown[-2]], revenue[shown[-1]]
    growth = None if not before or after is None else (after - before) / before
    return {
        "business": figures,
        "revenue_growth_week_over_week_pct": None if growth is None else _rounded(growth * 100),
    }


def _status(actual: float | None, target: float | None, higher_is_better: bool) -> str:
    if actual is None:
        return "no data"
    if target is None:
        return "no target"
    met = actual >= target if higher_is_better else actual <= target
    return "on track" if met else "behind"


def report_figures(
    exports: Exports, *, week: str, timezone: str, default_timezone: str = "UTC"
) -> dict[str, Any]:
    """The numbers of ``report --json`` for ``week``, recomputed: the loop figures, and each
    business KPI's actual, target, status and weeks. ``default_timezone`` is the
    environment's (``LEADLOOP_TZ``): the zone of answer-time settings left at the default."""
    loop = loop_figures(exports, week=week, timezone=timezone, default_timezone=default_timezone)
    return {"loop": loop} | business_figures(exports, week=week)


def numbers_of(report: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a ``report --json`` that ``report_figures`` recomputes."""
    return {
        "loop": report["loop"],
        "business": {
            key: {name: kpi[name] for name in ("actual", "target", "status", "weeks")}
            for key, kpi in report["business"].items()
        },
        "revenue_growth_week_over_week_pct": report["revenue_growth_week_over_week_pct"],
    }
