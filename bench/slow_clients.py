"""Acks and health checks with and without slow clients: leadloop's worker against gthread.

Two ``leadloop run`` at their defaults (one worker per core, 8 threads each, its delivery
process, SQLite), the same code but for the gunicorn worker: leadloop's own, which reads
each request whole before a thread gets it (``bot/http_worker.py``), and gunicorn's plain
``gthread``, chosen by setting ``bot.serving.WORKER_CLASS`` before the server starts.

1. Acks, paired: in each run, both servers get the same number of signed ``/rate-lead``
   at concurrency 1 and then 8, in alternating order from run to run, each measurement
   starting once the previous one's posts have arrived. Median and p99 of each run, and
   the median of the runs.
2. Slow clients: ``/healthz`` and signed ``/rate-lead``, at concurrency 8 with a 5 s client
   timeout, first alone, then while 200 connections trickle (half their headers, half a
   body; a byte every 0.5 s, each one replaced as soon as the server answers or drops it).
   Median and p99 of the answered probes, and how many were answered.

Run: ``python -m bench.slow_clients [--runs N] [--requests N] [--probes N]``.
"""

from __future__ import annotations

import argparse
import http.client
import select
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context

from bench.load import (
    Figures,
    Sender,
    bench_env,
    free_port,
    lead_refs,
    load_client,
    run_defaults,
    running_server,
)
from bench.post_clock import PostClock
from tests import slack_payloads as payloads

RUNS = 3
REQUESTS = 300
PROBES = 100
CONCURRENCY = (1, 8)
PROBE_CONCURRENCY = 8
CLIENT_TIMEOUT_SECONDS = 5.0
SLOW_CLIENTS = 200
TRICKLE_EVERY_SECONDS = 0.5
POST_TIMEOUT_SECONDS = 120
WORKERS = {
    "leadloop": "bot.http_worker.BufferingThreadWorker",
    "gthread": "gthread",
}
# `leadloop run` with another gunicorn worker class (first argument), then its arguments.
LAUNCHER = """
import sys
from bot import serving
serving.WORKER_CLASS = sys.argv[1]
from bot.cli import main
sys.exit(main(sys.argv[2:]))
"""
FORM = "application/x-www-form-urlencoded"


