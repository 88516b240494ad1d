"""A running leadloop: database, Slack client, Bolt app and server, started and stopped in
the right order. The delivery process (``bot.delivery``) runs beside it.

``prepare`` runs once per ``leadloop run`` (migrations, the bot token check); a ``Runtime``
is built in each process that serves: the one Socket Mode process, or every HTTP worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.app import build_lead_webhook, create_app, default_work_executor
from bot.config import Settings
from bot.installs import Installations
from bot.refusals import RefusalLog
from bot.server import build_wsgi_app
from bot.serving import ServeOptions, serve
from bot.slack_client import build_web_client, silent_logger
from bot.stopping import wait_until_set
from domain.clock import Clock, scaled_clock, system_clock
from domain.leads.webhook import LeadWebhook
from storage.engine import (
    SessionFactory,
    create_db_engine,
    database_answers,
    make_session_factory,
)
from storage.migrate import upgrade_to_head
from storage.workspaces import record_workspace

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

logger = logging.getLogger("leadloop")

ErrorFactory = Callable[[str], Exception]


def prepare(settings: Settings, *, on_error: ErrorFactory) -> None:
    """Once per ``leadloop run``, before anything serves: migrate, check the bot token.

    In OAuth mode there is no token to check: workspaces are recorded as they install.

    Raises ``on_error(message)`` with a message the user can act on. Nothing it opens
    stays open, so HTTP workers forked afterwards inherit no connection.
    """
    engine = create_db_engine(settings.database_url)
    try:
        try:
            upgrade_to_head(engine)
        except SQLAlchemyError as error:
            raise on_error(
                f"could not open or update the database ({type(error).__name__}); check "
                "DATABASE_URL and that the database server is running."
            ) from None
        clock = clock_for(settings)
        if settings.oauth:
            logger.info("installing through OAuth: workspaces install at /slack/install")
            return
        # _check_bot_token says what failed in one line; no line per retry before it.
        client = build_web_client(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, logger=silent_logger()
        )
        identity = _check_bot_token(client, settings, on_error)
        _record_workspace(identity, make_session_factory(engine), clock)
    finally:
        engine.dispose()


def _check_bot_token(
    client: WebClient, settings: Settings, on_error: ErrorFactory
) -> dict[str, str]:
    """``auth.test``: who the bot is, or a message telling a refused token from no Slack."""
    try:
        identity = client.auth_test().data
        if not isinstance(identity, dict):  # slack-sdk types a JSON answer as dict | bytes
            identity = {}
        return {str(key): value for key, value in identity.items() if isinstance(value, str)}
    except SlackApiError as error:
        raise on_error(token_refused(str(error.response.get("error")), settings)) from None
    except (SlackClientError, OSError) as error:
        raise on_error(slack_unreachable(error, settings)) from None


def token_refused(problem: str, settings: Settings) -> str:
    """What to do when Slack answered, and refused SLACK_BOT_TOKEN."""
    return (
        f"Slack refused SLACK_BOT_TOKEN ({_without_secrets(problem, settings)}). Copy the Bot "
        "User OAuth Token (xoxb-...) again from your Slack app's OAuth & Permissions page; "
        "if the app was uninstalled, install it to your workspace again first."
    )


def slack_unreachable(error: BaseException, settings: Settings) -> str:
    """What to do when Slack could not be reached at all (the token was never checked)."""
    detail = _without_secrets(str(error) or type(error).__name__, settings)[:200]
    return (
        f"could not reach Slack at {settings.slack_api_url} ({type(error).__name__}: "
        f"{detail}). Check this machine's network and proxy settings, and SLACK_API_URL "
        "(leave it unset for real Slack)."
    )


def serve_http(
    settings: Settings,
    *,
    listener: socket.socket,
    options: ServeOptions,
    on_error: ErrorFactory,
    on_stopping: Callable[[], None],
) -> int:
    """Serve Slack's HTTP requests with gunicorn until SIGTERM; returns the exit status.

    Every worker builds its own ``Runtime``; none sends posts or runs the schedules, which
    is the delivery process's work (``bot.delivery``). ``on_stopping`` runs as soon as the
    master starts stopping.
    """

    def start_worker() -> Runtime:
        return Runtime.start(settings, on_error=on_error)

    return serve(start_worker, options, listener, on_stopping=on_stopping)


@dataclass
class Runtime:
    """Everything one process that answers Slack holds (the delivery process is apart)."""

    settings: Settings
    engine: Engine
    app: App
    listener_executor: ThreadPoolExecutor
    work_executor: ThreadPoolExecutor
    on_error: ErrorFactory
    lead_webhook: LeadWebhook | None = None
    refusals: RefusalLog = field(default_factory=RefusalLog)
    _stopped: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, settings: Settings, *, on_error: ErrorFactory) -> Runtime:
        """Connect to the (already migrated) database and Slack."""
        engine = create_db_engine(settings.database_url)
        session_factory = make_session_factory(engine)
        clock = simulated_or_system_clock(settings)
        client = build_web_client(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        installations = Installations.on(engine, settings)
        listener_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="leadloop-ack")
        work_executor = default_work_executor()
        try:
            app = create_app(
                settings,
                session_factory=session_factory,
                client=client,
                clock=clock,
                listener_executor=listener_executor,
                work_executor=work_executor,
                installations=installations,
            )
        except BoltError as error:
            # Bolt checks the token once more in each process; prepare() told the causes
            # apart already, so this is Slack going away in between.
            engine.dispose()
            raise on_error(slack_unreachable(error, settings)) from None
        return cls(
            settings=settings,
            engine=engine,
            app=app,
            listener_executor=listener_executor,
            work_executor=work_executor,
            on_error=on_error,
            lead_webhook=build_lead_webhook(settings, session_factory=session_factory, clock=clock),
        )

    def wsgi_app(self) -> WSGIApplication:
        """Slack's requests, the health check and the lead webhook, as one WSGI app."""
        return build_wsgi_app(
            self.app,
            is_healthy=lambda: database_answers(self.engine),
            lead_webhook=self.lead_webhook,
            signing_secret=self.settings.slack_signing_secret,
            refusals=self.refusals,
        )

    def serve_socket_mode(self) -> None:
        """Take Slack's requests over Socket Mode until ``stop`` is called."""
        from bot.socket_mode import SocketModeHandler

        app_token = self.settings.slack_app_token
        if not app_token:  # settings.socket_mode says it is set
            raise self.on_error("Socket Mode needs SLACK_APP_TOKEN.")
        web_client = build_web_client(token=None, base_url=self.settings.slack_api_url)
        handler = SocketModeHandler(self.app, app_token=app_token, web_client=web_client)
        logger.info("leadloop is connecting to Slack over Socket Mode")
        try:
            handler.connect()
        except SlackApiError as error:
            raise self.on_error(
                "Slack refused the Socket Mode connection "
                f"({error.response.get('error')}): check SLACK_APP_TOKEN and that "
                "Socket Mode is on in the Slack app."
            ) from None
        wait_until_set(self._stopped)
        handler.close()

    def stop(self) -> None:
        """Make ``serve_socket_mode`` return; ``close`` then finishes the work."""
        self._stopped.set()

    def close(self) -> None:
        """Finish the requests in progress and what they do after their ack, then let go
        of the database. What they stored is already committed, posts owed included."""
        self.listener_executor.shutdown(wait=True)
        self.work_executor.shutdown(wait=True)
        self.refusals.flush()
        self.engine.dispose()
        logger.debug("leadloop process %s closed its runtime", os.getpid())


