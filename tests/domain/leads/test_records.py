"""Lead CSV files and CRM webhook bodies into lead records or row errors (bot/lead_intake.py)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.leads.csv_file import open_lead_csv, read_lead_csv
from domain.leads.records import (
    EXPECTED_HEADER,
    CsvHeaderError,
    LeadRecord,
    RowError,
    validate_lead,
)
from domain.leads.webhook_body import (
    MAX_WEBHOOK_BYTES,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRefusal,
    parse_webhook_leads,
    sign_webhook,
    verify_webhook,
)

# Deterministic runs: the same examples on every machine and every run.
PROPERTY = settings(derandomize=True, max_examples=200, deadline=None)
HEADER = EXPECTED_HEADER + ",status"
SECRET = "whsec_test_0123456789"
NOW = 1_700_000_000
BODY = b'{"external_ref": "CRM-1", "name": "Ann"}'


def read(text: str) -> list[LeadRecord | RowError]:
    """Everything ``read_lead_csv`` yields for ``text``."""
    return list(read_lead_csv(io.StringIO(text, newline="")))


def read_file(path: Path) -> list[LeadRecord | RowError]:
    """Everything ``read_lead_csv`` yields for the file at ``path``."""
    with open_lead_csv(path) as stream:
        return list(read_lead_csv(stream))


def csv_file(tmp_path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """``text`` written as-is (no newline translation) to a .csv file."""
    path = tmp_path / "leads.csv"
    path.write_bytes(text.encode(encoding))
    return path


def lead_row(**cells: str) -> str:
    """A data row under ``HEADER``: the given cells, the others empty."""
    columns = HEADER.split(",")
    unknown = set(cells) - set(columns)
    assert not unknown, unknown
    return ",".join(cells.get(column, "") for column in columns)


def only_error(results: list[LeadRecord | RowError]) -> RowError:
    """The single result, which the test expects to be a RowError."""
    assert len(results) == 1, results
    assert isinstance(results[0], RowError), results[0]
    return results[0]


def only_lead(results: list[LeadRecord | RowError]) -> LeadRecord:
    """The single result, which the test expects to be a LeadRecord."""
    assert len(results) == 1, results
    assert isinstance(results[0], LeadRecord), results[0]
    return results[0]


def leads(result: list[LeadRecord | RowError] | WebhookRefusal) -> list[LeadRecord | RowError]:
    """A webhook parse result that the test expects to be accepted."""
    assert not isinstance(result, WebhookRefusal), result
    return result


def signed(body: bytes, *, timestamp: int = NOW) -> dict[str, str | None]:
    """The two header arguments of a request signed with ``SECRET`` at ``timestamp``."""
    return {
        "timestamp_header": str(timestamp),
        "signature_header": sign_webhook(body, secret=SECRET, timestamp=timestamp),
    }


# --- good CSV files ---------------------------------------------------------------------


def test_good_file_gives_one_record_per_row(tmp_path: Path) -> None:
    text = (
        f"{HEADER}\n"
        "CRM-1,Ann Lee,ann@acme.com,Acme,Spring 2025,webinar,U012AB3CD,open\n"
        "CRM-2,Bob Roe,bob@initech.io,Initech,Spring 2025,ads,,won\n"
    )
    assert read_file(csv_file(tmp_path, text)) == [
        LeadRecord(
            external_ref="CRM-1",
            name="Ann Lee",
            email="ann@acme.com",
            company="Acme",
            campaign="Spring 2025",
            source="webinar",
            owner_slack_id="U012AB3CD",
            status="open",
        ),
        LeadRecord(
            external_ref="CRM-2",
            name="Bob Roe",
            email="bob@initech.io",
            company="Initech",
            campaign="Spring 2025",
            source="ads",
            status="won",
        ),
    ]


def test_byte_order_mark_written_by_excel_is_ignored(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{EXPECTED_HEADER}\r\nCRM-1,Ann,,,,,\r\n", encoding="utf-8-sig")
    assert read_file(path) == [LeadRecord(external_ref="CRM-1", name="Ann")]


def test_byte_order_mark_left_in_a_text_stream_is_stripped_from_the_first_header_cell() -> None:
    assert read(f"\ufeff{EXPECTED_HEADER}\nCRM-1,Ann,,,,,\n") == [
        LeadRecord(external_ref="CRM-1", name="Ann")
    ]


def test_windows_line_endings_are_read(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{HEADER}\r\n{lead_row(external_ref='CRM-1', name='Ann')}\r\n")
    assert read_file(path) == [LeadRecord(external_ref="CRM-1", name="Ann")]


def test_quoted_cells_may_hold_commas_quotes_and_line_breaks(tmp_path: Path) -> None:
    text = (
        "external_ref,company,campaign,notes\r\n"
        'CRM-1,"Acme, Inc.","Spring ""25""","met at the booth,\r\nwants a demo"\r\n'
        "CRM-2,Initech,,\r\n"
    )
    assert read_file(csv_file(tmp_path, text)) == [
        LeadRecord(
            external_ref="CRM-1",
            company="Acme, Inc.",
            campaign='Spring "25"',
            attributes={"notes": "met at the booth,\nwants a demo"},
        ),
        LeadRecord(external_ref="CRM-2", company="Initech"),
    ]


