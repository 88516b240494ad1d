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

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.parsing import shown

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
# Optional: the Slack user who in marketing owns the lead's campaign (see storage.campaigns).
CAMPAIGN_OWNER_FIELD = "campaign_owner_slack_id"
KNOWN_FIELDS = frozenset((*REQUIRED_COLUMNS, "status", CAMPAIGN_OWNER_FIELD))
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
    campaign_owner_slack_id: str | None = None
    # Where it came from (CSV row or webhook list index), for messages; not part of the lead.
    row: int = field(default=0, compare=False)


@dataclass(frozen=True)
class RowError:
    """A lead that was skipped: its row (or 1-based list index) and what to fix."""

    row: int
    message: str


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
                f"{quoted(seen[canonical])} and {quoted(name)} are the same field (give it once)"
            )
        elif canonical in KNOWN_FIELDS:
            known[canonical] = _known_text(canonical, value, problems)
        else:
            _add_json_attribute(name, value, attributes, problems)
        seen.setdefault(canonical, name)
    return lead_or_error(known, attributes, problems, row=row, label=label)


def lead_or_error(
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
            f"email {quoted(email)} is not an email address (write it as name@example.com)"
        )
    owner = known.get("owner_slack_id")
    owner_id = None if owner is None else _slack_user_id(owner, problems)
    campaign_owner = known.get(CAMPAIGN_OWNER_FIELD)
    campaign_owner_id = (
        None
        if campaign_owner is None
        else _slack_user_id(campaign_owner, problems, name=CAMPAIGN_OWNER_FIELD)
    )
    if campaign_owner_id is not None and known.get("campaign") is None:
        problems.append(f"{CAMPAIGN_OWNER_FIELD} needs a campaign to own (campaign is empty)")
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
        campaign_owner_slack_id=campaign_owner_id,
        row=row,
    )


def _known_text(name: str, value: object, problems: list[str]) -> str | None:
    """A known field's value as stripped text (None when empty or refused for its type)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{name} must be text, not {kind_of(value)}")
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


def _slack_user_id(text: str, problems: list[str], *, name: str = "owner_slack_id") -> str | None:
    """A Slack user ID, bare (U012AB3CD) or as Slack escapes a mention (<@U012AB3CD|bob>)."""
    mention = _SLACK_MENTION.fullmatch(text)
    user_id = mention.group(1) if mention else text
    if len(user_id) > MAX_SLACK_ID_LENGTH or not _SLACK_USER_ID.fullmatch(user_id):
        problems.append(
            f"{name} {quoted(text)} is not a Slack user ID (it looks like U012AB3CD: "
            "in Slack open the person's profile, then ⋮ › Copy member ID)"
        )
        return None
    return user_id


def _status(text: str, problems: list[str]) -> str | None:
    """The lead's outcome: won, lost or open, in any case."""
    status = text.lower()
    if status not in STATUSES:
        problems.append(f"status {quoted(text)} is not won, lost or open")
        return None
    return status


def _add_json_attribute(
    name: str, value: object, attributes: dict[str, str], problems: list[str]
) -> None:
    """Keep an extra JSON field as text unless it is empty; a bad name or value is a problem."""
    text = _attribute_text(value)
    if text is None:
        problems.append(f"{quoted(name)} has a value that cannot be stored as text")
    elif not text.strip():
        return
    elif not name:
        problems.append(f"a field with no name has the value {quoted(text)} (name it or remove it)")
    elif problem := attribute_name_problem(name):
        problems.append(problem)
    else:
        add_attribute(name, text, attributes, problems)


def add_attribute(name: str, text: str, attributes: dict[str, str], problems: list[str]) -> None:
    """Keep an extra field's text, stripped, unless empty; too long or control chars: problem."""
    text = text.strip()
    if not text:
        return
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_ATTRIBUTE_LENGTH:
        problems.append(
            f"{quoted(name)} is {len(text):,} characters long "
            f"(the limit is {MAX_ATTRIBUTE_LENGTH:,})"
        )
    elif _CONTROL_BUT_LINE_BREAKS.search(text):
        problems.append(f"{quoted(name)} contains control characters (use plain text)")
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
            f"the field name {quoted(name)} is {len(name):,} characters long "
            f"(the limit is {MAX_ATTRIBUTE_NAME_LENGTH})"
        )
    if _CONTROL.search(name):
        return f"the field name {quoted(name)} contains control characters"
    return None


def kind_of(value: object) -> str:
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


def quoted(text: str, limit: int = 40) -> str:
    """User input repeated back in a message, quoted."""
    return f"'{shown(text, limit)}'"
