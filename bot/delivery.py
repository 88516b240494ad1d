"""Delivering the outbox: render each owed post, send it, record the result, retry failures."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from bot.team_clients import TeamClients
from domain.admin.settings import WorkspaceSettings
from domain.clock import Clock
from domain.kpis.report import build_report
from domain.kpis.weekly import report_rule, reported_week
from domain.leads.handoffs import (
    digests_showing,
    handoff_view,
    owe_handoff_refresh,
    owed_digest,
    owed_handoff,
)
from domain.meetings.agenda import build_agenda, reminder_post_for
from domain.meetings.cards import ReminderCard
from domain.meetings.reminders import SNOOZE, rule_of
from domain.outbox_kinds import (
    ANSWER_NOTICE,
    HANDOFF_DIGEST,
    HANDOFF_POST,
    HANDOFF_REFRESH,
    MEETING_REMINDER,
    RATING_POST,
    RATING_UPDATE,
    WEEKLY_REPORT,
)
from domain.ratings.cards import card_for
from handlers.views.handoffs import handoff_digest, handoff_message
from handlers.views.meetings import meeting_reminder
from handlers.views.ratings import answer_notice, rating_post
from handlers.views.report_file import upload_report
from storage import digests as digest_store
from storage import meetings as meeting_store
from storage import outbox
from storage.leads import handoff_messages, record_handoff_message
from storage.models import Lead, OutboxMessage, Rating
from storage.ratings import get_rating_with_lead, record_post
from storage.responses import first_answer
from storage.workspaces import get_workspace

logger = logging.getLogger(__name__)

# Real time a claimed message is left to its sender before another process may take it
# over. It must outlast the slowest send: a job makes at most four Slack calls, and each
# can take three attempts of up to 10 s plus the waits between them. A process that dies
# mid-send delays its message by this much, which is rare and better than a double post.
CLAIM_LEASE = timedelta(minutes=5)
# Seconds between tries to store what a post changed, once Slack has it: a database blip
# must not make the post go out again. About 16 s in all, short enough for a shutdown.
RECORD_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(minutes=30)
# Errors an admin must fix (invite the bot, correct the channel); retried, but loudly.
NEEDS_ADMIN = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
}
NEEDS_SETTING = "no feedback channel"
# A hand-off DM to an owner who cannot get one is skipped, not retried forever.
UNREACHABLE_USER = {"channel_not_found", "user_not_found", "user_disabled", "cannot_dm_bot"}
# A message someone deleted (or whose channel is gone) cannot be updated; skip it.
GONE_MESSAGE = {"message_not_found", "cant_update_message", "channel_not_found", "is_archived"}


def retry_delay(attempts: int, *, retry_after: int | None = None) -> timedelta:
    """Exponential back-off from 30 s to 30 min, never sooner than Slack's Retry-After."""
    doublings = min(max(attempts - 1, 0), 16)  # 30 s * 2**16 is far past the cap already
    delay = min(FIRST_RETRY_DELAY * 2**doublings, MAX_RETRY_DELAY)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


Recorder = Callable[[Session], None]


def _nothing_to_record(session: Session) -> None:
    """For posts whose success changes nothing but the outbox row itself."""


class _Undeliverable(Exception):
    """The row the message is about is gone; nothing can ever be sent for it."""


class _Unconfigured(Exception):
    """A setting the message needs is missing; it waits until an admin sets it."""


class Permalinker(Protocol):
    """Links to a message (in a thread, when ``thread_ts`` is given), or None."""

    def __call__(self, channel: str, ts: str, thread_ts: str | None = None) -> str | None: ...


@dataclass(frozen=True)
class _Job:
    """One claimed message, with the client and settings of its workspace."""

    message: OutboxMessage
    client: WebClient
    settings: WorkspaceSettings

    @property
    def team_id(self) -> str:
        return self.message.team_id


