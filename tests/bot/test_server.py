"""The HTTP server: health check, routing, body limit, and a database outage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from storage.engine import create_db_engine, database_answers, make_session_factory
from tests.conftest import FakeClock, serve_app
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient, http_request

UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/leadloop?connect_timeout=1"


@pytest.fixture
def app_without_database(
    settings: Settings, web_client: WebClient, clock: FakeClock
) -> Iterator[SlackAppClient]:
    """The app running while its database does not answer."""
    engine = create_db_engine(UNREACHABLE_DATABASE)
    with serve_app(
        settings,
        session_factory=make_session_factory(engine),
        client=web_client,
        clock=clock,
        is_healthy=lambda: database_answers(engine),
    ) as client:
        yield client
    engine.dispose()


def test_health_check_is_200_when_the_database_answers(slack: SlackAppClient) -> None:
    answer = http_request(slack.base_url + "/healthz")

    assert (answer.status, answer.json()) == (200, {"status": "ok"})


def test_health_check_is_503_when_the_database_is_down(
    app_without_database: SlackAppClient,
) -> None:
    answer = http_request(app_without_database.base_url + "/healthz")

    assert answer.status == 503


def test_unknown_paths_are_404(slack: SlackAppClient) -> None:
    assert http_request(slack.base_url + "/admin").status == 404
    assert http_request(slack.base_url + "/slack/events").status == 404  # GET


def test_oversized_body_is_refused_with_413(slack: SlackAppClient) -> None:
    answer = http_request(
        slack.events_url,
        method="POST",
        body=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status == 413


def test_rating_while_the_database_is_down_tells_the_rep_to_try_again(
    app_without_database: SlackAppClient, fake_slack: FakeSlack
) -> None:
    answer = app_without_database.command("ACME-1 3", response_url=fake_slack.response_url())

    assert answer.status == 200
    apology = answer.json()  # in the ack itself: nothing was stored, so nothing follows
    assert apology["response_type"] == "ephemeral"
    assert "nothing was saved" in apology["text"]
    assert "Traceback" not in apology["text"]
    assert fake_slack.calls_to("response_url") == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_events_url_verification_challenge_is_answered(slack: SlackAppClient) -> None:
    answer = slack.post_signed(
        '{"token": "t", "challenge": "c0ffee", "type": "url_verification"}',
        content_type="application/json",
    )

    assert (answer.status, answer.json()) == (200, {"challenge": "c0ffee"})
