"""Ctrl-C and SIGTERM stop ``leadloop run`` whole, whenever they arrive.

Real processes. A stop signal can reach a gunicorn worker between its fork and its own
signal handlers, and reaches the delivery process with the whole group (Ctrl-C) before
``leadloop run`` has finished stopping: neither may keep anything running.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.delivery_supervisor import DeliverySupervisor
from tests.fake_slack import FakeSlack
from tests.faults.crash_harness import DELIVERING, ROOT, bot_env, leadloop_run, wait_until_dead
from tests.processes import ProcessLog, stop_process, wait_for_database

RESTARTED = "starting it again"

# gunicorn with leadloop's master and worker, serving a plain WSGI app; its first worker
# gets SIGQUIT from its post_fork hook: after the fork, before its own handlers exist.
SIGNALLED_WHILE_BOOTING = textwrap.dedent(
    """
    import logging, os, signal, sys
    from bot.serving import GunicornServer, ServeOptions, bind_listener

    class Hello:
        def wsgi_app(self):
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"hello"]
            return app
        def close(self):
            pass

    class SignalledWhileBooting(GunicornServer):
        def load_config(self):
            super().load_config()
            self.cfg.set("post_fork", self.quit_the_first_worker)

        def quit_the_first_worker(self, arbiter, worker):
            if worker.age == 1:
                logging.getLogger("test").info("first worker %s", os.getpid())
                os.kill(os.getpid(), signal.SIGQUIT)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    options = ServeOptions(host="127.0.0.1", port=0, workers=1, threads=1)
    listener = bind_listener(options.host, options.port)
    sys.exit(SignalledWhileBooting(Hello, options, listener).serve())
    """
)


def test_a_stop_signal_that_reaches_a_worker_while_it_boots_stops_that_worker() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SIGNALLED_WHILE_BOOTING],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    log = ProcessLog(process.stderr)
    try:
        first = log.wait_for("first worker").split()[-1]
        # The master replaces the worker that stopped, and the replacement serves.
        listening = log.wait_for("leadloop is listening")
    finally:
        status = stop_process(process)
        log.wait_until_closed()
    assert f"worker {first})" not in listening, log.text
    assert f"Worker exiting (pid: {first})" in log.text
    assert status == 0, log.text


def test_ctrl_c_stops_leadloop_run_without_starting_its_delivery_process_again(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    env = bot_env(fake_slack, f"sqlite:///{tmp_path / 'leadloop.db'}")
    with leadloop_run(env) as bot:
        delivery = bot.delivery_pid()
        os.killpg(bot.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        assert bot.process.wait(timeout=20) == 0, bot.log.text
        bot.log.wait_until_closed()
    assert f"leadloop's delivery process {delivery} stopped" in bot.log.text
    assert RESTARTED not in bot.log.text
    assert bot.log.text.count(DELIVERING) == 1
    assert "leadloop stopped" in bot.log.text


@contextmanager
def supervising(env: dict[str, str]) -> Iterator[DeliverySupervisor]:
    """A delivery supervisor in this process that restarts at once; its children are real
    ``python -m bot deliver`` processes."""
    supervisor = DeliverySupervisor(env, log_level="INFO", restart_delays=(0.0,)).start()
    try:
        yield supervisor
    finally:
        supervisor.stop()


def wait_for_child(supervisor: DeliverySupervisor, *, other_than: int | None = None) -> int:
    """The pid of the supervisor's running child, once it has one (not ``other_than``)."""
    found: list[int] = []

    def started() -> bool:
        pid = supervisor.pid
        found[:] = [pid] if pid is not None and pid != other_than else []
        return bool(found)

    wait_for_database(started)
    return found[0]


@pytest.fixture
def delivery_env(
    fake_slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> dict[str, str]:
    """A delivery process's environment (SQLite, the fake Slack); the supervisor's log
    lines are captured."""
    caplog.set_level(logging.INFO, logger="leadloop")
    return bot_env(fake_slack, f"sqlite:///{tmp_path / 'leadloop.db'}")


def test_a_delivery_process_that_stops_while_leadloop_run_stops_is_not_started_again(
    delivery_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with supervising(delivery_env) as supervisor:
        child = wait_for_child(supervisor)
        supervisor.parent_stopping()
        os.kill(child, signal.SIGTERM)  # Ctrl-C reached it with the whole group
        wait_until_dead([child])
    assert caplog.text.count("started its delivery process") == 1
    assert RESTARTED not in caplog.text


def test_a_delivery_process_stopped_on_its_own_is_started_again_at_once(
    delivery_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with supervising(delivery_env) as supervisor:
        child = wait_for_child(supervisor)
        os.kill(child, signal.SIGTERM)  # an admin's `kill`, not a stop of leadloop run
        wait_for_child(supervisor, other_than=child)
    assert RESTARTED in caplog.text
