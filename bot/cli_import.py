"""``leadloop import``: leads from a CSV file, each new one handed to its owner."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from bot.cli_common import EXIT_FAILURE, EXIT_OK, CliError, open_bot_database
from bot.clock import system_clock
from bot.handoffs import ImportSummary, WorkspaceProblem, choose_workspace, import_leads
from bot.lead_intake import (
    EXPECTED_HEADER,
    CsvHeaderError,
    LeadRecord,
    RowError,
    open_lead_csv,
    read_lead_csv,
)
from storage.engine import make_session_factory, read_only
from storage.workspaces import known_workspaces


def add_import_command(commands: Any) -> None:
    """Register ``import`` on the ``leadloop`` parser."""
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
    engine = open_bot_database(env)
    try:
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
