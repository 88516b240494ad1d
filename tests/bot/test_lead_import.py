"""``leadloop import`` end to end on real databases: the CLI, the upsert, the hand-offs owed."""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.cli import build_parser, main
from bot.cli_import import command_import
from bot.outbox.engine import Deliverer
from domain.leads.intake import import_leads
from domain.leads.records import EXPECTED_HEADER, LeadRecord
from handlers import ids
from storage.engine import SessionFactory
from storage.models import CampaignOwner, Handoff, Lead, OutboxMessage, Rating
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import Call, FakeSlack
from tests.slack_app_client import SlackAppClient

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
HEADER = f"{EXPECTED_HEADER},region,notes"
GOOD_ROWS = [
    "ACME-1,Ann Lee,ann@acme.example,Acme,Spring 2026,webinar,U0ANN,EMEA,called twice",
    'ACME-2,Bo Chen,bo@acme.example,"Acme, Inc.",Spring 2026,webinar,U0BO,APAC,',
    "ACME-3,Cy Diaz,cy@acme.example,Acme,Spring 2026,ads,,,",
]


@dataclass(frozen=True)
class Run:
    """What one ``leadloop import`` returned and printed."""

    exit_code: int
    out: str
    err: str


class Terminal(io.StringIO):
    """stderr as an interactive terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The test database as the CLI's DATABASE_URL, with no developer's .env read."""
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def workspace(cli_database: str, session_factory: SessionFactory, clock: FakeClock) -> str:
    """The bot's workspace, recorded as ``leadloop run`` records it."""
    record(session_factory, clock, TEAM)
    return TEAM


def record(session_factory: SessionFactory, clock: FakeClock, team_id: str) -> None:
    with session_factory() as session:
        record_workspace(session, team_id=team_id, team_name=None, bot_user_id=None, now=clock())
        session.commit()


