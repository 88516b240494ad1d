"""How listeners get their ``Deps``: from each request's context, put there by one middleware."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_bolt.authorization import AuthorizeResult

from handlers.deps import Deps, provide_deps


def _authorize(**_: Any) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test", bot_id="B1")


def _app(deps: Deps, seen: list[object]) -> App:
    app = App(signing_secret="secret", authorize=_authorize, request_verification_enabled=False)

    def handle_ping(ack: Ack, deps: Deps) -> None:
        seen.append(deps)
        ack()

    provide_deps(app, deps)
    provide_deps(app, deps)  # every package's register asks; one middleware is added
    app.command("/ping")(handle_ping)
    return app


def _ping() -> BoltRequest:
    body = urlencode({"command": "/ping", "team_id": "T1", "user_id": "U1", "text": ""})
    return BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})


def test_each_app_s_listeners_get_that_app_s_deps_on_bolt_s_worker_threads() -> None:
    first_deps = cast(Deps, SimpleNamespace(name="first"))
    second_deps = cast(Deps, SimpleNamespace(name="second"))
    seen_first: list[object] = []
    seen_second: list[object] = []
    first, second = _app(first_deps, seen_first), _app(second_deps, seen_second)

    for _ in range(3):
        assert first.dispatch(_ping()).status == 200
        assert second.dispatch(_ping()).status == 200

    assert seen_first == [first_deps] * 3
    assert seen_second == [second_deps] * 3


def test_an_app_refuses_a_second_different_deps() -> None:
    app = _app(cast(Deps, SimpleNamespace()), [])

    with pytest.raises(ValueError, match="already have their Deps"):
        provide_deps(app, cast(Deps, SimpleNamespace()))
