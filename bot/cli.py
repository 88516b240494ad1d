"""The ``leadloop`` command: run the bot, migrate the database, import leads, export the data."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dotenv import load_dotenv
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli_reports import ReportCliError, add_report_commands
from bot.clock import system_clock
from bot.config import ConfigError, Settings, database_url_from_env
from bot.export import parse_since, write_csv, write_json
from bot.handoffs import ImportSummary, WorkspaceProblem, choose_workspace, import_leads
from bot.lead_intake import (
    EXPECTED_HEADER,
    CsvHeaderError,
    LeadRecord,
    RowError,
    open_lead_csv,
    read_lead_csv,
)
from bot.logging_setup import configure_logging
from storage import export as export_rows
from storage.engine import (
    create_db_engine,
    make_session_factory,
    read_only,
    sqlite_file_missing,
)
from storage.migrate import upgrade_to_head
from storage.workspaces import known_workspaces

if TYPE_CHECKING:
    from bot.runtime import Runtime

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
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="HTTP mode: worker processes (default 1); each runs the scheduler too, and the "
        "database makes every scheduled post happen once",
    )
    run.add_argument(
        "--threads",
        type=_positive_int,
        default=8,
        metavar="T",
        help="HTTP mode: requests served at once by each worker (default 8)",
    )
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

    lead_import = commands.add_parser(
        "import",
        help="import leads from a CSV file; each new lead gets a hand-off message",
        description="Import leads from a UTF-8 CSV file whose first row names the columns: "
        f"{EXPECTED_HEADER} (status is optional; other columns are kept as attributes). Leads "
        "are matched by external_ref: new ones are created and owe a hand-off message (the "
        "running bot posts it), known ones are updated where a field changed; a blank cell "
        "keeps the stored value. Malformed rows are reported and skipped.",
        epilog="Exit status: 0 when every row was imported, 1 when some rows were skipped "
        "(the others are imported), 2 when nothing could be imported.",
    )
    lead_import.add_argument("file", metavar="FILE.csv", help="the CSV file to import")
    lead_import.add_argument(
        "--dry-run", action="store_true", help="check the file and report, writing nothing"
    )
    lead_import.add_argument(
        "--workspace",
        metavar="TEAM_ID",
        help="Slack workspace ID (T…); needed only when leadloop runs in several",
    )
    lead_import.set_defaults(handler=command_import)
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
    from bot import runtime  # imported late: Bolt, APScheduler and gunicorn are heavy

    runtime.prepare(settings, on_error=CliError)
    if settings.socket_mode:
        return _run_socket_mode(runtime.Runtime.start(settings, on_error=CliError))
    return _run_http(args, settings)


def _run_http(args: argparse.Namespace, settings: Settings) -> int:
    """Serve HTTP with gunicorn: the master binds the port, each worker serves it."""
    from bot.runtime import serve_http
    from bot.serving import ServeOptions, bind_listener

    port = args.port if args.port is not None else settings.port
    try:
        listener = bind_listener(args.host, port)
    except OSError as error:
        raise CliError(f"could not listen on {args.host}:{port}: {error.strerror}") from None
    options = ServeOptions(host=args.host, port=port, workers=args.workers, threads=args.threads)
    status = serve_http(settings, listener=listener, options=options, on_error=CliError)
    if status != EXIT_OK:
        raise CliError("a worker could not start; the log above says why.", EXIT_FAILURE)
    logger.info("leadloop stopped")
    return EXIT_OK


def _run_socket_mode(runtime: Runtime) -> int:
    """Take Slack's requests over Socket Mode until SIGTERM or SIGINT."""
    restore_signals = _stop_on_signals(runtime.stop)
    try:
        runtime.serve_socket_mode()
    finally:
        restore_signals()
        runtime.close()
        logger.info("leadloop stopped")
    return EXIT_OK


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


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


# --- leadloop import ----------------------------------------------------------------------

SHOWN_SKIPPED_ROWS = 100


