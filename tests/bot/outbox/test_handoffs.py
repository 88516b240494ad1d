"""Posting hand-off messages from the outbox: to the owner's DM and the hand-off channel, once."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import delete
from sqlmodel import select

from bot.config import Settings
from bot.outbox.engine import Deliverer
from domain.leads.intake import (
    ImportSummary,
    fold_records,
    import_leads,
    intake_leads,
    release_handoffs,
)
from domain.leads.records import LeadRecord
from domain.ratings.loop import submit_rating
from domain.ratings.parse import RatingInput
from storage import outbox
from storage.engine import SessionFactory
from storage.leads import handoff_messages, record_handoff_message
from storage.models import Handoff, HandoffDigestLead, Lead
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack

TEAM = payloads.TEAM_ID
ACME = LeadRecord(
    external_ref="ACME-1042",
    name="Ann Lee",
    company="Acme",
    campaign="Spring 2026",
    source="webinar",
    owner_slack_id=payloads.OWNER_ID,
    attributes={"Notes": "Downloaded the pricing guide"},
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with a hand-off channel."""
    return replace(settings, handoff_channel=payloads.HANDOFF_CHANNEL)


def hand_off(session_factory: SessionFactory, clock: FakeClock, record: LeadRecord) -> int:
    """Store a new lead; the id of the outbox message owing its hand-off."""
    with session_factory() as session:
        counts = intake_leads(session, team_id=TEAM, leads=fold_records([record]), now=clock())
        session.commit()
    [message_id] = counts.handoff_message_ids
    return message_id


def lead_id_of(session_factory: SessionFactory, ref: str) -> int:
    with session_factory() as session:
        lead = session.exec(select(Lead).where(Lead.external_ref == ref)).one()
    assert lead.id is not None
    return lead.id


def status_of(session_factory: SessionFactory, message_id: int) -> str:
    with session_factory() as session:
        message = outbox.get_message(session, message_id=message_id)
    assert message is not None
    return message.status


