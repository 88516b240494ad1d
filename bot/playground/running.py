"""One running playground: the real app, its delivery pump and schedules, the Slack stand-in
and the page, all in this process, on 127.0.0.1.

The app is the one ``leadloop run`` serves (``create_app``, the same WSGI entry point, the
same storage and outbox), on a SQLite file of its own seeded with the demo data; only the
Slack it talks to is the in-memory stand-in, served by the page's own server.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse
from wsgiref.simple_server import WSGIServer

from sqlmodel import select

from bot.app import create_app, default_work_executor
from bot.config import Settings
from bot.delivery import DeliveryService
from bot.playground.page import Controls, build_page_app
from bot.playground.slack_side import PlaygroundError, SlackSide
from bot.playground.slack_standin import BOT_USER_ID, Person, SlackStandin
from bot.scheduler import claim_scheduled_posts
from bot.server import build_wsgi_app, make_http_server
from bot.slack_client import build_web_client
from domain.kpis.demo import DEMO_TEAM, MARKETERS, REPS, fill_demo_data
from domain.leads.intake import intake_leads
from domain.weeks import IsoWeek
from storage.engine import (
    SessionFactory,
    create_db_engine,
    database_answers,
    make_session_factory,
)
from storage.migrate import upgrade_to_head
from storage.models import Lead
from storage.workspaces import record_workspace

logger = logging.getLogger("leadloop")

HOST = "127.0.0.1"
DEFAULT_DATABASE = Path("data/playground.db")
FEEDBACK = "CPLAYFEED"
HANDOFFS = "CPLAYHANDOFF"
MEETINGS = "CPLAYSYNC"
REPORTS = "CPLAYKPI"
CHANNELS = {
    FEEDBACK: "lead-feedback",
    HANDOFFS: "lead-handoffs",
    MEETINGS: "sales-marketing",
    REPORTS: "kpi-reports",
}
SALES_GROUP = "SPLAYSALES"
MARKETING_GROUP = "SPLAYMKT"
PEOPLE = (
    Person(REPS[0], "Alex (sales)", "sales"),
    Person(REPS[1], "Bea (sales)", "sales"),
    Person(MARKETERS[0], "Fay (marketing)", "marketing"),
    Person(MARKETERS[1], "Gus (marketing)", "marketing"),
)
# The demo data's other reps: named on the page (in App Home's lists), not acted as.
COLLEAGUES = {REPS[2]: "Cho (sales)", REPS[3]: "Dan (sales)", REPS[4]: "Eva (sales)"}
# New leads handed off when the playground's database is created: their hand-off
# messages, with the one-click rating buttons, are in the reps' DMs and #lead-handoffs.
NEW_LEADS = (
    ("ACME-1", "Dana Whitfield", "Acme Corp", REPS[0]),
    ("ACME-2", "Lee Okafor", "Acme Corp", REPS[0]),
    ("GLOBEX-7", "Sam Rivera", "Globex", REPS[1]),
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
SCHEDULER_TICK_SECONDS = 1.0
# Within the schedules' on-time tolerance (2 minutes), so a jump posts what comes due.
JUMP_STEP = timedelta(minutes=1)


class PlaygroundRefused(ValueError):
    """The playground will not start: the message says why and what to change."""


def refuse_real_slack(slack_api_url: str | None) -> None:
    """Refuse a SLACK_API_URL that names any host but this machine's stand-in."""
    if not slack_api_url:
        return
    host = urlparse(slack_api_url).hostname
    if host not in LOCAL_HOSTS:
        raise PlaygroundRefused(
            f"SLACK_API_URL names {host or slack_api_url}: the playground talks only to its "
            "own stand-in for Slack on 127.0.0.1. Unset SLACK_API_URL to start it."
        )


@dataclass
class ShiftableClock:
    """The real time plus a shift the page's clock control adds to: every part of the
    playground (listeners, outbox, schedules, the stand-in's timestamps) reads this one."""

    shift: timedelta = timedelta(0)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    base: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), repr=False)

    def __call__(self) -> datetime:
        with self._lock:
            return self.base() + self.shift

    def jump(self, delta: timedelta) -> datetime:
        """Move time forward (never back: the outbox and the schedules only go forward)."""
        if delta <= timedelta(0):
            raise ValueError("the clock only jumps forward")
        with self._lock:
            self.shift += delta
        return self()


def stepped_jump(clock: ShiftableClock, tick: Callable[[], object]) -> Callable[[timedelta], None]:
    """A jump of the clock made of steps short enough that each reminder, nudge or report
    that comes due on the way is claimed on time (``tick`` claims what is due), as if the
    time had passed: one long jump would find them overdue, and record them as missed."""

    def jump(delta: timedelta) -> None:
        left = delta
        while left > timedelta(0):
            step = min(JUMP_STEP, left)
            clock.jump(step)
            tick()
            left -= step

    return jump


