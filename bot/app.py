"""The app factory: one Bolt App with every listener wired, nothing done at import time."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import Installation

from bot.config import Settings
from bot.environment import hide_from_libraries
from bot.installs import Installations, record_installation
from bot.outbox.engine import CLAIM_LEASE, Deliverer
from bot.refusals import RefusalLog, SignedBySlack
from bot.team_clients import InstalledWorkspaces, OneWorkspace, TeamClients
from bot.usergroups import UsergroupCache
from bot.workspace_gate import (
    InOrder,
    InstalledAuthorize,
    InstalledWorkspacesGate,
    OneTokenAuthorize,
    OneWorkspaceGate,
    TokenIdentity,
)
from domain.admin.roles import RoleDirectory
from domain.clock import Clock, system_clock
from domain.leads.webhook import LeadWebhook
from handlers import (
    admin,
    errors,
    handoff,
    home,
    installs,
    kpi,
    meetings,
    rate_lead,
    thread_replies,
    verdicts,
)
from handlers.deps import Deps
from storage.engine import SessionFactory

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    client: WebClient,
    clock: Clock = system_clock,
    listener_executor: Executor | None = None,
    work_executor: Executor | None = None,
    installations: Installations | None = None,
) -> App:
    """Build the Bolt app; Slack signatures are verified on every request it serves.

    ``client`` carries SLACK_BOT_TOKEN in single-workspace mode; with ``installations``
    (OAuth mode) it has no token, and each request's workspace brings its own.
    ``listener_executor`` runs listeners up to their ``ack()``; ``work_executor`` runs the
    little they do after it (a private note to a clicker, publishing App Home). The caller
    shuts the latter down on exit. Listeners send no posts: they commit them to the outbox,
    and the delivery process (``bot.delivery``) sends them.
    """
    if settings.oauth and installations is None:
        raise ValueError("OAuth mode needs the installation stores")
    executor = listener_executor or ThreadPoolExecutor(max_workers=16)
    app = _bolt_app(settings, client, executor, installations, session_factory, clock)
    clients = team_clients(client, installations)
    defaults = settings.workspace_defaults()
    deps = Deps(
        session_factory=session_factory,
        clock=clock,
        defaults=defaults,
        work_executor=work_executor or default_work_executor(),
        roles=RoleDirectory(
            admin_users=settings.admin_users,
            defaults=defaults,
            usergroups=UsergroupCache(clients),
        ),
        installations=installations,
        lead_webhook_secret_set=bool(settings.lead_webhook_secret),
    )
    rate_lead.register(app, deps)
    thread_replies.register(app, deps)
    meetings.register(app, deps)
    kpi.register(app, deps)
    home.register(app, deps)
    admin.register(app, deps)
    handoff.register(app, deps)
    verdicts.register(app, deps)
    installs.register(app, deps)
    errors.register(app)
    return app


def _bolt_app(
    settings: Settings,
    client: WebClient,
    listener_executor: Executor,
    installations: Installations | None,
    session_factory: SessionFactory,
    clock: Clock,
) -> App:
    # Bolt reads SLACK_* variables behind our back when they exist, even empty: see
    # bot.environment. Everything it needs is passed below.
    hide_from_libraries(os.environ)
    common: dict[str, Any] = {
        "client": client,
        "signing_secret": settings.slack_signing_secret,
        "logger": logging.getLogger("leadloop.bolt"),
        "listener_executor": listener_executor,
        # Every listener stores what it changes before it acks, so the answer waits for the
        # listener anyway: run it in the request's thread, not in Bolt's pool with the
        # request thread polling for the ack every 10 ms (bench/README.md).
        "process_before_response": True,
        # Bolt's own check logs a refused request's whole body; ours, in its place, doesn't.
        "request_verification_enabled": False,
        "before_authorize": SignedBySlack(settings.slack_signing_secret, refusals=RefusalLog()),
    }
    # Which workspaces are served is settled right after the signature check, before Bolt
    # authorizes anything or any listener runs (bot.workspace_gate).
    checks = [common.get("before_authorize")]
    if installations is None:
        identity = token_identity(client)
        return App(
            **{
                **common,
                # The token comes with each request's authorization, as in OAuth mode.
                "client": without_token(client),
                "before_authorize": InOrder(*checks, OneWorkspaceGate(identity)),
            },
            authorize=OneTokenAuthorize(identity),  # type: ignore[arg-type]
        )

    def on_installed(installation: Installation) -> bool:
        return record_installation(installation, session_factory=session_factory, clock=clock)

    def is_known(enterprise_id: str | None, team_id: str) -> bool:
        return installations.knows(
            enterprise_id=enterprise_id, team_id=team_id, session_factory=session_factory
        )

    authorize = InstalledAuthorize(installations.authorize(client))
    gate = InstalledWorkspacesGate(authorize, is_known=is_known)
    return App(
        **{**common, "before_authorize": InOrder(*checks, gate)},
        # Bolt takes an Authorize object here (it checks for one before wrapping a
        # function), though its hint names only functions.
        authorize=authorize,  # type: ignore[arg-type]
        installation_store=installations.store,
        oauth_flow=installations.oauth_flow(on_installed, client=client),
        user_facing_authorize_error_message=(
            "leadloop is not installed in this workspace any more. An admin can install it "
            "again from the install link."
        ),
    )


def token_identity(client: WebClient) -> TokenIdentity:
    """SLACK_BOT_TOKEN's workspace, from ``auth.test``: the one check of the token in each
    process (Bolt, given the answer, asks no more). A failure is a ``BoltError``, as Bolt's
    own check raised it."""
    try:
        return TokenIdentity.of(client)
    except SlackApiError as error:
        raise BoltError(f"auth.test refused the token ({error.response.get('error')})") from None
    except (SlackClientError, OSError, ValueError) as error:
        raise BoltError(f"auth.test failed ({type(error).__name__})") from None


def without_token(client: WebClient) -> WebClient:
    """``client``'s Slack address, timeout and retries, without its token."""
    return WebClient(
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=client.retry_handlers,
        logger=client.logger,
    )