@dataclass
class Deliverer:
    """Sends owed posts, each with its own workspace's token and settings.

    Safe to run in several threads and processes at once.
    """

    session_factory: Callable[[], Session]
    clients: TeamClients
    clock: Clock
    defaults: WorkspaceSettings
    # The lease measured on ``clock``: longer than CLAIM_LEASE when the clock runs fast.
    claim_lease: timedelta = CLAIM_LEASE
    sleep: Callable[[float], None] = time.sleep
    _team_urls: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def deliver_due(self, *, limit: int = 100) -> int:
        """Try every message whose time has come; returns how many were sent."""
        with self.session_factory() as session:
            due = outbox.due_message_ids(
                session, now=self.clock(), limit=limit, bulk_kinds=(HANDOFF_POST, HANDOFF_DIGEST)
            )
        return sum(1 for message_id in due if self.deliver(message_id))

    def deliver(self, message_id: int) -> bool:
        """Claim, send and record one message; False if not sent now (it stays owed).

        Never raises: whatever goes wrong, the message stays in the outbox and the
        background sweep tries it again once its claim has lapsed.
        """
        try:
            claimed = self._claim(message_id)
            if claimed is None:
                return False
            message, settings, uninstalled = claimed
            client = None if uninstalled else self.clients.for_team(message.team_id)
        except Exception:
            logger.exception("could not claim outbox message %s; it will be retried", message_id)
            return False
        if client is None:
            # Kept, not dropped: a workspace that reinstalls the app gets what it was owed.
            self._record_failure(message, "app_not_installed", None)
            return False
        try:
            record = self._send(_Job(message, client, settings))
        except SlackApiError as error:
            self._record_failure(message, error.response.get("error") or str(error), error)
        except (SlackClientError, OSError) as error:
            self._record_failure(message, f"{type(error).__name__}: {error}", None)
        except _Unconfigured as error:
            self._record_failure(message, str(error), None)
        except _Undeliverable as error:
            logger.warning("outbox message %s dropped: %s", message_id, error)
            self._drop(message_id, str(error))
        except Exception as error:
            logger.exception("unexpected error sending outbox message %s", message_id)
            self._record_failure(message, type(error).__name__, None)
        else:
            self._record_sent(message, record)
            return True
        return False

    def _claim(self, message_id: int) -> tuple[OutboxMessage, WorkspaceSettings, bool] | None:
        """The claimed message, its workspace's settings and whether the app left it."""
        with self.session_factory() as session:
            now = self.clock()
            if not outbox.claim(session, message_id=message_id, now=now, lease=self.claim_lease):
                return None
            message = outbox.get_message(session, message_id=message_id)
            workspace = get_workspace(session, team_id=message.team_id) if message else None
            session.commit()
        if message is None:
            return None
        uninstalled = workspace is not None and workspace.uninstalled_at is not None
        return message, self.defaults.overridden_by(workspace), uninstalled

    def _send(self, job: _Job) -> Recorder:
        """Read what the message needs and call Slack; returns what records the result.

        No database transaction stays open during a Slack call: on SQLite a writer holds
        the only write lock, and a slow Slack would hold up every rating meanwhile.
        """
        senders: dict[str, Callable[[_Job], Recorder]] = {
            RATING_POST: self._post_rating,
            ANSWER_NOTICE: self._notify_rater,
            MEETING_REMINDER: self._post_reminder,
            WEEKLY_REPORT: self._post_weekly_report,
            HANDOFF_POST: self._post_handoff,
            HANDOFF_DIGEST: self._post_digest,
            HANDOFF_REFRESH: self._refresh_handoff,
            RATING_UPDATE: self._update_rating_post,
        }
        sender = senders.get(job.message.kind)
        if sender is None:
            raise _Undeliverable(f"unknown outbox kind {job.message.kind!r}")
        return sender(job)

    def _record_sent(self, message: OutboxMessage, record: Recorder) -> None:
        """Store what the post changed and mark it sent; Slack has it, so never send again.

        A database blip is waited out. If what the post changed still cannot be stored,
        the message is at least marked sent; only when even that fails does it stay claimed,
        and then it goes out again once its lease runs out.
        """
        for delay in (*RECORD_RETRY_DELAYS, None):
            try:
                with self.session_factory() as session:
                    record(session)
                    outbox.mark_sent(session, message_id=message.id or -1, now=self.clock())
                    session.commit()
                return
            except Exception as error:
                if delay is None or not _is_transient(error):
                    logger.exception(
                        "outbox message %s (%s) was sent, but what it changed could not be stored",
                        message.id,
                        message.kind,
                    )
                    break
                logger.warning(
                    "outbox message %s was sent; storing it failed (%s), trying again in %s s",
                    message.id,
                    type(error).__name__,
                    delay,
                )
                self.sleep(delay)
        self._mark_sent_only(message)

    def _mark_sent_only(self, message: OutboxMessage) -> None:
        try:
            with self.session_factory() as session:
                outbox.mark_sent(session, message_id=message.id or -1, now=self.clock())
                session.commit()
        except Exception:
            logger.exception(
                "outbox message %s was sent, but the database could not record it; it will "
                "be sent again when its claim runs out",
                message.id,
            )

    def _rating_and_lead(self, message: OutboxMessage) -> tuple[Rating, Lead]:
        with self.session_factory() as session:
            loaded = get_rating_with_lead(
                session, team_id=message.team_id, rating_id=message.rating_id or -1
            )
        if loaded is None:
            raise _Undeliverable(f"rating {message.rating_id} no longer exists")
        return loaded

    def _post_rating(self, job: _Job) -> Recorder:
        rating, lead = self._rating_and_lead(job.message)
        channel = job.settings.feedback_channel
        if not channel:
            raise _Unconfigured("no feedback channel is set: /leadloop settings feedback #channel")
        text, blocks = rating_post(card_for(rating, lead))
        result = _post_joining_if_needed(job.client, channel=channel, text=text, blocks=blocks)

        def record(session: Session) -> None:
            record_post(
                session,
                team_id=job.team_id,
                rating_id=rating.id or -1,
                channel=result["channel"],
                ts=result["ts"],
                now=self.clock(),
            )
            # A /rate-lead or form rating of a handed-off lead shows on its hand-off too
            # (later, from the outbox: nothing may fail here once the post is out).
            owe_handoff_refresh(session, rating, now=self.clock())

        return record

    def _notify_rater(self, job: _Job) -> Recorder:
        rating, lead = self._rating_and_lead(job.message)
        with self.session_factory() as session:
            answer = first_answer(session, team_id=job.team_id, rating_id=rating.id or -1)
        if answer is None:
            raise _Undeliverable(f"rating {rating.id} has no answer to announce")
        text, blocks = answer_notice(
            card_for(rating, lead),
            answerer_id=answer.user_id,
            answer_text=answer.text,
            permalink=self._linker(job)(answer.channel, answer.ts, rating.post_ts),
        )
        # Posting to a user ID lands in the app's DM with that user.
        job.client.chat_postMessage(channel=rating.rater_id, text=text, blocks=blocks)
        return _nothing_to_record

    def _post_reminder(self, job: _Job) -> Recorder:
        message = job.message
        permalink = self._linker(job)  # asks Slack before the read below, never inside it
        with self.session_factory() as session:
            post = meeting_store.get_scheduled_post(
                session, team_id=message.team_id, post_id=message.scheduled_post_id or -1
            )
            meeting = post and meeting_store.get_meeting(
                session, team_id=message.team_id, meeting_id=post.subject_id
            )
            if post is None or meeting is None:
                raise _Undeliverable("the meeting was removed before its reminder went out")
            agenda, item_ids = build_agenda(
                session, meeting=meeting, post=post, now=self.clock(), permalink=permalink
            )
            shown_in = reminder_post_for(session, post)
        card = ReminderCard(
            meeting_id=meeting.id or -1,
            post_id=post.id or -1,
            title=meeting.title,
            starts_at=post.occurrence_at,
            schedule=rule_of(meeting).describe(),
            late=post.status == meeting_store.LATE,
            snoozed=post.kind == SNOOZE,
        )
        text, blocks = meeting_reminder(card, agenda)
        result = _post_joining_if_needed(
            job.client, channel=meeting.channel_id, text=text, blocks=blocks
        )

        def record(session: Session) -> None:
            meeting_store.record_scheduled_post_sent(
                session,
                team_id=message.team_id,
                post_id=post.id or -1,
                channel=result["channel"],
                ts=result["ts"],
            )
            meeting_store.mark_agenda_shown(
                session,
                team_id=message.team_id,
                item_ids=item_ids,
                shown_in_id=shown_in.id or -1,
            )

        return record

    def _post_weekly_report(self, job: _Job) -> Recorder:
        message, channel, timezone = job.message, job.settings.report_channel, job.settings.timezone
        with self.session_factory() as session:
            post = meeting_store.get_scheduled_post(
                session, team_id=message.team_id, post_id=message.scheduled_post_id or -1
            )
            if post is None or not channel:
                raise _Undeliverable("no report channel is configured for the weekly report")
            rule = report_rule(session, team_id=message.team_id, default_timezone=timezone)
            week = reported_week(post, rule.timezone)
            report = build_report(session, team_id=message.team_id, week=week, timezone=timezone)
        upload_report(job.client, report, channel=channel)

        def record(session: Session) -> None:
            meeting_store.record_scheduled_post_sent(
                session, team_id=message.team_id, post_id=post.id or -1, channel=channel, ts=None
            )

        return record

    def _post_handoff(self, job: _Job) -> Recorder:
        message = job.message
        with self.session_factory() as session:
            owed = owed_handoff(
                session,
                team_id=message.team_id,
                outbox_message_id=message.id or -1,
                handoff_channel=job.settings.handoff_channel,
            )
        if owed is None:
            raise _Undeliverable("the handed-off lead no longer exists")
        text, blocks = handoff_message(owed.card, owed.scores)
        for target in owed.targets:
            result = _post_handoff_to(job.client, target, text=text, blocks=blocks)
            if result is None:
                continue
            # Kept at once: when a later target fails, the retry does not post this one again.
            with self.session_factory() as session:
                record_handoff_message(
                    session,
                    team_id=message.team_id,
                    lead_id=owed.lead_id,
                    target=target,
                    channel=result["channel"],
                    ts=result["ts"],
                    now=self.clock(),
                )
                session.commit()
        return _nothing_to_record

    def _post_digest(self, job: _Job) -> Recorder:
        message = job.message
        with self.session_factory() as session:
            owed = owed_digest(
                session,
                team_id=message.team_id,
                outbox_message_id=message.id or -1,
                handoff_channel=job.settings.handoff_channel,
            )
        if owed is None:
            raise _Undeliverable("the digest lists no lead that still exists")
        if owed.target is None:  # no hand-off channel is set, or it was posted already
            return _nothing_to_record
        text, blocks = handoff_digest(owed.digest)
        result = _post_handoff_to(job.client, owed.target, text=text, blocks=blocks)
        if result is None:
            return _nothing_to_record

        def record(session: Session) -> None:
            digest_store.record_digest_post(
                session,
                team_id=message.team_id,
                digest_id=owed.digest_id,
                channel=result["channel"],
                ts=result["ts"],
                now=self.clock(),
            )

        return record

    def _refresh_handoff(self, job: _Job) -> Recorder:
        _, lead = self._rating_and_lead(job.message)
        with self.session_factory() as session:
            view = handoff_view(session, team_id=job.team_id, lead=lead)
            posts = handoff_messages(session, team_id=job.team_id, lead_id=lead.id or -1)
            shown_in = digests_showing(session, team_id=job.team_id, lead_id=lead.id or -1)
        text, blocks = handoff_message(*view)
        for post in posts:
            _update_message(job.client, channel=post.channel, ts=post.ts, text=text, blocks=blocks)
        for row, digest in shown_in:
            text, blocks = handoff_digest(digest)
            _update_message(
                job.client, channel=row.channel or "", ts=row.ts or "", text=text, blocks=blocks
            )
        return _nothing_to_record

    def _update_rating_post(self, job: _Job) -> Recorder:
        rating, lead = self._rating_and_lead(job.message)
        if rating.post_channel and rating.post_ts:
            # A rating whose post is still owed needs no update: the post shows the new score.
            text, blocks = rating_post(card_for(rating, lead))
            _update_message(
                job.client, channel=rating.post_channel, ts=rating.post_ts, text=text, blocks=blocks
            )
        return _nothing_to_record

    def _linker(self, job: _Job) -> Permalinker:
        """Builds links to the workspace's messages, like Slack's own permalinks.

        The workspace's URL comes from auth.test, asked once per workspace (no API call
        per link); without it, links are None.
        """
        base = self._team_urls.get(job.team_id)
        if base is None:
            try:
                base = self._team_urls[job.team_id] = str(job.client.auth_test().get("url") or "")
            except (SlackClientError, OSError):
                base = ""

        def permalink(channel: str, ts: str, thread_ts: str | None = None) -> str | None:
            if not base:
                return None
            link = f"{base.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
            return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts else link

        return permalink

    def _record_failure(
        self, message: OutboxMessage, reason: str, error: SlackApiError | None
    ) -> None:
        retry_after = None
        if error is not None and error.response.status_code == 429:
            retry_after = _retry_after(error)
        retry_at = self.clock() + retry_delay(message.attempts, retry_after=retry_after)
        needs_admin = reason in NEEDS_ADMIN or reason.startswith(NEEDS_SETTING)
        (logger.error if needs_admin else logger.warning)(
            "could not send outbox message %s (%s, attempt %s): %s; retrying at %s%s",
            message.id,
            message.kind,
            message.attempts,
            reason,
            retry_at.isoformat(timespec="seconds"),
            " - check the channel settings and that the bot is in the channel"
            if needs_admin
            else "",
        )
        try:
            with self.session_factory() as session:
                outbox.mark_failed(
                    session, message_id=message.id or -1, error=reason, retry_at=retry_at
                )
                session.commit()
        except Exception:
            logger.exception("could not record the failure of outbox message %s", message.id)

    def _drop(self, message_id: int, reason: str) -> None:
        try:
            with self.session_factory() as session:
                outbox.mark_dropped(session, message_id=message_id, now=self.clock(), reason=reason)
                session.commit()
        except Exception:
            logger.exception("could not mark outbox message %s dropped", message_id)


