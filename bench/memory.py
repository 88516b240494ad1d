"""How much memory ``leadloop run`` holds: idle, and after 2,000 and 10,000 requests.

``leadloop run --workers 1`` (one worker of 8 threads, and the delivery process it
starts; SQLite) runs as a real process against the fake Slack server. Each request is a
signed ``/rate-lead`` rating: stored, and posted by the delivery process. Requests go out
8 at a time in batches of 1,000, and each batch's posts are sent before the next starts,
so the figures show what the processes keep, not a backlog of owed posts.

Two sizes of the master and its children (the worker and the delivery process), read
from /proc:

- resident (``VmRSS`` in ``status``), summed: it counts the pages a worker still shares
  with the master it was forked from once in each process;
- proportional (``Pss`` in ``smaps_rollup``), summed: each shared page is split between
  the processes sharing it, so the sum is what the whole ``leadloop run`` costs the machine.

Goals: under 150 MB proportional, and no growth after warm-up: the resident size after
10,000 requests at most 5% (and 5 MB) above the size after 2,000.

Run: ``python -m bench.memory``.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.load import (
    Sender,
    bench_env,
    free_port,
    lead_refs,
    load_client,
    running_server,
    server_command,
)
from bench.post_clock import PostClock
from tests import slack_payloads as payloads

GOAL_MB = 150.0
WARM_UP_REQUESTS = 2_000
TOTAL_REQUESTS = 10_000
BATCH = 1_000
CONCURRENCY = 8
GROWTH_TOLERANCE = 0.05  # and at least GROWTH_FLOOR_MB: allocator noise is not a leak
GROWTH_FLOOR_MB = 5.0


@dataclass(frozen=True)
class Memory:
    """Sizes of a process tree in MB: each process's resident size, and the sums."""

    resident: tuple[float, ...]
    proportional: float

    @property
    def resident_total(self) -> float:
        """Resident sizes summed (shared pages counted once per process)."""
        return sum(self.resident)


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
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def megabytes(path: Path, field: str) -> float:
    """A ``Field:  123 kB`` line of a /proc file, in MB."""
    for line in path.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} in {path}")


def memory_of(pid: int) -> Memory:
    """The master ``pid`` and its children: the workers and the delivery process."""
    pids = [pid, *sorted(children_of(pid))]
    return Memory(
        resident=tuple(megabytes(Path(f"/proc/{p}/status"), "VmRSS") for p in pids),
        proportional=sum(megabytes(Path(f"/proc/{p}/smaps_rollup"), "Pss") for p in pids),
    )


def send(fake: PostClock, client: Sender, port: int, *, already: int, count: int) -> int:
    """Send ``count`` ratings in batches, each posted by leadloop before the next; how
    many acks said that nothing was saved (SQLite's write lock was not free in time)."""
    unsaved = 0
    for first in range(already, already + count, BATCH):
        size = min(BATCH, already + count - first)
        refs = lead_refs("MEM", size, first)
        sent = client(port, fake.response_url("memory"), concurrency=CONCURRENCY, lead_refs=refs)
        if any(rating.status != 200 for rating in sent):
            raise RuntimeError("leadloop did not answer every request 200")
        saved = [rating.lead_ref for rating in sent if rating.stored]
        unsaved += size - len(saved)
        # Confirmed in its ack; the post to the feedback channel is what comes after.
        missing = fake.wait_for_posts(saved, timeout=300)
        if missing:
            raise RuntimeError(f"{missing} saved ratings were not posted in 300 s")
    return unsaved


def describe(label: str, memory: Memory) -> str:
    """One line of the report."""
    each = " + ".join(f"{size:.0f}" for size in memory.resident)
    return (
        f"  {label:<22} {memory.proportional:6.1f} MB proportional; "
        f"{memory.resident_total:6.1f} MB resident (master, then each child by pid: {each})"
    )


def run() -> bool:
    """Measure and print; True when the size stays under the goal and does not grow."""
    print(
        f"leadloop run memory, idle and after {TOTAL_REQUESTS:,} /rate-lead requests "
        f"(goal: < {GOAL_MB:.0f} MB proportional, no growth after {WARM_UP_REQUESTS:,})"
    )
    port = free_port()
    command = server_command("leadloop", port, workers=1, threads=8)
    fake = PostClock(team_id=payloads.TEAM_ID)
    with (
        fake,
        tempfile.TemporaryDirectory() as tmp,
        load_client() as client,
        running_server(command, port, bench_env(fake.api_url, f"sqlite:///{tmp}/m.db")) as process,
    ):
        idle = memory_of(process.pid)
        unsaved = send(fake, client, port, already=0, count=WARM_UP_REQUESTS)
        warm = memory_of(process.pid)
        unsaved += send(
            fake, client, port, already=WARM_UP_REQUESTS, count=TOTAL_REQUESTS - WARM_UP_REQUESTS
        )
        final = memory_of(process.pid)
    if unsaved:
        print(f"  ({unsaved} of the {TOTAL_REQUESTS:,} acks said nothing was saved)")
    print(describe("idle", idle))
    print(describe(f"after {WARM_UP_REQUESTS:,} requests", warm))
    print(describe(f"after {TOTAL_REQUESTS:,} requests", final))
    growth = final.resident_total - warm.resident_total
    allowed = max(GROWTH_FLOOR_MB, warm.resident_total * GROWTH_TOLERANCE)
    small = max(idle.proportional, warm.proportional, final.proportional) < GOAL_MB
    steady = growth <= allowed
    print(
        f"  size {'under' if small else 'OVER'} {GOAL_MB:.0f} MB; growth from "
        f"{WARM_UP_REQUESTS:,} to {TOTAL_REQUESTS:,} requests: {growth:+.1f} MB resident "
        f"(allowed {allowed:.1f} MB){'  goal met' if small and steady else '  GOAL MISSED'}"
    )
    return small and steady


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
