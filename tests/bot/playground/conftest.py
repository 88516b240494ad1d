"""A playground per test, on a copy of one database migrated and seeded once (seeding the
demo's quarter is most of a first start's time). The copy is as a first start leaves it
before anything was sent: the seeded hand-offs are still owed, and the test's playground
posts them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.playground.running import Playground, seed, start_playground
from storage.engine import create_db_engine, make_session_factory
from storage.migrate import upgrade_to_head

DATABASE = "playground.db"


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new playground database, migrated and seeded, with nothing sent yet."""
    path = tmp_path_factory.mktemp("seeded") / DATABASE
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        upgrade_to_head(engine)
        seed(make_session_factory(engine), datetime.now(UTC))
    finally:
        engine.dispose()
    return path


@pytest.fixture
def playground(seeded_database: Path, tmp_path: Path) -> Iterator[Playground]:
    """A playground on a database of its own (a copy of the seeded one), on a free port."""
    folder = tmp_path / "data"
    folder.mkdir()
    for part in seeded_database.parent.glob(f"{DATABASE}*"):  # with any -wal left behind
        shutil.copyfile(part, folder / part.name)
    running = start_playground(database=folder / DATABASE, port=0)
    try:
        yield running
    finally:
        running.close()
