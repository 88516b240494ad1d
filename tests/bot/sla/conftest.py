"""The workspace of the answer-time tests: Berlin, an admin, and a marketing user group
whose member is the marketer who answers."""

from __future__ import annotations

import dataclasses

import pytest

from bot.config import Settings
from tests import slack_payloads as payloads
from tests.bot.sla.workspace import ADMIN, MARKETING_GROUP
from tests.fake_slack import FakeSlack


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        timezone="Europe/Berlin",
        admin_users=frozenset({ADMIN}),
        marketing_usergroup=MARKETING_GROUP,
    )


@pytest.fixture
def fake_slack(fake_slack: FakeSlack) -> FakeSlack:
    """The marketer who answers is in the marketing user group."""
    fake_slack.usergroups[MARKETING_GROUP] = [payloads.MARKETER_ID]
    return fake_slack
