"""Installing leadloop in many workspaces: Slack's OAuth flow, with slack-sdk's SQLAlchemy
installation and state stores on leadloop's own database.

Each install stores the workspace's bot token. A workspace's first installer becomes its first
leadloop admin, and sets its channels with ``/leadloop settings``; installing again (after an
uninstall, or by anyone who clicks "Add to Slack" once more) keeps its roles as they are.
leadloop is installed per workspace: an org-wide (Enterprise Grid) install is refused before
anything of it is stored, and its token is given back to Slack.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, desc, select
from sqlalchemy.exc import IntegrityError

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


class WorkspaceInstallationStore(SQLAlchemyInstallationStore):
    """slack-sdk's store, where a workspace's id alone finds its bot.

    Requests name their organisation, and Bolt looks the bot up with it. The delivery
    process knows only the workspace (``team_clients.InstalledWorkspaces``), and slack-sdk
    would then look for a workspace outside any organisation, missing a Grid workspace's
    token. Team ids are unique across Slack, so the workspace's own row is the one.
    """

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = super().find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if bot is not None or enterprise_id is not None or team_id is None:
            return bot
        organisation = self._organisation_of(team_id)
        if organisation is None:
            return None
        return super().find_bot(enterprise_id=organisation, team_id=team_id)

    def _organisation_of(self, team_id: str) -> str | None:
        columns = self.bots.c
        query = (
            select(columns.enterprise_id)
            .where(
                columns.client_id == self.client_id,
                columns.team_id == team_id,
                columns.enterprise_id.is_not(None),
                columns.bot_token.is_not(None),
            )
            .order_by(desc(columns.installed_at))
            .limit(1)
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar()
        return str(found) if found is not None else None


@dataclass(frozen=True)
class Installations:
    """The OAuth app's credentials and the stores its installs and states live in."""

    client_id: str
    client_secret: str
    store: WorkspaceInstallationStore
    state_store: SQLAlchemyOAuthStateStore

    @classmethod
    def on(cls, engine: Engine, settings: Settings) -> Installations | None:
        """The stores on ``engine`` in OAuth mode; None with a single bot token."""
        if not (settings.slack_client_id and settings.slack_client_secret):
            return None
        return cls(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            store=WorkspaceInstallationStore(client_id=settings.slack_client_id, engine=engine),
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

    def oauth_flow(
        self, on_installed: Callable[[Installation], bool], *, client: WebClient
    ) -> OAuthFlow:
        """``/slack/install`` and ``/slack/oauth_redirect``, recording each install.

        ``on_installed`` says whether the installer became the workspace's first admin.
        """

        def success(args: SuccessArgs) -> BoltResponse:
            first_admin = on_installed(args.installation)
            return _page(200, installed_page(args.installation, first_admin=first_admin))

        def failure(args: FailureArgs) -> BoltResponse:
            if isinstance(args.error, OrgWideInstallRefused):
                return _page(403, org_wide_page())
            logger.warning("a Slack install did not complete: %s", args.reason)
            return _page(args.suggested_status_code, failed_page(args.reason))

        settings = OAuthSettings(
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
        return WorkspaceInstallFlow(
            client=client, logger=logging.getLogger("leadloop.bolt"), settings=settings
        )


class OrgWideInstallRefused(BoltError):
    """Slack installed leadloop across an organisation; leadloop is installed per workspace."""


class WorkspaceInstallFlow(OAuthFlow):
    """Bolt's OAuth flow, which refuses an org-wide install before it stores anything."""

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        if installation.is_enterprise_install or not installation.team_id:
            logger.warning(
                "refused an org-wide install in organisation %s: leadloop is installed per "
                "workspace",
                installation.enterprise_id,
            )
            _give_back(self.client, installation.bot_token)
            raise OrgWideInstallRefused("leadloop is installed per workspace")
        super().store_installation(request, installation)


def _give_back(client: WebClient, token: str | None) -> None:
    """Revoke a token leadloop will not keep, so Slack does not count the install either."""
    if not token:
        return
    try:
        client.auth_revoke(token=token)
    except (SlackClientError, OSError) as error:
        logger.warning("could not give the refused install's token back to Slack: %s", error)


def record_installation(
    installation: Installation, *, session_factory: SessionFactory, clock: Clock
) -> bool:
    """A workspace installed (or reinstalled) leadloop: remember it; True when the installer
    became its first admin.

    Only a workspace's first install makes its installer admin: a reinstall, by anyone,
    keeps its roles as they are. Its schedules resume; its settings and data are as it left
    them. Two first installs at once: the second finds the row and counts as a reinstall.
    """
    team_id = installation.team_id
    if not team_id:
        raise ValueError("leadloop is installed per workspace, not across an organisation")
    for attempt in range(2):
        try:
            first_admin = _record(installation, team_id, session_factory, clock)
            break
        except IntegrityError:
            if attempt:
                raise
    if first_admin:
        logger.info("leadloop was installed in workspace %s", team_id)
    else:
        logger.info("leadloop was installed again in workspace %s; roles unchanged", team_id)
    return first_admin


def _record(
    installation: Installation, team_id: str, session_factory: SessionFactory, clock: Clock
) -> bool:
    with session_factory() as session:
        now = clock()
        known = get_workspace(session, team_id=team_id)
        # A row that never had a bot user was made without an install (an admin's setting, or
        # an uninstall event older leadloops recorded for any workspace): not an install yet.
        first = known is None or known.bot_user_id is None
        record_workspace(
            session,
            team_id=team_id,
            team_name=installation.team_name,
            bot_user_id=installation.bot_user_id,
            now=now,
        )
        first_admin = first and bool(installation.user_id)
        if first_admin:
            roles.give_role(
                session,
                team_id=team_id,
                user_id=installation.user_id,
                role=roles.ADMIN,
                set_by=installation.user_id,
                now=now,
            )
        session.commit()
    return first_admin


def installed_page(installation: Installation, *, first_admin: bool = True) -> str:
    """What the installer sees once Slack sends them back: the next steps."""
    team = html.escape(installation.team_name or installation.team_id or "your workspace")
    app_link = html.escape(
        f"https://slack.com/app_redirect?app={installation.app_id}&team={installation.team_id}"
    )
    if not first_admin:
        return _html(
            "leadloop is installed",
            f"<p>leadloop is installed in <strong>{team}</strong> again. Its settings, data "
            "and roles are as they were; a leadloop admin gives roles with "
            "<code>/leadloop role</code>.</p>"
            f'<p><a href="{app_link}">Open leadloop in Slack</a></p>',
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


def org_wide_page() -> str:
    """What the installer sees when Slack installed leadloop across an organisation."""
    return _html(
        "leadloop was not installed",
        "<p>leadloop is installed in one workspace at a time, not across a whole Enterprise "
        "Grid organisation, so this install was refused and nothing was kept.</p>"
        f'<p>Install it in each workspace that wants it: open <a href="{INSTALL_PATH}">the '
        "install link</a> and choose that workspace (not the organisation) in Slack.</p>",
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
