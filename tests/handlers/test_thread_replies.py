"""Marketing's answers in rating threads: message events through the running app."""

from __future__ import annotations

from sqlmodel import select

from storage.engine import SessionFactory
from storage.models import ProcessedEvent, Rating, Response
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient


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
