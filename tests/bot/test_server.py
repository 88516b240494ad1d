"""The HTTP server: health check, routing, body limit, and a database outage."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.config import Settings
from bot.refusals import REFUSALS_LOGGED_PER_WINDOW
from storage.engine import create_db_engine, database_answers, make_session_factory
from tests import slack_payloads as payloads
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


FORGED_LINE = "2026-01-05 09:00:00,000 ERROR leadloop: FORGED the database is gone"
FORM = "application/x-www-form-urlencoded"


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged, messages and tracebacks."""
    return "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records)


def test_an_unsigned_request_is_refused_with_one_line_and_nothing_of_its_body(
    slack: SlackAppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = f"command=/rate-lead&text=ACME-1 3\n{FORGED_LINE}\n".encode()

    answer = http_request(
        slack.events_url, method="POST", body=body, headers={"Content-Type": FORM}
    )

    assert answer.status == 401
    [refusal] = [r for r in caplog.records if r.name == "leadloop.refusals"]
    assert refusal.getMessage() == (
        f"refused a request to /slack/events that Slack did not sign ({len(body)} bytes): "
        "no signature"
    )
    assert "FORGED" not in logged(caplog) and "ACME-1" not in logged(caplog)


def test_a_real_request_made_stale_by_clock_skew_logs_neither_its_response_url_nor_its_text(
    slack: SlackAppClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response_url = fake_slack.response_url("skewed")

    answer = slack.post_signed(
        payloads.form_body(
            payloads.slash_command("ACME-1 3 secret plans", response_url=response_url)
        ),
        content_type=FORM,
        timestamp=int(time.time()) - 6 * 60,
    )

    assert answer.status == 401
    assert "more than 5 minutes off" in logged(caplog)
    assert response_url not in logged(caplog) and "secret plans" not in logged(caplog)


def test_many_unsigned_requests_log_a_few_lines_only(
    slack: SlackAppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for n in range(40):
        headers = {
            "Content-Type": FORM,
            "X-Slack-Signature": "v0=00",
            "X-Slack-Request-Timestamp": str(int(time.time())),
        }
        answer = http_request(slack.events_url, method="POST", body=b"x=%d" % n, headers=headers)
        assert answer.status == 401

    lines = [r for r in caplog.records if r.name == "leadloop.refusals"]
    assert len(lines) == REFUSALS_LOGGED_PER_WINDOW
    assert all(
        line.getMessage().endswith(
            "the signature does not match (is SLACK_SIGNING_SECRET this app's?)"
        )
        for line in lines
    )


@pytest.mark.parametrize(
    ("actions", "problem"),
    [
        (
            [{"action_id": {"id": "x"}, "block_id": "b1"}],
            "payload.actions[0].action_id is an object",
        ),
        ("meeting_snooze", "payload.actions is a string"),
        ([], "payload.actions is empty"),
    ],
)
def test_a_signed_payload_of_the_wrong_shape_gets_a_400_and_one_line_without_a_traceback(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    actions: object,
    problem: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    click = payloads.block_action(action_id="meeting_snooze", value="1")
    click["actions"] = actions

    answer = slack.interact(click)

    assert answer.status == 400
    [line] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert line.getMessage().startswith(
        f"refused a signed Slack request of the wrong shape: {problem}"
    )
    assert line.exc_info is None and line.exc_text is None
    assert fake_slack.calls_to("response_url") == []
