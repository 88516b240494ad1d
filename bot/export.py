"""Writing exported rows as CSV (safe to open in a spreadsheet) or JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TextIO

# A cell starting with one of these runs as a formula in Excel, LibreOffice and Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """Prefix a leading formula character with an apostrophe so spreadsheets show it as text."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def json_value(value: Any) -> Any:
    """A JSON-ready value: times as ISO 8601 in UTC, the rest unchanged."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def csv_cell(value: Any) -> str:
    """One CSV cell: text neutralised, lists joined with ``;``, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list | tuple):
        value = ";".join(str(item) for item in value)
    return neutralise_formula(str(value))


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    """Write a header and the rows; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([csv_cell(row[column]) for column in columns])
        count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a JSON list, one object per row, without holding all rows in memory."""
    out.write("[")
    count = 0
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps({key: json_value(value) for key, value in row.items()}))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def parse_since(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 time; naive times are taken as UTC."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a date. Write it as YYYY-MM-DD, e.g. 2026-11-01."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
