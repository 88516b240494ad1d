"""What goes on each person's App Home tab, by role."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.admin.roles import RoleDirectory
from domain.kpis.answer_times import NO_OWNER, answer_time_numbers
from domain.kpis.calibration import calibration_numbers
from domain.sla import AnswerSla
from domain.weeks import IsoWeek, week_bounds
from storage import home, reports
from storage import roles as role_names
from storage.campaigns import campaign_owners
from storage.models import Lead

MAX_ROWS = 10
UNANSWERED_CAP = 1000
# The weeks rater calibration looks back over, as the report's conversion window does.
CALIBRATION_WEEKS = 12


@dataclass(frozen=True)
class HomeData:
    """Everything one person's home tab shows."""

    user_id: str
    now: datetime
    week: IsoWeek
    show_sales: bool
    show_marketing: bool
    waiting_leads: tuple[Lead, ...] = ()
    my_ratings: tuple[home.RatingWithAnswer, ...] = ()
    unanswered_total: int = 0
    unanswered: tuple[reports.UnansweredRating, ...] = ()
    campaign_scores: tuple[reports.ScoreGroup, ...] = ()
    # This week so far: ``loop.answer_time.overall`` of the report (None: no answer time).
    answer_time: dict[str, Any] | None = None
    answer_sla: str | None = None
    answer_time_by_owner: dict[str, dict[str, Any]] | None = None
    # For admins only: the report's ``calibration.by_rep`` over the last 12 weeks.
    calibration: dict[str, dict[str, Any]] | None = None
    # No feedback channel in this workspace yet: ratings are kept but cannot be posted.
    needs_feedback_channel: bool = False


def home_for(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    roles: RoleDirectory,
    now: datetime,
    timezone: str,
    answer_time: AnswerSla | None = None,
) -> HomeData:
    """Gather the tab: a rep's leads and ratings, marketing's open answers and answer time,
    or both; and, for an admin, the raters' calibration."""
    held = roles.roles_of(session, team_id=team_id, user_id=user_id)
    # Someone with neither role (a small team, or roles not set up) sees both halves.
    show_sales = role_names.SALES in held or role_names.MARKETING not in held
    show_marketing = role_names.MARKETING in held or role_names.SALES not in held
    # The workspace's week, as the report counts it: Monday 00:00 in its time zone.
    week = IsoWeek.from_date(now.astimezone(ZoneInfo(timezone)).date())
    data = HomeData(
        user_id=user_id, now=now, week=week, show_sales=show_sales, show_marketing=show_marketing
    )
    if show_sales:
        data = _with_sales(session, data, team_id=team_id)
    if show_marketing:
        data = _with_marketing(session, data, team_id=team_id, timezone=timezone)
        data = _with_answer_time(session, data, team_id=team_id, sla=answer_time, zone=timezone)
    if roles.is_admin(session, team_id=team_id, user_id=user_id):
        data = _with_calibration(session, data, team_id=team_id, timezone=timezone)
    return data


def _with_answer_time(
    session: Session, data: HomeData, *, team_id: str, sla: AnswerSla | None, zone: str
) -> HomeData:
    """This week so far, as the report will count it: what is due by now."""
    if sla is None:
        return data
    start, _ = week_bounds(data.week, zone)
    owners = {row.campaign_key: row.owner_id for row in campaign_owners(session, team_id=team_id)}
    figures = answer_time_numbers(
        reports.first_answers(session, team_id=team_id, start=start, end=data.now),
        sla=sla,
        week_end=data.now,
        owners=owners,
    )
    if figures is None:
        return data
    by_owner = figures["by_campaign_owner"]
    return replace(
        data,
        answer_time=figures["overall"],
        answer_sla=figures["sla"],
        # Per owner only when some campaign has one: otherwise it repeats the overall line.
        answer_time_by_owner=by_owner if set(by_owner) - {NO_OWNER} else None,
    )


def _with_calibration(session: Session, data: HomeData, *, team_id: str, timezone: str) -> HomeData:
    start, _ = week_bounds(data.week.shifted(1 - CALIBRATION_WEEKS), timezone)
    rows = reports.rated_outcomes(session, team_id=team_id, start=start, end=data.now)
    return replace(data, calibration=calibration_numbers(rows)["by_rep"])


def _with_sales(session: Session, data: HomeData, *, team_id: str) -> HomeData:
    return replace(
        data,
        waiting_leads=tuple(
            home.leads_waiting_for(session, team_id=team_id, user_id=data.user_id, limit=MAX_ROWS)
        ),
        my_ratings=tuple(
            home.latest_ratings_by(session, team_id=team_id, user_id=data.user_id, limit=MAX_ROWS)
        ),
    )


def _with_marketing(session: Session, data: HomeData, *, team_id: str, timezone: str) -> HomeData:
    start, end = week_bounds(data.week, timezone)
    return replace(
        data,
        unanswered_total=reports.count_unanswered(session, team_id=team_id, cap=UNANSWERED_CAP),
        unanswered=tuple(reports.oldest_unanswered(session, team_id=team_id, limit=MAX_ROWS)),
        campaign_scores=tuple(
            reports.average_scores(session, team_id=team_id, start=start, end=end, by="campaign")
        ),
    )
