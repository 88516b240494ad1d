"""Rating buttons on hand-off messages, through signed requests to the running app."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.outbox.engine import Deliverer
from domain.leads.intake import fold_records, intake_leads
from domain.leads.records import LeadRecord
from handlers import ids
from handlers.views.handoffs import LEAD_NOT_FOUND, NOT_A_RATING_BUTTON
from storage.engine import SessionFactory
from storage.models import Lead, Rating
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import Call, FakeSlack
from tests.slack_app_client import SlackAppClient

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID
ANOTHER_REP = "U0SECONDREP"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The usual test settings, with a hand-off channel."""
    return replace(settings, handoff_channel=payloads.HANDOFF_CHANNEL)


@pytest.fixture
def lead_id(session_factory: SessionFactory, deliverer: Deliverer, clock: FakeClock) -> int:
    """A lead handed off to its owner and the hand-off channel (two messages posted)."""
    return hand_off(session_factory, deliverer, clock, team_id=TEAM)


def hand_off(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    *,
    team_id: str,
    ref: str = "ACME-1042",
) -> int:
    record = LeadRecord(
        external_ref=ref, name="Ann Lee", company="Acme", owner_slack_id=payloads.OWNER_ID
    )
    with session_factory() as session:
        counts = intake_leads(session, team_id=team_id, leads=fold_records([record]), now=clock())
        session.commit()
        lead = session.exec(
            select(Lead).where(Lead.team_id == team_id, Lead.external_ref == ref)
        ).one()
    for message_id in counts.handoff_message_ids:
        assert deliverer.deliver(message_id)
    assert lead.id is not None
    return lead.id


def click(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    *,
    value: str,
    action_id: str = f"{ids.HANDOFF_SCORE}_3",
    user_id: str = payloads.RATER_ID,
    team_id: str = TEAM,
) -> Call:
    """Click a hand-off button; the ephemeral answer sent to the clicker."""
    response_url = fake_slack.response_url("click")
    answer = slack.interact(
        payloads.handoff_click(
            action_id=action_id,
            value=value,
            response_url=response_url,
            user_id=user_id,
            team_id=team_id,
        )
    )
    assert answer.status == 200
    [reply] = [
        call for call in fake_slack.calls_to("response_url") if response_url.endswith(call.path)
    ]
    return reply


def score(
    slack: SlackAppClient, fake_slack: FakeSlack, lead_id: int, value: int, **kw: str
) -> Call:
    return click(
        slack,
        fake_slack,
        value=f"{lead_id}:{value}",
        action_id=f"{ids.HANDOFF_SCORE}_{value}",
        **kw,
    )


def shown(blocks: object) -> str:
    """Blocks as the text a test can search."""
    return json.dumps(blocks, ensure_ascii=False)


def ratings(session_factory: SessionFactory) -> list[Rating]:
    with session_factory() as session:
        return list(session.exec(select(Rating).order_by(Rating.id)).all())


def handoff_updates(fake_slack: FakeSlack) -> list[Call]:
    return [
        call
        for call in fake_slack.calls_to("chat.update")
        if call.params["channel"] != payloads.FEEDBACK_CHANNEL
    ]


def feedback_posts(fake_slack: FakeSlack) -> list[Call]:
    return [
        call
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params["channel"] == payloads.FEEDBACK_CHANNEL
    ]


def test_a_score_click_is_stored_posted_for_marketing_and_shown_on_the_handoff(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, lead_id: int
) -> None:
    reply = score(slack, fake_slack, lead_id, 4)

    [rating] = ratings(session_factory)
    assert (rating.team_id, rating.lead_id, rating.rater_id) == (TEAM, lead_id, payloads.RATER_ID)
    assert (rating.score, rating.via, rating.origin_channel) == (
        4,
        "button",
        payloads.HANDOFF_CHANNEL,
    )
    [post] = feedback_posts(fake_slack)
    assert "★★★★☆" in shown(post.params["blocks"]) and "a rating button" in shown(
        post.params["blocks"]
    )
    assert rating.post_ts is not None
    updated = handoff_updates(fake_slack)
    assert sorted(call.params["channel"] for call in updated) == [
        payloads.HANDOFF_CHANNEL,
        payloads.OWNER_ID,
    ]
    assert all(f"<@{payloads.RATER_ID}> ★★★★☆ 4/5" in shown(c.params["blocks"]) for c in updated)
    assert reply.params["response_type"] == "ephemeral"
    assert reply.params["replace_original"] is False
    assert (
        "ACME-1042" in reply.params["text"]
        and f"<#{payloads.FEEDBACK_CHANNEL}>" in reply.params["text"]
    )


