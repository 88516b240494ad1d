"""Logs never carry a token or a secret (bot/logging_setup.py)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import REDACTED, RedactingFilter, configure_logging
from domain.leads.webhook_body import new_webhook_secret

SIGNING_SECRET = "8f1e2d3c4b5a69788f1e2d3c4b5a6978"
BOT_TOKEN = "xoxb-1111-2222-botTokenValue"
APP_TOKEN = "xapp-1-A111-3333-appTokenValue"
USER_TOKEN = "xoxp-4444-5555-userTokenValue"
UNCONFIGURED_BOT_TOKEN = "xoxb-9999-8888-someOtherWorkspace"


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, with its handlers, filters and level put back afterwards."""
    root = logging.getLogger()
    handlers, filters, level = list(root.handlers), list(root.filters), root.level
    try:
        yield root
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.filters[:] = filters
        root.setLevel(level)


@pytest.fixture
def log_output(root_logger: logging.Logger) -> io.StringIO:
    """What configure_logging's handler writes, configured with the bot token and secret."""
    configure_logging(level="DEBUG", secrets=[BOT_TOKEN, SIGNING_SECRET])
    [handler] = root_logger.handlers
    assert isinstance(handler, logging.StreamHandler)
    output = io.StringIO()
    handler.setStream(output)
    return output


@pytest.fixture
def logger() -> logging.Logger:
    """An application logger that propagates to the root."""
    return logging.getLogger("leadloop.tests.logging")


@pytest.mark.parametrize("secret", [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, USER_TOKEN])
def test_secret_in_the_message_is_redacted(
    secret: str, log_output: io.StringIO, logger: logging.Logger
) -> None:
    logger.warning(f"calling Slack with {secret} now")

    written = log_output.getvalue()
    assert secret not in written
    assert f"calling Slack with {REDACTED} now" in written


@pytest.mark.parametrize("secret", [BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, USER_TOKEN])
def test_secret_in_percent_args_is_redacted(
    secret: str, log_output: io.StringIO, logger: logging.Logger
) -> None:
    logger.info("headers: %s, retry %d", {"Authorization": f"Bearer {secret}"}, 2)

    written = log_output.getvalue()
    assert secret not in written
    assert REDACTED in written
    assert "retry 2" in written


def test_secret_in_an_exception_traceback_is_redacted(
    log_output: io.StringIO, logger: logging.Logger
) -> None:
    token = UNCONFIGURED_BOT_TOKEN
    try:
        raise RuntimeError(f"invalid_auth for {token} and {SIGNING_SECRET}")
    except RuntimeError:
        logger.exception("posting the rating failed")

    written = log_output.getvalue()
    assert "Traceback (most recent call last)" in written
    assert "posting the rating failed" in written
    assert f"RuntimeError: invalid_auth for {REDACTED} and {REDACTED}" in written
    assert token not in written
    assert SIGNING_SECRET not in written


def test_traceback_already_formatted_by_another_handler_is_redacted_too(
    log_output: io.StringIO, logger: logging.Logger
) -> None:
    record = logger.makeRecord(
        logger.name, logging.ERROR, __file__, 1, "failed", None, None, func=None
    )
    record.exc_text = f"Traceback (most recent call last):\nValueError: {BOT_TOKEN}"

    logger.handle(record)

    written = log_output.getvalue()
    assert BOT_TOKEN not in written
    assert f"ValueError: {REDACTED}" in written


def test_records_from_libraries_are_redacted_as_well(
    log_output: io.StringIO,
) -> None:
    logging.getLogger("slack_sdk.web.base_client").debug("Sending a request - token: %s", APP_TOKEN)

    written = log_output.getvalue()
    assert APP_TOKEN not in written
    assert f"token: {REDACTED}" in written


def test_configure_logging_replaces_existing_handlers_and_sets_the_level(
    root_logger: logging.Logger,
) -> None:
    root_logger.addHandler(logging.NullHandler())
    root_logger.addHandler(logging.NullHandler())

    configure_logging(level="warning")

    [handler] = root_logger.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert root_logger.level == logging.WARNING
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)


