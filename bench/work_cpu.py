"""The CPU leadloop spends on one ``/rate-lead`` after acknowledging it, and its SQL.

The ack latency benchmark shows that what is left of leadloop's gap to a bare Bolt app is
the CPU of the work done after the ack (storing, posting, confirming), competing with the
next acks. This benchmark measures that work alone: signed ``/rate-lead`` requests are
dispatched to the real app in this process, their after-ack work is collected, and then
each work item is run and timed with the CPU clock of its own thread, against the fake
Slack server. It also counts the SQL statements and transactions each rating costs.

Goal: under 20 ms of CPU per rating. That is the budget of the throughput goal (50
ratings per second on one core); the rest of the core is for the acks and Slack calls.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.request import BoltRequest
from sqlalchemy import Engine, event

from bot.app import create_app
from bot.config import Settings
from bot.slack_client import build_web_client
from storage.engine import create_db_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import throwaway_postgres_database

RATINGS = 1_000
WARM_UP = 50
GOAL_MS = 20.0


class CollectingExecutor(Executor):
    """The after-ack work pool, holding each item until the benchmark runs it."""

    def __init__(self) -> None:
        self.work: list[Callable[[], Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.work.append(lambda: fn(*args, **kwargs))
        done: Future[Any] = Future()
        done.set_result(None)
        return done


class InlineExecutor(Executor):
    """Bolt's listener pool, run in the caller's thread: only the ack happens there."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        done.set_result(fn(*args, **kwargs))
        return done


@dataclass
class SqlCounter:
    """Statements and transactions sent to the database."""

    statements: int = 0
    transactions: int = 0

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1


@dataclass(frozen=True)
class Result:
    backend: str
    median_ms: float
    p90_ms: float
    statements: float
    transactions: float
    posted: int


def rate_lead_request(index: int, response_url: str) -> BoltRequest:
    body = payloads.form_body(
        payloads.slash_command(
            f"BENCH-{index} 2 wrong industry, no budget", response_url=response_url
        )
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    lowered = {name.lower(): [value] for name, value in headers.items()}
    return BoltRequest(body=body, headers=lowered)


def measure(backend: str, database_url: str, fake: FakeSlack) -> Result:
    """Rate RATINGS leads (after a warm-up) and time each one's after-ack work."""
    engine = create_db_engine(database_url)
    try:
        upgrade_to_head(engine)
        session_factory = make_session_factory(engine)
        with session_factory() as session:  # as `leadloop run` records it at start
            record_workspace(
                session,
                team_id=payloads.TEAM_ID,
                team_name="bench",
                bot_user_id="UBOT",
                now=datetime.now(UTC),
            )
            session.commit()
        settings = Settings(
            slack_bot_token="xoxb-bench",
            slack_signing_secret=payloads.SIGNING_SECRET,
            feedback_channel=payloads.FEEDBACK_CHANNEL,
            slack_api_url=fake.api_url,
            database_url=database_url,
        )
        work = CollectingExecutor()
        app = create_app(
            settings,
            session_factory=session_factory,
            client=build_web_client(token=settings.slack_bot_token, base_url=fake.api_url),
            listener_executor=InlineExecutor(),
            work_executor=work,
        )
        response_url = fake.response_url("bench")
        for index in range(WARM_UP + RATINGS):
            app.dispatch(rate_lead_request(index, response_url))
        for item in work.work[:WARM_UP]:
            item()
        counter = SqlCounter()
        counter.watch(engine)
        posts_before = len(fake.calls_to("chat.postMessage"))
        cpu_ms = []
        for item in work.work[WARM_UP:]:
            started = time.thread_time()
            item()
            cpu_ms.append((time.thread_time() - started) * 1000)
        posted = len(fake.calls_to("chat.postMessage")) - posts_before
    finally:
        engine.dispose()
    return Result(
        backend=backend,
        median_ms=statistics.median(cpu_ms),
        p90_ms=statistics.quantiles(cpu_ms, n=10)[-1],
        statements=counter.statements / RATINGS,
        transactions=counter.transactions / RATINGS,
        posted=posted,
    )


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/work-cpu.db"


def databases() -> list[tuple[str, AbstractContextManager[str]]]:
    """SQLite, and PostgreSQL when TEST_DATABASE_URL names a server."""
    found: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", sqlite_database())]
    admin_url = os.environ.get("TEST_DATABASE_URL")
    if admin_url:
        found.append(
            ("PostgreSQL", throwaway_postgres_database(admin_url, prefix="leadloop_bench"))
        )
    return found


def report(result: Result) -> bool:
    met = result.median_ms < GOAL_MS and result.posted == RATINGS
    problem = "" if result.posted == RATINGS else f", only {result.posted} posted"
    print(
        f"  {result.backend:<10} median {result.median_ms:5.1f} ms, p90 {result.p90_ms:5.1f} ms "
        f"of CPU per rating; {result.statements:.0f} SQL statements in "
        f"{result.transactions:.0f} transactions{problem}"
        f"{'  goal met' if met else '  GOAL MISSED'}"
    )
    return met


def run() -> bool:
    """Measure on each database; True when every one meets the goal."""
    print(
        f"/rate-lead work after the ack: CPU per rating over {RATINGS} ratings "
        f"(goal: median < {GOAL_MS:.0f} ms)"
    )
    fake = FakeSlack().start()
    try:
        results = []
        for backend, database in databases():
            with database as url:
                results.append(report(measure(backend, url, fake)))
    finally:
        fake.stop()
    return all(results)


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