def test_extra_columns_become_attributes_without_empty_values() -> None:
    text = "external_ref,Region,Deal Size ,Notes\nCRM-1,EMEA, 12000 ,\n"
    assert read(text) == [
        LeadRecord(external_ref="CRM-1", attributes={"Region": "EMEA", "Deal Size": "12000"})
    ]


@pytest.mark.parametrize(
    ("cell", "status"),
    [("won", "won"), ("Won", "won"), ("LOST", "lost"), (" open ", "open"), ("", None)],
)
def test_status_column_is_case_insensitive_and_stored_lower_case(
    cell: str, status: str | None
) -> None:
    assert read(f"external_ref,status\nCRM-1,{cell}\n") == [
        LeadRecord(external_ref="CRM-1", status=status)
    ]


def test_header_names_match_case_insensitively_with_spaces_ignored() -> None:
    text = " External_Ref , NAME,Email,Owner_Slack_ID\nCRM-1,Ann,ann@acme.com,U012AB3CD\n"
    assert read(text) == [
        LeadRecord(
            external_ref="CRM-1", name="Ann", email="ann@acme.com", owner_slack_id="U012AB3CD"
        )
    ]


def test_header_with_only_external_ref_is_enough() -> None:
    assert read("external_ref\nCRM-1\n") == [LeadRecord(external_ref="CRM-1")]


def test_values_are_stripped_and_blank_values_become_none() -> None:
    row = lead_row(external_ref="  CRM-1 ", name="  Ann  ", email="   ", company="\t")
    assert read(f"{HEADER}\n{row}\n") == [LeadRecord(external_ref="CRM-1", name="Ann")]


@pytest.mark.parametrize(
    ("cell", "user_id"),
    [
        ("U012AB3CD", "U012AB3CD"),
        ("W0123ABCD", "W0123ABCD"),
        ("<@U012AB3CD>", "U012AB3CD"),
        ("<@U012AB3CD|ann.lee>", "U012AB3CD"),
        ("<@W0123ABCD|>", "W0123ABCD"),
    ],
)
def test_owner_may_be_a_slack_user_id_or_an_escaped_mention(cell: str, user_id: str) -> None:
    assert read(f"external_ref,owner_slack_id\nCRM-1,{cell}\n") == [
        LeadRecord(external_ref="CRM-1", owner_slack_id=user_id)
    ]


def test_empty_cells_at_the_end_of_a_row_count_as_empty() -> None:
    assert read(f"{HEADER},region\nCRM-1,Ann,,,,,,,\n") == [
        LeadRecord(external_ref="CRM-1", name="Ann")
    ]


def test_row_with_fewer_cells_than_the_header_is_refused_like_a_longer_one() -> None:
    results = read("external_ref,name,email\nCRM-1,Ann\nCRM-2,Bo,bo@acme.example\n")
    assert results == [
        RowError(
            row=2,
            message="row 2: has 2 cells but the header has 3 columns; give every column a "
            "cell, an empty one where there is no value (a comma with nothing before the next)",
        ),
        LeadRecord(external_ref="CRM-2", name="Bo", email="bo@acme.example"),
    ]


def test_a_record_remembers_its_row_without_it_changing_what_the_lead_is() -> None:
    results = read("external_ref,name\n\nCRM-1,Ann\n")
    assert [result.row for result in results] == [3]
    assert results == [LeadRecord(external_ref="CRM-1", name="Ann", row=99)]


def test_blank_lines_are_skipped_silently_but_still_counted_as_rows() -> None:
    text = f"{EXPECTED_HEADER}\n\nCRM-1,,,,,,\n,,,\n   \n\r\nCRM-2,,bob@,,,,\n"
    results = read(text)
    assert results[0] == LeadRecord(external_ref="CRM-1")
    assert only_error(results[1:]).row == 7


def test_blank_lines_before_the_header_are_skipped() -> None:
    results = read(f"\n\n{EXPECTED_HEADER}\nCRM-1,,,,,,\n,,bad,,,,\n")
    assert results[0] == LeadRecord(external_ref="CRM-1")
    assert only_error(results[1:]).row == 5


def test_a_quoted_cell_spanning_lines_is_one_row_when_counting() -> None:
    text = 'external_ref,notes\nCRM-1,"line one\nline two\nline three"\n,empty ref\n'
    results = read(text)
    assert results[0] == LeadRecord(
        external_ref="CRM-1", attributes={"notes": "line one\nline two\nline three"}
    )
    assert only_error(results[1:]).row == 3


