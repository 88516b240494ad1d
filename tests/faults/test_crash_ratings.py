"""An acknowledged rating is a stored rating, even when every process dies (issue 12).

Real processes: ``leadloop run`` (gunicorn master and worker) serves a burst of signed
``/rate-lead`` requests; once some have been answered 200, the whole process group gets
SIGKILL (an OOM kill, a lost host, a deploy that times out). Slack never sends an answered
command again, so every rating that got its 200 must already be in the database. Then the
bot is started again on the same database: every stored rating is posted at most once, and
every one whose post was not in flight when the processes died is posted after the restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import create_db_engine
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import ProcessLog, free_port, stop_process
from tests.slack_app_client import http_request

ROOT = Path(__file__).resolve().parents[2]
BURST = 48  # requests sent
KILL_AFTER = 16  # answered with 200 before every process is killed
CONCURRENCY = 8
POSTED_WITHIN = 40.0  # seconds: the outbox sweep runs every 15 s after the restart


def bot_env(fake_slack: FakeSlack, database_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-crash-test-token",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
    }


@contextmanager
def leadloop_run(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[str]]:
    """``leadloop run`` in a process group of its own, serving on ``port``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    log = ProcessLog(process.stderr)
    try:
        log.wait_for("leadloop is listening")
        yield process
    finally:
        if process.poll() is None:
            stop_process(process, process_group=True)


def rate(base_url: str, number: int, fake_slack: FakeSlack) -> int:
    """One signed ``/rate-lead CRASH-<number> 2 ...``; the HTTP status, 0 when it failed."""
    body = payloads.form_body(
        payloads.slash_command(
            f"CRASH-{number} 2 burst number {number}",
            response_url=fake_slack.response_url(f"crash{number}"),
        )
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    try:
        return http_request(
            base_url + "/slack/events", method="POST", body=body.encode(), headers=headers
        ).status
    except OSError:  # the process died with this request in flight: never acknowledged
        return 0


def burst_then_kill(
    process: subprocess.Popen[str], base_url: str, fake_slack: FakeSlack
) -> set[int]:
    """Send the burst; SIGKILL every process once KILL_AFTER requests got 200. The numbers
    of the requests that were acknowledged."""
    acknowledged: set[int] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def send(number: int) -> None:
        if killed.is_set():
            return
        status = rate(base_url, number, fake_slack)
        with lock:
            if status == 200:
                acknowledged.add(number)
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                os.killpg(process.pid, signal.SIGKILL)

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(send, range(BURST)))
    process.wait(timeout=30)
    return acknowledged


def stored_refs(database_url: str) -> dict[str, tuple[str | None, str]]:
    """Each stored rating's lead reference -> (its post's ts, its outbox row's status)."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT lead.external_ref, rating.post_ts, outbox_message.status "
                    "FROM rating JOIN lead ON lead.id = rating.lead_id "
                    "JOIN outbox_message ON outbox_message.rating_id = rating.id"
                )
            ).all()
    finally:
        engine.dispose()
    return {str(ref): (post_ts, str(status)) for ref, post_ts, status in rows}


def claimed_when_killed(database_url: str) -> set[str]:
    """References whose post was being sent when the processes died (lease still running)."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT lead.external_ref, outbox_message.claimed_until "
                    "FROM outbox_message JOIN rating ON rating.id = outbox_message.rating_id "
                    "JOIN lead ON lead.id = rating.lead_id "
                    "WHERE outbox_message.status = 'pending'"
                )
            ).all()
    finally:
        engine.dispose()
    now = datetime.now(UTC)
    return {str(ref) for ref, until in rows if until is not None and _aware(until) > now}


def _aware(value: datetime | str) -> datetime:
    """A stored time as an aware datetime (SQLite hands raw SQL results back as text)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def feedback_posts(fake_slack: FakeSlack) -> Counter[str]:
    """How often each CRASH-n lead was posted to the feedback channel."""
    return Counter(
        word
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params.get("channel") == payloads.FEEDBACK_CHANNEL
        for word in str(call.params.get("text", "")).split()
        if word.startswith("CRASH-")
    )


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_rating_survives_sigkill_and_is_posted_once(
    fake_slack: FakeSlack, empty_database_url: str
) -> None:
    env = bot_env(fake_slack, empty_database_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    with leadloop_run(env, port) as process:
        acknowledged = burst_then_kill(process, base_url, fake_slack)
    assert len(acknowledged) >= KILL_AFTER

    stored = stored_refs(empty_database_url)
    lost = sorted(n for n in acknowledged if f"CRASH-{n}" not in stored)
    assert lost == [], f"acknowledged but never stored: {lost}"

    in_flight = claimed_when_killed(empty_database_url)
    with leadloop_run(env, free_port()):
        expected = set(stored) - in_flight
        fake_slack.wait_until(
            lambda: expected <= set(feedback_posts(fake_slack)), timeout=POSTED_WITHIN
        )

    posts = feedback_posts(fake_slack)
    assert [ref for ref, count in posts.items() if count > 1] == []
    assert expected <= set(posts)
