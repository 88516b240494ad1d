"""Inserting a row that a unique key may already hold, safely under concurrency."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


def add_unless_duplicate(session: Session, row: Row) -> Row | None:
    """Insert ``row`` in a savepoint; None if a unique key already holds it.

    The savepoint keeps the caller's transaction usable after the conflict, and the
    database's unique index (not a prior SELECT) decides, so two processes racing to
    insert the same row both end up correct.
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row