def test_ten_thousand_row_file_is_parsed_completely(tmp_path: Path) -> None:
    lines = [f"{HEADER},region"] + [
        f"CRM-{i},Lead {i},lead{i}@example.com,Company {i % 97},Q{i % 4 + 1},web,"
        f"U{i:08d},{('won', 'lost', 'open')[i % 3]},EMEA"
        for i in range(10_000)
    ]
    results = read_file(csv_file(tmp_path, "\r\n".join(lines) + "\r\n"))
    assert len(results) == 10_000
    assert all(isinstance(result, LeadRecord) for result in results)
    assert results[-1] == LeadRecord(
        external_ref="CRM-9999",
        name="Lead 9999",
        email="lead9999@example.com",
        company="Company 8",
        campaign="Q4",
        source="web",
        owner_slack_id="U00009999",
        status="won",
        attributes={"region": "EMEA"},
    )


def test_rows_are_read_as_they_are_needed_not_all_at_once() -> None:
    def endless_file() -> Iterator[str]:
        yield "external_ref\n"
        number = 0
        while True:
            number += 1
            yield f"CRM-{number}\n"

    results = read_lead_csv(cast(TextIO, endless_file()))
    assert next(results) == LeadRecord(external_ref="CRM-1")
    assert next(results) == LeadRecord(external_ref="CRM-2")


def test_lead_record_is_immutable() -> None:
    lead = LeadRecord(external_ref="CRM-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lead.external_ref = "CRM-2"  # type: ignore[misc]


# --- header problems --------------------------------------------------------------------


def test_missing_external_ref_column_is_named_with_the_expected_header() -> None:
    with pytest.raises(CsvHeaderError) as raised:
        read("id,name,email\nCRM-1,Ann,ann@acme.com\n")
    message = str(raised.value)
    assert "no external_ref column" in message
    assert "'id', 'name', 'email'" in message
    assert EXPECTED_HEADER in message


def test_semicolon_separated_file_gets_a_hint_about_the_separator() -> None:
    with pytest.raises(CsvHeaderError, match="';' or tabs"):
        read("external_ref;name\nCRM-1;Ann\n")


@pytest.mark.parametrize(
    "header",
    ["external_ref,email,email", "external_ref,Region,region ", "External_Ref,external_ref"],
)
def test_a_column_named_twice_is_refused(header: str) -> None:
    with pytest.raises(CsvHeaderError, match="appears twice in the header"):
        read(f"{header}\nCRM-1,a,b\n")


def test_header_error_is_a_value_error() -> None:
    assert issubclass(CsvHeaderError, ValueError)


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff", " , ,\r\n"])
def test_a_file_without_a_header_is_refused(text: str) -> None:
    with pytest.raises(CsvHeaderError, match="the file is empty"):
        read(text)


def test_a_header_that_cannot_be_read_is_refused() -> None:
    with pytest.raises(CsvHeaderError, match="row 1: the header cannot be read"):
        read('external_ref,"name\n')


@pytest.mark.parametrize(
    ("header", "problem"),
    [("external_ref,bad\x07name", "control characters"), ("external_ref," + "x" * 201, "201")],
)
def test_an_unusable_extra_column_name_is_refused(header: str, problem: str) -> None:
    with pytest.raises(CsvHeaderError, match=problem):
        read(f"{header}\nCRM-1,a\n")


def test_file_in_another_encoding_is_refused_before_any_row_is_read(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{EXPECTED_HEADER}\nCRM-1,Zoë\nCRM-2,Renée\n", encoding="latin-1")
    with pytest.raises(CsvHeaderError) as raised:
        open_lead_csv(path)
    assert "not UTF-8" in str(raised.value)
    assert "line 2" in str(raised.value)
    assert "CSV UTF-8" in str(raised.value)


def test_utf16_file_is_refused_with_its_encoding_named(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{EXPECTED_HEADER}\nCRM-1\n", encoding="utf-16")
    with pytest.raises(CsvHeaderError, match="UTF-16"):
        open_lead_csv(path)


def test_stream_that_is_not_utf8_in_its_header_is_refused() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"external_ref,n\xe9\nCRM-1\n"), encoding="utf-8")
    with pytest.raises(CsvHeaderError, match="not UTF-8"):
        list(read_lead_csv(stream))


def test_stream_that_stops_being_utf8_ends_with_a_row_error() -> None:
    good = "".join(f"CRM-{i}\n" for i in range(5_000)).encode()
    stream = io.TextIOWrapper(
        io.BytesIO(b"external_ref\n" + good + b"Ren\xe9e\nCRM-last\n"), encoding="utf-8", newline=""
    )
    results = list(read_lead_csv(stream))
    *records, last = results
    assert isinstance(last, RowError)
    assert "not UTF-8" in last.message
    assert last.message.startswith(f"row {last.row}: ")
    assert all(isinstance(record, LeadRecord) for record in records)


# --- row errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (
            {"external_ref": "", "name": "Ann"},
            "external_ref is empty (every lead needs its CRM ID there)",
        ),
        ({"external_ref": "R" * 201}, "external_ref is 201 characters long (the limit is 200)"),
        ({"external_ref": "CRM\x07-1"}, "external_ref contains a line break or control"),
        ({"external_ref": "CRM-\x001"}, "external_ref contains a line break or control"),
        ({"name": "N" * 301}, "name is 301 characters long (the limit is 300)"),
        ({"company": "C" * 301}, "company is 301 characters long (the limit is 300)"),
        ({"campaign": "C" * 201}, "campaign is 201 characters long (the limit is 200)"),
        ({"source": "S" * 201}, "source is 201 characters long (the limit is 200)"),
        ({"email": "a" * 309 + "@example.com"}, "email is 321 characters long"),
        ({"email": "bob@"}, "email 'bob@' is not an email address"),
        ({"email": "bob@example"}, "email 'bob@example' is not an email address"),
        ({"email": "bob@@example.com"}, "email 'bob@@example.com' is not an email address"),
        ({"email": "a@b@example.com"}, "email 'a@b@example.com' is not"),
        ({"email": "bob smith@example.com"}, "email 'bob smith@example.com' is not"),
        ({"email": "@example.com"}, "email '@example.com' is not an email address"),
        ({"email": "bob@.com"}, "email 'bob@.com' is not an email address"),
        ({"owner_slack_id": "bob"}, "owner_slack_id 'bob' is not a Slack user ID"),
        ({"owner_slack_id": "u012ab3cd"}, "owner_slack_id 'u012ab3cd' is not a Slack user ID"),
        ({"owner_slack_id": "C012AB3CD"}, "owner_slack_id 'C012AB3CD' is not a Slack user ID"),
        ({"owner_slack_id": "U1"}, "owner_slack_id 'U1' is not a Slack user ID"),
        ({"owner_slack_id": "<@U1>"}, "owner_slack_id '<@U1>' is not a Slack user ID"),
        ({"owner_slack_id": "@U012AB3CD"}, "owner_slack_id '@U012AB3CD' is not a Slack"),
        ({"owner_slack_id": "U" + "1" * 64}, "owner_slack_id 'U1111"),
        ({"status": "pending"}, "status 'pending' is not won, lost or open"),
    ],
)
def test_each_field_problem_is_reported_with_its_row_number(
    cells: dict[str, str], message: str
) -> None:
    row = lead_row(**{"external_ref": "CRM-1", **cells})
    error = only_error(read(f"{HEADER}\nCRM-0\n{row}\n")[1:])
    assert error.row == 3
    assert error.message.startswith(f"row 3: {message}"), error.message


