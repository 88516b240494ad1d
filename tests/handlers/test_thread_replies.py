"""Marketing's answers in rating threads: message events through the running app."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.app import create_app
from bot.config import Settings
from storage.engine import SessionFactory
from storage.models import OutboxMessage, ProcessedEvent, Rating, Response
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.slack_app_client import HttpAnswer, SlackAppClient


class HeldWork(Executor):
    """A pool that runs nothing: what is submitted to it stays undone."""

    def __init__(self) -> None:
        self.held: list[Callable[[], Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.held.append(lambda: fn(*args, **kwargs))
        return Future()


@contextmanager
def failing_at(engine: Engine, statement_prefix: str) -> Iterator[None]:
    """Make the engine fail, as a lost database would, at statements starting so."""

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


def rate_and_get_post_ts(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> str:
    slack.command("ACME-1042 2 no budget", response_url=fake_slack.response_url())
    with session_factory() as session:
        rating = session.exec(select(Rating)).one()
    assert rating.post_ts is not None
    return rating.post_ts


def stored_responses(session_factory: SessionFactory) -> list[Response]:
    with session_factory() as session:
        return list(session.exec(select(Response).order_by(Response.id)).all())


def dms_to_rater(fake_slack: FakeSlack) -> list[object]:
    return [
        call
        for call in fake_slack.calls_to("chat.postMessage")
        if call.params["channel"] == payloads.RATER_ID
    ]


def reply_event(thread_ts: str, *, event_id: str = "Ev001", **fields: object) -> dict[str, object]:
    event = payloads.thread_reply(
        thread_ts=thread_ts, ts=fields.pop("ts", "1700000100.000100"), **fields
    )  # type: ignore[arg-type]
    return payloads.event_callback(event, event_id=event_id)


def test_reply_in_a_rating_thread_is_stored_and_the_rater_is_told_once(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)

    answer = slack.event(reply_event(post_ts, text="Webinar list &amp; <b>old</b> data"))

    assert answer.status == 200
    [response] = stored_responses(session_factory)
    assert (response.user_id, response.ts, response.is_answer, response.deleted) == (
        payloads.MARKETER_ID,
        "1700000100.000100",
        True,
        False,
    )
    assert response.text == "Webinar list & <b>old</b> data"
    assert response.created_at.timestamp() == 1700000100.0001
    [dm] = dms_to_rater(fake_slack)
    assert "ACME-1042" in str(dm.params["blocks"])  # type: ignore[attr-defined]
    assert "&lt;b&gt;old&lt;/b&gt;" in str(dm.params["blocks"])  # type: ignore[attr-defined]
    assert "https://test.slack.com/archives/CFEEDBACK/p1700000100000100" in str(
        dm.params["blocks"]  # type: ignore[attr-defined]
    )


def test_retried_event_is_stored_once_and_dms_once(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    envelope = reply_event(post_ts, event_id="EvRetry")

    slack.event(envelope)
    retry = slack.event(envelope, retry_num=1)

    assert retry.status == 200
    assert len(stored_responses(session_factory)) == 1
    assert len(dms_to_rater(fake_slack)) == 1


def test_retry_whose_first_delivery_never_arrived_is_processed(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)

    slack.event(reply_event(post_ts, event_id="EvLost"), retry_num=2)

    assert len(stored_responses(session_factory)) == 1
    assert len(dms_to_rater(fake_slack)) == 1


def test_second_answer_is_stored_without_a_second_dm(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)

    slack.event(reply_event(post_ts, event_id="Ev1", ts="1700000100.000100"))
    slack.event(reply_event(post_ts, event_id="Ev2", ts="1700000200.000100", user="UOTHER"))

    assert len(stored_responses(session_factory)) == 2
    assert len(dms_to_rater(fake_slack)) == 1


def test_raters_own_reply_is_kept_but_is_not_marketings_answer(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)

    slack.event(reply_event(post_ts, user=payloads.RATER_ID, text="Any news?"))

    [response] = stored_responses(session_factory)
    assert response.is_answer is False
    assert dms_to_rater(fake_slack) == []


def test_bot_messages_and_unrelated_threads_are_ignored(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)

    slack.event(reply_event(post_ts, event_id="EvBot", bot_id="BOTHER", subtype="bot_message"))
    slack.event(reply_event("1600000000.000001", event_id="EvElse"))
    slack.event(reply_event(post_ts, event_id="EvChan", channel="CRANDOM"))
    other_team = payloads.event_callback(
        payloads.thread_reply(thread_ts=post_ts, ts="1700000300.000100"),
        event_id="EvOtherTeam",
        team_id=payloads.OTHER_TEAM_ID,
    )
    slack.event(other_team)

    assert stored_responses(session_factory) == []
    with session_factory() as session:
        assert session.exec(select(ProcessedEvent)).all() == []


def test_edited_reply_updates_the_stored_text(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    slack.event(reply_event(post_ts, text="first draft"))
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": payloads.FEEDBACK_CHANNEL,
        "hidden": True,
        "ts": "1700000400.000100",
        "message": {
            "type": "message",
            "user": payloads.MARKETER_ID,
            "text": "final answer",
            "ts": "1700000100.000100",
            "thread_ts": post_ts,
        },
    }

    slack.event(payloads.event_callback(edited, event_id="EvEdit"))

    [response] = stored_responses(session_factory)
    assert (response.text, response.deleted) == ("final answer", False)
    assert response.edited_at is not None


def test_deleted_reply_is_marked_deleted(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    slack.event(reply_event(post_ts))
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": payloads.FEEDBACK_CHANNEL,
        "hidden": True,
        "ts": "1700000500.000100",
        "deleted_ts": "1700000100.000100",
        "previous_message": {"type": "message", "user": payloads.MARKETER_ID, "text": "x"},
    }

    slack.event(payloads.event_callback(deleted, event_id="EvDelete"))

    [response] = stored_responses(session_factory)
    assert response.deleted is True


def edit_event(post_ts: str, *, text: str, event_id: str = "EvEdit") -> dict[str, Any]:
    """Slack's ``message_changed`` for the reply of ``reply_event``."""
    edited = {
        "type": "message",
        "subtype": "message_changed",
        "channel": payloads.FEEDBACK_CHANNEL,
        "hidden": True,
        "ts": "1700000400.000100",
        "message": {
            "type": "message",
            "user": payloads.MARKETER_ID,
            "text": text,
            "ts": "1700000100.000100",
            "thread_ts": post_ts,
        },
    }
    return payloads.event_callback(edited, event_id=event_id)


