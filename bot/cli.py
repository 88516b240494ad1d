"""The ``leadloop`` command: run the bot, migrate the database, export the data."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TextIO

from dotenv import load_dotenv
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli_reports import ReportCliError, add_report_commands
from bot.config import ConfigError, Settings, database_url_from_env
from bot.export import parse_since, write_csv, write_json
from bot.logging_setup import configure_logging
from storage import export as export_rows
from storage.engine import (
    create_db_engine,
    make_session_factory,
    read_only,
    sqlite_file_missing,
)
from storage.migrate import upgrade_to_head

logger = logging.getLogger("leadloop")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

EXPORTS = {
    "ratings": (export_rows.iter_ratings, export_rows.RATING_COLUMNS),
    "responses": (export_rows.iter_responses, export_rows.RESPONSE_COLUMNS),
    "leads": (export_rows.iter_leads, export_rows.LEAD_COLUMNS),
}


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every subcommand."""
    parser = argparse.ArgumentParser(
        prog="leadloop",
        description="The Slack app that runs the feedback loop between sales and marketing.",
        epilog="Settings come from the environment and from .env; see .env.example.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="start the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on $PORT)",
        description="Start the bot. Brings the database schema up to date first. With "
        "SLACK_APP_TOKEN set it connects over Socket Mode; otherwise it serves Slack's "
        "requests at POST /slack/events and a health check at GET /healthz on $PORT.",
    )
    run.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    run.add_argument("--port", type=int, help="port to listen on (default $PORT or 3000)")
    run.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    run.set_defaults(handler=command_run)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database schema up to date and exit",
        description="Apply every database migration not yet applied to DATABASE_URL.",
    )
    migrate.set_defaults(handler=command_migrate)

    export = commands.add_parser(
        "export",
        help="write ratings, responses or leads as CSV or JSON to stdout",
        description="Write one workspace's ratings, responses or leads to stdout, reading "
        "the same DATABASE_URL as the bot. CSV cells that a spreadsheet would run as a "
        "formula are prefixed with an apostrophe.",
    )
    export.add_argument("what", choices=sorted(EXPORTS), help="what to export")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="default csv")
    export.add_argument(
        "--workspace",
        metavar="TEAM_ID",
        help="Slack workspace ID (T…); needed only when the database holds several",
    )
    export.add_argument(
        "--since", metavar="DATE", help="only rows created on or after DATE (YYYY-MM-DD, UTC)"
    )
    export.set_defaults(handler=command_export)
    add_report_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``leadloop`` console script and ``python -m bot``."""
    load_dotenv(os.environ.get("LEADLOOP_ENV_FILE", ".env"), override=False)
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args, os.environ) or EXIT_OK)
    except ConfigError as error:
        print(f"leadloop: configuration problem: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (CliError, ReportCliError) as error:
        print(f"leadloop: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return EXIT_OK


def command_migrate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop migrate``."""
    configure_logging(level="INFO")
    engine = create_db_engine(database_url_from_env(env))
    try:
        _migrate(engine)
    finally:
        engine.dispose()
    print("leadloop: the database schema is up to date.")
    return EXIT_OK


def _migrate(engine: Engine) -> None:
    try:
        upgrade_to_head(engine)
    except SQLAlchemyError as error:
        raise CliError(
            f"could not open or update the database ({type(error).__name__}). Check "
            "DATABASE_URL and that the database server is running.",
            EXIT_FAILURE,
        ) from None


def command_export(
    args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None
) -> int:
    """``leadloop export``."""
    out = out or sys.stdout
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as error:
        raise CliError(f"--since: {error}") from None
    database_url = database_url_from_env(env)
    missing = sqlite_file_missing(database_url)
    if missing:
        raise CliError(
            f"there is no database at {missing}. Run the export where the bot runs, or set "
            "DATABASE_URL to the bot's database.",
            EXIT_FAILURE,
        )
    engine = create_db_engine(database_url)
    try:
        _migrate(engine)
        _write_export(engine, args, since=since, out=out)
    finally:
        engine.dispose()
    return EXIT_OK


def _write_export(
    engine: Engine, args: argparse.Namespace, *, since: datetime | None, out: TextIO
) -> None:
    rows_for, columns = EXPORTS[args.what]
    with make_session_factory(read_only(engine))() as session:
        team_id = _pick_workspace(export_rows.workspaces(session), args.workspace)
        rows = rows_for(session, team_id=team_id, since=since)
        if args.format == "json":
            write_json(rows, out)
        else:
            write_csv(rows, columns, out)
    out.flush()


def _pick_workspace(known: list[str], wanted: str | None) -> str:
    if wanted:
        return wanted
    if len(known) == 1:
        return known[0]
    if not known:
        raise CliError("the database has no data yet: nothing to export.", EXIT_FAILURE)
    raise CliError(
        "the database holds several workspaces; choose one with --workspace: " + ", ".join(known)
    )


def command_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop run``."""
    settings = Settings.from_env(env)
    configure_logging(level=args.log_level, secrets=settings.secrets)
    from bot.runtime import Runtime  # imported late: Bolt and APScheduler are heavy

    runtime = Runtime.start(settings, on_error=CliError)
    port = args.port or settings.port
    restore_signals = _stop_on_signals(runtime.stop)
    try:
        runtime.serve(host=args.host, port=port)
    except OSError as error:
        raise CliError(f"could not listen on {args.host}:{port}: {error.strerror}") from None
    finally:
        restore_signals()
    return EXIT_OK


def _stop_on_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """Stop gracefully on SIGTERM and SIGINT; returns a function restoring the old handlers."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def shut_down(signal_name: str) -> None:
        logger.info("received %s; finishing requests in flight", signal_name)
        stop()

    def handle(signum: int, _frame: object) -> None:
        # A signal handler interrupts the main thread anywhere, even mid-write to stderr:
        # it only starts the shutdown; logging and waiting happen on the new thread.
        name = signal.Signals(signum).name
        threading.Thread(target=shut_down, args=(name,), name="leadloop-shutdown").start()

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