@dataclass
class Playground:
    """Everything one ``leadloop playground`` holds; ``close`` stops it all."""

    url: str
    standin: SlackStandin
    controls: Controls
    clock: ShiftableClock
    _close: list[Callable[[], None]]

    def close(self) -> None:
        """Stop serving, finish what is being sent, let go of the database."""
        _close_all(self._close)


def _close_all(steps: list[Callable[[], None]]) -> None:
    """Undo what was started, last first; one failing step does not stop the others."""
    for step in reversed(steps):
        try:
            step()
        except Exception:
            logger.exception("the playground could not stop cleanly")
    steps.clear()


def start_playground(
    *, database: Path = DEFAULT_DATABASE, port: int = 0, start_at: datetime | None = None
) -> Playground:
    """Start the stand-in and the page on 127.0.0.1:``port`` (0: any), then the real app and
    its delivery against them; ``database`` is created, migrated and seeded if empty. The
    clock reads ``start_at`` at the start (the real time if None) and runs on from there."""
    clock = ShiftableClock()
    if start_at is not None:
        clock.shift = start_at - datetime.now(UTC)
    standin = SlackStandin(
        team_id=DEMO_TEAM,
        people=list(PEOPLE),
        channels=dict(CHANNELS),
        colleagues=dict(COLLEAGUES),
        usergroups={
            SALES_GROUP: [p.user_id for p in PEOPLE if p.role == "sales"] + list(COLLEAGUES),
            MARKETING_GROUP: [p.user_id for p in PEOPLE if p.role == "marketing"],
        },
        clock=clock,
    )
    close: list[Callable[[], None]] = []
    playground: Playground | None = None
    try:
        page_server = make_http_server(
            build_page_app(standin, lambda: _controls(playground)), host=HOST, port=port
        )
        close.append(page_server.server_close)
        standin.base_url = f"http://{HOST}:{page_server.server_port}"
        _serve(page_server, close, name="playground-page")

        database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        settings = Settings(
            slack_bot_token="xoxb-playground",
            slack_signing_secret=secrets.token_urlsafe(24),
            feedback_channel=FEEDBACK,
            slack_api_url=standin.api_url,
            database_url=f"sqlite:///{database}",
            report_channel=REPORTS,
            handoff_channel=HANDOFFS,
            sales_usergroup=SALES_GROUP,
            marketing_usergroup=MARKETING_GROUP,
            admin_users=frozenset({MARKETERS[0]}),
            scheduler_tick_seconds=SCHEDULER_TICK_SECONDS,
        )
        engine = create_db_engine(settings.database_url)
        close.append(engine.dispose)
        upgrade_to_head(engine)
        session_factory = make_session_factory(engine)
        seed(session_factory, clock())

        work_executor = default_work_executor()
        close.append(lambda: work_executor.shutdown(wait=True))
        client = build_web_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        app = create_app(
            settings,
            session_factory=session_factory,
            client=client,
            clock=clock,
            work_executor=work_executor,
        )
        application = build_wsgi_app(
            app,
            is_healthy=lambda: database_answers(engine),
            signing_secret=settings.slack_signing_secret,
        )
        app_server = make_http_server(application, host=HOST, port=0)
        close.append(app_server.server_close)
        _serve(app_server, close, name="playground-app")

        delivery = DeliveryService.start(settings, clock=clock)
        close.append(delivery.close)

        slack = SlackSide(
            standin,
            events_url=f"http://{HOST}:{app_server.server_port}/slack/events",
            signing_secret=settings.slack_signing_secret,
        )
        defaults = settings.workspace_defaults()

        def tick() -> object:
            return claim_scheduled_posts(
                session_factory=session_factory, defaults=defaults, clock=clock
            )

        controls = Controls(slack=slack, now=clock, jump=stepped_jump(clock, tick))
        playground = Playground(standin.base_url + "/", standin, controls, clock, close)
        return playground
    except BaseException:
        _close_all(close)
        raise


def _controls(playground: Playground | None) -> Controls:
    if playground is None:
        raise PlaygroundError("the playground is still starting")
    return playground.controls


def _serve(server: WSGIServer, close: list[Callable[[], None]], *, name: str) -> None:
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=name, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()

    close.append(stop)


def seed(session_factory: SessionFactory, now: datetime) -> None:
    """A fresh database gets the demo's quarter of data and three new leads to hand off."""
    with session_factory() as session:
        if session.exec(select(Lead.id).where(Lead.team_id == DEMO_TEAM).limit(1)).first():
            return
        record_workspace(
            session, team_id=DEMO_TEAM, team_name="Demo", bot_user_id=BOT_USER_ID, now=now
        )
        fill_demo_data(session, last_week=IsoWeek.from_date(now.date()).previous())
        intake_leads(
            session,
            team_id=DEMO_TEAM,
            leads={
                ref: {
                    "name": name,
                    "email": None,
                    "company": company,
                    "campaign": "Webinar: Pipeline Accelerator",
                    "source": "webinar",
                    "owner_id": owner,
                    "status": None,
                    "attributes": {},
                }
                for ref, name, company, owner in NEW_LEADS
            },
            now=now,
        )
        session.commit()
