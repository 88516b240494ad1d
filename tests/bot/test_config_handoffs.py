"""The hand-off settings: HANDOFF_CHANNEL and LEAD_WEBHOOK_SECRET (bot/config.py)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings

REQUIRED = {
    "SLACK_BOT_TOKEN": "xoxb-1111-2222-botTokenValue",
    "SLACK_SIGNING_SECRET": "8f1e2d3c4b5a69788f1e2d3c4b5a6978",
    "FEEDBACK_CHANNEL": "C0FEEDBK1",
}
WEBHOOK_SECRET = "b7c1f0e2d3a4958677f1e2d3c4b5a697"


def test_both_settings_are_optional() -> None:
    settings = Settings.from_env(REQUIRED)

    assert (settings.handoff_channel, settings.lead_webhook_secret) == (None, None)


def test_both_settings_are_read_and_the_secret_is_never_shown() -> None:
    settings = Settings.from_env(
        REQUIRED | {"HANDOFF_CHANNEL": " C0HANDOFF ", "LEAD_WEBHOOK_SECRET": WEBHOOK_SECRET}
    )

    assert (settings.handoff_channel, settings.lead_webhook_secret) == ("C0HANDOFF", WEBHOOK_SECRET)
    assert WEBHOOK_SECRET in settings.secrets  # redacted from every log line
    assert WEBHOOK_SECRET not in repr(settings)


def test_a_handoff_channel_given_by_name_is_refused_with_how_to_find_its_id() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(REQUIRED | {"HANDOFF_CHANNEL": "#handoffs"})

    assert raised.value.variable == "HANDOFF_CHANNEL"
    assert "channel ID like C0123ABCD" in str(raised.value)


def test_a_short_webhook_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(REQUIRED | {"LEAD_WEBHOOK_SECRET": "hunter2-secret"})

    assert raised.value.variable == "LEAD_WEBHOOK_SECRET"
    assert "at least 16" in str(raised.value) and "secrets.token_hex" in str(raised.value)
    assert "hunter2-secret" not in str(raised.value)
