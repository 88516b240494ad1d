"""The pool that does listeners' work after the ack runs below the threads answering Slack."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from bot.app import WORK_NICENESS, default_work_executor


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are Linux's")
def test_work_threads_run_at_the_lowest_cpu_priority_and_leave_the_caller_alone() -> None:
    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = own_niceness()
    pool = default_work_executor()
    try:
        in_pool = pool.submit(own_niceness).result(timeout=10)
    finally:
        pool.shutdown(wait=True)

    assert in_pool == WORK_NICENESS
    assert own_niceness() == before