def _post_handoff_to(client: WebClient, target: str, **kwargs: Any) -> Any:
    if target.startswith(("C", "G")):
        return _post_joining_if_needed(client, channel=target, **kwargs)
    try:
        return client.chat_postMessage(channel=target, **kwargs)
    except SlackApiError as error:
        reason = error.response.get("error")
        if reason not in UNREACHABLE_USER:
            raise
    logger.warning("could not DM the hand-off to %s (%s); skipping them", target, reason)
    return None


def _update_message(client: WebClient, *, channel: str, ts: str, **kwargs: Any) -> None:
    try:
        client.chat_update(channel=channel, ts=ts, **kwargs)
    except SlackApiError as error:
        if error.response.get("error") not in GONE_MESSAGE:
            raise
        logger.info("message %s in %s is gone; it is not updated", ts, channel)


def _post_joining_if_needed(client: WebClient, *, channel: str, **kwargs: Any) -> Any:
    try:
        return client.chat_postMessage(channel=channel, **kwargs)
    except SlackApiError as error:
        if error.response.get("error") != "not_in_channel":
            raise
    # A public channel the bot was never invited to: join it and post again.
    client.conversations_join(channel=channel)
    return client.chat_postMessage(channel=channel, **kwargs)


def _is_transient(error: Exception) -> bool:
    """A lost connection or a busy database, which a moment's wait can fix."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _retry_after(error: SlackApiError) -> int | None:
    headers = error.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return int(raw)
            except (TypeError, ValueError):
                return None
    return None
