"""``/leadloop settings``: admins see and change this workspace's settings over signed HTTP."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.config import Settings
from handlers.errors import DATABASE_DOWN
from storage import outbox
from storage.engine import SessionFactory
from storage.models import OutboxMessage, Rating, Workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith
from tests.fake_slack import FakeSlack
from tests.handlers.database_faults import refusing_writes
from tests.slack_app_client import SlackAppClient

ADMIN = "UADMIN"
NEW_CHANNEL = "C0LEADS"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One admin from ADMIN_USERS."""
    return dataclasses.replace(settings, admin_users=frozenset({ADMIN}))


@pytest.fixture
def unconfigured_slack(
    settings: Settings, serve_two_workspaces: ServeWith
) -> Iterator[SlackAppClient]:
    """The app with no FEEDBACK_CHANNEL, as an OAuth install starts out, in two workspaces."""
    with serve_two_workspaces(dataclasses.replace(settings, feedback_channel=None)) as client:
        yield client


@pytest.fixture
def fake_slack(fake_slack: FakeSlack) -> FakeSlack:
    """The fake Slack, with a #lead-feedback channel for ``#name`` lookups."""
    fake_slack.channels[NEW_CHANNEL] = "lead-feedback"
    return fake_slack


def leadloop(slack: SlackAppClient, fake_slack: FakeSlack, text: str, **fields: str) -> str:
    """Run ``/leadloop text`` and return the private answer, which the ack carries."""
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/leadloop", **fields
    )
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"
    assert fake_slack.calls_to("response_url") == []  # nothing more to say after the ack
    return str(answer.json()["text"])


def rate(slack: SlackAppClient, fake_slack: FakeSlack, text: str, **fields: str) -> str:
    """Rate a lead with ``/rate-lead``; the confirmation its ack carries."""
    answer = slack.command(text, response_url=fake_slack.response_url(), **fields)
    return str(answer.json()["text"])


def workspace(session_factory: SessionFactory, team_id: str = payloads.TEAM_ID) -> Workspace | None:
    with session_factory() as session:
        return session.get(Workspace, team_id)


def chosen(session_factory: SessionFactory, team_id: str = payloads.TEAM_ID) -> dict[str, object]:
    """The settings the workspace's admins chose (None: the environment's value)."""
    row = workspace(session_factory, team_id)
    columns = ("feedback_channel", "report_channel", "handoff_channel", "timezone")
    columns += ("sales_usergroup", "marketing_usergroup")
    return {column: getattr(row, column) if row else None for column in columns}


def posts_to(fake_slack: FakeSlack) -> list[str]:
    """The channel of every chat.postMessage, in order."""
    return [str(call.params["channel"]) for call in fake_slack.calls_to("chat.postMessage")]


def ratings(session_factory: SessionFactory) -> list[Rating]:
    with session_factory() as session:
        return list(session.exec(select(Rating).order_by(Rating.id)).all())


def outbox_rows(session_factory: SessionFactory) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


@pytest.mark.parametrize(
    ("text", "column", "stored", "shown"),
    [
        ("feedback <#C0LEADS|lead-feedback>", "feedback_channel", NEW_CHANNEL, "<#C0LEADS>"),
        ("report #lead-feedback", "report_channel", NEW_CHANNEL, "<#C0LEADS>"),
        ("handoff C0HANDOFF", "handoff_channel", "C0HANDOFF", "<#C0HANDOFF>"),
        ("timezone europe/berlin", "timezone", "Europe/Berlin", "Europe/Berlin"),
        ("sales <!subteam^S0SALES|@sales>", "sales_usergroup", "S0SALES", "<!subteam^S0SALES>"),
        ("marketing <!subteam^S0MKT|@mkt>", "marketing_usergroup", "S0MKT", "<!subteam^S0MKT>"),
    ],
)
def test_an_admin_sets_each_kind_of_setting(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    column: str,
    stored: str,
    shown: str,
) -> None:
    answer = leadloop(slack, fake_slack, f"settings {text}", user_id=ADMIN)
    listed = leadloop(slack, fake_slack, "settings", user_id=ADMIN)

    name = text.split()[0]
    assert f"`{name}` is now {shown} in this workspace" in answer
    assert chosen(session_factory) == {
        other: stored if other == column else None for other in chosen(session_factory)
    }
    assert f"• `{name}` (" in listed and f"): {shown}, set here" in listed
    assert listed.count("set here") == 1


