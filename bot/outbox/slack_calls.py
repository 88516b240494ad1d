"""The Slack calls senders share: post a message once (joining a public channel first if need
be), post a hand-off to a channel or a DM, update a message that may be gone.

Every message the outbox posts carries Slack message metadata naming its outbox row. When a
row is claimed again after a claim of it lapsed, the process that held it may have died just
after Slack took its post; the post is then looked for in the conversation's recent history
before anything is posted again. ``chat.update`` is idempotent and needs no such look.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.outbox.job import Job

logger = logging.getLogger(__name__)

# A hand-off DM to an owner who cannot get one is skipped, not retried forever.
UNREACHABLE_USER = {"channel_not_found", "user_not_found", "user_disabled", "cannot_dm_bot"}
# A message someone deleted (or whose channel is gone) cannot be updated; skip it.
GONE_MESSAGE = {"message_not_found", "cant_update_message", "channel_not_found", "is_archived"}
# The metadata event type of the outbox's messages (Slack's event_type: letters and _).
OUTBOX_EVENT = "leadloop_outbox"
# How far back, from the message's creation, and how many of the newest messages are read
# when looking for a post that may have gone out already. Creation is measured on the
# deliverer's clock; the margin covers a clock a little ahead of Slack's.
HISTORY_MARGIN = timedelta(minutes=2)
HISTORY_LIMIT = 200


def outbox_metadata(job: Job) -> dict[str, Any]:
    """The message metadata that ties a Slack message to its outbox row."""
    return {
        "event_type": OUTBOX_EVENT,
        "event_payload": {"outbox_id": job.message.id, "team": job.team_id},
    }


def post_message(job: Job, *, channel: str, **kwargs: Any) -> Any:
    """chat.postMessage of the job's message, tagged with its outbox row.

    After a lapsed claim, the copy already in the conversation instead, when there is one:
    its ``channel`` and ``ts`` stand in for chat.postMessage's answer.
    """
    found = find_earlier_post(job, channel, thread_ts=kwargs.get("thread_ts"))
    if found is not None:
        return found
    return _post(job, channel, kwargs)


def post_joining_if_needed(job: Job, *, channel: str, **kwargs: Any) -> Any:
    """``post_message``; in a public channel the bot was never invited to, join and retry."""
    found = find_earlier_post(job, channel)
    if found is not None:
        return found
    try:
        return _post(job, channel, kwargs)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
    job.client.conversations_join(channel=channel)
    return _post(job, channel, kwargs)


def post_handoff_to(job: Job, target: str, **kwargs: Any) -> Any:
    """Post to a channel, or DM a user; None when that user cannot get a DM (skipped)."""
    if target.startswith(("C", "G")):
        return post_joining_if_needed(job, channel=target, **kwargs)
    try:
        return post_message(job, channel=target, **kwargs)
    except SlackApiError as error:
        reason = error.response.get("error")
        if reason not in UNREACHABLE_USER:
            raise
    logger.warning("could not DM the hand-off to %s (%s); skipping them", target, reason)
    return None


def _post(job: Job, channel: str, kwargs: dict[str, Any]) -> Any:
    return job.client.chat_postMessage(channel=channel, metadata=outbox_metadata(job), **kwargs)


def find_earlier_post(
    job: Job, target: str, *, thread_ts: str | None = None
) -> dict[str, str] | None:
    """The job's message as an earlier attempt posted it to ``target``, if it did.

    A reply in a thread (``thread_ts``) is looked for in that thread: a channel's history
    leaves replies out.

    Only asks Slack after a lapsed claim: a first send makes no extra call. ``target`` is a
    channel, or a user whose DM with the app is read. When Slack refuses to show the
    history (a scope the app lacks, a channel it is not in), None: the caller posts, which
    may post twice; that is said once per workspace and cause. When Slack is unreachable,
    rate-limited or failing, the error goes up: the engine retries later, checking again.
    """
    if not job.lapsed:
        return None
    since = (job.message.created_at - HISTORY_MARGIN).timestamp()
    # A simulated clock running ahead of Slack's would hide everything: read the newest.
    oldest = f"{since:.6f}" if since <= time.time() else None
    try:
        conversation = _conversation_of(job.client, target)
        if thread_ts:
            history = job.client.conversations_replies(
                channel=conversation, ts=thread_ts, limit=HISTORY_LIMIT, include_all_metadata=True
            )
        else:
            history = job.client.conversations_history(
                channel=conversation,
                oldest=oldest,
                limit=HISTORY_LIMIT,
                include_all_metadata=True,
            )
    except SlackApiError as error:
        if error.response.status_code == 429 or error.response.status_code >= 500:
            raise  # Slack is busy or down: try again later, still checking first
        _history_unreadable(job, target, error)
        return None
    for message in history.get("messages") or []:
        if _is_post_of(job, message):
            logger.info(
                "outbox message %s was already in %s (ts %s); recorded, not posted again",
                job.message.id,
                conversation,
                message.get("ts"),
            )
            return {"channel": conversation, "ts": str(message["ts"])}
    return None


def _conversation_of(client: WebClient, target: str) -> str:
    """The conversation to read: a channel as it is, a user's DM with the app opened."""
    if not target.startswith(("U", "W")):
        return target
    opened = client.conversations_open(users=target)
    return str(opened["channel"]["id"])


def _is_post_of(job: Job, message: dict[str, Any]) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == OUTBOX_EVENT
        and str(payload.get("outbox_id")) == str(job.message.id)
        and payload.get("team") == job.team_id
        and bool(message.get("ts"))
    )


def _history_unreadable(job: Job, target: str, error: SlackApiError) -> None:
    reason = str(error.response.get("error") or error)
    if reason in UNREACHABLE_USER:
        return  # no one to post to: the post fails the same way, and cannot be doubled
    needed = error.response.get("needed")
    if not job.warned.first(("history", job.team_id, reason, needed)):
        return
    logger.warning(
        "could not read %s in workspace %s to check that outbox message %s was not posted "
        "already (%s); posting it, so it may appear twice%s",
        target,
        job.team_id,
        job.message.id,
        f"{reason}, needs {needed}" if needed else reason,
        ". Grant the app the channels:history, groups:history, im:history and im:write "
        "scopes (manifest.json) and reinstall it"
        if reason == "missing_scope"
        else "",
    )


def update_message(client: WebClient, *, channel: str, ts: str, **kwargs: Any) -> None:
    """chat.update; a message that is gone is left alone."""
    try:
        client.chat_update(channel=channel, ts=ts, **kwargs)
    except SlackApiError as error:
        if error.response.get("error") not in GONE_MESSAGE:
            raise
        logger.info("message %s in %s is gone; it is not updated", ts, channel)
