"""Two ``leadloop run`` processes on one PostgreSQL database, no load balancer in front.

The test itself alternates Slack's requests between the two instances: ratings of the same
leads arrive at both at once, each thread reply reaches one instance and Slack's retry of
it the other (some first deliveries are lost, so only the retry arrives), and both
schedulers tick on one meeting. Both run the same simulated clock
(one real second is two minutes), so a reminder and its snooze come due within seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from handlers import ids
from handlers.errors import DATABASE_DOWN, SOMETHING_BROKE
from storage.engine import (
    SessionFactory,
    create_db_engine,
    make_session_factory,
    normalise_database_url,
)
from storage.models import Lead, OutboxMessage, ProcessedEvent, Rating, Response, ScheduledPost
from tests import slack_payloads as payloads
from tests.fake_slack import Call, FakeSlack
from tests.processes import free_port, wait_for_database
from tests.slack_app_client import HttpAnswer, http_request

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)  # a Monday afternoon
SCALE = 120  # one real second is two simulated minutes
MEETING_CHANNEL = "CMEETINGS"
RATINGS = 40
LEADS = 10  # four ratings per lead, from both instances at once
REPLIED = range(0, RATINGS, 3)  # ratings whose post marketing answers
ANSWERED_TWICE = (0, 3)  # ...and answers a second time: no second DM
FIRST_DELIVERY_LOST = 4  # every fourth reply reaches us only as Slack's retry
POST = "chat.postMessage"
REMINDER_AT = re.compile(r"<!date\^(\d+)\^")


@dataclass
class Instance:
    """One ``leadloop run`` process and the log lines it has written so far."""

    process: subprocess.Popen[str]
    base_url: str
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    _seen: threading.Condition = field(default_factory=threading.Condition)

    def drain_log(self) -> None:
        """Collect stderr (on a thread, so the process never blocks on a full pipe)."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for_line(self, needle: str, timeout: float = 30) -> None:
        """Block until the log has a line containing ``needle``."""
        with self._seen:
            found = self._seen.wait_for(
                lambda: (
                    any(needle in line for line in self.lines) or self.process.poll() is not None
                ),
                timeout=timeout,
            )
            log = "".join(self.lines)
        assert found and needle in log, f"no {needle!r} in the log:\n{log}"

    def post(
        self, body: str, *, content_type: str, headers: dict[str, str] | None = None
    ) -> HttpAnswer:
        """A request signed as Slack signs it, to this instance."""
        signed = payloads.signed_headers(body, content_type=content_type)
        signed.update(headers or {})
        return http_request(
            self.base_url + "/slack/events", method="POST", body=body.encode(), headers=signed
        )

    def command(self, text: str, *, response_url: str, **fields: Any) -> HttpAnswer:
        """A slash command (``/rate-lead`` unless ``command=`` says otherwise)."""
        form = payloads.slash_command(text, response_url=response_url, **fields)
        return self.post(payloads.form_body(form), content_type="application/x-www-form-urlencoded")

    def event(self, envelope: dict[str, Any], *, retry_num: int | None = None) -> HttpAnswer:
        """An Events API delivery, as Slack's retry when ``retry_num`` is given."""
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(envelope), content_type="application/json", headers=headers)

    def click(self, payload: dict[str, Any]) -> HttpAnswer:
        """An interactivity payload (a button click)."""
        return self.post(
            payloads.interactive_body(payload), content_type="application/x-www-form-urlencoded"
        )


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database of this test's own; both instances migrate it."""
    admin_url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    name = f"leadloop_alt_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class Cluster:
    """The two instances, the real time at which their simulated clock shows START, and
    their database."""

    instances: list[Instance]
    epoch: float
    database_url: str

    def simulated_now(self) -> datetime:
        """The simulated time both instances read at this real moment."""
        return START + timedelta(seconds=(time.time() - self.epoch) * SCALE)


