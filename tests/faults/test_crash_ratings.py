"""An acknowledged rating is a stored rating, even when every process dies (issue 12).

Real processes: ``leadloop run`` (gunicorn master, workers and the delivery child) serves a
burst of signed ``/rate-lead`` requests; once some have been answered 200, the whole process
group gets SIGKILL (an OOM kill, a lost host, a deploy that times out). Slack never sends an
answered command again, so every rating that got its 200 must already be in the database.
Then the bot is started again on the same database, and once the dead processes' claims have
run out every stored rating is posted exactly once: the posts that reached Slack just before
the processes died are found there (their metadata names their outbox row), not sent again.
"""

from __future__ import annotations

import re

import pytest

from domain.outbox_kinds import RATING_POST
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

BURST = 48  # requests sent
KILL_AFTER = 16  # answered with 200 before every process is killed
LEAD = re.compile(r"\bCRASH-\d+\b")


def rate(bot: Bot, number: int, fake_slack: FakeSlack) -> int:
    """One signed ``/rate-lead CRASH-<number> 2 ...``; the HTTP status, 0 when it failed."""
    body = payloads.form_body(
        payloads.slash_command(
            f"CRASH-{number} 2 burst number {number}",
            response_url=fake_slack.response_url(f"crash{number}"),
        )
    )
    return post_signed(bot.events_url, body, content_type="application/x-www-form-urlencoded")


def stored_ratings(database_url: str) -> dict[str, list[str | None]]:
    """Each lead reference -> the post ts of each of its ratings."""
    stored: dict[str, list[str | None]] = {}
    for ref, post_ts in rows(
        database_url,
        "SELECT lead.external_ref, rating.post_ts "
        "FROM rating JOIN lead ON lead.id = rating.lead_id",
    ):
        stored.setdefault(str(ref), []).append(post_ts)
    return stored


def refs_of(database_url: str, message_ids: set[int]) -> dict[str, int]:
    """The lead reference of each of these rating posts' outbox rows -> the row's id."""
    return {
        str(ref): int(message_id)
        for ref, message_id in rows(
            database_url,
            "SELECT lead.external_ref, outbox_message.id FROM outbox_message "
            "JOIN rating ON rating.id = outbox_message.rating_id "
            "JOIN lead ON lead.id = rating.lead_id",
        )
        if message_id in message_ids
    }


def feedback_posts(fake_slack: FakeSlack) -> dict[str, list[str]]:
    """Each lead posted to the feedback channel -> the ts Slack gave each of its posts."""
    posts: dict[str, list[str]] = {}
    for params, ts in list(fake_slack.posts):
        if params.get("channel") == payloads.FEEDBACK_CHANNEL:
            for ref in set(LEAD.findall(str(params.get("text", "")))):
                posts.setdefault(ref, []).append(ts)
    return posts


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_rating_survives_sigkill_and_is_posted_once(
    fake_slack: FakeSlack, empty_database_url: str
) -> None:
    env = bot_env(real_time_slack(fake_slack), empty_database_url)

    with leadloop_run(env) as bot:
        acknowledged, _ = burst_then_kill(
            bot, lambda n: rate(bot, n, fake_slack), count=BURST, kill_after=KILL_AFTER
        )

    stored = stored_ratings(empty_database_url)
    lost = sorted(n for n in acknowledged if f"CRASH-{n}" not in stored)
    assert lost == [], f"acknowledged but never stored: {lost}"
    assert {ref: len(ts) for ref, ts in stored.items() if len(ts) > 1} == {}

    # The dead processes' claims run out (45 s, written at once), then the bot starts again.
    claimed = live_claims(empty_database_url)
    orphaned = refs_of(empty_database_url, claimed)
    reached_slack = set(orphaned) & set(feedback_posts(fake_slack))
    lapse_claims(empty_database_url, claimed)
    with leadloop_run(env):
        wait_for_database(
            lambda: set(outbox_statuses(empty_database_url, RATING_POST).values()) == {"sent"}
        )

    posts = feedback_posts(fake_slack)
    doubled = {ref: ts for ref, ts in posts.items() if len(ts) > 1}
    print(
        f"\n/rate-lead crash: {len(acknowledged)} acknowledged, {len(stored)} stored, "
        f"{len(lost)} lost; {len(orphaned)} posts claimed when killed, "
        f"{len(reached_slack)} of them already in Slack; {len(doubled)} doubled"
    )
    assert doubled == {}, f"posted more than once: {doubled}"
    assert set(posts) == set(stored), f"never posted: {sorted(set(stored) - set(posts))}"
    recorded = {ref: ts[0] for ref, ts in stored_ratings(empty_database_url).items()}
    assert recorded == {ref: ts[0] for ref, ts in posts.items()}, "a rating names another post"
