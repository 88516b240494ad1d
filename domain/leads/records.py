"""Leads from a CSV file or a CRM webhook, checked and turned into records or row errors.

Pure parsing and verification: no database, no Slack, no HTTP. Callers upsert the
``LeadRecord`` values by (workspace, external_ref) and show the ``RowError`` messages.

Decisions worth knowing:

* CSV row numbers are spreadsheet rows: every record the csv module reads counts, blank
  lines included, and a quoted cell spanning several lines is still one row. The header is
  row 1 (or the first non-blank row when the file starts with blank lines).
* A data row must have exactly as many cells as the header has columns. Fewer is refused
  like more: a missing comma shifts every later value into the wrong column, and guessing
  which cell is missing would store an email as a company. Blank lines are skipped.
* The reader runs with ``strict=True`` so that a quote opened and never closed, or text
  after a closing quote, is a ``csv.Error`` rather than the rest of the file silently
  swallowed into one cell. A ``csv.Error`` cannot be resynchronised: it becomes one
  ``RowError`` for the row being read and nothing after it is read. Python 3.11+ reads NUL
  bytes as ordinary characters, so a NUL is an ordinary row error (control character). A
  cell over the csv module's 131,072-character limit (usually an unclosed quote that ran
  on) is a ``csv.Error`` too; the global ``csv.field_size_limit`` is left alone.
* Encoding: ``open_lead_csv`` checks the whole file is UTF-8 before any row is read and
  raises ``CsvHeaderError`` naming the first bad line, so a mis-encoded file imports
  nothing rather than half. ``read_lead_csv`` given another stream (stdin) raises
  ``CsvHeaderError`` if the header cannot be decoded, and otherwise yields a ``RowError``
  for the row being read and stops.
* Known fields are single-line text: line breaks and other control characters are refused.
  Attribute values may hold line breaks and tabs (``\\r\\n`` becomes ``\\n``).
* Field and column names match case-insensitively, surrounding spaces ignored; attribute
  keys keep the spelling they were given (stripped). Two names that differ only in case
  are the same name (a ``CsvHeaderError`` in a header, a ``RowError`` in a JSON lead).
* JSON numbers in known fields become text (``12345.0`` becomes ``"12345"``); booleans,
  lists and objects are refused. In attributes, numbers and booleans become text
  (``true``/``false``), lists and objects become compact JSON text, ``null`` is dropped.
* All problems of a row are reported in one message, separated by ``;``. ``validate_lead``
  takes an optional ``label`` (default ``row``); webhook items are called ``lead 3``.
* A webhook body (UTF-8, a leading BOM allowed) is a lead object, a non-empty list of at
  most 1,000 of them, or ``{"leads": [...]}`` (Zapier): an object with a ``leads`` key and
  no ``external_ref`` key is that wrapper, and its other keys are ignored. A list with
  anything but objects in it is refused as a whole (400); field problems are per lead.
* ``verify_webhook`` checks the timestamp (either direction) before the signature, accepts
  the hex in any case, and raises ValueError for an empty secret: a configuration error,
  not a bad request.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import math
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import TextIO

from domain.parsing import shown

SIGNATURE_HEADER = "X-Leadloop-Signature"
TIMESTAMP_HEADER = "X-Leadloop-Timestamp"
MAX_WEBHOOK_BYTES = 1_000_000
MAX_WEBHOOK_LEADS = 1_000
MAX_WEBHOOK_AGE_SECONDS = 300
# Starts every workspace's own webhook secret (leadloop webhook, hex), so logs can hide it.
WEBHOOK_SECRET_PREFIX = "llwh_"

MAX_EXTERNAL_REF_LENGTH = 200
MAX_NAME_LENGTH = 300
MAX_COMPANY_LENGTH = 300
MAX_EMAIL_LENGTH = 320
MAX_CAMPAIGN_LENGTH = 200
MAX_SOURCE_LENGTH = 200
MAX_SLACK_ID_LENGTH = 64
MAX_ATTRIBUTE_NAME_LENGTH = 200
MAX_ATTRIBUTE_LENGTH = 2_000

STATUSES = ("won", "lost", "open")
REQUIRED_COLUMNS = (
    "external_ref",
    "name",
    "email",
    "company",
    "campaign",
    "source",
    "owner_slack_id",
)
EXPECTED_HEADER = ",".join(REQUIRED_COLUMNS)
KNOWN_FIELDS = frozenset((*REQUIRED_COLUMNS, "status"))
_LENGTH_LIMITS = (
    ("external_ref", MAX_EXTERNAL_REF_LENGTH),
    ("name", MAX_NAME_LENGTH),
    ("email", MAX_EMAIL_LENGTH),
    ("company", MAX_COMPANY_LENGTH),
    ("campaign", MAX_CAMPAIGN_LENGTH),
    ("source", MAX_SOURCE_LENGTH),
)

# Cc (C0, DEL, C1) and lone surrogates (Cs): PostgreSQL refuses NUL, no encoding stores Cs.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
_WRAPPER_KEY = "leads"
_HUGE = 10**2000


class CsvHeaderError(ValueError):
    """The CSV file cannot be imported at all: its header (or encoding) is wrong."""


@dataclass(frozen=True)
class LeadRecord:
    """A checked lead, ready to upsert by (workspace, external_ref)."""

    external_ref: str
    name: str | None = None
    email: str | None = None
    company: str | None = None
    campaign: str | None = None
    source: str | None = None
    owner_slack_id: str | None = None
    status: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    # Where it came from (CSV row or webhook list index), for messages; not part of the lead.
    row: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RowError:
    """A lead that was skipped: its row (or 1-based list index) and what to fix."""

    row: int
    message: str


@dataclass(frozen=True)
class WebhookRefusal:
    """A webhook request refused: the HTTP status and the JSON error text."""

    status: int
    error: str


# --- one lead ---------------------------------------------------------------------------


def validate_lead(
    fields: Mapping[str, object], *, row: int, label: str = "row"
) -> LeadRecord | RowError:
    """Check one lead's fields (CSV row or JSON object); ``label`` names ``row`` in messages."""
    problems: list[str] = []
    known: dict[str, str | None] = {}
    attributes: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, value in fields.items():
        name = str(key).strip()
        canonical = name.lower()
        if canonical in seen:
            problems.append(
                f"{_quoted(seen[canonical])} and {_quoted(name)} are the same field (give it once)"
            )
        elif canonical in KNOWN_FIELDS:
            known[canonical] = _known_text(canonical, value, problems)
        else:
            _add_json_attribute(name, value, attributes, problems)
        seen.setdefault(canonical, name)
    return _lead_or_error(known, attributes, problems, row=row, label=label)