def test_the_settings_list_says_where_each_value_comes_from_and_how_to_change_it(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    listed = leadloop(slack, fake_slack, "settings", user_id=ADMIN)

    assert listed.startswith("*Settings in this workspace*")
    assert f"<#{payloads.FEEDBACK_CHANNEL}>, the environment's default" in listed
    assert "• `timezone` (the time zone of KPI weeks and the weekly report): UTC, the env" in listed
    assert "• `report` (where the weekly KPI report is posted): not set (no weekly report" in listed
    assert "`/leadloop settings <name> <value>`" in listed
    assert "`/leadloop settings <name> default`" in listed


def test_a_rating_after_settings_feedback_is_posted_to_the_new_channel(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    leadloop(slack, fake_slack, "settings feedback #lead-feedback", user_id=ADMIN)

    rate(slack, fake_slack, "ACME-1042 2 wrong industry")

    assert posts_to(fake_slack) == [NEW_CHANNEL]
    [rating] = ratings(session_factory)
    assert rating.post_channel == NEW_CHANNEL


def test_a_rating_kept_while_no_feedback_channel_was_set_is_posted_once_an_admin_sets_it(
    unconfigured_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    confirmation = rate(unconfigured_slack, fake_slack, "ACME-1 4 ready to buy")
    rate(unconfigured_slack, fake_slack, "OTHER-1 3", team_id=payloads.OTHER_TEAM_ID)
    assert posts_to(fake_slack) == []
    assert "as soon as an admin picks the feedback channel" in confirmation
    listed = leadloop(unconfigured_slack, fake_slack, "settings", user_id=ADMIN)
    assert "not set (ratings are kept until it is set)" in listed
    clock.advance(seconds=10)  # still inside the first back-off of 30 seconds

    answer = leadloop(
        unconfigured_slack, fake_slack, "settings feedback <#C0LEADS|lead-feedback>", user_id=ADMIN
    )

    assert "1 post(s) that were waiting are being sent now" in answer
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == NEW_CHANNEL and "ACME-1" in post.params["text"]
    ours, theirs = ratings(session_factory)
    assert (ours.post_channel, theirs.post_channel) == (NEW_CHANNEL, None)
    sent, waiting = outbox_rows(session_factory)
    assert sent.status == outbox.SENT
    assert waiting.status == outbox.PENDING and waiting.next_attempt_at > clock()


def test_non_admins_are_refused_and_nothing_changes(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answers = [
        leadloop(slack, fake_slack, text, user_id=payloads.RATER_ID)
        for text in (
            "settings",
            "settings feedback #lead-feedback",
            "settings timezone Europe/Berlin",
            "settings sales <!subteam^S0SALES|@sales>",
            "settings feedback default",
        )
    ]

    assert all(answer.startswith("Only leadloop admins can do that") for answer in answers)
    assert workspace(session_factory) is None
    assert fake_slack.calls_to("conversations.list") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("settings colour blue", "There is no setting `colour`."),
        ("settings feedback", "What should feedback be?"),
        ("settings feedback lead-feedback", "`lead-feedback` is not a channel I can use."),
        ("settings feedback #no-such-channel", "I can't find the channel #no-such-channel."),
        ("settings timezone Mars/Olympus", "`Mars/Olympus` is not a time zone I know."),
        ("settings sales @sales", "`@sales` is not a user group."),
        ("settings marketing <@UMKT1|fay>", "`<@UMKT1|fay>` is not a user group."),
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    text: str,
    problem: str,
) -> None:
    leadloop(slack, fake_slack, "settings timezone Asia/Tokyo", user_id=ADMIN)
    before = workspace(session_factory)
    clock.advance(minutes=1)

    answer = leadloop(slack, fake_slack, text, user_id=ADMIN)

    assert answer.startswith(problem)
    assert "`/leadloop settings <name> default`" in answer  # the usage follows
    after = workspace(session_factory)
    assert before is not None and after is not None
    assert after.model_dump() == before.model_dump()


def test_a_setting_only_changes_its_own_workspace(
    two_workspaces: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    leadloop(
        two_workspaces,
        fake_slack,
        "settings feedback <#C0OTHER|their-feedback>",
        user_id=ADMIN,
        team_id=payloads.OTHER_TEAM_ID,
    )
    leadloop(two_workspaces, fake_slack, "settings timezone Asia/Tokyo", user_id=ADMIN)

    rate(two_workspaces, fake_slack, "ACME-1 4")
    rate(two_workspaces, fake_slack, "OTHER-1 3", team_id=payloads.OTHER_TEAM_ID)

    assert posts_to(fake_slack) == [payloads.FEEDBACK_CHANNEL, "C0OTHER"]
    assert chosen(session_factory)["feedback_channel"] is None
    assert chosen(session_factory, payloads.OTHER_TEAM_ID)["timezone"] is None
    ours = leadloop(two_workspaces, fake_slack, "settings", user_id=ADMIN)
    theirs = leadloop(
        two_workspaces, fake_slack, "settings", user_id=ADMIN, team_id=payloads.OTHER_TEAM_ID
    )
    assert f"<#{payloads.FEEDBACK_CHANNEL}>, the environment's default" in ours
    assert "<#C0OTHER>, set here" in theirs and "UTC, the environment's default" in theirs


def test_default_goes_back_to_the_environments_value(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    leadloop(slack, fake_slack, "settings feedback #lead-feedback", user_id=ADMIN)
    leadloop(slack, fake_slack, "settings handoff C0HANDOFF", user_id=ADMIN)

    feedback = leadloop(slack, fake_slack, "settings feedback default", user_id=ADMIN)
    handoff = leadloop(slack, fake_slack, "settings handoff DEFAULT", user_id=ADMIN)
    rate(slack, fake_slack, "ACME-1 4")

    assert feedback == (
        f"`feedback` is back to the environment's default: <#{payloads.FEEDBACK_CHANNEL}>."
    )
    assert handoff.startswith("`handoff` is back to the environment's default: not set (")
    assert chosen(session_factory)["feedback_channel"] is None
    assert chosen(session_factory)["handoff_channel"] is None
    assert posts_to(fake_slack) == [payloads.FEEDBACK_CHANNEL]
    listed = leadloop(slack, fake_slack, "settings", user_id=ADMIN)
    assert "set here" not in listed


def test_help_lists_the_settings_forms(slack: SlackAppClient, fake_slack: FakeSlack) -> None:
    answer = leadloop(slack, fake_slack, "help", user_id=payloads.RATER_ID)

    assert "`/leadloop settings feedback|report|handoff #channel`" in answer
    assert "`/leadloop settings timezone Europe/Berlin`" in answer


def test_a_setting_and_the_posts_it_lets_out_are_stored_when_the_ack_returns(
    unconfigured_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    rate(unconfigured_slack, fake_slack, "ACME-1 4 ready to buy")
    clock.advance(seconds=10)  # still inside the first back-off of 30 seconds

    answer = unconfigured_slack.command(
        "settings feedback <#C0LEADS|lead-feedback>",
        response_url=fake_slack.response_url(),
        command="/leadloop",
        user_id=ADMIN,
        wait=False,
    )

    # Read straight after the HTTP answer, without waiting for any work after the ack.
    assert chosen(session_factory)["feedback_channel"] == NEW_CHANNEL
    [owed] = outbox_rows(session_factory)
    assert owed.status == outbox.SENT or owed.next_attempt_at <= clock()  # due now
    assert "1 post(s) that were waiting are being sent now" in answer.json()["text"]
    unconfigured_slack.wait_idle()
    assert posts_to(fake_slack) == [NEW_CHANNEL]


@pytest.mark.parametrize(
    "refused",
    [
        ("INSERT", "UPDATE", "DELETE"),
        ("UPDATE OUTBOX_MESSAGE",),  # the setting is written; making posts due fails
    ],
)
def test_a_database_refusing_writes_is_answered_in_the_ack_and_nothing_changes(
    unconfigured_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    refused: tuple[str, ...],
) -> None:
    leadloop(unconfigured_slack, fake_slack, "settings timezone Asia/Tokyo", user_id=ADMIN)
    rate(unconfigured_slack, fake_slack, "ACME-1 4 ready to buy")
    before = workspace(session_factory)
    [owed_before] = outbox_rows(session_factory)
    clock.advance(seconds=10)

    with refusing_writes(engine, writes=refused), caplog.at_level(logging.ERROR):
        answer = leadloop(
            unconfigured_slack, fake_slack, "settings feedback #lead-feedback", user_id=ADMIN
        )

    assert answer == DATABASE_DOWN
    after = workspace(session_factory)
    assert before is not None and after is not None
    assert after.model_dump() == before.model_dump()
    assert [row.model_dump() for row in outbox_rows(session_factory)] == [owed_before.model_dump()]
    assert posts_to(fake_slack) == []
    [logged] = [r for r in caplog.records if r.name == "handlers.admin.command"]
    assert logged.exc_info is not None  # with its traceback
