"""The engine's bound on waiting, for writes that someone is waiting on, and the modes of
the SQLite files it opens."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from storage.engine import (
    SQLITE_STATEMENT_BUSY_MS,
    SessionFactory,
    create_db_engine,
    limit_waits,
)
from storage.models import Lead
from storage.ratings import get_or_create_lead
from tests.conftest import FakeClock


def hold_the_lock(engine: Engine, session: Session, clock: FakeClock) -> None:
    """Make ``session`` hold what a second writer of lead ACME-1 has to wait for."""
    if engine.dialect.name == "sqlite":
        session.connection()  # BEGIN IMMEDIATE: the database's one write lock
        return
    # PostgreSQL: an uncommitted ACME-1 holds its unique key; a second insert waits on it.
    get_or_create_lead(session, team_id="T1", external_ref="ACME-1", now=clock())


def test_a_limited_write_gives_up_on_a_held_lock_and_stores_nothing(
    engine: Engine, session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as holder:
        hold_the_lock(engine, holder, clock)
        with session_factory() as waiter, pytest.raises(OperationalError):
            limit_waits(waiter, milliseconds=50)
            get_or_create_lead(waiter, team_id="T1", external_ref="ACME-1", now=clock())
            waiter.commit()
        holder.rollback()

    with session_factory() as session:
        assert session.exec(select(Lead)).all() == []


def test_the_limit_ends_with_its_transaction(
    engine: Engine, session_factory: SessionFactory
) -> None:
    with session_factory() as session:
        limit_waits(session, milliseconds=50)
        session.commit()

    # The pooled connection goes back to the defaults for whoever uses it next. (SQLite's
    # limit is the writer's own wait loop at BEGIN: the connection's setting never changes.)
    with session_factory() as session:
        if engine.dialect.name == "sqlite":
            busy = session.execute(text("PRAGMA busy_timeout")).scalar()
            assert busy == SQLITE_STATEMENT_BUSY_MS
        else:
            assert session.execute(text("SHOW lock_timeout")).scalar() == "0"
            assert session.execute(text("SHOW statement_timeout")).scalar() == "0"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that takes nothing away: SQLite alone would create files anyone can read."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


def test_a_new_sqlite_database_and_its_wal_files_are_readable_by_their_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db' / 'leadloop.db'}")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT x FROM t").all()
            files = modes(tmp_path / "db")
    finally:
        engine.dispose()

    assert files == {"leadloop.db": 0o600, "leadloop.db-wal": 0o600, "leadloop.db-shm": 0o600}
    assert modes(tmp_path) == {"db": 0o700}  # the folder it created: its names are private too


def test_an_existing_database_others_can_read_is_tightened_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "leadloop.db"
    earlier = sqlite3.connect(path)  # an older leadloop's files, still open: WAL and SHM too
    try:
        earlier.execute("PRAGMA journal_mode=WAL")
        earlier.execute("CREATE TABLE t (x INTEGER)")
        earlier.commit()
        for name in modes(tmp_path):
            (tmp_path / name).chmod(0o644)
        assert set(modes(tmp_path)) == {"leadloop.db", "leadloop.db-wal", "leadloop.db-shm"}

        with caplog.at_level(logging.WARNING, logger="storage.engine"):
            create_db_engine(f"sqlite:///{path}").dispose()
            create_db_engine(f"sqlite:///{path}").dispose()
    finally:
        earlier.close()

    [record] = caplog.records
    assert "readable by its owner only" in record.getMessage()
    assert "leadloop.db-shm (was 0644)" in record.getMessage()
    assert set(modes(tmp_path).values()) <= {0o600}
