"""A stop signal that the kernel hands to another thread still stops the main thread's wait."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.stopping import wait_until_set

FALLBACK_SECONDS = 20.0


def wait_until_blocked(thread: threading.Thread) -> None:
    """Until ``thread`` sleeps in the kernel (its wait has begun), as /proc tells."""
    stat = Path(f"/proc/self/task/{thread.native_id}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "S":
        threading.Event().wait(0.001)


@pytest.fixture
def stop_on_usr1() -> Iterator[threading.Event]:
    """An event SIGUSR1's handler sets (the handler runs in the main thread, as CPython's do)."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_a_signal_received_by_another_thread_ends_the_main_threads_wait(
    stop_on_usr1: threading.Event,
) -> None:
    assert threading.current_thread() is threading.main_thread()
    gave_up = threading.Event()

    def signal_this_thread_then_give_up() -> None:
        wait_until_blocked(threading.main_thread())
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
        if not stop_on_usr1.wait(FALLBACK_SECONDS):
            gave_up.set()
            stop_on_usr1.set()  # a plain Event.wait() would still be blocked: free it

    other = threading.Thread(target=signal_this_thread_then_give_up)
    other.start()
    wait_until_set(stop_on_usr1)
    other.join()

    assert not gave_up.is_set()
