"""The Berlin workspace every answer-time test works in, and what its people do there."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.engine import SessionFactory
from storage.ratings import get_or_create_lead
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient

BERLIN = ZoneInfo("Europe/Berlin")
ADMIN = "UADMIN"
MARKETING_LEAD = "UMKTLEAD"
MARKETING_GROUP = "S0MARKETING"


def berlin(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def rate(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    text: str = "ACME-1 2 wrong industry",
    **fields: str,
) -> str:
    """Rate with ``/rate-lead`` (posted at once); the post's ts."""
    assert slack.command(text, response_url=fake_slack.response_url(), **fields).status == 200
    return str(fake_slack.posts[-1][1])


def leadloop(slack: SlackAppClient, fake_slack: FakeSlack, text: str) -> str:
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/leadloop", user_id=ADMIN
    )
    return str(answer.json()["text"])


def leads(session_factory: SessionFactory, campaigns: dict[str, str | None]) -> None:
    with session_factory() as session:
        for ref, campaign in campaigns.items():
            lead = get_or_create_lead(
                session, team_id=payloads.TEAM_ID, external_ref=ref, now=berlin(10, 1, 9)
            )
            lead.campaign = campaign
            session.add(lead)
        session.commit()


def reply_at(slack: SlackAppClient, post_ts: str, moment: datetime) -> None:
    """Marketing's reply in the rating's thread, written at ``moment`` (its Slack ts)."""
    ts = f"{moment.timestamp():.6f}"
    reply = payloads.thread_reply(thread_ts=post_ts, ts=ts)
    assert slack.event(payloads.event_callback(reply, event_id=f"Ev{ts}")).status == 200