def instance_env(database_url: str, fake_slack: FakeSlack, *, epoch: float) -> dict[str, str]:
    """The environment both instances run with: one database, one Slack, one clock."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-alternated",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
        "SCHEDULER_TICK_SECONDS": "0.05",
        "LEADLOOP_CLOCK_START": START.isoformat(),
        "LEADLOOP_CLOCK_EPOCH": str(epoch),
        "LEADLOOP_CLOCK_SCALE": str(SCALE),
        "LOG_LEVEL": "INFO",
    }


def start_instance(env: dict[str, str]) -> Instance:
    """``leadloop run`` on a free port, its log collected as it is written."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    instance = Instance(process, f"http://127.0.0.1:{port}")
    instance.reader = threading.Thread(target=instance.drain_log, daemon=True)
    instance.reader.start()
    return instance


@pytest.fixture
def cluster(empty_postgres_url: str, fake_slack: FakeSlack) -> Iterator[Cluster]:
    """Two ``leadloop run`` processes, both listening, on one database and one clock.

    The second starts once the first listens: starting both at the same moment is
    ``test_two_instances_started_at_the_same_moment_both_come_up``'s subject.
    """
    epoch = time.time()
    env = instance_env(empty_postgres_url, fake_slack, epoch=epoch)
    started: list[Instance] = []
    try:
        for _ in range(2):
            started.append(start_instance(env))
            started[-1].wait_for_line("leadloop is listening")
        yield Cluster(started, epoch, empty_postgres_url)
    finally:
        stop(started)


def stop(instances: list[Instance]) -> None:
    """SIGTERM both (they finish accepted work first) and wait for them to exit."""
    for instance in instances:
        if instance.process.poll() is None:
            instance.process.send_signal(signal.SIGTERM)
    for instance in instances:
        try:
            instance.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            instance.process.kill()
            instance.process.wait(timeout=30)
        if instance.reader is not None:
            instance.reader.join(timeout=30)


def feedback_posts(fake_slack: FakeSlack) -> list[Call]:
    """Posts to the feedback channel."""
    return [
        c for c in fake_slack.calls_to(POST) if c.params["channel"] == payloads.FEEDBACK_CHANNEL
    ]


def reminder_posts(fake_slack: FakeSlack) -> list[Call]:
    """Posts to the meeting's channel."""
    return [c for c in fake_slack.calls_to(POST) if c.params["channel"] == MEETING_CHANNEL]


def direct_messages(fake_slack: FakeSlack) -> list[Call]:
    """Posts to a user ID: DMs."""
    return [c for c in fake_slack.calls_to(POST) if str(c.params["channel"]).startswith("U")]


def rater(number: int) -> str:
    """Each rating has its own rater, so each DM names one rating."""
    return f"URATER{number:02d}"


def reason(number: int) -> str:
    """A reason that identifies the rating in its post."""
    return f"batch {number:02d} wrong fit"


def posts_recorded(session_factory: SessionFactory) -> int:
    """How many ratings have their post's ts stored."""
    with session_factory() as session:
        return len([r for r in session.exec(select(Rating)).all() if r.post_ts])


