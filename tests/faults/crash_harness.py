"""What the crash tests share: ``leadloop run`` as real processes, killing all of them or
only the delivery child, bursts of signed requests, and the database read back after.

``leadloop run`` is started in a process group of its own: its gunicorn master, the workers
and the delivery child (``python -m bot deliver --exit-with-parent PID``, started by the
master) all share that group, so one ``killpg`` SIGKILLs every one of them at once, as an
OOM kill or a lost host would. The processes are found through ``/proc`` (Linux).

A claim on an outbox row runs out 45 s after its sender last renewed it. A test cannot wait
that long, and the simulated clock does not shorten it (the lease is stretched with the
clock). Once the process that held a claim is dead, nothing can renew it or release it, so
the only thing the 45 s change is ``claimed_until`` falling behind the clock: ``lapse_claims``
writes that to the rows of the dead process (``claimed_until`` one second in the past) and
wakes the delivery process, exactly as the database looks once the lease has run out.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text, update
from sqlmodel import col, select

from bot.delivery_supervisor import DELIVERY_PROCESS_NAME as DELIVERY_NAME
from storage.engine import create_db_engine, make_session_factory
from storage.models import OutboxMessage
from storage.outbox_signal import announce_owed
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import ProcessLog, free_port, stop_process, wait_for_database
from tests.slack_app_client import http_request

ROOT = Path(__file__).resolve().parents[2]
CONCURRENCY = 8
STARTED = "leadloop is listening"
DELIVERING = "leadloop is delivering"


def real_time_slack(fake_slack: FakeSlack) -> FakeSlack:
    """The fake Slack stamping messages with the real time, as Slack does: the bot runs on
    the real clock and looks for an earlier post no further back than its row's creation."""
    fake_slack.clock = lambda: datetime.now(UTC)
    return fake_slack


def bot_env(fake_slack: FakeSlack, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of ``leadloop run`` against the fake Slack and ``database_url``."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LEADLOOP_ENV_FILE": os.devnull,
        "SLACK_BOT_TOKEN": "xoxb-crash-test-token",
        "SLACK_SIGNING_SECRET": payloads.SIGNING_SECRET,
        "FEEDBACK_CHANNEL": payloads.FEEDBACK_CHANNEL,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database_url,
        **extra,
    }


@dataclass
class Bot:
    """One running ``leadloop run``: its process (the group leader), log and address."""

    process: subprocess.Popen[str]
    log: ProcessLog
    base_url: str

    @property
    def events_url(self) -> str:
        """Where Slack sends every request."""
        return self.base_url + "/slack/events"

    def delivery_pid(self) -> int:
        """The pid of the delivery child now running (the one ``leadloop run`` started)."""
        found = [pid for pid in children_of(self.process.pid) if command_name(pid) == DELIVERY_NAME]
        assert len(found) == 1, f"delivery children of {self.process.pid}: {found}"
        return found[0]


@contextmanager
def leadloop_run(env: dict[str, str]) -> Iterator[Bot]:
    """``leadloop run`` in a process group of its own, once it serves and delivers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    log = ProcessLog(process.stderr)
    try:
        log.wait_for(STARTED)
        log.wait_for(DELIVERING)
        yield Bot(process, log, f"http://127.0.0.1:{port}")
    except BaseException:
        print(f"leadloop run's log:\n{log.text}")  # shown by pytest when the test fails
        raise
    finally:
        if process.poll() is None:
            stop_process(process, process_group=True)


# --- processes, through /proc ----------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (every thread's children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return [child for child in found if is_alive(child)]


def command_name(pid: int) -> str:
    """A process's name as ``ps`` shows it ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and process group, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[2])


def is_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie has stopped running)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def group_members(pgid: int) -> set[int]:
    """Every live process of process group ``pgid``."""
    members: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pgid and stat[0] != "Z":
                members.add(int(entry.name))
    return members


def wait_until_dead(pids: Collection[int], timeout: float = 10.0) -> None:
    """Block until none of ``pids`` runs any more."""
    wait_for_database(lambda: not any(is_alive(pid) for pid in pids), timeout=timeout)


