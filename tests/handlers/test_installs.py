"""Uninstalls: ``app_uninstalled`` and ``tokens_revoked`` are stored before Slack's 200.

Slack sends neither event again once it got a 200, and Bolt sends that 200 before any
listener runs; a 500 asks Slack to send the event again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from bot.installs import Installations
from storage.engine import SessionFactory
from storage.models import Workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.handlers.test_thread_replies import HeldWork, failing_at
from tests.slack_app_client import SlackAppClient

TEAM = payloads.TEAM_ID


def uninstalled(event_id: str = "EvUninstall", team_id: str = TEAM) -> dict[str, Any]:
    return payloads.event_callback(
        {"type": "app_uninstalled", "event_ts": "1700000000.000100"},
        event_id=event_id,
        team_id=team_id,
    )


def revoked(*, bot: bool, event_id: str = "EvRevoked", team_id: str = TEAM) -> dict[str, Any]:
    tokens: dict[str, list[str]] = {"oauth": ["UINSTALLER"]}
    if bot:
        tokens["bot"] = [f"UBOT{team_id}"]
    return payloads.event_callback(
        {"type": "tokens_revoked", "tokens": tokens}, event_id=event_id, team_id=team_id
    )


def uninstalled_at(session_factory: SessionFactory, team_id: str = TEAM) -> object:
    with session_factory() as session:
        workspace = session.get(Workspace, team_id)
        return None if workspace is None else workspace.uninstalled_at


def held_app(
    settings: Settings,
    session_factory: SessionFactory,
    client: WebClient,
    clock: FakeClock,
    installations: Installations | None = None,
) -> tuple[App, HeldWork]:
    """The app with pools that run nothing: Bolt's listeners and the work after the ack."""
    pool = HeldWork()
    app = create_app(
        settings,
        session_factory=session_factory,
        client=client,
        clock=clock,
        listener_executor=pool,
        work_executor=pool,
        installations=installations,
    )
    return app, pool


def dispatch(app: App, envelope: dict[str, Any]) -> int:
    """Hand a signed event to Bolt as the HTTP server does; Bolt's answer's status."""
    body = json.dumps(envelope)
    headers = payloads.signed_headers(body, content_type="application/json")
    return app.dispatch(BoltRequest(body=body, headers=dict(headers))).status


@pytest.mark.parametrize(
    "envelope", [uninstalled(), revoked(bot=True)], ids=["app_uninstalled", "tokens_revoked"]
)
def test_the_workspace_is_stopped_before_bolt_answers_and_nothing_is_left_for_after_it(
    settings: Settings,
    session_factory: SessionFactory,
    web_client: WebClient,
    clock: FakeClock,
    envelope: dict[str, Any],
) -> None:
    app, pool = held_app(settings, session_factory, web_client, clock)

    assert dispatch(app, envelope) == 200

    assert uninstalled_at(session_factory) == clock.now
    # Listeners run in the request (process_before_response), and none leaves work for later.
    assert pool.held == []


def test_revoking_only_user_tokens_leaves_the_workspace_running(
    slack: SlackAppClient, session_factory: SessionFactory
) -> None:
    answer = slack.event(revoked(bot=False))

    assert answer.status == 200
    assert uninstalled_at(session_factory) is None


def test_an_uninstall_is_stored_when_the_200_comes_back(
    slack: SlackAppClient, session_factory: SessionFactory, clock: FakeClock
) -> None:
    body = json.dumps(uninstalled())
    answer = slack.post_signed(body, content_type="application/json", wait=False)

    assert answer.status == 200
    assert uninstalled_at(session_factory) == clock.now


@pytest.mark.parametrize(
    "envelope", [uninstalled(), revoked(bot=True)], ids=["app_uninstalled", "tokens_revoked"]
)
def test_an_uninstall_the_database_refuses_gets_a_500_and_its_retry_is_stored(
    slack: SlackAppClient,
    session_factory: SessionFactory,
    engine: Engine,
    clock: FakeClock,
    envelope: dict[str, Any],
) -> None:
    with failing_at(engine, "INSERT INTO workspace"):
        refused = slack.event(envelope)

    assert refused.status == 500
    assert uninstalled_at(session_factory) is None

    assert slack.event(envelope, retry_num=1).status == 200
    stopped_at = clock.now
    clock.advance(minutes=1)
    assert slack.event(envelope, retry_num=2).status == 200  # as if the 200 got lost

    assert uninstalled_at(session_factory) == stopped_at


@pytest.fixture
def oauth_settings(settings: Settings) -> Settings:
    return replace(
        settings,
        slack_bot_token=None,
        feedback_channel=None,
        slack_client_id="1234567890.9876543210",
        slack_client_secret="oauth-client-secret-for-tests",
    )


@pytest.fixture
def installations(engine: Engine, oauth_settings: Settings) -> Installations:
    found = Installations.on(engine, oauth_settings)
    assert found is not None
    found.store.save(
        Installation(
            app_id="A0LEADLOOP",
            team_id=TEAM,
            bot_token=f"xoxb-{TEAM}-1",
            bot_id="B0LEADLOOP",
            bot_user_id=f"UBOT{TEAM}",
            bot_scopes="commands,chat:write",
            user_id="UINSTALLER",
        )
    )
    return found


def bot_token_kept(installations: Installations) -> bool:
    return installations.store.find_bot(enterprise_id=None, team_id=TEAM) is not None


@pytest.mark.parametrize(
    "envelope", [uninstalled(), revoked(bot=True)], ids=["app_uninstalled", "tokens_revoked"]
)
def test_in_oauth_mode_the_token_is_forgotten_before_bolt_answers(
    oauth_settings: Settings,
    session_factory: SessionFactory,
    clock: FakeClock,
    installations: Installations,
    engine: Engine,
    envelope: dict[str, Any],
) -> None:
    client = WebClient(base_url=oauth_settings.slack_api_url, retry_handlers=[])
    app, _ = held_app(oauth_settings, session_factory, client, clock, installations)
    assert bot_token_kept(installations)

    with failing_at(engine, "DELETE FROM slack_"):
        refused = dispatch(app, envelope)

    assert refused == 500
    assert bot_token_kept(installations)
    assert uninstalled_at(session_factory) is None

    assert dispatch(app, envelope) == 200  # Slack's retry

    assert not bot_token_kept(installations)
    assert uninstalled_at(session_factory) == clock.now
