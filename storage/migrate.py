"""Bring a database's schema up to date with Alembic, from leadloop's own code."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

logger = logging.getLogger(__name__)

# An arbitrary constant naming leadloop's migration lock in PostgreSQL.
MIGRATION_LOCK = 0x1EAD100B

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at leadloop's migrations and at ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration the database has not had yet; a no-op when it is current."""
    config = alembic_config(engine)
    before = current_revision(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several instances starting at once must not run the same migration twice;
            # the lock is released when this transaction ends.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        # "heads": features developed side by side add migrations on separate branches.
        command.upgrade(config, "heads")
    after = current_revision(engine)
    if before != after:
        logger.info("database schema upgraded from %s to %s", before or "empty", after)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def head_revision(engine: Engine) -> str | None:
    """The newest revision leadloop's code knows (several, comma-joined, on branches)."""
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    return ",".join(sorted(heads)) or None
