"""Which workspaces leadloop serves, decided before Bolt authorizes a request.

Slack signs every request with the app's one signing secret, whichever workspace it comes
from: the same app installed in a second workspace, or in another workspace of an
Enterprise Grid organisation, sends requests that pass the signature check. So:

* **One bot token** (single-workspace mode): leadloop serves the token's workspace, as
  ``auth.test`` names it, and nothing else. A request that names another team, or another
  enterprise than the token's, or comes from an org-wide install, is refused before any
  listener runs.
* **OAuth**: leadloop serves every workspace installed through ``/slack/install``. A
  request from a workspace without an installation, or from an org-wide install (leadloop
  never stores one), is refused the same way.

A refused slash command is told, privately, that leadloop is not installed there; anything
else gets an empty 200, so that Slack does not send it again. The log gets one short line
per workspace a minute, naming the team and nothing of the request.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger("leadloop.workspaces")

# Events Bolt lets through without authorizing them (the token may be gone already).
LIFECYCLE_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})
# Where the gate leaves what OAuth mode's authorize found, for Bolt to use as is.
AUTHORIZED = "leadloop_authorized"

NOT_THIS_WORKSPACE = (
    "leadloop is not installed for this workspace: it serves only the workspace it was set "
    "up in. Nothing was saved."
)
NOT_INSTALLED = (
    "leadloop is not installed in this workspace. An admin can install it from the install "
    "link; nothing was saved."
)

_PRINTABLE_ID = re.compile(r"[^A-Za-z0-9_-]")


class OncePerKey:
    """Says yes at most once per key in each ``interval`` seconds: for log lines a signed but
    unwelcome request causes, which must not grow with the number of requests.

    Remembers at most ``max_keys`` keys; past that, it forgets the ones whose interval ran
    out, or all of them.
    """

    def __init__(
        self,
        *,
        interval: float = 60.0,
        max_keys: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """True when ``key`` was not allowed in the last interval (and counts as allowed now)."""
        with self._lock:
            now = self._clock()
            last = self._last.get(key)
            if last is not None and now - last < self._interval:
                return False
            if len(self._last) >= self._max_keys:
                self._last = {k: t for k, t in self._last.items() if now - t < self._interval}
                if len(self._last) >= self._max_keys:
                    self._last.clear()
            self._last[key] = now
            return True

    def __len__(self) -> int:
        """How many keys it remembers."""
        with self._lock:
            return len(self._last)


@dataclass(frozen=True)
class TokenIdentity:
    """Who SLACK_BOT_TOKEN is, as ``auth.test`` answered once per process."""

    token: str
    team_id: str
    enterprise_id: str | None
    is_enterprise_install: bool
    bot_id: str | None
    bot_user_id: str | None

    @classmethod
    def of(cls, client: WebClient) -> TokenIdentity:
        """Ask ``auth.test`` for the client's token; raises what slack-sdk raises, or
        ValueError without a token or a workspace."""
        if not client.token:
            raise ValueError("single-workspace mode needs SLACK_BOT_TOKEN")
        answer = client.auth_test()
        team_id = answer.get("team_id")
        if not isinstance(team_id, str) or not team_id:
            raise ValueError("auth.test named no workspace")
        return cls(
            token=client.token,
            team_id=team_id,
            enterprise_id=_text(answer.get("enterprise_id")),
            is_enterprise_install=answer.get("is_enterprise_install") is True,
            bot_id=_text(answer.get("bot_id")),
            bot_user_id=_text(answer.get("user_id")),
        )


class OneTokenAuthorize(Authorize):
    """Single-workspace mode's authorize: the token's identity, learned once.

    Bolt would ask ``auth.test`` again in every process (its single-workspace mode does);
    this one reuses the answer the gate was built from.
    """

    def __init__(self, identity: TokenIdentity) -> None:
        self.identity = identity

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult | None:
        me = self.identity
        return AuthorizeResult(
            enterprise_id=me.enterprise_id,
            team_id=me.team_id,
            bot_id=me.bot_id,
            bot_user_id=me.bot_user_id,
            bot_token=me.token,
            user_id=user_id,
        )


class InstalledAuthorize(Authorize):
    """OAuth mode's authorize: the gate's answer when it asked already, else ``found``'s.

    Never a token for an org-wide install: leadloop is installed per workspace.
    """

    def __init__(self, found: Authorize) -> None:
        self.found = found

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult | None:
        earlier = context.get(AUTHORIZED)
        if isinstance(earlier, AuthorizeResult):
            return earlier
        if context.is_enterprise_install or not team_id:
            return None
        result: AuthorizeResult | None = self.found(
            context=context, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )
        return result


class OneWorkspaceGate(Middleware):
    """Single-workspace mode: refuse every request that is not from the token's workspace."""

    def __init__(self, identity: TokenIdentity, *, log_limit: OncePerKey | None = None) -> None:
        self.identity = identity
        self._log_limit = log_limit or OncePerKey()

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt calls it by this name
    ) -> BoltResponse | None:
        body = req.body if isinstance(req.body, Mapping) else {}
        why = self.foreign(body, req.context)
        if why is None:
            return next()
        team = _first_team(body, req.context)
        if self._log_limit.allow(team):
            logger.warning(
                "refused a request from workspace %s: %s; leadloop serves only %s",
                _printable(team),
                why,
                self.identity.team_id,
            )
        return refusal(body, NOT_THIS_WORKSPACE)

    def foreign(self, body: Mapping[str, Any], context: BoltContext) -> str | None:
        """Why the request is not from the token's workspace; None when it is."""
        me = self.identity
        if context.is_enterprise_install and not me.is_enterprise_install:
            return "it comes from an org-wide install"
        others = teams_named(body, context) - {me.team_id}
        if others:
            return "another workspace"
        if me.enterprise_id is not None and enterprises_named(body, context) - {me.enterprise_id}:
            return "another organisation"
        return None


