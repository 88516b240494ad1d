"""The delivery process's schedules on APScheduler: meeting reminders, snoozes, weekly
reports, answer-SLA nudges and escalations, and forgetting old event ids and webhook
signatures. The outbox itself is sent by
``bot.delivery``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.config import DEFAULT_TICK_SECONDS
from bot.outbox.engine import Deliverer
from domain.admin.settings import WorkspaceSettings
from domain.clock import Clock, system_clock
from domain.kpis.weekly import claim_report, plan_reports, report_rule
from domain.meetings.reminders import claim_reminder, claim_snooze, plan_reminders
from domain.nudges import claim_sla_posts
from domain.outbox_kinds import MEETING_REMINDER, WEEKLY_REPORT
from storage.engine import SessionFactory
from storage.leads import prune_deliveries
from storage.meetings import active_meetings
from storage.responses import prune_processed_events
from storage.scheduled_posts import POSTED, due_pending_posts, last_occurrences
from storage.workspaces import installed_workspaces, prune_oauth_states, uninstalled_team_ids

logger = logging.getLogger(__name__)

EVENT_MEMORY = timedelta(days=2)
# How long an applied lead-webhook request's signature is remembered; a signature is
# accepted for 5 minutes, so a day leaves room for any clock skew.
WEBHOOK_DELIVERY_MEMORY = timedelta(days=1)


def claim_scheduled_posts(
    *, session_factory: SessionFactory, defaults: WorkspaceSettings, clock: Clock
) -> list[int]:
    """Claim each due meeting reminder, snooze, weekly report, and answer-SLA nudge and
    escalation exactly once; the ids of the outbox messages now owed.

    The scheduler's job: the claims commit the posts to the outbox, and that commit wakes
    the outbox pump, which sends them like every other post. A tick is a few short
    transactions, so a shutdown never waits on Slack. What is due comes from the database
    on every tick, never from job state, so a restart or a second instance changes
    nothing: the claim rows decide who posts. Workspaces that uninstalled leadloop are
    skipped until they install it again.
    """
    now = clock()
    try:
        owed = _claim_due_posts(session_factory, now)
        owed += _claim_due_reports(session_factory, now, defaults=defaults)
        owed += claim_sla_posts(session_factory, now=now, defaults=defaults)
    except Exception:
        logger.exception("could not check for due scheduled posts; the next tick retries")
        return []
    return owed


def run_scheduled_posts(
    *, session_factory: SessionFactory, deliverer: Deliverer, clock: Clock
) -> int:
    """Claim the due scheduled posts and send them at once, here; how many were sent.

    For a process without an outbox pump (tests, one-off runs); the delivery process only
    claims (``claim_scheduled_posts``) and leaves the sending to its pump.
    """
    owed = claim_scheduled_posts(
        session_factory=session_factory, defaults=deliverer.defaults, clock=clock
    )
    return sum(1 for message_id in owed if deliverer.deliver(message_id))


def _claim_due_posts(session_factory: SessionFactory, now: datetime) -> list[int]:
    with session_factory() as session:
        gone = uninstalled_team_ids(session)
        meetings = [meeting for meeting in active_meetings(session) if meeting.team_id not in gone]
        last_claimed = last_occurrences(session, kind=MEETING_REMINDER)
        snoozes = [post for post in due_pending_posts(session, now=now) if post.team_id not in gone]
    owed: list[int] = []
    for decision in plan_reminders(meetings, last_claimed, now):
        with session_factory() as session:
            message_id = claim_reminder(session, decision, now=now)
            session.commit()
        if decision.status != POSTED:
            logger.info(
                "meeting %s reminder for %s: %s",
                decision.meeting.id,
                decision.occurrence_at.isoformat(),
                decision.status,
            )
        if message_id is not None:
            owed.append(message_id)
    for snooze in snoozes:
        with session_factory() as session:
            message_id = claim_snooze(session, snooze, now=now)
            session.commit()
        if message_id is not None:
            owed.append(message_id)
    return owed


def _claim_due_reports(
    session_factory: SessionFactory, now: datetime, *, defaults: WorkspaceSettings
) -> list[int]:
    """Weekly reports of the installed workspaces that have a report channel."""
    with session_factory() as session:
        workspaces = []
        rules = {}
        for workspace in installed_workspaces(session):
            settings = defaults.overridden_by(workspace)
            if settings.report_channel:
                workspaces.append(workspace)
                rules[workspace.team_id] = report_rule(
                    session, team_id=workspace.team_id, default_timezone=settings.timezone
                )
        last_claimed = {
            team_id: moment
            for (team_id, _), moment in last_occurrences(session, kind=WEEKLY_REPORT).items()
        }
    active_since = {workspace.team_id: workspace.installed_at for workspace in workspaces}
    owed = []
    for decision in plan_reports(rules, last_claimed, active_since, now):
        with session_factory() as session:
            message_id = claim_report(session, decision, now=now)
            session.commit()
        if decision.status != POSTED:
            logger.info(
                "weekly report of %s for %s: %s",
                decision.team_id,
                decision.occurrence_at.isoformat(),
                decision.status,
            )
        if message_id is not None:
            owed.append(message_id)
    return owed


def forget_old_events(
    session_factory: SessionFactory, clock: Clock, wall_clock: Clock = system_clock
) -> int:
    """Drop handled event ids that Slack can no longer retry, expired install links, and
    the signatures of webhook requests too old to be accepted again.

    Webhook signatures expire in real time (``wall_clock``), even on a simulated clock.
    """
    try:
        with session_factory() as session:
            removed = prune_processed_events(session, before=clock() - EVENT_MEMORY)
            removed += prune_oauth_states(session, now=clock())
            removed += prune_deliveries(session, before=wall_clock() - WEBHOOK_DELIVERY_MEMORY)
            session.commit()
    except Exception:
        logger.exception("could not prune handled event ids")
        return 0
    return removed


def build_scheduler(
    *,
    defaults: WorkspaceSettings,
    session_factory: SessionFactory,
    clock: Clock,
    tick_seconds: float = DEFAULT_TICK_SECONDS,
) -> BackgroundScheduler:
    """A scheduler with leadloop's recurring jobs; the caller starts and stops it.

    The jobs are safe in several processes at once: each occurrence is claimed in the
    database, and each outbox message again before it is sent, so no post goes out twice.
    It sends nothing: the outbox pump beside it does.
    """
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        claim_scheduled_posts,
        "interval",
        seconds=tick_seconds,
        kwargs={
            "session_factory": session_factory,
            "defaults": defaults,
            "clock": clock,
        },
        id="scheduled-posts",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # catch up on what came due while we were down
    )
    scheduler.add_job(
        forget_old_events,
        "interval",
        hours=1,
        args=[session_factory, clock],
        id="forget-old-events",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
