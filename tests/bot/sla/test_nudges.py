"""Answer SLAs, through signed requests and the simulated clock: nudges and escalations.

A rating is stored through a signed ``/rate-lead`` and posted; the scheduler's tick
(``run_scheduled_posts``: claim, then send) runs at chosen instants. Berlin business hours
(Mon-Fri 09:00-18:00) and the default 4-hour SLA unless a test sets others.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.delivery import OutboxPump
from bot.outbox.engine import Deliverer
from bot.scheduler import claim_scheduled_posts, run_scheduled_posts
from storage.engine import SessionFactory, create_db_engine, make_session_factory
from storage.models import CampaignOwner, OutboxMessage, Rating, ScheduledPost, Workspace
from storage.ratings import get_or_create_lead
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.bot.sla.workspace import MARKETING_GROUP, MARKETING_LEAD, berlin, leadloop, rate
from tests.bot.test_meeting_reminders import MEETING_CHANNEL, add_meeting
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient


@pytest.fixture(autouse=True)
def recorded_workspace(session_factory: SessionFactory) -> None:
    """The workspace as ``leadloop run`` records it when it starts (in October)."""
    with session_factory() as session:
        record_workspace(
            session,
            team_id=payloads.TEAM_ID,
            team_name="Test",
            bot_user_id="UBOT",
            now=datetime(2026, 10, 1, tzinfo=UTC),
        )
        session.commit()


def tick(session_factory: SessionFactory, deliverer: Deliverer, clock: FakeClock) -> int:
    return run_scheduled_posts(session_factory=session_factory, deliverer=deliverer, clock=clock)


def nudges(fake_slack: FakeSlack) -> list[dict[str, Any]]:
    return [
        call.params
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params.get("thread_ts") and "agreed answer time" in str(call.params["blocks"])
    ]


def escalations(fake_slack: FakeSlack) -> list[dict[str, Any]]:
    return [
        call.params
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params.get("channel") == MARKETING_LEAD
    ]


def answer(slack: SlackAppClient, post_ts: str, *, ts: str = "1800000000.000100") -> None:
    reply = payloads.thread_reply(thread_ts=post_ts, ts=ts)
    assert slack.event(payloads.event_callback(reply, event_id=f"Ev{ts}")).status == 200


def test_an_unanswered_rating_is_nudged_once_in_its_thread_at_its_sla(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 10)  # Monday 10:00
    post_ts = rate(slack, fake_slack)

    clock.now = berlin(11, 2, 14) - timedelta(minutes=1)
    tick(session_factory, deliverer, clock)
    assert nudges(fake_slack) == []
    clock.now = berlin(11, 2, 14)
    tick(session_factory, deliverer, clock)
    clock.advance(hours=1)
    tick(session_factory, deliverer, clock)

    [nudge] = nudges(fake_slack)
    assert (nudge["channel"], nudge["thread_ts"]) == (payloads.FEEDBACK_CHANNEL, post_ts)
    assert f"<!subteam^{MARKETING_GROUP}>" in nudge["text"] + str(nudge["blocks"])
    assert f"<@{payloads.RATER_ID}>" in str(nudge["blocks"]) and "4h" in str(nudge["blocks"])


def test_a_low_score_is_nudged_sooner_with_the_stricter_sla(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 9, 30)
    assert "`1h`" in leadloop(slack, fake_slack, "settings sla-low 1h")
    clock.now = berlin(11, 2, 10)
    rate(slack, fake_slack, "LOW-1 1 not a fit")
    rate(slack, fake_slack, "HIGH-1 4 good")

    clock.now = berlin(11, 2, 11)
    tick(session_factory, deliverer, clock)

    [nudge] = nudges(fake_slack)
    assert "LOW-1" in str(nudge["blocks"])


def test_an_answer_before_the_sla_means_no_nudge_and_no_escalation(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    leadloop(slack, fake_slack, f"settings marketing-lead <@{MARKETING_LEAD}>")
    clock.now = berlin(11, 2, 10)
    post_ts = rate(slack, fake_slack)
    clock.now = berlin(11, 2, 11)
    answer(slack, post_ts)

    for hours in (4, 8, 24):
        clock.now = berlin(11, 2, 10) + timedelta(hours=hours)
        tick(session_factory, deliverer, clock)

    assert nudges(fake_slack) == [] and escalations(fake_slack) == []


def test_a_rating_at_the_end_of_the_week_is_nudged_when_the_hours_open_again(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 6, 17)  # Friday 17:00: one business hour left
    rate(slack, fake_slack)

    for moment in (berlin(11, 6, 21), berlin(11, 7, 12), berlin(11, 9, 11, 59)):
        clock.now = moment  # Friday night, Saturday noon, Monday just before
        tick(session_factory, deliverer, clock)
    assert nudges(fake_slack) == []
    clock.now = berlin(11, 9, 12)
    tick(session_factory, deliverer, clock)

    assert len(nudges(fake_slack)) == 1


def test_the_sla_counts_local_business_hours_across_a_dst_change(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(10, 23, 17)  # Friday 23 October, summer time (UTC+2)
    leadloop(slack, fake_slack, "settings sla 2h")
    rate(slack, fake_slack)

    clock.now = datetime(2026, 10, 26, 8, 59, tzinfo=UTC)  # Monday 09:59, winter time
    tick(session_factory, deliverer, clock)
    assert nudges(fake_slack) == []
    clock.now = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
    tick(session_factory, deliverer, clock)

    assert len(nudges(fake_slack)) == 1


def test_twice_the_sla_escalates_once_by_dm_to_the_marketing_lead(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 9)
    assert f"<@{MARKETING_LEAD}>" in leadloop(
        slack, fake_slack, f"settings marketing-lead <@{MARKETING_LEAD}>"
    )
    clock.now = berlin(11, 2, 9, 30)
    rate(slack, fake_slack)

    for moment in (berlin(11, 2, 13, 30), berlin(11, 2, 17, 29), berlin(11, 2, 17, 30)):
        clock.now = moment
        tick(session_factory, deliverer, clock)
    clock.advance(minutes=10)
    tick(session_factory, deliverer, clock)

    assert len(nudges(fake_slack)) == 1
    [dm] = escalations(fake_slack)
    assert "ACME-1" in str(dm["blocks"]) and "8h" in str(dm["blocks"])


def test_without_a_marketing_lead_nothing_is_escalated_even_once_one_is_set(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 9, 30)
    rate(slack, fake_slack)
    clock.now = berlin(11, 2, 17, 30)
    tick(session_factory, deliverer, clock)

    leadloop(slack, fake_slack, f"settings marketing-lead <@{MARKETING_LEAD}>")
    clock.advance(minutes=10)
    tick(session_factory, deliverer, clock)

    assert len(nudges(fake_slack)) == 1 and escalations(fake_slack) == []


def test_an_answer_between_the_claim_and_the_send_drops_the_nudge(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 10)
    post_ts = rate(slack, fake_slack)
    clock.now = berlin(11, 2, 14)
    [owed] = claim_scheduled_posts(
        session_factory=session_factory, defaults=deliverer.defaults, clock=clock
    )
    answer(slack, post_ts)  # the process that claimed it died; marketing answered meanwhile

    OutboxPump(deliverer).drain()

    assert nudges(fake_slack) == []
    with session_factory() as session:
        message = session.get(OutboxMessage, owed)
        assert message is not None and message.status == "dropped"


def test_a_claimed_nudge_survives_a_restart_and_goes_out_once(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 10)
    rate(slack, fake_slack)
    clock.now = berlin(11, 2, 15)
    claim_scheduled_posts(session_factory=session_factory, defaults=deliverer.defaults, clock=clock)
    # The delivery process died before sending; the next one sends what the outbox owes.
    restarted = dataclasses.replace(deliverer)

    OutboxPump(restarted).drain()
    tick(session_factory, restarted, clock)

    assert len(nudges(fake_slack)) == 1


def claim_on_two_instances_at_once(
    database_url: str, deliverer: Deliverer, clock: FakeClock
) -> list[list[int]]:
    """Two instances (an engine each) claim what is due at the same moment; what each
    claimed."""
    engines = [create_db_engine(database_url) for _ in range(2)]
    start = threading.Barrier(2)
    owed: list[list[int]] = []

    def instance(factory: SessionFactory) -> None:
        start.wait()
        owed.append(
            claim_scheduled_posts(session_factory=factory, defaults=deliverer.defaults, clock=clock)
        )

    try:
        threads = [
            threading.Thread(target=instance, args=(make_session_factory(engine),))
            for engine in engines
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for engine in engines:
            engine.dispose()
    return owed


def test_two_instances_ticking_at_once_nudge_once(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    database_url: str,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 10)
    rate(slack, fake_slack)
    clock.now = berlin(11, 2, 14)
    owed = claim_on_two_instances_at_once(database_url, deliverer, clock)
    OutboxPump(deliverer).drain()

    assert sorted(len(ids) for ids in owed) == [0, 1]
    assert len(nudges(fake_slack)) == 1


def test_turning_the_sla_off_stops_nudges_and_on_again_spares_the_old_ratings(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 9, 30)
    assert "`off`" in leadloop(slack, fake_slack, "settings sla off")
    rate(slack, fake_slack)
    clock.now = berlin(11, 2, 15)
    tick(session_factory, deliverer, clock)
    assert nudges(fake_slack) == []

    leadloop(slack, fake_slack, "settings sla 4h")
    clock.now = berlin(11, 3, 15)
    tick(session_factory, deliverer, clock)

    assert nudges(fake_slack) == []
    with session_factory() as session:
        assert session.exec(select(ScheduledPost)).all() == []
        assert len(session.exec(select(Rating)).all()) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("settings sla soon", "is not an answer time"),
        ("settings hours 9 to 5", "are not business hours"),
        ("settings marketing-lead maria", "Mention the person with @"),
    ],
)
def test_a_bad_sla_setting_is_explained_and_changes_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    text: str,
    problem: str,
) -> None:
    answer_text = leadloop(slack, fake_slack, text)

    assert problem in answer_text
    with session_factory() as session:
        workspace = session.get(Workspace, payloads.TEAM_ID)
    assert workspace is not None
    chosen = (workspace.answer_sla, workspace.business_hours, workspace.marketing_lead)
    assert chosen == (None, None, None)


def test_a_nudge_that_came_due_while_leadloop_was_down_waits_for_the_hours_to_open(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 6, 13)  # Friday 13:00: due at 17:00
    rate(slack, fake_slack)

    clock.now = berlin(11, 6, 21)  # back up in the evening, after the hours
    tick(session_factory, deliverer, clock)
    assert nudges(fake_slack) == []
    clock.now = berlin(11, 9, 9)  # Monday, as the hours open
    tick(session_factory, deliverer, clock)

    assert len(nudges(fake_slack)) == 1


def test_a_nudge_whose_sender_died_after_slack_had_it_is_found_in_the_thread_not_repeated(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    fake_slack.clock = clock  # ts values on the test's time
    clock.now = berlin(11, 2, 10)
    rate(slack, fake_slack)
    clock.now = berlin(11, 2, 14)
    tick(session_factory, deliverer, clock)
    with session_factory() as session:  # as if the sender died before recording the post
        [message] = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "sla_nudge")
        ).all()
        message.status, message.sent_at = "pending", None
        message.claimed_until = clock() - timedelta(seconds=1)  # its claim lapsed
        session.add(message)
        session.commit()

    OutboxPump(deliverer).drain()

    assert len(nudges(fake_slack)) == 1
    assert fake_slack.calls_to("conversations.replies")
    with session_factory() as session:
        assert session.get(OutboxMessage, message.id).status == "sent"


def lead_in_campaign(session_factory: SessionFactory, ref: str, campaign: str) -> None:
    """A lead the CRM sent with its campaign (as an import or the webhook stores it)."""
    with session_factory() as session:
        lead = get_or_create_lead(
            session,
            team_id=payloads.TEAM_ID,
            external_ref=ref,
            now=datetime(2026, 10, 1, tzinfo=UTC),
        )
        lead.campaign = campaign
        session.add(lead)
        session.commit()


def test_a_nudge_mentions_the_owner_of_the_leads_campaign(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    lead_in_campaign(session_factory, "WEB-1", "Spring Webinar")
    clock.now = berlin(11, 2, 9, 30)
    answer_text = leadloop(slack, fake_slack, 'campaign "spring webinar" owner <@UMARIA|maria>')
    assert "<@UMARIA> now owns the campaign *spring webinar*" in answer_text
    assert "No lead names" not in answer_text  # names match whatever their letter case
    clock.now = berlin(11, 2, 10)
    rate(slack, fake_slack, "WEB-1 2 students, not buyers")
    rate(slack, fake_slack, "OTHER-1 2 no budget")

    clock.now = berlin(11, 2, 14)
    tick(session_factory, deliverer, clock)

    mentions = {
        ref: nudge["blocks"][0]["text"]["text"].split(":")[0]
        for nudge in nudges(fake_slack)
        for ref in ("WEB-1", "OTHER-1")
        if ref in str(nudge["blocks"])
    }
    assert mentions == {"WEB-1": "<@UMARIA>", "OTHER-1": f"<!subteam^{MARKETING_GROUP}>"}


def test_campaign_owners_are_listed_and_taken_away(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    assert "No campaign has an owner yet" in leadloop(slack, fake_slack, "campaigns")
    first = leadloop(slack, fake_slack, "campaign Webinar owner <@UMARIA|maria>")
    assert "No lead names this campaign yet" in first
    assert "already owns" in leadloop(slack, fake_slack, "campaign webinar owner <@UMARIA>")
    assert "*Webinar*: <@UMARIA>" in leadloop(slack, fake_slack, "campaigns")

    assert "has no owner now" in leadloop(slack, fake_slack, "campaign Webinar owner none")
    assert "No campaign has an owner yet" in leadloop(slack, fake_slack, "campaigns")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('campaign "Spring Webinar" owner maria', "Mention the owner with @"),
        ("campaign owner", "I can't read that"),
        ('campaign "" owner <@UMARIA>', "A campaign is named as your leads name it"),
    ],
)
def test_a_bad_campaign_command_is_explained_and_changes_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    problem: str,
) -> None:
    assert problem in leadloop(slack, fake_slack, text)
    with session_factory() as session:
        assert session.exec(select(CampaignOwner)).all() == []


def test_only_admins_give_campaigns_owners(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = slack.command(
        "campaign Webinar owner <@UMARIA>",
        response_url=fake_slack.response_url(),
        command="/leadloop",
        user_id=payloads.RATER_ID,
    )

    assert "Only leadloop admins" in answer.json()["text"]
    with session_factory() as session:
        assert session.exec(select(CampaignOwner)).all() == []


def test_a_meeting_agenda_lists_the_ratings_past_their_answer_time(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    clock.now = berlin(11, 2, 9)
    add_meeting(session_factory, clock)  # Mondays and Thursdays at 10:00 in Berlin
    clock.now = berlin(11, 2, 10, 30)  # after Monday's meeting
    rate(slack, fake_slack, "LATE-1 2 no budget")  # due Monday 14:30
    clock.now = berlin(11, 5, 9, 40)
    rate(slack, fake_slack, "FRESH-1 3 fine")  # due Thursday 13:40

    clock.now = berlin(11, 5, 9, 45)  # Thursday's reminder
    tick(session_factory, deliverer, clock)

    [reminder] = [
        call.params
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params["channel"] == MEETING_CHANNEL
    ]
    agenda = json.dumps(reminder["blocks"])
    assert "2 rating(s) still wait" in agenda
    assert "1 of them waited past the agreed answer time" in agenda
    past = agenda.split("past the agreed answer time")[1]
    assert "LATE-1 rated 2/5" in past and "FRESH-1" not in past


@pytest.mark.parametrize("verdict", ["verdict_agree", "verdict_acknowledge"])
def test_an_agree_or_an_acknowledge_before_the_sla_means_no_nudge_and_no_escalation(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    verdict: str,
) -> None:
    leadloop(slack, fake_slack, f"settings marketing-lead <@{MARKETING_LEAD}>")
    clock.now = berlin(11, 2, 10)
    post_ts = rate(slack, fake_slack)
    clock.now = berlin(11, 2, 11)
    click = payloads.rating_post_click(
        action_id=verdict, value="1", post_ts=post_ts, response_url=fake_slack.response_url("v")
    )
    assert slack.interact(click).status == 200

    for hours in (4, 8, 24):
        clock.now = berlin(11, 2, 10) + timedelta(hours=hours)
        tick(session_factory, deliverer, clock)

    assert nudges(fake_slack) == [] and escalations(fake_slack) == []


def test_two_instances_ticking_at_once_escalate_once(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    database_url: str,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    leadloop(slack, fake_slack, f"settings marketing-lead <@{MARKETING_LEAD}>")
    clock.now = berlin(11, 2, 9, 30)
    rate(slack, fake_slack)
    clock.now = berlin(11, 2, 17, 30)  # past twice the answer time: nudge and escalation due
    claim_on_two_instances_at_once(database_url, deliverer, clock)
    OutboxPump(deliverer).drain()

    assert len(nudges(fake_slack)) == 1 and len(escalations(fake_slack)) == 1


def test_a_dispute_before_the_sla_means_no_nudge_and_no_escalation(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    leadloop(slack, fake_slack, f"settings marketing-lead <@{MARKETING_LEAD}>")
    clock.now = berlin(11, 2, 10)
    post_ts = rate(slack, fake_slack)
    clock.now = berlin(11, 2, 11)
    form = payloads.dispute_submission(reason="a real buyer", rating_id="1", post_ts=post_ts)
    assert slack.interact(form).status == 200

    for hours in (4, 8, 24):
        clock.now = berlin(11, 2, 10) + timedelta(hours=hours)
        tick(session_factory, deliverer, clock)

    assert nudges(fake_slack) == [] and escalations(fake_slack) == []
    assert fake_slack.calls_to("chat.postMessage")[-1].params["channel"] == payloads.RATER_ID
