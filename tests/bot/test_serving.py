"""``leadloop run`` served by gunicorn with several workers, as real processes.

Each test starts the real command on a free port, waits for its log lines (it never
sleeps) and talks to it over HTTP the way Slack does; the fake Slack server records, and
can hold, every Slack call.
"""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from bot.cli import build_parser
from handlers.errors import DATABASE_DOWN
from storage.engine import normalise_database_url
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import add_daily_meetings, fresh_postgres_database, reminders_per_occurrence
from tests.slack_app_client import HttpAnswer, http_request

ROOT = Path(__file__).resolve().parents[2]
LISTENING = "leadloop is listening on "
STOPPING = "is stopping: finishing accepted work"
LOG_TIMEOUT = 30.0


@dataclass
class BotProcess:
    """A running ``leadloop run``; its stderr is read on a thread, so waits can time out."""

    process: subprocess.Popen[str]
    url: str = ""
    worker_pids: list[int] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_log(self, needle: str, count: int = 1) -> list[str]:
        """Read log lines until ``count`` of them contain ``needle``; returns those."""
        found: list[str] = []
        while len(found) < count:
            try:
                line = self._lines.get(timeout=LOG_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no {needle!r} in: {''.join(self.log)}") from None
            if line is None:
                raise AssertionError(f"exited before logging {needle!r}: {''.join(self.log)}")
            self.log.append(line)
            if needle in line:
                found.append(line)
        return found

    def exit_code_and_log(self) -> tuple[int, str]:
        """Wait for the process to end; its exit code and everything it logged."""
        code = self.process.wait(timeout=60)
        while (line := self._lines.get(timeout=LOG_TIMEOUT)) is not None:
            self.log.append(line)
        return code, "".join(self.log)


StartBot = Callable[..., BotProcess]


@pytest.fixture
def start_bot() -> Iterator[StartBot]:
    """Starts ``leadloop run --workers N`` and waits until every worker listens."""
    started: list[BotProcess] = []

    def start(env: dict[str, str], *, workers: int) -> BotProcess:
        command = [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", "0"]
        command += ["--workers", str(workers)]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        bot = BotProcess(process)
        started.append(bot)
        ready = bot.wait_for_log(LISTENING, count=workers)
        match = re.search(r"http://[\d.]+:\d+", ready[0])
        assert match is not None
        bot.url = match.group(0)
        bot.worker_pids = [int(line.rsplit("worker ", 1)[1].rstrip(")\n")) for line in ready]
        return bot

    yield start
    for bot in started:
        if bot.process.poll() is None:
            bot.process.kill()
        bot.process.wait(timeout=30)


def bot_env(fake_slack: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-serving-test-token",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
        **extra,
    }


def rating_request(lead_ref: str, fake_slack: FakeSlack) -> tuple[bytes, dict[str, str]]:
    """A signed ``/rate-lead`` for ``lead_ref``: its body and headers."""
    body = payloads.form_body(
        payloads.slash_command(f"{lead_ref} 2 no budget", response_url=fake_slack.response_url())
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    return body.encode(), headers


def rate(base_url: str, lead_ref: str, fake_slack: FakeSlack) -> HttpAnswer:
    body, headers = rating_request(lead_ref, fake_slack)
    return http_request(base_url + "/slack/events", method="POST", body=body, headers=headers)


def query(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql)).all())
    finally:
        engine.dispose()


def rating_posts(database_url: str) -> dict[str, str]:
    """Each stored rating's lead and the status of the post it owes."""
    rows = query(
        database_url,
        "SELECT lead.external_ref, outbox_message.status FROM rating "
        "JOIN lead ON lead.id = rating.lead_id "
        "JOIN outbox_message ON outbox_message.rating_id = rating.id "
        "AND outbox_message.kind = 'rating_post'",
    )
    return dict(rows)


def test_sigterm_answers_requests_in_flight_and_loses_no_accepted_rating(
    fake_slack: FakeSlack, tmp_path: Path, start_bot: StartBot
) -> None:
    database_url = f"sqlite:///{tmp_path / 'leadloop.db'}"
    bot = start_bot(bot_env(fake_slack, database_url), workers=2)
    release = fake_slack.hold("chat.postMessage")
    assert rate(bot.url, "HELD-1", fake_slack).status == 200
    fake_slack.wait_for("chat.postMessage")  # the rating's post is on its way, held by Slack
    address = urlsplit(bot.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    connection.request("GET", "/healthz")
    health = connection.getresponse()
    health.read()
    assert health.status == 200  # and the connection stays open for the next request

    bot.process.send_signal(signal.SIGTERM)
    bot.wait_for_log("Handling signal: term")
    body, headers = rating_request("DURING-2", fake_slack)
    connection.request("POST", "/slack/events", body=body, headers=headers)
    during = connection.getresponse()
    during.read()
    connection.close()
    bot.wait_for_log(STOPPING, count=2)  # both workers are waiting for their accepted work
    release.set()

    code, log = bot.exit_code_and_log()
    assert code == 0
    assert during.status == 200
    assert "leadloop stopped" in log
    assert "Traceback" not in log
    # Both ratings are stored, and both posts were delivered before the worker exited (one
    # cut short by the graceful timeout would stay "pending" in the outbox, never lost).
    assert rating_posts(database_url) == {"HELD-1": "sent", "DURING-2": "sent"}
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def rate_many(base_url: str, refs: list[str], fake_slack: FakeSlack) -> list[HttpAnswer]:
    """Rate each lead, 8 requests at a time; the answers."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda r: rate(base_url, r, fake_slack), refs))


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """Stop a worker process, so that only the others accept connections meanwhile."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_each_of_two_workers_serves_and_together_they_store_every_rating(
    fake_slack: FakeSlack, database_url: str, start_bot: StartBot
) -> None:
    bot = start_bot(bot_env(fake_slack, database_url), workers=2)
    first, second = bot.worker_pids
    refs = [f"LOAD-{n}" for n in range(120)]

    with paused(first):  # only the second worker can answer these
        only_second = rate_many(bot.url, refs[:20], fake_slack)
    with paused(second):
        only_first = rate_many(bot.url, refs[20:40], fake_slack)
    both = rate_many(bot.url, refs[40:], fake_slack)

    answers = dict(zip(refs, only_second + only_first + both, strict=True))
    assert {answer.status for answer in answers.values()} == {200}
    told = {ref: str(answer.json()["text"]) for ref, answer in answers.items()}
    confirmed = [ref for ref in refs if f"*{ref}*" in told[ref] and "It is saved" in told[ref]]
    refused = [ref for ref in refs if told[ref] == DATABASE_DOWN]
    assert sorted(confirmed + refused) == sorted(refs)  # each rep told one or the other
    # A worker stopped while it holds SQLite's one write lock (recording a post, say) makes
    # the other's writes give up after 1.5 s rather than keep Slack waiting: those reps are
    # told that nothing was saved. PostgreSQL has no such single lock.
    if not database_url.startswith("sqlite"):
        assert refused == []
    assert len(confirmed) >= len(refs) - 20
    assert set(rating_posts(database_url)) == set(confirmed)  # stored before their acks
    fake_slack.wait_for("chat.postMessage", len(confirmed), timeout=30)
    bot.process.send_signal(signal.SIGTERM)
    assert bot.exit_code_and_log()[0] == 0  # after finishing its accepted work
    assert rating_posts(database_url) == dict.fromkeys(confirmed, "sent")
    assert len(fake_slack.calls_to("chat.postMessage")) == len(confirmed)  # each posted once


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_and_threads_must_be_positive_whole_numbers(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in ("--workers", "--threads"):
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(["run", option, value])
        assert exit_.value.code == 2
        assert option in capsys.readouterr().err


# --- scheduled posts with three workers ----------------------------------------------------

CHANNEL = "CMEETINGS"
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
SCALE = 43_200  # one real second is twelve simulated hours
DAYS = 3
MEETING_HOURS = (6, 12, 18, 23)  # four daily meetings, reminders six hours ahead
needs_postgres = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database, dropped after the test."""
    with fresh_postgres_database("leadloop_serving") as url:
        yield url


def test_three_workers_post_every_scheduled_reminder_exactly_once(
    fresh_postgres_url: str, fake_slack: FakeSlack, start_bot: StartBot
) -> None:
    add_daily_meetings(fresh_postgres_url, start=START, hours=MEETING_HOURS, channel=CHANNEL)
    # The workers are up before the simulated week begins, even on a busy machine.
    epoch = time.time() + 10
    env = bot_env(
        fake_slack,
        fresh_postgres_url,
        SCHEDULER_TICK_SECONDS="0.05",
        LEADLOOP_CLOCK_START=START.isoformat(),
        LEADLOOP_CLOCK_EPOCH=str(epoch),
        LEADLOOP_CLOCK_SCALE=str(SCALE),
    )
    bot = start_bot(env, workers=3)
    assert time.time() < epoch, "the workers took too long to start for this clock"

    expected = DAYS * len(MEETING_HOURS)
    # Wait past the last counted occurrence, so any double post would have happened.
    posts = fake_slack.wait_for("chat.postMessage", expected + 2, timeout=60)
    bot.process.send_signal(signal.SIGTERM)
    assert bot.exit_code_and_log()[0] == 0

    counted = reminders_per_occurrence(posts, channel=CHANNEL, before=START + timedelta(days=DAYS))
    wanted = {
        START + timedelta(days=day, hours=hour) for day in range(DAYS) for hour in MEETING_HOURS
    }
    assert set(counted) == wanted
    assert set(counted.values()) == {1}, {m: n for m, n in counted.items() if n > 1}
