"""The agenda of a meeting reminder, computed from the data when the reminder is sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from domain.kpis.report import kpis_furthest_from_target
from domain.meetings.cards import Agenda, AgendaLine
from domain.meetings.reminders import previous_occurrence
from domain.outbox_kinds import MEETING_REMINDER
from domain.sla import SLA_LOOKBACK, AnswerSla
from domain.weeks import IsoWeek
from storage import meetings as store
from storage import scheduled_posts
from storage.models import Lead, Meeting, Rating, ScheduledPost
from storage.reports import lowest_scoring_campaigns, unanswered_ratings
from storage.sla import waiting_ratings

Permalink = Callable[[str, str], str | None]
DEFAULT_LOOKBACK = timedelta(days=7)
# Ratings past their answer time an agenda names (their number is given in full).
SHOWN_PAST_ANSWER_TIME = 5


def past_answer_time(
    session: Session, *, team_id: str, sla: AnswerSla, since: datetime | None, now: datetime
) -> list[tuple[Rating, Lead]]:
    """Ratings still waiting for an answer past their answer time, oldest first."""
    start = max(since, now - SLA_LOOKBACK) if since else now - SLA_LOOKBACK
    return [
        (rating, lead)
        for rating, lead in waiting_ratings(session, team_id=team_id, since=start)
        if (due := sla.answer_due(rating.created_at, rating.score)) is not None and due <= now
    ]


def reminder_post_for(session: Session, post: ScheduledPost) -> ScheduledPost:
    """The original reminder of an occurrence (a snooze shares its agenda items)."""
    if post.kind == MEETING_REMINDER:
        return post
    original = scheduled_posts.find_occurrence(
        session,
        team_id=post.team_id,
        kind=MEETING_REMINDER,
        subject_id=post.subject_id,
        occurrence_at=post.occurrence_at,
    )
    return original or post


def build_agenda(
    session: Session,
    *,
    meeting: Meeting,
    post: ScheduledPost,
    now: datetime,
    permalink: Permalink,
    answer_time: AnswerSla | None = None,
    answer_time_since: datetime | None = None,
) -> tuple[Agenda, list[int]]:
    """The agenda, and the ids of the agenda items it shows.

    With the workspace's ``answer_time`` (and when it started to apply), the agenda also
    lists the ratings past it.
    """
    team_id = meeting.team_id
    since = previous_occurrence(meeting, post.occurrence_at) or (
        post.occurrence_at - DEFAULT_LOOKBACK
    )
    campaigns = lowest_scoring_campaigns(session, team_id=team_id, since=since, until=now)
    total, oldest = unanswered_ratings(session, team_id=team_id)
    overdue = (
        past_answer_time(
            session, team_id=team_id, sla=answer_time, since=answer_time_since, now=now
        )
        if answer_time is not None
        else []
    )
    original = reminder_post_for(session, post)
    items = store.open_agenda_items(
        session, team_id=team_id, meeting_id=meeting.id or -1, shown_in_id=original.id
    )
    agenda = Agenda(
        low_campaigns=tuple(
            f"{score.campaign}: {score.average:.1f} average over {score.ratings} rating(s)"
            for score in campaigns
        ),
        unanswered_total=total,
        unanswered=tuple(
            AgendaLine(
                text=f"{rating.lead_ref} rated {rating.score}/5",
                link=permalink(rating.post_channel, rating.post_ts),
            )
            for rating in oldest
        ),
        past_answer_time_total=len(overdue) if answer_time is not None else None,
        past_answer_time=tuple(
            AgendaLine(
                text=f"{lead.external_ref} rated {rating.score}/5",
                link=permalink(rating.post_channel or "", rating.post_ts or ""),
            )
            for rating, lead in overdue[:SHOWN_PAST_ANSWER_TIME]
        ),
        kpis=tuple(
            kpis_furthest_from_target(
                session,
                team_id=team_id,
                week=IsoWeek.from_date(now.astimezone(ZoneInfo(meeting.timezone)).date()),
            )
        ),
        items=tuple((item.text, item.added_by) for item in items),
    )
    return agenda, [item.id for item in items if item.id is not None]
