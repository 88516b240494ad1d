"""The rating loop's domain logic: no Slack payloads and no HTTP, just typed values and a session.

Callers own the transaction: each function here adds to the session it is given, and the
caller commits once, so one interaction is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlmodel import Session

from domain.outbox_kinds import ANSWER_NOTICE, RATING_POST
from domain.ratings.cards import RatingCard, card_for
from domain.ratings.parse import RatingInput
from storage import outbox
from storage.engine import limit_waits
from storage.models import Lead, Rating
from storage.ratings import add_rating, find_rating_by_post, get_or_create_lead
from storage.responses import (
    add_response,
    claim_event,
    count_answers,
    edit_response,
    find_response,
    mark_response_deleted,
)


@dataclass(frozen=True)
class SubmittedRating:
    """A stored rating, its lead, and the outbox message that will post it."""

    rating: Rating
    lead: Lead
    post_message_id: int | None


def submit_rating(
    session: Session,
    *,
    team_id: str,
    rater_id: str,
    rating: RatingInput,
    via: str,
    origin_channel: str | None,
    now: datetime,
) -> SubmittedRating:
    """Store a rating (upserting its lead) and owe its post to the feedback channel."""
    lead = get_or_create_lead(session, team_id=team_id, external_ref=rating.lead_ref, now=now)
    stored = add_rating(
        session,
        team_id=team_id,
        lead=lead,
        rater_id=rater_id,
        score=rating.score,
        reason=rating.reason,
        tags=list(rating.tags),
        via=via,
        origin_channel=origin_channel,
        now=now,
    )
    assert stored.id is not None
    message = outbox.enqueue(
        session,
        team_id=team_id,
        kind=RATING_POST,
        dedupe_key=f"{RATING_POST}:{stored.id}",
        rating_id=stored.id,
        now=now,
        about_a_new_row=True,
    )
    post_message_id = message.id if message is not None else None
    return SubmittedRating(rating=stored, lead=lead, post_message_id=post_message_id)


@dataclass(frozen=True)
class StoredRating:
    """A committed rating as shown to users, the outbox message that will post it, and
    where it goes."""

    card: RatingCard
    post_message_id: int | None
    feedback_channel: str | None


def store_rating(
    session_factory: Callable[[], Session],
    *,
    team_id: str,
    rater_id: str,
    rating: RatingInput,
    via: str,
    origin_channel: str | None,
    now: datetime,
    feedback_channel_in: Callable[[Session], str | None],
    wait_limit_ms: int | None = None,
) -> StoredRating:
    """Store the rating, its lead and the post it owes in one transaction, and commit.

    A listener calls it before it acknowledges, and sends the post (``post_message_id``)
    afterwards: once this returns, the rating survives a crash, and the outbox's sweep
    posts it if nobody else does. ``feedback_channel_in`` reads the workspace's channel in
    the same session. With ``wait_limit_ms``, waiting for a lock ends in an
    OperationalError after that long, and nothing is stored.
    """
    with session_factory() as session:
        if wait_limit_ms is not None:
            limit_waits(session, milliseconds=wait_limit_ms)
        submitted = submit_rating(
            session,
            team_id=team_id,
            rater_id=rater_id,
            rating=rating,
            via=via,
            origin_channel=origin_channel,
            now=now,
        )
        feedback_channel = feedback_channel_in(session)
        session.commit()
    return StoredRating(
        card=card_for(submitted.rating, submitted.lead),
        post_message_id=submitted.post_message_id,
        feedback_channel=feedback_channel,
    )


class ReplyOutcome(Enum):
    """What became of a message event in a thread."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    NOT_A_RATING_THREAD = "not_a_rating_thread"
    UPDATED = "updated"
    UNKNOWN_MESSAGE = "unknown_message"


@dataclass(frozen=True)
class ReplyResult:
    """The outcome, and the outbox message owed to the rater if this was the first answer."""

    outcome: ReplyOutcome
    notice_message_id: int | None = None


@dataclass(frozen=True)
class ThreadReply:
    """A human's reply in a thread, as the Events API described it."""

    team_id: str
    event_id: str
    channel: str
    thread_ts: str
    ts: str
    user_id: str
    text: str
    sent_at: datetime


AnswerRule = Callable[[Session, str, str, str], bool]


def any_one_but_the_rater(session: Session, team_id: str, user_id: str, rater_id: str) -> bool:
    """Without roles, a reply from anyone other than the rater answers the rating."""
    return user_id != rater_id


def record_thread_reply(
    session: Session,
    *,
    reply: ThreadReply,
    now: datetime,
    counts_as_answer: AnswerRule = any_one_but_the_rater,
) -> ReplyResult:
    """Store a reply to a rating post once, and owe the rater a note on marketing's first answer.

    ``counts_as_answer(session, team_id, author, rater)`` says whether the reply is
    marketing's answer; other replies are kept but not counted.
    """
    rating = find_rating_by_post(
        session, team_id=reply.team_id, channel=reply.channel, ts=reply.thread_ts
    )
    if rating is None:
        return ReplyResult(ReplyOutcome.NOT_A_RATING_THREAD)
    if not claim_event(session, team_id=reply.team_id, event_id=reply.event_id, now=now):
        return ReplyResult(ReplyOutcome.DUPLICATE)
    assert rating.id is not None
    is_answer = counts_as_answer(session, reply.team_id, reply.user_id, rating.rater_id)
    response = add_response(
        session,
        team_id=reply.team_id,
        rating_id=rating.id,
        user_id=reply.user_id,
        channel=reply.channel,
        ts=reply.ts,
        text=reply.text,
        is_answer=is_answer,
        created_at=reply.sent_at,
    )
    if response is None:
        return ReplyResult(ReplyOutcome.DUPLICATE)
    notice_id = None
    if is_answer and count_answers(session, team_id=reply.team_id, rating_id=rating.id) == 1:
        notice = outbox.enqueue(
            session,
            team_id=reply.team_id,
            kind=ANSWER_NOTICE,
            dedupe_key=f"{ANSWER_NOTICE}:{rating.id}",
            rating_id=rating.id,
            now=now,
        )
        notice_id = notice.id if notice else None
    return ReplyResult(ReplyOutcome.STORED, notice_id)


def record_reply_edit(
    session: Session,
    *,
    team_id: str,
    event_id: str,
    channel: str,
    ts: str,
    text: str,
    now: datetime,
) -> ReplyOutcome:
    """Follow an edit of a stored reply."""
    if find_response(session, team_id=team_id, channel=channel, ts=ts) is None:
        return ReplyOutcome.UNKNOWN_MESSAGE
    if not claim_event(session, team_id=team_id, event_id=event_id, now=now):
        return ReplyOutcome.DUPLICATE
    edited = edit_response(session, team_id=team_id, channel=channel, ts=ts, text=text, now=now)
    return ReplyOutcome.UPDATED if edited else ReplyOutcome.UNKNOWN_MESSAGE


def record_reply_deletion(
    session: Session, *, team_id: str, event_id: str, channel: str, ts: str, now: datetime
) -> ReplyOutcome:
    """Follow the deletion of a stored reply."""
    if find_response(session, team_id=team_id, channel=channel, ts=ts) is None:
        return ReplyOutcome.UNKNOWN_MESSAGE
    if not claim_event(session, team_id=team_id, event_id=event_id, now=now):
        return ReplyOutcome.DUPLICATE
    deleted = mark_response_deleted(session, team_id=team_id, channel=channel, ts=ts, now=now)
    return ReplyOutcome.UPDATED if deleted else ReplyOutcome.UNKNOWN_MESSAGE
