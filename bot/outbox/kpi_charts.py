"""``/kpi chart``: the requested week's chart, uploaded to the channel it was asked in."""

from __future__ import annotations

from bot.outbox.job import Job, Recorder, Undeliverable, nothing_to_record
from domain.kpis.chart_requests import requested_week
from domain.kpis.report import build_report
from handlers.views.report_file import upload_report
from storage import scheduled_posts


def post_kpi_chart(job: Job) -> Recorder:
    """KPI_CHART: the week the command named, in the workspace's time zone, as a file upload."""
    message = job.message
    with job.reading() as session:
        post = scheduled_posts.get_scheduled_post(
            session, team_id=message.team_id, post_id=message.scheduled_post_id or -1
        )
        if post is None or not post.post_channel:
            raise Undeliverable("the KPI chart request is gone")
        try:
            week = requested_week(post)
        except ValueError as error:
            raise Undeliverable(f"the KPI chart request names no week: {error}") from error
        channel = post.post_channel
        report = build_report(
            session,
            team_id=message.team_id,
            week=week,
            timezone=job.settings.timezone,
            answer_time=job.settings.answer_sla_policy(),
        )
    # Like the weekly report, a file upload carries no message metadata, so it is not looked
    # for in the channel after a lapsed claim: a sender dying right after it may upload twice.
    upload_report(job.client, report, channel=channel)
    return nothing_to_record
