"""``/meeting`` and the reminder's buttons, through signed requests to the running app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from handlers.errors import DATABASE_DOWN
from storage.engine import SessionFactory
from storage.models import AgendaItem, Meeting, ScheduledPost
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.handlers.database_faults import refusing_writes
from tests.slack_app_client import SlackAppClient

THURSDAY_NOON_UTC = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def meeting_command(slack: SlackAppClient, fake_slack: FakeSlack, text: str, **fields: str) -> str:
    """Type ``/meeting text`` and return the private answer, which the ack carries."""
    said_before = len(fake_slack.calls_to("response_url"))
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/meeting", **fields
    )
    assert answer.status == 200 and answer.json()["response_type"] == "ephemeral"
    assert len(fake_slack.calls_to("response_url")) == said_before  # nothing more after the ack
    return str(answer.json()["text"])


def meetings(session_factory: SessionFactory) -> list[Meeting]:
    with session_factory() as session:
        return list(session.exec(select(Meeting).order_by(Meeting.id)).all())


@pytest.fixture(autouse=True)
def thursday(clock: FakeClock, fake_slack: FakeSlack) -> None:
    clock.now = THURSDAY_NOON_UTC
    fake_slack.set_user(payloads.RATER_ID, tz="Europe/Berlin")


def test_add_stores_the_meeting_in_the_users_time_zone_and_confirms(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = meeting_command(
        slack,
        fake_slack,
        "add mon,thu 10:00 <#C0SALESMKT|sales-marketing> Pipeline and lead quality sync",
    )

    [meeting] = meetings(session_factory)
    assert (meeting.team_id, meeting.channel_id, meeting.title) == (
        payloads.TEAM_ID,
        "C0SALESMKT",
        "Pipeline and lead quality sync",
    )
    assert (meeting.weekdays, meeting.local_time, meeting.timezone) == (
        [0, 3],
        "10:00",
        "Europe/Berlin",
    )
    assert meeting.remind_minutes == 15 and meeting.created_by == payloads.RATER_ID
    assert f"Added meeting `{meeting.id}`" in answer
    monday_10_berlin = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert f"<!date^{int(monday_10_berlin.timestamp())}^" in answer


def test_add_defaults_to_this_channel_and_takes_plain_channel_names_and_remind(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    meeting_command(slack, fake_slack, "add weekly 9:30")
    meeting_command(slack, fake_slack, "add mon-fri 16:00 #general Standup --remind 30m")

    first, second = meetings(session_factory)
    assert (first.channel_id, first.weekdays, first.title) == (
        payloads.SALES_CHANNEL,
        [3],  # weekly: today's weekday in the user's zone, Thursday
        "Sales & marketing alignment",
    )
    assert (second.channel_id, second.remind_minutes) == ("C0GENERAL", 30)


def test_time_zone_falls_back_to_the_default_when_slack_cannot_say(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    fake_slack.fail_next("users.info", error="user_not_found")

    meeting_command(slack, fake_slack, "add daily 10:00")

    assert meetings(session_factory)[0].timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("add funday 10:00", "`funday` is not a list of days"),
        ("add mon 25:00", "`25:00` is not a time"),
        ("add mon", "What time?"),
        ("add", "Which days?"),
        ("add mon 10:00 #no-such-channel", "can't find the channel #no-such-channel"),
        ("add mon 10:00 --remind 3d", "not a lead time"),
        ("frobnicate", "I don't know `/meeting frobnicate`"),
        ("skip", "Which meeting?"),
    ],
)
def test_bad_input_gets_a_usage_message_and_stores_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    problem: str,
) -> None:
    answer = meeting_command(slack, fake_slack, text)

    assert problem in answer
    assert "/meeting add <days> <HH:MM>" in answer
    assert meetings(session_factory) == []


def test_list_shows_each_meeting_with_its_next_date(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    meeting_command(slack, fake_slack, "add mon,thu 10:00 Pipeline sync")
    meeting_command(slack, fake_slack, "add biweekly tue 14:00 #general Campaign review")

    answer = meeting_command(slack, fake_slack, "list")

    assert "`1` *Pipeline sync* in <#CSALES>" in answer
    assert "Mon, Thu at 10:00 (Europe/Berlin)" in answer
    assert "Every other Tue at 14:00 (Europe/Berlin)" in answer
    assert answer.count("next <!date^") == 2


def test_skip_pause_resume_and_remove_change_the_meeting(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    meeting_command(slack, fake_slack, "add mon,thu 10:00 Pipeline sync")

    skipped = meeting_command(slack, fake_slack, "skip 1")
    paused = meeting_command(slack, fake_slack, "pause 1")
    assert meetings(session_factory)[0].paused is True
    resumed = meeting_command(slack, fake_slack, "resume 1")
    removed = meeting_command(slack, fake_slack, "remove 1")

    monday_10_berlin = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert (
        f"Skipped meeting `1` (*Pipeline sync*) on <!date^{int(monday_10_berlin.timestamp())}"
        in skipped
    )
    assert "Paused" in paused and "Resumed" in resumed and "Removed" in removed
    assert meetings(session_factory)[0].removed is True
    assert "no meetings yet" in meeting_command(slack, fake_slack, "list").lower()
    with session_factory() as session:
        [claim] = session.exec(select(ScheduledPost)).all()
    assert (claim.status, claim.occurrence_at) == ("skipped", monday_10_berlin)


def test_only_the_creator_or_an_admin_may_change_a_meeting(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    meeting_command(slack, fake_slack, "add mon 10:00")

    answer = meeting_command(slack, fake_slack, "remove 1", user_id="USTRANGER")

    assert "Only <@URATER>" in answer
    assert meetings(session_factory)[0].removed is False


def test_another_workspaces_meeting_id_is_unknown_here(
    two_workspaces: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    meeting_command(two_workspaces, fake_slack, "add mon 10:00")

    answer = meeting_command(
        two_workspaces,
        fake_slack,
        "pause 1",
        team_id=payloads.OTHER_TEAM_ID,
        user_id=payloads.RATER_ID,
    )

    assert "There is no meeting `1` in this workspace" in answer
    assert meetings(session_factory)[0].paused is False


def posted_reminder_id(session_factory: SessionFactory, clock: FakeClock) -> int:
    """Create a meeting with a reminder already posted; return the reminder's id."""
    with session_factory() as session:
        meeting = Meeting(
            team_id=payloads.TEAM_ID,
            channel_id="CMEETINGS",
            title="Sync",
            weekdays=[0],
            anchor_date=clock().date(),
            local_time="10:00",
            timezone="UTC",
            created_by=payloads.RATER_ID,
            created_at=clock(),
            active_since=clock(),
        )
        session.add(meeting)
        session.flush()
        post = ScheduledPost(
            team_id=payloads.TEAM_ID,
            kind="meeting_reminder",
            subject_id=meeting.id or -1,
            occurrence_at=clock() + timedelta(minutes=15),
            due_at=clock(),
            status="posted",
            claimed_at=clock(),
        )
        session.add(post)
        session.commit()
        return post.id or -1