def command_import(
    args: argparse.Namespace,
    env: Mapping[str, str],
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``leadloop import``."""
    out, err = out or sys.stdout, err or sys.stderr
    path = Path(args.file)
    _check_lead_file(path)
    database_url = database_url_from_env(env)
    missing = sqlite_file_missing(database_url)
    if missing:
        raise CliError(
            f"there is no database at {missing}. Run the import where the bot runs, or set "
            "DATABASE_URL to the bot's database.",
            EXIT_FAILURE,
        )
    engine = create_db_engine(database_url)
    try:
        _migrate(engine)
        team_id, summary = _import(engine, args, path, _Progress(err) if err.isatty() else None)
    finally:
        engine.dispose()
    _print_import_summary(summary, path=path, team_id=team_id, dry_run=args.dry_run, out=out)
    return EXIT_FAILURE if summary.skipped else EXIT_OK


def _check_lead_file(path: Path) -> None:
    """Refuse a file that cannot be read or whose header is wrong, before any work starts."""
    try:
        with open_lead_csv(path) as stream:
            next(read_lead_csv(stream), None)
    except CsvHeaderError as error:
        raise CliError(f"{path}: {error}") from None
    except FileNotFoundError:
        raise CliError(f"{path}: no such file. Check the path and try again.") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a folder; give the CSV file inside it.") from None
    except OSError as error:
        raise CliError(f"{path}: cannot read it ({error.strerror}).") from None


def _lead_rows(path: Path) -> Iterator[LeadRecord | RowError]:
    """The file's rows, read from the start each time it is called."""
    with open_lead_csv(path) as stream:
        yield from read_lead_csv(stream)


def _import(
    engine: Engine, args: argparse.Namespace, path: Path, progress: _Progress | None
) -> tuple[str, ImportSummary]:
    # A dry run only reads: on SQLite it must not hold the write lock the bot needs.
    session_factory = make_session_factory(read_only(engine) if args.dry_run else engine)
    with session_factory() as session:
        known = known_workspaces(session)
    team_id = choose_workspace(known, args.workspace, how_to_choose="pass --workspace TEAM_ID")
    if isinstance(team_id, WorkspaceProblem):
        raise CliError(team_id.message)
    try:
        summary = import_leads(
            session_factory,
            team_id=team_id,
            read=lambda: _lead_rows(path),
            now=system_clock(),
            dry_run=args.dry_run,
            on_batch=progress.show if progress else None,
        )
    except CsvHeaderError as error:  # the file changed since it was checked
        raise CliError(f"{path}: {error}") from None
    finally:
        if progress:
            progress.clear()
    return team_id, summary


def _print_import_summary(
    summary: ImportSummary, *, path: Path, team_id: str, dry_run: bool, out: TextIO
) -> None:
    if dry_run:
        print(f"Dry run of {path} for workspace {team_id}: nothing was written.", file=out)
        print("Importing it would give:", file=out)
    else:
        print(f"Imported {path} into workspace {team_id}.", file=out)
    for label, count in (
        ("created", summary.created),
        ("updated", summary.updated),
        ("unchanged", summary.unchanged),
        ("skipped", len(summary.skipped)),
    ):
        print(f"  {label + ':':<11}{count:>9,}", file=out)
    if summary.repeated:
        print(
            f"  ({summary.repeated:,} row(s) repeated an earlier row's external_ref; "
            "each lead was merged in file order, later values winning)",
            file=out,
        )
    for problem in summary.skipped[:SHOWN_SKIPPED_ROWS]:
        print(f"    {problem.message}", file=out)
    hidden = len(summary.skipped) - SHOWN_SKIPPED_ROWS
    if hidden > 0:
        print(f"    … and {hidden:,} more; fix these and import again to see the rest.", file=out)
    if summary.handoffs_owed:
        print(
            f"{summary.handoffs_owed:,} hand-off message(s) queued: the running bot posts "
            "them to each lead's owner and to HANDOFF_CHANNEL.",
            file=out,
        )


class _Progress:
    """One line on the terminal: the share of the file's rows imported so far."""

    WIDTH = 30

    def __init__(self, err: TextIO) -> None:
        self.err = err

    def show(self, summary: ImportSummary) -> None:
        """Redraw the bar after a batch."""
        done = min(summary.rows_read / max(summary.rows_total, 1), 1.0)
        filled = int(done * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.err.write(
            f"\rimporting [{bar}] {done:4.0%}  {summary.rows_read:,} of {summary.rows_total:,} rows"
        )
        self.err.flush()

    def clear(self) -> None:
        """Erase the bar before the summary is printed."""
        self.err.write("\r" + " " * (self.WIDTH + 50) + "\r")
        self.err.flush()
