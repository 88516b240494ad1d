"""The weekly KPI report: the last full week's chart, uploaded to the report channel."""

from __future__ import annotations

from sqlmodel import Session

from bot.outbox.job import Job, Recorder, Undeliverable
from domain.kpis.report import build_report
from domain.kpis.weekly import report_rule, reported_week
from handlers.views.report_file import upload_report
from storage import scheduled_posts


def post_weekly_report(job: Job) -> Recorder:
    """WEEKLY_REPORT: the report of the week before the occurrence, as a file upload."""
    message, channel, timezone = job.message, job.settings.report_channel, job.settings.timezone
    with job.reading() as session:
        post = scheduled_posts.get_scheduled_post(
            session, team_id=message.team_id, post_id=message.scheduled_post_id or -1
        )
        if post is None or not channel:
            raise Undeliverable("no report channel is configured for the weekly report")
        rule = report_rule(session, team_id=message.team_id, default_timezone=timezone)
        week = reported_week(post, rule.timezone)
        report = build_report(
            session,
            team_id=message.team_id,
            week=week,
            timezone=timezone,
            answer_time=job.settings.answer_sla_policy(),
        )
    # A file upload carries no message metadata, so unlike posts it is not looked for in
    # the channel after a lapsed claim: a sender dying right after it may upload it twice.
    upload_report(job.client, report, channel=channel)

    def record(session: Session) -> None:
        scheduled_posts.record_scheduled_post_sent(
            session, team_id=message.team_id, post_id=post.id or -1, channel=channel, ts=None
        )

    return record