def _lead_or_error(
    known: dict[str, str | None],
    attributes: dict[str, str],
    problems: list[str],
    *,
    row: int,
    label: str = "row",
) -> LeadRecord | RowError:
    """The record from stripped known fields, or every problem found as one RowError."""
    external_ref = known.get("external_ref")
    # A refused type (true, a list) has been reported already; don't also call it empty.
    if external_ref is None and not any(p.startswith("external_ref ") for p in problems):
        problems.append("external_ref is empty (every lead needs its CRM ID there)")
    for name, limit in _LENGTH_LIMITS:
        text = known.get(name)
        if text is not None and len(text) > limit:
            problems.append(f"{name} is {len(text):,} characters long (the limit is {limit:,})")
    # One search over all the values: rows with control characters are rare.
    if _CONTROL.search("".join(filter(None, known.values()))):
        problems.extend(
            f"{name} contains a line break or control character (use plain text on one line)"
            for name, text in known.items()
            if text and _CONTROL.search(text)
        )
    email = known.get("email")
    if email is not None and not _EMAIL.fullmatch(email):
        problems.append(
            f"email {_quoted(email)} is not an email address (write it as name@example.com)"
        )
    owner = known.get("owner_slack_id")
    owner_id = None if owner is None else _slack_user_id(owner, problems)
    status = known.get("status")
    if status is not None:
        status = _status(status, problems)
    if problems or external_ref is None:
        return RowError(row=row, message=f"{label} {row}: " + "; ".join(problems))
    return LeadRecord(
        external_ref=external_ref,
        name=known.get("name"),
        email=email,
        company=known.get("company"),
        campaign=known.get("campaign"),
        source=known.get("source"),
        owner_slack_id=owner_id,
        status=status,
        attributes=attributes,
        row=row,
    )