def test_bad_email_message_says_what_is_wrong_and_how_to_fix_it() -> None:
    rows = "\n".join(["CRM-1"] * 5 + ["CRM-7,bob@"])
    error = only_error(read(f"external_ref,email\n{rows}\n")[5:])
    assert error == RowError(
        row=7, message="row 7: email 'bob@' is not an email address (write it as name@example.com)"
    )


def test_values_at_their_length_limits_are_accepted() -> None:
    row = lead_row(
        external_ref="R" * 200,
        name="N" * 300,
        company="C" * 300,
        campaign="C" * 200,
        source="S" * 200,
        email="a" * 308 + "@example.com",
    )
    lead = only_lead(read(f"{HEADER}\n{row}\n"))
    assert lead.external_ref == "R" * 200
    assert lead.email is not None and len(lead.email) == 320


def test_every_problem_in_a_row_is_reported_at_once() -> None:
    row = lead_row(email="bob@", status="maybe", owner_slack_id="bob")
    message = only_error(read(f"{HEADER}\n{row}\n")).message
    assert message.startswith("row 2: external_ref is empty")
    assert "email 'bob@'" in message
    assert "owner_slack_id 'bob'" in message
    assert "status 'maybe'" in message


def test_line_break_in_a_known_field_is_refused() -> None:
    error = only_error(read('external_ref,name\nCRM-1,"Ann\nLee"\n'))
    assert error.message == (
        "row 2: name contains a line break or control character (use plain text on one line)"
    )


def test_attribute_value_over_two_thousand_characters_rejects_the_row() -> None:
    text = f"external_ref,notes\nCRM-1,{'n' * 2_001}\nCRM-2,{'n' * 2_000}\n"
    results = read(text)
    assert results[0] == RowError(
        row=2, message="row 2: 'notes' is 2,001 characters long (the limit is 2,000)"
    )
    assert results[1] == LeadRecord(external_ref="CRM-2", attributes={"notes": "n" * 2_000})


