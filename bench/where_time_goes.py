"""Where a burst of ``/rate-lead`` ratings spends its time: CPU per process, and each
database transaction's wait for the lock, hold and statements, by the code that opened it.

A diagnostic, not a benchmark with goals (``make bench`` does not run it). It starts
``leadloop run --without-delivery`` and ``leadloop deliver`` through this module, which
adds timers before handing over to ``bot.cli.main``:

- every transaction, ``BEGIN`` to the end of ``COMMIT`` or ``ROLLBACK``: how long it waited
  for ``BEGIN`` (SQLite's write lock), how long it then held it (wall clock and the
  thread's CPU), its statements, and the first two leadloop functions on the stack that
  opened it;
- the delivery process's looks for due posts (``OutboxPump._due``): how many, how many
  returned a full batch, and how many brought nothing that was not already being sent.

The timers cost CPU (about 30% more), so compare runs of this tool with each other, not
with the benchmarks. CPU per process is read from /proc (the harness included). Then a
burst of signed ratings goes out, after a warm-up, and the tool waits for their posts.

Run: ``python -m bench.where_time_goes [--database postgresql] [--ratings N]
[--concurrency C]``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from bench.load import (
    ROOT,
    bench_env,
    free_port,
    lead_refs,
    load_client,
    percentile,
    wait_until_healthy,
)
from bench.post_clock import PostClock
from bench.throughput import fresh_database
from tests import slack_payloads as payloads

TICK = os.sysconf("SC_CLK_TCK")
# The driver writes "<n> reset" or "<n> dump" here; each instrumented process acts on each new n.
COMMAND = "command"


# ---------------------------------------------------------------- inside the servers


class Timers:
    """What an instrumented process measures; written as JSON when the driver asks."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.local = threading.local()
        self.transactions: dict[str, list[list[float]]] = collections.defaultdict(list)
        self.looks = collections.Counter[str]()

    def reset(self) -> None:
        with self.lock:
            self.transactions.clear()
            self.looks.clear()

    def opened(self, label: str) -> None:
        self.local.begin = (time.perf_counter(), label)

    def began(self) -> None:
        started, label = getattr(self.local, "begin", (time.perf_counter(), "?"))
        self.local.open = [label, time.perf_counter() - started, time.perf_counter(), 0.0, 0]
        self.local.open[3] = time.thread_time()

    def statement(self) -> None:
        if getattr(self.local, "open", None) is not None:
            self.local.open[4] += 1

    def ended(self) -> None:
        open_ = getattr(self.local, "open", None)
        if open_ is None:
            return
        label, wait, held_from, cpu_from, statements = open_
        self.local.open = None
        row = [wait, time.perf_counter() - held_from, time.thread_time() - cpu_from, statements]
        with self.lock:
            self.transactions[label].append(row)

    def dump(self, path: Path) -> None:
        with self.lock:
            figures = {"transactions": dict(self.transactions), "looks": dict(self.looks)}
        path.write_text(json.dumps(figures))


