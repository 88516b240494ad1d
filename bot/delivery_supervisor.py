"""``leadloop run`` keeps one delivery process (``leadloop deliver``) running beside it.

The first one is forked from ``leadloop run`` itself, after its imports and before any
other thread exists: it then shares the memory of every module with the processes that
answer Slack (a fresh ``python -m bot deliver`` added about 90 MB, and took the whole
``leadloop run`` past its 150 MB; bench/README.md). Forking later, with threads running,
could copy a lock another thread holds (a half-written log line) into a child that then
waits for it forever, so a delivery process started again after one died is a fresh
``python -m bot deliver`` instead. A thread of its own watches the child through a pidfd,
so it does not matter who reaps it (gunicorn's master reaps every child it has). If
``leadloop run`` dies, even by SIGKILL, the kernel stops the child too.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import NoReturn

# Loaded here, in the parent, so that the forked child shares them rather than loading
# its own copies.
import bot.delivery  # noqa: F401

logger = logging.getLogger("leadloop")

# Pauses before starting a delivery process that died again, longer each time it dies soon.
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
# What ``ps`` calls the child (its command line stays ``leadloop run``'s).
DELIVERY_PROCESS_NAME = "leadloop-deliv"  # 15 bytes at most
# Handlers gunicorn's master installs, put back to the defaults in the child.
INHERITED_HANDLERS = (
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
    signal.SIGCHLD,
)
# A child that lived this long was healthy: its next death starts the pauses over.
HEALTHY_SECONDS = 60.0
STOP_SECONDS = 30.0
# How ``_run_once`` says the child ended with no sign of a failure: with status 0, which
# it only does on a stop signal, or reaped first by gunicorn's master, leaving no status.
ENDED_QUIETLY = "ended"


class DeliverySupervisor:
    """Forks the delivery process, and starts it again whenever it dies."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        log_level: str,
        restart_delays: Sequence[float] = RESTART_DELAYS,
    ) -> None:
        self._env = dict(env)
        self._log_level = log_level
        self._restart_delays = tuple(restart_delays)
        self._parent = os.getpid()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._child: int | None = None
        self._forked: int | None = None  # the first child, forked before the thread started
        self._thread = threading.Thread(target=self._supervise, name="leadloop-supervise")

    def start(self) -> DeliverySupervisor:
        """Start the delivery process, and watch it."""
        if threading.active_count() == 1:  # no other thread can hold a lock the fork copies
            # What is loaded now stays out of the garbage collector's way, so the child
            # (and gunicorn's workers) keep sharing those pages instead of copying them.
            gc.freeze()
            self._forked = self._fork()
        self._thread.start()
        return self

    def parent_stopping(self) -> None:
        """``leadloop run`` is stopping: a delivery process that ends now stays ended.

        Ctrl-C reaches the delivery process with the whole process group, often before
        ``leadloop run`` has finished its requests in flight and called ``stop``.
        """
        if os.getpid() == self._parent:
            self._stopping.set()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM the delivery process, which finishes its sends; SIGKILL it after ``timeout``.

        Only in ``leadloop run`` itself: gunicorn's workers are forks of it that leave
        through the same ``finally``, holding a copy of this object, and must not stop the
        delivery process when one of them exits.
        """
        if os.getpid() != self._parent:
            return
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
            return self._child

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            status = self._run_once()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_SECONDS:
                failures = 0
            delay = self._restart_delays[min(failures, len(self._restart_delays) - 1)]
            failures += 1
            if status == ENDED_QUIETLY:
                # Most likely told to stop: by Ctrl-C, which reaches the whole process
                # group, leadloop run is then stopping too and says so within moments.
                if self._stopping.wait(delay):
                    return
                logger.error(
                    "the delivery process ended while leadloop kept running; starting it again"
                )
                continue
            logger.error(
                "the delivery process stopped (%s); starting it again in %s s", status, delay
            )
            self._stopping.wait(delay)

    def _fork(self) -> int:
        pid = os.fork()
        if pid == 0:
            _be_the_delivery_process(self._env, self._log_level, parent=self._parent)
        with self._lock:
            self._child = pid
        logger.info("leadloop started its delivery process (pid %s)", pid)
        return pid

    def _run_once(self) -> str:
        """The forked child, or a new one started; waits until it has exited and says how
        it ended."""
        with self._lock:
            if self._stopping.is_set():
                return "stopping"
            pid, self._forked = self._forked, None
            if pid is None:
                pid = self._spawn()
                self._child = pid
                logger.info("leadloop started its delivery process (pid %s)", pid)
        _wait_for_exit(pid)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # gunicorn's master reaped it first: its status is gone
            status = None
        with self._lock:
            self._child = None
        if status is None or os.waitstatus_to_exitcode(status) == 0:
            return ENDED_QUIETLY
        code = os.waitstatus_to_exitcode(status)
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"

    def _spawn(self) -> int:
        """A fresh ``python -m bot deliver`` (safe to start from this thread)."""
        command = [
            sys.executable,
            "-m",
            "bot",
            "deliver",
            "--log-level",
            self._log_level,
            "--exit-with-parent",
            str(self._parent),
        ]
        # posix_spawn runs no Python in the child (unlike a fork from this thread), and
        # leaves the reaping to _run_once.
        stdin_from_nowhere = (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
        return os.posix_spawn(sys.executable, command, self._env, file_actions=[stdin_from_nowhere])


def _be_the_delivery_process(env: Mapping[str, str], log_level: str, *, parent: int) -> NoReturn:
    """In the forked child: run ``leadloop deliver``, then exit without returning.

    The child must never go back up the parent's stack (gunicorn's loop, the CLI), so it
    leaves through ``os._exit``. Signal handlers the parent installed (gunicorn's) go back
    to the defaults; ``leadloop deliver`` installs its own.
    """
    code = 1
    try:
        for signum in INHERITED_HANDLERS:
            signal.signal(signum, signal.SIG_DFL)
        from bot.cli import build_parser, run_command

        argv = ["deliver", "--log-level", log_level, "--exit-with-parent", str(parent)]
        code = run_command(build_parser().parse_args(argv), env)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        logger.exception("the delivery process failed")
    finally:
        logging.shutdown()
        os._exit(code)


def _name_process(name: str) -> None:
    """The name ``ps`` and /proc/PID/comm show, so the child can be told apart."""
    import ctypes

    pr_set_name = 15
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_name, name.encode())
    except (OSError, AttributeError):  # not Linux: the name stays the parent's
        logger.debug("cannot name the delivery process")


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


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def exit_with_parent(parent_pid: int) -> None:
    """In the child: get SIGTERM when ``leadloop run`` dies; exit now if it died already.
    Also names the process for ``ps``."""
    import ctypes

    _name_process(DELIVERY_PROCESS_NAME)
    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent stops us on a normal shutdown
        logger.debug("cannot ask the kernel to stop the delivery process with its parent")
    if os.getppid() != parent_pid:
        raise SystemExit(0)
