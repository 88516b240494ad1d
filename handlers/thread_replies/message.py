"""The ``message`` event: new replies, edits and deletions in the feedback channel's threads.

Slack does not send an event again once it got a 200 for it, and Bolt answers an event with
its 200 as soon as it has handed the listener to its pool (``auto_acknowledgement`` in
``slack_bolt/listener/thread_runner.py``), before the listener runs. So the storing is not
in the listener: ``store_message_event`` is the listener's middleware, which Bolt runs in
``App.dispatch`` on the request's own thread before the listener runner, so the commit comes
before the 200. A failed write answers 500 instead, and Slack sends the event again (the
Events API retries a delivery up to three times), with the same ``event_id``: each change
claims its ``event_id`` in its own transaction, so a retry is stored once.

In Socket Mode, Bolt's adapter sends no acknowledgement at all for a response other than 200
(``send_response`` in ``slack_bolt/adapter/socket_mode/internals.py`` only logs it): Slack
takes the envelope as unanswered and delivers the event again, as it does over HTTP.

The note the rater is owed is committed to the outbox with the answer; the delivery
process sends it. The listener has nothing left to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeGuard

from slack_bolt import BoltResponse
from sqlalchemy.exc import SQLAlchemyError
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
from storage.ratings import find_rating_by_post

logger = logging.getLogger(__name__)

# Subtypes that are a person writing in a thread; everything else (joins, bot posts,
# channel topic changes...) is not an answer to a rating.
HUMAN_REPLY_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}

# One change to commit (the note it may owe the rater is committed with it).
Change = Callable[[Deps], None]


def store_message_event(
    body: dict[str, Any],
    event: dict[str, Any],
    deps: Deps,
    next_: Callable[[], None],
) -> BoltResponse | None:
    """Listener middleware: commit a thread reply, edit or deletion before Slack gets its 200.

    Whether a thread is a rating's is decided by the stored post (its channel and ts), so
    answers keep counting in the threads of a feedback channel an admin replaced. When the
    database refuses the write, nothing of it is kept and the answer is a 500, so that Slack
    sends the event again later.
    """
    change = _change_in(body, event)
    if change is not None:
        try:
            change(deps)
        except SQLAlchemyError:
            logger.exception(
                "could not store message event %s; answering 500 so that Slack sends it again",
                body.get("event_id"),
            )
            return BoltResponse(status=500, body="")
    next_()
    return None


def handle_message_event() -> None:
    """After the 200 nothing is left to do: the middleware stored the change."""


def _change_in(body: dict[str, Any], event: dict[str, Any]) -> Change | None:
    """What the event changes in the database, or None when it is nothing leadloop keeps."""
    channel = event.get("channel")
    if not _in_a_thread(event) or not _is_text(channel):
        return None
    team_id = body.get("team_id") or event.get("team")
    event_id = body.get("event_id")
    if not _is_text(team_id) or not _is_text(event_id):
        return None
    subtype = event.get("subtype")
    if subtype == "message_changed":
        message = event.get("message")
        if not isinstance(message, dict) or message.get("bot_id"):
            return None
        ts = message.get("ts")
        if not _is_text(ts):
            return None
        text = _slack_text(message.get("text"))
        return partial(
            _follow_edit, team_id=team_id, event_id=event_id, channel=channel, ts=ts, text=text
        )
    if subtype == "message_deleted":
        deleted_ts = event.get("deleted_ts")
        if not _is_text(deleted_ts):
            return None
        return partial(
            _follow_deletion, team_id=team_id, event_id=event_id, channel=channel, ts=deleted_ts
        )
    if (subtype is None or isinstance(subtype, str)) and subtype in HUMAN_REPLY_SUBTYPES:
        reply = thread_reply_from_event(team_id=team_id, event_id=event_id, event=event)
        return None if reply is None else partial(_store_reply, reply=reply)
    return None


def _is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _slack_text(value: object) -> str:
    """A message's text as the person wrote it (Slack escapes &, < and >)."""
    return unescape_slack(value) if isinstance(value, str) else ""


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
    if event.get("bot_id") or not (_is_text(thread_ts) and _is_text(ts) and _is_text(user)):
        return None
    if thread_ts == ts:  # the thread's parent, not a reply
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
        text=_slack_text(event.get("text")),
        sent_at=sent_at,
    )


def _store_reply(deps: Deps, *, reply: ThreadReply) -> None:
    _learn_roles_first(deps, reply)
    with deps.session_before_ack() as session:
        result = record_thread_reply(
            session, reply=reply, now=deps.clock(), counts_as_answer=_answer_rule(deps)
        )
        session.commit()
    if result.outcome is ReplyOutcome.DUPLICATE:
        logger.info("event %s was already handled; Slack retried it", reply.event_id)


def _learn_roles_first(deps: Deps, reply: ThreadReply) -> None:
    """Read the author's roles before the write begins, so that the write finds them cached.

    Whether a reply is marketing's answer may ask Slack for a user group's members (cached
    for a few minutes). Asked inside the write, that call would hold SQLite's write lock, and
    keep every other listener's bounded write waiting, for as long as Slack takes.
    """
    with deps.session_factory() as session:
        rating = find_rating_by_post(
            session, team_id=reply.team_id, channel=reply.channel, ts=reply.thread_ts
        )
        if rating is not None:
            deps.roles.roles_of(session, team_id=reply.team_id, user_id=reply.user_id)


def _answer_rule(deps: Deps) -> AnswerRule:
    def counts_as_answer(session: Session, team_id: str, user_id: str, rater_id: str) -> bool:
        return deps.roles.counts_as_answer(
            session, team_id=team_id, user_id=user_id, rater_id=rater_id
        )

    return counts_as_answer


def _follow_edit(
    deps: Deps, *, team_id: str, event_id: str, channel: str, ts: str, text: str
) -> None:
    with deps.session_before_ack() as session:
        record_reply_edit(
            session,
            team_id=team_id,
            event_id=event_id,
            channel=channel,
            ts=ts,
            text=text,
            now=deps.clock(),
        )
        session.commit()


def _follow_deletion(deps: Deps, *, team_id: str, event_id: str, channel: str, ts: str) -> None:
    with deps.session_before_ack() as session:
        record_reply_deletion(
            session, team_id=team_id, event_id=event_id, channel=channel, ts=ts, now=deps.clock()
        )
        session.commit()
