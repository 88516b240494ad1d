"""A hand-off score click Slack got a 200 for is stored, even when every process dies.

Real processes: leads arrive through the signed lead webhook and are handed off to the
hand-off channel. Reps then click score buttons on those messages in a burst of signed
``block_actions``; once some clicks were answered 200, every process of ``leadloop run``
(master, workers, delivery child) gets SIGKILL. Slack never sends a click again, so each
acknowledged click's rating must be stored. After the restart, once the dead processes'
claims have run out, each stored rating is posted for marketing exactly once and its
hand-off message shows it.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from domain.outbox_kinds import HANDOFF_POST, HANDOFF_REFRESH, RATING_POST
from handlers import ids
from handlers.errors import DATABASE_DOWN
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.faults.crash_harness import (
    Bot,
    bot_env,
    burst_then_kill,
    lapse_claims,
    leadloop_run,
    live_claims,
    outbox_statuses,
    post_signed,
    real_time_slack,
    rows,
)
from tests.processes import wait_for_database
from tests.slack_app_client import http_request

LEADS = 48  # one click each
PER_REQUEST = 8  # leads per webhook request: at most 10, or the channel gets one digest
KILL_AFTER = 16  # clicks answered with 200 before every process is killed
LEAD = re.compile(r"\bHAND-\d+\b")


def ref(number: int) -> str:
    return f"HAND-{number:02d}"


def hand_off_leads(bot: Bot, database_url: str) -> dict[str, tuple[int, str]]:
    """Send LEADS leads through the webhook and wait for their hand-offs to be posted;
    each lead's id and the ts of its message in the hand-off channel."""
    for first in range(0, LEADS, PER_REQUEST):
        leads = [
            {"external_ref": ref(n), "name": f"Lead {n}", "company": "Acme"}
            for n in range(first, first + PER_REQUEST)
        ]
        body = json.dumps(leads).encode()
        answer = http_request(
            bot.base_url + "/webhooks/leads",
            method="POST",
            body=body,
            headers=payloads.lead_webhook_headers(body),
        )
        assert answer.status == 200, answer.text
    wait_for_database(
        lambda: list(outbox_statuses(database_url, HANDOFF_POST).values()) == ["sent"] * LEADS
    )
    return {
        str(lead_ref): (int(lead_id), str(ts))
        for lead_ref, lead_id, ts in rows(
            database_url,
            "SELECT lead.external_ref, lead.id, handoff_message.ts FROM handoff_message "
            "JOIN lead ON lead.id = handoff_message.lead_id WHERE handoff_message.target = :c",
            c=payloads.HANDOFF_CHANNEL,
        )
    }


def score_of(number: int) -> int:
    return number % 5 + 1


def click(bot: Bot, fake_slack: FakeSlack, number: int, lead_id: int, message_ts: str) -> int:
    """A rep clicks the score button ``score_of(number)`` on the lead's hand-off message."""
    score = score_of(number)
    payload = payloads.handoff_click(
        action_id=f"{ids.HANDOFF_SCORE}_{score}",
        value=f"{lead_id}:{score}",
        response_url=fake_slack.response_url(f"click{number:02d}"),
        message_ts=message_ts,
    )
    return post_signed(
        bot.events_url,
        payloads.interactive_body(payload),
        content_type="application/x-www-form-urlencoded",
    )


def stored_ratings(database_url: str) -> dict[str, list[tuple[int, str, str | None]]]:
    """Each lead reference -> (score, via, post ts) of each of its ratings."""
    stored: dict[str, list[tuple[int, str, str | None]]] = {}
    for lead_ref, score, via, post_ts in rows(
        database_url,
        "SELECT lead.external_ref, rating.score, rating.via, rating.post_ts "
        "FROM rating JOIN lead ON lead.id = rating.lead_id WHERE rating.rater_id = :rater",
        rater=payloads.RATER_ID,
    ):
        stored.setdefault(str(lead_ref), []).append((int(score), str(via), post_ts))
    return stored


