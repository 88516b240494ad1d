"""Installing leadloop in many workspaces: Slack's OAuth flow, with slack-sdk's SQLAlchemy
installation and state stores on leadloop's own database.

Each install stores the workspace's bot token; the installer becomes that workspace's first
leadloop admin, and sets its channels with ``/leadloop settings``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.config import Settings
from domain.clock import Clock
from storage import roles
from storage.engine import SessionFactory
from storage.workspaces import get_workspace, record_workspace

logger = logging.getLogger(__name__)

# The bot scopes of manifest.json (a test keeps the two the same).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "channels:join",
    "channels:read",
    "users:read",
    "files:write",
    "usergroups:read",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600


@dataclass(frozen=True)
class Installations:
    """The OAuth app's credentials and the stores its installs and states live in."""

    client_id: str
    client_secret: str
    store: SQLAlchemyInstallationStore
    state_store: SQLAlchemyOAuthStateStore

    @classmethod
    def on(cls, engine: Engine, settings: Settings) -> Installations | None:
        """The stores on ``engine`` in OAuth mode; None with a single bot token."""
        if not (settings.slack_client_id and settings.slack_client_secret):
            return None
        return cls(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            store=SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine),
            state_store=SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine),
        )

    def authorize(self, client: WebClient) -> InstallationStoreAuthorize:
        """Finds each request's bot token; auth.test is asked once per token, not per request."""
        return InstallationStoreAuthorize(
            logger=logging.getLogger("leadloop.bolt"),
            installation_store=self.store,
            client_id=self.client_id,
            client_secret=self.client_secret,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )

    def knows(
        self, *, enterprise_id: str | None, team_id: str, session_factory: SessionFactory
    ) -> bool:
        """Whether ``team_id`` has an installation, or had one (its row is kept)."""
        if self.store.find_bot(enterprise_id=enterprise_id, team_id=team_id) is not None:
            return True
        with session_factory() as session:
            return get_workspace(session, team_id=team_id) is not None

    def oauth_settings(self, on_installed: Callable[[Installation], None]) -> OAuthSettings:
        """``/slack/install`` and ``/slack/oauth_redirect``, recording each install."""

        def success(args: SuccessArgs) -> BoltResponse:
            on_installed(args.installation)
            return _page(200, installed_page(args.installation))

        def failure(args: FailureArgs) -> BoltResponse:
            logger.warning("a Slack install did not complete: %s", args.reason)
            return _page(args.suggested_status_code, failed_page(args.reason))

        return OAuthSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=self.store,
            installation_store_bot_only=True,
            state_store=self.state_store,
            state_expiration_seconds=STATE_SECONDS,
            callback_options=CallbackOptions(success=success, failure=failure),
        )


def record_installation(
    installation: Installation, *, session_factory: SessionFactory, clock: Clock
) -> None:
    """A workspace installed (or reinstalled) leadloop: remember it, make the installer admin.

    The workspace's schedules resume; its settings, roles and data are as it left them.
    """
    if not installation.team_id:
        raise ValueError("leadloop is installed per workspace, not across an organisation")
    with session_factory() as session:
        now = clock()
        record_workspace(
            session,
            team_id=installation.team_id,
            team_name=installation.team_name,
            bot_user_id=installation.bot_user_id,
            now=now,
        )
        roles.give_role(
            session,
            team_id=installation.team_id,
            user_id=installation.user_id,
            role=roles.ADMIN,
            set_by=installation.user_id,
            now=now,
        )
        session.commit()
    logger.info("leadloop was installed in workspace %s", installation.team_id)


def installed_page(installation: Installation) -> str:
    """What the installer sees once Slack sends them back: the next steps."""
    team = html.escape(installation.team_name or installation.team_id or "your workspace")
    app_link = html.escape(
        f"https://slack.com/app_redirect?app={installation.app_id}&team={installation.team_id}"
    )
    return _html(
        "leadloop is installed",
        f"<p>leadloop is now installed in <strong>{team}</strong>, and you are its first "
        "leadloop admin.</p>"
        "<p>Next, in Slack:</p><ol>"
        "<li>Choose the channel where ratings are posted for marketing to answer: "
        "<code>/leadloop settings feedback #lead-feedback</code></li>"
        "<li>Optionally, the weekly KPI report and hand-off channels and the time zone: "
        "<code>/leadloop settings</code> lists them all.</li>"
        "<li>Rate a lead: <code>/rate-lead ACME-123 4 good fit, budget confirmed</code></li>"
        f'</ol><p><a href="{app_link}">Open leadloop in Slack</a></p>',
    )


def failed_page(reason: str) -> str:
    """What the installer sees when the install did not go through, and what to do."""
    return _html(
        "leadloop was not installed",
        f"<p>Slack did not complete the install ({html.escape(reason)}).</p>"
        f'<p><a href="{INSTALL_PATH}">Start the install again</a>; the link is valid for '
        "10 minutes.</p>",
    )


def _html(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )


def _page(status: int, body: str) -> BoltResponse:
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )
