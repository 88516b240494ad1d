"""Submitting the rating form, through signed requests to the running app."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.config import Settings
from domain.admin.roles import RoleDirectory
from handlers.deps import Deps
from handlers.rate_lead.modal import NOT_SAVED, handle_rating_submission
from storage.engine import SessionFactory
from storage.models import OutboxMessage, Rating
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith
from tests.fake_slack import FakeSlack
from tests.handlers.test_rate_lead_command import HeldWork, failing_at
from tests.slack_app_client import SlackAppClient


def all_ratings(session_factory: SessionFactory) -> list[Rating]:
    with session_factory() as session:
        return list(session.exec(select(Rating).order_by(Rating.id)).all())


def rated_text(answer_body: dict[str, Any]) -> str:
    """The text of the "Rated" view the ack's answer turns the form into."""
    assert answer_body["response_action"] == "update"
    view = answer_body["view"]
    assert (view["type"], view["title"]["text"], view["close"]["text"]) == (
        "modal",
        "Rated",
        "Done",
    )
    assert "submit" not in view  # nothing to submit twice
    [block] = view["blocks"]
    return str(block["text"]["text"])


def test_valid_form_is_stored_answered_with_the_rated_view_and_posted_once(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    submission = payloads.view_submission(
        lead="ACME-1042", score="2", tags=["no_budget", "wrong_fit"], reason="Tiny team."
    )

    answer = slack.interact(submission)

    assert answer.status == 200
    text = rated_text(answer.json())
    assert "*ACME-1042* ★★☆☆☆ 2/5" in text
    assert f"goes to <#{payloads.FEEDBACK_CHANNEL}>" in text
    [rating] = all_ratings(session_factory)
    assert (rating.score, rating.reason, rating.tags, rating.via) == (
        2,
        "Tiny team.",
        ["no_budget", "wrong_fit"],
        "modal",
    )
    assert rating.origin_channel == payloads.SALES_CHANNEL
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post.params["channel"] == payloads.FEEDBACK_CHANNEL
    assert "No budget" in str(post.params["blocks"])
    # The form says it all: no second message to the rater.
    assert fake_slack.calls_to("chat.postEphemeral") == []


def test_without_a_feedback_channel_the_rated_view_says_an_admin_must_pick_one(
    settings: Settings,
    serve_with: ServeWith,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    with serve_with(replace(settings, feedback_channel=None)) as slack:
        answer = slack.interact(payloads.view_submission(lead="ACME-7", score="4"))

    text = rated_text(answer.json())
    assert "*ACME-7*" in text and "It is saved" in text
    assert "`/leadloop settings feedback #channel`" in text
    assert len(all_ratings(session_factory)) == 1
    assert fake_slack.calls_to("chat.postMessage") == []  # owed until a channel is set


@pytest.mark.parametrize(
    ("fields", "block", "problem"),
    [
        ({"lead": ""}, "lead", "Which lead?"),
        ({"lead": None}, "lead", "Which lead?"),
        ({"lead": "X" * 201}, "lead", "201 characters"),
        ({"score": None}, "score", "What score?"),
        ({"score": "9"}, "score", "`9` is not a score"),
        ({"reason": "r" * 2001}, "reason", "2,001 characters"),
        ({"reason": "nul\x00here"}, "reason", "control characters"),
        ({"tags": ["free_lunch"]}, "tags", "Unknown reason tag"),
    ],
)
def test_invalid_form_shows_the_error_on_its_field_and_stores_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    fields: dict[str, Any],
    block: str,
    problem: str,
) -> None:
    answer = slack.interact(payloads.view_submission(**fields))

    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors"
    assert problem in body["errors"][block]
    assert all_ratings(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_tampered_form_without_state_gets_field_errors(
    slack: SlackAppClient, session_factory: SessionFactory
) -> None:
    submission = payloads.view_submission()
    del submission["view"]["state"]

    answer = slack.interact(submission)

    assert set(answer.json()["errors"]) == {"lead", "score"}
    assert all_ratings(session_factory) == []


def test_a_form_without_its_submitter_is_answered_in_the_form_and_stores_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    submission = payloads.view_submission()
    del submission["user"]["id"]

    answer = slack.interact(submission)

    assert answer.status == 200
    assert answer.json() == {
        "response_action": "errors",
        "errors": {"lead": "Slack sent an incomplete form."},
    }
    assert all_ratings(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_a_form_without_its_submitter_is_acknowledged_once_with_the_error() -> None:
    """Bolt sends the first ack() at once: a second one never reaches the user."""
    acks: list[dict[str, Any]] = []
    submission = payloads.view_submission()
    del submission["user"]["id"]

    handle_rating_submission(
        ack=lambda **answer: acks.append(answer),
        body=submission,
        view=submission["view"],
        deps=cast(Deps, None),  # refused before any use
    )

    assert acks == [
        {"response_action": "errors", "errors": {"lead": "Slack sent an incomplete form."}}
    ]


def test_the_form_turns_to_rated_only_once_its_rating_is_committed(
    session_factory: SessionFactory, settings: Settings, clock: FakeClock
) -> None:
    work = HeldWork()
    deps = Deps(
        session_factory=session_factory,
        clock=clock,
        defaults=settings.workspace_defaults(),
        work_executor=work,
        roles=cast(RoleDirectory, None),  # the form asks no roles
    )
    seen_at_ack: list[tuple[int, int, dict[str, Any]]] = []

    def ack(**answer: Any) -> None:
        with session_factory() as session:  # another session: committed rows only
            owed = len(session.exec(select(OutboxMessage)).all())
        seen_at_ack.append((len(all_ratings(session_factory)), owed, answer))

    submission = payloads.view_submission(lead="ACME-6", score="4")
    handle_rating_submission(ack=ack, body=submission, view=submission["view"], deps=deps)

    [(ratings, owed, answer)] = seen_at_ack  # stored, then the ack turns the form to "Rated"
    assert (ratings, owed, answer["response_action"]) == (1, 1, "update")
    assert "ACME-6" in rated_text({**answer, "view": answer["view"].to_dict()})
    assert work.held == []  # nothing waits in this process: the delivery process posts it


def test_a_database_failure_keeps_the_form_open_with_its_input_and_stores_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
) -> None:
    submission = payloads.view_submission(lead="ACME-1042", score="2", reason="Tiny team.")

    with failing_at(engine, "INSERT INTO outbox_message"):
        answer = slack.interact(submission)

    assert answer.status == 200
    # "errors" leaves the form open with what the user typed; "Not saved" sits on the lead.
    assert answer.json() == {"response_action": "errors", "errors": {"lead": NOT_SAVED}}
    assert NOT_SAVED.startswith("Not saved") and "try again" in NOT_SAVED
    assert all_ratings(session_factory) == []
    with session_factory() as session:
        assert session.exec(select(OutboxMessage)).all() == []
    assert fake_slack.calls_to("chat.postMessage") == []
    assert fake_slack.calls_to("chat.postEphemeral") == []

    again = slack.interact(submission)  # the user submits the same form again

    assert "ACME-1042" in rated_text(again.json())
    assert [rating.reason for rating in all_ratings(session_factory)] == ["Tiny team."]
