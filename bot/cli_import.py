"""``leadloop import``: leads from a CSV file, each new one handed to its owner."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli_common import EXIT_FAILURE, EXIT_OK, CliError, open_bot_database
from domain.clock import system_clock
from domain.leads.cards import DIGEST_SHOWN_LEADS
from domain.leads.csv_file import open_lead_csv, read_lead_csv
from domain.leads.intake import (
    DIGEST_THRESHOLD,
    HANDOFF_HOLD,
    HandoffMessages,
    ImportSummary,
    RepeatedRef,
    WorkspaceProblem,
    choose_workspace,
    import_leads,
    release_handoffs,
)
from domain.leads.records import EXPECTED_HEADER, CsvHeaderError, LeadRecord, RowError
from storage.engine import make_session_factory, read_only
from storage.workspaces import known_workspaces


def add_import_command(commands: Any) -> None:
    """Register ``import`` on the ``leadloop`` parser."""
    lead_import = commands.add_parser(
        "import",
        help="import leads from a CSV file; each new lead is handed to its owner in Slack",
        description="Import leads from a UTF-8 CSV file whose first row names the columns: "
        f"{EXPECTED_HEADER} (status is optional; other columns are kept as attributes). Every "
        "row needs one cell per column. Leads are matched by external_ref: new ones are "
        "created and handed off in Slack (the running bot posts the messages once the whole "
        "file is in), known ones are updated where a field changed; a blank cell keeps the "
        "stored value. A reference on several rows is one lead, later rows' values winning. "
        "Malformed rows are reported and skipped. Hand-offs: an owner with at most "
        f"{DIGEST_THRESHOLD} new leads gets one DM per lead; with more, one digest DM listing "
        f"them (the first {DIGEST_SHOWN_LEADS} with rating buttons, the others by reference, "
        "to rate with /rate-lead). HANDOFF_CHANNEL gets one post per new lead, or one digest "
        f"when the import creates more than {DIGEST_THRESHOLD}. The summary says how many "
        "messages will be sent, and to how many owners.",
        epilog="Exit status: 0 when every row was imported, 1 when some rows were skipped "
        "(the others are imported), 2 when nothing could be imported.",
    )
    lead_import.add_argument("file", metavar="FILE.csv", help="the CSV file to import")
    lead_import.add_argument(
        "--dry-run", action="store_true", help="check the file and report, writing nothing"
    )
    lead_import.add_argument(
        "--no-handoffs",
        action="store_true",
        help="store the leads without any hand-off message (say, when loading old leads)",
    )
    lead_import.add_argument(
        "--workspace",
        metavar="TEAM_ID",
        help="Slack workspace ID (T…); needed only when leadloop runs in several",
    )
    lead_import.set_defaults(handler=command_import)


SHOWN_SKIPPED_ROWS = 100
SHOWN_REPEATED_REFS = 20
SHOWN_OWNERS = 10
HANDOFF_HOLD_TEXT = f"{HANDOFF_HOLD.total_seconds() / 3600:g} hour(s)"


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
        _print_import_summary(summary, path=path, team_id=team_id, dry_run=args.dry_run, out=out)
        if summary.held_message_ids:
            _release(engine, team_id, summary, err=err)
    finally:
        engine.dispose()
    return EXIT_FAILURE if summary.skipped else EXIT_OK


def _release(engine: Engine, team_id: str, summary: ImportSummary, *, err: TextIO) -> None:
    """Let the running bot send the hand-offs, now that the summary has said what they are."""
    try:
        release_handoffs(
            make_session_factory(engine), team_id=team_id, summary=summary, now=system_clock()
        )
    except SQLAlchemyError as error:
        # The leads are stored and their hand-offs owed: they go out when the hold ends.
        print(
            f"leadloop: the database failed ({type(error).__name__}) after the import; the "
            f"hand-off messages will be sent within {HANDOFF_HOLD_TEXT} anyway.",
            file=err,
        )


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
            handoffs=not args.no_handoffs,
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
    for problem in summary.skipped[:SHOWN_SKIPPED_ROWS]:
        print(f"    {problem.message}", file=out)
    hidden = len(summary.skipped) - SHOWN_SKIPPED_ROWS
    if hidden > 0:
        print(f"    … and {hidden:,} more; fix these and import again to see the rest.", file=out)
    _print_repeated(summary.repeated_refs, out=out)
    if summary.campaign_owners:
        verb = "would get" if dry_run else "got"
        print(
            f"{summary.campaign_owners:,} campaign(s) {verb} their owner from "
            "campaign_owner_slack_id (`/leadloop campaigns` lists them).",
            file=out,
        )
    if summary.created:
        _print_handoffs(summary.handoff_messages(), dry_run=dry_run, out=out)


def _print_repeated(repeated: list[RepeatedRef], *, out: TextIO) -> None:
    """Each reference found on several rows, with its rows: one lead, later values winning."""
    if not repeated:
        return
    print(
        f"  {len(repeated):,} external_ref(s) on several rows; each is one lead, and where "
        "rows disagree the later row's value wins:",
        file=out,
    )
    for entry in repeated[:SHOWN_REPEATED_REFS]:
        print(f"    {entry.external_ref}: {_rows_text(entry)}", file=out)
    hidden = len(repeated) - SHOWN_REPEATED_REFS
    if hidden > 0:
        print(f"    … and {hidden:,} more repeated external_ref(s).", file=out)


def _rows_text(entry: RepeatedRef) -> str:
    rows = [f"{row:,}" for row in entry.rows]
    if entry.count > len(rows):
        return f"rows {', '.join(rows)} and {entry.count - len(rows):,} more"
    return f"rows {', '.join(rows[:-1])} and {rows[-1]}"


def _print_handoffs(messages: HandoffMessages, *, dry_run: bool, out: TextIO) -> None:
    """How many hand-off messages the new leads owe, to whom: said before any is sent."""
    if messages.quiet:
        verb = "would be" if dry_run else "are"
        print(f"No hand-off messages {verb} sent (--no-handoffs).", file=out)
        return
    owners = len(messages.by_owner)
    lead = "Importing it would send" if dry_run else "The running bot now sends"
    if owners:
        print(
            f"{lead} {messages.to_owners:,} hand-off message(s) to {owners:,} owner(s):", file=out
        )
    else:
        print("No owner gets a hand-off message: no new lead has an owner_slack_id.", file=out)
    ranked = sorted(messages.by_owner.items(), key=lambda item: (-item[1][0], item[0]))
    for owner, (leads, digest) in ranked[:SHOWN_OWNERS]:
        if digest:
            how = f"1 digest listing {leads:,} new leads (more than {DIGEST_THRESHOLD})"
        else:
            how = f"{leads:,} single hand-off(s)"
        print(f"    {owner}: {how}", file=out)
    if owners > SHOWN_OWNERS:
        print(f"    … and {owners - SHOWN_OWNERS:,} more owner(s).", file=out)
    if messages.unowned and owners:
        print(f"  {messages.unowned:,} new lead(s) have no owner_slack_id.", file=out)
    if messages.channel_digest:
        channel = "1 digest listing all the new leads"
    else:
        channel = f"{messages.to_channel:,} post(s), one per new lead"
    print(f"  HANDOFF_CHANNEL, if one is set: {channel}.", file=out)


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
