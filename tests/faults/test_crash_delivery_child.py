"""The delivery process alone dies while Slack answers slowly: no post is lost or doubled.

Real processes: ``leadloop run`` answers a few ``/rate-lead`` commands and its delivery child
starts posting them, but Slack holds every ``chat.postMessage`` (a slow Slack). The delivery
child gets SIGKILL with its sender threads waiting on Slack; ``leadloop run`` itself lives on
and starts a new one. Then Slack answers the held calls: most of those posts reach the
channel after their sender died, and two never do (the connection drops). Once the dead
child's claims have run out, the new child posts each rating exactly once: it finds the
posts that reached Slack through their metadata (``conversations.history``) and records
them, and posts the ones that did not.
"""

from __future__ import annotations

import re

import pytest

from bot.delivery import SENDER_THREADS
from domain.outbox_kinds import RATING_POST
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.faults.crash_harness import (
    DELIVERING,
    Bot,
    bot_env,
    kill_delivery_child,
    lapse_claims,
    leadloop_run,
    live_claims,
    outbox_statuses,
    post_signed,
    real_time_slack,
    rows,
)
from tests.processes import wait_for_database

RATINGS = SENDER_THREADS + 4  # some are still waiting for a sender thread when it dies
NEVER_ARRIVED = 2  # held posts whose connection Slack drops: they never reach the channel
POST = "chat.postMessage"
LEAD = re.compile(r"\bSLOW-\d+\b")


def rate(bot: Bot, fake_slack: FakeSlack, number: int) -> int:
    body = payloads.form_body(
        payloads.slash_command(
            f"SLOW-{number} 3 slow Slack {number}",
            response_url=fake_slack.response_url(f"slow{number}"),
        )
    )
    return post_signed(bot.events_url, body, content_type="application/x-www-form-urlencoded")


def feedback_posts(fake_slack: FakeSlack) -> dict[str, list[str]]:
    """Each lead posted to the feedback channel -> the ts of each of its posts."""
    posts: dict[str, list[str]] = {}
    for params, ts in list(fake_slack.posts):
        if params.get("channel") == payloads.FEEDBACK_CHANNEL:
            for ref in set(LEAD.findall(str(params.get("text", "")))):
                posts.setdefault(ref, []).append(ts)
    return posts


def refs_of(database_url: str, message_ids: set[int]) -> set[str]:
    """The leads of these rating posts' outbox rows."""
    return {
        str(ref)
        for ref, message_id in rows(
            database_url,
            "SELECT lead.external_ref, outbox_message.id FROM outbox_message "
            "JOIN rating ON rating.id = outbox_message.rating_id "
            "JOIN lead ON lead.id = rating.lead_id",
        )
        if message_id in message_ids
    }


def recorded_posts(database_url: str) -> dict[str, str | None]:
    return {
        str(ref): post_ts
        for ref, post_ts in rows(
            database_url,
            "SELECT lead.external_ref, rating.post_ts "
            "FROM rating JOIN lead ON lead.id = rating.lead_id",
        )
    }


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_killed_delivery_child_is_replaced_and_every_rating_is_posted_once(
    fake_slack: FakeSlack, empty_database_url: str
) -> None:
    env = bot_env(real_time_slack(fake_slack), empty_database_url)
    with leadloop_run(env) as bot:
        slow = fake_slack.hold(POST)
        fake_slack.fail_next(POST, drop_connection=True, times=NEVER_ARRIVED)
        assert [rate(bot, fake_slack, n) for n in range(RATINGS)] == [200] * RATINGS
        calls = fake_slack.wait_for(POST, count=SENDER_THREADS)  # every sender waits on Slack
        # Claimed: those being sent, and those queued to the senders (claimed in a batch).
        in_flight = live_claims(empty_database_url)
        assert len(in_flight) >= SENDER_THREADS
        sending = {ref for call in calls for ref in LEAD.findall(str(call.params.get("text")))}
        assert len(sending) == SENDER_THREADS and sending <= refs_of(empty_database_url, in_flight)

        first = kill_delivery_child(bot)
        slow.set()  # Slack answers now: to nobody
        fake_slack.wait_until(
            lambda: len(sending & set(feedback_posts(fake_slack))) == len(sending) - NEVER_ARRIVED
        )
        reached_slack = sending & set(feedback_posts(fake_slack))
        # The new child sends what was never claimed, and leaves the dead one's claims be.
        wait_for_database(
            lambda: (
                {
                    message_id
                    for message_id, status in outbox_statuses(
                        empty_database_url, RATING_POST
                    ).items()
                    if status == "pending"
                }
                == in_flight
            )
        )
        assert live_claims(empty_database_url) == in_flight
        assert all(len(ts) == 1 for ts in feedback_posts(fake_slack).values())
        lapse_claims(empty_database_url, in_flight)  # 45 s later
        wait_for_database(
            lambda: (
                list(outbox_statuses(empty_database_url, RATING_POST).values())
                == ["sent"] * RATINGS
            )
        )
        assert bot.process.poll() is None, "leadloop run died with its delivery child"
        second = bot.delivery_pid()
        assert second != first
        assert len(bot.log.containing(DELIVERING)) == 2

    posts = feedback_posts(fake_slack)
    doubled = {ref: ts for ref, ts in posts.items() if len(ts) > 1}
    looked = len(fake_slack.calls_to("conversations.history"))
    print(
        f"\ndelivery child killed: {RATINGS} ratings, {len(in_flight)} being sent, "
        f"{len(reached_slack)} of them reached Slack after the kill; {len(posts)} posted, "
        f"{len(doubled)} doubled; {looked} history looks"
    )
    assert doubled == {}, f"posted more than once: {doubled}"
    assert sorted(posts) == sorted(f"SLOW-{n}" for n in range(RATINGS))
    assert recorded_posts(empty_database_url) == {ref: ts[0] for ref, ts in posts.items()}
    assert looked >= len(in_flight)
