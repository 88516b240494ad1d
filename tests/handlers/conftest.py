"""Fixtures for listeners that must keep two workspaces apart.

With one bot token, leadloop serves that token's workspace alone and refuses every other
before a listener runs (bot/workspace_gate.py). So a test of what a listener lets one
workspace see or change of another's serves the app as an OAuth install does, with both
``payloads.TEAM_ID`` and ``payloads.OTHER_TEAM_ID`` installed, each with its own token.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine

from bot.config import Settings
from bot.installs import Installations
from bot.slack_client import build_web_client
from storage.engine import SessionFactory, database_answers
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith, SleepRecorder, serve_app
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient

CLIENT_ID = "1234567890.5566778899"
CLIENT_SECRET = "two-workspaces-client-secret"
BOTH_TEAMS = (payloads.TEAM_ID, payloads.OTHER_TEAM_ID)


def install_directly(installations: Installations, fake_slack: FakeSlack, team_id: str) -> str:
    """Store ``team_id``'s installation as the OAuth flow would; Slack knows its token."""
    token = f"xoxb-{team_id}-installed"
    fake_slack.installed_tokens[token] = {
        "team_id": team_id,
        "team_name": team_id,
        "installer_id": "UINSTALLER",
        "token": token,
    }
    installations.store.save(
        Installation(
            app_id="A0LEADLOOP",
            team_id=team_id,
            team_name=team_id,
            bot_token=token,
            bot_id=f"B{team_id}",
            bot_user_id=f"UBOT{team_id}",
            user_id="UINSTALLER",
        )
    )
    return token


@pytest.fixture
def serve_two_workspaces(
    engine: Engine,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_slack: FakeSlack,
    sleeps: SleepRecorder,
) -> ServeWith:
    """Serve the app with these settings to both test workspaces, each installed."""

    @contextmanager
    def serve(settings: Settings, **options: Any) -> Iterator[SlackAppClient]:
        oauth = replace(
            settings,
            slack_bot_token=None,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
        )
        installations = Installations.on(engine, oauth)
        assert installations is not None
        for team_id in BOTH_TEAMS:
            if installations.store.find_bot(enterprise_id=None, team_id=team_id) is None:
                install_directly(installations, fake_slack, team_id)
        client = build_web_client(token=None, base_url=oauth.slack_api_url, sleep=sleeps)
        with serve_app(
            oauth,
            session_factory=session_factory,
            client=client,
            clock=clock,
            is_healthy=lambda: database_answers(engine),
            installations=installations,
            **options,
        ) as app:
            yield app

    return serve


@pytest.fixture
def two_workspaces(settings: Settings, serve_two_workspaces: ServeWith) -> Iterator[SlackAppClient]:
    """The real app behind the real HTTP server, serving both test workspaces."""
    with serve_two_workspaces(settings) as client:
        yield client
