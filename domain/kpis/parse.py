"""Parsing ``/kpi`` text into typed requests, or a message saying what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from domain.kpis.metrics import (
    METRICS,
    Metric,
    Target,
    find_metric,
    parse_target,
    parse_value,
    parse_week,
)
from domain.parsing import UsageError, parse_day_list, parse_time, shown, unescape_slack
from domain.weeks import IsoWeek

USAGE = (
    "*Shared KPIs*\n"
    "`/kpi show [week]`: actual, target and status of each KPI (default: this week)\n"
    "`/kpi chart [week]`: post the KPI chart in this channel\n"
    "`/kpi set <metric> <value> [week]`: record a week's value, e.g. `/kpi set conv 12.5% W45`\n"
    "`/kpi target <metric> <target> [from <week>]`: e.g. `/kpi target roi 200%` or "
    "`/kpi target conv +20% from 2026-W01`\n"
    "`/kpi schedule <day> <HH:MM>`: when the weekly report is posted (your time zone)\n"
    "Metrics: "
    + ", ".join(f"`{metric.aliases[0]}` ({metric.label.lower()})" for metric in METRICS)
    + ". Values: `12.5%`, `0.125`, `$1,200`, `1.2k`. Weeks: `2026-W45`, `W45`, `this`, `last`.\n"
    "Setting values, targets and the schedule is for leadloop admins."
)


def _usage_error(problem: str) -> UsageError:
    """What was wrong, then how to write the command."""
    return UsageError(problem, usage=USAGE)


@dataclass(frozen=True)
class ShowKpis:
    """``/kpi show [week]``."""

    week: IsoWeek


@dataclass(frozen=True)
class PostChart:
    """``/kpi chart [week]``."""

    week: IsoWeek


@dataclass(frozen=True)
class SetValue:
    """``/kpi set <metric> <value> [week]``."""

    metric: Metric
    value: float
    week: IsoWeek


@dataclass(frozen=True)
class SetTarget:
    """``/kpi target <metric> <target> [from <week>]``."""

    metric: Metric
    target: Target
    baseline: IsoWeek | None


@dataclass(frozen=True)
class SetSchedule:
    """``/kpi schedule <day> <HH:MM>``."""

    weekday: int
    local_time: time


@dataclass(frozen=True)
class KpiHelp:
    """``/kpi help``."""


KpiCommand = ShowKpis | PostChart | SetValue | SetTarget | SetSchedule | KpiHelp
ADMIN_COMMANDS = (SetValue, SetTarget, SetSchedule)


def parse_kpi_command(text: str, *, today: date) -> KpiCommand | UsageError:
    """Parse ``/kpi`` text; ``today`` is the user's local date (for ``this``/``last``)."""
    words = unescape_slack(text).split()
    if not words or words[0].lower() in {"help", "-h", "--help", "?"}:
        return KpiHelp()
    verb, rest = words[0].lower(), words[1:]
    if verb in {"show", "chart"}:
        week = _week(rest, today=today)
        if isinstance(week, UsageError):
            return week
        return ShowKpis(week) if verb == "show" else PostChart(week)
    if verb == "set":
        return _parse_set(rest, today=today)
    if verb == "target":
        return _parse_target(rest, today=today)
    if verb == "schedule":
        return _parse_schedule(rest)
    return _usage_error(f"I don't know `/kpi {shown(words[0])}`.")


def _week(words: list[str], *, today: date) -> IsoWeek | UsageError:
    if not words:
        return IsoWeek.from_date(today)
    parsed = parse_week(" ".join(words), today=today)
    return _usage_error(parsed.message) if isinstance(parsed, UsageError) else parsed


def _metric(words: list[str], verb: str) -> Metric | UsageError:
    if not words:
        return _usage_error(f"Which KPI? Write `/kpi {verb} <metric> …`, e.g. `conv`.")
    metric = find_metric(words[0])
    if metric is None:
        names = ", ".join(f"`{metric.aliases[0]}`" for metric in METRICS)
        return _usage_error(f"`{shown(words[0])}` is not a KPI I keep. Use one of {names}.")
    return metric


def _parse_set(words: list[str], *, today: date) -> SetValue | UsageError:
    metric = _metric(words, "set")
    if isinstance(metric, UsageError):
        return metric
    value_words, week = _split_trailing_week(words[1:], today=today)
    if not value_words:
        return _usage_error(f"What value? e.g. `/kpi set {metric.aliases[0]} {metric.example}`.")
    value = parse_value(" ".join(value_words), metric)
    if isinstance(value, UsageError):
        return _usage_error(value.message)
    return SetValue(metric, value, week)


def _split_trailing_week(words: list[str], *, today: date) -> tuple[list[str], IsoWeek]:
    """A value may have spaces ("900 USD"), so a week is only taken from the end."""
    for size in (2, 1):
        if len(words) > size:
            week = parse_week(" ".join(words[-size:]), today=today)
            if isinstance(week, IsoWeek):
                return words[:-size], week
    return words, IsoWeek.from_date(today)


def _parse_target(words: list[str], *, today: date) -> SetTarget | UsageError:
    metric = _metric(words, "target")
    if isinstance(metric, UsageError):
        return metric
    rest = words[1:]
    baseline = None
    lowered = [word.lower() for word in rest]
    if "from" in lowered:
        cut = lowered.index("from")
        parsed = parse_week(" ".join(rest[cut + 1 :]), today=today)
        if isinstance(parsed, UsageError):
            return _usage_error(parsed.message)
        baseline, rest = parsed, rest[:cut]
    if not rest:
        return _usage_error(f"What target? e.g. `/kpi target {metric.aliases[0]} +20%`.")
    target = parse_target(" ".join(rest), metric)
    if isinstance(target, UsageError):
        return _usage_error(target.message)
    return SetTarget(metric, target, baseline)


def _parse_schedule(words: list[str]) -> SetSchedule | UsageError:
    if len(words) != 2:
        return _usage_error("Write the day and the time, e.g. `/kpi schedule mon 09:00`.")
    days = parse_day_list(words[0])
    if days is None or len(days) != 1:
        return _usage_error(f"`{shown(words[0])}` is not one day; write `mon`…`sun`.")
    local_time = parse_time(words[1])
    if local_time is None:
        return _usage_error(f"`{shown(words[1])}` is not a time; write HH:MM, e.g. 09:00.")
    return SetSchedule(next(iter(days)), local_time)