def deletion_event(event_id: str = "EvDelete") -> dict[str, Any]:
    """Slack's ``message_deleted`` for the reply of ``reply_event``."""
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": payloads.FEEDBACK_CHANNEL,
        "hidden": True,
        "ts": "1700000500.000100",
        "deleted_ts": "1700000100.000100",
        "previous_message": {"type": "message", "user": payloads.MARKETER_ID, "text": "x"},
    }
    return payloads.event_callback(deleted, event_id=event_id)


def deliver_without_waiting(slack: SlackAppClient, envelope: dict[str, Any]) -> HttpAnswer:
    """Send an event and return as soon as the HTTP answer is back, listeners or not."""
    return slack.post_signed(json.dumps(envelope), content_type="application/json", wait=False)


def the_response(session_factory: SessionFactory) -> tuple[str, bool, bool]:
    [response] = stored_responses(session_factory)
    return response.text, response.edited_at is not None, response.deleted


def test_a_reply_its_edit_and_its_deletion_are_stored_when_the_200_comes_back(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)

    stored = deliver_without_waiting(slack, reply_event(post_ts, text="first draft"))
    assert stored.status == 200
    assert the_response(session_factory) == ("first draft", False, False)

    edited = deliver_without_waiting(slack, edit_event(post_ts, text="final answer"))
    assert edited.status == 200
    assert the_response(session_factory) == ("final answer", True, False)

    deleted = deliver_without_waiting(slack, deletion_event())
    assert deleted.status == 200
    assert the_response(session_factory) == ("final answer", True, True)


