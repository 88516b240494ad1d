"""What every ``leadloop`` subcommand shares: exit codes, the user's error, the database."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import database_url_from_env
from storage.engine import create_db_engine, sqlite_file_missing
from storage.migrate import upgrade_to_head

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def migrate(engine: Engine) -> None:
    """Bring the schema up to date, or say why the database can't be used."""
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as error:
        raise CliError(
            f"could not open or update the database ({type(error).__name__}). Check "
            "DATABASE_URL and that the database server is running.",
            EXIT_FAILURE,
        ) from None


def open_bot_database(env: Mapping[str, str]) -> Engine:
    """The bot's database (DATABASE_URL), migrated; refuses to create a new SQLite file.

    A command that reads or adds to the bot's data must not start an empty database of
    its own somewhere the bot never looks.
    """
    url = database_url_from_env(env)
    missing = sqlite_file_missing(url)
    if missing:
        raise CliError(
            f"there is no database at {missing}. Run this where the bot runs (after "
            "`make run` has started it once), or set DATABASE_URL to the bot's database; "
            "to look at the demo's, set DATABASE_URL=sqlite:///./data/demo.db.",
            EXIT_FAILURE,
        )
    engine = create_db_engine(url)
    try:
        migrate(engine)
    except CliError:
        engine.dispose()
        raise
    return engine
