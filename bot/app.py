"""The app factory: one Bolt App with every listener wired, nothing done at import time."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.delivery import Deliverer
from bot.handoffs import LeadWebhook
from bot.roles import RoleDirectory, UsergroupCache
from handlers import admin, errors, handoff, home, kpi, meetings, rate_lead, thread_replies
from handlers.deps import Deps
from storage.engine import SessionFactory


def create_app(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    client: WebClient,
    clock: Clock = system_clock,
    listener_executor: Executor | None = None,
    work_executor: Executor | None = None,
) -> App:
    """Build the Bolt app; Slack signatures are verified on every request it serves.

    ``listener_executor`` runs listeners up to their ``ack()``; ``work_executor`` runs what
    they do after it (storing, posting). The caller shuts the latter down on exit so that
    accepted work finishes.
    """
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        logger=logging.getLogger("leadloop.bolt"),
        listener_executor=listener_executor or ThreadPoolExecutor(max_workers=16),
    )
    deps = Deps(
        session_factory=session_factory,
        deliverer=build_deliverer(
            settings, session_factory=session_factory, client=client, clock=clock
        ),
        clock=clock,
        feedback_channel=settings.feedback_channel,
        work_executor=work_executor or default_work_executor(),
        default_timezone=settings.timezone,
        roles=RoleDirectory(
            admin_users=settings.admin_users,
            sales_usergroup=settings.sales_usergroup,
            marketing_usergroup=settings.marketing_usergroup,
            usergroups=UsergroupCache(client),
        ),
    )
    rate_lead.register(app, deps)
    thread_replies.register(app, deps)
    meetings.register(app, deps)
    kpi.register(app, deps)
    home.register(app, deps)
    admin.register(app, deps)
    handoff.register(app, deps)
    errors.register(app)
    return app


def default_work_executor() -> ThreadPoolExecutor:
    """The pool that does listeners' work after Slack has its answer."""
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="leadloop-work")


def build_deliverer(
    settings: Settings, *, session_factory: SessionFactory, client: WebClient, clock: Clock
) -> Deliverer:
    """The outbox deliverer used by listeners and by the background sweep."""
    return Deliverer(
        session_factory=session_factory,
        client=client,
        feedback_channel=settings.feedback_channel,
        clock=clock,
        report_channel=settings.report_channel,
        timezone=settings.timezone,
        handoff_channel=settings.handoff_channel,
    )


def build_lead_webhook(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: Clock,
    work_executor: Executor,
) -> LeadWebhook | None:
    """The lead webhook, or None when LEAD_WEBHOOK_SECRET is not set.

    The hand-offs it owes are posted on the work pool, after the CRM has its answer.
    """
    if not settings.lead_webhook_secret:
        return None

    def deliver(message_ids: Sequence[int]) -> None:
        for message_id in message_ids:
            work_executor.submit(deliverer.deliver, message_id)

    return LeadWebhook(
        secret=settings.lead_webhook_secret,
        session_factory=session_factory,
        clock=clock,
        deliver=deliver,
    )
