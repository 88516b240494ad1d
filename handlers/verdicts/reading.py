"""What a verdict button or the dispute form tells us, read defensively, and the checks and
writes both share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from domain.ratings.loop import AnswerRule
from domain.ratings.verdicts import (
    PostRef,
    VerdictOutcome,
    VerdictResult,
    check_verdict,
    give_verdict,
)
from handlers.deps import Deps
from handlers.payload import first_action, parse_id, team_of, text_at
from handlers.views.ratings import VERDICT_NOT_MARKETING, VERDICT_RATING_NOT_FOUND


@dataclass(frozen=True)
class VerdictRequest:
    """Who gives a verdict, in which workspace, on which rating and post (all unchecked)."""

    team_id: str
    user_id: str
    rating_id: int | None
    post: PostRef | None


def read_click(body: dict[str, Any]) -> VerdictRequest:
    """A click on a rating post's verdict button: the value is the rating's id."""
    channel = text_at(body, "container", "channel_id") or text_at(body, "channel", "id")
    ts = text_at(body, "container", "message_ts") or text_at(body, "message", "ts")
    return VerdictRequest(
        team_id=team_of(body),
        user_id=text_at(body, "user", "id"),
        rating_id=parse_id(first_action(body).get("value")),
        post=PostRef(channel, ts) if channel and ts else None,
    )


def read_dispute_form(body: dict[str, Any], view: dict[str, Any]) -> VerdictRequest:
    """The dispute form's submission: the rating and post its private metadata names."""
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        metadata = {}
    channel = text_at(metadata, "channel")
    ts = text_at(metadata, "ts")
    return VerdictRequest(
        team_id=team_of(body) or text_at(view, "team_id"),
        user_id=text_at(body, "user", "id"),
        rating_id=parse_id(text_at(metadata, "rating_id")),
        post=PostRef(channel, ts) if channel and ts else None,
    )


def answer_rule(deps: Deps) -> AnswerRule:
    """The rule that decides whether a thread reply is marketing's answer: a verdict is one."""

    def may_answer(session: Session, team_id: str, user_id: str, rater_id: str) -> bool:
        return deps.roles.counts_as_answer(
            session, team_id=team_id, user_id=user_id, rater_id=rater_id
        )

    return may_answer


def check_before_storing(deps: Deps, request: VerdictRequest) -> VerdictResult:
    """Whether the request may give a verdict, read before any write.

    Reading the roles may ask Slack for a user group's members (then cached): asked inside
    the write, that call would hold SQLite's write lock for as long as Slack takes.
    """
    if request.rating_id is None or request.post is None or not request.user_id:
        return VerdictResult(VerdictOutcome.NOT_FOUND)
    with deps.session_factory() as session:
        return check_verdict(
            session,
            team_id=request.team_id,
            user_id=request.user_id,
            rating_id=request.rating_id,
            post=request.post,
            may_answer=answer_rule(deps),
        )


REFUSALS = {
    VerdictOutcome.NOT_FOUND: VERDICT_RATING_NOT_FOUND,
    VerdictOutcome.NOT_MARKETING: VERDICT_NOT_MARKETING,
}


def store_verdict(
    deps: Deps, request: VerdictRequest, *, verdict: str, reason: str = ""
) -> VerdictResult:
    """Check the request, then commit the verdict with the messages it owes (before the
    ack: an acknowledged click or form is a stored one)."""
    checked = check_before_storing(deps, request)
    if checked.outcome is not VerdictOutcome.STORED or request.rating_id is None:
        return checked
    with deps.session_before_ack() as session:
        result = give_verdict(
            session,
            team_id=request.team_id,
            user_id=request.user_id,
            rating_id=request.rating_id,
            post=request.post,
            verdict=verdict,
            reason=reason,
            may_answer=answer_rule(deps),
            now=deps.clock(),
        )
        session.commit()
    return result
