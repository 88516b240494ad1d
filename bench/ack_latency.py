"""How fast Slack gets its answer to ``/rate-lead``: leadloop against a bare Bolt app.

Both run as real processes served the production way (gunicorn through ``bot.serving``,
same workers and threads), talking to the fake Slack server; each request is a valid,
signed rating that leadloop stores and posts. The latency measured is what Slack waits
for: the HTTP answer (the ack). Slack's limit is 3 seconds.

Both are served with one worker process per core of the 2-core machine the figures come
from, 8 threads each: ``leadloop run --workers 2``, as the README recommends. With one
worker, leadloop's work after the ack (storing, posting, confirming: about ten times the
bare app's CPU per request) shares one interpreter lock with the acks of the requests
behind it; ``--workers 1`` shows that.

Run: ``python -m bench.ack_latency [--workers N] [--threads T]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack

REQUESTS = 500
WARM_UP = 50
WORKERS = 2  # one per core
THREADS = 8
CONCURRENCY = (1, 8)
GOAL_MEDIAN_RATIO = 1.3  # leadloop's median at most 1.3x the bare app's
GOAL_P99_RATIO = 1.5
GOAL_P99_MS = 100.0  # at concurrency 8; well inside Slack's 3 s
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figures:
    """Median and 99th percentile of one run, in milliseconds."""

    median: float
    p99: float

    @classmethod
    def of(cls, seconds: list[float]) -> Figures:
        """The figures of a list of latencies in seconds."""
        return cls(statistics.median(seconds) * 1000, percentile(seconds, 0.99) * 1000)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    """Poll /healthz until the server answers (start-up only, not measured)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become healthy in 30 s")


def server_command(kind: str, port: int, *, workers: int, threads: int) -> list[str]:
    """The command line of ``leadloop run`` or of the bare app, served the same way."""
    sizing = ["--workers", str(workers), "--threads", str(threads)]
    if kind == "leadloop":
        return [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ] + sizing
    return [sys.executable, "-m", "bench.bare_app", str(port), *sizing]


@contextmanager
def running_server(
    command: list[str], port: int, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, healthy on ``port``, stopped with SIGTERM at the end."""
    process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=60)


def one_request(url: str, response_url: str, index: int) -> float | None:
    """Send one signed rating; the seconds until the answer, or None if it was not 200."""
    body = payloads.form_body(
        payloads.slash_command(
            f"BENCH-{index} {index % 5 + 1} bench run", response_url=response_url
        )
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
            status = answer.status
    except OSError:  # HTTPError for any status urllib will not return, or no answer at all
        return None
    return time.perf_counter() - started if status == 200 else None


def send_ratings(
    port: int, response_url: str, *, concurrency: int, requests: int, first: int = 0
) -> list[float | None]:
    """Latencies of ``requests`` ratings sent ``concurrency`` at a time (None: not 200)."""
    url = f"http://127.0.0.1:{port}/slack/events"
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(
            pool.map(lambda i: one_request(url, response_url, i), range(first, first + requests))
        )


@contextmanager
def load_client() -> Iterator[Callable[..., list[float | None]]]:
    """``send_ratings``, run in a process of its own.

    The fake Slack server answers leadloop's posts in this process; if the client's
    threads shared its interpreter lock, they would be the ones measured waiting.
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:

        def send(port: int, response_url: str, **sizes: int) -> list[float | None]:
            return pool.submit(send_ratings, port, response_url, **sizes).result()

        yield send


def measure(
    send: Callable[..., list[float | None]],
    port: int,
    response_url: str,
    concurrency: int,
    requests: int,
) -> list[float]:
    """Latencies of ``requests`` ratings sent ``concurrency`` at a time; all must get 200."""
    latencies = send(port, response_url, concurrency=concurrency, requests=requests)
    answered = [latency for latency in latencies if latency is not None]
    if len(answered) != requests:
        raise RuntimeError(f"{requests - len(answered)} of {requests} requests did not get 200")
    return answered


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_env(fake: FakeSlack, database_url: str) -> dict[str, str]:
    """The environment both servers run with."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "SLACK_APP_TOKEN": "",
        "LOG_LEVEL": "WARNING",
        "LEADLOOP_ENV_FILE": os.devnull,
    }


def verdicts(concurrency: int, bare: Figures, leadloop: Figures) -> tuple[bool, str]:
    """Whether leadloop meets its goals at this concurrency, and how to say so."""
    median_ratio = leadloop.median / bare.median
    p99_ratio = leadloop.p99 / bare.p99
    met = median_ratio <= GOAL_MEDIAN_RATIO and p99_ratio <= GOAL_P99_RATIO
    text = (
        f"median {median_ratio:.2f}x (goal <= {GOAL_MEDIAN_RATIO}x), "
        f"p99 {p99_ratio:.2f}x (goal <= {GOAL_P99_RATIO}x)"
    )
    if concurrency == max(CONCURRENCY):
        met = met and leadloop.p99 < GOAL_P99_MS
        text += f", p99 {leadloop.p99:.1f} ms (goal < {GOAL_P99_MS:.0f} ms)"
    return met, text + ("  goal met" if met else "  GOAL MISSED")


def run(workers: int = WORKERS, threads: int = THREADS, requests: int = REQUESTS) -> bool:
    """Measure and print; True when leadloop meets every goal at every concurrency."""
    print(
        f"/rate-lead ack latency, {requests} signed requests per run, gunicorn with "
        f"{workers} worker(s) x {threads} thread(s), leadloop vs a bare Bolt app"
    )
    met = True
    with FakeSlack(team_id=payloads.TEAM_ID) as fake, tempfile.TemporaryDirectory() as tmp:
        env = bench_env(fake, f"sqlite:///{tmp}/bench.db")
        response_url = fake.response_url("bench")
        ports = {"bare": free_port(), "leadloop": free_port()}
        commands = {
            kind: server_command(kind, port, workers=workers, threads=threads)
            for kind, port in ports.items()
        }
        with (
            load_client() as send,
            running_server(commands["bare"], ports["bare"], env),
            running_server(commands["leadloop"], ports["leadloop"], env),
        ):
            for kind in ports:  # warm-up: imports, connections, caches
                measure(send, ports[kind], response_url, 4, WARM_UP)
            rated = WARM_UP  # ratings sent to leadloop so far; each gets one post
            for concurrency in CONCURRENCY:
                figures = {}
                for kind, port in ports.items():
                    # leadloop stores each rating before its ack (which confirms it); the post
                    # after the ack must be done before each run starts, or it would slow the
                    # other measurement down.
                    fake.wait_for("chat.postMessage", rated, timeout=120)
                    latencies = measure(send, port, response_url, concurrency, requests)
                    figures[kind] = Figures.of(latencies)
                    rated += requests if kind == "leadloop" else 0
                ok, verdict = verdicts(concurrency, figures["bare"], figures["leadloop"])
                met = met and ok
                for kind, figure in figures.items():
                    print(
                        f"  {kind:<9} concurrency {concurrency}: median {figure.median:6.1f} ms, "
                        f"p99 {figure.p99:6.1f} ms"
                    )
                print(f"  leadloop/bare at concurrency {concurrency}: {verdict}")
    return met


def main() -> int:
    """``python -m bench.ack_latency``: this benchmark alone, with other server sizes."""
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency")
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args = parser.parse_args()
    return 0 if run(args.workers, args.threads, args.requests) else 1


if __name__ == "__main__":
    sys.exit(main())