def kill_everything(bot: Bot) -> set[int]:
    """SIGKILL every process of ``leadloop run`` at once; the pids killed.

    Asserts the group held the master, at least one worker and the delivery child, and
    that none of them survives.
    """
    leader = bot.process.pid
    delivery = bot.delivery_pid()
    members = group_members(leader)
    assert {leader, delivery} <= members and len(members) >= 3, members
    os.killpg(leader, signal.SIGKILL)
    bot.process.wait(timeout=10)
    wait_until_dead(members)
    return members


def kill_delivery_child(bot: Bot) -> int:
    """SIGKILL only the delivery child; its pid, once it is dead."""
    pid = bot.delivery_pid()
    os.kill(pid, signal.SIGKILL)
    wait_until_dead([pid])
    return pid


# --- requests --------------------------------------------------------------------------


def post_signed(
    url: str, body: str, *, content_type: str, extra: dict[str, str] | None = None
) -> int:
    """A request signed as Slack signs it; the status, 0 when no whole answer came back (the
    process died with it in flight, even between the answer's head and its body, or was
    dead already: Slack takes none of these as acknowledged)."""
    headers = payloads.signed_headers(body, content_type=content_type)
    headers.update(extra or {})
    try:
        return http_request(url, method="POST", body=body.encode(), headers=headers).status
    except (OSError, http.client.HTTPException):
        return 0


def burst_then_kill(
    bot: Bot, send: Callable[[int], int], *, count: int, kill_after: int
) -> tuple[set[int], set[int]]:
    """Send requests ``0..count-1`` (``send(n)`` returns the status) ``CONCURRENCY`` at a
    time; SIGKILL every process once ``kill_after`` were answered 200.

    Returns the numbers answered 200 and those never sent (the processes were dead).
    """
    acknowledged: set[int] = set()
    unsent: set[int] = set()
    lock = threading.Lock()
    killed = threading.Event()

    def one(number: int) -> None:
        if killed.is_set():
            with lock:
                unsent.add(number)
            return
        status = send(number)
        with lock:
            if status == 200:
                acknowledged.add(number)
            if len(acknowledged) >= kill_after and not killed.is_set():
                killed.set()
                kill_everything(bot)

    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        list(pool.map(one, range(count)))
    assert killed.is_set(), f"only {len(acknowledged)} of {count} requests were answered 200"
    return acknowledged, unsent


# --- the database ----------------------------------------------------------------------


def rows(database_url: str, sql: str, **params: Any) -> Sequence[Any]:
    """The rows of one query, on a connection of the test's own."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).all()
    finally:
        engine.dispose()


def live_claims(database_url: str) -> set[int]:
    """Ids of pending outbox rows whose claim has not run out: being sent (or held by a
    process that died while sending them)."""
    engine = create_db_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            found = session.exec(
                select(OutboxMessage.id).where(
                    col(OutboxMessage.status) == "pending",
                    col(OutboxMessage.claimed_until) > datetime.now(UTC),
                )
            ).all()
    finally:
        engine.dispose()
    return {int(message_id) for message_id in found if message_id is not None}


def lapse_claims(database_url: str, message_ids: Collection[int]) -> int:
    """Let the claims on ``message_ids`` run out now instead of in 45 s; how many there were.

    Only for claims of processes that are dead: nothing else may hold them. Wakes the
    delivery process as a commit that owes a post would.
    """
    if not message_ids:
        return 0
    engine = create_db_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            now = datetime.now(UTC)
            result = session.exec(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id).in_(list(message_ids)),
                    col(OutboxMessage.status) == "pending",
                    col(OutboxMessage.claimed_until) > now,
                )
                .values(claimed_until=now - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )
            announce_owed(session)
            session.commit()
            return int(result.rowcount)
    finally:
        engine.dispose()


def outbox_statuses(database_url: str, kind: str) -> dict[int, str]:
    """Each outbox row of ``kind``: its status."""
    return {
        int(message_id): str(status)
        for message_id, status in rows(
            database_url,
            "SELECT id, status FROM outbox_message WHERE kind = :kind",
            kind=kind,
        )
    }
