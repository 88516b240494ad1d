"""A running leadloop: database, Slack client, Bolt app, scheduler and server, started and
stopped in the right order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.app import build_deliverer, create_app, default_work_executor
from bot.clock import Clock, scaled_clock, system_clock
from bot.config import Settings
from bot.scheduler import build_scheduler
from bot.server import build_wsgi_app, make_http_server
from bot.slack_client import build_web_client
from storage.engine import (
    SessionFactory,
    create_db_engine,
    database_answers,
    make_session_factory,
)
from storage.migrate import upgrade_to_head
from storage.workspaces import record_workspace

logger = logging.getLogger("leadloop")

ErrorFactory = Callable[[str], Exception]


@dataclass
class Runtime:
    """Everything a ``leadloop run`` process holds."""

    settings: Settings
    engine: Engine
    app: App
    scheduler: BackgroundScheduler
    work_executor: ThreadPoolExecutor
    on_error: ErrorFactory
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, settings: Settings, *, on_error: ErrorFactory) -> Runtime:
        """Migrate the database, connect to Slack and start the background jobs."""
        engine = create_db_engine(settings.database_url)
        try:
            upgrade_to_head(engine)
        except SQLAlchemyError as error:
            raise on_error(
                f"could not open or update the database ({type(error).__name__}); check "
                "DATABASE_URL and that the database server is running."
            ) from None
        session_factory = make_session_factory(engine)
        clock = clock_for(settings)
        client = build_web_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        work_executor = default_work_executor()
        try:
            app = create_app(
                settings,
                session_factory=session_factory,
                client=client,
                clock=clock,
                work_executor=work_executor,
            )
        except BoltError as error:
            raise on_error(
                "Slack did not accept SLACK_BOT_TOKEN (or could not be reached at "
                f"SLACK_API_URL): {_without_secrets(str(error), settings)}"
            ) from None
        _record_workspace(client, session_factory, clock)
        deliverer = build_deliverer(
            settings, session_factory=session_factory, client=client, clock=clock
        )
        scheduler = build_scheduler(
            deliverer=deliverer,
            session_factory=session_factory,
            clock=clock,
            tick_seconds=settings.scheduler_tick_seconds,
        )
        scheduler.start()
        return cls(
            settings=settings,
            engine=engine,
            app=app,
            scheduler=scheduler,
            work_executor=work_executor,
            on_error=on_error,
        )

    def serve(self, *, host: str, port: int) -> None:
        """Serve until ``stop`` is called: Socket Mode or HTTP, as configured."""
        if self.settings.socket_mode:
            self._serve_socket_mode()
        else:
            self._serve_http(host=host, port=port)

    def _serve_http(self, *, host: str, port: int) -> None:
        application = build_wsgi_app(self.app, is_healthy=lambda: database_answers(self.engine))
        try:
            server = make_http_server(application, host=host, port=port)
        except OSError:
            self._stop_background()
            raise
        self._stoppers.append(server.shutdown)
        logger.info(
            "leadloop is listening on http://%s:%s (Slack requests at /slack/events)",
            host,
            server.server_port,
        )
        try:
            server.serve_forever()
        finally:
            server.server_close()
            self._stop_background()

    def _serve_socket_mode(self) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        web_client = build_web_client(token=None, base_url=self.settings.slack_api_url)
        handler = SocketModeHandler(
            self.app, app_token=self.settings.slack_app_token, web_client=web_client
        )
        logger.info("leadloop is connecting to Slack over Socket Mode")
        try:
            try:
                handler.connect()
            except SlackApiError as error:
                raise self.on_error(
                    "Slack refused the Socket Mode connection "
                    f"({error.response.get('error')}): check SLACK_APP_TOKEN and that "
                    "Socket Mode is on in the Slack app."
                ) from None
            self._stopped.wait()
            handler.close()
        finally:
            self._stop_background()

    def stop(self) -> None:
        """Stop taking requests; in-flight requests finish, then the scheduler stops."""
        self._stopped.set()
        for stop in list(self._stoppers):
            stop()

    def _stop_background(self) -> None:
        self.work_executor.shutdown(wait=True)  # accepted ratings and replies are finished
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.engine.dispose()
        logger.info("leadloop stopped")


def _record_workspace(client: WebClient, session_factory: SessionFactory, clock: Clock) -> None:
    """Remember the bot token's workspace, so CLI commands and webhooks can default to it."""
    try:
        identity = client.auth_test()
    except (SlackClientError, OSError):
        logger.warning("could not read the bot's workspace from Slack; continuing without it")
        return
    with session_factory() as session:
        record_workspace(
            session,
            team_id=identity["team_id"],
            team_name=identity.get("team"),
            bot_user_id=identity.get("user_id"),
            now=clock(),
        )
        session.commit()


def clock_for(settings: Settings) -> Clock:
    """The real clock, or the simulated one when LEADLOOP_CLOCK_START is set."""
    simulated = settings.simulated_clock
    if simulated is None:
        return system_clock
    logger.warning(
        "using a simulated clock: %s at Unix time %s, %sx real time",
        simulated.start.isoformat(),
        simulated.epoch,
        simulated.scale,
    )
    return scaled_clock(start=simulated.start, epoch=simulated.epoch, scale=simulated.scale)


def _without_secrets(text: str, settings: Settings) -> str:
    for secret in settings.secrets:
        text = text.replace(secret, "[redacted]")
    return text
