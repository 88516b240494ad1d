"""One engine per process and a session factory: one session per unit of work."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

DEFAULT_DATABASE_URL = "sqlite:///./data/leadloop.db"
READ_ONLY_OPTION = "leadloop_read_only"
WAIT_LIMIT_OPTION = "leadloop_wait_limit_ms"
# How long a SQLite writer waits for the write lock, unless its session says otherwise.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# SQLite's own wait for a lock, on every statement. A writer waits for the write lock at
# BEGIN IMMEDIATE in a loop of its own (see _take_write_lock); other statements rarely wait.
SQLITE_STATEMENT_BUSY_MS = 5
# Between two tries at the write lock: doubling from the first to the last, then the last.
SQLITE_LOCK_RETRY_SECONDS = (0.0005, 0.005)
# PostgreSQL connections give up connecting after this many seconds (libpq's minimum is 2);
# libpq's default is to wait for the operating system, minutes on an unreachable host.
POSTGRES_CONNECT_TIMEOUT_S = 2

# A SQLite database holds webhook secrets and, in OAuth mode, bot tokens: owner only.
OWNER_ONLY = 0o600
OWNER_ONLY_FOLDER = 0o700
# The files SQLite keeps beside the database; it gives them the database file's mode.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

logger = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs, which SQLAlchemy would send to psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Build the engine for ``url``; a SQLite file's folder is created on first use."""
    url = normalise_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(url, parsed.database)
    # A connect_timeout in the URL wins; without one, connecting is bounded too.
    connect_args = (
        {} if "connect_timeout" in parsed.query else {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    )
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=connect_args,
    )

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A session that must answer someone waiting (see limit_waits) gives up on a lock,
        # or on a statement, after its limit. SET LOCAL-like: set_config(..., true) lasts
        # until the transaction ends, so the pooled connection goes back with the defaults.
        limit = connection.get_execution_options().get(WAIT_LIMIT_OPTION)
        if limit:
            connection.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(ms)s, true), "
                "set_config('statement_timeout', %(ms)s, true)",
                {"ms": str(int(limit))},
            )

    return engine


def _create_sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        # A folder created here is the owner's alone, as the files in it are; an existing
        # one is left as the admin made it.
        path.parent.mkdir(mode=OWNER_ONLY_FOLDER, parents=True, exist_ok=True)
        protect_sqlite_files(path)
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, which would otherwise
        # commit at the first SAVEPOINT's release; SQLAlchemy emits BEGIN itself below.
        dbapi_connection.isolation_level = None
        # WAL lets readers go on while one writer writes; writers wait their turn at BEGIN.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_STATEMENT_BUSY_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the write lock
        # (SQLite answers "database is locked" at once), so writers take it up front.
        # Long readers (exports) ask for a read-only connection and do not block writers.
        options = connection.get_execution_options()
        if options.get(READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
            return
        # BEGIN IMMEDIATE is where a writer waits for the lock, so a session that must
        # answer someone waiting (see limit_waits) waits less.
        wait_ms = int(options.get(WAIT_LIMIT_OPTION) or SQLITE_BUSY_TIMEOUT_MS)
        _take_write_lock(connection.connection.driver_connection, wait_ms=wait_ms)

    return engine


def _take_write_lock(sqlite_connection: Any, *, wait_ms: int) -> None:
    """``BEGIN IMMEDIATE``, tried again within at most 5 ms until ``wait_ms`` have passed.

    SQLite's own busy handler sleeps longer and longer between tries (1, 2, 5, 10 … up to
    100 ms), so under a burst of ratings a writer went on sleeping long after the lock was
    free: acks took a second, and some gave up after their 1.5 s (bench/README.md). A try
    costs a few microseconds; the pause stays short without every waiter spinning.
    """
    deadline = time.monotonic() + wait_ms / 1000
    pause, longest = SQLITE_LOCK_RETRY_SECONDS
    while True:
        try:
            sqlite_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            locked = "locked" in str(error) or "busy" in str(error)
            if not locked or time.monotonic() >= deadline:
                raise OperationalError("BEGIN IMMEDIATE", None, error) from error
        time.sleep(pause)
        pause = min(pause * 2, longest)


def protect_sqlite_files(path: Path) -> None:
    """Make a SQLite database and the files beside it readable by their owner only.

    A new database file is created empty with mode 0600 before SQLite opens it (SQLite
    would create it 0644 under the usual umask), and SQLite gives its WAL, shared-memory
    and journal files the database file's mode, whatever the umask. An existing file that
    its group or others may read is tightened, with one warning naming what changed; a
    file leadloop may not change (another user's) is left as it is, with a warning.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        pass
    else:
        try:
            os.fchmod(descriptor, OWNER_ONLY)  # the exact mode, whatever the umask
        finally:
            os.close(descriptor)
    tightened: list[str] = []
    for candidate in [path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)]:
        try:
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & 0o077:
                candidate.chmod(mode & 0o700)
                tightened.append(f"{candidate} (was {mode:04o})")
        except FileNotFoundError:
            continue
        except OSError as error:
            logger.warning(
                "%s can be read by others and leadloop could not change that (%s); it holds "
                "secrets: chmod 600 it",
                candidate,
                error.strerror or type(error).__name__,
            )
    if tightened:
        logger.warning(
            "made the database readable by its owner only, since it holds secrets: %s",
            ", ".join(tightened),
        )


def limit_waits(session: Session, *, milliseconds: int) -> None:
    """Make the session's transaction give up waiting after ``milliseconds``.

    For a write that someone waits on, such as a Slack listener that stores before it
    acknowledges (Slack allows 3 seconds): by default a SQLite writer waits 15 s for the
    write lock, and PostgreSQL waits for a row or index lock without limit. Here SQLite's
    wait for the lock, and PostgreSQL's wait for any lock or any statement, end with an
    OperationalError after ``milliseconds``. Call it first, before the session begins.
    """
    session.connection(execution_options={WAIT_LIMIT_OPTION: milliseconds})


def only_reading(session: Session) -> None:
    """Make the session's transaction a reader: on SQLite it then never takes the write lock,
    so a frequent read (the delivery process looking for due posts) never holds up a writer.
    Call it first, before the session begins; the session must not write."""
    session.connection(execution_options={READ_ONLY_OPTION: True})


def sqlite_file_missing(url: str) -> str | None:
    """The path of a SQLite database file that does not exist yet, else None."""
    parsed = make_url(normalise_database_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    return None if path.exists() else str(path)


def make_session_factory(engine: Engine) -> SessionFactory:
    """Sessions that keep loaded values readable after commit."""

    def session_factory() -> Session:
        return Session(engine, expire_on_commit=False)

    return session_factory


def read_only(engine: Engine) -> Engine:
    """The same engine for long reads that must not hold SQLite's write lock."""
    return engine.execution_options(**{READ_ONLY_OPTION: True})


def database_answers(engine: Engine) -> bool:
    """True when the database accepts a trivial query; used by the health check."""
    try:
        with read_only(engine).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False
    return True