def test_snooze_button_schedules_the_reminder_again_and_says_when(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    post_id = posted_reminder_id(session_factory, clock)
    click = payloads.block_action(
        action_id="meeting_snooze", value=str(post_id), response_url=fake_slack.response_url()
    )

    slack.interact(click)
    slack.interact(click)

    first, second = (call.params["text"] for call in fake_slack.calls_to("response_url"))
    assert "Snoozed: I'll post this reminder again" in first
    assert "already snoozed" in second
    with session_factory() as session:
        snoozes = session.exec(
            select(ScheduledPost).where(ScheduledPost.kind == "meeting_snooze")
        ).all()
    assert [(s.status, s.due_at) for s in snoozes] == [("pending", clock() + timedelta(minutes=10))]


def test_snooze_from_another_workspace_or_with_a_tampered_value_changes_nothing(
    two_workspaces: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    post_id = posted_reminder_id(session_factory, clock)

    two_workspaces.interact(
        payloads.block_action(
            action_id="meeting_snooze",
            value=str(post_id),
            team_id=payloads.OTHER_TEAM_ID,
            response_url=fake_slack.response_url(),
        )
    )
    two_workspaces.interact(
        payloads.block_action(
            action_id="meeting_snooze", value="1; DROP", response_url=fake_slack.response_url()
        )
    )

    texts = [call.params["text"] for call in fake_slack.calls_to("response_url")]
    assert "can't find that reminder in this workspace" in texts[0]
    assert "not one of leadloop's reminders" in texts[1]
    with session_factory() as session:
        assert len(session.exec(select(ScheduledPost)).all()) == 1


def test_add_agenda_item_opens_a_form_and_stores_the_topic(
    two_workspaces: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    meeting_command(two_workspaces, fake_slack, "add mon 10:00 Sync")
    two_workspaces.interact(payloads.block_action(action_id="meeting_add_agenda", value="1"))
    [opened] = fake_slack.calls_to("views.open")
    assert opened.params["view"]["private_metadata"] == "1"

    empty = two_workspaces.interact(payloads.agenda_submission(meeting_id="1", text="  "))
    stored = two_workspaces.interact(payloads.agenda_submission(meeting_id="1", text="Q1 budget"))
    foreign = two_workspaces.interact(
        payloads.agenda_submission(meeting_id="1", text="x", team_id=payloads.OTHER_TEAM_ID)
    )

    assert empty.json()["errors"]["agenda_item"] == "Write the topic you want to discuss."
    assert stored.status == 200 and stored.body in (b"", b"{}")
    assert foreign.json()["errors"]["agenda_item"] == "This meeting is gone."
    with session_factory() as session:
        [item] = session.exec(select(AgendaItem)).all()
    assert (item.text, item.added_by, item.meeting_id) == ("Q1 budget", payloads.RATER_ID, 1)


def test_a_snooze_is_stored_before_slack_gets_its_answer(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack never sends an answered click again: nothing may wait in memory to be stored."""
    from handlers.deps import Deps

    deferred: list[object] = []
    monkeypatch.setattr(Deps, "after_ack", lambda self, work, **_: deferred.append(work))
    post_id = posted_reminder_id(session_factory, clock)

    answer = slack.interact(
        payloads.block_action(
            action_id="meeting_snooze", value=str(post_id), response_url=fake_slack.response_url()
        )
    )

    assert answer.status == 200
    with session_factory() as session:
        snoozes = session.exec(
            select(ScheduledPost).where(ScheduledPost.kind == "meeting_snooze")
        ).all()
    assert len(snoozes) == 1
    assert len(deferred) == 1  # only telling the clicker waits for after the answer


def stored_meetings_right_after(slack: SlackAppClient, fake_slack: FakeSlack, text: str) -> str:
    """Type ``/meeting text`` and return the ack's text without waiting for any later work."""
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/meeting", wait=False
    )
    return str(answer.json()["text"])


def test_an_added_meeting_is_stored_when_the_ack_returns(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = stored_meetings_right_after(slack, fake_slack, "add mon 10:00 Pipeline sync")

    [meeting] = meetings(session_factory)  # read straight after the HTTP answer
    assert (meeting.title, meeting.timezone) == ("Pipeline sync", "Europe/Berlin")
    assert answer.startswith(f"Added meeting `{meeting.id}`")
    slack.wait_idle()


@pytest.mark.parametrize(
    ("text", "changed"),
    [
        ("pause 1", lambda meeting, claims: meeting.paused),
        ("remove 1", lambda meeting, claims: meeting.removed),
        ("skip 1", lambda meeting, claims: [claim.status for claim in claims] == ["skipped"]),
    ],
)
def test_a_change_to_a_meeting_is_stored_when_the_ack_returns(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    changed: Callable[[Meeting, list[ScheduledPost]], bool],
) -> None:
    meeting_command(slack, fake_slack, "add mon 10:00 Pipeline sync")

    stored_meetings_right_after(slack, fake_slack, text)

    [meeting] = meetings(session_factory)  # read straight after the HTTP answer
    with session_factory() as session:
        claims = list(session.exec(select(ScheduledPost)).all())
    assert changed(meeting, claims)
    slack.wait_idle()


@pytest.mark.parametrize(
    "text", ["add mon 10:00 Pipeline sync", "pause 1", "resume 2", "remove 1", "skip 1"]
)
def test_a_database_refusing_writes_is_answered_in_the_ack_and_nothing_changes(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    meeting_command(slack, fake_slack, "add mon 10:00 Standup")
    meeting_command(slack, fake_slack, "add tue 10:00 Paused review")
    meeting_command(slack, fake_slack, "pause 2")
    before = [meeting.model_dump() for meeting in meetings(session_factory)]

    with refusing_writes(engine), caplog.at_level(logging.ERROR):
        answer = meeting_command(slack, fake_slack, text)

    assert answer == DATABASE_DOWN
    assert [meeting.model_dump() for meeting in meetings(session_factory)] == before
    with session_factory() as session:
        assert session.exec(select(ScheduledPost)).all() == []
    [logged] = [r for r in caplog.records if r.name == "handlers.meetings.command"]
    assert logged.exc_info is not None  # with its traceback