def csv_file(
    tmp_path: Path, rows: list[str], *, header: str = HEADER, name: str = "leads.csv"
) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def run_import(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    """Run ``leadloop import ARGS`` in this process."""
    capsys.readouterr()
    exit_code = main(["import", *(str(arg) for arg in args)])
    captured = capsys.readouterr()
    return Run(exit_code=exit_code, out=captured.out, err=captured.err)


def count_line(label: str, count: int) -> str:
    return f"  {label + ':':<11}{count:>9,}"


def leads(session_factory: SessionFactory, team_id: str = TEAM) -> dict[str, Lead]:
    with session_factory() as session:
        found = session.exec(select(Lead).where(Lead.team_id == team_id)).all()
    return {lead.external_ref: lead for lead in found}


def outbox_rows(session_factory: SessionFactory) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_a_good_file_creates_each_lead_and_owes_each_one_handoff(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    result = run_import(capsys, csv_file(tmp_path, GOOD_ROWS))

    assert result.exit_code == 0, result.err
    assert f"Imported {tmp_path / 'leads.csv'} into workspace {TEAM}." in result.out
    assert count_line("created", 3) in result.out
    assert count_line("skipped", 0) in result.out
    assert "The running bot now sends 2 hand-off message(s) to 2 owner(s):" in result.out
    assert "    U0ANN: 1 single hand-off(s)" in result.out
    assert "  1 new lead(s) have no owner_slack_id." in result.out
    assert "  HANDOFF_CHANNEL, if one is set: 3 post(s), one per new lead." in result.out
    stored = leads(session_factory)
    ann = stored["ACME-1"]
    assert (ann.name, ann.email, ann.company, ann.campaign, ann.source, ann.owner_id) == (
        "Ann Lee",
        "ann@acme.example",
        "Acme",
        "Spring 2026",
        "webinar",
        "U0ANN",
    )
    assert ann.attributes == {"region": "EMEA", "notes": "called twice"}
    assert stored["ACME-2"].company == "Acme, Inc."
    assert stored["ACME-3"].owner_id is None
    owed = outbox_rows(session_factory)
    assert [(row.kind, row.status) for row in owed] == [("handoff_post", "pending")] * 3
    with session_factory() as session:
        handed_off = {handoff.lead_id for handoff in session.exec(select(Handoff)).all()}
    assert handed_off == {lead.id for lead in stored.values()}


def test_malformed_rows_are_reported_by_row_number_and_the_rest_is_imported(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = [
        GOOD_ROWS[0],
        "ACME-4,Di,not-an-email,Acme,Spring,ads,U0DI,,",
        ",Eve,eve@acme.example,Acme,Spring,ads,U0EVE,,",
        GOOD_ROWS[1],
        "ACME-5,Fay,fay@acme.example,Acme,Spring,ads,nobody,,",
    ]

    result = run_import(capsys, csv_file(tmp_path, rows))

    assert result.exit_code == 1
    assert count_line("created", 2) in result.out
    assert count_line("skipped", 3) in result.out
    assert "    row 3: email 'not-an-email' is not an email address" in result.out
    assert "    row 4: external_ref is empty" in result.out
    assert "    row 6: owner_slack_id 'nobody' is not a Slack user ID" in result.out
    assert set(leads(session_factory)) == {"ACME-1", "ACME-2"}
    assert len(outbox_rows(session_factory)) == 2


def test_a_file_with_a_byte_order_mark_and_windows_line_ends_imports_normally(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\r\n".join([HEADER, *GOOD_ROWS]).encode("utf-8-sig") + b"\r\n")

    result = run_import(capsys, path)

    assert result.exit_code == 0, result.err
    assert set(leads(session_factory)) == {"ACME-1", "ACME-2", "ACME-3"}
    assert "external_ref" not in leads(session_factory)["ACME-1"].attributes


def test_reimporting_the_same_file_changes_nothing_and_posts_nothing_twice(
    workspace: str,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path = csv_file(tmp_path, GOOD_ROWS)
    run_import(capsys, path)
    clock.now = datetime.now(UTC)  # the CLI stamps what it owes with the real time
    deliverer.deliver_due()
    first_posts = fake_slack.calls_to("chat.postMessage")
    before = {ref: lead.updated_at for ref, lead in leads(session_factory).items()}
    clock.advance(hours=1)

    again = run_import(capsys, path)
    deliverer.deliver_due()

    assert again.exit_code == 0
    assert count_line("created", 0) in again.out
    assert count_line("updated", 0) in again.out
    assert count_line("unchanged", 3) in again.out
    assert "hand-off" not in again.out
    assert {ref: lead.updated_at for ref, lead in leads(session_factory).items()} == before
    assert [row.status for row in outbox_rows(session_factory)] == ["sent"] * 3
    # Two leads have an owner to DM; the third has none and no hand-off channel is set.
    assert sorted(call.params["channel"] for call in first_posts) == ["U0ANN", "U0BO"]
    assert fake_slack.calls_to("chat.postMessage") == first_posts


def test_a_changed_row_updates_its_lead_and_a_blank_cell_keeps_the_stored_value(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run_import(capsys, csv_file(tmp_path, GOOD_ROWS))
    changed = [
        "ACME-1,Ann Lee-Park,,,,,,,",  # new name; blank cells keep the rest
        GOOD_ROWS[1],
        "ACME-3,Cy Diaz,cy@acme.example,Acme,Spring 2026,ads,U0CY,LATAM,",
        "ACME-6,Gil,gil@acme.example,Acme,Spring 2026,ads,U0GIL,,",
    ]

    result = run_import(capsys, csv_file(tmp_path, changed, name="changed.csv"))

    assert result.exit_code == 0
    assert count_line("created", 1) in result.out
    assert count_line("updated", 2) in result.out
    assert count_line("unchanged", 1) in result.out
    stored = leads(session_factory)
    ann = stored["ACME-1"]
    assert (ann.name, ann.email, ann.owner_id) == ("Ann Lee-Park", "ann@acme.example", "U0ANN")
    assert ann.attributes == {"region": "EMEA", "notes": "called twice"}
    assert (stored["ACME-3"].owner_id, stored["ACME-3"].attributes) == ("U0CY", {"region": "LATAM"})
    assert len(outbox_rows(session_factory)) == 4  # only the new lead owes a hand-off


def test_a_reference_repeated_in_a_file_is_one_lead_with_the_later_values(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], "ACME-1,Ann Park,,,,,,,"]
    path = csv_file(tmp_path, rows)

    first = run_import(capsys, path)
    again = run_import(capsys, path)

    assert count_line("created", 2) in first.out
    assert "  1 external_ref(s) on several rows; each is one lead" in first.out
    assert "    ACME-1: rows 2 and 4" in first.out
    assert leads(session_factory)["ACME-1"].name == "Ann Park"
    assert count_line("unchanged", 2) in again.out
    assert count_line("updated", 0) in again.out
    assert len(outbox_rows(session_factory)) == 2


def test_a_ten_thousand_row_file_imports_every_row(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = [
        f"BIG-{i:05d},Lead {i},l{i}@example.com,Co {i % 97},Q4,ads,U{i:06d},,"
        for i in range(10_000)
    ]

    result = run_import(capsys, csv_file(tmp_path, rows))

    assert result.exit_code == 0, result.err
    assert count_line("created", 10_000) in result.out
    assert len(leads(session_factory)) == 10_000
    # One DM per owner (each has one lead), one digest for the hand-off channel.
    kinds = Counter(row.kind for row in outbox_rows(session_factory))
    assert kinds == {"handoff_post": 10_000, "handoff_digest": 1}


def test_a_dry_run_reports_what_would_happen_and_writes_nothing(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run_import(capsys, csv_file(tmp_path, GOOD_ROWS[:1]))
    rows = ["ACME-1,Ann Park,,,,,,,", *GOOD_ROWS[1:], "ACME-7,Bad,nope,,,,,,"]

    result = run_import(capsys, csv_file(tmp_path, rows, name="next.csv"), "--dry-run")

    assert result.exit_code == 1
    assert "nothing was written" in result.out
    assert count_line("created", 2) in result.out
    assert count_line("updated", 1) in result.out
    assert "row 5: email 'nope'" in result.out
    assert set(leads(session_factory)) == {"ACME-1"}
    assert leads(session_factory)["ACME-1"].name == "Ann Lee"
    assert len(outbox_rows(session_factory)) == 1


def test_an_import_into_one_workspace_never_touches_anothers_leads(
    workspace: str,
    session_factory: SessionFactory,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    record(session_factory, clock, OTHER_TEAM)
    run_import(capsys, csv_file(tmp_path, GOOD_ROWS[:1]), "--workspace", TEAM)
    theirs = ["ACME-1,Zed,zed@other.example,Other,Fall,ads,U0ZED,,"]

    result = run_import(capsys, csv_file(tmp_path, theirs, name="b.csv"), "--workspace", OTHER_TEAM)

    assert result.exit_code == 0
    assert count_line("created", 1) in result.out
    assert leads(session_factory, TEAM)["ACME-1"].name == "Ann Lee"
    assert leads(session_factory, OTHER_TEAM)["ACME-1"].name == "Zed"


@pytest.mark.parametrize(
    ("recorded", "args", "message"),
    [
        ([], [], "pass --workspace TEAM_ID"),
        ([TEAM, OTHER_TEAM], [], f"several workspaces ({OTHER_TEAM}, {TEAM})"),
        (
            [TEAM],
            ["--workspace", "T0NOPE"],
            f"T0NOPE is not a workspace leadloop runs in (it knows {TEAM})",
        ),
        ([TEAM], ["--workspace", "acme"], "'acme' is not a Slack workspace ID"),
    ],
    ids=["none-recorded", "several", "unknown", "malformed"],
)
def test_a_workspace_that_cannot_be_chosen_exits_2_and_imports_nothing(
    cli_database: str,
    session_factory: SessionFactory,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    recorded: list[str],
    args: list[str],
    message: str,
) -> None:
    for team_id in recorded:
        record(session_factory, clock, team_id)

    result = run_import(capsys, csv_file(tmp_path, GOOD_ROWS), *args)

    assert result.exit_code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert leads(session_factory) == {}


def test_the_workspace_given_is_used_when_none_is_recorded_yet(
    cli_database: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    result = run_import(capsys, csv_file(tmp_path, GOOD_ROWS[:1]), "--workspace", OTHER_TEAM)

    assert result.exit_code == 0
    assert set(leads(session_factory, OTHER_TEAM)) == {"ACME-1"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"name,email\nAnn,ann@acme.example\n", "the header has no external_ref column"),
        (b"", "the file is empty"),
        (HEADER.encode() + b"\nACME-1,Ren\xe9,,,,,,,\n", "not UTF-8 text"),
    ],
    ids=["missing", "no-external-ref", "empty", "latin-1"],
)
def test_a_file_that_cannot_be_imported_exits_2_without_a_traceback(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "leads.csv"
    if content is not None:
        path.write_bytes(content)

    result = run_import(capsys, path)

    assert result.exit_code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert leads(session_factory) == {}


def test_an_owner_id_too_long_to_store_skips_that_lead_by_name(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    long_owner = "U" + "A" * 40
    rows = [GOOD_ROWS[0], f"ACME-8,Hal,hal@acme.example,Acme,Q4,ads,{long_owner},,"]

    result = run_import(capsys, csv_file(tmp_path, rows))

    assert result.exit_code == 1
    assert "the lead 'ACME-8': owner_slack_id is 41 characters long" in result.out
    assert set(leads(session_factory)) == {"ACME-1"}


def test_a_progress_bar_is_drawn_on_a_terminal_only(
    workspace: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = [f"P-{i},Lead {i},p{i}@example.com,Co,Q4,ads,U0REP,," for i in range(2_500)]
    path = csv_file(tmp_path, rows)
    args = build_parser().parse_args(["import", str(path), "--dry-run"])
    terminal, out = Terminal(), io.StringIO()

    exit_code = command_import(args, os.environ, out=out, err=terminal)
    piped = run_import(capsys, path, "--dry-run")

    assert exit_code == 0
    drawn = terminal.getvalue()
    assert "\rimporting [############------------------]  40%  1,000 of 2,500 rows" in drawn
    assert "80%  2,000 of 2,500 rows" in drawn
    assert drawn.endswith("\r")  # erased before the summary
    assert count_line("created", 2_500) in out.getvalue()
    assert "importing [" not in piped.err


def test_a_row_with_too_few_cells_is_refused_by_its_row_number_like_a_long_one(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = [GOOD_ROWS[0], "ACME-9,Ida,ida@acme.example", 'ACME-10,Jo,jo@acme.example,"A",,,,,,x']

    result = run_import(capsys, csv_file(tmp_path, rows))

    assert result.exit_code == 1
    assert count_line("skipped", 2) in result.out
    assert "    row 3: has 3 cells but the header has 9 columns; give every column" in result.out
    assert "    row 4: has 10 cells but the header has 9 columns; put values" in result.out
    assert set(leads(session_factory)) == {"ACME-1"}


# --- hand-offs that cannot flood Slack ----------------------------------------------------


def owner_rows(owner: str, count: int, *, prefix: str) -> list[str]:
    return [
        f"{prefix}-{i},Lead {i},l{i}@{prefix.lower()}.example,Co,Q4,ads,{owner},,"
        for i in range(1, count + 1)
    ]


def with_handoff_channel(deliverer: Deliverer) -> Deliverer:
    return replace(deliverer, defaults=replace(deliverer.defaults, handoff_channel="CHANDOFF"))


def posts_to(fake_slack: FakeSlack, channel: str) -> list[Call]:
    return [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == channel]


def action_blocks(call: Call) -> list[dict[str, Any]]:
    return [block for block in call.params["blocks"] if block["type"] == "actions"]


def test_an_owner_with_more_than_ten_new_leads_gets_one_digest_instead_of_a_dm_each(
    workspace: str,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = owner_rows("U0ANN", 12, prefix="ANN") + owner_rows("U0BO", 2, prefix="BO")

    result = run_import(capsys, csv_file(tmp_path, rows))
    clock.now = datetime.now(UTC)
    with_handoff_channel(deliverer).deliver_due()

    assert "The running bot now sends 3 hand-off message(s) to 2 owner(s):" in result.out
    assert "    U0ANN: 1 digest listing 12 new leads (more than 10)" in result.out
    assert "    U0BO: 2 single hand-off(s)" in result.out
    assert "HANDOFF_CHANNEL, if one is set: 1 digest listing all the new leads." in result.out
    [digest] = posts_to(fake_slack, "U0ANN")
    assert "12 new leads for <@U0ANN>" in digest.params["text"]
    stored = leads(session_factory)
    assert [block["elements"][0]["value"] for block in action_blocks(digest)] == [
        f"{stored[f'ANN-{i}'].id}:1" for i in range(1, 13)
    ]
    assert len(posts_to(fake_slack, "U0BO")) == 2
    # The channel gets one digest of all 14, and no single post of Bo's leads.
    [channel_digest] = posts_to(fake_slack, "CHANDOFF")
    assert "14 new leads" in channel_digest.params["text"]
    assert len(action_blocks(channel_digest)) == 14
    assert {row.status for row in outbox_rows(session_factory)} == {"sent"}


def test_a_lead_in_a_digest_is_rated_by_a_signed_click_and_the_digest_shows_it(
    workspace: str,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    clock: FakeClock,
    slack: SlackAppClient,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run_import(capsys, csv_file(tmp_path, owner_rows("U0ANN", 11, prefix="ANN")))
    clock.now = datetime.now(UTC)
    deliverer.deliver_due()
    [digest] = posts_to(fake_slack, "U0ANN")
    third = action_blocks(digest)[2]
    four = next(e for e in third["elements"] if e["action_id"] == f"{ids.HANDOFF_SCORE}_4")
    response_url = fake_slack.response_url("digest-click")

    answer = slack.interact(
        payloads.handoff_click(
            action_id=four["action_id"],
            value=four["value"],
            response_url=response_url,
            user_id="U0ANN",
            channel_id="D0ANN",
            message_ts=digest.params.get("ts", "1700000000.000100"),
        )
    )

    assert answer.status == 200
    with session_factory() as session:
        [rating] = session.exec(select(Rating)).all()
    assert (rating.lead_id, rating.score, rating.via) == (
        leads(session_factory)["ANN-3"].id,
        4,
        "button",
    )
    [reply] = fake_slack.wait_for("response_url")
    assert "ANN-3" in reply.params["text"]
    [update] = [c for c in fake_slack.calls_to("chat.update") if c.params["channel"] == "U0ANN"]
    assert "<@U0ANN> ★★★★☆ 4/5" in json.dumps(update.params["blocks"], ensure_ascii=False)
    assert len(action_blocks(update)) == 11


def test_a_digest_too_long_for_one_message_shows_twenty_leads_and_names_the_rest(
    workspace: str,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    run_import(capsys, csv_file(tmp_path, owner_rows("U0ANN", 300, prefix="ANN")))
    clock.now = datetime.now(UTC)
    deliverer.deliver_due()

    [digest] = posts_to(fake_slack, "U0ANN")
    blocks = digest.params["blocks"]
    assert len(blocks) <= 50
    assert len(action_blocks(digest)) == 20
    footer = json.dumps(blocks[-1])
    assert "and 280 more not shown here" in footer
    assert "/rate-lead ANN-21 4" in footer
    assert "ANN-70" in footer and "ANN-71" not in footer
    assert "and 230 more" in footer


def test_a_dry_run_says_how_many_handoff_messages_it_would_send_and_owes_none(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = owner_rows("U0ANN", 11, prefix="ANN") + owner_rows("U0BO", 3, prefix="BO")

    result = run_import(capsys, csv_file(tmp_path, rows), "--dry-run")

    assert "Importing it would send 4 hand-off message(s) to 2 owner(s):" in result.out
    assert "    U0ANN: 1 digest listing 11 new leads" in result.out
    assert outbox_rows(session_factory) == []


def test_no_handoffs_stores_the_leads_and_owes_no_message(
    workspace: str,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    rows = owner_rows("U0ANN", 30, prefix="ANN") + GOOD_ROWS

    result = run_import(capsys, csv_file(tmp_path, rows), "--no-handoffs")
    clock.now = datetime.now(UTC)
    with_handoff_channel(deliverer).deliver_due()

    assert result.exit_code == 0
    assert count_line("created", 33) in result.out
    assert "No hand-off messages are sent (--no-handoffs)." in result.out
    assert len(leads(session_factory)) == 33
    assert outbox_rows(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_an_imports_handoffs_wait_until_the_whole_file_is_in(
    workspace: str,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    records = [LeadRecord(f"W-{i}", owner_slack_id="U0ANN", row=i + 2) for i in range(25)]
    sent_during: list[int] = []

    summary = import_leads(
        session_factory,
        team_id=TEAM,
        read=lambda: iter(records),
        now=clock(),
        batch_size=10,
        on_batch=lambda _: sent_during.append(deliverer.deliver_due()),
    )

    assert sent_during == [0, 0]
    assert summary.held_message_ids and deliverer.deliver_due() == 0
    clock.advance(hours=1, seconds=1)  # an import that died: its hand-offs still go out
    assert deliverer.deliver_due() == 2  # the owner's digest and the channel's


def test_repeated_references_are_named_with_their_rows_and_the_list_is_bounded(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    twice = [f"DUP-{i},Lead {i},,,,,,," for i in range(30)]
    often = [f"OFTEN,Take {i},,,,,,," for i in range(8)]

    result = run_import(capsys, csv_file(tmp_path, often + twice + twice))

    assert "  31 external_ref(s) on several rows; each is one lead" in result.out
    assert "    OFTEN: rows 2, 3, 4, 5, 6 and 3 more" in result.out
    assert "    DUP-0: rows 10 and 40" in result.out
    assert "    DUP-18: rows 28 and 58" in result.out
    assert "DUP-19:" not in result.out
    assert "    … and 11 more repeated external_ref(s)." in result.out
    assert leads(session_factory)["OFTEN"].name == "Take 7"
    assert count_line("created", 31) in result.out


def campaign_owners(session_factory: SessionFactory) -> dict[str, str]:
    with session_factory() as session:
        return {row.campaign: row.owner_id for row in session.exec(select(CampaignOwner))}


def test_a_campaign_owner_column_gives_each_campaign_its_owner_and_bad_ids_are_row_errors(
    workspace: str,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    header = EXPECTED_HEADER + ",campaign_owner_slack_id"
    rows = [
        "W-1,Ann Lee,ann@acme.example,Acme,Spring 2026,webinar,U0ANN,U0MARIA",
        "W-2,Bo Li,bo@acme.example,Acme,Spring 2026,webinar,U0ANN,U0MARIA",
        "W-3,Cy Ng,cy@acme.example,Acme,Fall 2026,ads,U0ANN,maria",
        "W-4,Di Oz,di@acme.example,Acme,,ads,U0ANN,U0MARIA",
    ]
    path = csv_file(tmp_path, rows, header=header)

    dry = run_import(capsys, path, "--dry-run")
    assert "1 campaign(s) would get their owner" in dry.out
    assert campaign_owners(session_factory) == {}
    result = run_import(capsys, path)

    assert result.exit_code == 1, result.err  # rows were skipped
    assert count_line("created", 2) in result.out and count_line("skipped", 2) in result.out
    assert "campaign_owner_slack_id 'maria' is not a Slack user ID" in result.out
    assert "campaign_owner_slack_id needs a campaign to own" in result.out
    assert "1 campaign(s) got their owner" in result.out
    assert campaign_owners(session_factory) == {"Spring 2026": "U0MARIA"}
    assert "campaign_owner_slack_id" not in leads(session_factory)["W-1"].attributes
