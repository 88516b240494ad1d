"""The ``message`` event: new replies, edits and deletions in the feedback channel's threads."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from sqlmodel import Session

from domain.clock import slack_ts_to_datetime
from domain.parsing import unescape_slack
from domain.ratings.loop import (
    AnswerRule,
    ReplyOutcome,
    ThreadReply,
    record_reply_deletion,
    record_reply_edit,
    record_thread_reply,
)
from handlers.deps import Deps

logger = logging.getLogger(__name__)

# Subtypes that are a person writing in a thread; everything else (joins, bot posts,
# channel topic changes...) is not an answer to a rating.
HUMAN_REPLY_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


def handle_message_event(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Store thread replies to rating posts once; follow their edits and deletions.

    Whether a thread is a rating's is decided by the stored post (its channel and ts),
    so answers keep counting in the threads of a feedback channel an admin replaced.
    """
    if not _in_a_thread(event) or not isinstance(event.get("channel"), str):
        return
    team_id = body.get("team_id") or event.get("team")
    event_id = body.get("event_id")
    if not team_id or not event_id:
        return
    subtype = event.get("subtype")
    if subtype == "message_changed":
        follow = _follow_edit
    elif subtype == "message_deleted":
        follow = _follow_deletion
    elif subtype in HUMAN_REPLY_SUBTYPES:
        follow = _store_reply
    else:
        return
    deps.after_ack(
        lambda: follow(deps, team_id=team_id, event_id=event_id, event=event),
        body=body,
        client=client,
    )


def _in_a_thread(event: dict[str, Any]) -> bool:
    """Only replies in threads can answer ratings: other new messages are not looked at.

    Edits and deletions are looked up by their message, which is stored only if it was an
    answer.
    """
    return event.get("subtype") in {"message_changed", "message_deleted"} or bool(
        event.get("thread_ts")
    )


def thread_reply_from_event(
    *, team_id: str, event_id: str, event: dict[str, Any]
) -> ThreadReply | None:
    """A person's reply inside a thread, or None for anything else."""
    thread_ts, ts, user = event.get("thread_ts"), event.get("ts"), event.get("user")
    if event.get("bot_id") or not (thread_ts and ts and user) or thread_ts == ts:
        return None
    sent_at = slack_ts_to_datetime(ts)
    if sent_at is None:
        return None
    return ThreadReply(
        team_id=team_id,
        event_id=event_id,
        channel=event["channel"],
        thread_ts=thread_ts,
        ts=ts,
        user_id=user,
        text=unescape_slack(event.get("text") or ""),
        sent_at=sent_at,
    )


def _store_reply(deps: Deps, *, team_id: str, event_id: str, event: dict[str, Any]) -> None:
    reply = thread_reply_from_event(team_id=team_id, event_id=event_id, event=event)
    if reply is None:
        return
    with deps.session_factory() as session:
        result = record_thread_reply(
            session, reply=reply, now=deps.clock(), counts_as_answer=_answer_rule(deps)
        )
        session.commit()
    if result.outcome is ReplyOutcome.DUPLICATE:
        logger.info("event %s was already handled; Slack retried it", event_id)
    if result.notice_message_id is not None:
        deps.deliverer.deliver(result.notice_message_id)


def _answer_rule(deps: Deps) -> AnswerRule:
    def counts_as_answer(session: Session, team_id: str, user_id: str, rater_id: str) -> bool:
        return deps.roles.counts_as_answer(
            session, team_id=team_id, user_id=user_id, rater_id=rater_id
        )

    return counts_as_answer


def _follow_edit(deps: Deps, *, team_id: str, event_id: str, event: dict[str, Any]) -> None:
    message = event.get("message") or {}
    if message.get("bot_id") or not message.get("ts"):
        return
    with deps.session_factory() as session:
        record_reply_edit(
            session,
            team_id=team_id,
            event_id=event_id,
            channel=event["channel"],
            ts=message["ts"],
            text=unescape_slack(message.get("text") or ""),
            now=deps.clock(),
        )
        session.commit()


def _follow_deletion(deps: Deps, *, team_id: str, event_id: str, event: dict[str, Any]) -> None:
    deleted_ts = event.get("deleted_ts")
    if not deleted_ts:
        return
    with deps.session_factory() as session:
        record_reply_deletion(
            session,
            team_id=team_id,
            event_id=event_id,
            channel=event["channel"],
            ts=deleted_ts,
            now=deps.clock(),
        )
        session.commit()
