"""Waiting in the main thread for a stop that a signal handler asks for.

CPython runs a signal's Python handler in the main thread, between two bytecodes. When the
kernel hands SIGINT or SIGTERM to another thread (it may, to any thread not blocking it),
nothing wakes a main thread blocked in ``Event.wait()``: the handler, and so the stop,
waited until something else woke it, and ``leadloop playground`` once sat out a Ctrl-C
that way. A wait in short slices runs the handler within a slice.
"""

from __future__ import annotations

import threading

# The longest a stop signal waits for its handler to run.
SIGNAL_CHECK_SECONDS = 0.2


def wait_until_set(event: threading.Event) -> None:
    """Block until ``event`` is set, running signal handlers meanwhile (main thread)."""
    while not event.wait(SIGNAL_CHECK_SECONDS):
        pass


def wait_for_a_signal() -> None:
    """Block until a signal handler raises (KeyboardInterrupt, on Ctrl-C)."""
    wait_until_set(threading.Event())
