"""Two ``leadloop run`` processes on one PostgreSQL database post each reminder once.

Both processes run on the same simulated clock (one real second is twelve hours), so a
week of meetings passes in seconds; the fake Slack server records every post.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import (
    add_daily_meetings,
    free_port,
    fresh_postgres_database,
    reminders_per_occurrence,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "CMEETINGS"
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
SCALE = 43_200  # one real second is twelve simulated hours
DAYS = 6
MEETING_HOURS = (6, 12, 18, 23)  # four daily meetings, reminders six hours ahead


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A brand-new, unmigrated PostgreSQL database: both processes migrate it at once."""
    with fresh_postgres_database("leadloop_two") as url:
        yield url


def start_instance(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "bot",
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)


def test_two_instances_post_every_occurrence_exactly_once(
    empty_postgres_url: str, fake_slack: FakeSlack
) -> None:
    # Both processes are up before the simulated week begins, even on a busy machine.
    epoch = time.time() + 10
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-two-instances",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": empty_postgres_url,
        "SCHEDULER_TICK_SECONDS": "0.05",
        "LEADLOOP_CLOCK_START": START.isoformat(),
        "LEADLOOP_CLOCK_EPOCH": str(epoch),
        "LEADLOOP_CLOCK_SCALE": str(SCALE),
        "LOG_LEVEL": "WARNING",
    }
    instances = [start_instance(env), start_instance(env)]
    try:
        # Migrates too, racing the two instances.
        add_daily_meetings(empty_postgres_url, start=START, hours=MEETING_HOURS, channel=CHANNEL)
        expected = DAYS * len(MEETING_HOURS)
        # Wait past the last counted occurrence, so any double post would have happened.
        posts = fake_slack.wait_for("chat.postMessage", expected + 2, timeout=60)
        assert all(instance.poll() is None for instance in instances)
    finally:
        for instance in instances:
            instance.terminate()
        for instance in instances:
            instance.wait(timeout=30)

    counted = reminders_per_occurrence(posts, channel=CHANNEL, before=START + timedelta(days=DAYS))
    wanted = {
        START + timedelta(days=day, hours=hour) for day in range(DAYS) for hour in MEETING_HOURS
    }
    assert set(counted) == wanted
    assert set(counted.values()) == {1}, {m: n for m, n in counted.items() if n > 1}
