"""A thread reply Slack got a 200 for is stored, even when every process dies at once.

Real processes: ``leadloop run`` posts a few ratings; marketing then answers in their threads
with a burst of signed ``message`` events, and once some were answered 200 every process of
``leadloop run`` (master, workers, delivery child) gets SIGKILL. Slack does not send an event
again once it got its 200, so each of those replies must already be stored. The ones that got
no answer, Slack does send again (``X-Slack-Retry-Num``, same ``event_id``) once the bot is
back: some of them were stored before the kill, and none may be stored twice. The rater's
note that marketing answered goes out exactly once per rating, across the crash.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest

from domain.outbox_kinds import ANSWER_NOTICE, RATING_POST
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

RATINGS = 8
BURST = 48  # replies sent, six per rating thread
KILL_AFTER = 16  # answered with 200 before every process is killed
MARKETING = "S0MARKETING"
LEAD = re.compile(r"\bREPLY-\d+\b")


def reply_envelope(number: int, *, thread_ts: str, base: int) -> dict[str, object]:
    """Marketing's reply number ``number`` in the thread of the post ``thread_ts``."""
    event = payloads.thread_reply(
        thread_ts=thread_ts,
        ts=f"{base + number}.000100",
        text=f"Reply {number}: these came from the webinar list",
    )
    return payloads.event_callback(event, event_id=f"EvCrash{number:03d}")


def deliver(bot: Bot, envelope: dict[str, object], *, retry_num: int | None = None) -> int:
    """One Events API delivery, signed; the status (0: no answer)."""
    extra = {}
    if retry_num is not None:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    return post_signed(
        bot.events_url, json.dumps(envelope), content_type="application/json", extra=extra
    )


def post_ratings(bot: Bot, fake_slack: FakeSlack, database_url: str) -> dict[str, str]:
    """Rate RATINGS leads and wait for their posts; each lead's post ts."""
    for number in range(RATINGS):
        body = payloads.form_body(
            payloads.slash_command(
                f"REPLY-{number} 2 thread number {number}",
                response_url=fake_slack.response_url(f"rate{number}"),
            )
        )
        assert post_signed(bot.events_url, body, content_type=FORM) == 200
    wait_for_database(
        lambda: list(outbox_statuses(database_url, RATING_POST).values()) == ["sent"] * RATINGS
    )
    return {
        str(ref): str(post_ts)
        for ref, post_ts in rows(
            database_url,
            "SELECT lead.external_ref, rating.post_ts "
            "FROM rating JOIN lead ON lead.id = rating.lead_id",
        )
    }


FORM = "application/x-www-form-urlencoded"


def stored_replies(database_url: str) -> Counter[str]:
    """How many response rows each reply ts has."""
    return Counter(str(ts) for (ts,) in rows(database_url, "SELECT ts FROM response"))


def claimed_events(database_url: str) -> Counter[str]:
    """How many processed_event rows each event_id has."""
    return Counter(str(e) for (e,) in rows(database_url, "SELECT event_id FROM processed_event"))


def answer_notices(fake_slack: FakeSlack) -> Counter[str]:
    """How many notes each rated lead's rater got (DMs to the rater naming the lead)."""
    return Counter(
        ref
        for params, _ in list(fake_slack.posts)
        if params.get("channel") == payloads.RATER_ID
        for ref in set(LEAD.findall(str(params.get("text", ""))))
    )


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_thread_reply_survives_sigkill_and_is_stored_once(
    fake_slack: FakeSlack, empty_database_url: str
) -> None:
    fake_slack.usergroups[MARKETING] = [payloads.MARKETER_ID]
    env = bot_env(real_time_slack(fake_slack), empty_database_url, MARKETING_USERGROUP=MARKETING)
    base = int(time.time())
    with leadloop_run(env) as bot:
        post_ts = post_ratings(bot, fake_slack, empty_database_url)
        threads = [post_ts[f"REPLY-{n}"] for n in range(RATINGS)]
        envelopes = [
            reply_envelope(n, thread_ts=threads[n % RATINGS], base=base) for n in range(BURST)
        ]
        acknowledged, _ = burst_then_kill(
            bot, lambda n: deliver(bot, envelopes[n]), count=BURST, kill_after=KILL_AFTER
        )

    def ts_of(number: int) -> str:
        return f"{base + number}.000100"

    replies = stored_replies(empty_database_url)
    lost = sorted(n for n in acknowledged if replies[ts_of(n)] == 0)
    assert lost == [], f"answered 200 but never stored: {lost}"
    assert {ts: count for ts, count in replies.items() if count > 1} == {}
    stored_unacknowledged = sorted(n for n in set(range(BURST)) - acknowledged if replies[ts_of(n)])

    # Slack sends again every event that got no 200, once the bot answers again.
    claimed = live_claims(empty_database_url)
    lapse_claims(empty_database_url, claimed)
    with leadloop_run(env) as bot:
        unanswered = sorted(set(range(BURST)) - acknowledged)
        statuses = [deliver(bot, envelopes[n], retry_num=1) for n in unanswered]
        assert statuses == [200] * len(unanswered)
        wait_for_database(
            lambda: set(outbox_statuses(empty_database_url, ANSWER_NOTICE).values()) == {"sent"}
        )

    replies = stored_replies(empty_database_url)
    events = claimed_events(empty_database_url)
    notices = answer_notices(fake_slack)
    doubled = {ts: count for ts, count in replies.items() if count > 1}
    print(
        f"\nthread replies crash: {len(acknowledged)} acknowledged of {BURST}, "
        f"{len([n for n in acknowledged if replies[ts_of(n)]])} of them stored, "
        f"{len(stored_unacknowledged)} stored without a 200 (then retried by Slack); "
        f"{len(doubled)} doubled; {len(claimed)} notes claimed when killed, "
        f"{sum(notices.values())} notes sent for {len(notices)} ratings"
    )
    assert doubled == {}, f"stored more than once: {doubled}"
    assert sorted(replies) == sorted(ts_of(n) for n in range(BURST))
    assert sorted(events.elements()) == sorted(f"EvCrash{n:03d}" for n in range(BURST))
    assert notices == Counter({f"REPLY-{n}": 1 for n in range(RATINGS)}), notices
