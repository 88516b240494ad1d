"""The ``/kpi`` slash command: stored before it is acknowledged, answered in the ack."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from domain.kpis.answer_times import answer_time_line
from domain.kpis.chart_requests import owe_kpi_chart
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
from domain.kpis.report import business_kpis
from domain.parsing import UsageError
from domain.weeks import IsoWeek
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.slack_lookups import user_timezone
from storage import kpis as kpi_store

logger = logging.getLogger(__name__)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NOT_ADMIN = (
    "Only leadloop admins can change KPIs, targets or the report schedule. Ask "
    "whoever runs leadloop to add your member ID to ADMIN_USERS."
)


def handle_kpi(ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Carry out the subcommand, commit what it changes, then answer privately in the ack.

    Slack never sends an answered command again, so a change is stored before the ack; a
    chart is owed in the outbox by then, and the delivery process uploads it.
    """
    try:
        answer = answer_kpi_command(deps, command, client)
    except SQLAlchemyError:
        # One transaction per change: nothing of it was written, and the ack says so.
        logger.exception("could not carry out a /kpi command")
        answer = DATABASE_DOWN
    ack(response_type="ephemeral", text=answer)


def answer_kpi_command(deps: Deps, command: dict[str, Any], client: WebClient) -> str:
    """Carry out one ``/kpi`` command and return the text to show its author."""
    user_id, team_id = command["user_id"], command["team_id"]
    workspace_zone = _workspace_zone(deps, team_id=team_id)
    today = deps.clock().astimezone(ZoneInfo(workspace_zone)).date()
    parsed = parse_kpi_command(command.get("text") or "", today=today)
    if isinstance(parsed, UsageError):
        return parsed.message
    if isinstance(parsed, KpiHelp):
        return USAGE
    if isinstance(parsed, ADMIN_COMMANDS) and not _is_admin(deps, team_id=team_id, user_id=user_id):
        return NOT_ADMIN
    if isinstance(parsed, ShowKpis):
        return show_kpis_text(deps, team_id=team_id, week=parsed.week)
    if isinstance(parsed, PostChart):
        return _chart(deps, team_id=team_id, week=parsed.week, channel=command["channel_id"])
    if isinstance(parsed, SetSchedule):
        zone = user_timezone(client, user_id, default=workspace_zone)  # a read, before the write
        return _schedule(deps, team_id=team_id, user_id=user_id, command=parsed, zone=zone)
    return _change(deps, team_id=team_id, user_id=user_id, command=parsed)


def _workspace_zone(deps: Deps, *, team_id: str) -> str:
    with deps.session_before_ack() as session:
        return deps.settings_in(session, team_id=team_id).timezone


def _is_admin(deps: Deps, *, team_id: str, user_id: str) -> bool:
    with deps.session_before_ack() as session:
        return deps.roles.is_admin(session, team_id=team_id, user_id=user_id)


def show_kpis_text(deps: Deps, *, team_id: str, week: IsoWeek | None) -> str:
    """The KPI table for ``week`` (default: this week in the workspace's zone).

    Read in a session whose lock waits are bounded: someone is waiting for the table.
    """
    with deps.session_before_ack() as session:
        settings = deps.settings_in(session, team_id=team_id)
        if week is None:
            week = IsoWeek.from_date(deps.clock().astimezone(ZoneInfo(settings.timezone)).date())
        views = business_kpis(session, team_id=team_id, week=week)
        kept = answer_time_line(
            session,
            team_id=team_id,
            week=week,
            timezone=settings.timezone,
            sla=settings.answer_sla_policy(),
            now=deps.clock(),
            default_timezone=deps.defaults.timezone,
        )
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
    text = f"*KPIs for {week.label}*\n```\n{table}\n```"
    return f"{text}\n{kept}" if kept else text


def _chart(deps: Deps, *, team_id: str, week: IsoWeek, channel: str) -> str:
    """Owe the chart's upload in the outbox: uploading can take longer than Slack waits."""
    with deps.session_before_ack() as session:
        owe_kpi_chart(session, team_id=team_id, week=week, channel_id=channel, now=deps.clock())
        session.commit()
    return f"I'll post the KPI chart for {week.label} here in a moment."


def _change(deps: Deps, *, team_id: str, user_id: str, command: SetValue | SetTarget) -> str:
    now = deps.clock()
    with deps.session_before_ack() as session:
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
    with deps.session_before_ack() as session:
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
