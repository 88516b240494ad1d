"""A database that refuses writes, for listeners that must say that nothing was saved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def refusing_writes(engine: Engine, *, writes: tuple[str, ...] = WRITES) -> Iterator[None]:
    """Make every statement starting with one of ``writes`` fail, as a lost database would.

    Reads still work, so a listener gets as far as its write and fails there.
    """

    def before_cursor_execute(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith(writes):
            raise OperationalError(statement, parameters, Exception("database refuses writes"))

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
