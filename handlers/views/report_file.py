"""Rendering a weekly report and uploading it to Slack (files_upload_v2; files.upload is gone)."""

from __future__ import annotations

from slack_sdk import WebClient

from domain.kpis.report import WeeklyReport

# Slack refuses alt text longer than this.
MAX_ALT_TEXT = 1000


def upload_report(
    client: WebClient, report: WeeklyReport, *, channel: str, thread_ts: str | None = None
) -> str | None:
    """Post the report chart with alt text and a short summary; returns the file's id."""
    # Imported here: matplotlib is loaded only by the process that draws a chart.
    from charts.kpi_report import alt_text, render_report, summary_of_moves

    png = render_report(report.data)
    comment = f"*Weekly KPI report, {report.week.label}.* {summary_of_moves(report.data)}"
    response = client.files_upload_v2(
        channel=channel,
        file=png,
        filename=f"leadloop-kpis-{report.week.label}.png",
        title=f"Sales & marketing KPIs, week {report.week.label}",
        alt_txt=alt_text(report.data)[:MAX_ALT_TEXT],
        initial_comment=comment,
        thread_ts=thread_ts,
    )
    files = response.get("files") or []
    return files[0].get("id") if files else None
