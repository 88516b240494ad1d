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
from domain.weeks import IsoWeek
from storage import meetings as store
from storage import scheduled_posts
from storage.models import Meeting, ScheduledPost
from storage.reports import lowest_scoring_campaigns, unanswered_ratings

Permalink = Callable[[str, str], str | None]
DEFAULT_LOOKBACK = timedelta(days=7)


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
) -> tuple[Agenda, list[int]]:
    """The agenda, and the ids of the agenda items it shows."""
    team_id = meeting.team_id
    since = previous_occurrence(meeting, post.occurrence_at) or (
        post.occurrence_at - DEFAULT_LOOKBACK
    )
    campaigns = lowest_scoring_campaigns(session, team_id=team_id, since=since, until=now)
    total, oldest = unanswered_ratings(session, team_id=team_id)
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
