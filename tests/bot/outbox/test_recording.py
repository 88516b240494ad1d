"""Group commit of sent posts: batches form while a commit is under way, failures go alone."""

from __future__ import annotations

import threading
import time
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


def record_in_thread(group: GroupCommit, each: Sent) -> threading.Thread:
    thread = threading.Thread(target=group.record, args=(each,))
    thread.start()
    return thread


def wait_until_waiting(group: GroupCommit, count: int) -> None:
    """Until ``count`` posts wait behind the commit under way."""
    deadline = time.monotonic() + 10
    while len(group._waiting) < count:  # the test's window onto the queue
        assert time.monotonic() < deadline, f"{count} posts never queued"
        time.sleep(0.001)


def test_a_lone_post_is_committed_at_once_by_its_own_sender() -> None:
    commits = HeldCommits()
    commits.release.set()
    group = GroupCommit(commits)
    only = sent(1)

    group.record(only)

    assert commits.batches == [[1]]
    assert only.done and not only.alone


def test_posts_sent_while_a_commit_is_under_way_are_committed_together_next() -> None:
    commits = HeldCommits()
    group = GroupCommit(commits)
    first = record_in_thread(group, sent(1))
    assert commits.started.wait(timeout=10)
    later = [sent(message_id) for message_id in (2, 3, 4)]
    threads = [record_in_thread(group, each) for each in later]
    wait_until_waiting(group, 3)

    commits.release.set()
    for thread in (first, *threads):
        thread.join(timeout=10)

    assert [sorted(batch) for batch in commits.batches] == [[1], [2, 3, 4]]
    assert all(each.done and not each.alone for each in later)


def test_a_batch_never_grows_past_its_limit() -> None:
    commits = HeldCommits()
    group = GroupCommit(commits, max_batch=2)
    first = record_in_thread(group, sent(1))
    assert commits.started.wait(timeout=10)
    threads = [record_in_thread(group, sent(message_id)) for message_id in (2, 3, 4)]
    wait_until_waiting(group, 3)

    commits.release.set()
    for thread in (first, *threads):
        thread.join(timeout=10)

    # The three waiting posts in two batches, in the order they came (threads race there).
    assert [len(batch) for batch in commits.batches] == [1, 2, 1]
    assert sorted(sum(commits.batches, [])) == [1, 2, 3, 4]


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
