"""``/rate-lead`` through signed HTTP requests to the running app and the fake Slack server."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from bot.config import Settings
from bot.outbox.engine import Deliverer
from domain.admin.roles import RoleDirectory
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.rate_lead.command import handle_rate_lead
from storage.engine import SessionFactory
from storage.models import Lead, OutboxMessage, Rating
from storage.ratings import get_or_create_lead
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, SleepRecorder
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient


def all_ratings(session_factory: SessionFactory) -> list[Rating]:
    with session_factory() as session:
        return list(session.exec(select(Rating).order_by(Rating.id)).all())


def all_leads(session_factory: SessionFactory) -> list[Lead]:
    with session_factory() as session:
        return list(session.exec(select(Lead).order_by(Lead.id)).all())


def outbox_rows(session_factory: SessionFactory) -> list[OutboxMessage]:
    with session_factory() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def test_rating_is_stored_posted_to_feedback_channel_and_confirmed(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    answer = slack.command(
        "ACME-1042 2 wrong industry, no budget", response_url=fake_slack.response_url()
    )

    assert answer.status == 200
    [rating] = all_ratings(session_factory)
    assert (rating.team_id, rating.rater_id, rating.score) == ("T0TEST", "URATER", 2)
    assert (rating.reason, rating.via, rating.created_at) == (
        "wrong industry, no budget",
        "command",
        clock.now,
    )
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == payloads.FEEDBACK_CHANNEL
    assert "ACME-1042" in post.params["text"]
    blocks = str(post.params["blocks"])
    assert "★★☆☆☆" in blocks and "wrong industry, no budget" in blocks and "<@URATER>" in blocks
    assert rating.post_channel == payloads.FEEDBACK_CHANNEL
    assert rating.post_ts is not None and rating.post_ts.startswith("1700000000.")
    confirmation = answer.json()  # the rep's answer is the ack itself
    assert confirmation["response_type"] == "ephemeral"
    assert "ACME-1042" in confirmation["text"]
    assert f"<#{payloads.FEEDBACK_CHANNEL}>" in confirmation["text"]
    assert fake_slack.calls_to("response_url") == []


def test_the_request_calls_slack_for_nothing_and_the_post_follows_from_the_outbox(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = slack.command("ACME-1 4", response_url=fake_slack.response_url(), wait=False)

    assert answer.status == 200
    assert "ACME-1" in answer.json()["text"]
    assert len(all_ratings(session_factory)) == 1  # stored before the answer
    # Only Bolt's start-up check so far: the delivery process posts the rating, not the request.
    assert [call.method for call in fake_slack.calls] == ["auth.test"]
    slack.wait_idle()
    [post] = fake_slack.calls_to("chat.postMessage")
    assert "ACME-1" in post.params["text"]
    assert fake_slack.calls_to("response_url") == []


def test_rating_the_same_lead_again_adds_to_its_history(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    slack.command("ACME-7 2 too small", response_url=fake_slack.response_url())
    slack.command("ACME-7 4 actually they grew", response_url=fake_slack.response_url())

    assert [lead.external_ref for lead in all_leads(session_factory)] == ["ACME-7"]
    assert [rating.score for rating in all_ratings(session_factory)] == [2, 4]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ACME-1042 7 great", "`7` is not a score"),
        ("ACME-1042 two", "`two` is not a score"),
        ("ACME-1042 2.5", "`2.5` is not a score"),
        ("ACME-1042", "What score?"),
        ("3 ACME-1042", "score came first"),
        ("X" * 201 + " 3", "201 characters"),
        ("ACME-1042 3 " + "x" * 2001, "2,001 characters"),
        ("ACME-1042 3 bad\x07bell", "control characters"),
    ],
)
def test_bad_input_gets_a_usage_message_and_changes_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    problem: str,
) -> None:
    answer = slack.command(text, response_url=fake_slack.response_url())

    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert problem in body["text"]
    assert "/rate-lead ACME-1042 2 wrong industry, no budget" in body["text"]
    assert all_ratings(session_factory) == []
    assert all_leads(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_help_prints_usage(slack: SlackAppClient, fake_slack: FakeSlack) -> None:
    answer = slack.command("help", response_url=fake_slack.response_url())

    assert "How to rate a lead" in answer.json()["text"]


def test_no_text_opens_the_rating_form(slack: SlackAppClient, fake_slack: FakeSlack) -> None:
    answer = slack.command("", response_url=fake_slack.response_url(), trigger_id="trig-42")

    assert answer.status == 200
    [opened] = fake_slack.calls_to("views.open")
    assert opened.params["trigger_id"] == "trig-42"
    view = opened.params["view"]
    assert view["callback_id"] == "rate_lead_modal"
    assert {block["block_id"] for block in view["blocks"]} == {"lead", "score", "tags", "reason"}
    assert '"channel": "CSALES"' in view["private_metadata"]


def test_request_with_a_bad_signature_is_refused_and_stores_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    body = payloads.form_body(
        payloads.slash_command("ACME-1 3", response_url=fake_slack.response_url())
    )

    answer = slack.post_signed(
        body, content_type="application/x-www-form-urlencoded", secret="not-the-secret"
    )

    assert answer.status == 401
    assert all_ratings(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_request_with_a_stale_timestamp_is_refused_and_stores_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    body = payloads.form_body(
        payloads.slash_command("ACME-1 3", response_url=fake_slack.response_url())
    )

    answer = slack.post_signed(
        body,
        content_type="application/x-www-form-urlencoded",
        timestamp=int(time.time()) - 10 * 60,
    )

    assert answer.status == 401
    assert all_ratings(session_factory) == []


def test_rate_limited_post_is_retried_after_slacks_wait_and_posted_once(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    sleeps: SleepRecorder,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=2)

    slack.command("ACME-9 5 perfect fit", response_url=fake_slack.response_url())

    assert len(fake_slack.calls_to("chat.postMessage")) == 2
    assert 2 <= sleeps.waits[0] < 3
    [rating] = all_ratings(session_factory)
    assert rating.post_ts is not None
    assert [row.status for row in outbox_rows(session_factory)] == ["sent"]


def test_rating_survives_a_slack_outage_and_is_posted_once_slack_recovers(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    deliverer: Deliverer,
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500, times=3)

    answer = slack.command("ACME-3 1 fake email", response_url=fake_slack.response_url())

    [rating] = all_ratings(session_factory)
    assert rating.post_ts is None
    # The ack went before the post was tried: it promises the channel, not a post already there.
    confirmation = answer.json()["text"]
    assert f"It is saved and goes to <#{payloads.FEEDBACK_CHANNEL}>" in confirmation
    assert "is posted" not in confirmation
    [owed] = outbox_rows(session_factory)
    assert owed.status == "pending"

    assert deliverer.deliver_due() == 0  # not due yet: back-off
    clock.advance(minutes=1)
    assert deliverer.deliver_due() == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 4
    assert all_ratings(session_factory)[0].post_ts is not None
    assert deliverer.deliver_due() == 0


class HeldWork(Executor):
    """A work pool that runs nothing until the test says so."""

    def __init__(self) -> None:
        self.held: list[Callable[[], Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.held.append(lambda: fn(*args, **kwargs))
        return Future()

    def run_all(self) -> None:
        """Run what was held, in order."""
        while self.held:
            self.held.pop(0)()


def test_the_rating_and_its_owed_post_are_committed_before_slack_gets_its_answer(
    session_factory: SessionFactory, settings: Settings, clock: FakeClock
) -> None:
    work = HeldWork()
    deps = Deps(
        session_factory=session_factory,
        clock=clock,
        defaults=settings.workspace_defaults(),
        work_executor=work,
        roles=cast(RoleDirectory, None),  # /rate-lead asks no roles
    )
    seen_at_ack: list[tuple[int, int, int, dict[str, Any]]] = []

    def ack(**answer: Any) -> None:
        # Read through another session: only committed rows are visible here.
        seen_at_ack.append(
            (
                len(all_ratings(session_factory)),
                len(outbox_rows(session_factory)),
                len(work.held),
                answer,
            )
        )

    command = payloads.slash_command("ACME-5 3 fine", response_url="https://unused.invalid/")
    handle_rate_lead(ack=ack, command=command, client=None, deps=deps)

    [(ratings, owed, after_ack_work, answer)] = seen_at_ack
    assert (ratings, owed, after_ack_work) == (1, 1, 0)
    assert answer["response_type"] == "ephemeral" and "ACME-5" in answer["text"]
    # Nothing is left for later in this process: the delivery process sends the post.
    assert work.held == []


@contextmanager
def failing_at(engine: Engine, statement_prefix: str) -> Iterator[None]:
    """Make the engine fail, as a lost database would, at a statement starting so."""

    def before_cursor_execute(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().upper().startswith(statement_prefix.upper()):
            raise OperationalError(statement, parameters, Exception("database went away"))

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def test_a_database_failure_while_storing_is_answered_in_the_ack_and_stores_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The lead and the rating are already inserted when the write fails: all or nothing.
    with failing_at(engine, "INSERT INTO outbox_message"), caplog.at_level(logging.ERROR):
        answer = slack.command("ACME-8 2 lost?", response_url=fake_slack.response_url())

    assert answer.status == 200
    assert answer.json() == {"response_type": "ephemeral", "text": DATABASE_DOWN}
    assert all_leads(session_factory) == [] and all_ratings(session_factory) == []
    assert outbox_rows(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []
    assert fake_slack.calls_to("response_url") == []
    [logged] = [r for r in caplog.records if r.name == "handlers.rate_lead.command"]
    assert logged.exc_info is not None  # with its traceback

    again = slack.command("ACME-8 2 second try", response_url=fake_slack.response_url())

    assert "ACME-8" in again.json()["text"]
    assert [lead.external_ref for lead in all_leads(session_factory)] == ["ACME-8"]


def test_a_write_kept_waiting_on_a_lock_gives_up_in_time_and_says_nothing_was_saved(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    clock: FakeClock,
) -> None:
    with Session(engine) as holder:
        if engine.dialect.name == "sqlite":
            holder.connection()  # BEGIN IMMEDIATE: holds the database's one write lock
        else:  # an uncommitted ACME-4 holds its unique key: a second insert waits on it
            get_or_create_lead(holder, team_id=payloads.TEAM_ID, external_ref="ACME-4", now=clock())

        # Without a bound, this would wait 15 s (SQLite) or forever (PostgreSQL).
        answer = slack.command("ACME-4 3", response_url=fake_slack.response_url())
        holder.rollback()

    assert answer.json()["text"] == DATABASE_DOWN
    assert all_ratings(session_factory) == [] and outbox_rows(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_reason_that_says_payload_is_rated_like_any_other(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    # Bolt alone takes any form body containing "payload" for an interactive payload.
    answer = slack.command("ACME-3 2 payload too big", response_url=fake_slack.response_url())

    assert answer.status == 200
    assert "ACME-3" in answer.json()["text"]
    [rating] = all_ratings(session_factory)
    assert rating.reason == "payload too big"