def test_attribute_with_control_characters_rejects_the_row() -> None:
    error = only_error(read("external_ref,notes\nCRM-1,bell\x07 here\n"))
    assert error.message == "row 2: 'notes' contains control characters (use plain text)"


def test_row_with_more_cells_than_the_header_is_reported() -> None:
    results = read("external_ref,name\nCRM-1,Acme, Inc.\nCRM-2,Initech\n")
    assert results == [
        RowError(
            row=2,
            message="row 2: has 3 cells but the header has 2 columns; "
            "put values that contain commas in double quotes",
        ),
        LeadRecord(external_ref="CRM-2", name="Initech"),
    ]


def test_value_under_a_column_without_a_name_is_reported() -> None:
    results = read("external_ref,,name,\nCRM-1,,Ann,\nCRM-2,oops,Bob,\n")
    assert results[0] == LeadRecord(external_ref="CRM-1", name="Ann")
    assert results[1] == RowError(
        row=3,
        message="row 3: column 2 has the value 'oops' but no name in the header (row 1); "
        "name the column or delete the value",
    )


def test_rows_after_a_bad_row_are_still_imported() -> None:
    results = read(f"{EXPECTED_HEADER}\nCRM-1,,,,,,\n,no ref,,,,,\nCRM-3,,,,,,\n")
    assert [type(result) for result in results] == [LeadRecord, RowError, LeadRecord]


def test_quote_never_closed_is_reported_at_its_row_and_reading_stops() -> None:
    results = read('external_ref,name\nCRM-1,Ann\nCRM-2,"Bob\nCRM-3,Cy\n')
    assert results[0] == LeadRecord(external_ref="CRM-1", name="Ann")
    error = only_error(results[1:])
    assert error.row == 3
    assert "opened but never closed" in error.message
    assert "rows from 3 on were not imported" in error.message


def test_text_after_a_closing_quote_is_reported_and_reading_stops() -> None:
    results = read('external_ref,name\nCRM-1,"Ann" Lee\nCRM-2,Bob\n')
    assert only_error(results).row == 2


def test_cell_too_large_for_the_csv_module_is_reported_and_reading_stops() -> None:
    results = read(f"external_ref,notes\nCRM-1,{'x' * 140_000}\nCRM-3,ok\n")
    error = only_error(results)
    assert error.row == 2
    assert "field larger than field limit" in error.message


def test_nul_byte_is_a_row_error_and_the_rest_is_imported() -> None:
    results = read("external_ref,name\nCRM-1,A\x00nn\nCRM-2,Bob\n")
    assert results[0] == RowError(
        row=2,
        message="row 2: name contains a line break or control character "
        "(use plain text on one line)",
    )
    assert results[1] == LeadRecord(external_ref="CRM-2", name="Bob")


# --- validate_lead (shared by CSV and JSON) ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "external_ref"),
    [(12345, "12345"), (12345.0, "12345"), (12.5, "12.5"), (-7, "-7"), (" CRM-1 ", "CRM-1")],
)
def test_numeric_external_ref_becomes_text(value: object, external_ref: str) -> None:
    assert validate_lead({"external_ref": value}, row=1) == LeadRecord(external_ref=external_ref)


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "true/false"), ([1], "a list"), ({"id": 1}, "an object")],
)
def test_boolean_list_or_object_in_a_known_field_is_refused(value: object, kind: str) -> None:
    assert validate_lead({"external_ref": value}, row=4) == RowError(
        row=4, message=f"row 4: external_ref must be text, not {kind}"
    )
    error = validate_lead({"external_ref": "CRM-1", "company": value}, row=4)
    assert error == RowError(row=4, message=f"row 4: company must be text, not {kind}")


def test_not_a_number_is_refused_as_external_ref() -> None:
    error = validate_lead({"external_ref": float("nan")}, row=1)
    assert isinstance(error, RowError)
    assert "external_ref must be text or an ordinary number" in error.message


def test_null_known_fields_are_empty() -> None:
    assert validate_lead({"external_ref": "CRM-1", "name": None, "status": None}, row=1) == (
        LeadRecord(external_ref="CRM-1")
    )


def test_json_extra_fields_become_text_attributes() -> None:
    fields = {
        "external_ref": "CRM-1",
        "score": 87,
        "ratio": 0.5,
        "vip": True,
        "tags": ["a", "b"],
        "utm": {"medium": "cpc"},
        "note": None,
        "blank": "  ",
    }
    assert validate_lead(fields, row=1) == LeadRecord(
        external_ref="CRM-1",
        attributes={
            "score": "87",
            "ratio": "0.5",
            "vip": "true",
            "tags": '["a","b"]',
            "utm": '{"medium":"cpc"}',
        },
    )


