"""The engine's bound on waiting, for writes that someone is waiting on."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from storage.engine import SQLITE_BUSY_TIMEOUT_MS, SessionFactory, limit_waits
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

    # The pooled connection goes back to the defaults for whoever uses it next.
    with session_factory() as session:
        if engine.dialect.name == "sqlite":
            busy = session.execute(text("PRAGMA busy_timeout")).scalar()
            assert busy == SQLITE_BUSY_TIMEOUT_MS
        else:
            assert session.execute(text("SHOW lock_timeout")).scalar() == "0"
            assert session.execute(text("SHOW statement_timeout")).scalar() == "0"