def test_a_new_lead_is_posted_to_its_owner_and_the_handoff_channel(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = hand_off(session_factory, clock, ACME)

    assert deliverer.deliver(message_id) is True

    dm, channel_post = fake_slack.calls_to("chat.postMessage")
    assert (dm.params["channel"], channel_post.params["channel"]) == (
        payloads.OWNER_ID,
        payloads.HANDOFF_CHANNEL,
    )
    blocks = json.dumps(dm.params["blocks"])
    for shown in ("ACME-1042", "Ann Lee", "Acme", "Spring 2026", "webinar", "pricing guide"):
        assert shown in blocks
    assert "ACME-1042" in dm.params["text"]
    actions = [b for b in dm.params["blocks"] if b["type"] == "actions"][0]["elements"]
    lead_id = lead_id_of(session_factory, "ACME-1042")
    assert [a["value"] for a in actions] == [f"{lead_id}:{n}" for n in range(1, 6)] + [str(lead_id)]
    with session_factory() as session:
        posted = handoff_messages(session, team_id=TEAM, lead_id=lead_id)
    assert [(m.target, m.channel) for m in posted] == [
        (payloads.OWNER_ID, payloads.OWNER_ID),
        (payloads.HANDOFF_CHANNEL, payloads.HANDOFF_CHANNEL),
    ]
    assert all(m.ts.startswith("1700000000.") for m in posted)
    assert status_of(session_factory, message_id) == "sent"


def test_a_lead_without_owner_and_without_a_channel_is_not_posted(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    no_channel = replace(deliverer, defaults=replace(deliverer.defaults, handoff_channel=None))
    message_id = hand_off(session_factory, clock, replace(ACME, owner_slack_id=None))

    assert no_channel.deliver(message_id) is True

    assert fake_slack.calls_to("chat.postMessage") == []
    assert status_of(session_factory, message_id) == "sent"


def test_a_retry_skips_the_targets_already_posted(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = hand_off(session_factory, clock, ACME)
    # As if a first attempt had posted the DM and then failed on the channel.
    with session_factory() as session:
        record_handoff_message(
            session,
            team_id=TEAM,
            lead_id=lead_id_of(session_factory, "ACME-1042"),
            target=payloads.OWNER_ID,
            channel="D0OWNER",
            ts="1699999999.000100",
            now=clock(),
        )
        session.commit()

    assert deliverer.deliver(message_id) is True

    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == payloads.HANDOFF_CHANNEL


def test_a_failed_post_stays_owed_and_is_retried(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = hand_off(session_factory, clock, ACME)
    fake_slack.fail_next("chat.postMessage", error="fatal_error")

    assert deliverer.deliver(message_id) is False
    assert status_of(session_factory, message_id) == "pending"

    clock.advance(minutes=1)
    assert deliverer.deliver_due() == 1
    channels = [call.params["channel"] for call in fake_slack.calls_to("chat.postMessage")]
    assert channels == [payloads.OWNER_ID, payloads.OWNER_ID, payloads.HANDOFF_CHANNEL]


def test_an_owner_who_cannot_get_a_dm_is_skipped_and_the_channel_still_gets_it(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = hand_off(session_factory, clock, ACME)
    fake_slack.fail_next("chat.postMessage", error="user_not_found")

    assert deliverer.deliver(message_id) is True

    channels = [call.params["channel"] for call in fake_slack.calls_to("chat.postMessage")]
    assert channels == [payloads.OWNER_ID, payloads.HANDOFF_CHANNEL]
    with session_factory() as session:
        posted = handoff_messages(
            session, team_id=TEAM, lead_id=lead_id_of(session_factory, "ACME-1042")
        )
    assert [m.target for m in posted] == [payloads.HANDOFF_CHANNEL]


def test_a_handoff_whose_lead_is_gone_is_dropped(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    message_id = hand_off(session_factory, clock, ACME)
    with session_factory() as session:
        session.execute(delete(Handoff))
        session.execute(delete(Lead))
        session.commit()

    assert deliverer.deliver(message_id) is False

    assert status_of(session_factory, message_id) == "dropped"
    assert fake_slack.calls_to("chat.postMessage") == []


def import_for_owner(
    session_factory: SessionFactory, clock: FakeClock, count: int, *, owner: str | None
) -> ImportSummary:
    """Import ``count`` new leads of one owner, as the CLI does, and release their hand-offs."""
    records = [LeadRecord(f"DIG-{i}", owner_slack_id=owner, row=i + 2) for i in range(count)]
    summary = import_leads(session_factory, team_id=TEAM, read=lambda: iter(records), now=clock())
    release_handoffs(session_factory, team_id=TEAM, summary=summary, now=clock())
    return summary


def test_a_busy_owner_and_the_channel_each_get_one_digest_and_no_single_post(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    summary = import_for_owner(session_factory, clock, 11, owner=payloads.OWNER_ID)

    assert deliverer.deliver_due() == 2
    assert deliverer.deliver_due() == 0

    posts = fake_slack.calls_to("chat.postMessage")
    assert sorted(call.params["channel"] for call in posts) == sorted(
        [payloads.OWNER_ID, payloads.HANDOFF_CHANNEL]
    )
    assert all("11 new leads" in call.params["text"] for call in posts)
    assert [status_of(session_factory, i) for i in summary.held_message_ids] == ["sent"] * 2


def test_an_owner_under_the_threshold_gets_single_dms_and_the_channel_one_digest(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    records = [LeadRecord(f"S-{i}", owner_slack_id=f"U0REP{i % 4}", row=i + 2) for i in range(12)]
    summary = import_leads(session_factory, team_id=TEAM, read=lambda: iter(records), now=clock())
    release_handoffs(session_factory, team_id=TEAM, summary=summary, now=clock())

    assert deliverer.deliver_due() == 13

    channels = Counter(call.params["channel"] for call in fake_slack.calls_to("chat.postMessage"))
    assert channels == {"U0REP0": 3, "U0REP1": 3, "U0REP2": 3, "U0REP3": 3, "CHANDOFF": 1}


def test_a_channel_digest_with_no_channel_set_is_sent_to_nobody_and_done(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    no_channel = replace(deliverer, defaults=replace(deliverer.defaults, handoff_channel=None))
    summary = import_for_owner(session_factory, clock, 11, owner=None)

    assert no_channel.deliver_due() == 1

    assert fake_slack.calls_to("chat.postMessage") == []
    assert [status_of(session_factory, i) for i in summary.held_message_ids] == ["sent"]


def test_a_digest_whose_leads_are_gone_is_dropped(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    summary = import_for_owner(session_factory, clock, 11, owner=payloads.OWNER_ID)
    with session_factory() as session:
        session.execute(delete(HandoffDigestLead))
        session.commit()

    assert deliverer.deliver_due() == 0

    assert fake_slack.calls_to("chat.postMessage") == []
    assert {status_of(session_factory, i) for i in summary.held_message_ids} == {"dropped"}


def test_a_rate_lead_rating_of_a_lead_in_a_posted_digest_updates_the_digest(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    import_for_owner(session_factory, clock, 11, owner=payloads.OWNER_ID)
    deliverer.deliver_due()
    with session_factory() as session:
        submitted = submit_rating(
            session,
            team_id=TEAM,
            rater_id=payloads.RATER_ID,
            rating=RatingInput(lead_ref="DIG-4", score=2),
            via="command",
            origin_channel=None,
            now=clock(),
        )
        session.commit()
    assert submitted.post_message_id is not None

    deliverer.deliver(submitted.post_message_id)
    deliverer.deliver_due()

    updated = {call.params["channel"]: call for call in fake_slack.calls_to("chat.update")}
    assert set(updated) == {payloads.OWNER_ID, payloads.HANDOFF_CHANNEL}
    for call in updated.values():
        assert f"<@{payloads.RATER_ID}> ★★☆☆☆ 2/5" in json.dumps(
            call.params["blocks"], ensure_ascii=False
        )


class Died(BaseException):
    """The process dies: nothing after this line of the sender runs."""


def test_every_handoff_post_and_digest_carries_its_outbox_id(
    deliverer: Deliverer, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    single = hand_off(session_factory, clock, ACME)
    summary = import_for_owner(session_factory, clock, 11, owner=payloads.OWNER_ID)

    assert deliverer.deliver_due() == 3

    tagged = Counter(
        call.params["metadata"]["event_payload"]["outbox_id"]
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params["metadata"]["event_type"] == "leadloop_outbox"
        and call.params["metadata"]["event_payload"]["team"] == TEAM
    )
    assert tagged == {single: 2, **dict.fromkeys(summary.held_message_ids, 1)}


def test_a_handoff_dm_that_reached_slack_before_its_sender_died_is_not_sent_again(
    deliverer: Deliverer,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_slack.clock = clock
    message_id = hand_off(session_factory, clock, ACME)

    def die(*args: object, **kwargs: object) -> None:
        raise Died

    with monkeypatch.context() as patched:
        patched.setattr("bot.outbox.handoffs.record_handoff_message", die)
        with pytest.raises(Died):
            deliverer.deliver(message_id)  # the DM is in Slack, not in the database
    clock.advance(minutes=1)  # the lease ran out

    assert deliverer.deliver_due() == 1

    channels = [call.params["channel"] for call in fake_slack.calls_to("chat.postMessage")]
    assert channels == [payloads.OWNER_ID, payloads.HANDOFF_CHANNEL]
    with session_factory() as session:
        posted = handoff_messages(
            session, team_id=TEAM, lead_id=lead_id_of(session_factory, "ACME-1042")
        )
    dm_ts = fake_slack.posts[0][1]
    assert [(m.target, m.channel, m.ts) for m in posted][0] == (
        payloads.OWNER_ID,
        f"D{payloads.OWNER_ID}",  # the DM's conversation ID, as Slack's own answer gives it
        dm_ts,
    )
    read = [call.params["channel"] for call in fake_slack.calls_to("conversations.history")]
    assert read == [f"D{payloads.OWNER_ID}", payloads.HANDOFF_CHANNEL]
    assert status_of(session_factory, message_id) == "sent"