def _record_workspace(
    identity: dict[str, str], session_factory: SessionFactory, clock: Clock
) -> None:
    """Remember the bot token's workspace, so CLI commands and webhooks can default to it.

    Two instances starting together may both try to insert it: the loser of that race
    finds the row on its second try and refreshes it instead.
    """
    for attempt in range(2):
        try:
            with session_factory() as session:
                record_workspace(
                    session,
                    team_id=identity["team_id"],
                    team_name=identity.get("team"),
                    bot_user_id=identity.get("user_id"),
                    now=clock(),
                )
                session.commit()
            return
        except IntegrityError:
            if attempt:
                raise


def clock_for(settings: Settings) -> Clock:
    """The real clock, or the simulated one when LEADLOOP_CLOCK_START is set (said once)."""
    simulated = settings.simulated_clock
    if simulated is not None:
        logger.warning(
            "using a simulated clock: %s at Unix time %s, %sx real time",
            simulated.start.isoformat(),
            simulated.epoch,
            simulated.scale,
        )
    return simulated_or_system_clock(settings)


def simulated_or_system_clock(settings: Settings) -> Clock:
    """The clock settings ask for, without a word in the log."""
    simulated = settings.simulated_clock
    if simulated is None:
        return system_clock
    return scaled_clock(start=simulated.start, epoch=simulated.epoch, scale=simulated.scale)


def _without_secrets(text: str, settings: Settings) -> str:
    for secret in settings.secrets:
        text = text.replace(secret, "[redacted]")
    return text
