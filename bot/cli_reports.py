"""``leadloop report``, ``leadloop demo`` and ``leadloop kpi import``."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine

from bot.cli_common import EXIT_FAILURE, EXIT_OK, CliError, open_bot_database
from bot.config import Settings
from charts.report_data import CHART_FORMATS, ChartFormat
from domain.admin.settings import WorkspaceSettings, workspace_settings
from domain.kpis.demo import DEMO_TEAM, fill_demo_data
from domain.kpis.metrics import find_metric, parse_value, parse_week
from domain.kpis.report import build_report
from domain.parsing import UsageError
from domain.weeks import IsoWeek
from storage import kpis as kpi_store
from storage.engine import OWNER_ONLY, create_db_engine, make_session_factory, read_only
from storage.export import workspaces as data_workspaces
from storage.migrate import upgrade_to_head
from storage.workspaces import known_workspaces, record_workspace

DEMO_DATABASE = "sqlite:///./data/demo.db"
DEMO_PICTURE = Path("data/demo-report.png")
FORMAT_NAMES = ", ".join(f".{name}" for name in CHART_FORMATS[:-1]) + f" or .{CHART_FORMATS[-1]}"
JSON_UNITS = (
    "Units: percentages are percent points (13.3 means 13.3%) in fields ending in _pct and "
    "in KPIs whose unit is 'percent'; money is in the workspace's currency; scores are 1-5; "
    "times are hours. Numbers are rounded to 1 decimal, money to the cent; a missing value "
    "is null."
)


def add_report_commands(commands: Any) -> None:
    """Register ``report``, ``demo`` and ``kpi`` on the ``leadloop`` parser."""
    report = commands.add_parser(
        "report",
        help="render the weekly KPI report offline, print its numbers, or post it",
        description="Render the weekly KPI chart for a week (default: last full week) to a "
        f"{FORMAT_NAMES} file, print the numbers behind it as JSON, or post it to "
        "REPORT_CHANNEL. " + JSON_UNITS,
    )
    report.add_argument("--week", help="ISO week like 2026-W45, or 'this'/'last' (default last)")
    report.add_argument(
        "--out",
        metavar="FILE",
        help=f"where to write the chart; its extension ({FORMAT_NAMES}) picks the format",
    )
    report.add_argument("--post", action="store_true", help="post it to REPORT_CHANNEL")
    report.add_argument(
        "--json",
        action="store_true",
        help="print the numbers as JSON (percent points, money, 1-5 scores, hours; see above)",
    )
    report.add_argument("--workspace", metavar="TEAM_ID", help="when several are stored")
    report.set_defaults(handler=command_report)

    demo = commands.add_parser(
        "demo",
        help="fill a fresh demo database with a quarter of data and render its chart",
        description=f"Create a fresh demo database ({DEMO_DATABASE} unless --database-url) "
        "with a realistic quarter of campaigns, leads, ratings, answers and KPIs, and render "
        f"the weekly chart to {DEMO_PICTURE}. Your real database is not touched.",
    )
    demo.add_argument("--database-url", default=DEMO_DATABASE, help=f"default {DEMO_DATABASE}")
    demo.add_argument(
        "--out",
        metavar="FILE",
        default=str(DEMO_PICTURE),
        help=f"the chart, as {FORMAT_NAMES} by its extension (default {DEMO_PICTURE})",
    )
    demo.add_argument(
        "--week",
        help="the week the chart shows, like 2026-W47 (default: last full week); the data "
        "is the same for the same week",
    )
    demo.set_defaults(handler=command_demo)

    kpi = commands.add_parser("kpi", help="KPI history", description="Manage KPI history.")
    kpi_commands = kpi.add_subparsers(dest="kpi_command", metavar="COMMAND", required=True)
    kpi_import = kpi_commands.add_parser(
        "import",
        help="import KPI history from a CSV file (week,metric,value)",
        description="Import weekly KPI values from a CSV with the header week,metric,value, "
        "e.g. `2026-W40,conv,12.5%`. Bad rows are reported and skipped; an existing value "
        "for the same week and metric is replaced.",
    )
    kpi_import.add_argument("file", help="the CSV file")
    kpi_import.add_argument("--workspace", metavar="TEAM_ID", help="when several are stored")
    kpi_import.add_argument("--dry-run", action="store_true", help="check the file only")
    kpi_import.set_defaults(handler=command_kpi_import)


def command_report(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop report``."""
    chart_format = _chart_format(args.out) if args.out else "png"
    engine = open_bot_database(env)
    try:
        with make_session_factory(read_only(engine))() as session:
            team_id = _workspace(session, args.workspace)
            defaults = WorkspaceSettings(timezone=_timezone(env))
            in_force = workspace_settings(session, team_id=team_id, defaults=defaults)
            timezone = in_force.timezone
            today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
            week = _week(args.week, today=today)
            report = build_report(
                session,
                team_id=team_id,
                week=week,
                timezone=timezone,
                answer_time=in_force.answer_sla_policy(),
                default_timezone=defaults.timezone,
            )
    finally:
        engine.dispose()
    if args.json:
        json.dump(report.numbers, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    if args.out or not (args.json or args.post):
        out = Path(args.out or f"data/report-{week.label}.png")
        write_owner_only(out, _render(report, chart_format))
        print(f"leadloop: wrote the {week.label} report to {out}", file=sys.stderr)
    if args.post:
        _post(report, env, team_id=team_id)
    return EXIT_OK


def _post(report: Any, env: Mapping[str, str], *, team_id: str) -> None:
    from handlers.views.report_file import upload_report

    settings = Settings.from_env(env)
    engine = open_bot_database(env)
    try:
        with make_session_factory(read_only(engine))() as session:
            defaults = settings.workspace_defaults()
            channel = workspace_settings(session, team_id=team_id, defaults=defaults).report_channel
        client = _client_for(settings, engine, team_id=team_id)
    finally:
        engine.dispose()
    if not channel:
        raise CliError(
            "no report channel is set: where should the report go? Set REPORT_CHANNEL, or "
            "in Slack: /leadloop settings report #channel"
        )
    try:
        upload_report(client, report, channel=channel)
    except SlackApiError as error:
        raise CliError(
            f"Slack refused the report ({error.response.get('error')}); check that the bot "
            "is in REPORT_CHANNEL (/invite @leadloop).",
            EXIT_FAILURE,
        ) from None
    except (SlackClientError, OSError) as error:
        raise CliError(
            f"could not reach Slack at SLACK_API_URL ({type(error).__name__}).", EXIT_FAILURE
        ) from None
    print(f"leadloop: posted the {report.week.label} report", file=sys.stderr)


def command_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop demo``."""
    chart_format = _chart_format(args.out)
    last_week = _week(args.week, today=datetime.now(UTC).date())
    _remove_earlier_demo(args.database_url)
    engine = create_db_engine(args.database_url)
    try:
        upgrade_to_head(engine)
        with make_session_factory(engine)() as session:
            if data_workspaces(session):
                raise CliError("that database already holds data; the demo needs a fresh one.")
            record_workspace(
                session,
                team_id=DEMO_TEAM,
                team_name="Demo",
                bot_user_id=None,
                now=datetime.now(UTC),
            )
            leads = fill_demo_data(session, last_week=last_week)
            session.commit()
            report = build_report(
                session,
                team_id=DEMO_TEAM,
                week=last_week,
                timezone="UTC",
                answer_time=WorkspaceSettings().answer_sla_policy(),  # leadloop's default
            )
    finally:
        engine.dispose()
    out = Path(args.out)
    write_owner_only(out, _render(report, chart_format))
    print(
        f"leadloop: demo database {args.database_url} holds {leads} leads over 13 weeks; "
        f"the {last_week.label} report is in {out}"
    )
    return EXIT_OK


def _chart_format(out: str) -> ChartFormat:
    """The format ``--out``'s extension names; refused before anything is read or written."""
    extension = Path(out).suffix.lower().removeprefix(".")
    for name in CHART_FORMATS:
        if extension == name:
            return name
    raise CliError(
        f"--out {out}: the file name must end in {FORMAT_NAMES} (the chart's format); "
        f"for example --out report.png."
    )


def write_owner_only(path: Path, data: bytes) -> None:
    """Write ``path`` (and its folder) readable by its owner only, replacing its contents.

    The report shows the business's numbers. An existing file is made 0600 too, unless it
    belongs to another user, whose mode is theirs to choose.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    with os.fdopen(descriptor, "wb") as stream:
        with contextlib.suppress(PermissionError):
            os.fchmod(descriptor, OWNER_ONLY)  # the exact mode, whatever the umask
        stream.write(data)


def _render(report: Any, chart_format: ChartFormat) -> bytes:
    """The chart as ``chart_format`` (matplotlib is imported only by commands that draw)."""
    from charts.kpi_report import render_report

    return render_report(report.data, format=chart_format)


def _remove_earlier_demo(url: str) -> None:
    """Recreate an earlier demo's SQLite file; never delete a file holding other data."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return
    path = Path(url.removeprefix("sqlite:///"))
    if not path.exists():
        return
    engine = create_db_engine(url)
    try:
        upgrade_to_head(engine)
        with make_session_factory(read_only(engine))() as session:
            teams = set(data_workspaces(session)) | set(known_workspaces(session))
    finally:
        engine.dispose()
    if teams - {DEMO_TEAM}:
        raise CliError(
            f"{path} holds real data, so the demo will not overwrite it; choose another "
            "--database-url."
        )
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def command_kpi_import(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop kpi import FILE.csv``."""
    today = datetime.now(UTC).date()
    try:
        rows = _read_kpi_csv(Path(args.file), today=today)
    except OSError as error:
        raise CliError(f"cannot read {args.file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(
            f"{args.file} is not UTF-8 text; save it from your spreadsheet as 'CSV UTF-8'."
        ) from None
    good = [row for row in rows if not isinstance(row, str)]
    problems = [row for row in rows if isinstance(row, str)]
    engine = open_bot_database(env)
    try:
        with make_session_factory(engine)() as session:
            team_id = _workspace(session, args.workspace)
            for metric, week, value in good:
                kpi_store.set_kpi_value(
                    session,
                    team_id=team_id,
                    metric=metric,
                    week=week,
                    value=value,
                    set_by="import",
                    now=datetime.now(UTC),
                )
            if not args.dry_run:
                session.commit()
    finally:
        engine.dispose()
    verb = "would import" if args.dry_run else "imported"
    print(f"leadloop: {verb} {len(good)} KPI value(s); skipped {len(problems)} row(s)")
    for problem in problems:
        print(f"  {problem}")
    return EXIT_OK if not problems else EXIT_FAILURE


def _read_kpi_csv(path: Path, *, today: Any) -> list[tuple[str, tuple[int, int], float] | str]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream)
        header = [cell.strip().lower() for cell in next(reader, [])]
        if header[:3] != ["week", "metric", "value"]:
            raise CliError(
                f"{path} must start with the header week,metric,value (found "
                f"{','.join(header) or 'nothing'})."
            )
        return [
            _kpi_row(number, cells, today=today)
            for number, cells in enumerate(reader, start=2)
            if any(cell.strip() for cell in cells)
        ]


def _kpi_row(
    number: int, cells: list[str], *, today: Any
) -> tuple[str, tuple[int, int], float] | str:
    if len(cells) < 3:
        return f"row {number}: expected week,metric,value"
    week = parse_week(cells[0], today=today)
    if isinstance(week, UsageError):
        return f"row {number}: {week.message}"
    metric = find_metric(cells[1])
    if metric is None:
        return f"row {number}: `{cells[1][:30]}` is not a KPI (use conv, cac, rev, ret or roi)"
    value = parse_value(cells[2], metric)
    if isinstance(value, UsageError):
        return f"row {number}: {value.message}"
    return metric.key, (week.year, week.week), value


def _client_for(settings: Settings, engine: Engine, *, team_id: str) -> WebClient:
    """The workspace's client: SLACK_BOT_TOKEN's, or its install's in OAuth mode."""
    from bot.app import team_clients
    from bot.installs import Installations
    from bot.slack_client import build_web_client

    client = build_web_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    workspace_client = team_clients(client, Installations.on(engine, settings)).for_team(team_id)
    if workspace_client is None:
        raise CliError(f"leadloop is not installed in workspace {team_id}.", EXIT_FAILURE)
    return workspace_client


def _workspace(session: Any, wanted: str | None) -> str:
    if wanted:
        return wanted
    known = sorted(set(known_workspaces(session)) | set(data_workspaces(session)))
    if len(known) == 1:
        return known[0]
    if not known:
        raise CliError("the database has no workspace yet: start the bot once first.", 1)
    raise CliError(
        "several workspaces are stored; choose one with --workspace: " + ", ".join(known)
    )


def _week(text: str | None, *, today: Any) -> IsoWeek:
    if not text:
        return IsoWeek.from_date(today).previous()
    week = parse_week(text, today=today)
    if isinstance(week, UsageError):
        raise CliError(f"--week: {week.message}")
    return week


def _timezone(env: Mapping[str, str]) -> str:
    from bot.config import _timezone as validated_timezone

    return validated_timezone(env, "LEADLOOP_TZ")
