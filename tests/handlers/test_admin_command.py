"""``/leadloop role``: admins give roles; others are refused."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from domain.admin.parse import ListRoles, SetRole, parse_admin_command
from domain.parsing import UsageError
from handlers.errors import DATABASE_DOWN
from storage.engine import SessionFactory
from storage.roles import roles_given
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.handlers.database_faults import refusing_writes
from tests.slack_app_client import SlackAppClient

ADMIN = "UADMIN"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One admin from ADMIN_USERS."""
    return dataclasses.replace(settings, admin_users=frozenset({ADMIN}))


def admin_command(slack: SlackAppClient, fake_slack: FakeSlack, text: str, **fields: str) -> str:
    """Type ``/leadloop text`` and return the private answer, which the ack carries."""
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/leadloop", **fields
    )
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"
    assert fake_slack.calls_to("response_url") == []  # nothing more to say after the ack
    return str(answer.json()["text"])


def test_an_admin_gives_and_takes_roles(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    given = admin_command(slack, fake_slack, "role <@UMKT1|fay> marketing", user_id=ADMIN)
    again = admin_command(slack, fake_slack, "role <@UMKT1|fay> marketing", user_id=ADMIN)
    listed = admin_command(slack, fake_slack, "roles", user_id=ADMIN)

    assert "<@UMKT1> now has the marketing role" in given
    assert "already has the marketing role" in again
    assert "<@UMKT1>: marketing" in listed
    taken = admin_command(slack, fake_slack, "role <@UMKT1> none", user_id=ADMIN)
    assert "Took away 1 role(s)" in taken
    with session_factory() as session:
        assert roles_given(session, team_id=payloads.TEAM_ID, user_id="UMKT1") == set()


def test_an_admin_given_by_command_can_give_roles_too(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    admin_command(slack, fake_slack, "role <@UDEPUTY> admin", user_id=ADMIN)

    answer = admin_command(slack, fake_slack, "role <@UREP1> sales", user_id="UDEPUTY")

    assert "now has the sales role" in answer


def test_non_admins_are_refused_and_nothing_changes(
    two_workspaces: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = admin_command(two_workspaces, fake_slack, "role <@UREP1> admin", user_id="UREP1")
    foreign = admin_command(
        two_workspaces,
        fake_slack,
        "role <@UREP1> admin",
        user_id=ADMIN,
        team_id=payloads.OTHER_TEAM_ID,
    )

    assert "Only leadloop admins" in answer
    assert "now has the admin role" in foreign  # ADMIN_USERS apply in every workspace
    with session_factory() as session:
        assert roles_given(session, team_id=payloads.TEAM_ID, user_id="UREP1") == set()
        assert roles_given(session, team_id=payloads.OTHER_TEAM_ID, user_id="UREP1") == {"admin"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("role <@U123|x> marketing", SetRole("U123", "marketing")),
        ("role U123 none", SetRole("U123", None)),
        ("ROLES", ListRoles()),
        ("role <@U123> boss", UsageError("Roles are sales, marketing, admin or none.")),
        (
            "role bob sales",
            UsageError("Mention the person with @ (pick them from Slack's list)."),
        ),
        (
            "role <@U1>",
            UsageError("Write `/leadloop role @person sales|marketing|admin|none`."),
        ),
    ],
)
def test_admin_command_parser(text: str, expected: object) -> None:
    assert parse_admin_command(text) == expected


def test_bad_admin_input_gets_usage(slack: SlackAppClient, fake_slack: FakeSlack) -> None:
    answer = admin_command(slack, fake_slack, "frobnicate", user_id=ADMIN)

    assert "I don't know `/leadloop frobnicate`" in answer and "/leadloop role @person" in answer


def test_a_role_is_stored_when_the_ack_returns(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = slack.command(
        "role <@UMKT1|fay> marketing",
        response_url=fake_slack.response_url(),
        command="/leadloop",
        user_id=ADMIN,
        wait=False,
    )

    with session_factory() as session:  # read straight after the HTTP answer
        assert roles_given(session, team_id=payloads.TEAM_ID, user_id="UMKT1") == {"marketing"}
    assert "<@UMKT1> now has the marketing role" in answer.json()["text"]
    slack.wait_idle()


@pytest.mark.parametrize("text", ["role <@UMKT1> sales", "role <@UMKT1> none"])
def test_a_database_refusing_writes_is_answered_in_the_ack_and_no_role_changes(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    admin_command(slack, fake_slack, "role <@UMKT1> marketing", user_id=ADMIN)

    with refusing_writes(engine), caplog.at_level(logging.ERROR):
        answer = admin_command(slack, fake_slack, text, user_id=ADMIN)

    assert answer == DATABASE_DOWN
    with session_factory() as session:
        assert roles_given(session, team_id=payloads.TEAM_ID, user_id="UMKT1") == {"marketing"}
    [logged] = [r for r in caplog.records if r.name == "handlers.admin.command"]
    assert logged.exc_info is not None  # with its traceback
