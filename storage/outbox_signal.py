"""Telling the delivery process that the outbox owes something, as soon as it is committed.

The processes that answer Slack only commit outbox rows; another process sends them. Two
ways to hear about a commit at once instead of at the next sweep:

- PostgreSQL: ``pg_notify`` inside the transaction that owes the post. PostgreSQL delivers it
  to every ``LISTEN``-ing connection when (and only if) that transaction commits, and folds
  the notifications of one transaction into one.
- SQLite: ``PRAGMA data_version`` on a connection of its own changes whenever another
  connection commits to the file. Reading it costs no disk access (it reads the WAL index
  in shared memory), so polling it every few milliseconds is cheap and about as prompt.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from sqlalchemy import Engine, text
from sqlmodel import Session

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "leadloop_outbox"
# How often a SQLite watcher looks at data_version: the longest a commit waits to be seen.
SQLITE_POLL_SECONDS = 0.02
# How long a PostgreSQL watcher waits before listening again on a new connection.
RECONNECT_SECONDS = 1.0


def announce_owed(session: Session) -> None:
    """Within the transaction that owes a post: wake the delivery process when it commits.

    Nothing to do on SQLite, whose watcher sees every commit by itself.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})


class CommitWatcher(Protocol):
    """Blocks until something may be owed, or a timeout."""

    def wait(self, timeout: float) -> bool:
        """True when a commit was seen within ``timeout`` seconds (False: timed out)."""
        ...

    def close(self) -> None:
        """Let go of the watcher's connection."""
        ...


def watch_commits(engine: Engine) -> CommitWatcher:
    """The watcher for ``engine``'s database."""
    if engine.dialect.name == "postgresql":
        return PostgresListener(engine)
    return SqliteDataVersion(engine)


class SqliteDataVersion:
    """Polls ``PRAGMA data_version``; its own commits never change what it reads."""

    def __init__(self, engine: Engine, *, poll_seconds: float = SQLITE_POLL_SECONDS) -> None:
        self._connection = engine.raw_connection()
        self._poll_seconds = poll_seconds
        self._stopped = threading.Event()
        self._seen = self._version()

    def _version(self) -> int:
        cursor = self._connection.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row else 0

    def wait(self, timeout: float) -> bool:
        """Poll until the file changed, the timeout passed, or ``close`` was called."""
        waited = 0.0
        while waited < timeout and not self._stopped.is_set():
            version = self._version()
            if version != self._seen:
                self._seen = version
                return True
            self._stopped.wait(self._poll_seconds)
            waited += self._poll_seconds
        return False

    def close(self) -> None:
        """Stop waiting and close the connection."""
        self._stopped.set()
        self._connection.close()


class PostgresListener:
    """``LISTEN leadloop_outbox`` on a connection of its own, reconnecting when it drops."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._raw: Any = None  # the pool's wrapper, which can invalidate the connection
        self._connection: Any = None
        self._closed = threading.Event()

    def _listening(self) -> Any:
        if self._connection is None or self._connection.closed:
            raw = self._engine.raw_connection()
            connection: Any = raw.driver_connection  # psycopg's own, which can wait for notifies
            connection.autocommit = True
            connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
            self._raw, self._connection = raw, connection
        return self._connection

    def wait(self, timeout: float) -> bool:
        """Wait for a notification; a lost connection counts as one (something may be owed)."""
        if self._closed.is_set():
            return False
        try:
            connection = self._listening()
            return any(True for _ in connection.notifies(timeout=timeout, stop_after=1))
        except Exception as error:  # psycopg and SQLAlchemy errors alike: reconnect next time
            logger.warning(
                "lost the database's outbox notifications (%s); reconnecting",
                type(error).__name__,
            )
            self._forget_connection()
            self._closed.wait(RECONNECT_SECONDS)  # a database that is down is not hammered
            return True

    def _forget_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                self._raw.invalidate()
            except Exception:
                logger.debug("could not close the outbox listener's connection", exc_info=True)

    def close(self) -> None:
        """Stop listening."""
        self._closed.set()
        self._forget_connection()
