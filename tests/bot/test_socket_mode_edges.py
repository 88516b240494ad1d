"""Socket Mode at a connection's edges, through the real ``leadloop run`` against the fakes.

Slack asks for a refresh (``disconnect``, ``refresh_requested``) before it closes a
connection, connections drop without a word, and commands come in bursts; in each case
every envelope is acknowledged within Slack's 3 seconds, every rating is stored once, and
the log says plainly whether leadloop is connected.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.socket_mode import CONNECTED, LOST
from tests import slack_payloads as payloads
from tests.bot.test_start_from_env_example import (
    env_file_from_example,
    filled_in,
    leadloop_run,
    stored_ratings,
    user_environment,
)
from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode
from tests.processes import ProcessLog

SLACK_ACK_DEADLINE = 3.0  # Slack shows the user an error after this


@dataclass
class RunningBot:
    """``leadloop run`` in Socket Mode, connected to ``socket_mode``."""

    socket_mode: FakeSocketMode
    fake_slack: FakeSlack
    log: ProcessLog
    database_url: str

    def rate(self, lead: str) -> str:
        """``/rate-lead LEAD 2 no budget`` as a Socket Mode envelope; its envelope_id."""
        command = payloads.slash_command(
            f"{lead} 2 no budget", response_url=self.fake_slack.response_url()
        )
        return self.socket_mode.send_envelope("slash_commands", command, wait=5)

    def ack_waits(self, envelope_ids: list[str], timeout: float = 10.0) -> list[float]:
        """How long each envelope waited for its ack, once all are acked."""
        for envelope_id in envelope_ids:
            self.socket_mode.wait_for_ack(envelope_id, timeout=timeout)
        waits = [self.socket_mode.ack_wait(envelope_id) for envelope_id in envelope_ids]
        return [wait for wait in waits if wait is not None]


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    """The user's bot from .env.example, in Socket Mode, with its first connection up."""
    database_url = f"sqlite:///{tmp_path / 'database' / 'leadloop.db'}"
    directory = tmp_path / "leadloop"
    env_file_from_example(directory, **filled_in(fake_slack, database_url))
    with FakeSocketMode() as socket_mode:
        fake_slack.socket_mode_url = socket_mode.url
        with leadloop_run(directory, user_environment(tmp_path)) as (_, log):
            log.wait_for(CONNECTED)
            yield RunningBot(socket_mode, fake_slack, log, database_url)


class Sent:
    """The envelope ids of the ratings sent so far; a test can wait for a count of them."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._changed = threading.Condition()

    def add(self, envelope_id: str) -> None:
        with self._changed:
            self.ids.append(envelope_id)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` ratings were sent."""
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.ids) >= count, timeout), self.ids


@contextmanager
def rating_steadily(bot: RunningBot, *, every: float = 0.05) -> Iterator[Sent]:
    """Rate a new lead every ``every`` seconds while the block runs."""
    sent = Sent()
    stop = threading.Event()

    def send() -> None:
        while not stop.is_set():
            sent.add(bot.rate(f"EDGE-{len(sent.ids) + 1}"))
            stop.wait(every)

    sender = threading.Thread(target=send, name="rating-steadily")
    sender.start()
    try:
        yield sent
    finally:
        stop.set()
        sender.join(timeout=10)


def assert_each_stored_once(bot: RunningBot, count: int) -> None:
    """Ratings of EDGE-1..EDGE-count, one each, and nothing else."""
    leads = Counter(lead for _, lead, *_ in stored_ratings(bot.database_url))
    assert leads == Counter({f"EDGE-{n}": 1 for n in range(1, count + 1)})


def test_envelopes_sent_across_refreshes_are_all_acked_within_3_s_and_stored_once(
    bot: RunningBot,
) -> None:
    # Slack keeps the old connection open for a while after asking: both deliver meanwhile.
    # A busy refresh: a rating every 50 ms before, during and after the switch.
    with rating_steadily(bot) as steady:
        steady.wait_for(6)  # before the switch
        asked = bot.socket_mode.refresh(overlap=4.0)
        moved = bot.socket_mode.wait_for_hello(since=asked, timeout=5)
        steady.wait_for(len(steady.ids) + 20)  # after it, on both connections
    sent = steady.ids
    # A quiet one: the first rating after it comes as the new connection opens.
    quiet_asked = bot.socket_mode.refresh(overlap=4.0)
    bot.socket_mode.wait_for_hello(since=quiet_asked, timeout=5)
    sent.append(bot.rate(f"EDGE-{len(sent) + 1}"))

    waits = bot.ack_waits(sent)

    assert moved - asked < 1.0
    assert len(waits) == len(sent) >= 20
    assert max(waits) < SLACK_ACK_DEADLINE, sorted(waits)[-5:]
    assert_each_stored_once(bot, len(sent))
    assert len(bot.socket_mode.hellos) == 3
    # A refresh is not a lost connection.
    assert bot.log.containing(LOST) == []
    assert len(bot.log.containing(CONNECTED)) == 1


def test_after_an_abrupt_close_the_bot_is_back_within_2_s_and_says_so(
    bot: RunningBot,
) -> None:
    dropped = bot.socket_mode.drop()
    back = bot.socket_mode.wait_for_hello(since=dropped, timeout=10)
    envelope_id = bot.rate("EDGE-1")
    [wait] = bot.ack_waits([envelope_id])

    assert back - dropped < 2.0
    assert wait < SLACK_ACK_DEADLINE
    assert_each_stored_once(bot, 1)
    # Connected, lost, connected again: one line each, in that order.
    bot.log.wait_for(CONNECTED, timeout=5, count=2)
    states = [line for line in bot.log.lines if CONNECTED in line or LOST in line]
    assert [LOST in line for line in states] == [False, True, False], states
    assert " INFO " in states[0] and " WARNING " in states[1] and " INFO " in states[2]


def test_a_burst_of_commands_is_acked_within_3_s_each(bot: RunningBot) -> None:
    sent = [bot.rate(f"EDGE-{n}") for n in range(1, 41)]

    waits = bot.ack_waits(sent)

    assert len(waits) == 40
    assert max(waits) < SLACK_ACK_DEADLINE, sorted(waits)[-5:]
    assert_each_stored_once(bot, 40)


@pytest.mark.parametrize(
    "malformed",
    [
        {"actions": "not a list"},
        {"actions": [{"action_id": {"an": "object"}, "value": "1"}]},
    ],
    ids=["actions-a-string", "action-id-an-object"],
)
def test_an_envelope_of_the_wrong_shape_is_acked_and_logged_in_one_line(
    bot: RunningBot, malformed: dict[str, object]
) -> None:
    click = {**payloads.block_action(action_id="score", value="1"), **malformed}

    envelope_id = bot.socket_mode.send_envelope("interactive", click, wait=5)

    ack = bot.socket_mode.wait_for_ack(envelope_id, timeout=SLACK_ACK_DEADLINE)
    assert "payload" not in ack  # an empty answer: Slack sends it no more
    bot.log.wait_for("refused a Socket Mode envelope of the wrong shape")
    assert len(bot.log.containing("wrong shape")) == 1 and "Traceback" not in bot.log.text
    bot.socket_mode.wait_for_ack(bot.rate("EDGE-1"))  # and the next one is served
    assert_each_stored_once(bot, 1)
