"""Run every benchmark and print each figure next to its goal."""

from __future__ import annotations

import sys

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


def main() -> int:
    """Run the benchmarks; exit 1 if any misses its goal."""
    results = [
        ack_latency.run(),
        work_cpu.run(),
        throughput.run(),
        memory.run(),
        lead_parse.run(),
        lead_import.run(),
        report.run(),
        home.run(),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