def snooze_value(call: Call) -> str:
    """The post id carried by a reminder's snooze button."""
    for block in call.params["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == ids.MEETING_SNOOZE:
                return str(element["value"])
    raise AssertionError("the reminder has no snooze button")


def rate_through_alternating_instances(cluster: Cluster, fake_slack: FakeSlack) -> list[HttpAnswer]:
    """Forty ratings of ten leads, even ones to the first instance, odd ones to the second,
    eight at a time; each rating's ack, which confirms it."""

    def rate(number: int) -> HttpAnswer:
        instance = cluster.instances[number % 2]
        return instance.command(
            f"LEAD-{number % LEADS} {number % 5 + 1} {reason(number)}",
            response_url=fake_slack.response_url(f"rating{number:02d}"),
            user_id=rater(number),
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(rate, range(RATINGS)))
    assert {answer.status for answer in answers} == {200}
    fake_slack.wait_for(POST, RATINGS, timeout=20)
    return answers


def reply_then_retry_on_the_other_instance(
    cluster: Cluster, fake_slack: FakeSlack, post_ts: dict[int, str]
) -> tuple[int, int]:
    """Marketing's replies: each delivery to one instance and, at the same moment, Slack's
    retry of it to the other; some first deliveries never arrive, only their retry.
    Returns how many replies were sent and how many of them arrived twice."""
    deliveries: list[tuple[Instance, dict[str, Any], int | None]] = []
    replies = [(number, payloads.MARKETER_ID) for number in REPLIED]
    replies += [(number, "UMARKETER2") for number in ANSWERED_TWICE]
    for index, (number, author) in enumerate(replies):
        reply = payloads.thread_reply(
            thread_ts=post_ts[number],
            ts=f"1800000000.{index:06d}",
            user=author,
            text=f"answer {index} about rating {number}",
        )
        envelope = payloads.event_callback(reply, event_id=f"Ev{index:04d}")
        first, other = cluster.instances[index % 2], cluster.instances[1 - index % 2]
        if index % FIRST_DELIVERY_LOST != FIRST_DELIVERY_LOST - 1:
            deliveries.append((first, envelope, None))
        deliveries.append((other, envelope, 1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda d: d[0].event(d[1], retry_num=d[2]), deliveries))
    assert {answer.status for answer in answers} == {200}
    return len(replies), len(deliveries) - len(replies)


def test_two_instances_store_every_rating_and_reply_once_and_post_scheduled_work_once(
    cluster: Cluster, fake_slack: FakeSlack
) -> None:
    engine = create_db_engine(cluster.database_url)
    session_factory = make_session_factory(engine)
    first, second = cluster.instances

    rating_answers = rate_through_alternating_instances(cluster, fake_slack)
    # Each rating's post as Slack gave it its ts: the instance records that ts just after
    # the post, so the database may not have it yet when the last post arrives.
    post_ts = {
        number: ts
        for params, ts in fake_slack.posts
        for number in range(RATINGS)
        if reason(number) in json.dumps(params.get("blocks"))
    }
    assert len(post_ts) == RATINGS
    # Replies find their rating by its stored post ts: wait until both instances stored it.
    wait_for_database(lambda: posts_recorded(session_factory) == RATINGS)
    sent_replies, delivered_twice = reply_then_retry_on_the_other_instance(
        cluster, fake_slack, post_ts
    )
    fake_slack.wait_for(POST, RATINGS + len(REPLIED), timeout=20)

    # A meeting added through the first instance, its reminder due two simulated minutes
    # (a second) from now; both schedulers tick every 50 ms.
    fake_slack.set_user(payloads.RATER_ID, tz="UTC")
    meeting_at = (cluster.simulated_now() + timedelta(minutes=17)).replace(second=0, microsecond=0)
    added = first.command(
        f"add daily {meeting_at:%H:%M} Pipeline sync",
        command="/meeting",
        channel_id=MEETING_CHANNEL,
        response_url=fake_slack.response_url("meeting"),
    )
    assert "Added meeting" in added.json()["text"]  # answered in the ack, stored before it
    [reminder] = [
        call
        for call in fake_slack.wait_for(POST, RATINGS + len(REPLIED) + 1, timeout=20)
        if call.params["channel"] == MEETING_CHANNEL
    ]
    # Snoozed through the second instance: it comes back ten simulated minutes later.
    second.click(
        payloads.block_action(
            action_id=ids.MEETING_SNOOZE,
            value=snooze_value(reminder),
            channel_id=MEETING_CHANNEL,
            response_url=fake_slack.response_url("snooze"),
        )
    )
    [snoozed] = fake_slack.wait_for("response_url", 1)
    assert snoozed.params["text"].startswith("Snoozed")
    fake_slack.wait_for(POST, RATINGS + len(REPLIED) + 2, timeout=20)

    stop(cluster.instances)  # they finish their accepted work: every post there is, is made
    assert [instance.process.returncode for instance in cluster.instances] == [0, 0]

    with session_factory() as session:
        ratings = session.exec(select(Rating)).all()
        leads = session.exec(select(Lead)).all()
        responses = session.exec(select(Response)).all()
        events = session.exec(select(ProcessedEvent)).all()
        scheduled = session.exec(select(ScheduledPost)).all()
        outbox = session.exec(select(OutboxMessage)).all()
    engine.dispose()

    # Ratings: all stored once, each posted to the feedback channel once, each confirmed once.
    assert sorted(int(r.reason.split()[1]) for r in ratings) == list(range(RATINGS))
    assert sorted(lead.external_ref for lead in leads) == sorted(f"LEAD-{n}" for n in range(LEADS))
    assert all(rating.post_ts for rating in ratings)
    posted_reasons = Counter(
        number
        for call in feedback_posts(fake_slack)
        for number in range(RATINGS)
        if reason(number) in json.dumps(call.params["blocks"])
    )
    assert posted_reasons == dict.fromkeys(range(RATINGS), 1)
    assert len(feedback_posts(fake_slack)) == RATINGS
    confirmations = Counter(
        call.path.split("/")[-1].split("-")[0] for call in fake_slack.calls_to("response_url")
    )
    assert confirmations == {"snooze": 1}  # ratings and /meeting are answered in their acks
    rating_texts = [str(answer.json()["text"]) for answer in rating_answers]
    assert all(
        f"*LEAD-{number % LEADS}*" in text and "It is saved" in text
        for number, text in enumerate(rating_texts)
    )
    texts = rating_texts + [
        str(call.params.get("text")) for call in fake_slack.calls_to("response_url")
    ]
    assert not [t for t in texts if t in (DATABASE_DOWN, SOMETHING_BROKE) or "slow" in t]

    # Replies and their retries: each stored once; each rater DMed once, on the first answer.
    assert len(responses) == len({(r.channel, r.ts) for r in responses}) == sent_replies
    assert len(events) == sent_replies
    assert Counter(str(call.params["channel"]) for call in direct_messages(fake_slack)) == {
        rater(number): 1 for number in REPLIED
    }
    log = "".join(line for instance in cluster.instances for line in instance.lines)
    assert log.count("was already handled; Slack retried it") == delivered_twice
    assert "Traceback" not in log and " ERROR " not in log

    # Scheduled work: the reminder and its snooze, each claimed and posted once.
    assert Counter(post.kind for post in scheduled) == {"meeting_reminder": 1, "meeting_snooze": 1}
    assert {(post.post_channel, bool(post.post_ts)) for post in scheduled} == {
        (MEETING_CHANNEL, True)
    }
    occurrences = [
        int(match.group(1))
        for call in reminder_posts(fake_slack)
        for match in [REMINDER_AT.search(json.dumps(call.params["blocks"]))]
        if match
    ]
    assert occurrences == [int(meeting_at.timestamp())] * 2
    assert {message.status for message in outbox} == {"sent"}
    assert len(fake_slack.calls_to(POST)) == RATINGS + len(REPLIED) + 2


def test_two_instances_started_at_the_same_moment_both_come_up(
    empty_postgres_url: str, fake_slack: FakeSlack
) -> None:
    # Both instances check the bot token (auth.test) right after migrating and right before
    # recording the workspace; holding that call lines them up, as a deployment that starts
    # two replicas at once on an empty database does.
    release = fake_slack.hold("auth.test")
    env = instance_env(empty_postgres_url, fake_slack, epoch=time.time())
    instances = [start_instance(env), start_instance(env)]
    try:
        fake_slack.wait_for("auth.test", 2, timeout=30)
        release.set()
        for instance in instances:
            instance.wait_for_line("leadloop is listening")
    finally:
        release.set()
        stop(instances)

    log = "".join(line for instance in instances for line in instance.lines)
    assert "Traceback" not in log
