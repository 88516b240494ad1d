"""Background work: deliver the outbox and forget old event ids, on APScheduler."""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.clock import Clock
from bot.delivery import Deliverer
from storage.engine import SessionFactory
from storage.responses import prune_processed_events

logger = logging.getLogger(__name__)

OUTBOX_SWEEP_SECONDS = 15
EVENT_MEMORY = timedelta(days=2)


def sweep_outbox(deliverer: Deliverer) -> int:
    """Send every outbox message that is due; a failure stays owed for the next sweep."""
    try:
        sent = deliverer.deliver_due()
    except Exception:
        logger.exception("outbox sweep failed; it runs again shortly")
        return 0
    if sent:
        logger.info("outbox sweep sent %s message(s)", sent)
    return sent


def forget_old_events(session_factory: SessionFactory, clock: Clock) -> int:
    """Drop handled event ids that Slack can no longer retry."""
    try:
        with session_factory() as session:
            removed = prune_processed_events(session, before=clock() - EVENT_MEMORY)
            session.commit()
    except Exception:
        logger.exception("could not prune handled event ids")
        return 0
    return removed


def build_scheduler(
    *, deliverer: Deliverer, session_factory: SessionFactory, clock: Clock
) -> BackgroundScheduler:
    """A scheduler with leadloop's recurring jobs; the caller starts and stops it.

    The jobs are safe in several processes at once: each outbox message is claimed in the
    database before it is sent, so no post goes out twice.
    """
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        sweep_outbox,
        "interval",
        seconds=OUTBOX_SWEEP_SECONDS,
        args=[deliverer],
        id="outbox-sweep",
        max_instances=1,
        coalesce=True,
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
