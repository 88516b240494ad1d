"""How much memory ``leadloop run`` holds: idle, and after 2,000 and 10,000 requests.

``leadloop run`` (its default: one worker of 8 threads, SQLite) runs as a real process
against the fake Slack server. Its memory is the resident set size (``VmRSS`` in
``/proc/<pid>/status``) of the gunicorn master plus its worker(s). That sum counts the
pages the master shares with its forked workers twice, so the proportional size (``Pss``
in ``/proc/<pid>/smaps_rollup``) is printed too. Each request is a signed ``/rate-lead``
rating, stored, posted and confirmed; the figures are read once that work is done.

Goal: under 150 MB resident, and no growth after warm-up: the size after 10,000 requests
at most 5% (and 5 MB) above the size after 2,000.

Run: ``python -m bench.memory``.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.ack_latency import (
    bench_env,
    free_port,
    load_client,
    measure,
    running_server,
    server_command,
)
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack

GOAL_MB = 150.0
WARM_UP_REQUESTS = 2_000
TOTAL_REQUESTS = 10_000
GROWTH_TOLERANCE = 0.05  # and at least GROWTH_FLOOR_MB: allocator noise is not a leak
GROWTH_FLOOR_MB = 5.0
CONCURRENCY = 8

Sender = Callable[..., list[float | None]]


@dataclass(frozen=True)
class Memory:
    """Resident and proportional sizes of a process tree, in MB."""

    rss: float
    pss: float
    processes: int


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return found


def kilobytes(path: Path, field: str) -> int:
    """A ``Field:  123 kB`` line of a /proc file, in kB."""
    for line in path.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise ValueError(f"no {field} in {path}")


def memory_of(pid: int) -> Memory:
    """The master ``pid`` and its workers, together."""
    pids = [pid, *children_of(pid)]
    rss = sum(kilobytes(Path(f"/proc/{p}/status"), "VmRSS") for p in pids)
    pss = sum(kilobytes(Path(f"/proc/{p}/smaps_rollup"), "Pss") for p in pids)
    return Memory(rss=rss / 1024, pss=pss / 1024, processes=len(pids))


def send(fake: FakeSlack, client: Sender, port: int, count: int, already: int) -> None:
    """Send ``count`` ratings and wait until leadloop has confirmed every one so far."""
    measure(client, port, fake.response_url("memory"), CONCURRENCY, count)
    fake.wait_for("response_url", already + count, timeout=300)


def run() -> bool:
    """Measure and print; True when the size stays under the goal and does not grow."""
    print(
        f"leadloop run memory, idle and after {TOTAL_REQUESTS:,} /rate-lead requests "
        f"(goal: < {GOAL_MB:.0f} MB resident, no growth after {WARM_UP_REQUESTS:,})"
    )
    port = free_port()
    command = server_command("leadloop", port, workers=1, threads=8)
    with (
        FakeSlack(team_id=payloads.TEAM_ID) as fake,
        tempfile.TemporaryDirectory() as tmp,
        load_client() as client,
        running_server(command, port, bench_env(fake, f"sqlite:///{tmp}/m.db")) as process,
    ):
        idle = memory_of(process.pid)
        send(fake, client, port, WARM_UP_REQUESTS, 0)
        warm = memory_of(process.pid)
        send(fake, client, port, TOTAL_REQUESTS - WARM_UP_REQUESTS, WARM_UP_REQUESTS)
        final = memory_of(process.pid)
    for label, figure in (
        ("idle", idle),
        (f"after {WARM_UP_REQUESTS:,} requests", warm),
        (f"after {TOTAL_REQUESTS:,} requests", final),
    ):
        print(
            f"  {label:<22} {figure.rss:6.1f} MB resident ({figure.processes} processes), "
            f"{figure.pss:6.1f} MB proportional"
        )
    growth = final.rss - warm.rss
    allowed = max(GROWTH_FLOOR_MB, warm.rss * GROWTH_TOLERANCE)
    met = max(idle.rss, warm.rss, final.rss) < GOAL_MB and growth <= allowed
    print(
        f"  growth from {WARM_UP_REQUESTS:,} to {TOTAL_REQUESTS:,} requests: {growth:+.1f} MB "
        f"(allowed {allowed:.1f} MB){'  goal met' if met else '  GOAL MISSED'}"
    )
    return met


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
