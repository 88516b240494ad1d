"""``/kpi chart``: one week's chart, owed to the channel it was asked in.

The request is stored, with the post it owes, before the command is answered: a
``scheduled_post`` row of kind ``KPI_CHART`` (its subject is the week, its ``post_channel``
the channel asked in, its occurrence the moment of asking) and the outbox row that uploads
the chart. One command makes one such pair, so one post.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from domain.outbox_kinds import KPI_CHART
from domain.weeks import IsoWeek
from storage import outbox, scheduled_posts
from storage.models import ScheduledPost

# The week in ``scheduled_post.subject_id``, readable in the table: 2026-W45 is 202645.
_WEEKS_PER_YEAR_KEY = 100


def owe_kpi_chart(
    session: Session, *, team_id: str, week: IsoWeek, channel_id: str, now: datetime
) -> int | None:
    """Store a request for ``week``'s chart in ``channel_id``; returns the outbox message's id.

    The caller commits; the outbox uploads the chart once the transaction is committed.
    """
    post = _claim_request(session, team_id=team_id, week=week, now=now)
    post.post_channel = channel_id
    session.add(post)
    session.flush()
    return outbox.owe_scheduled_post(
        session, kind=KPI_CHART, scheduled_post_id=post.id or -1, team_id=team_id, now=now
    )


def requested_week(post: ScheduledPost) -> IsoWeek:
    """The week a ``KPI_CHART`` row asks for; ValueError if the row names no ISO week."""
    year, week = divmod(post.subject_id, _WEEKS_PER_YEAR_KEY)
    return IsoWeek(year, week)


def _claim_request(
    session: Session, *, team_id: str, week: IsoWeek, now: datetime
) -> ScheduledPost:
    """A row of this request's own: two asked at the same instant are a microsecond apart."""
    occurrence_at = now
    while True:
        post = scheduled_posts.claim_occurrence(
            session,
            team_id=team_id,
            kind=KPI_CHART,
            subject_id=week.year * _WEEKS_PER_YEAR_KEY + week.week,
            occurrence_at=occurrence_at,
            due_at=now,
            status=scheduled_posts.POSTED,
            now=now,
        )
        if post is not None:
            return post
        occurrence_at += timedelta(microseconds=1)
