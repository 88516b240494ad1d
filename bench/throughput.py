"""Ratings acknowledged and stored per second by ``leadloop run``, on SQLite and PostgreSQL.

Each run starts a fresh database (a SQLite file in a temporary folder, or a new
PostgreSQL database on ``TEST_DATABASE_URL``'s server, dropped after) and a fresh
``leadloop run`` at its defaults (one HTTP worker per core, 8 threads each, and its
delivery process), talking to the tests' fake Slack server. After a warm-up, the client
sends signed ``/rate-lead`` ratings 8 at a time, each as soon as the previous answer came:
the rate is the ratings whose ack says they were saved, over the time from the first
request to the last ack. Every rating must then be in the database and posted to the
feedback channel exactly once (counted at the fake Slack once leadloop has stopped, so a
late second post would be seen).

The same requests go to a bare Bolt app served the same way (``bench/bare_app.py``), in
the same run, in alternating order: its rate is what this machine and client can do at
all, so the ratio shows how much of the machine's capacity leadloop's work takes. Five
runs; the medians are reported.

Goals (issue 12): at least 250 ratings per second on SQLite and 150 on PostgreSQL, at
concurrency 8, every one stored and posted once.

Run: ``python -m bench.throughput [--runs N] [--ratings N] [--sqlite-only]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text

from bench.ack_latency import GOAL_POST_P99_MS, BenchError, verdict
from bench.load import (
    Figures,
    Sender,
    Sent,
    bench_env,
    free_port,
    lead_refs,
    load_client,
    run_defaults,
    running_server,
    server_command,
)
from bench.post_clock import PostClock
from storage.engine import normalise_database_url
from tests import slack_payloads as payloads
from tests.processes import fresh_postgres_database

RUNS = 5
RATINGS = 1_000
WARM_UP = 100
CONCURRENCY = 8
GOAL_PER_SECOND = {"SQLite": 250.0, "PostgreSQL": 150.0}
POST_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Result:
    """One run on one database."""

    ratings: int  # sent
    per_second: float  # leadloop: ratings acknowledged as saved, per second
    bare_per_second: float  # the bare app: acks per second, same requests, same run
    saved: int  # acks that said the rating was saved
    stored: int  # rows in the rating table from the measured ratings
    posted_once: int  # saved ratings posted exactly once
    posted_twice: int  # saved ratings posted more than once
    post_seconds: float  # from the first request to the last post
    to_post: Figures  # from each ack to its post's arrival, ms

    @property
    def complete(self) -> bool:
        """Every rating acknowledged as saved, stored, and posted exactly once."""
        return self.ratings == self.saved == self.stored == self.posted_once


def rate(sent: Sequence[Sent], *, stored_only: bool) -> float:
    """Answers per second: from the first request to the last answer."""
    counted = [s for s in sent if s.status == 200 and (s.stored or not stored_only)]
    span = max(s.acked_at for s in sent) - min(s.sent_at for s in sent)
    return len(counted) / span


def count_ratings(database_url: str) -> int:
    """Rows in the rating table."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM rating")).scalar_one())
    finally:
        engine.dispose()


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A new, empty database of ``backend``; ``leadloop run`` migrates it."""
    if backend == "SQLite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/throughput.db"
    else:
        with fresh_postgres_database("leadloop_bench") as url:
            yield url


def measure(
    fake: PostClock, send: Sender, bare_port: int, backend: str, *, number: int, ratings: int
) -> Result:
    """One run: a fresh database and ``leadloop run``, and the bare app beside it."""
    response_url = fake.response_url("throughput")
    port = free_port()
    label = f"T{backend[0]}{number}"
    sent: list[Sent] = []
    bare: list[Sent] = []
    with fresh_database(backend) as database_url:
        with running_server(
            server_command("leadloop", port), port, bench_env(fake.api_url, database_url)
        ):
            warm = saved(
                send(
                    port,
                    response_url,
                    concurrency=CONCURRENCY,
                    lead_refs=lead_refs(f"{label}W", WARM_UP),
                )
            )
            fake.wait_for_posts(warm, POST_TIMEOUT_SECONDS)
            for kind in ("bare", "leadloop") if number % 2 else ("leadloop", "bare"):
                time.sleep(0.5)
                if kind == "bare":
                    refs = lead_refs(f"{label}B", ratings)
                    bare = send(bare_port, response_url, concurrency=CONCURRENCY, lead_refs=refs)
                else:
                    refs = lead_refs(label, ratings)
                    sent = send(port, response_url, concurrency=CONCURRENCY, lead_refs=refs)
                    # Every saved rating posted before the bare app's turn.
                    fake.wait_for_posts(saved(sent), POST_TIMEOUT_SECONDS)
            stored = count_ratings(database_url) - len(warm)
        # leadloop has stopped: every send it made has arrived, second ones included.
    if any(s.status != 200 for s in bare):
        raise BenchError("the bare app did not answer every request 200")
    acked = {s.lead_ref: s.acked_at for s in sent if s.status == 200 and s.stored}
    arrivals = {ref: fake.arrivals(ref) for ref in acked}
    firsts = [times[0] - acked[ref] for ref, times in arrivals.items() if times]
    return Result(
        ratings=ratings,
        per_second=rate(sent, stored_only=True),
        bare_per_second=rate(bare, stored_only=False),
        saved=len(acked),
        stored=stored,
        posted_once=sum(1 for times in arrivals.values() if len(times) == 1),
        posted_twice=sum(1 for times in arrivals.values() if len(times) > 1),
        post_seconds=max((times[0] for times in arrivals.values() if times), default=0.0)
        - min(s.sent_at for s in sent),
        to_post=Figures.of(firsts) if firsts else Figures(float("nan"), float("nan")),
    )


def saved(sent: Sequence[Sent]) -> list[str]:
    """The lead references of the ratings whose ack said they were saved."""
    return [s.lead_ref for s in sent if s.status == 200 and s.stored]


def describe(number: int, result: Result, ratings: int) -> str:
    """One run, one line."""
    problems = ""
    if not result.complete:
        problems = (
            f"; of {ratings}: {ratings - result.saved} acks said nothing was saved, "
            f"{result.stored} stored, {result.posted_once} posted once, "
            f"{result.posted_twice} more than once"
        )
    return (
        f"    run {number}: {result.per_second:5.0f} ratings/s (bare app "
        f"{result.bare_per_second:4.0f}/s, {result.per_second / result.bare_per_second:.2f}x); "
        "all posted after "
        f"{result.post_seconds:.1f} s; ack to post median {result.to_post.median:.0f} ms, "
        f"p99 {result.to_post.p99:.0f} ms{problems}"
    )


def summarise(backend: str, results: Sequence[Result], ratings: int) -> bool:
    """The medians of the runs on one database, with the goals; True when all are met."""
    goal = GOAL_PER_SECOND[backend]
    per_second = statistics.median(r.per_second for r in results)
    bare = statistics.median(r.bare_per_second for r in results)
    ratio = statistics.median(r.per_second / r.bare_per_second for r in results)
    posted_per_second = statistics.median(r.posted_once / r.post_seconds for r in results)
    post_median = statistics.median(r.to_post.median for r in results)
    post_p99 = statistics.median(r.to_post.p99 for r in results)
    complete = all(r.complete for r in results)
    fast = per_second >= goal
    print(
        f"  {backend}, median of {len(results)} runs: {per_second:.0f} ratings/s acknowledged "
        f"and stored (goal >= {goal:.0f}/s)  {verdict(fast)}"
    )
    print(
        f"    bare app {bare:.0f}/s in the same runs (leadloop/bare {ratio:.2f}x); posted "
        f"{posted_per_second:.0f}/s; ack to post median {post_median:.0f} ms, p99 "
        f"{post_p99:.0f} ms (goal p99 < {GOAL_POST_P99_MS:.0f} ms)  "
        f"{verdict(post_p99 < GOAL_POST_P99_MS)}"
    )
    print(
        "    every rating acknowledged as saved, stored and posted exactly once, in every run  "
        f"{verdict(complete)}"
    )
    return fast and complete and post_p99 < GOAL_POST_P99_MS


def run(runs: int = RUNS, ratings: int = RATINGS, *, sqlite_only: bool = False) -> bool:
    """Measure each database; True when every goal is met."""
    workers, threads = run_defaults()
    print(
        f"ratings acknowledged and stored per second: `leadloop run` at its defaults "
        f"({workers} workers x {threads} threads, and its delivery process), {ratings} signed "
        f"/rate-lead ratings {CONCURRENCY} at a time, a fresh database and process per run, "
        f"{runs} runs, each paired with a bare Bolt app served the same way"
    )
    backends = ["SQLite"]
    if sqlite_only:
        print("  PostgreSQL: not measured (--sqlite-only)")
    elif not os.environ.get("TEST_DATABASE_URL"):
        print("  PostgreSQL: skipped (set TEST_DATABASE_URL to measure it; make bench does)")
    else:
        backends.append("PostgreSQL")
    fake = PostClock(team_id=payloads.TEAM_ID)
    bare_port = free_port()
    met = True
    with (
        fake,
        tempfile.TemporaryDirectory() as tmp,
        load_client() as send,
        running_server(
            server_command("bare", bare_port, workers=workers, threads=threads),
            bare_port,
            bench_env(fake.api_url, f"sqlite:///{tmp}/bare.db"),
        ),
    ):
        for backend in backends:
            print(f"  {backend}:", flush=True)
            results = []
            for number in range(1, runs + 1):
                result = measure(fake, send, bare_port, backend, number=number, ratings=ratings)
                print(describe(number, result, ratings), flush=True)
                results.append(result)
            met = summarise(backend, results, ratings) and met
    return met


def main() -> int:
    """``python -m bench.throughput``: this benchmark alone."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--ratings", type=int, default=RATINGS)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    return 0 if run(args.runs, args.ratings, sqlite_only=args.sqlite_only) else 1


if __name__ == "__main__":
    sys.exit(main())
