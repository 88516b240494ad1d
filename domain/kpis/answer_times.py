"""The answer SLA in the weekly report: how many ratings marketing answered within their
agreed answer time, and how long answers took in business hours, per campaign owner.

Over a week's counted ratings as they stood at its end (docs/glossary.md, "answer time"):
a rating is *due* when its answer time ended by the week's end, and answered *within* it
when its first answer standing at the week's end came no later than that. Ratings whose
answer time ends after the week are *not yet due*: they are left out of the share rather
than guessed at, so the figure of a week never changes later. For the same reason a week
is read with the answer-time settings and campaign owners as they stood at its end
(``answer_time_as_of``, ``campaign_owners_as_of``), not with today's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.sla import (
    DEFAULT_BUSINESS_HOURS,
    DEFAULT_SLA_MINUTES,
    AnswerSla,
    describe_duration,
    parse_business_hours,
    parse_duration,
)
from domain.weeks import IsoWeek, week_bounds
from storage.campaigns import campaign_owners_as_of
from storage.reports import RatingAnswer, first_answers
from storage.workspaces import answer_time_settings_as_of

NO_OWNER = "(no owner)"
DECIMALS = 1


def answer_time_as_of(
    session: Session,
    *,
    team_id: str,
    at: datetime,
    current: AnswerSla | None,
    default_timezone: str,
) -> AnswerSla | None:
    """The workspace's answer time as it stood at ``at``; None when it was off then.

    Read from the workspace's history of answer-time settings (the latest change at or
    before ``at``, else the earliest one). A setting left at its default there is
    leadloop's default, and the time zone ``default_timezone`` (the environment's).
    ``current`` (the settings in force now) answers for a workspace with no history.
    """
    row = answer_time_settings_as_of(session, team_id=team_id, at=at)
    if row is None:
        return current
    minutes = parse_duration(row.answer_sla or describe_duration(DEFAULT_SLA_MINUTES))
    hours = parse_business_hours(row.business_hours or DEFAULT_BUSINESS_HOURS)
    if minutes is None or hours is None:
        return None
    low = parse_duration(row.low_score_sla) if row.low_score_sla else None
    zone = ZoneInfo(row.timezone or default_timezone)
    return AnswerSla(minutes=minutes, low_score_minutes=low, hours=hours, zone=zone)


def week_answer_time_numbers(
    session: Session,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    current: AnswerSla | None,
    default_timezone: str,
) -> dict[str, Any] | None:
    """``loop.answer_time`` of the ratings given from ``start`` to ``end``, with the answer
    time and the campaign owners as they stood at ``end`` (now, for a week not over)."""
    return answer_time_numbers(
        first_answers(session, team_id=team_id, start=start, end=end),
        sla=answer_time_as_of(
            session, team_id=team_id, at=end, current=current, default_timezone=default_timezone
        ),
        week_end=end,
        owners=campaign_owners_as_of(session, team_id=team_id, at=end),
    )


def answer_time_numbers(
    ratings: Sequence[RatingAnswer],
    *,
    sla: AnswerSla | None,
    week_end: datetime,
    owners: Mapping[str, str],
) -> dict[str, Any] | None:
    """``loop.answer_time`` of ``report --json``; None when the workspace has no answer time.

    ``owners``: each campaign's owner, by the campaign's name in lower case.
    """
    if sla is None:
        return None
    by_owner: dict[str, list[RatingAnswer]] = {}
    for rating in ratings:
        by_owner.setdefault(owners.get(rating.campaign.lower(), NO_OWNER), []).append(rating)
    return {
        "sla": describe_duration(sla.minutes),
        "low_score_sla": describe_duration(sla.low_score_minutes)
        if sla.low_score_minutes
        else None,
        "business_hours": sla.hours.describe(),
        "overall": _figures(ratings, sla, week_end),
        "by_campaign_owner": {
            owner: _figures(group, sla, week_end) for owner, group in sorted(by_owner.items())
        },
    }


def _figures(ratings: Iterable[RatingAnswer], sla: AnswerSla, week_end: datetime) -> dict[str, Any]:
    due = within = not_yet_due = 0
    hours: list[float] = []
    for rating in ratings:
        deadline = sla.answer_due(rating.rated_at, rating.score)
        answered = rating.first_answer_at
        if answered is not None:
            hours.append(sla.hours.open_minutes(rating.rated_at, answered, sla.zone) / 60)
        if deadline is None or deadline > week_end:
            not_yet_due += 1
            continue
        due += 1
        if answered is not None and answered <= deadline:
            within += 1
    return {
        "due": due,
        "within": within,
        "within_pct": round(100 * within / due, DECIMALS) if due else None,
        "not_yet_due": not_yet_due,
        "answered": len(hours),
        "median_business_hours_to_first_answer": _rounded(
            statistics.median(hours) if hours else None
        ),
        "p90_business_hours_to_first_answer": _rounded(percentile_90(hours)),
    }


def percentile_90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the value at rank ceil(0.9 n) in order."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def answer_time_line(
    session: Session,
    *,
    team_id: str,
    week: IsoWeek,
    timezone: str,
    sla: AnswerSla | None,
    now: datetime,
    default_timezone: str | None = None,
) -> str | None:
    """``/kpi show``'s lines: how the week's ratings kept the answer time (to now, for the
    current week), overall and per campaign owner, as the report counts it; None without an
    answer time at the week's end.

    ``sla`` is the answer time in force now; the week is read with the one of its end.
    """
    start, end = week_bounds(week, timezone)
    end = min(end, now)
    figures = week_answer_time_numbers(
        session,
        team_id=team_id,
        start=start,
        end=end,
        current=sla,
        default_timezone=default_timezone or timezone,
    )
    if figures is None:
        return None
    overall = figures["overall"]
    if not overall["due"] and not overall["answered"]:
        return f"Answer time ({figures['sla']}): no rating of {week.label} was due yet."
    lines = [f"Answer time ({figures['sla']}), {week.label}: {describe_kept(overall)}"]
    if len(figures["by_campaign_owner"]) > 1 or NO_OWNER not in figures["by_campaign_owner"]:
        lines += [
            f"• {_owner(owner)}: {describe_kept(kept)}"
            for owner, kept in figures["by_campaign_owner"].items()
        ]
    return "\n".join(lines)


def describe_kept(figures: Mapping[str, Any]) -> str:
    """ "75% within it (3 of 4 due) · first answers: median 2 h, 90th percentile 5 h"."""
    if figures["due"]:
        kept = f"{figures['within_pct']:g}% within it ({figures['within']} of {figures['due']} due)"
    else:
        kept = "none due yet"
    median = figures["median_business_hours_to_first_answer"]
    if median is None:
        return kept
    p90 = figures["p90_business_hours_to_first_answer"]
    return (
        f"{kept} · first answers: median {median:g} h, 90th percentile {p90:g} h (business hours)"
    )


def _owner(owner: str) -> str:
    return owner if owner == NO_OWNER else f"<@{owner}>"
