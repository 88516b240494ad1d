"""The "Rate this lead" message shortcut, through signed requests to the running app."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from storage.engine import SessionFactory
from storage.models import Lead
from storage.ratings import get_or_create_lead
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient

OTHER_TEAM = "T0OTHER"


def known_leads(
    session_factory: SessionFactory, clock: FakeClock, *refs: str, team_id: str = payloads.TEAM_ID
) -> None:
    with session_factory() as session:
        for ref in refs:
            get_or_create_lead(session, team_id=team_id, external_ref=ref, now=clock())
        session.commit()


def opened_form(fake_slack: FakeSlack) -> dict[str, Any]:
    [opened] = fake_slack.calls_to("views.open")
    assert opened.params["trigger_id"] == "trigger-shortcut"
    view = opened.params["view"]
    assert view["callback_id"] == "rate_lead_modal"
    return dict(view)


def prefilled_lead(view: dict[str, Any]) -> str | None:
    [lead] = [block for block in view["blocks"] if block["block_id"] == "lead"]
    return lead["element"].get("initial_value")


def test_a_message_naming_a_known_lead_opens_the_form_with_that_lead(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    known_leads(session_factory, clock, "ACME-1042")

    answer = slack.interact(
        payloads.message_shortcut({"text": "New MQL: ACME-1042 (Jane Roe, Acme) from the webinar"})
    )

    assert answer.status == 200
    view = opened_form(fake_slack)
    assert prefilled_lead(view) == "ACME-1042"
    assert json.loads(view["private_metadata"]) == {"channel": "CCRM"}  # rated from there


def test_a_crm_notification_names_its_lead_in_a_link_inside_an_attachment(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    known_leads(session_factory, clock, "00Q5e000001AbCd")
    notification = {
        "text": "",
        "bot_id": "BCRM",
        "attachments": [
            {
                "fallback": "Lead assigned to you",
                "title": "Lead assigned: Jane Roe",
                "text": "<https://crm.example.com/lightning/r/Lead/00Q5e000001AbCd/view|Open>",
            }
        ],
    }

    slack.interact(payloads.message_shortcut(notification))

    assert prefilled_lead(opened_form(fake_slack)) == "00Q5e000001AbCd"


def test_the_first_known_lead_in_reading_order_is_chosen(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    known_leads(session_factory, clock, "ACME-2", "ACME-1")
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Duplicate of* ACME-2, see"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "first: ACME-1."}]},
        ],
    }

    slack.interact(payloads.message_shortcut(message))

    assert prefilled_lead(opened_form(fake_slack)) == "ACME-2"


def test_a_message_naming_no_known_lead_opens_an_empty_form_and_stores_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    known_leads(session_factory, clock, "ACME-1042", team_id=OTHER_TEAM)  # not this workspace's

    slack.interact(payloads.message_shortcut({"text": "Call ACME-1042 and NEW-7 back, please"}))

    assert prefilled_lead(opened_form(fake_slack)) is None
    with session_factory() as session:
        assert [lead.team_id for lead in session.exec(select(Lead))] == [OTHER_TEAM]


def test_a_shortcut_payload_without_its_trigger_is_refused_as_malformed(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    shortcut = payloads.message_shortcut({"text": "ACME-1"})
    del shortcut["trigger_id"]

    answer = slack.interact(shortcut)

    assert answer.status == 400
    assert fake_slack.calls_to("views.open") == []