def test_field_names_match_case_insensitively() -> None:
    fields = {"External_Ref": "CRM-1", " EMAIL ": "ann@acme.com", "Status": "Won"}
    assert validate_lead(fields, row=1) == LeadRecord(
        external_ref="CRM-1", email="ann@acme.com", status="won"
    )


def test_two_field_names_differing_only_in_case_are_refused() -> None:
    error = validate_lead({"external_ref": "CRM-1", "Email": "a@b.co", "email": "c@d.co"}, row=2)
    assert error == RowError(
        row=2, message="row 2: 'Email' and 'email' are the same field (give it once)"
    )


def test_value_without_a_field_name_is_refused_but_an_empty_one_is_ignored() -> None:
    assert validate_lead({"external_ref": "CRM-1", "": ""}, row=1) == LeadRecord("CRM-1")
    error = validate_lead({"external_ref": "CRM-1", " ": "x"}, row=1)
    assert error == RowError(
        row=1, message="row 1: a field with no name has the value 'x' (name it or remove it)"
    )


def test_label_names_what_is_counted_in_the_message() -> None:
    error = validate_lead({"name": "Ann"}, row=3, label="lead")
    assert error == RowError(
        row=3, message="lead 3: external_ref is empty (every lead needs its CRM ID there)"
    )


def test_long_values_are_shortened_when_repeated_in_a_message() -> None:
    error = validate_lead({"external_ref": "CRM-1", "email": "x" * 500}, row=1)
    assert isinstance(error, RowError)
    assert "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'" in error.message
    assert len(error.message) < 200


# --- webhook signatures -----------------------------------------------------------------


def test_signature_is_hmac_sha256_of_version_timestamp_and_body() -> None:
    digest = hmac.new(SECRET.encode(), b"v1:1700000000:" + BODY, hashlib.sha256).hexdigest()
    assert sign_webhook(BODY, secret=SECRET, timestamp=NOW) == f"v1={digest}"


def test_header_names_and_size_limit_are_fixed() -> None:
    assert (SIGNATURE_HEADER, TIMESTAMP_HEADER) == ("X-Leadloop-Signature", "X-Leadloop-Timestamp")
    assert MAX_WEBHOOK_BYTES == 1_000_000


def test_correctly_signed_request_is_accepted() -> None:
    assert verify_webhook(BODY, secret=SECRET, now=NOW, **signed(BODY)) is None


def test_signature_with_surrounding_spaces_or_upper_case_hex_is_accepted() -> None:
    signature = sign_webhook(BODY, secret=SECRET, timestamp=NOW)
    refusal = verify_webhook(
        BODY,
        secret=SECRET,
        now=NOW,
        timestamp_header=f" {NOW} ",
        signature_header=f" v1={signature[3:].upper()} ",
    )
    assert refusal is None


@pytest.mark.parametrize(
    ("timestamp_header", "signature_header"),
    [(None, "v1=ab"), (str(NOW), None), (None, None), ("", "v1=ab"), (str(NOW), "")],
)
def test_request_without_signature_headers_is_refused(
    timestamp_header: str | None, signature_header: str | None
) -> None:
    refusal = verify_webhook(
        BODY,
        secret=SECRET,
        now=NOW,
        timestamp_header=timestamp_header,
        signature_header=signature_header,
    )
    assert refusal == WebhookRefusal(401, "missing signature")


@pytest.mark.parametrize("timestamp", ["soon", "1700000000.5", "+1700000000", "1_700_000_000"])
def test_timestamp_that_is_not_a_whole_number_is_refused(timestamp: str) -> None:
    refusal = verify_webhook(
        BODY,
        secret=SECRET,
        now=NOW,
        timestamp_header=timestamp,
        signature_header=sign_webhook(BODY, secret=SECRET, timestamp=NOW),
    )
    assert refusal == WebhookRefusal(401, "invalid timestamp")


def test_replay_older_than_five_minutes_is_refused() -> None:
    refusal = verify_webhook(BODY, secret=SECRET, now=NOW + 301, **signed(BODY))
    assert refusal == WebhookRefusal(401, "stale timestamp")


def test_request_exactly_five_minutes_old_is_accepted() -> None:
    assert verify_webhook(BODY, secret=SECRET, now=NOW + 300, **signed(BODY)) is None


def test_timestamp_more_than_five_minutes_in_the_future_is_refused() -> None:
    refusal = verify_webhook(BODY, secret=SECRET, now=NOW - 301, **signed(BODY))
    assert refusal == WebhookRefusal(401, "stale timestamp")


def test_maximum_age_can_be_changed() -> None:
    refusal = verify_webhook(BODY, secret=SECRET, now=NOW + 61, max_age_seconds=60, **signed(BODY))
    assert refusal == WebhookRefusal(401, "stale timestamp")


