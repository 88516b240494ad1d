"""Meeting reminders on a controllable clock: due, late, missed, once, snoozed, skipped."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import select

from bot.delivery import OutboxPump
from bot.outbox.engine import Deliverer
from bot.scheduler import claim_scheduled_posts, run_scheduled_posts
from domain.meetings.parse import AddMeeting
from domain.meetings.reminders import create_meeting, skip_next, snooze_reminder
from domain.ratings.loop import submit_rating
from domain.ratings.parse import RatingInput
from storage.engine import SessionFactory
from storage.meetings import add_agenda_item
from storage.models import Meeting, ScheduledPost
from storage.ratings import get_or_create_lead
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack

MEETING_CHANNEL = "CMEETINGS"
# Monday 2 November 2026, 09:00 in Berlin (UTC+1): the meeting is Mon/Thu 10:00 Berlin.
MONDAY_0900_BERLIN = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
MONDAY_1000_BERLIN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def add_meeting(
    session_factory: SessionFactory,
    clock: FakeClock,
    *,
    weekdays: frozenset[int] = frozenset({0, 3}),
    at: time = time(10, 0),
    remind: timedelta = timedelta(minutes=15),
    team_id: str = payloads.TEAM_ID,
) -> Meeting:
    request = AddMeeting(weekdays, 1, at, None, "Pipeline sync", remind)
    with session_factory() as session:
        meeting = create_meeting(
            session,
            team_id=team_id,
            request=request,
            channel_id=MEETING_CHANNEL,
            timezone="Europe/Berlin",
            user_id="UCREATOR",
            now=clock(),
        )
        session.commit()
    return meeting


def tick(session_factory: SessionFactory, deliverer: Deliverer, clock: FakeClock) -> int:
    return run_scheduled_posts(session_factory=session_factory, deliverer=deliverer, clock=clock)


def reminders(fake_slack: FakeSlack) -> list[dict[str, object]]:
    return [
        call.params
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params["channel"] == MEETING_CHANNEL
    ]


def claims(session_factory: SessionFactory) -> list[tuple[str, str, datetime]]:
    with session_factory() as session:
        rows = session.exec(select(ScheduledPost).order_by(ScheduledPost.id)).all()
        return [(row.kind, row.status, row.occurrence_at) for row in rows]


def test_reminder_is_posted_once_when_due_and_not_before(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)

    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=16)
    assert tick(session_factory, deliverer, clock) == 0
    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)
    assert tick(session_factory, deliverer, clock) == 1
    clock.advance(seconds=10)
    assert tick(session_factory, deliverer, clock) == 0

    [reminder] = reminders(fake_slack)
    assert "Pipeline sync" in str(reminder["blocks"])
    assert f"<!date^{int(MONDAY_1000_BERLIN.timestamp())}^" in str(reminder["blocks"])
    assert claims(session_factory) == [("meeting_reminder", "posted", MONDAY_1000_BERLIN)]


def test_agenda_lists_low_campaigns_unanswered_ratings_and_added_items(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN - timedelta(days=3)
    meeting = add_meeting(session_factory, clock)
    with session_factory() as session:
        for ref, campaign, score in [
            ("A-1", "Webinar", 1),
            ("A-2", "Webinar", 2),
            ("B-1", "Ads", 4),
        ]:
            lead = get_or_create_lead(
                session, team_id=payloads.TEAM_ID, external_ref=ref, now=clock()
            )
            lead.campaign = campaign
            submit_rating(
                session,
                team_id=payloads.TEAM_ID,
                rater_id=payloads.RATER_ID,
                rating=RatingInput(ref, score),
                via="command",
                origin_channel=None,
                now=clock(),
            )
        add_agenda_item(
            session,
            team_id=payloads.TEAM_ID,
            meeting_id=meeting.id or -1,
            text="Q1 budget",
            added_by="UADDER",
            now=clock(),
        )
        session.commit()
    deliverer.deliver_due()  # the three ratings are posted to the feedback channel

    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)
    tick(session_factory, deliverer, clock)

    [reminder] = reminders(fake_slack)
    agenda = str(reminder["blocks"])
    assert agenda.index("Webinar: 1.5 average over 2 rating(s)") < agenda.index("Ads: 4.0")
    assert "3 rating(s) still wait for marketing's answer" in agenda
    assert "A-1 rated 1/5" in agenda and "https://test.slack.com/archives/" in agenda
    assert "Q1 budget" in agenda and "<@UADDER>" in agenda

    clock.now = MONDAY_1000_BERLIN + timedelta(days=3) - timedelta(minutes=15)
    tick(session_factory, deliverer, clock)
    assert "Q1 budget" not in str(reminders(fake_slack)[1]["blocks"])  # shown once


def test_reminder_missed_by_less_than_its_lead_time_is_posted_late(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)

    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=5)  # down from 09:44 to 09:55
    assert tick(session_factory, deliverer, clock) == 1

    [reminder] = reminders(fake_slack)
    assert "This reminder is late" in str(reminder["blocks"])
    assert claims(session_factory) == [("meeting_reminder", "late", MONDAY_1000_BERLIN)]


def test_occurrences_that_started_while_down_are_recorded_missed_not_posted(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)

    clock.now = MONDAY_1000_BERLIN + timedelta(days=3, hours=2)  # back on Thursday noon
    assert tick(session_factory, deliverer, clock) == 0

    assert reminders(fake_slack) == []
    thursday = MONDAY_1000_BERLIN + timedelta(days=3)
    assert claims(session_factory) == [
        ("meeting_reminder", "missed", MONDAY_1000_BERLIN),
        ("meeting_reminder", "missed", thursday),
    ]


def test_restart_neither_loses_nor_doubles_a_reminder(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)
    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)
    tick(session_factory, deliverer, clock)

    # A new process: new deliverer, nothing in memory, same database.
    restarted = Deliverer(
        session_factory=session_factory,
        clients=deliverer.clients,
        clock=clock,
        defaults=deliverer.defaults,
    )
    clock.advance(minutes=1)
    assert tick(session_factory, restarted, clock) == 0
    clock.now = MONDAY_1000_BERLIN + timedelta(days=3) - timedelta(minutes=15)
    assert tick(session_factory, restarted, clock) == 1

    assert len(reminders(fake_slack)) == 2


def test_reminder_that_slack_refuses_is_retried_from_the_outbox_not_lost(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)
    fake_slack.fail_next("chat.postMessage", status=500, times=3)

    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)
    assert tick(session_factory, deliverer, clock) == 0
    clock.advance(minutes=1)
    assert deliverer.deliver_due() == 1

    assert len(reminders(fake_slack)) == 4  # three refused attempts, then the post
    assert tick(session_factory, deliverer, clock) == 0


def test_skip_suppresses_the_next_occurrence_only(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    meeting = add_meeting(session_factory, clock)
    with session_factory() as session:
        skipped = skip_next(session, meeting, now=clock())
        session.commit()
    assert skipped is not None
    assert skipped.skipped == MONDAY_1000_BERLIN
    assert skipped.following == MONDAY_1000_BERLIN + timedelta(days=3)

    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)
    assert tick(session_factory, deliverer, clock) == 0
    clock.now = MONDAY_1000_BERLIN + timedelta(days=3) - timedelta(minutes=15)
    assert tick(session_factory, deliverer, clock) == 1


def test_snoozed_reminder_comes_back_once_ten_minutes_later(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)
    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)
    tick(session_factory, deliverer, clock)
    with session_factory() as session:
        post_id = session.exec(select(ScheduledPost.id)).one()
        first = snooze_reminder(session, team_id=payloads.TEAM_ID, post_id=post_id, now=clock())
        second = snooze_reminder(session, team_id=payloads.TEAM_ID, post_id=post_id, now=clock())
        other = snooze_reminder(
            session, team_id=payloads.OTHER_TEAM_ID, post_id=post_id, now=clock()
        )
        session.commit()
    assert first is not None and first.due_at == clock() + timedelta(minutes=10)
    assert second is not None and second.due_at is None
    assert other is None

    clock.advance(minutes=9)
    assert tick(session_factory, deliverer, clock) == 0
    clock.advance(minutes=1)
    assert tick(session_factory, deliverer, clock) == 1
    clock.advance(minutes=1)
    assert tick(session_factory, deliverer, clock) == 0

    snoozed = reminders(fake_slack)[1]
    assert "Snoozed reminder" in str(snoozed["blocks"])


def test_paused_and_removed_meetings_get_no_reminders(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    paused = add_meeting(session_factory, clock)
    removed = add_meeting(session_factory, clock, at=time(11, 0))
    with session_factory() as session:
        for meeting, field in ((paused, "paused"), (removed, "removed")):
            row = session.get(Meeting, meeting.id)
            assert row is not None
            setattr(row, field, True)
            session.add(row)
        session.commit()

    clock.now = MONDAY_1000_BERLIN + timedelta(minutes=59)
    assert tick(session_factory, deliverer, clock) == 0
    assert reminders(fake_slack) == []


def test_the_scheduler_tick_only_claims_and_leaves_the_post_to_the_outbox_pump(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN
    add_meeting(session_factory, clock)
    clock.now = MONDAY_1000_BERLIN - timedelta(minutes=15)

    owed = claim_scheduled_posts(
        session_factory=session_factory, defaults=deliverer.defaults, clock=clock
    )

    assert len(owed) == 1 and reminders(fake_slack) == []  # owed, not sent
    assert OutboxPump(deliverer).drain() == 1
    assert len(reminders(fake_slack)) == 1
    assert (
        claim_scheduled_posts(
            session_factory=session_factory, defaults=deliverer.defaults, clock=clock
        )
        == []
    )
