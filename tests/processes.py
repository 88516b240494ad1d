"""Helpers for tests that run real ``leadloop run`` processes: ports, throwaway PostgreSQL
databases, reading a process's log with timeouts, stopping it, meetings to schedule, and
counting the reminders the fake Slack received."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.engine import create_db_engine, make_session_factory, normalise_database_url
from storage.migrate import upgrade_to_head
from storage.models import Meeting
from tests import slack_payloads as payloads
from tests.fake_slack import Call

OCCURRENCE = re.compile(r"<!date\^(\d+)\^")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ProcessLog:
    """A process's log (its stderr), read line by line on a thread, waited on with timeouts.

    Reading on a thread means a test never blocks on a process that hangs without a word,
    and the pipe never fills up and stalls a process that logs a lot.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._ended = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._read, args=(stream,), name="process-log", daemon=True
        )
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()
            stream.close()

    def wait_for(self, needle: str, timeout: float = 20.0, *, count: int = 1) -> str:
        """The ``count``-th line containing ``needle`` (the first by default), once logged;
        fails after ``timeout`` seconds or when the process closed its log without it."""

        def found() -> list[str]:
            return [line for line in self.lines if needle in line]

        with self._cond:
            self._cond.wait_for(lambda: self._ended or len(found()) >= count, timeout)
            lines = found()
            if len(lines) >= count:
                return lines[count - 1]
            why = "the process ended" if self._ended else f"{timeout}s passed"
            raise AssertionError(
                f"{why} before it logged {needle!r} {count} time(s); its log:\n{self.text}"
            )

    def wait_until_closed(self, timeout: float = 20.0) -> str:
        """The whole log, once the process closed it (it ended)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the log stayed open for {timeout}s:\n{self.text}")
        return self.text

    def containing(self, needle: str) -> list[str]:
        """Every line logged so far that contains ``needle``."""
        with self._cond:
            return [line for line in self.lines if needle in line]

    @property
    def text(self) -> str:
        """Everything logged so far."""
        with self._cond:
            return "".join(self.lines)


def stop_process(
    process: subprocess.Popen[str],
    *,
    signal_number: int = signal.SIGTERM,
    process_group: bool = False,
    grace: float = 15.0,
) -> int:
    """Send ``signal_number``, and SIGKILL if it has not ended after ``grace`` seconds; its
    exit status.

    With ``process_group`` (start the process with ``start_new_session=True``) the signals
    go to its whole group, workers included, as Ctrl-C in a terminal sends SIGINT. SIGTERM
    by default, never SIGKILL first: a killed gunicorn master would leave its workers serving.
    """
    send = (lambda sig: os.killpg(process.pid, sig)) if process_group else process.send_signal
    if process.poll() is None:
        send(signal_number)
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
    return process.wait(timeout=grace)


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A brand-new, unmigrated PostgreSQL database on TEST_DATABASE_URL's server, dropped after.

    Skips the test when TEST_DATABASE_URL is not set (a SQLite-only run).
    """
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (make test does)")
    with throwaway_postgres_database(os.environ["TEST_DATABASE_URL"], prefix=prefix) as url:
        yield url


@contextmanager
def throwaway_postgres_database(admin_url: str, *, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``admin_url``; dropped after."""
    admin_url = normalise_database_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_daily_meetings(
    database_url: str, *, start: datetime, hours: Iterable[int], channel: str
) -> None:
    """Migrate the database and add one daily meeting per hour, reminders six hours ahead."""
    engine = create_db_engine(database_url)
    upgrade_to_head(engine)
    with make_session_factory(engine)() as session:
        for hour in hours:
            session.add(
                Meeting(
                    team_id=payloads.TEAM_ID,
                    channel_id=channel,
                    title=f"Sync at {hour}",
                    weekdays=list(range(7)),
                    anchor_date=start.date(),
                    local_time=f"{hour:02d}:00",
                    timezone="UTC",
                    remind_minutes=6 * 60,
                    created_by="UCREATOR",
                    created_at=start,
                    active_since=start,
                )
            )
        session.commit()
    engine.dispose()


def reminders_per_occurrence(
    posts: Iterable[Call], *, channel: str, before: datetime
) -> dict[datetime, int]:
    """How often each meeting occurrence before ``before`` was posted in ``channel``."""
    occurrences = Counter(
        datetime.fromtimestamp(int(match.group(1)), UTC)
        for post in posts
        if post.params["channel"] == channel
        for match in [OCCURRENCE.search(str(post.params["blocks"]))]
        if match
    )
    return {moment: count for moment, count in occurrences.items() if moment < before}


def wait_for_database(condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Block until ``condition()`` (a query of what other processes write) holds.

    Another process's commit sends no signal a test can wait on, so this asks again every
    50 ms, up to ``timeout`` seconds; it never decides anything by the clock.
    """
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"the database did not get there in {timeout}s"
        pause.wait(0.05)