@pytest.mark.parametrize(
    ("body", "secret", "headers"),
    [
        (BODY + b" ", SECRET, signed(BODY)),
        (BODY, "another-secret", signed(BODY)),
        (
            BODY,
            SECRET,
            {
                "timestamp_header": str(NOW),
                "signature_header": sign_webhook(BODY, secret=SECRET, timestamp=NOW - 1),
            },
        ),
        (BODY, SECRET, {**signed(BODY), "signature_header": signed(BODY)["signature_header"][3:]}),
        (BODY, SECRET, {**signed(BODY), "signature_header": signed(BODY)["signature_header"][:-1]}),
        (BODY, SECRET, {**signed(BODY), "signature_header": "v1=ünïcode"}),
    ],
    ids=["tampered-body", "wrong-secret", "other-timestamp", "no-prefix", "truncated", "unicode"],
)
def test_wrongly_signed_request_is_refused(
    body: bytes, secret: str, headers: dict[str, str | None]
) -> None:
    refusal = verify_webhook(body, secret=secret, now=NOW, **headers)
    assert refusal == WebhookRefusal(401, "invalid signature")


def test_signature_differing_only_in_its_last_character_is_refused() -> None:
    signature = sign_webhook(BODY, secret=SECRET, timestamp=NOW)
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    refusal = verify_webhook(
        BODY, secret=SECRET, now=NOW, timestamp_header=str(NOW), signature_header=forged
    )
    assert refusal == WebhookRefusal(401, "invalid signature")


def test_empty_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="LEAD_WEBHOOK_SECRET"):
        verify_webhook(BODY, secret="", now=NOW, **signed(BODY))


# --- webhook bodies ---------------------------------------------------------------------


def test_single_lead_object_is_parsed() -> None:
    assert parse_webhook_leads(BODY) == [LeadRecord(external_ref="CRM-1", name="Ann")]


def test_list_of_leads_is_parsed_with_each_problem_at_its_index() -> None:
    body = json.dumps(
        [{"external_ref": "CRM-1"}, {"external_ref": "CRM-2", "email": "bob@"}, {"name": "Cy"}]
    ).encode()
    assert leads(parse_webhook_leads(body)) == [
        LeadRecord(external_ref="CRM-1"),
        RowError(
            row=2,
            message="lead 2: email 'bob@' is not an email address (write it as name@example.com)",
        ),
        RowError(
            row=3, message="lead 3: external_ref is empty (every lead needs its CRM ID there)"
        ),
    ]


def test_leads_wrapped_in_a_leads_key_are_parsed_and_other_keys_ignored() -> None:
    body = json.dumps({"zap_id": "z-1", "leads": [{"external_ref": 42, "status": "Lost"}]})
    assert parse_webhook_leads(body.encode()) == [LeadRecord(external_ref="42", status="lost")]


def test_lead_with_its_own_leads_field_is_a_lead_not_a_wrapper() -> None:
    body = json.dumps({"external_ref": "CRM-1", "leads": "3"}).encode()
    assert parse_webhook_leads(body) == [LeadRecord("CRM-1", attributes={"leads": "3"})]


def test_body_with_a_byte_order_mark_is_parsed() -> None:
    assert parse_webhook_leads(b"\xef\xbb\xbf" + BODY) == [LeadRecord("CRM-1", name="Ann")]


@pytest.mark.parametrize("body", [b"[]", b'{"leads": []}'])
def test_empty_list_of_leads_is_refused(body: bytes) -> None:
    refusal = parse_webhook_leads(body)
    assert isinstance(refusal, WebhookRefusal)
    assert refusal.status == 400
    assert "no leads" in refusal.error


def test_more_than_a_thousand_leads_are_refused() -> None:
    items = [{"external_ref": f"CRM-{i}"} for i in range(1_001)]
    refusal = parse_webhook_leads(json.dumps(items).encode())
    assert refusal == WebhookRefusal(
        400, "too many leads: 1,001 in one request; the limit is 1,000, so split the list"
    )


def test_a_thousand_leads_are_accepted() -> None:
    items = [{"external_ref": f"CRM-{i}"} for i in range(1_000)]
    assert len(leads(parse_webhook_leads(json.dumps(items).encode()))) == 1_000


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'[{"external_ref": "CRM-1"}, 7]', "lead 2 is a number, not a lead object"),
        (b'[{"external_ref": "CRM-1"}, "CRM-2"]', "lead 2 is text, not a lead object"),
        (b"[[]]", "lead 1 is a list, not a lead object"),
        (b"[null]", "lead 1 is null, not a lead object"),
        (b'{"leads": [true]}', "lead 1 is true/false, not a lead object"),
    ],
)
def test_list_with_something_other_than_objects_is_refused(body: bytes, error: str) -> None:
    assert parse_webhook_leads(body) == WebhookRefusal(400, error)


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b'"CRM-1"', "text"), (b"42", "a number"), (b"null", "null"), (b'{"leads": 3}', "a number")],
)
def test_json_that_is_not_leads_is_refused(body: bytes, kind: str) -> None:
    refusal = parse_webhook_leads(body)
    assert refusal == WebhookRefusal(
        400, f'expected a lead object, a list of lead objects or {{"leads": [...]}}, not {kind}'
    )