@pytest.fixture
def held_app(
    settings: Settings, session_factory: SessionFactory, web_client: WebClient, clock: FakeClock
) -> tuple[App, HeldWork]:
    """The app with pools that run nothing: Bolt's listener pool and the work after the ack."""
    pool = HeldWork()
    app = create_app(
        settings,
        session_factory=session_factory,
        client=web_client,
        clock=clock,
        listener_executor=pool,
        work_executor=pool,
    )
    return app, pool


def dispatch(app: App, envelope: dict[str, Any]) -> int:
    """Hand a signed event to Bolt as the HTTP server does; Bolt's answer's status."""
    body = json.dumps(envelope)
    headers = payloads.signed_headers(body, content_type="application/json")
    return app.dispatch(BoltRequest(body=body, headers=headers)).status


def test_the_change_is_committed_before_bolt_answers_and_nothing_is_left_for_after_it(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    held_app: tuple[App, HeldWork],
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    app, pool = held_app

    assert dispatch(app, reply_event(post_ts, text="first draft")) == 200
    assert the_response(session_factory) == ("first draft", False, False)
    with session_factory() as session:  # the note owed to the rater, in the same commit
        kinds = [message.kind for message in session.exec(select(OutboxMessage))]
    assert kinds.count("answer_notice") == 1
    assert dispatch(app, edit_event(post_ts, text="final answer")) == 200
    assert the_response(session_factory) == ("final answer", True, False)
    assert dispatch(app, deletion_event()) == 200
    assert the_response(session_factory) == ("final answer", True, True)

    # Listeners run in the request (process_before_response), and none leaves work for later.
    assert pool.held == []


def errors_logged_by_the_listener(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "handlers.thread_replies.message" and record.levelno >= logging.ERROR
    ]


def test_a_reply_the_database_refuses_gets_a_500_and_its_retry_is_stored_once(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    envelope = reply_event(post_ts, event_id="EvRefused")

    # The event is claimed before the reply is inserted: both go, or neither.
    with failing_at(engine, "INSERT INTO response"), caplog.at_level(logging.ERROR):
        refused = slack.event(envelope)

    assert refused.status == 500
    assert stored_responses(session_factory) == []
    with session_factory() as session:
        assert session.exec(select(ProcessedEvent)).all() == []
    assert dms_to_rater(fake_slack) == []
    [logged] = errors_logged_by_the_listener(caplog)
    assert logged.exc_info is not None and "EvRefused" in logged.getMessage()

    retry = slack.event(envelope, retry_num=1)
    again = slack.event(envelope, retry_num=2)  # as if the first retry's 200 got lost

    assert (retry.status, again.status) == (200, 200)
    assert len(stored_responses(session_factory)) == 1
    assert len(dms_to_rater(fake_slack)) == 1


@pytest.mark.parametrize(
    ("change", "failing", "after"),
    [
        (lambda ts: edit_event(ts, text="final"), "UPDATE response", ("final", True, False)),
        (lambda ts: deletion_event(), "UPDATE response", ("draft", True, True)),
    ],
    ids=["edit", "deletion"],
)
def test_an_edit_or_deletion_the_database_refuses_gets_a_500_and_its_retry_is_stored(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    change: Any,
    failing: str,
    after: tuple[str, bool, bool],
) -> None:
    post_ts = rate_and_get_post_ts(slack, fake_slack, session_factory)
    slack.event(reply_event(post_ts, text="draft"))
    envelope = change(post_ts)

    with failing_at(engine, failing):
        refused = slack.event(envelope)

    assert refused.status == 500
    assert the_response(session_factory) == ("draft", False, False)

    assert slack.event(envelope, retry_num=1).status == 200
    assert slack.event(envelope, retry_num=2).status == 200
    assert the_response(session_factory) == after
    with session_factory() as session:
        claimed = [e.event_id for e in session.exec(select(ProcessedEvent))]
    assert sorted(claimed) == sorted(["Ev001", envelope["event_id"]])
