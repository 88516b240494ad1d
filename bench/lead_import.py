"""How fast ``leadloop import`` stores leads: 100,000 rows into a fresh SQLite file.

The file (the same realistic rows as ``bench/lead_parse.py``) is written to a temporary
folder first, not timed. What is timed is the import as ``leadloop import`` runs it: both
readings of the file, the checks, and the batched upsert with one hand-off owed per new
lead. Posting the hand-offs is not part of it: the running bot does that from the outbox.
A second run of the same file (every lead unchanged) is measured too.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bench.lead_parse import write_lead_file
from domain.leads.csv_file import open_lead_csv, read_lead_csv
from domain.leads.intake import ImportSummary, import_leads
from domain.leads.records import LeadRecord, RowError
from storage.engine import SessionFactory, create_db_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.workspaces import record_workspace

ROWS = 100_000
GOAL_SECONDS = 20.0
TEAM_ID = "T0BENCH"


def rows_of(path: Path) -> Iterator[LeadRecord | RowError]:
    """The file's rows, as ``leadloop import`` reads them."""
    with open_lead_csv(path) as stream:
        yield from read_lead_csv(stream)


def timed_import(session_factory: SessionFactory, path: Path) -> tuple[ImportSummary, float]:
    """Import the file once: what it did, and the seconds it took."""
    started = time.perf_counter()
    summary = import_leads(
        session_factory, team_id=TEAM_ID, read=lambda: rows_of(path), now=datetime.now(UTC)
    )
    return summary, time.perf_counter() - started


def run() -> bool:
    """Measure and print; True when 100,000 new rows import in under the goal."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        write_lead_file(path, ROWS)
        engine = create_db_engine(f"sqlite:///{Path(tmp) / 'leadloop.db'}")
        try:
            upgrade_to_head(engine)
            session_factory = make_session_factory(engine)
            with session_factory() as session:
                record_workspace(
                    session,
                    team_id=TEAM_ID,
                    team_name=None,
                    bot_user_id=None,
                    now=datetime.now(UTC),
                )
                session.commit()
            first, seconds = timed_import(session_factory, path)
            again, seconds_again = timed_import(session_factory, path)
        finally:
            engine.dispose()
    met = seconds < GOAL_SECONDS and first.created == ROWS and not first.skipped
    verdict = "" if met else f"  MISSED ({first.created:,} created, {len(first.skipped)} skipped)"
    print(
        f"lead import: {first.created:,} rows in {seconds:.2f} s "
        f"(goal: < {GOAL_SECONDS:.0f} s){verdict}"
    )
    print(
        f"lead re-import: {again.unchanged:,} unchanged rows in {seconds_again:.2f} s "
        f"({again.created} created, {again.updated} updated)"
    )
    return met and again.unchanged == ROWS


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