def test_body_over_one_megabyte_is_refused() -> None:
    body = b'{"external_ref": "CRM-1"}'.ljust(MAX_WEBHOOK_BYTES + 1)
    assert parse_webhook_leads(body) == WebhookRefusal(413, "body too large")


def test_body_of_exactly_one_megabyte_is_accepted() -> None:
    body = b'{"external_ref": "CRM-1"}'.ljust(MAX_WEBHOOK_BYTES)
    assert parse_webhook_leads(body) == [LeadRecord(external_ref="CRM-1")]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"external_ref": "CRM-1"',
        b'{"external_ref": "Ren\xe9e"}',
        b"\xff\xfe{\x00}\x00",
        b'{"external_ref": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["empty", "text", "truncated", "latin-1", "utf-16", "nan", "deeply-nested"],
)
def test_body_that_is_not_json_is_refused(body: bytes) -> None:
    assert parse_webhook_leads(body) == WebhookRefusal(400, "body is not JSON")


# --- properties -------------------------------------------------------------------------

CSV_ISH = st.text(alphabet=st.sampled_from('ab,;"\r\n \t\x00\ufeff') | st.characters())
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
PLAIN_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).map(
    str.strip
)


@PROPERTY
@given(
    st.one_of(st.text(), CSV_ISH, CSV_ISH.map(lambda text: f"{HEADER},notes\n{text}"), st.just(""))
)
def test_reading_any_text_yields_numbered_results_or_raises_only_a_header_error(
    text: str,
) -> None:
    try:
        results = read(text)
    except CsvHeaderError:
        return
    rows = [result.row for result in results if isinstance(result, RowError)]
    assert rows == sorted(set(rows))
    for result in results:
        if isinstance(result, RowError):
            assert result.message.startswith(f"row {result.row}: ")


@PROPERTY
@given(st.dictionaries(st.text(), st.text()), st.integers(min_value=1, max_value=10**6))
def test_validating_any_text_fields_never_raises(fields: dict[str, str], row: int) -> None:
    result = validate_lead(fields, row=row)
    if isinstance(result, RowError):
        assert result.row == row
        assert result.message.startswith(f"row {row}: ")
    else:
        assert result.external_ref == result.external_ref.strip() != ""
        assert len(result.external_ref) <= 200
        assert all(value for value in result.attributes.values())


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["external_ref", "name", "email", "status", "extra"]) | st.text(),
        JSON_VALUES,
    )
)
def test_validating_any_json_fields_never_raises(fields: dict[str, object]) -> None:
    assert isinstance(validate_lead(fields, row=1), LeadRecord | RowError)


@PROPERTY
@given(st.binary() | JSON_VALUES.map(lambda value: json.dumps(value).encode()))
def test_parsing_any_webhook_body_never_raises(body: bytes) -> None:
    result = parse_webhook_leads(body)
    if isinstance(result, WebhookRefusal):
        assert result.status in {400, 413}
    else:
        assert all(isinstance(item, LeadRecord | RowError) for item in result)


@PROPERTY
@given(st.none() | st.text(), st.none() | st.text(), st.binary(max_size=50))
def test_any_forged_headers_are_refused_without_raising(
    timestamp_header: str | None, signature_header: str | None, body: bytes
) -> None:
    refusal = verify_webhook(
        body,
        secret=SECRET,
        now=NOW,
        timestamp_header=timestamp_header,
        signature_header=signature_header,
    )
    assert refusal is not None
    assert refusal.status == 401


@PROPERTY
@given(
    st.binary(max_size=200),
    st.text(min_size=1, max_size=40),
    st.integers(min_value=NOW - 300, max_value=NOW + 300),
)
def test_anything_signed_with_the_secret_in_time_is_accepted(
    body: bytes, secret: str, timestamp: int
) -> None:
    signature = sign_webhook(body, secret=secret, timestamp=timestamp)
    refusal = verify_webhook(
        body,
        secret=secret,
        now=NOW,
        timestamp_header=str(timestamp),
        signature_header=signature,
    )
    assert refusal is None


@PROPERTY
@given(st.lists(st.tuples(PLAIN_TEXT.filter(bool), PLAIN_TEXT, PLAIN_TEXT), max_size=20))
def test_plain_values_written_by_a_csv_writer_read_back_unchanged(
    rows: list[tuple[str, str, str]],
) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["external_ref", "company", "notes"])
    writer.writerows(rows)
    assert read(buffer.getvalue()) == [
        LeadRecord(
            external_ref=ref,
            company=company or None,
            attributes={"notes": notes} if notes else {},
        )
        for ref, company, notes in rows
    ]
