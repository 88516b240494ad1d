"""How many ratings per second ``leadloop run`` stores, through HTTP, on SQLite and PostgreSQL.

For each database and each worker count (1, 2 and 4 workers of 8 threads), a fresh
database and a fresh ``leadloop run`` talk to the fake Slack server. The clock starts with
the first of 2,000 signed ``/rate-lead`` requests (16 at a time) and stops when the
database holds every rating; each rating is also posted and confirmed, as in production.
Every request must get 200 and every rating must be stored.

PostgreSQL runs are made when ``TEST_DATABASE_URL`` names a server (``make bench`` sets
it); each gets a new database there, dropped afterwards.

Run: ``python -m bench.throughput``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from bench.ack_latency import (
    bench_env,
    free_port,
    load_client,
    running_server,
    server_command,
)
from storage.engine import normalise_database_url
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import throwaway_postgres_database

RATINGS = 2_000
WARM_UP = 50
CONCURRENCY = 16
WORKERS = (1, 2, 4)
THREADS = 8
GOAL_PER_SECOND = 50.0  # a whole sales floor rating at once is a few per second
STORE_TIMEOUT_SECONDS = 120

Sender = Callable[..., list[float | None]]


@dataclass(frozen=True)
class Result:
    """One run: how many ratings were answered 200, stored, and how fast."""

    backend: str
    workers: int
    answered: int
    stored: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Ratings stored per second."""
        return self.stored / self.seconds

    @property
    def complete(self) -> bool:
        """Every request answered 200 and every rating stored."""
        return self.answered == RATINGS and self.stored == RATINGS


def count_ratings(database_url: str) -> int:
    """Rows in the rating table."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM rating")).scalar_one())
    finally:
        engine.dispose()


def wait_for_rows(database_url: str, wanted: int) -> int:
    """Poll the database until it holds ``wanted`` ratings (or time runs out)."""
    deadline = time.monotonic() + STORE_TIMEOUT_SECONDS
    stored = count_ratings(database_url)
    while stored < wanted and time.monotonic() < deadline:
        time.sleep(0.02)
        stored = count_ratings(database_url)
    return stored


def measure(fake: FakeSlack, send: Sender, database_url: str, backend: str, workers: int) -> Result:
    """One fresh ``leadloop run --workers N`` on ``database_url``: its throughput."""
    port = free_port()
    command = server_command("leadloop", port, workers=workers, threads=THREADS)
    response_url = fake.response_url("throughput")
    with running_server(command, port, bench_env(fake, database_url)):
        send(port, response_url, concurrency=CONCURRENCY, requests=WARM_UP)
        wait_for_rows(database_url, WARM_UP)
        started = time.perf_counter()
        latencies = send(
            port, response_url, concurrency=CONCURRENCY, requests=RATINGS, first=WARM_UP
        )
        stored = wait_for_rows(database_url, WARM_UP + RATINGS) - WARM_UP
        seconds = time.perf_counter() - started
    answered = sum(latency is not None for latency in latencies)
    return Result(backend, workers, answered, stored, seconds)


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A SQLite file in a temporary folder (``leadloop run`` migrates it)."""
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/throughput.db"


def postgres_database(admin_url: str) -> AbstractContextManager[str]:
    """A new, empty PostgreSQL database on the server of ``admin_url``; dropped after."""
    return throwaway_postgres_database(admin_url, prefix="leadloop_bench")


def report(result: Result) -> bool:
    """Print one run; True when it is complete and fast enough."""
    met = result.complete and result.per_second >= GOAL_PER_SECOND
    problems = (
        "" if result.complete else f" ({result.answered} answered 200, {result.stored} stored)"
    )
    print(
        f"  {result.backend:<10} {result.workers} worker(s): {result.per_second:6.0f} ratings/s "
        f"({RATINGS} in {result.seconds:.1f} s){problems}"
        f"{'  goal met' if met else '  GOAL MISSED'}"
    )
    return met


def run() -> bool:
    """Measure every backend and worker count; True when every run meets the goal."""
    print(
        f"ratings stored per second through HTTP, {RATINGS} signed /rate-lead requests "
        f"{CONCURRENCY} at a time, {THREADS} threads per worker "
        f"(goal: every request 200, every rating stored, >= {GOAL_PER_SECOND:.0f}/s)"
    )
    admin_url = os.environ.get("TEST_DATABASE_URL")
    met = True
    with FakeSlack(team_id=payloads.TEAM_ID) as fake, load_client() as send:
        for workers in WORKERS:
            with sqlite_database() as url:
                met = report(measure(fake, send, url, "SQLite", workers)) and met
        if not admin_url:
            print("  PostgreSQL: skipped (set TEST_DATABASE_URL to measure it)")
            return met
        for workers in WORKERS:
            with postgres_database(admin_url) as url:
                met = report(measure(fake, send, url, "PostgreSQL", workers)) and met
    return met


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
