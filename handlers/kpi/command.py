"""The ``/kpi`` slash command."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from domain.kpis.metrics import describe_target, format_value
from domain.kpis.parse import (
    ADMIN_COMMANDS,
    USAGE,
    KpiHelp,
    PostChart,
    SetSchedule,
    SetTarget,
    SetValue,
    ShowKpis,
    parse_kpi_command,
)
from domain.kpis.report import build_report, business_kpis
from domain.parsing import UsageError
from domain.weeks import IsoWeek
from handlers.deps import Deps
from handlers.slack_lookups import user_timezone
from handlers.views.report_file import upload_report
from storage import kpis as kpi_store

logger = logging.getLogger(__name__)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def handle_kpi(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, deps: Deps
) -> None:
    """Acknowledge, then carry out the subcommand and answer privately."""
    ack()

    def run() -> None:
        respond(response_type="ephemeral", text=answer_kpi_command(deps, command, client))

    deps.after_ack(run, body=command, client=client)


def answer_kpi_command(deps: Deps, command: dict[str, Any], client: WebClient) -> str:
    """Carry out one ``/kpi`` command and return the text to show its author."""
    user_id, team_id = command["user_id"], command["team_id"]
    workspace_zone = deps.settings_for(team_id).timezone
    today = deps.clock().astimezone(ZoneInfo(workspace_zone)).date()
    parsed = parse_kpi_command(command.get("text") or "", today=today)
    if isinstance(parsed, UsageError):
        return parsed.message
    if isinstance(parsed, KpiHelp):
        return USAGE
    if isinstance(parsed, ADMIN_COMMANDS) and not deps.is_admin(user_id, team_id=team_id):
        return (
            "Only leadloop admins can change KPIs, targets or the report schedule. Ask "
            "whoever runs leadloop to add your member ID to ADMIN_USERS."
        )
    if isinstance(parsed, ShowKpis):
        return _show(deps, team_id=team_id, command=parsed)
    if isinstance(parsed, PostChart):
        return _chart(
            deps, team_id=team_id, command=parsed, channel=command["channel_id"], client=client
        )
    if isinstance(parsed, SetSchedule):
        zone = user_timezone(client, user_id, default=workspace_zone)
        return _schedule(deps, team_id=team_id, user_id=user_id, command=parsed, zone=zone)
    return _change(deps, team_id=team_id, user_id=user_id, command=parsed)


def _show(deps: Deps, *, team_id: str, command: ShowKpis) -> str:
    return show_kpis_text(deps, team_id=team_id, week=command.week)


def show_kpis_text(deps: Deps, *, team_id: str, week: IsoWeek | None) -> str:
    """The KPI table for ``week`` (default: this week in the workspace's zone)."""
    with deps.session_factory() as session:
        if week is None:
            zone = ZoneInfo(deps.settings_in(session, team_id=team_id).timezone)
            week = IsoWeek.from_date(deps.clock().astimezone(zone).date())
        views = business_kpis(session, team_id=team_id, week=week)
    rows = [("KPI", "Actual", "Target", "Status")]
    for view in views:
        rows.append(
            (
                view.metric.label,
                "–" if view.actual is None else format_value(view.actual, view.metric),
                "–" if view.target_value is None else format_value(view.target_value, view.metric),
                view.status,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    table = "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
    return f"*KPIs for {week.label}*\n```\n{table}\n```"


def _chart(deps: Deps, *, team_id: str, command: PostChart, channel: str, client: WebClient) -> str:
    with deps.session_factory() as session:
        zone = deps.settings_in(session, team_id=team_id).timezone
        report = build_report(session, team_id=team_id, week=command.week, timezone=zone)
    try:
        upload_report(client, report, channel=channel)
    except SlackApiError as error:
        problem = error.response.get("error")
        logger.warning("could not post the KPI chart in %s: %s", channel, problem)
        return (
            f"I couldn't post the chart here ({problem}). Invite me with `/invite @leadloop`, "
            "or try in another channel."
        )
    return f"Posted the KPI chart for {command.week.label}."


def _change(deps: Deps, *, team_id: str, user_id: str, command: SetValue | SetTarget) -> str:
    now = deps.clock()
    with deps.session_factory() as session:
        if isinstance(command, SetValue):
            _, previous = kpi_store.set_kpi_value(
                session,
                team_id=team_id,
                metric=command.metric.key,
                week=(command.week.year, command.week.week),
                value=command.value,
                set_by=user_id,
                now=now,
            )
            shown = format_value(command.value, command.metric)
            replaced = (
                f" (was {format_value(previous, command.metric)})" if previous is not None else ""
            )
            answer = f"Recorded {command.metric.label} {shown} for {command.week.label}{replaced}."
        else:
            baseline = command.baseline
            kpi_store.set_kpi_target(
                session,
                team_id=team_id,
                metric=command.metric.key,
                kind=command.target.kind,
                value=command.target.value,
                baseline=(baseline.year, baseline.week) if baseline else None,
                set_by=user_id,
                now=now,
            )
            rule = describe_target(command.target, command.metric)
            since = f", measured against {baseline.label}" if baseline else ""
            answer = f"The {command.metric.label} target is now {rule}{since}."
        session.commit()
    return answer


def _schedule(deps: Deps, *, team_id: str, user_id: str, command: SetSchedule, zone: str) -> str:
    with deps.session_factory() as session:
        kpi_store.set_report_schedule(
            session,
            team_id=team_id,
            weekday=command.weekday,
            local_time=command.local_time.strftime("%H:%M"),
            timezone=zone,
            updated_by=user_id,
            now=deps.clock(),
        )
        session.commit()
    return (
        f"The weekly KPI report will be posted every {DAY_NAMES[command.weekday]} at "
        f"{command.local_time:%H:%M} ({zone})."
    )
