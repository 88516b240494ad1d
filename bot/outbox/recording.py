"""Group commit for sent posts: what several senders have to record goes in one transaction.

Each post Slack has accepted must be recorded (what it changed, and its outbox row marked
sent). One transaction per post meant one more turn at SQLite's single write lock per
rating, the lock every ack waits for (bench/README.md). Here the sender that finds no
commit in progress commits everything waiting, its own included; the others wait for
that commit. Nothing waits for a timer: a lone post is committed at once, and under load
the batches grow by themselves while a commit is under way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.outbox.job import Recorder
from storage.models import OutboxMessage

# Posts recorded in one transaction at most, so that one transaction stays short.
MAX_BATCH = 64


@dataclass
class Sent:
    """One post Slack has, waiting to be recorded."""

    message: OutboxMessage
    record: Recorder
    done: bool = False
    # The batch it was in could not be committed: the sender records it alone, with retries.
    alone: bool = False


CommitBatch = Callable[[Sequence[Sent]], None]


class GroupCommit:
    """Records sent posts in batches; ``record`` returns once its post's batch is done."""

    def __init__(self, commit_batch: CommitBatch, *, max_batch: int = MAX_BATCH) -> None:
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        self._changed = threading.Condition()
        self._waiting: list[Sent] = []
        self._committing = False

    def record(self, sent: Sent) -> None:
        """Wait until ``sent`` is recorded, committing it (and others') if nobody is.

        A sender that commits a batch without its own post in it (the batch was full)
        goes on until its post is in one. On return, ``sent.alone`` says the batch failed
        and the caller must record it alone.
        """
        with self._changed:
            self._waiting.append(sent)
        while True:
            with self._changed:
                while not sent.done and self._committing:
                    self._changed.wait()
                if sent.done:
                    return
                self._committing = True
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
            try:
                self._commit(batch)
            finally:
                with self._changed:
                    self._committing = False
                    self._changed.notify_all()

    def _commit(self, batch: list[Sent]) -> None:
        try:
            self._commit_batch(batch)
        except Exception:  # noqa: BLE001 - each sender retries and reports its own
            for sent in batch:
                sent.alone = True
        finally:
            for sent in batch:
                sent.done = True
