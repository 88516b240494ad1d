"""Group commit of sent posts: batches form while a commit is under way, failures go alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from bot.outbox.recording import GroupCommit, Sent
from storage.models import OutboxMessage


def sent(message_id: int) -> Sent:
    return Sent(message=OutboxMessage(id=message_id), record=lambda _session: None)


class HeldCommits:
    """Commits that wait for the test before finishing; remembers each batch's ids."""

    def __init__(self, *, failing: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.failing = failing

    def __call__(self, batch: Sequence[Sent]) -> None:
        self.batches.append([each.message.id or -1 for each in batch])
        self.started.set()
        self.release.wait(timeout=10)
        if self.failing:
            raise RuntimeError("database gone")


class ArrivingDuringTheFirstCommit:
    """Commits that remember each batch's ids; while the first one is under way, other
    senders' posts join the queue (as their threads would, appending behind it)."""

    def __init__(self, arriving: list[Sent]) -> None:
        self.batches: list[list[int]] = []
        self.group: GroupCommit | None = None
        self._arriving = arriving

    def __call__(self, batch: Sequence[Sent]) -> None:
        self.batches.append([each.message.id or -1 for each in batch])
        if len(self.batches) == 1 and self.group is not None:
            self.group._waiting.extend(self._arriving)  # noqa: SLF001


def grouped(arriving: list[Sent], *, max_batch: int = 64) -> tuple[GroupCommit, list[list[int]]]:
    commits = ArrivingDuringTheFirstCommit(arriving)
    commits.group = GroupCommit(commits, max_batch=max_batch)
    return commits.group, commits.batches


def test_a_lone_post_is_committed_at_once_by_its_own_sender() -> None:
    commits = HeldCommits()
    commits.release.set()
    group = GroupCommit(commits)
    only = sent(1)

    group.record(only)

    assert commits.batches == [[1]]
    assert only.done and not only.alone


def test_posts_sent_while_a_commit_is_under_way_are_committed_together_next() -> None:
    later = [sent(message_id) for message_id in (2, 3, 4)]
    group, batches = grouped(later)

    group.record(sent(1))  # commits [1]; 2, 3 and 4 arrive meanwhile
    assert batches == [[1]] and not any(each.done for each in later)
    last = sent(5)
    group.record(last)  # the next sender commits everything waiting, its own post too

    assert batches == [[1], [2, 3, 4, 5]]
    assert all(each.done and not each.alone for each in (*later, last))


def test_a_batch_never_grows_past_its_limit() -> None:
    group, batches = grouped([sent(message_id) for message_id in (2, 3, 4)], max_batch=2)

    group.record(sent(1))
    group.record(sent(5))  # commits batches until its own post is in one

    assert batches == [[1], [2, 3], [4, 5]]


def test_every_post_of_a_failed_batch_is_left_to_its_sender_to_record_alone() -> None:
    commits = HeldCommits(failing=True)
    commits.release.set()
    group = GroupCommit(commits)
    failed = sent(1)

    group.record(failed)

    assert failed.done and failed.alone


def test_a_sender_whose_post_missed_the_batch_it_committed_commits_again() -> None:
    commits = HeldCommits()
    commits.release.set()
    group = GroupCommit(commits, max_batch=1)
    group._waiting.append(sent(2))  # queued by a sender that is not waiting yet
    last = sent(3)

    group.record(last)

    assert last.done and not last.alone
    assert commits.batches == [[2], [3]]