class InstalledWorkspacesGate(Middleware):
    """OAuth mode: refuse requests from workspaces leadloop has no installation for.

    It asks ``authorize`` itself and leaves the answer in the context, where
    ``InstalledAuthorize`` finds it: each request looks its token up once. The events Bolt
    does not authorize (an uninstall, revoked tokens) pass when ``is_known`` knows the
    workspace, whose installation they are about to end.
    """

    def __init__(
        self,
        authorize: Authorize,
        *,
        is_known: Callable[[str | None, str], bool],
        log_limit: OncePerKey | None = None,
    ) -> None:
        self.authorize = authorize
        self.is_known = is_known
        self._log_limit = log_limit or OncePerKey()

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt calls it by this name
    ) -> BoltResponse | None:
        context = req.context
        body = req.body if isinstance(req.body, Mapping) else {}
        team_id = context.team_id
        if context.is_enterprise_install or (not team_id and context.enterprise_id):
            return self._refuse(body, context.enterprise_id or "", "an org-wide install")
        if not team_id:  # Slack's URL checks name no workspace; the listeners refuse the rest
            return next()
        if _event_type(body) in LIFECYCLE_EVENTS:
            if self.is_known(context.enterprise_id, team_id):
                return next()
            return self._refuse(body, team_id, "a workspace leadloop does not know")
        try:
            found = self.authorize(
                context=context,
                enterprise_id=context.enterprise_id,
                team_id=team_id,
                user_id=context.user_id,
            )
        except SlackApiError:  # Bolt's authorization asks again, and says what failed
            return next()
        if found is None:
            return self._refuse(body, team_id, "no installation")
        context[AUTHORIZED] = found
        return next()

    def _refuse(self, body: Mapping[str, Any], team: str, why: str) -> BoltResponse:
        if self._log_limit.allow(team):
            logger.warning("refused a request from workspace %s: %s", _printable(team), why)
        return refusal(body, NOT_INSTALLED)


class InOrder(Middleware):
    """Several middleware where Bolt takes one (``before_authorize``), run as Bolt runs its
    list: each goes on only when the one before called ``next``."""

    def __init__(self, *steps: Middleware | None) -> None:
        self.steps = [step for step in steps if step is not None]

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt calls it by this name
    ) -> BoltResponse | None:
        went_on = False

        def step_next() -> BoltResponse:
            nonlocal went_on
            went_on = True
            return resp

        answer: BoltResponse | None = resp
        for step in self.steps:
            went_on = False
            answer = step.process(req=req, resp=answer or resp, next=step_next)
            if not went_on:
                return answer
        next()
        return answer


def refusal(body: Mapping[str, Any], text: str) -> BoltResponse:
    """The answer to a refused request: a private note for a command, else an empty 200."""
    if isinstance(body.get("command"), str):
        return BoltResponse(
            status=200,
            body=json.dumps({"response_type": "ephemeral", "text": text}),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    return BoltResponse(status=200, body="")


def teams_named(body: Mapping[str, Any], context: BoltContext) -> set[str]:
    """Every workspace a request names where Bolt or a listener reads its workspace.

    The places a payload says which workspace it is for (``team_id``, ``team``,
    ``authorizations``, ``view``) all count; the acting user's or the event's own team
    (``user.team_id``, ``event.team``) only when none of those is there, since in a
    channel shared with another organisation they name the other one.
    """
    view = _mapping(body.get("view"))
    team = body.get("team")
    found = {
        body.get("team_id"),
        team if isinstance(team, str) else _mapping(team).get("id"),
        view.get("team_id"),
        view.get("app_installed_team_id"),
        *(_mapping(each).get("team_id") for each in _list(body.get("authorizations"))),
    }
    named = {value for value in found if isinstance(value, str) and value}
    if not named:
        fallback = (
            _mapping(body.get("user")).get("team_id"),
            _mapping(body.get("event")).get("team"),
        )
        named = {value for value in fallback if isinstance(value, str) and value}
    if context.team_id:
        named.add(context.team_id)
    return named


def enterprises_named(body: Mapping[str, Any], context: BoltContext) -> set[str]:
    """Every organisation a request names for itself."""
    enterprise = body.get("enterprise")
    found = {
        body.get("enterprise_id"),
        enterprise if isinstance(enterprise, str) else _mapping(enterprise).get("id"),
        _mapping(body.get("team")).get("enterprise_id"),
        context.enterprise_id,
        *(_mapping(each).get("enterprise_id") for each in _list(body.get("authorizations"))),
    }
    return {value for value in found if isinstance(value, str) and value}


def _first_team(body: Mapping[str, Any], context: BoltContext) -> str:
    named = teams_named(body, context)
    if context.team_id in named:
        return str(context.team_id)
    return min(named) if named else (context.enterprise_id or "")


def _event_type(body: Mapping[str, Any]) -> str | None:
    if body.get("type") != "event_callback":
        return None
    kind = _mapping(body.get("event")).get("type")
    return kind if isinstance(kind, str) else None


def _printable(team: str) -> str:
    """A team id as the log shows it: its ID characters only, and not too many of them."""
    return _PRINTABLE_ID.sub("?", team[:32]) or "(none)"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
