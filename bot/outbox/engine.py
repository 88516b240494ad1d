"""The outbox engine: claim each owed message, hand it to its kind's sender, record the
result, and retry failures with back-off. What each kind sends is in ``bot.outbox.kinds``."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from bot.outbox.job import Job, OnceOnly, Recorder, TeamUrls, Unconfigured, Undeliverable
from bot.outbox.kinds import BULK_KINDS, KINDS
from bot.outbox.recording import GroupCommit, Sent
from bot.team_clients import TeamClients
from domain.admin.settings import WorkspaceSettings
from domain.clock import Clock
from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import ClaimedMessage

logger = logging.getLogger(__name__)

# Real time a claimed message is left to its sender before another process may take it
# over. A live sender renews the claims of what it is sending every HEARTBEAT_SECONDS, so
# a slow send (Slack calls with all their retries) keeps its message however long it takes,
# and a process that dies mid-send holds its messages up for under a minute. The lease
# outlasts two missed beats (a database blip).
CLAIM_LEASE = timedelta(seconds=45)
HEARTBEAT_SECONDS = 15.0
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


def retry_delay(attempts: int, *, retry_after: int | None = None) -> timedelta:
    """Exponential back-off from 30 s to 30 min, never sooner than Slack's Retry-After."""
    doublings = min(max(attempts - 1, 0), 16)  # 30 s * 2**16 is far past the cap already
    delay = min(FIRST_RETRY_DELAY * (1 << doublings), MAX_RETRY_DELAY)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


