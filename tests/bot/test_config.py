"""Settings built from the environment, with friendly errors (bot/config.py)."""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, Settings

BOT_TOKEN = "xoxb-1111-2222-botTokenValue"
APP_TOKEN = "xapp-1-A111-3333-appTokenValue"
SIGNING_SECRET = "8f1e2d3c4b5a69788f1e2d3c4b5a6978"
REQUIRED = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "FEEDBACK_CHANNEL": "C0FEEDBK1",
}


def env_with(**changes: str | None) -> dict[str, str]:
    """The minimal valid environment with ``changes``; None removes a variable."""
    env = dict(REQUIRED)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def config_error(env: dict[str, str]) -> ConfigError:
    """The ConfigError that ``env`` must raise."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    return raised.value


def test_required_variables_alone_build_settings_with_the_defaults() -> None:
    settings = Settings.from_env(REQUIRED)

    assert settings.slack_bot_token == BOT_TOKEN
    assert settings.slack_signing_secret == SIGNING_SECRET
    assert settings.feedback_channel == "C0FEEDBK1"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///./data/leadloop.db"
    assert settings.timezone == "UTC"
    assert settings.port == 3000
    assert settings.report_channel is None
    assert settings.slack_app_token is None
    assert settings.socket_mode is False


def test_full_environment_builds_settings_from_every_variable() -> None:
    settings = Settings.from_env(
        env_with(
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL="http://127.0.0.1:8099/api/",
            DATABASE_URL="postgresql://leadloop:pw@db:5432/leadloop",
            REPORT_CHANNEL="G0REPORTS",
            LEADLOOP_TZ="Europe/Berlin",
            PORT="8080",
        )
    )

    assert settings.slack_app_token == APP_TOKEN
    assert settings.socket_mode is True
    assert settings.slack_api_url == "http://127.0.0.1:8099/api/"
    assert settings.database_url == "postgresql://leadloop:pw@db:5432/leadloop"
    assert settings.report_channel == "G0REPORTS"
    assert settings.timezone == "Europe/Berlin"
    assert settings.port == 8080
    assert set(settings.secrets) == {BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, "pw"}  # db password


def test_values_are_trimmed_and_blank_optional_values_mean_the_default() -> None:
    settings = Settings.from_env(
        env_with(SLACK_BOT_TOKEN=f"  {BOT_TOKEN}\n", SLACK_APP_TOKEN="  ", PORT=" ")
    )
    assert settings.slack_bot_token == BOT_TOKEN
    assert settings.socket_mode is False
    assert settings.port == 3000


def test_slack_api_url_without_trailing_slash_gains_one() -> None:
    settings = Settings.from_env(env_with(SLACK_API_URL="http://localhost:8099/api"))
    assert settings.slack_api_url == "http://localhost:8099/api/"


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_each_missing_required_variable_is_named_with_where_to_find_it(variable: str) -> None:
    error = config_error(env_with(**{variable: None}))

    assert error.variable == variable
    assert variable in str(error)
    assert ".env.example" in str(error)
    assert "manifest.json" in str(error)


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_blank_required_variable_counts_as_missing(variable: str) -> None:
    assert config_error(env_with(**{variable: "   "})).variable == variable


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-1111-user-token"),
        ("SLACK_BOT_TOKEN", "not-a-token"),
        ("SLACK_APP_TOKEN", "xoxb-1111-2222-wrong-kind"),
        ("FEEDBACK_CHANNEL", "#feedback"),
        ("FEEDBACK_CHANNEL", "feedback"),
        ("REPORT_CHANNEL", "U0REPORT1"),
        ("LEADLOOP_TZ", "Mars/Base"),
        ("LEADLOOP_TZ", "../../etc/passwd"),
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("PORT", "0"),
        ("PORT", "-1"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "./data/leadloop.db"),
        ("SLACK_API_URL", "ftp://x"),
        ("SLACK_API_URL", "https://"),
    ],
)
def test_malformed_value_raises_config_error_naming_the_variable(variable: str, value: str) -> None:
    error = config_error(env_with(**{variable: value}))

    assert error.variable == variable
    assert str(error).startswith(f"{variable}: ")
    assert ".env.example" in str(error)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LEADLOOP_TZ", "Europe"),  # a folder of zones, not a zone
        ("PORT", "²"),  # str.isdigit() is true, int() refuses it
        ("SLACK_API_URL", "http://[::1"),  # urlparse raises ValueError
    ],
    ids=["tz-is-a-zone-folder", "port-superscript-digit", "api-url-bad-ipv6"],
)
def test_odd_malformed_value_raises_config_error_not_a_crash(variable: str, value: str) -> None:
    # The CLI turns ConfigError into one friendly line; any other exception is a traceback.
    error = config_error(env_with(**{variable: value}))
    assert error.variable == variable


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-9999-8888-pasted-user-token"),
        ("SLACK_BOT_TOKEN", "8f1e2d3c4b5a6978-a-signing-secret"),
        ("SLACK_APP_TOKEN", "xoxb-9999-8888-pasted-bot-token"),
    ],
)
def test_malformed_token_value_never_appears_in_the_error(variable: str, value: str) -> None:
    error = config_error(env_with(**{variable: value}))

    assert value not in str(error)
    assert value not in repr(error)
    assert value not in error.problem


def test_repr_of_settings_shows_no_token_or_signing_secret() -> None:
    settings = Settings.from_env(env_with(SLACK_APP_TOKEN=APP_TOKEN))
    for text in (repr(settings), str(settings)):
        assert BOT_TOKEN not in text
        assert APP_TOKEN not in text
        assert SIGNING_SECRET not in text
    assert "C0FEEDBK1" in repr(settings)  # the rest is still there to debug with


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(REQUIRED)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@hypothesis.settings(derandomize=True, max_examples=200, deadline=None)
@given(
    variable=st.sampled_from(
        [
            "SLACK_BOT_TOKEN",
            "SLACK_APP_TOKEN",
            "SLACK_SIGNING_SECRET",
            "FEEDBACK_CHANNEL",
            "REPORT_CHANNEL",
            "LEADLOOP_TZ",
            "PORT",
            "DATABASE_URL",
            "SLACK_API_URL",
        ]
    ),
    value=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
)
def test_any_value_gives_settings_or_a_config_error(variable: str, value: str) -> None:
    try:
        Settings.from_env(env_with(**{variable: value}))
    except ConfigError as error:
        assert error.variable == variable


CLIENT_ID = "1234567890.9876543210"
CLIENT_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
OAUTH = {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET}


def test_oauth_credentials_replace_the_bot_token_and_the_feedback_channel() -> None:
    settings = Settings.from_env(env_with(SLACK_BOT_TOKEN=None, FEEDBACK_CHANNEL=None, **OAUTH))

    assert settings.oauth is True
    assert settings.slack_bot_token is None
    assert settings.feedback_channel is None
    assert CLIENT_SECRET in settings.secrets
    assert CLIENT_SECRET not in repr(settings)


def test_single_workspace_mode_is_not_oauth() -> None:
    assert Settings.from_env(REQUIRED).oauth is False


@pytest.mark.parametrize(
    ("changes", "variable", "hint"),
    [
        ({"SLACK_CLIENT_ID": CLIENT_ID}, "SLACK_CLIENT_SECRET", "needs both"),
        ({"SLACK_CLIENT_SECRET": CLIENT_SECRET}, "SLACK_CLIENT_ID", "needs both"),
        (
            {"SLACK_CLIENT_ID": "my-app", "SLACK_CLIENT_SECRET": CLIENT_SECRET},
            "SLACK_CLIENT_ID",
            "1234567890.1234567890",
        ),
        (OAUTH | {"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_BOT_TOKEN", "remove one"),
        (OAUTH | {"SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_APP_TOKEN", "Remove it"),
    ],
    ids=["id-without-secret", "secret-without-id", "malformed-id", "both-modes", "socket-mode"],
)
def test_oauth_settings_that_cannot_work_are_named_with_a_fix(
    changes: dict[str, str], variable: str, hint: str
) -> None:
    env = env_with(FEEDBACK_CHANNEL=None, SLACK_BOT_TOKEN=None) | changes

    error = config_error(env)

    assert error.variable == variable
    assert hint in str(error)
    assert CLIENT_SECRET not in str(error)


@pytest.mark.parametrize(
    ("variable", "example"),
    [
        ("SLACK_BOT_TOKEN", "xoxb-your-bot-token"),
        ("SLACK_SIGNING_SECRET", "your-signing-secret"),
        ("SLACK_APP_TOKEN", "xapp-your-app-token"),
        ("FEEDBACK_CHANNEL", "C0123ABCD"),
        ("ADMIN_USERS", "U0123ABCD,U0456EFGH"),
    ],
)
def test_an_example_value_left_from_env_example_is_refused_naming_the_variable(
    variable: str, example: str
) -> None:
    error = config_error(env_with(**{variable: example}))

    assert error.variable == variable
    assert "example value from .env.example" in str(error)
    assert example not in str(error)  # it may sit next to a real secret: never echoed


@pytest.mark.parametrize("level", ["debug", "INFO", " Warning ", "ERROR", ""])
def test_log_level_accepts_the_four_levels_in_any_case(level: str) -> None:
    from bot.config import log_level

    assert log_level(level, name="LOG_LEVEL") in {"DEBUG", "INFO", "WARNING", "ERROR"}


@pytest.mark.parametrize("level", ["verbose", "TRACE", "5", "info,debug"])
def test_an_unknown_log_level_names_the_setting_and_the_choices(level: str) -> None:
    from bot.config import log_level

    with pytest.raises(ConfigError) as raised:
        log_level(level, name="LOG_LEVEL")

    assert raised.value.variable == "LOG_LEVEL"
    assert "DEBUG, INFO, WARNING, ERROR" in str(raised.value)