def team_clients(client: WebClient, installations: Installations | None) -> TeamClients:
    """Who speaks for each workspace: the one bot token, or each install's own."""
    if installations is None:
        return OneWorkspace(client)

    def make_client(token: str) -> WebClient:
        return WebClient(
            token=token,
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=client.retry_handlers,
        )

    return InstalledWorkspaces(installation_store=installations.store, make_client=make_client)


def default_work_executor() -> ThreadPoolExecutor:
    """The pool that does listeners' work after Slack has its answer.

    Its threads run at a lower CPU priority, so the threads that answer Slack get the CPU
    first when both want it (see bench/README.md: the p99 of the acknowledgement).
    """
    return ThreadPoolExecutor(
        max_workers=16, thread_name_prefix="leadloop-work", initializer=yield_cpu_to_acks
    )


# Not the lowest (19): when other processes load the CPU, a work thread that low can be
# kept off the CPU while it holds the interpreter lock, and the acks wait with it.
WORK_NICENESS = 10


def yield_cpu_to_acks() -> None:
    """Lower the calling thread's CPU priority (Linux schedules each thread on its own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORK_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: normal priority then
        logger.debug("could not lower the priority of leadloop's work threads")


def build_deliverer(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    client: WebClient,
    clock: Clock,
    installations: Installations | None = None,
) -> Deliverer:
    """The delivery process's outbox deliverer, shared by its pump and its scheduler."""
    simulated = settings.simulated_clock
    return Deliverer(
        session_factory=session_factory,
        clients=team_clients(client, installations),
        clock=clock,
        defaults=settings.workspace_defaults(),
        # A lease is about processes staying alive, which happens in real time.
        claim_lease=CLAIM_LEASE if simulated is None else simulated.span_of(CLAIM_LEASE),
    )


def build_lead_webhook(
    settings: Settings, *, session_factory: SessionFactory, clock: Clock
) -> LeadWebhook:
    """The lead webhook; LEAD_WEBHOOK_SECRET, if set, signs for the workspaces without their own.

    The hand-offs it owes are committed with the leads; the delivery process posts them.
    """
    return LeadWebhook(
        secret=settings.lead_webhook_secret, session_factory=session_factory, clock=clock
    )