def test_filter_on_our_own_handler_redacts_configured_secrets_only_when_long_enough() -> None:
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(RedactingFilter(secrets=[SIGNING_SECRET, "abc"]))
    own = logging.Logger("leadloop.tests.own_handler")  # not registered: nothing shared
    own.addHandler(handler)

    own.error("secret=%s short=%s", SIGNING_SECRET, "abc")

    assert output.getvalue() == f"secret={REDACTED} short=abc\n"


def test_longer_secret_is_redacted_whole_when_it_contains_a_shorter_one() -> None:
    long_secret = SIGNING_SECRET + "-extended"
    redactor = RedactingFilter(secrets=[SIGNING_SECRET, long_secret])

    assert redactor.redact(f"a {long_secret} b") == f"a {REDACTED} b"


@pytest.mark.parametrize(
    "token",
    [BOT_TOKEN, APP_TOKEN, USER_TOKEN, "xoxa-2-abc", "xoxr-1-abc", "xoxe-1-abc", "xoxs-1-abc"],
)
def test_anything_shaped_like_a_slack_token_is_redacted(token: str) -> None:
    assert RedactingFilter().redact(f"token={token};") == f"token={REDACTED};"


def test_a_workspaces_webhook_secret_is_redacted_wherever_it_appears() -> None:
    secret = new_webhook_secret()
    # slack_sdk logs the body of each response_url post at DEBUG, and that is where the
    # admin is shown a new secret.
    logged = f'Sending a request - body: {{"text": "the secret:\\n`{secret}`"}}'

    assert secret not in RedactingFilter().redact(logged)


def test_log_call_with_mismatched_args_does_not_raise_into_the_caller(
    log_output: io.StringIO, logger: logging.Logger
) -> None:
    # The standard library reports a broken log call through Handler.handleError and carries
    # on; a listener must not fail because of a typo in a log statement.
    logger.warning("two placeholders %s %s, one arg", BOT_TOKEN)

    assert BOT_TOKEN not in log_output.getvalue()


FORGED = "2026-01-05 09:00:00,000 ERROR leadloop: the database is gone"


@pytest.mark.parametrize("breaker", ["\n", "\r\n", "\r", "\x85", "\u2028", "\x0b", "\x0c"])
def test_text_from_a_request_cannot_start_a_line_of_its_own(
    breaker: str, log_output: io.StringIO, logger: logging.Logger
) -> None:
    logger.info("rating text: %s", f"great lead{breaker}{FORGED}")

    written = log_output.getvalue()
    assert written.count("\n") == 1 and written.endswith("\n")
    assert len(written.splitlines()) == 1  # the Unicode line breaks too
    assert "great lead" in written and FORGED in written  # still there, on the same line


def test_control_characters_in_a_message_are_written_as_escapes(
    log_output: io.StringIO, logger: logging.Logger
) -> None:
    logger.warning("got %r and %s", "x", "a\nb\rc\td\x1b[31me\x00f\x7fg\x9bh")

    assert log_output.getvalue().endswith("got 'x' and a\\nb\\rc\\td\\x1b[31me\\x00f\\x7fg\\x9bh\n")


def test_a_traceback_stays_readable_on_indented_lines_that_no_exception_text_can_forge(
    log_output: io.StringIO, logger: logging.Logger
) -> None:
    try:
        raise ValueError(f"bad input\n{FORGED}\x1b[2K")
    except ValueError:
        logger.exception("parsing failed")

    first, *rest = log_output.getvalue().splitlines()
    assert first.endswith("leadloop.tests.logging: parsing failed")
    assert rest[0] == "  Traceback (most recent call last):"
    assert any(line.startswith('    File "') for line in rest)
    assert "  ValueError: bad input" in rest
    assert f"  {FORGED}\\x1b[2K" in rest  # the exception's own text, indented and escaped
    assert all(line.startswith("  ") for line in rest)
