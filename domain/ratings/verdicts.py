"""Marketing's one-click verdicts on a rating post: agree, dispute (with a reason), acknowledge.

Agree and dispute answer the rating, as marketing's reply in its thread does; acknowledge
says it was seen, an answer to follow. Each stored verdict owes the post an update that
shows it, and a dispute owes the rater a DM with the reason. The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlmodel import Session

from domain.outbox_kinds import DISPUTE_NOTICE, RATING_UPDATE
from domain.ratings.loop import AnswerRule
from domain.ratings.parse import normalise_newlines, reason_problem
from storage import outbox
from storage.models import Lead, Rating, RatingVerdict
from storage.ratings import get_rating_with_lead
from storage.verdicts import (
    ACKNOWLEDGE,
    AGREE,
    ANSWERING_VERDICTS,
    DISPUTE,
    VERDICTS,
    add_verdict,
    verdicts_on,
)

__all__ = [
    "ACKNOWLEDGE",
    "AGREE",
    "ANSWERING_VERDICTS",
    "DISPUTE",
    "VERDICTS",
    "PostRef",
    "VerdictOutcome",
    "VerdictResult",
    "check_verdict",
    "dispute_notice_key",
    "dispute_reason_problem",
    "give_verdict",
    "verdict_id_in",
    "verdicts_on",
]

DISPUTE_REASON_MISSING = "Say why you dispute this rating: the rep reads it."


@dataclass(frozen=True)
class PostRef:
    """The message a button was clicked on: its channel and ts."""

    channel: str
    ts: str


class VerdictOutcome(Enum):
    """What became of a verdict."""

    STORED = "stored"
    ALREADY_GIVEN = "already_given"
    # No rating of this workspace with that id on that message: a tampered or foreign value.
    NOT_FOUND = "not_found"
    NOT_MARKETING = "not_marketing"


@dataclass(frozen=True)
class VerdictResult:
    """The outcome, the rating it is about (when found) and the stored verdict."""

    outcome: VerdictOutcome
    rating: Rating | None = None
    lead: Lead | None = None
    verdict: RatingVerdict | None = None


def check_verdict(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    rating_id: int,
    post: PostRef | None,
    may_answer: AnswerRule,
) -> VerdictResult:
    """Whether ``user_id`` may give a verdict on this workspace's rating ``rating_id``.

    With ``post``, the rating must be the one posted there: a button's value copied onto
    another message finds nothing. ``may_answer`` is the rule that decides whether a reply
    is marketing's answer: a verdict is one, so the same people may give it.
    """
    found = get_rating_with_lead(session, team_id=team_id, rating_id=rating_id)
    if found is None:
        return VerdictResult(VerdictOutcome.NOT_FOUND)
    rating, lead = found
    if post is not None and (rating.post_channel, rating.post_ts) != (post.channel, post.ts):
        return VerdictResult(VerdictOutcome.NOT_FOUND)
    if not may_answer(session, team_id, user_id, rating.rater_id):
        return VerdictResult(VerdictOutcome.NOT_MARKETING, rating, lead)
    return VerdictResult(VerdictOutcome.STORED, rating, lead)


def give_verdict(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    rating_id: int,
    post: PostRef | None,
    verdict: str,
    reason: str,
    may_answer: AnswerRule,
    now: datetime,
) -> VerdictResult:
    """Store ``user_id``'s verdict on the rating once, with the messages it owes.

    A second click (or a second submission of the dispute form) stores nothing and owes
    nothing: ``ALREADY_GIVEN``.
    """
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    checked = check_verdict(
        session,
        team_id=team_id,
        user_id=user_id,
        rating_id=rating_id,
        post=post,
        may_answer=may_answer,
    )
    if checked.outcome is not VerdictOutcome.STORED or checked.rating is None:
        return checked
    stored = add_verdict(
        session,
        team_id=team_id,
        rating_id=rating_id,
        user_id=user_id,
        verdict=verdict,
        reason=reason,
        now=now,
    )
    if stored is None:
        return VerdictResult(VerdictOutcome.ALREADY_GIVEN, checked.rating, checked.lead)
    assert stored.id is not None
    outbox.enqueue(
        session,
        team_id=team_id,
        kind=RATING_UPDATE,
        dedupe_key=f"{RATING_UPDATE}:{rating_id}:verdict:{stored.id}",
        rating_id=rating_id,
        now=now,
    )
    if verdict == DISPUTE:
        outbox.enqueue(
            session,
            team_id=team_id,
            kind=DISPUTE_NOTICE,
            dedupe_key=dispute_notice_key(stored.id),
            rating_id=rating_id,
            now=now,
        )
    return VerdictResult(VerdictOutcome.STORED, checked.rating, checked.lead, stored)


def dispute_notice_key(verdict_id: int) -> str:
    """The outbox dedupe key of the DM a dispute owes: it names the verdict to announce."""
    return f"{DISPUTE_NOTICE}:{verdict_id}"


def verdict_id_in(dedupe_key: str) -> int | None:
    """The verdict a ``DISPUTE_NOTICE`` row announces, read back from its dedupe key."""
    prefix, _, number = dedupe_key.partition(":")
    if prefix != DISPUTE_NOTICE or not number.isdigit():
        return None
    return int(number)


def dispute_reason_problem(reason: str) -> str | None:
    """Why a dispute's reason can't be stored (missing, too long, control characters)."""
    if not reason.strip():
        return DISPUTE_REASON_MISSING
    return reason_problem(normalise_newlines(reason))
