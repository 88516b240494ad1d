"""How fast Slack gets its answer to ``/rate-lead``: leadloop against a bare Bolt app.

Both run as real processes behind the same HTTP server, talking to the fake Slack server;
each request is a valid, signed rating that leadloop stores and posts. The latency measured
is what Slack waits for: the HTTP answer (the ack). Slack's limit is 3 seconds.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack

REQUESTS = 500
CONCURRENCY = (1, 8)
GOAL_P99_MS = 100.0  # well inside Slack's 3 s
ROOT = Path(__file__).resolve().parent.parent


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


def start_server(kind: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start leadloop (``leadloop run``) or the bare app as a separate process."""
    if kind == "leadloop":
        command = [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "bench.bare_app", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    wait_until_healthy(port, process)
    return process


def one_request(url: str, response_url: str, index: int) -> float:
    """Send one signed rating and return the seconds until the answer."""
    body = payloads.form_body(
        payloads.slash_command(
            f"BENCH-{index} {index % 5 + 1} bench run", response_url=response_url
        )
    )
    headers = payloads.signed_headers(body, content_type="application/x-www-form-urlencoded")
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"unexpected status {answer.status}")
    return time.perf_counter() - started


def measure(port: int, response_url: str, concurrency: int) -> list[float]:
    """Latencies of REQUESTS ratings sent ``concurrency`` at a time."""
    url = f"http://127.0.0.1:{port}/slack/events"
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda i: one_request(url, response_url, i), range(REQUESTS)))


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run() -> bool:
    """Measure and print; True when leadloop's p99 at every concurrency meets the goal."""
    print(
        f"/rate-lead ack latency, {REQUESTS} signed requests per run "
        f"(goal: p99 < {GOAL_P99_MS:.0f} ms)"
    )
    met = True
    with FakeSlack(team_id=payloads.TEAM_ID) as fake, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
            "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "SLACK_APP_TOKEN": "",
            "LOG_LEVEL": "WARNING",
            "LEADLOOP_ENV_FILE": os.devnull,
        }
        response_url = fake.response_url("bench")
        for kind in ("bare", "leadloop"):
            port = free_port()
            process = start_server(kind, port, env)
            try:
                measure(port, response_url, 4)  # warm-up: imports, connections, caches
                for concurrency in CONCURRENCY:
                    latencies = measure(port, response_url, concurrency)
                    median = statistics.median(latencies) * 1000
                    p99 = percentile(latencies, 0.99) * 1000
                    verdict = ""
                    if kind == "leadloop":
                        ok = p99 < GOAL_P99_MS
                        met = met and ok
                        verdict = "  goal met" if ok else "  GOAL MISSED"
                    print(
                        f"  {kind:<9} concurrency {concurrency}: median {median:6.1f} ms, "
                        f"p99 {p99:6.1f} ms{verdict}"
                    )
            finally:
                process.terminate()
                process.wait(timeout=30)
    return met
