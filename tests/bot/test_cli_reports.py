"""``leadloop report``, ``leadloop demo`` and ``leadloop kpi import`` (bot/cli_reports.py)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from bot.cli import main
from storage import kpis as kpi_store
from storage.engine import SessionFactory, create_db_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.models import KpiValue, Lead, Rating, Response, Workspace
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOW = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
TEAM = payloads.TEAM_ID
SETTINGS_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "FEEDBACK_CHANNEL",
    "REPORT_CHANNEL",
    "SLACK_API_URL",
    "DATABASE_URL",
    "LEADLOOP_TZ",
    "ADMIN_USERS",
)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No leadloop settings and no developer's .env; the working directory is the test's own."""
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    for name in SETTINGS_VARIABLES:
        # setenv first so that monkeypatch restores the original even if load_dotenv sets it.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


@pytest.fixture
def database(environment: pytest.MonkeyPatch, database_url: str) -> str:
    """DATABASE_URL points at this test's migrated, empty database."""
    environment.setenv("DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def workspace(database: str, session_factory: SessionFactory) -> str:
    """The database knows one workspace, with a little data in W45."""
    with session_factory() as session:
        record_workspace(session, team_id=TEAM, team_name="Test", bot_user_id="UBOT", now=NOW)
        for week, value in [((2026, 40), 10.0), ((2026, 45), 12.5)]:
            kpi_store.set_kpi_value(
                session,
                team_id=TEAM,
                metric="conversion_rate",
                week=week,
                value=value,
                set_by="UADMIN",
                now=NOW,
            )
        lead = Lead(
            team_id=TEAM,
            external_ref="ACME-1",
            campaign="Webinar",
            created_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
            updated_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
            handed_off_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC),
        )
        session.add(lead)
        session.flush()
        session.add(
            Rating(
                team_id=TEAM,
                lead_id=lead.id or -1,
                rater_id=payloads.RATER_ID,
                score=4,
                via="command",
                created_at=datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
            )
        )
        session.commit()
    return TEAM


