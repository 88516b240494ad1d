"""The delivery process: sends what the outbox owes and runs the schedules.

The processes that answer Slack only commit: a rating, a reply or a click is stored with
the outbox rows of the posts it owes before Slack gets its answer. This process sends
those rows. It is woken by the commit itself (``storage.outbox_signal``), so a post goes
out within moments of its ack, and it is the only place where posts, DMs, message
updates, reminders and reports are sent. ``leadloop run`` starts one beside the HTTP
workers (or the Socket Mode connection); ``leadloop deliver`` runs one alone.

Several may run at once, on several machines: each message is claimed in the database
before it is sent, and the scheduled posts are claimed the same way.
"""

from __future__ import annotations

import logging
import threading
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from bot.app import build_deliverer
from bot.config import Settings
from bot.installs import Installations
from bot.outbox.engine import Deliverer
from bot.outbox.kinds import BULK_KINDS
from bot.scheduler import build_scheduler
from bot.slack_client import build_web_client
from domain.clock import Clock
from storage import outbox
from storage.engine import create_db_engine, make_session_factory, only_reading
from storage.outbox import ClaimedMessage
from storage.outbox_signal import CommitWatcher, watch_commits

logger = logging.getLogger(__name__)

# Posts sent at once: Slack's answer (tens of milliseconds) is most of a send, not our CPU.
SENDER_THREADS = 8
# Due messages read per look at the outbox.
BATCH = 100
# How often the outbox is read with no commit to wake us: when a retry's back-off ends.
IDLE_SWEEP_SECONDS = 5.0
# How long one wait on the commit watcher lasts, so that closing is noticed.
WATCH_SECONDS = 0.5


class OutboxPump:
    """Sends due outbox messages on a few threads, as soon as a commit says one is owed.

    One thread waits on the commit watcher; one reads the due messages and hands each to
    a sender thread, never one that is already being sent by this process.
    """

    def __init__(
        self,
        deliverer: Deliverer,
        watcher: CommitWatcher | None = None,
        *,
        senders: int = SENDER_THREADS,
        idle_seconds: float = IDLE_SWEEP_SECONDS,
    ) -> None:
        self._deliverer = deliverer
        self._watcher = watcher
        self._idle_seconds = idle_seconds
        self._senders = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="leadloop-send")
        # Messages claimed at once: what the senders are sending, and as many again queued
        # to them. Each claim is a turn at SQLite's one write lock, so the pump claims a
        # batch at a time; a claimed message waits at most one send for a sender. While
        # this many are out, reading the outbox again would only find them again (SQLite
        # wakes the pump at every commit, its own included).
        self._capacity = 2 * senders
        self._read_when_short = False
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> OutboxPump:
        """Start sending, woken by the watcher; what is owed already goes out at once."""
        if self._watcher is None:
            raise ValueError("a running pump needs a commit watcher")
        self._threads = [
            threading.Thread(target=self._watch, args=(self._watcher,), name="leadloop-watch"),
            threading.Thread(target=self._dispatch_loop, name="leadloop-dispatch"),
        ]
        self._wake.set()
        for thread in self._threads:
            thread.start()
        return self

    def wake(self) -> None:
        """Look at the outbox now."""
        self._wake.set()

    def close(self) -> None:
        """Stop reading the outbox and wait for the sends in progress to be recorded."""
        self._stopped.set()
        self._wake.set()
        for thread in self._threads:
            thread.join()
        self._senders.shutdown(wait=True)
        if self._watcher is not None:
            self._watcher.close()

    def drain(self, timeout: float = 10.0) -> int:
        """Send everything due now on the sender threads and wait for it; how many were sent.

        For tests and one-off runs, without the watcher: the same reads, claims and sends as
        the running pump. Stops when a pass finds nothing new to send.
        """
        sent = 0
        tried: set[int] = set()
        while True:
            try:
                due = self._due(limit=BATCH)
            except Exception:
                logger.exception("could not read the outbox; what is owed stays owed")
                return sent
            fresh = [message_id for message_id in due if message_id not in tried]
            if not fresh:
                return sent
            tried.update(fresh)
            claimed = self._deliverer.claim(fresh)
            sends = [self._senders.submit(self._send, each) for each in claimed]
            done, pending = futures.wait(sends, timeout=timeout)
            if pending:
                raise TimeoutError(
                    f"{len(pending)} outbox message(s) still sending after {timeout} s"
                )
            sent += sum(1 for send in done if send.result())

    def _watch(self, watcher: CommitWatcher) -> None:
        while not self._stopped.is_set():
            if watcher.wait(WATCH_SECONDS):
                self._wake.set()

    def _dispatch_loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._idle_seconds)
            self._wake.clear()
            try:
                self._dispatch()
            except Exception:
                logger.exception("could not read the outbox; trying again shortly")
                self._stopped.wait(1.0)

    def _dispatch(self) -> None:
        if self._stopped.is_set():
            return
        with self._lock:
            if len(self._in_flight) > self._capacity // 2:
                self._read_when_short = True  # the sends' own ends will wake the pump
                return
        due = self._due(limit=BATCH)
        with self._lock:
            fresh = [message_id for message_id in due if message_id not in self._in_flight]
            room = self._capacity - len(self._in_flight)
            taken = fresh[:room]
            self._in_flight.update(taken)
            if len(due) == BATCH or len(fresh) > room:
                self._read_when_short = True  # more owed: read again once these drain
        claimed = self._deliverer.claim(taken)
        won = {each.message.id for each in claimed}
        with self._lock:
            self._in_flight.difference_update(set(taken) - won)
        for each in claimed:
            self._senders.submit(self._send, each)

    def _due(self, *, limit: int) -> list[int]:
        with self._deliverer.session_factory() as session:
            only_reading(session)
            return outbox.due_message_ids(
                session, now=self._deliverer.clock(), limit=limit, bulk_kinds=BULK_KINDS
            )

    def _send(self, claimed: ClaimedMessage) -> bool:
        message_id = claimed.message.id
        try:
            return self._deliverer.deliver_claimed(claimed)  # never raises; a failure stays owed
        finally:
            with self._lock:
                self._in_flight.discard(message_id or -1)
                # Half drained: the next look claims a batch worth its cost.
                if self._read_when_short and len(self._in_flight) <= self._capacity // 2:
                    self._read_when_short = False
                    self._wake.set()


@dataclass
class DeliveryService:
    """Everything the delivery process holds: the outbox pump and the scheduler."""

    engine: Engine
    deliverer: Deliverer
    pump: OutboxPump
    scheduler: BackgroundScheduler

    @classmethod
    def start(cls, settings: Settings, *, clock: Clock) -> DeliveryService:
        """Connect to the (already migrated) database and start sending."""
        engine = create_db_engine(settings.database_url)
        session_factory = make_session_factory(engine)
        deliverer = build_deliverer(
            settings,
            session_factory=session_factory,
            client=build_web_client(
                token=settings.slack_bot_token, base_url=settings.slack_api_url
            ),
            clock=clock,
            installations=Installations.on(engine, settings),
        )
        pump = OutboxPump(deliverer, watch_commits(engine)).start()
        scheduler = build_scheduler(
            defaults=deliverer.defaults,
            session_factory=session_factory,
            clock=clock,
            tick_seconds=settings.scheduler_tick_seconds,
        )
        scheduler.start()
        return cls(engine=engine, deliverer=deliverer, pump=pump, scheduler=scheduler)

    def close(self) -> None:
        """Finish the sends and scheduled jobs in progress, then let go of the database."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.pump.close()
        self.deliverer.close()  # its heartbeat: nothing is being sent any more
        self.engine.dispose()
