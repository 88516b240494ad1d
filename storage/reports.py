"""Aggregates that agendas, App Home and reports read, computed in SQL and scoped by ``team_id``.

This module is the one implementation of every loop figure (docs/glossary.md defines them).
A period's figures are taken as the data stood at its end (``as_of``): the ratings given in
the period that no later rating by the same rep of the same lead had replaced by then, the
replies written and not yet deleted by then, the outcomes recorded by then. Data added
later never changes a period that has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    Subquery,
    case,
    exists,
    func,
    literal,
    or_,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, and_, col, select

from storage.models import (
    Lead,
    LeadFieldChange,
    Rating,
    RatingScoreChange,
    RatingVerdict,
    Response,
    table_of,
)
from storage.verdicts import ANSWERING_VERDICTS

NO_CAMPAIGN = "(no campaign)"
NO_SOURCE = "(no source)"
DECIDED = ("won", "lost")
# The Core column: SQLModel's ``col`` is typed for non-null fields only.
HANDED_OFF_AT: SQLColumnExpression[datetime] = table_of(Lead).c.handed_off_at


@dataclass(frozen=True)
class CampaignScore:
    """A campaign's average lead score over a period."""

    campaign: str
    average: float
    ratings: int


def is_current_rating(as_of: datetime | None = None) -> ColumnElement[bool]:
    """True for a rating that is its rep's latest of its lead at ``as_of`` (None: now).

    A rating replaced after ``as_of`` still counts as of then. A NOT EXISTS probe on
    (team, lead, rater) costs a few index reads per rating, so the queries using it grow
    with the period they read, not with the whole history.
    """
    later = aliased(Rating)
    replaced = [
        col(later.team_id) == col(Rating.team_id),
        col(later.lead_id) == col(Rating.lead_id),
        col(later.rater_id) == col(Rating.rater_id),
        col(later.id) > col(Rating.id),
    ]
    if as_of is not None:
        replaced.append(col(later.created_at) < as_of)
    return ~exists().where(*replaced)


def counted_ratings(team_id: str, start: datetime, end: datetime) -> ColumnElement[bool]:
    """The ratings a period's figures count: given in [start, end), current at ``end``."""
    return and_(
        Rating.team_id == team_id,
        _in_period(col(Rating.created_at), start, end),
        is_current_rating(end),
    )


