"""Lead CSV files: encoding checks, the header, and each row as a lead record or row error."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from typing import TextIO

from domain.leads.records import (
    EXPECTED_HEADER,
    KNOWN_FIELDS,
    CsvHeaderError,
    LeadRecord,
    RowError,
    add_attribute,
    attribute_name_problem,
    lead_or_error,
    quoted,
)


def open_lead_csv(path: str | PathLike[str]) -> TextIO:
    """Open a lead CSV for ``read_lead_csv``; CsvHeaderError if it is not UTF-8 text."""
    _check_utf8(path)
    return open(path, encoding="utf-8-sig", newline="")


def _check_utf8(path: str | PathLike[str]) -> None:
    """Raise CsvHeaderError naming the first line that is not UTF-8 (no row is read yet)."""
    with open(path, "rb") as binary:
        for line_number, line in enumerate(binary, start=1):
            if line_number == 1 and line.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise CsvHeaderError(
                    f"the file is UTF-16 text, not UTF-8. {_SAVE_AS_UTF8} and import the new file"
                )
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise CsvHeaderError(_not_utf8(f"line {line_number:,}")) from None


_SAVE_AS_UTF8 = (
    "In Excel use File › Save As › 'CSV UTF-8 (Comma delimited)'; "
    "in Google Sheets use File › Download › Comma-separated values"
)


def _not_utf8(where: str) -> str:
    """The message for a file that is not UTF-8 text."""
    return (
        f"the file is not UTF-8 text ({where} holds a character in another encoding) "
        f"and nothing was imported. {_SAVE_AS_UTF8}, then import the new file"
    )


def _not_utf8_from(row: int) -> str:
    """The message for a stream that stops being UTF-8 after its header."""
    return (
        f"row {row}: the file is not UTF-8 text from about this row on, so rows from {row} on "
        f"were not imported. {_SAVE_AS_UTF8}, then import the new file"
    )


@dataclass(frozen=True)
class _Header:
    """The header row: which column holds which field, and the header's row number."""

    width: int
    known: tuple[tuple[int, str], ...]
    extra: tuple[tuple[int, str], ...]
    unnamed: tuple[int, ...]
    row: int


def read_lead_csv(stream: TextIO) -> Iterator[LeadRecord | RowError]:
    """Stream a lead CSV: one LeadRecord or RowError per non-blank data row."""
    reader = csv.reader(stream, strict=True, skipinitialspace=True)
    row = 0
    header: _Header | None = None
    while True:
        row += 1
        try:
            cells = next(reader, None)
        except csv.Error as error:
            if header is None:
                raise CsvHeaderError(
                    f"row {row}: the header cannot be read ({error}); look for a double quote "
                    "that is opened but never closed"
                ) from None
            yield RowError(row=row, message=_unreadable(row, str(error)))
            return
        except UnicodeDecodeError:
            if header is None:
                raise CsvHeaderError(_not_utf8(f"row {row}")) from None
            yield RowError(row=row, message=_not_utf8_from(row))
            return
        if cells is None:
            break
        if row == 1 and cells:
            cells[0] = cells[0].removeprefix("\ufeff")
        if _is_blank(cells):
            continue
        if header is None:
            header = _parse_header(cells, row=row)
            continue
        yield _row_lead(cells, header, row=row)
    if header is None:
        raise CsvHeaderError(f"the file is empty. {_header_help()}")


def _is_blank(cells: list[str]) -> bool:
    """A row with nothing in it (an empty line, or only commas and spaces)."""
    return all(not cell.strip() for cell in cells)


def _unreadable(row: int, reason: str) -> str:
    """The message for a row the csv module cannot read past."""
    return (
        f"row {row}: the file cannot be read from this row on ({reason}). Look for a double "
        "quote that is opened but never closed, or text after a closing quote, fix it and "
        f"import again: rows from {row} on were not imported"
    )


def _parse_header(cells: list[str], *, row: int) -> _Header:
    """Column names, matched case-insensitively; CsvHeaderError for a header that won't do."""
    known: list[tuple[int, str]] = []
    extra: list[tuple[int, str]] = []
    unnamed: list[int] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell.strip()
        canonical = name.lower()
        if not name:
            unnamed.append(index)
            continue
        if canonical in seen:
            raise CsvHeaderError(
                f"row {row}: the column {quoted(name)} appears twice in the header "
                f"(columns {seen[canonical]} and {index + 1}); rename or delete one"
            )
        seen[canonical] = index + 1
        if canonical in KNOWN_FIELDS:
            known.append((index, canonical))
        elif problem := attribute_name_problem(name):
            raise CsvHeaderError(f"row {row}: {problem}")
        else:
            extra.append((index, name))
    if "external_ref" not in seen:
        raise CsvHeaderError(_missing_external_ref(cells, row=row))
    return _Header(
        width=len(cells), known=tuple(known), extra=tuple(extra), unnamed=tuple(unnamed), row=row
    )


def _missing_external_ref(cells: list[str], *, row: int) -> str:
    """The message for a header without the external_ref column."""
    found = ", ".join(quoted(cell.strip()) for cell in cells[:10] if cell.strip())
    hint = ""
    if any(";" in cell or "\t" in cell for cell in cells):
        hint = " The file seems to use ';' or tabs between values: save it comma-separated."
    return f"row {row}: the header has no external_ref column (found {found}).{hint} " + (
        _header_help()
    )


def _header_help() -> str:
    """How the header row should look."""
    return (
        f"The first row must name the columns: {EXPECTED_HEADER} "
        "(status is optional; other columns are kept as attributes)"
    )


def _row_lead(cells: list[str], header: _Header, *, row: int) -> LeadRecord | RowError:
    """One data row as a lead; a row must have exactly one cell per header column."""
    if problem := _width_problem(len(cells), header, row=row):
        return problem
    for index in header.unnamed:
        if cells[index].strip():
            return RowError(
                row=row,
                message=(
                    f"row {row}: column {index + 1} has the value {quoted(cells[index].strip())} "
                    f"but no name in the header (row {header.row}); name the column or delete "
                    "the value"
                ),
            )
    known = {name: cells[index].strip() or None for index, name in header.known}
    problems: list[str] = []
    attributes: dict[str, str] = {}
    for index, name in header.extra:
        add_attribute(name, cells[index], attributes, problems)
    return lead_or_error(known, attributes, problems, row=row)


def _width_problem(count: int, header: _Header, *, row: int) -> RowError | None:
    """A row with more or fewer cells than the header has columns: its values may have moved."""
    if count > header.width:
        how = "put values that contain commas in double quotes"
    elif count < header.width:
        how = (
            "give every column a cell, an empty one where there is no value "
            "(a comma with nothing before the next)"
        )
    else:
        return None
    return RowError(
        row=row,
        message=f"row {row}: has {count} cells but the header has {header.width} columns; {how}",
    )
