"""The app factory: one Bolt App with every listener wired, nothing done at import time."""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.delivery import Deliverer
from handlers import errors, kpi, meetings, rate_lead, thread_replies
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
        admin_users=settings.admin_users,
    )
    rate_lead.register(app, deps)
    thread_replies.register(app, deps)
    meetings.register(app, deps)
    kpi.register(app, deps)
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
    )