def command(worker: str, port: int) -> list[str]:
    """``leadloop run`` at its defaults on ``port``, with ``worker``'s gunicorn worker."""
    run = ["run", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-c", LAUNCHER, WORKERS[worker], *run]


# --- part 1: acks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AckRun:
    """One measurement of one server at one concurrency."""

    figures: Figures
    unanswered: int


def measure_acks(
    fake: PostClock, send: Sender, port: int, *, label: str, concurrency: int, requests: int
) -> AckRun:
    """``requests`` signed ratings at ``concurrency``; waits until their posts arrived."""
    sent = send(
        port,
        fake.response_url("bench"),
        concurrency=concurrency,
        lead_refs=lead_refs(label, requests),
    )
    stored = [rating.lead_ref for rating in sent if rating.status == 200 and rating.stored]
    fake.wait_for_posts(stored, POST_TIMEOUT_SECONDS)  # the next measurement starts quiet
    return AckRun(
        Figures.of([rating.latency for rating in sent]),
        unanswered=sum(1 for rating in sent if rating.status != 200),
    )


def compare_acks(
    fake: PostClock, send: Sender, ports: dict[str, int], *, runs: int, requests: int
) -> None:
    """Part 1: paired runs, printed as they finish and then summed up."""
    results: dict[tuple[str, int], list[AckRun]] = {}
    for number in range(1, runs + 1):
        order = list(WORKERS) if number % 2 else list(WORKERS)[::-1]
        for concurrency in CONCURRENCY:
            for worker in order:
                label = f"R{number}C{concurrency}{worker[0].upper()}"
                result = measure_acks(
                    fake,
                    send,
                    ports[worker],
                    label=label,
                    concurrency=concurrency,
                    requests=requests,
                )
                results.setdefault((worker, concurrency), []).append(result)
                print(
                    f"  run {number}, concurrency {concurrency}, {worker:8}: ack median "
                    f"{result.figures.median:6.1f} ms, p99 {result.figures.p99:6.1f} ms, "
                    f"{result.unanswered} not answered 200",
                    flush=True,
                )
    print(f"  median of {runs} runs:")
    for concurrency in CONCURRENCY:
        for worker in WORKERS:
            found = results[(worker, concurrency)]
            median = sorted(run.figures.median for run in found)[len(found) // 2]
            p99 = sorted(run.figures.p99 for run in found)[len(found) // 2]
            print(
                f"    concurrency {concurrency}, {worker:8}: ack median {median:6.1f} ms, "
                f"p99 {p99:6.1f} ms"
            )


# --- part 2: slow clients -------------------------------------------------------------------


class SlowClients:
    """``count`` connections that send a byte every TRICKLE_EVERY_SECONDS, on a thread.

    Half trickle their headers, half the body of a request whose headers were whole. A
    connection the server answers or drops is replaced, so ``count`` stay slow throughout.
    """

    def __init__(self, port: int, count: int) -> None:
        self._port = port
        self._count = count
        self._connections: list[socket.socket | None] = [None] * count
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep_trickling, daemon=True)
        self.replaced = 0

    def _first_part(self, slot: int) -> bytes:
        if slot % 2:
            return b"POST /slack/events HTTP/1.1\r\nHost: bench\r\nX-Slow: "
        return (
            f"POST /slack/events HTTP/1.1\r\nHost: bench\r\nContent-Type: {FORM}\r\n"
            "Content-Length: 100000\r\n\r\n"
        ).encode()

    def _open(self, slot: int) -> None:
        try:
            connection = socket.create_connection(("127.0.0.1", self._port), timeout=1)
            connection.sendall(self._first_part(slot))
            connection.setblocking(False)
        except OSError:
            return  # tried again on the next round
        self._connections[slot] = connection

    def _drop(self, slot: int) -> None:
        connection = self._connections[slot]
        if connection is not None:
            connection.close()
            self._connections[slot] = None
            self.replaced += 1

    def _answered(self) -> set[int]:
        poll = select.poll()
        slots = {}
        for slot, connection in enumerate(self._connections):
            if connection is not None:
                poll.register(connection, select.POLLIN)
                slots[connection.fileno()] = slot
        return {slots[fd] for fd, _ in poll.poll(0)}

    def _keep_trickling(self) -> None:
        while not self._stop.is_set():
            for slot in self._answered():
                self._drop(slot)
            for slot, connection in enumerate(self._connections):
                if connection is None:
                    self._open(slot)
                    continue
                try:
                    connection.send(b"a")
                except OSError:
                    self._drop(slot)
            self._stop.wait(TRICKLE_EVERY_SECONDS)

    @contextmanager
    def running(self) -> Iterator[SlowClients]:
        """Trickling meanwhile; every connection closed after."""
        for slot in range(self._count):
            self._open(slot)
        self.replaced = 0
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            for slot in range(self._count):
                connection = self._connections[slot]
                if connection is not None:
                    connection.close()


def one_probe(port: int, kind: str, lead_ref: str, response_url: str) -> float | None:
    """Seconds for one ``/healthz`` or signed rating, on a new connection; None: no answer
    (or not a 200) within CLIENT_TIMEOUT_SECONDS."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        if kind == "healthz":
            connection.request("GET", "/healthz")
        else:
            body = payloads.form_body(
                payloads.slash_command(f"{lead_ref} 3 slow bench", response_url=response_url)
            )
            headers = payloads.signed_headers(body, content_type=FORM)
            connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            return None
        return time.monotonic() - started
    except OSError:
        return None
    finally:
        connection.close()


def probe_many(port: int, kind: str, refs: Sequence[str], response_url: str) -> list[float | None]:
    """One probe per reference, PROBE_CONCURRENCY at a time."""
    with ThreadPoolExecutor(max_workers=PROBE_CONCURRENCY) as pool:
        return list(pool.map(lambda ref: one_probe(port, kind, ref, response_url), refs))


def describe(results: Sequence[float | None]) -> str:
    """Median and p99 of the answered probes, and how many were answered."""
    answered = [seconds for seconds in results if seconds is not None]
    if not answered:
        return f"answered 0/{len(results)}"
    figures = Figures.of(answered)
    return (
        f"median {figures.median:7.1f} ms, p99 {figures.p99:7.1f} ms, "
        f"answered {len(answered)}/{len(results)}"
    )


def compare_under_slow_clients(
    fake: PostClock, ports: dict[str, int], *, probes: int, prober: ProcessPoolExecutor
) -> None:
    """Part 2: each server, its probes alone and then among the slow clients."""
    response_url = fake.response_url("bench")
    for worker, port in ports.items():
        for slow in (False, True):
            clients = SlowClients(port, SLOW_CLIENTS if slow else 0)
            with clients.running():
                lines = []
                for kind in ("healthz", "rate-lead"):
                    refs = lead_refs(f"S{worker[0].upper()}{int(slow)}{kind[0]}", probes)
                    results = prober.submit(probe_many, port, kind, refs, response_url).result()
                    lines.append(f"{kind:9}: {describe(results)}")
            print(
                f"  {worker:8}, {SLOW_CLIENTS if slow else 0:3} slow clients"
                + (f" ({clients.replaced} replaced)" if slow else "")
                + ":",
                flush=True,
            )
            for line in lines:
                print(f"    {line}", flush=True)


def run(runs: int = RUNS, requests: int = REQUESTS, probes: int = PROBES) -> None:
    """Measure and print both parts."""
    workers, threads = run_defaults()
    print(
        f"`leadloop run` at its defaults ({workers} workers x {threads} threads, its delivery "
        "process, SQLite) with leadloop's worker and with gunicorn's plain gthread"
    )
    fake = PostClock(team_id=payloads.TEAM_ID)
    with fake, tempfile.TemporaryDirectory() as tmp:
        ports = {worker: free_port() for worker in WORKERS}
        with (
            load_client() as send,
            ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as prober,
            running_server(
                command("leadloop", ports["leadloop"]),
                ports["leadloop"],
                bench_env(fake.api_url, f"sqlite:///{tmp}/leadloop.db"),
            ),
            running_server(
                command("gthread", ports["gthread"]),
                ports["gthread"],
                bench_env(fake.api_url, f"sqlite:///{tmp}/gthread.db"),
            ),
        ):
            for worker, port in ports.items():  # imports, connections, caches
                measure_acks(fake, send, port, label=f"WARM{worker}", concurrency=1, requests=50)
            print(
                f"1. /rate-lead acks, {requests} signed ratings per measurement, "
                f"{runs} paired runs",
                flush=True,
            )
            compare_acks(fake, send, ports, runs=runs, requests=requests)
            print(
                f"2. {probes} /healthz and {probes} signed /rate-lead at concurrency "
                f"{PROBE_CONCURRENCY}, {CLIENT_TIMEOUT_SECONDS:g} s client timeout",
                flush=True,
            )
            compare_under_slow_clients(fake, ports, probes=probes, prober=prober)


def main() -> int:
    """``python -m bench.slow_clients``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--probes", type=int, default=PROBES)
    args = parser.parse_args()
    run(args.runs, args.requests, args.probes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
