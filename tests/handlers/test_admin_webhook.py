"""``/leadloop webhook``: admins give their workspace a lead-webhook secret of its own."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from handlers.admin.command import NOT_ADMIN
from handlers.errors import DATABASE_DOWN
from storage.engine import SessionFactory
from storage.workspaces import own_webhook_secret
from tests import slack_payloads as payloads
from tests.conftest import ServeWith
from tests.fake_slack import FakeSlack
from tests.handlers.database_faults import refusing_writes
from tests.slack_app_client import SlackAppClient

ADMIN = "UADMIN"
SECRET = re.compile(r"llwh_[0-9a-f]{64}")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One admin from ADMIN_USERS, and a deployment-wide LEAD_WEBHOOK_SECRET."""
    return dataclasses.replace(
        settings,
        admin_users=frozenset({ADMIN}),
        lead_webhook_secret=payloads.LEAD_WEBHOOK_SECRET,
    )


def leadloop(slack: SlackAppClient, fake_slack: FakeSlack, text: str, user_id: str = ADMIN) -> str:
    """Run ``/leadloop text`` and return the private answer, which the ack carries."""
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/leadloop", user_id=user_id
    )
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"
    assert fake_slack.calls_to("response_url") == []  # nothing more to say after the ack
    return str(answer.json()["text"])


def stored_secret(session_factory: SessionFactory) -> str | None:
    with session_factory() as session:
        return own_webhook_secret(session, team_id=payloads.TEAM_ID)


def test_a_new_secret_is_shown_once_stored_and_replaced_by_the_next(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    first = SECRET.findall(leadloop(slack, fake_slack, "webhook new"))
    second_answer = leadloop(slack, fake_slack, "webhook new")
    second = SECRET.findall(second_answer)

    assert len(first) == len(second) == 1
    assert first != second
    assert stored_secret(session_factory) == second[0]
    assert f"/webhooks/leads?workspace={payloads.TEAM_ID}" in second_answer
    assert "no longer works" in second_answer


def test_the_status_never_shows_the_secret_again(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    before = leadloop(slack, fake_slack, "webhook")
    leadloop(slack, fake_slack, "webhook new")
    after = leadloop(slack, fake_slack, "webhook")

    assert "uses the deployment's LEAD_WEBHOOK_SECRET" in before
    assert "has a secret of its own" in after
    assert not SECRET.search(after)


def test_default_drops_the_workspaces_own_secret(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    leadloop(slack, fake_slack, "webhook new")

    answer = leadloop(slack, fake_slack, "webhook default")

    assert stored_secret(session_factory) is None
    assert "takes the deployment's LEAD_WEBHOOK_SECRET again" in answer


def test_without_a_deployment_secret_the_webhook_is_off_until_an_admin_turns_it_on(
    serve_with: ServeWith,
    settings: Settings,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    with serve_with(dataclasses.replace(settings, lead_webhook_secret=None)) as slack:
        off = leadloop(slack, fake_slack, "webhook")
        leadloop(slack, fake_slack, "webhook new")
        off_again = leadloop(slack, fake_slack, "webhook default")

    assert "The lead webhook is off in this workspace" in off
    assert "`/leadloop webhook new` turns it on" in off
    assert "the lead webhook is off here" in off_again
    assert stored_secret(session_factory) is None


@pytest.mark.parametrize("text", ["webhook new", "webhook default", "webhook"])
def test_only_admins_see_or_change_the_webhook_secret(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, text: str
) -> None:
    answer = leadloop(slack, fake_slack, text, user_id=payloads.RATER_ID)

    assert answer == NOT_ADMIN
    assert stored_secret(session_factory) is None


def test_a_misspelt_webhook_command_says_what_it_takes_and_changes_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = leadloop(slack, fake_slack, "webhook off")

    assert answer.startswith("I don't know `/leadloop webhook off`.")
    assert stored_secret(session_factory) is None


def test_a_new_secret_is_stored_when_the_ack_that_shows_it_returns(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = slack.command(
        "webhook new",
        response_url=fake_slack.response_url(),
        command="/leadloop",
        user_id=ADMIN,
        wait=False,
    )

    shown = SECRET.findall(answer.json()["text"])
    assert [stored_secret(session_factory)] == shown  # read straight after the HTTP answer
    slack.wait_idle()


@pytest.mark.parametrize("text", ["webhook new", "webhook default"])
def test_a_database_refusing_writes_is_answered_in_the_ack_and_the_secret_stays(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    leadloop(slack, fake_slack, "webhook new")
    before = stored_secret(session_factory)

    with refusing_writes(engine), caplog.at_level(logging.ERROR):
        answer = leadloop(slack, fake_slack, text)

    assert answer == DATABASE_DOWN  # and no new secret shown that would not work
    assert before is not None and stored_secret(session_factory) == before
    [logged] = [r for r in caplog.records if r.name == "handlers.admin.command"]
    assert logged.exc_info is not None  # with its traceback