def _known_text(name: str, value: object, problems: list[str]) -> str | None:
    """A known field's value as stripped text (None when empty or refused for its type)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name} must be text, not {_kind(value)}")
        return None
    text = _number_text(value)
    if text is None:
        problems.append(f"{name} must be text or an ordinary number")
    return text


def _number_text(value: int | float) -> str | None:
    """A JSON number as the text a CRM means by it; None for NaN, infinities and huge ints."""
    if isinstance(value, int):
        # str() refuses ints over 4,300 digits; no field holds more than 2,000 characters.
        return str(value) if abs(value) < _HUGE else None
    if not math.isfinite(value):
        return None
    # 12345.0 is a spreadsheet's way of writing the ID 12345.
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _slack_user_id(text: str, problems: list[str]) -> str | None:
    """A Slack user ID, bare (U012AB3CD) or as Slack escapes a mention (<@U012AB3CD|bob>)."""
    mention = _SLACK_MENTION.fullmatch(text)
    user_id = mention.group(1) if mention else text
    if len(user_id) > MAX_SLACK_ID_LENGTH or not _SLACK_USER_ID.fullmatch(user_id):
        problems.append(
            f"owner_slack_id {_quoted(text)} is not a Slack user ID (it looks like U012AB3CD: "
            "in Slack open the person's profile, then ⋮ › Copy member ID)"
        )
        return None
    return user_id


def _status(text: str, problems: list[str]) -> str | None:
    """The lead's outcome: won, lost or open, in any case."""
    status = text.lower()
    if status not in STATUSES:
        problems.append(f"status {_quoted(text)} is not won, lost or open")
        return None
    return status


def _add_json_attribute(
    name: str, value: object, attributes: dict[str, str], problems: list[str]
) -> None:
    """Keep an extra JSON field as text unless it is empty; a bad name or value is a problem."""
    text = _attribute_text(value)
    if text is None:
        problems.append(f"{_quoted(name)} has a value that cannot be stored as text")
    elif not text.strip():
        return
    elif not name:
        problems.append(
            f"a field with no name has the value {_quoted(text)} (name it or remove it)"
        )
    elif problem := attribute_name_problem(name):
        problems.append(problem)
    else:
        _add_attribute(name, text, attributes, problems)


def _add_attribute(name: str, text: str, attributes: dict[str, str], problems: list[str]) -> None:
    """Keep an extra field's text, stripped, unless empty; too long or control chars: problem."""
    text = text.strip()
    if not text:
        return
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_ATTRIBUTE_LENGTH:
        problems.append(
            f"{_quoted(name)} is {len(text):,} characters long "
            f"(the limit is {MAX_ATTRIBUTE_LENGTH:,})"
        )
    elif _CONTROL_BUT_LINE_BREAKS.search(text):
        problems.append(f"{_quoted(name)} contains control characters (use plain text)")
    else:
        attributes[name] = text


def _attribute_text(value: object) -> str | None:
    """An extra field's value as text ("" for null); None when it has no text form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, list | dict):
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError, RecursionError):
            return None
    return None


def attribute_name_problem(name: str) -> str | None:
    """What is wrong with an extra column or field name, or None when it is fine."""
    if len(name) > MAX_ATTRIBUTE_NAME_LENGTH:
        return (
            f"the field name {_quoted(name)} is {len(name):,} characters long "
            f"(the limit is {MAX_ATTRIBUTE_NAME_LENGTH})"
        )
    if _CONTROL.search(name):
        return f"the field name {_quoted(name)} contains control characters"
    return None


def _kind(value: object) -> str:
    """How a wrongly typed JSON value is described to the sender."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def _quoted(text: str, limit: int = 40) -> str:
    """User input repeated back in a message, quoted."""
    return f"'{shown(text, limit)}'"