def score_at(as_of: datetime) -> ColumnElement[int]:
    """The outer query's rating's score at ``as_of``: a score button clicked again later
    changed it in place, and the first change after ``as_of`` kept the score of then."""
    change = RatingScoreChange
    before = (
        select(change.score_before)
        .where(
            col(change.team_id) == col(Rating.team_id),
            col(change.rating_id) == col(Rating.id),
            col(change.changed_at) >= as_of,
        )
        .order_by(col(change.changed_at), col(change.id))
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(before, col(Rating.score))


def lead_field_at(
    name: str, as_of: datetime, *, now: SQLColumnExpression[str | None]
) -> ColumnElement[str | None]:
    """The outer query's lead's ``name`` (campaign, source or status) at ``as_of``: the value
    before the first change at or after ``as_of``, else ``now``."""
    change = LeadFieldChange
    later = and_(
        col(change.team_id) == col(Lead.team_id),
        col(change.lead_id) == col(Lead.id),
        col(change.field) == name,
        col(change.changed_at) >= as_of,
    )
    before = (
        select(change.value_before)
        .where(later)
        .order_by(col(change.changed_at), col(change.id))
        .limit(1)
        .scalar_subquery()
    )
    return case((exists().where(later), before), else_=now)


def _counted_scores(team_id: str, start: datetime, end: datetime) -> Subquery:
    """The ratings [start, end) counts, each with its score at ``end`` and its lead's
    campaign, source and outcome at ``end``."""
    # Databases from before leads kept their changes know only when the status last
    # changed: a status set after ``end`` is taken as no outcome yet.
    status_then = case((col(Lead.status_changed_at) < end, col(Lead.status)), else_=None)
    # SQLAlchemy's select: SQLModel's is typed for at most four columns.
    return (
        sa_select(
            score_at(end).label("score"),
            func.coalesce(
                lead_field_at("campaign", end, now=col(Lead.campaign)), NO_CAMPAIGN
            ).label("campaign"),
            func.coalesce(lead_field_at("source", end, now=col(Lead.source)), NO_SOURCE).label(
                "source"
            ),
            lead_field_at("status", end, now=status_then).label("status"),
        )
        .join(Lead, and_(col(Lead.id) == col(Rating.lead_id), Lead.team_id == team_id))
        .where(counted_ratings(team_id, start, end))
        .subquery()
    )


def is_answer_at(team_id: str, as_of: datetime | None = None) -> ColumnElement[bool]:
    """A reply to the outer query's rating that counts as marketing's answer at ``as_of``.

    It must be an answer (see Roles in the README), written before ``as_of``, and not
    deleted by then. None means now: written at all, never deleted.
    """
    conditions = [
        col(Response.team_id) == team_id,
        col(Response.rating_id) == col(Rating.id),
        col(Response.is_answer).is_(True),
    ]
    if as_of is None:
        conditions.append(col(Response.deleted).is_(False))
    else:
        conditions.append(col(Response.created_at) < as_of)
        conditions.append(or_(col(Response.deleted).is_(False), col(Response.deleted_at) >= as_of))
    return and_(*conditions)


def is_verdict_answer_at(team_id: str, as_of: datetime | None = None) -> ColumnElement[bool]:
    """A verdict on the outer query's rating that answers it at ``as_of`` (None: now).

    Agree and dispute answer a rating as marketing's reply does, from the click on;
    verdicts are never deleted. An acknowledgement is no answer.
    """
    conditions = [
        col(RatingVerdict.team_id) == team_id,
        col(RatingVerdict.rating_id) == col(Rating.id),
        col(RatingVerdict.verdict).in_(ANSWERING_VERDICTS),
    ]
    if as_of is not None:
        conditions.append(col(RatingVerdict.created_at) < as_of)
    return and_(*conditions)


def lowest_scoring_campaigns(
    session: Session, *, team_id: str, since: datetime, until: datetime, limit: int = 3
) -> list[CampaignScore]:
    """Campaigns by average score of the ratings [since, until) counts, lowest first."""
    counted = _counted_scores(team_id, since, until)
    average = func.avg(counted.c.score)
    statement = (
        sa_select(counted.c.campaign, average, func.count())
        .group_by(counted.c.campaign)
        .order_by(average, counted.c.campaign)
        .limit(limit)
    )
    return [
        CampaignScore(campaign=name, average=float(average), ratings=int(count))
        for name, average, count in session.execute(statement)
    ]


@dataclass(frozen=True)
class UnansweredRating:
    """A rating posted for marketing that nobody from marketing has answered yet."""

    rating_id: int
    lead_ref: str
    score: int
    post_channel: str
    post_ts: str
    created_at: datetime


def _waiting_for_answer(team_id: str) -> ColumnElement[bool]:
    """Posted, still its rep's latest rating of the lead, and no answer that stands."""
    answered = exists().where(is_answer_at(team_id))
    agreed_or_disputed = exists().where(is_verdict_answer_at(team_id))
    return and_(
        Rating.team_id == team_id,
        col(Rating.post_ts).is_not(None),
        is_current_rating(),
        ~answered,
        ~agreed_or_disputed,
    )


def count_unanswered(session: Session, *, team_id: str, cap: int | None = None) -> int:
    """How many posted ratings still wait for marketing's answer (counting stops at ``cap``).

    The cap keeps a screen that only needs "1,000+" from scanning years of ratings.
    """
    waiting = select(col(Rating.id)).where(_waiting_for_answer(team_id))
    if cap is not None:
        waiting = waiting.limit(cap)
    statement = select(func.count()).select_from(waiting.subquery())
    return int(session.execute(statement).scalar_one())


def oldest_unanswered(session: Session, *, team_id: str, limit: int = 5) -> list[UnansweredRating]:
    """The ``limit`` oldest posted ratings that marketing has not answered."""
    # SQLAlchemy's select: SQLModel's is typed for at most four columns.
    statement = (
        sa_select(
            col(Rating.id),
            col(Lead.external_ref),
            col(Rating.score),
            col(Rating.post_channel),
            col(Rating.post_ts),
            col(Rating.created_at),
        )
        .join(Lead, col(Lead.id) == col(Rating.lead_id))
        .where(_waiting_for_answer(team_id))
        .order_by(col(Rating.created_at), col(Rating.id))
        .limit(limit)
    )
    return [UnansweredRating(*row) for row in session.execute(statement)]


def unanswered_ratings(
    session: Session, *, team_id: str, limit: int = 5
) -> tuple[int, list[UnansweredRating]]:
    """How many posted ratings wait for an answer, and the oldest ``limit`` of them."""
    return count_unanswered(session, team_id=team_id), oldest_unanswered(
        session, team_id=team_id, limit=limit
    )


def _in_period(
    column: SQLColumnExpression[datetime], start: datetime, end: datetime
) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def leads_handed_off(session: Session, *, team_id: str, start: datetime, end: datetime) -> int:
    """Leads an import or the webhook first brought in during [start, end)."""
    statement = select(func.count(col(Lead.id))).where(
        Lead.team_id == team_id, _in_period(HANDED_OFF_AT, start, end)
    )
    return int(session.execute(statement).scalar_one())


def leads_rated(session: Session, *, team_id: str, start: datetime, end: datetime) -> int:
    """Of the leads handed off in [start, end), how many had a rating by ``end``."""
    rated = exists().where(
        col(Rating.team_id) == team_id,
        col(Rating.lead_id) == col(Lead.id),
        col(Rating.created_at) < end,
    )
    statement = select(func.count(col(Lead.id))).where(
        Lead.team_id == team_id, _in_period(HANDED_OFF_AT, start, end), rated
    )
    return int(session.execute(statement).scalar_one())


@dataclass(frozen=True)
class ScoreGroup:
    """The average latest score of a group (campaign, source, or everything)."""

    name: str
    average: float
    ratings: int


def average_scores(
    session: Session,
    *,
    team_id: str,
    start: datetime,
    end: datetime,
    by: str | None = None,
) -> list[ScoreGroup]:
    """Average score of the ratings [start, end) counts, overall or per lead ``by`` (the
    lead's campaign or source at ``end``)."""
    counted = _counted_scores(team_id, start, end)
    group = _lead_group(counted, by)
    average = func.avg(counted.c.score)
    statement = sa_select(group, average, func.count()).group_by(group).order_by(average, group)
    return [
        ScoreGroup(name=str(name), average=float(average), ratings=int(count))
        for name, average, count in session.execute(statement)
        if count
    ]


def _lead_group(counted: Subquery, by: str | None) -> ColumnElement[str]:
    if by is None:
        return literal("all")
    if by in ("campaign", "source"):
        return cast("ColumnElement[str]", counted.c[by])
    raise ValueError(f"cannot group scores by {by!r}")


@dataclass(frozen=True)
class AnswerStats:
    """How marketing answered the ratings given in a period."""

    ratings: int
    answered: int
    median_hours: float | None

    @property
    def answered_share(self) -> float | None:
        """Answered ratings as a fraction of all ratings, None without ratings."""
        return self.answered / self.ratings if self.ratings else None


def answer_stats(session: Session, *, team_id: str, start: datetime, end: datetime) -> AnswerStats:
    """The ratings [start, end) counts, how many marketing had answered by ``end``, and the
    median delay to the first of those answers."""
    answers = _answer_delays(session, team_id=team_id, start=start, end=end)
    total, answered = session.execute(
        select(func.count(), func.count(answers.c.delay_seconds)).select_from(answers)
    ).one()
    delays = select(answers.c.delay_seconds).where(answers.c.delay_seconds.is_not(None))
    median = _median(session, delays.subquery().c.delay_seconds, int(answered))
    return AnswerStats(
        ratings=int(total),
        answered=int(answered),
        median_hours=None if median is None else median / 3600,
    )


def _answer_delays(session: Session, *, team_id: str, start: datetime, end: datetime) -> Subquery:
    """Per rating the period counts: seconds until marketing's first answer by ``end``, or NULL.

    The first answer is looked up per rating through the (team, rating, time) index, so
    the cost follows the period's ratings, never the whole history of answers.
    """
    first_reply = (
        select(func.min(Response.created_at)).where(is_answer_at(team_id, end)).scalar_subquery()
    )
    first_verdict = (
        select(func.min(RatingVerdict.created_at))
        .where(is_verdict_answer_at(team_id, end))
        .scalar_subquery()
    )
    delay = _seconds_between(
        session, _earlier_of(first_reply, first_verdict), col(Rating.created_at)
    )
    return (
        select(delay.label("delay_seconds")).where(counted_ratings(team_id, start, end)).subquery()
    )


def _earlier_of(
    first: SQLColumnExpression[datetime], second: SQLColumnExpression[datetime]
) -> ColumnElement[datetime]:
    """The earlier of two times that may each be NULL (NULL only when both are): SQLite's
    MIN(a, b) and PostgreSQL's LEAST treat NULL differently, so CASE decides."""
    return case(
        (first.is_(None), second),
        (second.is_(None), first),
        (first <= second, first),
        else_=second,
    )


def _seconds_between(
    session: Session, later: SQLColumnExpression[datetime], earlier: SQLColumnExpression[datetime]
) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        # SQLAlchemy types EXTRACT as an integer; EXTRACT(EPOCH ...) has fractional seconds.
        return cast("ColumnElement[float]", func.extract("epoch", later - earlier))
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _median(session: Session, values: ColumnElement[float], count: int) -> float | None:
    """The median of a column, computed in the database (SQLite has no percentile function)."""
    if count == 0:
        return None
    middle = (
        select(values).order_by(values).offset((count - 1) // 2).limit(2 if count % 2 == 0 else 1)
    )
    picked = [float(value) for value in session.execute(middle).scalars()]
    return sum(picked) / len(picked)


@dataclass(frozen=True)
class RatingAnswer:
    """A counted rating of a period, as it stood at the period's end: its score, its lead's
    campaign, and the time of its first answer (a reply, an Agree or a Dispute) if any."""

    rated_at: datetime
    score: int
    campaign: str
    first_answer_at: datetime | None


def first_answers(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> list[RatingAnswer]:
    """The ratings [start, end) counts, each with its first answer standing at ``end``."""
    first_reply = (
        select(func.min(Response.created_at)).where(is_answer_at(team_id, end)).scalar_subquery()
    )
    first_verdict = (
        select(func.min(RatingVerdict.created_at))
        .where(is_verdict_answer_at(team_id, end))
        .scalar_subquery()
    )
    statement = (
        sa_select(
            col(Rating.created_at),
            score_at(end),
            func.coalesce(lead_field_at("campaign", end, now=col(Lead.campaign)), NO_CAMPAIGN),
            _earlier_of(first_reply, first_verdict),
        )
        .join(Lead, and_(col(Lead.id) == col(Rating.lead_id), Lead.team_id == team_id))
        .where(counted_ratings(team_id, start, end))
        .order_by(col(Rating.created_at), col(Rating.id))
    )
    return [
        RatingAnswer(
            rated_at=_aware(rated_at),
            score=int(score),
            campaign=str(campaign),
            first_answer_at=None if answered is None else _aware(answered),
        )
        for rated_at, score, campaign, answered in session.execute(statement).all()
    ]


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back for stored UTC ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ScoreOutcome:
    """For leads rated with one score: how many were won and lost."""

    score: int
    won: int
    lost: int

    @property
    def conversion(self) -> float | None:
        """Won as a share of decided leads."""
        decided = self.won + self.lost
        return self.won / decided if decided else None


@dataclass(frozen=True)
class RatedOutcome:
    """A counted rating of a period as it stood at the period's end: its rep, its lead's
    campaign, its score, the lead's outcome (won, lost or None) and marketing's verdict
    standing then (the latest Agree or Dispute, or None)."""

    rater_id: str
    campaign: str
    score: int
    outcome: str | None
    verdict: str | None


def rated_outcomes(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> list[RatedOutcome]:
    """Every rating [start, end) counts, with what calibration needs."""
    status_then = case((col(Lead.status_changed_at) < end, col(Lead.status)), else_=None)
    latest_verdict = (
        select(RatingVerdict.verdict)
        .where(is_verdict_answer_at(team_id, end))
        .order_by(col(RatingVerdict.created_at).desc(), col(RatingVerdict.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        sa_select(
            col(Rating.rater_id),
            func.coalesce(lead_field_at("campaign", end, now=col(Lead.campaign)), NO_CAMPAIGN),
            score_at(end),
            lead_field_at("status", end, now=status_then),
            latest_verdict,
        )
        .join(Lead, and_(col(Lead.id) == col(Rating.lead_id), Lead.team_id == team_id))
        .where(counted_ratings(team_id, start, end))
        .order_by(col(Rating.id))
    )
    return [
        RatedOutcome(
            rater_id=str(rater),
            campaign=str(campaign),
            score=int(score),
            outcome=status if status in DECIDED else None,
            verdict=verdict,
        )
        for rater, campaign, score, status, verdict in session.execute(statement).all()
    ]


def outcomes_by_score(
    session: Session, *, team_id: str, start: datetime, end: datetime
) -> list[ScoreOutcome]:
    """Per score of the ratings [start, end) counts: their leads won and lost by ``end``.

    A lead counts once per rep whose current rating it is, under that rep's score.
    """
    counted = _counted_scores(team_id, start, end)
    won = func.sum(case((counted.c.status == "won", 1), else_=0))
    lost = func.sum(case((counted.c.status == "lost", 1), else_=0))
    statement = (
        sa_select(counted.c.score, won, lost)
        .where(counted.c.status.in_(DECIDED))
        .group_by(counted.c.score)
        .order_by(counted.c.score)
    )
    return [
        ScoreOutcome(score=int(score), won=int(won_count or 0), lost=int(lost_count or 0))
        for score, won_count, lost_count in session.execute(statement)
    ]