def count(session: Session, model: type[Lead | Rating | Response | KpiValue | Workspace]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def kpi_rows(session_factory: SessionFactory) -> list[tuple[str, int, int, float, str]]:
    with session_factory() as session:
        rows = session.exec(select(KpiValue).order_by(KpiValue.year, KpiValue.week)).all()
        return [(row.metric, row.year, row.week, row.value, row.set_by) for row in rows]


# --- leadloop report ---------------------------------------------------------------------


def test_report_writes_the_weeks_chart_as_a_png(
    workspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "charts" / "x.png"

    code = main(["report", "--week", "2026-W45", "--out", str(out)])

    assert code == 0
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    assert f"wrote the 2026-W45 report to {out}" in capsys.readouterr().err


def test_report_without_out_writes_under_data_in_the_working_directory(
    workspace: str, tmp_path: Path
) -> None:
    assert main(["report", "--week", "2026-W45"]) == 0

    assert (tmp_path / "data" / "report-2026-W45.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that takes nothing away: a plain write would make files anyone can read."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_report_out_is_readable_by_its_owner_only_even_over_an_earlier_file(
    workspace: str, tmp_path: Path, open_umask: None
) -> None:
    new, earlier = tmp_path / "charts" / "new.png", tmp_path / "earlier.png"
    earlier.write_bytes(b"an earlier chart")
    earlier.chmod(0o644)

    assert main(["report", "--week", "2026-W45", "--out", str(new)]) == 0
    assert main(["report", "--week", "2026-W45", "--out", str(earlier)]) == 0

    assert (mode(new), mode(earlier)) == (0o600, 0o600)
    assert earlier.read_bytes().startswith(PNG_SIGNATURE)


def test_report_json_prints_the_numbers_and_writes_no_picture(
    workspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--week", "2026-W45", "--json"])

    numbers = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"week", "business", "loop"} <= set(numbers)
    assert numbers["week"] == "2026-W45"
    assert numbers["business"]["conversion_rate"]["actual"] == 12.5
    assert numbers["business"]["conversion_rate"]["status"] == "on track"
    assert numbers["loop"]["leads_handed_off"] == 1
    assert numbers["loop"]["average_score_by_campaign"] == {
        "Webinar": {"average": 4.0, "ratings": 1}
    }
    assert len(numbers["loop"]["weeks"]) == 12
    assert not (tmp_path / "data").exists()


def test_report_json_with_out_does_both(
    workspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--week", "2026-W45", "--json", "--out", "both.png"])

    assert code == 0
    assert json.loads(capsys.readouterr().out)["week"] == "2026-W45"
    assert (tmp_path / "both.png").read_bytes().startswith(PNG_SIGNATURE)


MAGIC_BYTES = {"png": (PNG_SIGNATURE,), "svg": (b"<?xml", b"<svg"), "pdf": (b"%PDF",)}


@pytest.mark.parametrize("name", ["chart.png", "chart.svg", "chart.pdf", "CHART.PDF"])
def test_report_out_writes_the_format_its_extension_names(
    workspace: str, tmp_path: Path, name: str
) -> None:
    code = main(["report", "--week", "2026-W45", "--out", name])

    assert code == 0
    written = (tmp_path / name).read_bytes()
    assert written.startswith(MAGIC_BYTES[name.rsplit(".", 1)[1].lower()])
    if name.endswith(".svg"):
        assert b"<svg" in written[:500]


@pytest.mark.parametrize("name", ["chart.jpg", "chart", "chart.png.txt", "svg"])
def test_report_out_with_another_extension_exits_2_naming_the_formats_and_writes_nothing(
    workspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    before = sorted(tmp_path.rglob("*"))

    code = main(["report", "--week", "2026-W45", "--json", "--out", name])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    [line] = captured.err.strip().splitlines()
    assert ".png, .svg or .pdf" in line
    assert name in line
    assert "Traceback" not in captured.err
    assert sorted(tmp_path.rglob("*")) == before


def test_report_json_gives_every_share_in_percent_points_rounded_to_one_decimal(
    workspace: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory() as session:
        # 88.5% + 10% is 97.35000000000001 in floating point: the JSON must say 97.4.
        for week, value in [((2026, 40), 88.5), ((2026, 45), 92.29)]:
            kpi_store.set_kpi_value(
                session,
                team_id=TEAM,
                metric="retention_rate",
                week=week,
                value=value,
                set_by="UADMIN",
                now=NOW,
            )
        add_leads(session, count=2)
        session.commit()

    assert main(["report", "--week", "2026-W45", "--json"]) == 0

    text = capsys.readouterr().out
    numbers = json.loads(text)
    retention = numbers["business"]["retention_rate"]
    assert (retention["unit"], retention["actual"], retention["target"]) == (
        "percent",
        92.3,
        97.4,
    )
    assert retention["weeks"]["2026-W40"] == 88.5
    loop = numbers["loop"]
    assert (loop["leads_handed_off"], loop["leads_rated"], loop["rated_pct"]) == (3, 1, 33.3)
    assert loop["weeks"]["2026-W45"]["answered_pct"] == 0.0
    assert "share" not in text
    assert all(len(number.split(".")[1]) <= 2 for number in json_floats(text))


def json_floats(text: str) -> list[str]:
    """Every decimal number written in a JSON text, as written."""
    return re.findall(r"-?\d+\.\d+(?:[eE][-+]?\d+)?", text)


def add_leads(session: Session, *, count: int) -> None:
    """``count`` more unrated leads imported in the week of 2026-W45."""
    for number in range(count):
        created = datetime(2026, 11, 4, 9, number, tzinfo=UTC)
        session.add(
            Lead(
                team_id=TEAM,
                external_ref=f"MORE-{number}",
                created_at=created,
                updated_at=created,
                handed_off_at=created,
            )
        )


def test_report_without_any_workspace_fails_in_a_friendly_way(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "--week", "2026-W45", "--json"])

    err = capsys.readouterr().err
    assert code == 1
    assert "the database has no workspace yet" in err
    assert "Traceback" not in err


def test_report_without_a_database_file_fails_in_a_friendly_way_and_creates_none(
    environment: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("DATABASE_URL", "sqlite:///./data/leadloop.db")

    code = main(["report"])

    assert code == 1
    assert "there is no database at data/leadloop.db" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_report_with_several_workspaces_asks_which_one(
    workspace: str, session_factory: SessionFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_factory() as session:
        record_workspace(
            session, team_id=payloads.OTHER_TEAM_ID, team_name=None, bot_user_id=None, now=NOW
        )
        session.commit()

    refused = main(["report", "--week", "2026-W45", "--json"])
    refusal = capsys.readouterr().err
    chosen = main(["report", "--week", "2026-W45", "--json", "--workspace", TEAM])

    assert refused == 2
    assert f"choose one with --workspace: {payloads.OTHER_TEAM_ID}, {TEAM}" in refusal
    assert chosen == 0
    assert json.loads(capsys.readouterr().out)["business"]["conversion_rate"]["actual"] == 12.5


@pytest.mark.parametrize(
    ("week", "problem"),
    [
        ("2026-W60", "--week: 2026 has 53 ISO weeks, so there is no W60"),
        ("someday", "--week: I can't read `someday` as a week"),
        ("2062-W01", "not 2062"),
    ],
)
def test_report_with_a_bad_week_exits_2(
    workspace: str, capsys: pytest.CaptureFixture[str], week: str, problem: str
) -> None:
    code = main(["report", "--week", week, "--json"])

    captured = capsys.readouterr()
    assert code == 2
    assert problem in captured.err
    assert captured.out == ""


def slack_environment(environment: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    environment.setenv("SLACK_API_URL", fake_slack.api_url)
    environment.setenv("SLACK_BOT_TOKEN", "xoxb-cli-test-token")
    environment.setenv("SLACK_SIGNING_SECRET", payloads.SIGNING_SECRET)
    environment.setenv("FEEDBACK_CHANNEL", payloads.FEEDBACK_CHANNEL)


def test_report_post_uploads_the_chart_to_the_report_channel(
    workspace: str,
    environment: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_environment(environment, fake_slack)
    environment.setenv("REPORT_CHANNEL", "CREPORTS")

    code = main(["report", "--week", "2026-W45", "--post"])

    assert code == 0
    [asked] = fake_slack.calls_to("files.getUploadURLExternal")
    [upload] = fake_slack.calls_to("file_upload")
    [completed] = fake_slack.calls_to("files.completeUploadExternal")
    assert asked.token == "xoxb-cli-test-token"
    assert asked.params["filename"] == "leadloop-kpis-2026-W45.png"
    assert upload.body.startswith(PNG_SIGNATURE)
    assert completed.params["channel_id"] == "CREPORTS"
    assert completed.params["files"][0]["id"] == upload.params["file_id"]
    assert "Weekly KPI report, 2026-W45" in completed.params["initial_comment"]
    assert "posted the 2026-W45 report" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # --post alone writes no file


def test_report_post_without_a_report_channel_says_so_and_uploads_nothing(
    workspace: str,
    environment: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_environment(environment, fake_slack)

    code = main(["report", "--week", "2026-W45", "--post"])

    assert code == 2
    assert "no report channel is set" in capsys.readouterr().err
    assert fake_slack.calls == []


def test_report_post_that_slack_refuses_fails_in_a_friendly_way(
    workspace: str,
    environment: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_environment(environment, fake_slack)
    environment.setenv("REPORT_CHANNEL", "CREPORTS")
    # The bot not being in REPORT_CHANNEL is a setup mistake the user fixes, like a missing
    # REPORT_CHANNEL: it deserves a message, not a SlackApiError traceback.
    fake_slack.fail_next("files.completeUploadExternal", error="not_in_channel")

    code = main(["report", "--week", "2026-W45", "--post"])

    assert code == 1
    assert "not_in_channel" in capsys.readouterr().err


# --- leadloop demo -----------------------------------------------------------------------


@pytest.fixture
def demo_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on the demo database file, for reading what ``demo`` wrote."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    yield engine
    engine.dispose()


def demo_counts(engine: Engine) -> dict[str, int]:
    with make_session_factory(engine)() as session:
        counts = {
            model.__name__: count(session, model)
            for model in (Lead, Rating, Response, KpiValue, Workspace)
        }
    engine.dispose()  # the next ``demo`` deletes the file
    return counts


def test_demo_fills_a_fresh_database_and_renders_its_chart(
    environment: pytest.MonkeyPatch,
    tmp_path: Path,
    demo_engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"

    code = main(["demo", "--database-url", url, "--out", str(tmp_path / "demo.png")])

    counts = demo_counts(demo_engine)
    assert code == 0
    assert (tmp_path / "demo.png").read_bytes().startswith(PNG_SIGNATURE)
    assert counts["Workspace"] == 1
    assert counts["Lead"] >= 13 * 6 * 6  # 13 weeks, 6 campaigns, at least 6 leads each
    assert 0 < counts["Response"] < counts["Rating"] < counts["Lead"]
    assert counts["KpiValue"] == 13 * 5 + 13  # five KPIs a week, and last year's revenue
    assert f"holds {counts['Lead']} leads over 13 weeks" in capsys.readouterr().out


def test_demo_database_and_chart_are_readable_by_their_owner_only(
    environment: pytest.MonkeyPatch, tmp_path: Path, open_umask: None
) -> None:
    folder = tmp_path / "demo"

    code = main(["demo", "--database-url", f"sqlite:///{folder / 'demo.db'}", "--out", "d.png"])

    assert code == 0
    assert mode(tmp_path / "d.png") == 0o600
    files = {path.name: mode(path) for path in folder.iterdir()}
    assert files.pop("demo.db") == 0o600
    assert set(files.values()) <= {0o600}  # a WAL or SHM file left behind, if any


def test_demo_run_twice_recreates_the_database_instead_of_refusing(
    environment: pytest.MonkeyPatch, tmp_path: Path, demo_engine: Engine
) -> None:
    argv = ["demo", "--database-url", f"sqlite:///{tmp_path / 'demo.db'}", "--out", "demo.png"]

    first = main(argv)
    counts_after_first = demo_counts(demo_engine)
    (tmp_path / "demo.png").unlink()
    second = main(argv)

    assert (first, second) == (0, 0)
    assert demo_counts(demo_engine) == counts_after_first
    assert (tmp_path / "demo.png").read_bytes().startswith(PNG_SIGNATURE)


def test_demo_writes_under_data_in_the_working_directory_by_default(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert main(["demo"]) == 0

    assert (tmp_path / "data" / "demo.db").exists()
    assert (tmp_path / "data" / "demo-report.png").read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("name", ["demo.svg", "demo.pdf"])
def test_demo_out_writes_the_format_its_extension_names(
    environment: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    assert main(["demo", "--out", name]) == 0

    assert (tmp_path / name).read_bytes().startswith(MAGIC_BYTES[name.rsplit(".", 1)[1]])


def test_demo_out_with_another_extension_exits_2_and_keeps_the_earlier_demo(
    environment: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    earlier = (tmp_path / "data" / "demo.db").stat().st_mtime_ns
    before = sorted(tmp_path.rglob("*"))
    capsys.readouterr()

    code = main(["demo", "--out", "demo.gif"])

    captured = capsys.readouterr()
    assert code == 2
    assert "--out demo.gif: the file name must end in .png, .svg or .pdf" in captured.err
    assert sorted(tmp_path.rglob("*")) == before
    assert (tmp_path / "data" / "demo.db").stat().st_mtime_ns == earlier


def test_demo_refuses_a_server_database_that_holds_data(
    workspace: str,
    database_url: str,
    session_factory: SessionFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("a SQLite demo file is recreated, never refused")

    code = main(["demo", "--database-url", database_url, "--out", str(tmp_path / "d.png")])

    assert code == 2
    assert "already holds data" in capsys.readouterr().err
    with session_factory() as session:
        assert count(session, Lead) == 1
    assert not (tmp_path / "d.png").exists()


# --- leadloop kpi import -----------------------------------------------------------------


def csv_file(tmp_path: Path, text: str, name: str = "kpis.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MIXED_CSV = (
    "week,metric,value\n"  # row 1
    "2026-W40,conv,12.5%\n"  # row 2
    '2026-W41,cac,"$1,200"\n'  # row 3
    "2026-W42,nps,40\n"  # row 4: unknown metric
    "someday,conv,12%\n"  # row 5: bad week
    "2026-W43,conv,lots\n"  # row 6: bad value
    ",,\n"  # row 7: blank, skipped silently
    "2026-W44,rev\n"  # row 8: too few cells
)


def test_kpi_import_stores_good_rows_reports_bad_ones_by_row_and_exits_1(
    workspace: str,
    tmp_path: Path,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["kpi", "import", str(csv_file(tmp_path, MIXED_CSV))])

    out = capsys.readouterr().out
    assert code == 1
    assert "imported 2 KPI value(s); skipped 4 row(s)" in out
    problems = [line.strip() for line in out.splitlines()[1:]]
    assert [line.split(":")[0] for line in problems] == ["row 4", "row 5", "row 6", "row 8"]
    assert "`nps` is not a KPI" in problems[0]
    assert "I can't read `someday` as a week" in problems[1]
    assert "I can't read `lots` as a number" in problems[2]
    assert problems[3] == "row 8: expected week,metric,value"
    assert kpi_rows(session_factory) == [
        ("conversion_rate", 2026, 40, 12.5, "import"),
        ("cac", 2026, 41, 1200.0, "import"),
        ("conversion_rate", 2026, 45, 12.5, "UADMIN"),  # from the workspace fixture
    ]


def test_kpi_import_of_a_clean_file_exits_0_and_replaces_existing_values(
    workspace: str,
    tmp_path: Path,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = csv_file(tmp_path, "\ufeffWeek,Metric,Value\n2026-W45,conversion rate,0.25\n")

    code = main(["kpi", "import", str(path)])

    assert code == 0
    assert "imported 1 KPI value(s); skipped 0 row(s)" in capsys.readouterr().out
    assert kpi_rows(session_factory)[-1] == ("conversion_rate", 2026, 45, 25.0, "import")
    assert len(kpi_rows(session_factory)) == 2


def test_kpi_import_dry_run_checks_the_file_and_writes_nothing(
    workspace: str,
    tmp_path: Path,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = kpi_rows(session_factory)

    clean = main(
        [
            "kpi",
            "import",
            "--dry-run",
            str(csv_file(tmp_path, "week,metric,value\n2026-W30,roi,150%\n")),
        ]
    )
    mixed = main(["kpi", "import", str(csv_file(tmp_path, MIXED_CSV, "mixed.csv")), "--dry-run"])

    out = capsys.readouterr().out
    assert (clean, mixed) == (0, 1)
    assert "would import 1 KPI value(s); skipped 0 row(s)" in out
    assert "would import 2 KPI value(s); skipped 4 row(s)" in out
    assert kpi_rows(session_factory) == before


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("2026-W40,conv,12.5%\n", "found 2026-w40,conv,12.5%"),
        ("metric,week,value\n2026-W40,conv,12.5%\n", "found metric,week,value"),
        ("", "found nothing"),
    ],
    ids=["no-header", "wrong-order", "empty"],
)
def test_kpi_import_without_the_header_exits_2_and_writes_nothing(
    workspace: str,
    tmp_path: Path,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
    text: str,
    found: str,
) -> None:
    before = kpi_rows(session_factory)

    code = main(["kpi", "import", str(csv_file(tmp_path, text))])

    err = capsys.readouterr().err
    assert code == 2
    assert "must start with the header week,metric,value" in err
    assert found in err
    assert kpi_rows(session_factory) == before


def test_kpi_import_of_a_missing_file_exits_2(
    workspace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["kpi", "import", "no-such.csv"])

    assert code == 2
    assert "cannot read no-such.csv" in capsys.readouterr().err


def test_kpi_import_into_a_named_workspace_needs_no_recorded_one(
    database: str,
    tmp_path: Path,
    session_factory: SessionFactory,
) -> None:
    path = csv_file(tmp_path, "week,metric,value\n2026-W40,roi,150%\n")

    refused = main(["kpi", "import", str(path)])
    imported = main(["kpi", "import", str(path), "--workspace", payloads.OTHER_TEAM_ID])

    assert (refused, imported) == (1, 0)
    with session_factory() as session:
        [row] = session.exec(select(KpiValue)).all()
    assert (row.team_id, row.metric, row.value) == (payloads.OTHER_TEAM_ID, "roi", 150.0)


def test_kpi_import_of_a_file_that_is_not_utf8_exits_2_in_a_friendly_way(
    workspace: str,
    tmp_path: Path,
    session_factory: SessionFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Excel on Windows saves "CSV" in cp1252 unless told otherwise: a common first attempt.
    path = tmp_path / "excel.csv"
    path.write_bytes("week,metric,value\n2026-W40,cac,900 €\n".encode("cp1252"))
    before = kpi_rows(session_factory)

    code = main(["kpi", "import", str(path)])

    assert code == 2
    assert "utf-8" in capsys.readouterr().err.lower()
    assert kpi_rows(session_factory) == before


def test_demo_never_deletes_a_sqlite_file_that_holds_real_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "leadloop.db"
    engine = create_db_engine(f"sqlite:///{real}")
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        record_workspace(
            session,
            team_id=payloads.TEAM_ID,
            team_name="Real",
            bot_user_id=None,
            now=datetime.now(UTC),
        )
        session.commit()
    engine.dispose()

    code = main(["demo", "--database-url", f"sqlite:///{real}", "--out", str(tmp_path / "d.png")])

    assert code == 2
    assert "holds real data" in capsys.readouterr().err
    check = create_db_engine(f"sqlite:///{real}")
    with make_session_factory(check)() as session:
        assert session.exec(select(Workspace.team_id)).all() == [payloads.TEAM_ID]
    check.dispose()


README_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "images" / "weekly-report.png"


def test_the_readme_picture_of_the_weekly_chart_is_what_the_code_draws_today(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`make pictures` draws it; this fails when the chart changes and the picture did not."""
    from matplotlib.testing.compare import compare_images

    fresh = tmp_path / "weekly-report.png"
    url = f"sqlite:///{tmp_path / 'pictures.db'}"
    # The same command as `make pictures`, PICTURE_WEEK included.
    makefile = (README_PICTURE.parents[2] / "Makefile").read_text()
    [week] = re.findall(r"^PICTURE_WEEK := (\S+)$", makefile, flags=re.MULTILINE)

    assert main(["demo", "--week", week, "--database-url", url, "--out", str(fresh)]) == 0

    difference = compare_images(str(README_PICTURE), str(fresh), tol=2)
    assert difference is None, f"run `make pictures` to redraw the README's chart: {difference}"


def test_demo_with_an_unreadable_week_exits_2_and_keeps_the_earlier_demo(
    environment: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--database-url", url, "--out", str(tmp_path / "a.png")]) == 0
    before = (tmp_path / "demo.db").stat().st_mtime_ns
    capsys.readouterr()

    assert main(["demo", "--database-url", url, "--week", "someday"]) == 2

    assert "--week" in capsys.readouterr().err
    assert (tmp_path / "demo.db").stat().st_mtime_ns == before