def test_a_second_click_by_the_same_rep_changes_their_rating(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, lead_id: int
) -> None:
    score(slack, fake_slack, lead_id, 4)
    [first] = ratings(session_factory)

    reply = score(slack, fake_slack, lead_id, 2)

    [rating] = ratings(session_factory)
    assert (rating.id, rating.score, rating.post_ts) == (first.id, 2, first.post_ts)
    assert len(feedback_posts(fake_slack)) == 1
    [feedback_update] = [
        call
        for call in fake_slack.calls_to("chat.update")
        if call.params["channel"] == payloads.FEEDBACK_CHANNEL
    ]
    assert feedback_update.params["ts"] == first.post_ts
    assert "★★☆☆☆" in shown(feedback_update.params["blocks"])
    latest = handoff_updates(fake_slack)[-2:]
    assert all(f"<@{payloads.RATER_ID}> ★★☆☆☆ 2/5" in shown(c.params["blocks"]) for c in latest)
    assert "changed your rating of *ACME-1042* from 4/5 to ★★☆☆☆ 2/5" in reply.params["text"]


def test_clicking_the_score_already_given_changes_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, lead_id: int
) -> None:
    score(slack, fake_slack, lead_id, 5)
    updates = len(fake_slack.calls_to("chat.update"))

    reply = score(slack, fake_slack, lead_id, 5)

    assert [r.score for r in ratings(session_factory)] == [5]
    assert len(fake_slack.calls_to("chat.update")) == updates
    assert "already rated *ACME-1042*" in reply.params["text"]


def test_each_rep_has_their_own_rating_and_the_handoff_shows_both(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, lead_id: int
) -> None:
    score(slack, fake_slack, lead_id, 4)
    score(slack, fake_slack, lead_id, 1, user_id=ANOTHER_REP)

    assert [(r.rater_id, r.score) for r in ratings(session_factory)] == [
        (payloads.RATER_ID, 4),
        (ANOTHER_REP, 1),
    ]
    assert len(feedback_posts(fake_slack)) == 2
    latest = shown(handoff_updates(fake_slack)[-1].params["blocks"])
    assert f"<@{payloads.RATER_ID}> ★★★★☆ 4/5" in latest and f"<@{ANOTHER_REP}> ★☆☆☆☆ 1/5" in latest


def test_a_click_after_a_slash_command_rating_adds_a_new_rating(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, lead_id: int
) -> None:
    slack.command("ACME-1042 3 decent", response_url=fake_slack.response_url())

    score(slack, fake_slack, lead_id, 5)

    assert [(r.via, r.score) for r in ratings(session_factory)] == [("command", 3), ("button", 5)]
    latest = shown(handoff_updates(fake_slack)[-1].params["blocks"])
    assert f"<@{payloads.RATER_ID}> ★★★★★ 5/5" in latest  # the latest counts


def test_a_slash_command_rating_of_a_handed_off_lead_shows_on_its_hand_off(
    slack: SlackAppClient, fake_slack: FakeSlack, lead_id: int
) -> None:
    before = len(handoff_updates(fake_slack))

    slack.command("ACME-1042 2 wrong industry", response_url=fake_slack.response_url())

    updates = handoff_updates(fake_slack)[before:]
    assert updates and all(
        f"<@{payloads.RATER_ID}> ★★☆☆☆ 2/5" in shown(u.params["blocks"]) for u in updates
    )


def test_a_slash_command_rating_of_a_lead_never_handed_off_updates_no_hand_off(
    slack: SlackAppClient, fake_slack: FakeSlack, lead_id: int
) -> None:
    before = len(handoff_updates(fake_slack))

    slack.command("NEVER-1 2 wrong industry", response_url=fake_slack.response_url())

    assert len(feedback_posts(fake_slack)) == 1
    assert len(handoff_updates(fake_slack)) == before


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "{lead}:9",
        "{lead}:0",
        "{lead}:-1",
        "{lead}",
        "{lead}:",
        ":3",
        "{lead}:3:1",
        "0{lead}:3",
        "{lead}:３",
        "{lead}:3 ",
    ],
)
def test_a_tampered_button_value_is_refused_and_changes_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    lead_id: int,
    value: str,
) -> None:
    before = len(fake_slack.calls)

    reply = click(slack, fake_slack, value=value.format(lead=lead_id))

    assert reply.params["text"] == NOT_A_RATING_BUTTON
    assert reply.params["response_type"] == "ephemeral"
    assert ratings(session_factory) == []
    assert [call.method for call in fake_slack.calls[before:]] == ["response_url"]


def test_a_click_from_another_workspace_is_refused_and_changes_nothing(
    two_workspaces: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    lead_id: int,
) -> None:
    before = len(fake_slack.calls)

    reply = score(two_workspaces, fake_slack, lead_id, 1, team_id=OTHER_TEAM)

    assert reply.params["text"] == LEAD_NOT_FOUND
    assert ratings(session_factory) == []
    # Beside the note to the clicker, only the first check of B's token (cached after it).
    calls = [call.method for call in fake_slack.calls[before:] if call.method != "auth.test"]
    assert calls == ["response_url"]