# --- CSV --------------------------------------------------------------------------------


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
                f"row {row}: the column {_quoted(name)} appears twice in the header "
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
    found = ", ".join(_quoted(cell.strip()) for cell in cells[:10] if cell.strip())
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
                    f"row {row}: column {index + 1} has the value {_quoted(cells[index].strip())} "
                    f"but no name in the header (row {header.row}); name the column or delete "
                    "the value"
                ),
            )
    known = {name: cells[index].strip() or None for index, name in header.known}
    problems: list[str] = []
    attributes: dict[str, str] = {}
    for index, name in header.extra:
        _add_attribute(name, cells[index], attributes, problems)
    return _lead_or_error(known, attributes, problems, row=row)


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


# --- webhook ----------------------------------------------------------------------------


def new_webhook_secret() -> str:
    """A workspace's own webhook secret; its prefix lets the log filter recognise it."""
    return WEBHOOK_SECRET_PREFIX + secrets.token_hex(32)


def sign_webhook(body: bytes, *, secret: str, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    message = f"v1:{timestamp}:".encode() + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_webhook(
    body: bytes,
    *,
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    now: float,
    max_age_seconds: int = MAX_WEBHOOK_AGE_SECONDS,
) -> WebhookRefusal | None:
    """None when the request is signed with ``secret`` within ``max_age_seconds``, else why not."""
    if not secret:
        raise ValueError("LEAD_WEBHOOK_SECRET is empty: refusing to verify webhooks with it")
    if not timestamp_header or not signature_header:
        return WebhookRefusal(401, "missing signature")
    timestamp_text = timestamp_header.strip()
    # int() alone would accept "+5", "1_000" and non-ASCII digits.
    if not (timestamp_text.isascii() and timestamp_text.isdigit() and len(timestamp_text) < 16):
        return WebhookRefusal(401, "invalid timestamp")
    timestamp = int(timestamp_text)
    if abs(now - timestamp) > max_age_seconds:
        return WebhookRefusal(401, "stale timestamp")
    expected = sign_webhook(body, secret=secret, timestamp=timestamp).encode()
    given = signature_header.strip().lower().encode("utf-8", errors="replace")
    if not hmac.compare_digest(expected, given):
        return WebhookRefusal(401, "invalid signature")
    return None


def parse_webhook_leads(body: bytes) -> list[LeadRecord | RowError] | WebhookRefusal:
    """A verified webhook body as leads (one result per item), or a 400/413 refusal."""
    if len(body) > MAX_WEBHOOK_BYTES:
        return WebhookRefusal(413, "body too large")
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return WebhookRefusal(400, "body is not JSON")
    items = _lead_items(document)
    if isinstance(items, WebhookRefusal):
        return items
    return [validate_lead(item, row=index, label="lead") for index, item in enumerate(items, 1)]


def _refuse_constant(name: str) -> object:
    """NaN and Infinity are not JSON, although Python's json module reads them."""
    raise ValueError(f"{name} is not JSON")


def _lead_items(document: object) -> list[dict[str, object]] | WebhookRefusal:
    """The lead objects in a body: an object, a list of them, or {"leads": [...]}."""
    if isinstance(document, dict):
        if _WRAPPER_KEY not in document or "external_ref" in document:
            return [document]
        document = document[_WRAPPER_KEY]
    if not isinstance(document, list):
        return WebhookRefusal(
            400,
            f'expected a lead object, a list of lead objects or {{"leads": [...]}}, '
            f"not {_kind(document)}",
        )
    if not document:
        return WebhookRefusal(400, "no leads: send a lead object or a non-empty list of them")
    if len(document) > MAX_WEBHOOK_LEADS:
        return WebhookRefusal(
            400,
            f"too many leads: {len(document):,} in one request; the limit is "
            f"{MAX_WEBHOOK_LEADS:,}, so split the list",
        )
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            return WebhookRefusal(400, f"lead {index} is {_kind(item)}, not a lead object")
    return document
