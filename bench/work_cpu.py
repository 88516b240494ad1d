"""The CPU and SQL one ``/rate-lead`` costs leadloop: in the ack, and in the delivery process.

The HTTP benchmarks show leadloop's figures under load, where the processes share two
cores and SQLite's write lock. This one takes the work apart, one rating at a time, in
one thread, with nothing else running: each signed ``/rate-lead`` is dispatched to the
real Bolt app in this process (its listener run inline: parse, store the rating, its
lead and its owed post, ack), then each owed post is delivered by the real deliverer
(claim, read, post to the fake Slack, record), as the delivery process does. Each stage
is timed with the thread's CPU clock, and its SQL statements and transactions counted.
The delivery process's look for due posts is timed too, with every post of the run owed.

Goal: the two stages together within the CPU the throughput goal leaves per rating on
this 2-core machine (2,000 ms of CPU a second over 250 ratings a second on SQLite: 8 ms;
over 150 on PostgreSQL: 13.3 ms). It is necessary, not sufficient: under load the same
CPU also pays for Bolt, gunicorn, the client, the fake Slack and the database server.

Run: ``python -m bench.work_cpu`` (PostgreSQL too when ``TEST_DATABASE_URL`` is set).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from slack_bolt.request import BoltRequest
from sqlalchemy import Engine, event

from bot.app import build_deliverer, create_app
from bot.config import Settings
from bot.outbox.kinds import BULK_KINDS
from bot.slack_client import build_web_client
from domain.clock import system_clock
from storage import outbox
from storage.engine import create_db_engine, make_session_factory, only_reading
from storage.migrate import upgrade_to_head
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import throwaway_postgres_database

RATINGS = 1_000
WARM_UP = 50
SECONDS_OF_CPU_PER_SECOND = 2.0  # this machine's two cores
GOAL_PER_SECOND = {"SQLite": 250.0, "PostgreSQL": 150.0}  # bench/throughput.py's goals


class InlineExecutor(Executor):
    """Bolt's listener pool, run in the caller's thread: the whole listener is timed."""

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

    def take(self) -> tuple[int, int]:
        """The counts so far, and start again from zero."""
        counts = (self.statements, self.transactions)
        self.statements = self.transactions = 0
        return counts

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1


@dataclass(frozen=True)
class Stage:
    """One stage of a rating: CPU per rating (ms), SQL per rating."""

    median_ms: float
    p90_ms: float
    statements: float
    transactions: float

    @classmethod
    def of(cls, cpu_ms: list[float], counts: tuple[int, int]) -> Stage:
        return cls(
            statistics.median(cpu_ms),
            statistics.quantiles(cpu_ms, n=10)[-1],
            counts[0] / len(cpu_ms),
            counts[1] / len(cpu_ms),
        )


@dataclass(frozen=True)
class Result:
    backend: str
    ack: Stage
    delivery: Stage
    due_query_ms: float  # one look for due posts, every post of the run owed
    posted: int


def rate_lead_request(index: int, response_url: str) -> BoltRequest:
    body = payloads.form_body(
        payloads.slash_command(
            f"BENCH-{index} 2 wrong industry, no budget", response_url=response_url
        )
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    lowered: dict[str, str | Sequence[str]] = {
        name.lower(): [value] for name, value in headers.items()
    }
    return BoltRequest(body=body, headers=lowered)


def cpu_ms_of(work: Callable[[], object]) -> float:
    """The thread's CPU time of one call, in ms."""
    started = time.thread_time()
    work()
    return (time.thread_time() - started) * 1000


def measure(backend: str, database_url: str, fake: FakeSlack) -> Result:
    """Rate RATINGS leads (after a warm-up), then deliver their posts; time each stage."""
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
        client = build_web_client(token=settings.slack_bot_token, base_url=fake.api_url)
        deliverer = build_deliverer(
            settings, session_factory=session_factory, client=client, clock=system_clock
        )
        app = create_app(
            settings,
            session_factory=session_factory,
            client=client,
            listener_executor=InlineExecutor(),
        )
        response_url = fake.response_url("bench")

        def due(limit: int) -> list[int]:
            with session_factory() as session:
                only_reading(session)
                return outbox.due_message_ids(
                    session, now=system_clock(), limit=limit, bulk_kinds=BULK_KINDS
                )

        for index in range(WARM_UP):
            app.dispatch(rate_lead_request(index, response_url))
        for message_id in due(WARM_UP):
            deliverer.deliver(message_id)
        counter = SqlCounter()
        counter.watch(engine)
        ack_ms = []
        for index in range(WARM_UP, WARM_UP + RATINGS):
            request = rate_lead_request(index, response_url)
            ack_ms.append(cpu_ms_of(partial(app.dispatch, request)))
        ack_counts = counter.take()
        due_query_ms = statistics.median(cpu_ms_of(lambda: due(100)) for _ in range(20))
        owed = due(RATINGS)
        counter.take()
        posts_before = len(fake.calls_to("chat.postMessage"))
        delivery_ms = [cpu_ms_of(partial(deliverer.deliver, message_id)) for message_id in owed]
        delivery_counts = counter.take()
        posted = len(fake.calls_to("chat.postMessage")) - posts_before
        deliverer.close()
    finally:
        engine.dispose()
    return Result(
        backend=backend,
        ack=Stage.of(ack_ms, ack_counts),
        delivery=Stage.of(delivery_ms, delivery_counts),
        due_query_ms=due_query_ms,
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


def describe(name: str, stage: Stage) -> str:
    return (
        f"{name} median {stage.median_ms:4.1f} ms (p90 {stage.p90_ms:4.1f}), "
        f"{stage.statements:.0f} statements in {stage.transactions:.0f} transactions"
    )


def report(result: Result) -> bool:
    budget = SECONDS_OF_CPU_PER_SECOND * 1000 / GOAL_PER_SECOND[result.backend]
    total = result.ack.median_ms + result.delivery.median_ms
    met = total <= budget and result.posted == RATINGS
    problem = "" if result.posted == RATINGS else f"; only {result.posted} posted"
    print(
        f"  {result.backend}: {describe('ack', result.ack)}; "
        f"{describe('delivery', result.delivery)}; one look for due posts "
        f"{result.due_query_ms:.1f} ms{problem}"
    )
    print(
        f"    ack + delivery: {total:.1f} ms of CPU per rating (goal <= {budget:.1f} ms, the "
        f"CPU of 2 cores over {GOAL_PER_SECOND[result.backend]:.0f} ratings/s)  "
        f"{'PASS' if met else 'MISS'}"
    )
    return met


def run() -> bool:
    """Measure on each database; True when every one meets the goal."""
    print(
        f"/rate-lead CPU per rating, one at a time over {RATINGS} ratings: the ack (store, "
        "answer) and the delivery (claim, post, record)"
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
