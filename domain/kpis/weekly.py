"""Posting the weekly KPI report once per week per workspace, through the claim mechanism."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.outbox_kinds import WEEKLY_REPORT
from domain.schedules import MeetingRule, occurrences_between
from domain.weeks import IsoWeek
from storage import kpis as kpi_store
from storage import outbox, scheduled_posts
from storage.models import ScheduledPost

REPORT_SUBJECT = 0  # one weekly report per workspace
DEFAULT_WEEKDAY = 0  # Monday
DEFAULT_TIME = time(9, 0)
ON_TIME_TOLERANCE = timedelta(minutes=2)
# A report still tells the week's story a day late; after that it is recorded as missed.
LATE_LIMIT = timedelta(hours=24)
MAX_CATCH_UP = timedelta(days=14)
_ANY_MONDAY = date(2001, 1, 1)


@dataclass(frozen=True)
class ReportDecision:
    """One weekly report occurrence whose time has come."""

    team_id: str
    occurrence_at: datetime
    status: str


def report_rule(session: Session, *, team_id: str, default_timezone: str) -> MeetingRule:
    """When this workspace's report goes out: its own schedule or Monday 09:00."""
    own = kpi_store.report_schedule(session, team_id=team_id)
    if own is None:
        return MeetingRule(
            frozenset({DEFAULT_WEEKDAY}), 1, _ANY_MONDAY, DEFAULT_TIME, default_timezone
        )
    hour, minute = (int(part) for part in own.local_time.split(":"))
    return MeetingRule(frozenset({own.weekday}), 1, _ANY_MONDAY, time(hour, minute), own.timezone)


def plan_reports(
    rules: dict[str, MeetingRule],
    last_claimed: dict[str, datetime],
    active_since: dict[str, datetime],
    now: datetime,
) -> list[ReportDecision]:
    """Each workspace's report occurrences that are due and not yet claimed."""
    decisions = []
    for team_id, rule in rules.items():
        since = max(active_since[team_id], now - MAX_CATCH_UP)
        if team_id in last_claimed:
            since = max(since, last_claimed[team_id])
        for occurrence in occurrences_between(rule, since, now):
            late_by = now - occurrence
            status = (
                scheduled_posts.POSTED
                if late_by <= ON_TIME_TOLERANCE
                else scheduled_posts.LATE
                if late_by < LATE_LIMIT
                else scheduled_posts.MISSED
            )
            decisions.append(ReportDecision(team_id, occurrence, status))
    return decisions


def claim_report(session: Session, decision: ReportDecision, *, now: datetime) -> int | None:
    """Claim one week's report; returns the outbox message that will post it, if owed."""
    post = scheduled_posts.claim_occurrence(
        session,
        team_id=decision.team_id,
        kind=WEEKLY_REPORT,
        subject_id=REPORT_SUBJECT,
        occurrence_at=decision.occurrence_at,
        due_at=decision.occurrence_at,
        status=decision.status,
        now=now,
    )
    if post is None or decision.status == scheduled_posts.MISSED:
        return None
    return outbox.owe_scheduled_post(
        session,
        kind=WEEKLY_REPORT,
        scheduled_post_id=post.id or -1,
        team_id=post.team_id,
        now=now,
    )


def reported_week(post: ScheduledPost, timezone: str) -> IsoWeek:
    """The report posted at an occurrence covers the last full week before it."""
    local_day = post.occurrence_at.astimezone(ZoneInfo(timezone)).date()
    return IsoWeek.from_date(local_day).previous()
