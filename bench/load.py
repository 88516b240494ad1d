"""What the HTTP benchmarks share: servers run as real processes, and the load client.

Servers are started the way production starts them (``leadloop run``, or the bare Bolt app
served through the same ``bot.serving``), each with its log in a file that is shown if
the server fails. The client sends signed ``/rate-lead`` ratings from a process of its own
and records, for each one, when it was sent and when its ack came back, on the system's
monotonic clock, which every process on the machine shares: the benchmark's fake Slack
server compares those instants with the arrival of each rating's post.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import IO

from bot.cli import build_parser
from tests import slack_payloads as payloads

ROOT = Path(__file__).resolve().parent.parent
# What the ack of a stored rating says (handlers/views/ratings.py: stored_rating_confirmation).
STORED_ACK = "Thanks! You rated"
HEALTHY_WITHIN_SECONDS = 60


def run_defaults() -> tuple[int, int]:
    """The worker processes and threads per worker of ``leadloop run`` with no options."""
    args = build_parser().parse_args(["run"])
    return int(args.workers), int(args.threads)


@dataclass(frozen=True)
class Sent:
    """One rating the client sent: its lead, when it left and when its answer came back.

    Instants are ``time.monotonic()`` seconds, comparable across the machine's processes.
    """

    lead_ref: str
    sent_at: float
    acked_at: float
    status: int  # 0: no answer
    stored: bool  # the ack says the rating was saved

    @property
    def latency(self) -> float:
        """Seconds from sending to the answer."""
        return self.acked_at - self.sent_at


@dataclass(frozen=True)
class Figures:
    """Median and 99th percentile of a set of durations, in milliseconds."""

    median: float
    p99: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Figures:
        """The figures of durations in seconds."""
        return cls(statistics.median(seconds) * 1000, percentile(seconds, 0.99) * 1000)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    """Poll /healthz until the server answers (start-up only, not measured)."""
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy in {HEALTHY_WITHIN_SECONDS} s")


def server_command(
    kind: str, port: int, *, workers: int | None = None, threads: int | None = None
) -> list[str]:
    """``leadloop run`` or the bare app on ``port``, served the same way.

    Without ``workers`` and ``threads``, leadloop runs at its defaults; the bare app
    always gets explicit sizes (its own defaults are not leadloop's).
    """
    sizing = []
    if workers is not None:
        sizing += ["--workers", str(workers)]
    if threads is not None:
        sizing += ["--threads", str(threads)]
    if kind == "leadloop":
        return [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)] + (
            sizing
        )
    default_workers, default_threads = run_defaults()
    return [
        sys.executable,
        "-m",
        "bench.bare_app",
        str(port),
        "--workers",
        str(workers or default_workers),
        "--threads",
        str(threads or default_threads),
    ]


@contextmanager
def running_server(
    command: list[str], port: int, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, healthy on ``port``, stopped with SIGTERM at the end.

    Its log goes to a file; the end of it is printed if the server fails to start or
    exits with an error, so a broken run says why. With ``BENCH_LOG_DIR`` set, the whole
    log is kept there, one file per server (``<port>.log``).
    """
    keep = os.environ.get("BENCH_LOG_DIR")
    opened = (
        open(Path(keep) / f"{port}.log", "w+b")  # noqa: SIM115  # closed by the with below
        if keep
        else tempfile.TemporaryFile()
    )
    with opened as log:
        process = subprocess.Popen(command, cwd=ROOT, env=dict(env), stderr=log)
        try:
            wait_until_healthy(port, process)
            yield process
        except BaseException:
            process.terminate()
            process.wait(timeout=60)
            show_log_tail(log)
            raise
        process.terminate()
        if process.wait(timeout=60) != 0:
            show_log_tail(log)


def show_log_tail(log: IO[bytes], lines: int = 30) -> None:
    """Print the last ``lines`` lines of a server's log."""
    log.seek(0)
    tail = log.read().decode(errors="replace").splitlines()[-lines:]
    if tail:
        print("  --- the server's log ends with:", *tail, sep="\n  ", file=sys.stderr)


def bench_env(fake_api_url: str, database_url: str) -> dict[str, str]:
    """The environment every server runs with: the fake Slack, the database, quiet logs."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_api_url,
        "DATABASE_URL": database_url,
        "SLACK_APP_TOKEN": "",
        "LOG_LEVEL": "WARNING",
        "LEADLOOP_ENV_FILE": os.devnull,
    }


def one_rating(port: int, response_url: str, lead_ref: str, score: int) -> Sent:
    """Send one signed rating on a new connection, as Slack does; when it left and came back."""
    body = payloads.form_body(
        payloads.slash_command(f"{lead_ref} {score} bench run", response_url=response_url)
    ).encode()
    headers = payloads.signed_headers(
        body.decode(), content_type="application/x-www-form-urlencoded"
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent_at = time.monotonic()
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read()
        acked_at = time.monotonic()
        status = answer.status
    except OSError:
        return Sent(lead_ref, sent_at, time.monotonic(), 0, stored=False)
    finally:
        connection.close()
    return Sent(lead_ref, sent_at, acked_at, status, stored=STORED_ACK.encode() in text)


def send_ratings(
    port: int, response_url: str, *, concurrency: int, lead_refs: Sequence[str]
) -> list[Sent]:
    """Send one rating per lead reference, ``concurrency`` at a time (closed loop)."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(
            pool.map(
                lambda numbered: one_rating(port, response_url, numbered[1], numbered[0] % 5 + 1),
                enumerate(lead_refs),
            )
        )


Sender = Callable[..., list[Sent]]


@contextmanager
def load_client() -> Iterator[Sender]:
    """``send_ratings``, run in a process of its own.

    The fake Slack server answers leadloop's posts in the benchmark's process; if the
    client's threads shared its interpreter lock, they would be the ones measured waiting.
    """
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:

        def send(
            port: int, response_url: str, *, concurrency: int, lead_refs: Sequence[str]
        ) -> list[Sent]:
            return pool.submit(
                send_ratings,
                port,
                response_url,
                concurrency=concurrency,
                lead_refs=list(lead_refs),
            ).result()

        send(0, "", concurrency=1, lead_refs=[])  # start the process now, not in a measurement
        yield send


def lead_refs(prefix: str, count: int, first: int = 0) -> list[str]:
    """``count`` distinct lead references: each rating creates its own lead."""
    return [f"{prefix}-{index}" for index in range(first, first + count)]
