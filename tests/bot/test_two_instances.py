"""Two ``leadloop run`` processes on one PostgreSQL database post each reminder once.

Both processes run on the same simulated clock (one real second is twelve hours), so a
week of meetings passes in seconds; the fake Slack server records every post.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.engine import create_db_engine, make_session_factory, normalise_database_url
from storage.migrate import upgrade_to_head
from storage.models import Meeting
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "CMEETINGS"
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)  # a Monday
SCALE = 43_200  # one real second is twelve simulated hours
DAYS = 6
MEETING_HOURS = (6, 12, 18, 23)  # four daily meetings, reminders six hours ahead
OCCURRENCE = re.compile(r"<!date\^(\d+)\^")


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A brand-new, unmigrated PostgreSQL database: both processes migrate it at once."""
    admin_url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    name = f"leadloop_two_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def add_meetings(database_url: str) -> None:
    engine = create_db_engine(database_url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        for hour in MEETING_HOURS:
            session.add(
                Meeting(
                    team_id=payloads.TEAM_ID,
                    channel_id=CHANNEL,
                    title=f"Sync at {hour}",
                    weekdays=list(range(7)),
                    anchor_date=date(2026, 1, 5),
                    local_time=f"{hour:02d}:00",
                    timezone="UTC",
                    remind_minutes=6 * 60,
                    created_by="UCREATOR",
                    created_at=START,
                    active_since=START,
                )
            )
        session.commit()
    engine.dispose()


def test_two_instances_post_every_occurrence_exactly_once(
    empty_postgres_url: str, fake_slack: FakeSlack
) -> None:
    epoch = time.time() + 4  # both processes are up before the simulated week begins
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
        add_meetings(empty_postgres_url)  # migrates too, racing the two instances
        expected = DAYS * len(MEETING_HOURS)
        # Wait past the last counted occurrence, so any double post would have happened.
        posts = fake_slack.wait_for("chat.postMessage", expected + 2, timeout=60)
        assert all(instance.poll() is None for instance in instances)
    finally:
        for instance in instances:
            instance.terminate()
        for instance in instances:
            instance.wait(timeout=30)

    end = START + timedelta(days=DAYS)
    occurrences = Counter(
        datetime.fromtimestamp(int(match.group(1)), UTC)
        for post in posts
        if post.params["channel"] == CHANNEL
        for match in [OCCURRENCE.search(str(post.params["blocks"]))]
        if match
    )
    counted = {moment: n for moment, n in occurrences.items() if moment < end}
    wanted = {
        START + timedelta(days=day, hours=hour) for day in range(DAYS) for hour in MEETING_HOURS
    }
    assert set(counted) == wanted
    assert set(counted.values()) == {1}, {m: n for m, n in counted.items() if n > 1}
