"""``leadloop run`` keeps one delivery process (``leadloop deliver``) running beside it.

The child is started from a thread of its own that watches it through a pidfd, so it
does not matter who reaps it (gunicorn's master reaps every child it has). If the child
dies, it is started again after a pause; if ``leadloop run`` dies, even by SIGKILL, the
kernel stops the child too (``--exit-with-parent``).
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

logger = logging.getLogger("leadloop")

# Pauses before starting a delivery process that died again, longer each time it dies soon.
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
# A child that lived this long was healthy: its next death starts the pauses over.
HEALTHY_SECONDS = 60.0
STOP_SECONDS = 30.0


class DeliverySupervisor:
    """Starts ``python -m bot deliver`` and starts it again whenever it dies."""

    def __init__(self, env: Mapping[str, str], *, log_level: str) -> None:
        self._env = dict(env)
        self._command = [
            sys.executable,
            "-m",
            "bot",
            "deliver",
            "--log-level",
            log_level,
            "--exit-with-parent",
            str(os.getpid()),
        ]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._supervise, name="leadloop-supervise")

    def start(self) -> DeliverySupervisor:
        """Start the delivery process, and watch it."""
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM the delivery process, which finishes its sends; SIGKILL it after ``timeout``."""
        self._stopping.set()
        with self._lock:
            child = self._child
        if child is not None:
            _signal(child, signal.SIGTERM)
        self._thread.join(timeout)
        if child is not None and self._thread.is_alive():
            logger.warning("the delivery process did not stop in %s s; killing it", timeout)
            _signal(child, signal.SIGKILL)
            self._thread.join()

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        with self._lock:
            return self._child.pid if self._child else None

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            status = self._run_once()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_SECONDS:
                failures = 0
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            failures += 1
            logger.error(
                "the delivery process stopped (%s); starting it again in %s s", status, delay
            )
            self._stopping.wait(delay)

    def _run_once(self) -> str:
        """Start the child and wait until it has exited; says how it ended."""
        with self._lock:
            if self._stopping.is_set():
                return "stopping"
            child = subprocess.Popen(self._command, env=self._env, stdin=subprocess.DEVNULL)
            self._child = child
        logger.info("leadloop started its delivery process (pid %s)", child.pid)
        _wait_for_exit(child.pid)
        try:
            code = child.wait(timeout=1)
        except subprocess.TimeoutExpired:  # pragma: no cover - the pidfd said it exited
            code = None
        with self._lock:
            self._child = None
        if code is None or code == 0:
            return "exited"
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


def _wait_for_exit(pid: int) -> None:
    """Block until ``pid`` has exited, whoever reaps it."""
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # gone (and reaped) already
    try:
        select.select([descriptor], [], [])
    finally:
        os.close(descriptor)


def _signal(child: subprocess.Popen[bytes], signum: int) -> None:
    try:
        child.send_signal(signum)
    except ProcessLookupError:
        pass


def exit_with_parent(parent_pid: int) -> None:
    """In the child: get SIGTERM when ``leadloop run`` dies; exit now if it died already."""
    import ctypes

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent stops us on a normal shutdown
        logger.debug("cannot ask the kernel to stop the delivery process with its parent")
    if os.getppid() != parent_pid:
        raise SystemExit(0)