@dataclass
class Deliverer:
    """Sends owed posts, each with its own workspace's token and settings.

    Safe to run in several threads and processes at once. One per process: listeners,
    the lead webhook and the scheduler share it.

    While it sends, a heartbeat thread of its own (started with the first send, gone when
    nothing is being sent for a beat) renews the claims of the messages in flight, in one
    UPDATE per beat. ``close`` stops it; ``heartbeat`` is one beat, for tests and for
    callers that beat on a timer of their own (``heartbeat_seconds=0``).
    """

    session_factory: Callable[[], Session]
    clients: TeamClients
    clock: Clock
    defaults: WorkspaceSettings
    # The lease measured on ``clock``: longer than CLAIM_LEASE when the clock runs fast.
    claim_lease: timedelta = CLAIM_LEASE
    sleep: Callable[[float], None] = time.sleep
    # Real seconds between heartbeats; 0 leaves the beats to whoever calls ``heartbeat``.
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    _team_urls: TeamUrls = field(default_factory=TeamUrls, init=False, repr=False)
    _warned: OnceOnly = field(default_factory=OnceOnly, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )
    _in_flight: Counter[int] = field(default_factory=Counter, init=False, repr=False, compare=False)
    _beater: threading.Thread | None = field(default=None, init=False, repr=False, compare=False)
    _closing: threading.Event = field(
        default_factory=threading.Event, init=False, repr=False, compare=False
    )
    _group_commit: GroupCommit = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._group_commit = GroupCommit(self._commit_sent)

    def deliver_due(self, *, limit: int = 100) -> int:
        """Try every message whose time has come; returns how many were sent."""
        with self.session_factory() as session:
            due = outbox.due_message_ids(
                session, now=self.clock(), limit=limit, bulk_kinds=BULK_KINDS
            )
        return sum(1 for message_id in due if self.deliver(message_id))

    def deliver(self, message_id: int) -> bool:
        """Claim, send and record one message; False if not sent now (it stays owed).

        Never raises: whatever goes wrong, the message stays in the outbox and the
        background sweep tries it again once its claim has lapsed.
        """
        claimed = self.claim([message_id])
        return bool(claimed) and self.deliver_claimed(claimed[0])

    def claim(self, message_ids: Collection[int]) -> list[ClaimedMessage]:
        """Claim those of ``message_ids`` that are due and free, in one transaction.

        Each one claimed is this deliverer's to send with ``deliver_claimed``; until then
        the heartbeat keeps its claim alive. Never raises: a failed claim claims nothing.
        """
        try:
            with self.session_factory() as session:
                claimed = outbox.claim_messages(
                    session, message_ids=message_ids, now=self.clock(), lease=self.claim_lease
                )
                session.commit()
        except Exception:
            logger.exception(
                "could not claim %s outbox message(s); they will be retried", len(message_ids)
            )
            return []
        for each in claimed:
            self._hold(each.message.id or -1)
        return claimed

    def deliver_claimed(self, claimed: ClaimedMessage) -> bool:
        """Send and record a message this deliverer claimed; False if it stays owed."""
        workspace = claimed.workspace
        try:
            return self._deliver_claimed(
                claimed.message,
                self.defaults.overridden_by(workspace),
                workspace is not None and workspace.uninstalled_at is not None,
                claimed.lapsed,
            )
        finally:
            self._let_go(claimed.message.id or -1)

    def _deliver_claimed(
        self, message: OutboxMessage, settings: WorkspaceSettings, uninstalled: bool, lapsed: bool
    ) -> bool:
        message_id = message.id or -1
        try:
            client = None if uninstalled else self.clients.for_team(message.team_id)
        except Exception:
            logger.exception("could not claim outbox message %s; it will be retried", message_id)
            return False
        if client is None:
            # Kept, not dropped: a workspace that reinstalls the app gets what it was owed.
            self._record_failure(message, "app_not_installed", None, lapsed=lapsed)
            return False
        job = Job(
            message=message,
            client=client,
            settings=settings,
            session_factory=self.session_factory,
            clock=self.clock,
            team_urls=self._team_urls,
            lapsed=lapsed,
            warned=self._warned,
        )
        try:
            record = self._send(job)
        except SlackApiError as error:
            reason = error.response.get("error") or str(error)
            self._record_failure(message, reason, error, lapsed=lapsed)
        except (SlackClientError, OSError) as error:
            self._record_failure(message, f"{type(error).__name__}: {error}", None, lapsed=lapsed)
        except Unconfigured as error:
            self._record_failure(message, str(error), None, lapsed=lapsed)
        except Undeliverable as error:
            logger.warning("outbox message %s dropped: %s", message_id, error)
            self._drop(message_id, str(error))
        except Exception as error:
            logger.exception("unexpected error sending outbox message %s", message_id)
            self._record_failure(message, type(error).__name__, None, lapsed=lapsed)
        else:
            self._record_sent(message, record)
            return True
        return False

    def heartbeat(self) -> int:
        """Renew the claims of the messages this deliverer is sending now, in one UPDATE.

        Returns how many claims were renewed. Never raises: a beat that fails is logged,
        and the lease outlasts the next ones.
        """
        with self._lock:
            in_flight = list(self._in_flight)
        if not in_flight:
            return 0
        try:
            with self.session_factory() as session:
                renewed = outbox.renew_claims(
                    session, message_ids=in_flight, now=self.clock(), lease=self.claim_lease
                )
                session.commit()
        except Exception as error:
            logger.warning(
                "could not renew the claims of %s outbox message(s) being sent (%s); "
                "another process may take them over when their lease runs out",
                len(in_flight),
                type(error).__name__,
            )
            return 0
        return renewed

    def close(self) -> None:
        """Stop the heartbeat, once the sends are done (at shutdown); safe to call twice.

        A send still under way after this keeps its claim for one more lease at most.
        """
        self._closing.set()
        with self._lock:
            beater, self._beater = self._beater, None
        if beater is not None and beater is not threading.current_thread():
            beater.join(timeout=10)

    def _hold(self, message_id: int) -> None:
        """Count the message as in flight, with the heartbeat running, until ``_let_go``."""
        with self._lock:
            self._in_flight[message_id] += 1
            if self._beater is None and self.heartbeat_seconds > 0 and not self._closing.is_set():
                self._beater = threading.Thread(
                    target=self._beat, name="leadloop-outbox-heartbeat", daemon=True
                )
                self._beater.start()

    def _let_go(self, message_id: int) -> None:
        with self._lock:
            self._in_flight[message_id] -= 1
            if self._in_flight[message_id] <= 0:
                del self._in_flight[message_id]

    def _beat(self) -> None:
        """The heartbeat thread: a beat every ``heartbeat_seconds`` while anything is sent."""
        while not self._closing.wait(self.heartbeat_seconds):
            with self._lock:
                if not self._in_flight:
                    if self._beater is threading.current_thread():
                        self._beater = None
                    return
            self.heartbeat()

    def _send(self, job: Job) -> Recorder:
        """Hand the message to its kind's sender; returns what records the result."""
        kind = KINDS.get(job.message.kind)
        if kind is None:
            raise Undeliverable(f"unknown outbox kind {job.message.kind!r}")
        return kind.send(job)

    def _record_sent(self, message: OutboxMessage, record: Recorder) -> None:
        """Store what the post changed and mark it sent; Slack has it, so never send again.

        Recorded with whatever other posts are waiting, in one transaction; if that fails,
        alone, where a database blip is waited out. If what the post changed still cannot
        be stored, the message is at least marked sent; only when even that fails does it
        stay claimed, and then it goes out again once its lease runs out.
        """
        sent = Sent(message=message, record=record)
        self._group_commit.record(sent)
        if sent.alone:
            self._record_alone(message, record)

    def _commit_sent(self, batch: Sequence[Sent]) -> None:
        with self.session_factory() as session:
            for sent in batch:
                sent.record(session)
            outbox.mark_all_sent(
                session, message_ids=[sent.message.id or -1 for sent in batch], now=self.clock()
            )
            session.commit()

    def _record_alone(self, message: OutboxMessage, record: Recorder) -> None:
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

    def _record_failure(
        self,
        message: OutboxMessage,
        reason: str,
        error: SlackApiError | None,
        *,
        lapsed: bool = False,
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
                # After a lapsed claim, the claim is left to run out rather than released:
                # the next attempt still looks for the earlier post before posting.
                outbox.mark_failed(
                    session,
                    message_id=message.id or -1,
                    error=reason,
                    retry_at=retry_at,
                    release=not lapsed,
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