def caller_label() -> str:
    """The first two leadloop functions (outside storage/) on the stack."""
    frame: FrameType | None = sys._getframe(3)
    names: list[str] = []
    root = str(ROOT) + os.sep
    while frame is not None and len(names) < 2:
        name = frame.f_code.co_filename
        inside = name.startswith(root) and not name.startswith(str(ROOT / ".venv"))
        if inside and f"{os.sep}storage{os.sep}" not in name and "bench" not in name:
            module = name[len(root) : -3].replace(os.sep, ".")
            names.append(f"{module}.{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(names) or "?"


def instrument(timers: Timers) -> None:
    """Hook the timers into SQLAlchemy and the delivery pump (before ``bot.cli`` runs)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.default import DefaultDialect

    from bot.delivery import OutboxPump

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            timers.opened(caller_label() + (" (read)" if statement == "BEGIN" else ""))
        else:
            timers.statement()

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.startswith("BEGIN"):
            timers.began()

    @event.listens_for(Engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.dialect.name != "sqlite":  # no BEGIN statement: the driver begins
            timers.opened(caller_label())
            timers.began()

    def ending(original: Any) -> Any:
        def end(self: Any, dbapi_connection: Any) -> Any:
            try:
                return original(self, dbapi_connection)
            finally:
                timers.ended()

        return end

    DefaultDialect.do_commit = ending(DefaultDialect.do_commit)  # type: ignore[method-assign]
    DefaultDialect.do_rollback = ending(DefaultDialect.do_rollback)  # type: ignore[method-assign]

    due = OutboxPump._due

    def counted_due(self: OutboxPump, *, limit: int) -> list[int]:
        found = due(self, limit=limit)
        with self._lock:
            fresh = sum(1 for message_id in found if message_id not in self._in_flight)
        with timers.lock:
            timers.looks["looks"] += 1
            timers.looks["full batch"] += len(found) == limit
            timers.looks["full batch, nothing new"] += len(found) == limit and not fresh
        return found

    OutboxPump._due = counted_due  # type: ignore[method-assign]


def obey(timers: Timers, folder: Path, role: str) -> None:
    """Reset or write this process's figures whenever the driver says so."""

    def watch() -> None:
        done = 0
        while True:
            time.sleep(0.05)
            try:
                number, what = (folder / COMMAND).read_text().split()
            except (OSError, ValueError):
                continue
            if int(number) > done:
                done = int(number)
                if what == "reset":
                    timers.reset()
                else:
                    timers.dump(folder / f"{role}-{os.getpid()}.json")

    threading.Thread(target=watch, daemon=True, name="where-time-goes").start()


def serve(folder: Path, args: list[str]) -> int:
    """``leadloop ARGS`` with the timers; each gunicorn worker gets its own."""
    timers = Timers()
    instrument(timers)

    def in_worker() -> None:
        timers.reset()
        obey(timers, folder, "worker")

    os.register_at_fork(after_in_child=in_worker)
    obey(timers, folder, args[0])
    from bot.cli import main

    return main(args)


# ---------------------------------------------------------------- the driver


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def named(command_name: str) -> list[int]:
    """The processes whose command is ``command_name``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == command_name:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@contextmanager
def instrumented(
    folder: Path, args: list[str], env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "bench.where_time_goes", "serve", str(folder), *args]
    with (folder / f"{args[0]}.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=log)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=60)


def print_figures(folder: Path, ratings: int, cpu: dict[str, float]) -> None:
    print("  CPU per rating, from /proc:")
    for role, seconds in cpu.items():
        print(f"    {role:<22} {seconds / ratings * 1000:5.2f} ms")
    merged: dict[str, list[list[float]]] = collections.defaultdict(list)
    looks: collections.Counter[str] = collections.Counter()
    for path in folder.glob("*-*.json"):
        figures = json.loads(path.read_text())
        looks.update(figures["looks"])
        for label, rows in figures["transactions"].items():
            merged[label] += rows
    print("  transactions, by the code that opened them (times in ms; lock = SQLite's):")
    print(
        "    count  per rating  wait mean  p99    max  held mean  p99  CPU held  stmts  opened by"
    )
    for label, rows in sorted(merged.items(), key=lambda item: -sum(r[1] for r in item[1])):
        waits, holds = [r[0] for r in rows], [r[1] for r in rows]
        n = len(rows)
        print(
            f"    {n:5d}  {n / ratings:10.2f}  {sum(waits) / n * 1000:9.1f} "
            f"{percentile(waits, 0.99) * 1000:5.0f} {max(waits) * 1000:6.0f}  "
            f"{sum(holds) / n * 1000:9.1f} {percentile(holds, 0.99) * 1000:4.0f}  "
            f"{sum(r[2] for r in rows) / n * 1000:8.1f}  {sum(r[3] for r in rows) / n:5.1f}  "
            f"{label}"
        )
    if looks:
        print(
            f"  delivery: {looks['looks']} looks for due posts, {looks['full batch']} returned a "
            f"full batch, {looks['full batch, nothing new']} of them with nothing new"
        )


def drive(database: str, ratings: int, concurrency: int) -> None:
    fake = PostClock(team_id=payloads.TEAM_ID)
    backend = "PostgreSQL" if database == "postgresql" else "SQLite"
    with (
        fake,
        fresh_database(backend) as url,
        load_client() as send,
        _folder() as folder,
    ):
        port = free_port()
        env = bench_env(fake.api_url, url)
        response_url = fake.response_url("where")
        run_args = ["run", "--without-delivery", "--host", "127.0.0.1", "--port", str(port)]
        with instrumented(folder, run_args, env) as run:
            wait_until_healthy(port, run)
            with instrumented(folder, ["deliver"], env) as deliver:
                warm = send(
                    port, response_url, concurrency=concurrency, lead_refs=lead_refs("W", 100)
                )
                fake.wait_for_posts([s.lead_ref for s in warm if s.stored], 60)
                time.sleep(1)
                command(folder, 1, "reset")
                pids = {deliver.pid: "delivery process"}
                pids.update(dict.fromkeys(children(run.pid), "HTTP workers"))
                if backend == "PostgreSQL":  # the whole server, whoever else uses it
                    pids.update(dict.fromkeys(named("postgres"), "PostgreSQL server"))
                pids[os.getpid()] = "harness: fake Slack"
                servers = {run.pid, deliver.pid}
                pids.update(
                    dict.fromkeys(
                        (pid for pid in children(os.getpid()) if pid not in servers),
                        "harness: client",
                    )
                )
                before = {pid: cpu_seconds(pid) for pid in pids}
                started = time.monotonic()
                sent = send(
                    port,
                    response_url,
                    concurrency=concurrency,
                    lead_refs=lead_refs("R", ratings),
                )
                acked = time.monotonic()
                saved = [s.lead_ref for s in sent if s.stored]
                missing = fake.wait_for_posts(saved, 120)
                posted = time.monotonic()
                cpu: dict[str, float] = collections.defaultdict(float)
                for pid, role in pids.items():
                    try:
                        cpu[role] += cpu_seconds(pid) - before[pid]
                    except OSError:  # a PostgreSQL backend that ended meanwhile
                        continue
                command(folder, 2, "dump")
        latencies = [s.latency for s in sent]
        print(
            f"where the time goes: {ratings} ratings at concurrency {concurrency} on {backend}: "
            f"{len(saved) / (acked - started):.0f} saved acks/s, ack median "
            f"{percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms; {ratings - len(saved)} not saved, "
            f"{missing} saved but not posted; all posted after {posted - started:.1f} s"
        )
        print_figures(folder, ratings, cpu)


def command(folder: Path, number: int, what: str) -> None:
    """Tell every instrumented process to reset or to write its figures, and let them."""
    (folder / COMMAND).write_text(f"{number} {what}")
    time.sleep(0.5)


@contextmanager
def _folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve(Path(argv[1]), argv[2:])
    parser = argparse.ArgumentParser(prog="python -m bench.where_time_goes")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--ratings", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    if args.database == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        parser.error(
            "--database postgresql needs TEST_DATABASE_URL (the Makefile's default: "
            "postgresql://postgres@127.0.0.1:5432/test)"
        )
    drive(args.database, args.ratings, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