def test_a_click_naming_another_workspaces_lead_is_refused(
    two_workspaces: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    lead_id: int,
) -> None:
    theirs = hand_off(session_factory, deliverer, clock, team_id=OTHER_TEAM, ref="OTHER-1")
    score(two_workspaces, fake_slack, theirs, 5, team_id=OTHER_TEAM)
    [their_rating] = ratings(session_factory)

    reply = score(two_workspaces, fake_slack, theirs, 1)  # workspace A clicks B's lead id

    assert reply.params["text"] == LEAD_NOT_FOUND
    assert [(r.id, r.team_id, r.score) for r in ratings(session_factory)] == [
        (their_rating.id, OTHER_TEAM, 5)
    ]


def test_a_click_on_a_lead_that_no_longer_exists_is_refused(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, lead_id: int
) -> None:
    reply = score(slack, fake_slack, lead_id + 1000, 3)

    assert reply.params["text"] == LEAD_NOT_FOUND
    assert ratings(session_factory) == []


def test_rate_with_reason_opens_the_rating_form_with_the_lead_filled_in(
    slack: SlackAppClient, fake_slack: FakeSlack, lead_id: int
) -> None:
    answer = slack.interact(
        payloads.handoff_click(
            action_id=ids.HANDOFF_REASON,
            value=str(lead_id),
            response_url=fake_slack.response_url(),
            trigger_id="trig-reason",
        )
    )

    assert answer.status == 200
    [opened] = fake_slack.calls_to("views.open")
    assert opened.params["trigger_id"] == "trig-reason"
    view = opened.params["view"]
    assert view["callback_id"] == ids.RATING_MODAL
    [lead_block] = [block for block in view["blocks"] if block["block_id"] == ids.LEAD_BLOCK]
    assert lead_block["element"]["initial_value"] == "ACME-1042"
    assert json.loads(view["private_metadata"]) == {"channel": payloads.HANDOFF_CHANNEL}


@pytest.mark.parametrize(
    ("value", "team_id", "text"),
    [("{lead}", OTHER_TEAM, LEAD_NOT_FOUND), ("x{lead}", TEAM, NOT_A_RATING_BUTTON)],
    ids=["other-workspace", "tampered"],
)
def test_rate_with_reason_is_refused_for_a_lead_it_cannot_show(
    two_workspaces: SlackAppClient,
    fake_slack: FakeSlack,
    lead_id: int,
    value: str,
    team_id: str,
    text: str,
) -> None:
    reply = click(
        two_workspaces,
        fake_slack,
        value=value.format(lead=lead_id),
        action_id=ids.HANDOFF_REASON,
        team_id=team_id,
    )

    assert reply.params["text"] == text
    assert fake_slack.calls_to("views.open") == []


def test_a_rating_given_with_reason_shows_on_the_handoff_once_delivered(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    lead_id: int,
) -> None:
    slack.interact(
        payloads.view_submission(
            lead="ACME-1042", score="2", reason="no budget", origin_channel=payloads.HANDOFF_CHANNEL
        )
    )

    [rating] = ratings(session_factory)
    assert (rating.lead_id, rating.score, rating.via, rating.reason) == (
        lead_id,
        2,
        "modal",
        "no budget",
    )
    # The form owed the post and the hand-off update; the delivery process sent both.
    assert deliverer.deliver_due() == 0
    updated = handoff_updates(fake_slack)
    assert len(updated) == 2
    assert all(f"<@{payloads.RATER_ID}> ★★☆☆☆ 2/5" in shown(c.params["blocks"]) for c in updated)


def test_a_rating_of_a_lead_never_handed_off_owes_no_handoff_update(
    slack: SlackAppClient, fake_slack: FakeSlack, deliverer: Deliverer
) -> None:
    slack.command("ACME-7 4 solid", response_url=fake_slack.response_url())

    assert deliverer.deliver_due() == 0
    assert fake_slack.calls_to("chat.update") == []


def test_a_score_click_is_stored_before_slack_gets_its_answer(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    lead_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Slack never sends an answered click again: nothing may wait in memory to be stored."""
    from handlers.deps import Deps

    deferred: list[object] = []
    monkeypatch.setattr(Deps, "after_ack", lambda self, work, **_: deferred.append(work))

    answer = slack.interact(
        payloads.handoff_click(
            action_id=f"{ids.HANDOFF_SCORE}_2",
            value=f"{lead_id}:2",
            response_url=fake_slack.response_url("click"),
        )
    )

    assert answer.status == 200
    [rating] = ratings(session_factory)
    assert (rating.lead_id, rating.score, rating.via) == (lead_id, 2, "button")
    assert len(deferred) == 1  # only the private note to the clicker waits for after the ack
    assert len(feedback_posts(fake_slack)) == 1  # sent from the outbox the click filled


def test_a_score_click_the_database_cannot_store_says_so_and_changes_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    lead_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import OperationalError

    from handlers.errors import DATABASE_DOWN

    def database_down(*_: object, **__: object) -> None:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr("handlers.handoff.score.rate_from_button", database_down)

    reply = score(slack, fake_slack, lead_id, 5)

    assert reply.params["text"] == DATABASE_DOWN
    assert ratings(session_factory) == []
    assert feedback_posts(fake_slack) == []