def told_not_saved(fake_slack: FakeSlack) -> set[int]:
    """The clicks whose clicker was told that nothing was saved."""
    return {
        int(call.path.rsplit("click", 1)[1].split("-", 1)[0])
        for call in fake_slack.calls_to("response_url")
        if "/click" in call.path and DATABASE_DOWN in str(call.params.get("text", ""))
    }


def feedback_posts(fake_slack: FakeSlack) -> dict[str, list[str]]:
    """Each lead posted to the feedback channel -> the ts of each of its posts."""
    posts: dict[str, list[str]] = {}
    for params, ts in list(fake_slack.posts):
        if params.get("channel") == payloads.FEEDBACK_CHANNEL:
            for lead_ref in set(LEAD.findall(str(params.get("text", "")))):
                posts.setdefault(lead_ref, []).append(ts)
    return posts


def handoff_updates(fake_slack: FakeSlack, handoffs: dict[str, tuple[int, str]]) -> Counter[str]:
    """How often each lead's hand-off message was updated."""
    by_ts = {ts: lead_ref for lead_ref, (_, ts) in handoffs.items()}
    return Counter(
        by_ts[str(call.params.get("ts"))]
        for call in fake_slack.calls_to("chat.update")
        if call.params.get("channel") == payloads.HANDOFF_CHANNEL
        and str(call.params.get("ts")) in by_ts
    )


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_handoff_click_survives_sigkill_and_is_posted_once(
    fake_slack: FakeSlack, empty_database_url: str
) -> None:
    env = bot_env(
        real_time_slack(fake_slack),
        empty_database_url,
        HANDOFF_CHANNEL=payloads.HANDOFF_CHANNEL,
        LEAD_WEBHOOK_SECRET=payloads.LEAD_WEBHOOK_SECRET,
    )
    with leadloop_run(env) as bot:
        handoffs = hand_off_leads(bot, empty_database_url)
        assert sorted(handoffs) == [ref(n) for n in range(LEADS)]

        def send(number: int) -> int:
            lead_id, message_ts = handoffs[ref(number)]
            return click(bot, fake_slack, number, lead_id, message_ts)

        acknowledged, _ = burst_then_kill(bot, send, count=LEADS, kill_after=KILL_AFTER)

    refused = told_not_saved(fake_slack)
    stored = stored_ratings(empty_database_url)
    lost = sorted(n for n in acknowledged - refused if ref(n) not in stored)
    assert lost == [], f"click answered 200 but never stored: {lost}"
    assert {r: v for r, v in stored.items() if len(v) > 1} == {}, "a click stored twice"
    assert {r: v[0][:2] for r, v in stored.items()} == {
        r: (score_of(int(r.split("-")[1])), "button") for r in stored
    }

    claimed = live_claims(empty_database_url)
    lapse_claims(empty_database_url, claimed)
    with leadloop_run(env):
        wait_for_database(
            lambda: (
                {
                    status
                    for kind in (RATING_POST, HANDOFF_REFRESH)
                    for status in outbox_statuses(empty_database_url, kind).values()
                }
                == {"sent"}
            )
        )

    posts = feedback_posts(fake_slack)
    doubled = {r: ts for r, ts in posts.items() if len(ts) > 1}
    updated = handoff_updates(fake_slack, handoffs)
    print(
        f"\nhand-off clicks crash: {len(acknowledged)} acknowledged of {LEADS}, "
        f"{len(refused)} told nothing was saved, {len(stored)} stored, {len(lost)} lost; "
        f"{len(claimed)} outbox rows claimed when killed; {len(doubled)} rating posts doubled"
    )
    assert doubled == {}, f"posted more than once: {doubled}"
    assert set(posts) == set(stored), f"never posted: {sorted(set(stored) - set(posts))}"
    recorded = {r: v[0][2] for r, v in stored_ratings(empty_database_url).items()}
    assert recorded == {r: ts[0] for r, ts in posts.items()}, "a rating names another post"
    assert set(updated) == set(stored), f"hand-offs never updated: {set(stored) - set(updated)}"
