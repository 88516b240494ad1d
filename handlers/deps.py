"""What every listener needs, handed over once by the app factory.

How a listener gets it: ``provide_deps(app, deps)`` (called by each package's
``register``; only the first call per app adds anything) installs one global Bolt
middleware that sets ``context["deps"] = deps`` on every request. Bolt passes listener
arguments by parameter name, and any key of the request's ``context`` is one of them
(``slack_bolt/kwargs_injection/utils.py``, since bolt-python 1.0), so a listener is a plain
module-level function that declares ``deps: Deps``::

    def handle_kpi(ack: Ack, command: dict[str, Any], respond: Respond,
                   client: WebClient, deps: Deps) -> None:

Why this and not closures or a module global: the listener stays a visible, documented
function that tests can call with any ``Deps``; several apps (tests build many) each carry
their own ``Deps``. Per-request isolation: Bolt builds a new ``BoltContext`` for every
request, and its threaded listener runner hands that same request to the worker thread
after the middleware ran, so each call sees its own context. What it finds there, ``Deps``,
is frozen and shared on purpose; anything per call (the database session) is opened inside
the listener. Not for lazy listeners: Bolt deep-copies their context, ``Deps`` included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore
from sqlmodel import Session

from domain.admin.roles import RoleDirectory
from domain.admin.settings import WorkspaceSettings, workspace_settings
from domain.clock import Clock
from handlers.errors import report_failure
from storage.engine import limit_waits

logger = logging.getLogger(__name__)

# Listeners that store before they acknowledge bound their write, since Slack allows 3 s
# for the ack: it gives up waiting for a lock (SQLite's write lock, a PostgreSQL row or
# index lock) after 1.5 s instead of SQLite's usual 15 s or PostgreSQL's forever, leaving
# time for the rest of the request. The user is told that nothing was saved, rather than
# Slack timing out on a maybe.
ACK_WRITE_WAIT_MS = 1500


class Installs(Protocol):
    """OAuth mode's installations: where each workspace's bot token is kept."""

    @property
    def store(self) -> InstallationStore:
        """slack-sdk's installation store."""
        ...


@dataclass(frozen=True)
class Deps:
    """Dependencies shared by the listeners; each listener call opens its own session."""

    session_factory: Callable[[], Session]
    clock: Clock
    defaults: WorkspaceSettings
    work_executor: Executor
    roles: RoleDirectory
    installations: Installs | None = None
    # Whether LEAD_WEBHOOK_SECRET signs the lead webhook of workspaces without their own.
    lead_webhook_secret_set: bool = False

    def settings_in(self, session: Session, *, team_id: str) -> WorkspaceSettings:
        """The settings in force in ``team_id``, read with an open session."""
        return workspace_settings(session, team_id=team_id, defaults=self.defaults)

    def settings_for(self, team_id: str) -> WorkspaceSettings:
        """The settings in force in ``team_id``, in a session of its own (see ``is_admin``)."""
        with self.session_factory() as session:
            return self.settings_in(session, team_id=team_id)

    def session_before_ack(self) -> Session:
        """A session for a write Slack is waiting on: lock waits end after ACK_WRITE_WAIT_MS."""
        session = self.session_factory()
        limit_waits(session, milliseconds=ACK_WRITE_WAIT_MS)
        return session

    def is_admin(self, user_id: str, *, team_id: str) -> bool:
        """Admins come from ADMIN_USERS and from ``/leadloop role @person admin``.

        Opens its own session: call it only where no other session is open (SQLite lets
        one writer at a time, even within a thread).
        """
        with self.session_factory() as session:
            return self.roles.is_admin(session, team_id=team_id, user_id=user_id)

    def after_ack(
        self, work: Callable[[], None], *, body: dict[str, Any], client: WebClient
    ) -> None:
        """Run ``work`` on the work pool once Slack has its answer.

        Bolt's own pool only has to reach ``ack()``, so a burst of slow work never delays
        the next acknowledgement. A failure is logged with its traceback and reported to
        the user, as Bolt's error handler would.
        """

        def guarded() -> None:
            try:
                work()
            except Exception as error:
                report_failure(error, body=body, client=client)

        self.work_executor.submit(guarded)


# The context key, and so the listener parameter's name.
DEPS_KEY = "deps"

# Which apps already have the middleware: each package's ``register`` asks, only the first adds.
_PROVIDED: WeakKeyDictionary[App, Deps] = WeakKeyDictionary()


class ProvideDeps(Middleware):
    """Bolt global middleware: puts the app's ``Deps`` in each request's own context."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # the name Bolt calls it with
    ) -> BoltResponse | None:
        """Set ``context["deps"]`` and go on to the listeners."""
        req.context[DEPS_KEY] = self.deps
        return next()


def provide_deps(app: App, deps: Deps) -> None:
    """Make ``deps`` a listener argument of ``app`` (once per app, however many packages ask).

    One app has one ``Deps``: a second, different one is a wiring mistake, refused.
    """
    provided = _PROVIDED.get(app)
    if provided is deps:
        return
    if provided is not None:
        raise ValueError("this app's listeners already have their Deps")
    app.middleware(ProvideDeps(deps))
    _PROVIDED[app] = deps
