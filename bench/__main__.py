"""Run the benchmarks and print each figure next to its goal.

``python -m bench`` runs them all; ``python -m bench ack_latency throughput`` runs those
named (``make bench-goals`` runs those two: issue 12's goals).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    ack_latency,
    home,
    lead_import,
    lead_parse,
    memory,
    report,
    throughput,
    work_cpu,
)

BENCHMARKS: dict[str, Callable[[], bool]] = {
    "ack_latency": ack_latency.run,
    "throughput": throughput.run,
    "work_cpu": work_cpu.run,
    "memory": memory.run,
    "lead_parse": lead_parse.run,
    "lead_import": lead_import.run,
    "report": report.run,
    "home": home.run,
}


def main(names: list[str]) -> int:
    """Run the named benchmarks (all by default); exit 1 if any misses its goal."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    results = [BENCHMARKS[name]() for name in names or BENCHMARKS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
