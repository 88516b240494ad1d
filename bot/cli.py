"""The ``leadloop`` command: run the bot, migrate the database, import leads, export the data."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn, TextIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli_common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError, migrate, open_bot_database
from bot.cli_import import add_import_command
from bot.cli_reports import add_report_commands
from bot.config import ConfigError, Settings, database_url_from_env, log_level
from bot.environment import hide_from_libraries, read_environment
from bot.export import parse_since, write_csv, write_json
from bot.logging_setup import configure_logging
from bot.playground.command import add_playground_command
from bot.stopping import wait_until_set
from storage import export as export_rows
from storage import verdicts as verdict_rows
from storage.engine import create_db_engine, make_session_factory, read_only
from storage.workspaces import known_workspaces

if TYPE_CHECKING:
    from bot.delivery_supervisor import DeliverySupervisor
    from bot.runtime import Runtime

logger = logging.getLogger("leadloop")

EXPORTS = {
    "ratings": (export_rows.iter_ratings, export_rows.RATING_COLUMNS),
    "responses": (export_rows.iter_responses, export_rows.RESPONSE_COLUMNS),
    "leads": (export_rows.iter_leads, export_rows.LEAD_COLUMNS),
    "lead-changes": (export_rows.iter_lead_changes, export_rows.LEAD_CHANGE_COLUMNS),
    "verdicts": (verdict_rows.iter_verdicts, verdict_rows.VERDICT_COLUMNS),
    "kpi-values": (export_rows.iter_kpi_values, export_rows.KPI_VALUE_COLUMNS),
    "kpi-targets": (export_rows.iter_kpi_targets, export_rows.KPI_TARGET_COLUMNS),
    "answer-time-settings": (
        export_rows.iter_answer_time_settings,
        export_rows.ANSWER_TIME_SETTINGS_COLUMNS,
    ),
    "campaign-owners": (export_rows.iter_campaign_owners, export_rows.CAMPAIGN_OWNER_COLUMNS),
}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming what to change, exit status 2."""

    def error(self, message: str) -> NoReturn:
        if "required: COMMAND" in message:
            self.print_usage(sys.stderr)  # no command at all: show which there are
        self.exit(EXIT_USAGE, f"{self.prog}: {message}. See '{self.prog} --help'.\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with ``--help`` on every subcommand."""
    parser = OneLineParser(
        prog="leadloop",
        description="The Slack app that runs the feedback loop between sales and marketing.",
        epilog="Settings come from the environment and from .env; see .env.example.",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser
    )

    run = commands.add_parser(
        "run",
        help="start the bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on $PORT)",
        description="Start the bot. Brings the database schema up to date first. With "
        "SLACK_APP_TOKEN set it connects over Socket Mode; otherwise it serves Slack's "
        "requests at POST /slack/events and a health check at GET /healthz on $PORT.",
    )
    run.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    run.add_argument("--port", type=int, help="port to listen on (default $PORT or 3000)")
    run.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING or ERROR (default $LOG_LEVEL or INFO)",
    )
    run.add_argument(
        "--workers",
        type=_positive_int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="HTTP mode: worker processes that answer Slack (default: one per CPU core, "
        f"{os.cpu_count() or 1} here)",
    )
    run.add_argument(
        "--threads",
        type=_positive_int,
        default=8,
        metavar="T",
        help="HTTP mode: requests served at once by each worker (default 8)",
    )
    run.add_argument(
        "--without-delivery",
        action="store_true",
        help="do not start the delivery process; run `leadloop deliver` elsewhere instead",
    )
    run.set_defaults(handler=command_run)

    deliver = commands.add_parser(
        "deliver",
        help="send what the bot owes Slack and run the schedules, without answering Slack",
        description="The delivery process: posts ratings, DMs, hand-offs, reminders and "
        "reports as soon as they are stored, and runs the schedules. `leadloop run` starts "
        "one by itself; run this alone to scale delivery apart (with `leadloop run "
        "--without-delivery`). Several may run at once: the database hands each post to one.",
    )
    deliver.add_argument(
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING or ERROR (default $LOG_LEVEL or INFO)",
    )
    # Set by `leadloop run` for the child it starts: migrations are done, stop with the parent.
    deliver.add_argument("--exit-with-parent", type=int, metavar="PID", help=argparse.SUPPRESS)
    deliver.set_defaults(handler=command_deliver)

    add_playground_command(commands)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database schema up to date and exit",
        description="Apply every database migration not yet applied to DATABASE_URL.",
    )
    migrate.set_defaults(handler=command_migrate)

    export = commands.add_parser(
        "export",
        help="write ratings, responses, leads, lead changes, KPIs or answer-time history as "
        "CSV or JSON to stdout",
        description="Write one workspace's ratings, responses, leads, lead changes, KPIs, or "
        "the history of its answer-time settings and campaign owners to stdout, reading the "
        "same DATABASE_URL as the bot. CSV cells that a spreadsheet would run as a formula are "
        "prefixed with an apostrophe.",
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

    add_import_command(commands)
    add_report_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``leadloop`` console script and ``python -m bot``."""
    env = read_environment(os.environ, env_file=os.environ.get("LEADLOOP_ENV_FILE", ".env"))
    # leadloop builds every Slack object from its validated settings; Bolt and slack-sdk
    # must not find SLACK_* variables of their own (an empty SLACK_CLIENT_ID would switch
    # Bolt into OAuth mode and make it drop every request).
    hide_from_libraries(os.environ)
    return run_command(build_parser().parse_args(argv), env)


def run_command(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run a parsed command with the environment it was read with; its exit status.

    Every failure a user can fix is said in one line on stderr, never as a traceback.
    """
    try:
        return int(args.handler(args, env) or EXIT_OK)
    except ConfigError as error:
        print(f"leadloop: configuration problem: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as error:
        print(f"leadloop: {error}", file=sys.stderr)
        return error.exit_code
    except SQLAlchemyError as error:
        print(
            f"leadloop: the database failed ({type(error).__name__}); check DATABASE_URL and "
            "that the database server is running, then try again.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (``leadloop export ... | head``): stop quietly. Python would
        # complain again when it flushes stdout at exit, so point stdout at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as error:  # a file that can't be written or read, a full disk, ...
        what = f"cannot use {error.filename}: " if error.filename else ""
        print(f"leadloop: {what}{error.strerror or error}.", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as error:  # a bug: still one line for the user, details for whoever debugs
        if env.get("LOG_LEVEL", "").strip().upper() == "DEBUG":
            traceback.print_exc()
        print(
            f"leadloop: unexpected error ({type(error).__name__}). Please report it with the "
            "command you ran; LOG_LEVEL=DEBUG shows the details.",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def command_migrate(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop migrate``."""
    configure_logging(level="INFO")
    engine = create_db_engine(database_url_from_env(env))
    try:
        migrate(engine)
    finally:
        engine.dispose()
    print("leadloop: the database schema is up to date.")
    return EXIT_OK


def command_export(
    args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None
) -> int:
    """``leadloop export``: an empty database gives a header-only CSV or ``[]``."""
    out = out or sys.stdout
    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as error:
        raise CliError(f"--since: {error}") from None
    engine = open_bot_database(env)
    try:
        _write_export(engine, args, since=since, out=out)
    finally:
        engine.dispose()
    return EXIT_OK


def _write_export(
    engine: Engine, args: argparse.Namespace, *, since: datetime | None, out: TextIO
) -> None:
    rows_for, columns = EXPORTS[args.what]
    with make_session_factory(read_only(engine))() as session:
        known = sorted(set(export_rows.workspaces(session)) | set(known_workspaces(session)))
        team_id = _pick_workspace(known, args.workspace)
        rows = rows_for(session, team_id=team_id, since=since) if team_id else iter(())
        if args.format == "json":
            write_json(rows, out)
        else:
            write_csv(rows, columns, out)
    out.flush()


def _pick_workspace(known: list[str], wanted: str | None) -> str | None:
    """The workspace to export; None when the database has none yet (nothing to export)."""
    if wanted:
        if wanted not in known:
            stored = ", ".join(known) if known else "none yet"
            raise CliError(
                f"--workspace {wanted[:40]}: this database holds no such workspace "
                f"(it holds: {stored})."
            )
        return wanted
    if len(known) > 1:
        raise CliError(
            "the database holds several workspaces; choose one with --workspace: "
            + ", ".join(known)
        )
    return known[0] if known else None


def command_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop run``."""
    level = _log_level(args, env)
    settings = Settings.from_env(env)
    configure_logging(level=level, secrets=settings.secrets)
    from bot import runtime  # imported late: Bolt, APScheduler and gunicorn are heavy
    from bot.delivery_supervisor import DeliverySupervisor

    runtime.prepare(settings, on_error=CliError)
    logger.info("%s", mode_line(settings, host=args.host, port=_port(args, settings)))
    supervisor = None
    if not args.without_delivery:
        supervisor = DeliverySupervisor(env, log_level=level).start()
    on_stopping = _stopping_of(supervisor)
    try:
        if settings.socket_mode:
            started = runtime.Runtime.start(settings, on_error=CliError)
            return _run_socket_mode(started, on_stopping=on_stopping)
        return _run_http(args, settings, on_stopping=on_stopping)
    finally:
        if supervisor is not None:
            supervisor.stop()


def command_deliver(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop deliver``: the delivery process, alone or as ``leadloop run``'s child."""
    level = _log_level(args, env)
    settings = Settings.from_env(env)
    configure_logging(level=level, secrets=settings.secrets)
    from bot import runtime
    from bot.delivery import DeliveryService
    from bot.delivery_supervisor import exit_with_parent

    if args.exit_with_parent is not None:
        exit_with_parent(args.exit_with_parent)
        clock = runtime.simulated_or_system_clock(settings)
    else:
        runtime.prepare(settings, on_error=CliError)
        clock = runtime.clock_for(settings)
    stopped = threading.Event()
    restore_signals = _stop_on_signals(stopped.set)
    service = DeliveryService.start(settings, clock=clock)
    logger.info(
        "leadloop is delivering (pid %s): posts go out as soon as they are stored", os.getpid()
    )
    try:
        wait_until_set(stopped)
    finally:
        # Ctrl-C reaches this process with the whole group, and `leadloop run` sends SIGTERM
        # as soon as it has stopped itself: that second signal must not cut the close short.
        service.close()
        restore_signals()
        logger.info("leadloop's delivery process %s stopped", os.getpid())
    return EXIT_OK


def _log_level(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    if args.log_level is not None:
        return log_level(args.log_level, name="--log-level")
    return log_level(env.get("LOG_LEVEL", ""), name="LOG_LEVEL")


def _stopping_of(supervisor: DeliverySupervisor | None) -> Callable[[], None]:
    """What tells the delivery supervisor that ``leadloop run`` is stopping, if it runs."""
    if supervisor is None:
        return lambda: None
    return supervisor.parent_stopping


def _run_http(
    args: argparse.Namespace, settings: Settings, *, on_stopping: Callable[[], None]
) -> int:
    """Serve HTTP with gunicorn: the master binds the port, each worker serves it."""
    from bot.runtime import serve_http
    from bot.serving import ServeOptions, bind_listener

    port = _port(args, settings)
    try:
        listener = bind_listener(args.host, port)
    except OSError as error:
        raise CliError(f"could not listen on {args.host}:{port}: {error.strerror}") from None
    options = ServeOptions(host=args.host, port=port, workers=args.workers, threads=args.threads)
    status = serve_http(
        settings, listener=listener, options=options, on_error=CliError, on_stopping=on_stopping
    )
    if status != EXIT_OK:
        raise CliError("a worker could not start; the log above says why.", EXIT_FAILURE)
    logger.info("leadloop stopped")
    return EXIT_OK


def mode_line(settings: Settings, *, host: str, port: int) -> str:
    """One line: how this bot takes Slack's requests, and what Slack must be able to reach."""
    if settings.socket_mode:
        return (
            "leadloop runs in Socket Mode: it connects out to Slack (SLACK_API_URL), so no "
            "public URL is needed; Socket Mode must be on in the Slack app."
        )
    local = f"http://{host}:{port}"
    if settings.oauth:
        return (
            f"leadloop runs in HTTP mode with OAuth installs on {local}: Slack must reach "
            "https://<your-host>/slack/events and /slack/oauth_redirect; workspaces install "
            "at https://<your-host>/slack/install."
        )
    return (
        f"leadloop runs in HTTP mode on {local}: Slack must reach "
        "https://<your-host>/slack/events, with Socket Mode off in the Slack app (set "
        "SLACK_APP_TOKEN to use Socket Mode instead, with no public URL)."
    )


def _port(args: argparse.Namespace, settings: Settings) -> int:
    return int(args.port if args.port is not None else settings.port)


def _run_socket_mode(runtime: Runtime, *, on_stopping: Callable[[], None]) -> int:
    """Take Slack's requests over Socket Mode until SIGTERM or SIGINT."""

    def stop() -> None:
        on_stopping()
        runtime.stop()

    restore_signals = _stop_on_signals(stop)
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
