"""How fast ``leadloop import`` parses a lead CSV: 100,000 rows through ``read_lead_csv``.

The file is written to a temporary folder first (not timed), then opened with
``open_lead_csv`` (which checks the encoding) and read to the end. Every row is a valid lead
with every column filled, a status and two extra columns, so every check runs. Parsing is
only part of an import's 20 s budget; the rest is the database upsert.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from domain.leads.csv_file import open_lead_csv, read_lead_csv
from domain.leads.records import EXPECTED_HEADER, LeadRecord

ROWS = 100_000
GOAL_SECONDS = 2.0
STATUSES = ("won", "lost", "open")


def write_lead_file(path: Path, rows: int) -> None:
    """A realistic lead CSV with ``rows`` data rows (Excel-style: BOM and CRLF)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(f"{EXPECTED_HEADER},status,region,notes\r\n")
        for i in range(rows):
            out.write(
                f'CRM-{i:07d},Lead {i},lead{i}@example.com,"Company {i % 977}, Inc.",'
                f"Spring 2025,webinar,<@U{i:08d}|rep>,{STATUSES[i % 3]},EMEA,"
                f'"called, left a message"\r\n'
            )


def parse(path: Path) -> tuple[int, int, float]:
    """Read the whole file: (leads, row errors, seconds)."""
    started = time.perf_counter()
    with open_lead_csv(path) as stream:
        results = list(read_lead_csv(stream))
    seconds = time.perf_counter() - started
    records = sum(isinstance(result, LeadRecord) for result in results)
    return records, len(results) - records, seconds


def run() -> bool:
    """Measure and print; True when parsing 100,000 rows takes under the goal."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leads.csv"
        write_lead_file(path, ROWS)
        records, errors, seconds = parse(path)
    met = seconds < GOAL_SECONDS and records == ROWS and errors == 0
    verdict = "" if met else "  MISSED" if errors == 0 else f"  MISSED: {errors} row errors"
    print(
        f"lead CSV parsing: {records:,} rows in {seconds:.2f} s "
        f"(goal: < {GOAL_SECONDS:.0f} s){verdict}"
    )
    return met


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
