"""``/leadloop settings`` text into a typed command or a usage message (bot/admin_input.py)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.admin.parse import (
    SETTING_ABOUT,
    SETTING_KINDS,
    USAGE,
    AdminCommand,
    AdminHelp,
    ChangeSetting,
    ChangeWebhookSecret,
    ListRoles,
    SetRole,
    ShowSettings,
    ShowWebhook,
    parse_admin_command,
    parse_timezone,
)
from domain.admin.settings import SETTING_COLUMNS
from domain.parsing import ChannelRef, UsageError

COMMAND_TYPES = (
    SetRole,
    ListRoles,
    AdminHelp,
    ShowSettings,
    ChangeSetting,
    ShowWebhook,
    ChangeWebhookSecret,
    UsageError,
)


def usage_error(text: str) -> UsageError:
    """``text``, which the test expects to be refused with a usage message."""
    result = parse_admin_command(text)
    assert isinstance(result, UsageError), result
    return result


def test_every_setting_name_has_a_kind_and_a_description() -> None:
    assert list(SETTING_KINDS) == list(SETTING_COLUMNS) == list(SETTING_ABOUT)


@pytest.mark.parametrize("text", ["settings", "SETTINGS", "  settings  "])
def test_settings_alone_shows_them(text: str) -> None:
    assert parse_admin_command(text) == ShowSettings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("webhook", ShowWebhook()),
        (" Webhook ", ShowWebhook()),
        ("webhook new", ChangeWebhookSecret(own=True)),
        ("WEBHOOK New", ChangeWebhookSecret(own=True)),
        ("webhook default", ChangeWebhookSecret(own=False)),
    ],
)
def test_webhook_shows_or_changes_the_workspaces_secret(
    text: str, expected: ShowWebhook | ChangeWebhookSecret
) -> None:
    assert parse_admin_command(text) == expected


@pytest.mark.parametrize("text", ["webhook off", "webhook new now", "webhook llwh_abc"])
def test_anything_else_after_webhook_says_what_it_takes(text: str) -> None:
    problem = usage_error(text).problem

    assert "`/leadloop webhook new`" in problem
    assert "`/leadloop webhook default`" in problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "settings feedback <#C0FEED|lead-feedback>",
            ChangeSetting("feedback", ChannelRef(channel_id="C0FEED", name="lead-feedback")),
        ),
        (
            "settings feedback &lt;#C0FEED|lead-feedback&gt;",
            ChangeSetting("feedback", ChannelRef(channel_id="C0FEED", name="lead-feedback")),
        ),
        ("settings report #KPI-Reports", ChangeSetting("report", ChannelRef(name="kpi-reports"))),
        ("settings handoff <#G0PRIV>", ChangeSetting("handoff", ChannelRef(channel_id="G0PRIV"))),
        (
            "settings handoff C0HANDOFF",
            ChangeSetting("handoff", ChannelRef(channel_id="C0HANDOFF")),
        ),
        ("settings timezone Europe/Berlin", ChangeSetting("timezone", "Europe/Berlin")),
        ("settings timezone america/new_york", ChangeSetting("timezone", "America/New_York")),
        ("settings timezone UTC", ChangeSetting("timezone", "UTC")),
        ("settings timezone Etc/GMT+5", ChangeSetting("timezone", "Etc/GMT+5")),
        ("settings sales <!subteam^S0SALES|@sales>", ChangeSetting("sales", "S0SALES")),
        ("settings marketing <!subteam^S0MKT>", ChangeSetting("marketing", "S0MKT")),
        ("settings Marketing S0MKT", ChangeSetting("marketing", "S0MKT")),
        ("settings feedback default", ChangeSetting("feedback", None)),
        ("settings TIMEZONE Default", ChangeSetting("timezone", None)),
        ("settings sales default", ChangeSetting("sales", None)),
    ],
)
def test_settings_name_and_value_parse_into_a_change(text: str, expected: ChangeSetting) -> None:
    assert parse_admin_command(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("settings colour blue", "There is no setting `colour`. The settings are feedback, "),
        ("settings feedback", "What should feedback be? Write `/leadloop settings feedback #"),
        ("settings timezone", "What should timezone be? Write `/leadloop settings timezone Eu"),
        ("settings sales", "What should sales be? Write `/leadloop settings sales @group`"),
        ("settings feedback lead-feedback", "`lead-feedback` is not a channel I can use."),
        ("settings feedback #Sales!", "`#Sales!` is not a channel I can use."),
        ("settings feedback <#D0123|dm>", "`<#D0123|dm>` is not a channel I can use."),
        ("settings feedback <@U0123>", "`<@U0123>` is not a channel I can use."),
        ("settings report #a #b", "`#a #b` is not a channel I can use."),
        ("settings handoff <#C" + "A" * 40 + ">", "`<#CAAAAAAAAAAAAAAAAAAAAAAAAAAA…` is not"),
        ("settings timezone Mars/Olympus", "`Mars/Olympus` is not a time zone I know."),
        ("settings timezone Europe", "`Europe` is not a time zone I know."),
        ("settings timezone ../../etc/passwd", "`../../etc/passwd` is not a time zone"),
        ("settings timezone /etc/localtime", "`/etc/localtime` is not a time zone"),
        ("settings timezone +02:00", "`+02:00` is not a time zone I know."),
        ("settings sales @sales", "`@sales` is not a user group."),
        ("settings sales <@U0123|bob>", "`<@U0123|bob>` is not a user group."),
        ("settings marketing sales-team", "`sales-team` is not a user group."),
        ("settings marketing <!subteam^X0123|@mkt>", "`<!subteam^X0123|@mkt>` is not a user"),
    ],
)
def test_bad_settings_say_what_was_wrong_and_show_the_usage(text: str, problem: str) -> None:
    error = usage_error(text)

    assert error.problem.startswith(problem), error.problem
    assert error.message.endswith(USAGE)


def test_a_value_with_backticks_or_control_characters_is_shown_safely() -> None:
    assert usage_error("settings feedback #a`b\x07").problem.startswith("`#a?b?` is not")


def test_usage_shows_every_settings_form() -> None:
    for form in ("settings`", "feedback|report|handoff #channel", "timezone Europe/Berlin"):
        assert form in USAGE
    assert "sales|marketing @group" in USAGE and "<name> default" in USAGE


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("utc", "UTC"),
    ],
)
def test_parse_timezone_gives_the_iana_spelling(text: str, zone: str) -> None:
    assert parse_timezone(text) == zone


@pytest.mark.parametrize("text", ["", "Berlin", "Europe/", "Europe//Berlin", "x" * 65, "Ü/Ö"])
def test_parse_timezone_refuses_what_is_not_a_zone(text: str) -> None:
    assert parse_timezone(text) is None


_WORDS = st.sampled_from(
    [
        "settings",
        "webhook",
        "new",
        "role",
        "roles",
        "default",
        "#general",
        "<#C0123|general>",
        "<!subteam^S0123|@sales>",
        "Europe/Berlin",
        "&lt;",
        "&gt;",
        *SETTING_KINDS,
    ]
)


@given(
    st.one_of(
        st.text(),
        st.lists(st.one_of(_WORDS, st.text(max_size=12)), max_size=5).map(" ".join),
        st.tuples(st.sampled_from(list(SETTING_KINDS)), st.text()).map(
            lambda parts: f"settings {parts[0]} {parts[1]}"
        ),
    )
)
@example("settings timezone \x00")
@example("settings timezone " + "A/" * 40)
@example("settings feedback <#C0123|" + ">" * 20)
def test_any_text_gives_a_command_or_a_usage_error_never_a_crash(text: str) -> None:
    result: AdminCommand | UsageError = parse_admin_command(text)

    assert isinstance(result, COMMAND_TYPES)
    if isinstance(result, UsageError):
        assert result.message.endswith(USAGE)
    if isinstance(result, ChangeSetting):
        assert result.name in SETTING_KINDS
        stored = result.value.channel_id if isinstance(result.value, ChannelRef) else result.value
        assert len(stored or "") <= 64  # what is stored fits its column
