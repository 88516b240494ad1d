"""Parsing ``/leadloop`` admin text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.parsing import ChannelRef, UsageError, parse_channel, shown, unescape_slack
from domain.sla import (
    MAX_SLA_MINUTES,
    describe_duration,
    parse_business_hours,
    parse_duration,
)
from domain.slack_ids import CHANNEL_ID, USERGROUP_ID
from storage.roles import ROLES

CHANNEL = "channel"
TIMEZONE = "timezone"
USERGROUP = "usergroup"
DURATION = "duration"
HOURS = "hours"
USER = "user"
# The names admins use in `/leadloop settings <name> <value>` (the keys of
# domain.admin.settings.SETTING_COLUMNS), and what kind of value each takes.
SETTING_KINDS = {
    "feedback": CHANNEL,
    "report": CHANNEL,
    "handoff": CHANNEL,
    "timezone": TIMEZONE,
    "sales": USERGROUP,
    "marketing": USERGROUP,
    "sla": DURATION,
    "sla-low": DURATION,
    "hours": HOURS,
    "marketing-lead": USER,
}
SETTING_ABOUT = {
    "feedback": "where ratings are posted for marketing to answer",
    "report": "where the weekly KPI report is posted",
    "handoff": "where every new lead's hand-off is posted, besides the owner's DM",
    "timezone": "the time zone of KPI weeks and the weekly report",
    "sales": "the user group whose members are sales",
    "marketing": "the user group whose members are marketing",
    "sla": "how long marketing has to answer a rating, in business hours (or off)",
    "sla-low": "a shorter answer time for ratings of 1 or 2",
    "hours": "the business hours the answer time counts in, in the workspace's time zone",
    "marketing-lead": "who gets a DM when a rating waits twice its answer time",
}
EXAMPLE_VALUES = {
    CHANNEL: "#channel",
    TIMEZONE: "Europe/Berlin",
    USERGROUP: "@group",
    DURATION: "4h",
    HOURS: "mon-fri 09:00-18:00",
    USER: "@person",
}
SLA_OFF = "off"
MAX_CAMPAIGN_LENGTH = 200  # the lead table's campaign column
_CAMPAIGN_OWNER = re.compile(
    r'^campaign\s+(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))\s+owner\s+(?P<owner>\S+)$',
    re.IGNORECASE,
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
DEFAULT_WORD = "default"
MAX_ID_LENGTH = 32  # the settings' columns hold at most this much
MAX_ZONE_LENGTH = 64

USAGE = (
    "*leadloop admin*\n"
    "`/leadloop role @person sales|marketing|admin`: give a role\n"
    "`/leadloop role @person none`: take away the roles given here\n"
    "`/leadloop roles`: who has which role\n"
    "`/leadloop settings`: this workspace's channels, time zone and user groups\n"
    "`/leadloop settings feedback|report|handoff #channel`: where ratings, the weekly "
    "report and hand-offs are posted\n"
    "`/leadloop settings timezone Europe/Berlin`: the time zone of KPI weeks and the "
    "weekly report\n"
    "`/leadloop settings sales|marketing @group`: the user group whose members are sales "
    "or marketing\n"
    "`/leadloop settings sla 4h` (or `off`), `sla-low 2h`, `hours mon-fri 09:00-18:00`, "
    "`marketing-lead @person`: how soon marketing answers a rating, and who hears when "
    "it waits too long\n"
    "`/leadloop settings <name> default`: back to the environment's value\n"
    '`/leadloop campaign "Spring Webinar" owner @person`: who in marketing answers for a '
    "campaign's leads (answer-time reminders mention them); `owner none` takes it away\n"
    "`/leadloop campaigns`: the campaigns that have an owner\n"
    "`/leadloop webhook`: how a CRM sends this workspace's leads to leadloop\n"
    "`/leadloop webhook new`: a new secret of this workspace's own for the lead webhook "
    "(the one before stops working)\n"
    "`/leadloop webhook default`: back to the deployment's LEAD_WEBHOOK_SECRET\n"
    "Roles also come from the sales and marketing user groups and from ADMIN_USERS. "
    "Marketing's thread replies count as answers to ratings."
)


def _usage_error(problem: str) -> UsageError:
    """What was wrong, then how to write the command."""
    return UsageError(problem, usage=USAGE)


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP_MENTION = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$")
# IANA names: letters, digits, _ + - in parts joined by "/" (no "." so no "..").
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")


@dataclass(frozen=True)
class SetRole:
    """``/leadloop role @person <role>``; role None takes the given roles away."""

    user_id: str
    role: str | None


@dataclass(frozen=True)
class ListRoles:
    """``/leadloop roles``."""


@dataclass(frozen=True)
class AdminHelp:
    """``/leadloop help``."""


@dataclass(frozen=True)
class ShowSettings:
    """``/leadloop settings``."""


@dataclass(frozen=True)
class ChangeSetting:
    """``/leadloop settings <name> <value>``; value None goes back to the environment's.

    A channel setting's value is a ChannelRef (a plain ``#name`` is looked up later); a
    time zone is its IANA name; a user group is its ID.
    """

    name: str
    value: ChannelRef | str | None


@dataclass(frozen=True)
class ShowWebhook:
    """``/leadloop webhook``."""


@dataclass(frozen=True)
class ChangeWebhookSecret:
    """``/leadloop webhook new`` (``own`` True) or ``/leadloop webhook default``."""

    own: bool


@dataclass(frozen=True)
class SetCampaignOwner:
    """``/leadloop campaign "Spring Webinar" owner @maria`` (owner None: ``owner none``)."""

    campaign: str
    owner_id: str | None


@dataclass(frozen=True)
class ListCampaigns:
    """``/leadloop campaigns``."""


AdminCommand = (
    SetRole
    | SetCampaignOwner
    | ListCampaigns
    | ListRoles
    | AdminHelp
    | ShowSettings
    | ChangeSetting
    | ShowWebhook
    | ChangeWebhookSecret
)


def parse_admin_command(text: str) -> AdminCommand | UsageError:
    """Parse ``/leadloop`` text (Slack escapes ``@person`` as ``<@U…|name>``)."""
    words = unescape_slack(text).split()
    if not words or words[0].lower() in {"help", "-h", "--help", "?"}:
        return AdminHelp()
    verb = words[0].lower()
    if verb == "roles":
        return ListRoles()
    if verb == "settings":
        return _parse_settings(words[1:])
    if verb == "webhook":
        return _parse_webhook(words[1:])
    if verb == "campaigns" and len(words) == 1:
        return ListCampaigns()
    if verb == "campaign":
        return _parse_campaign(unescape_slack(text).strip())
    if verb != "role":
        return _usage_error(f"I don't know `/leadloop {shown(words[0])}`.")
    if len(words) != 3:
        return _usage_error("Write `/leadloop role @person sales|marketing|admin|none`.")
    user_id = _user(words[1])
    if user_id is None:
        return _usage_error("Mention the person with @ (pick them from Slack's list).")
    role = words[2].lower()
    if role == "none":
        return SetRole(user_id, None)
    if role not in ROLES:
        return _usage_error(f"Roles are {', '.join(ROLES)} or none.")
    return SetRole(user_id, role)


def _parse_settings(words: list[str]) -> ShowSettings | ChangeSetting | UsageError:
    if not words:
        return ShowSettings()
    name = words[0].lower()
    kind = SETTING_KINDS.get(name)
    if kind is None:
        return _usage_error(
            f"There is no setting `{shown(words[0])}`. The settings are {', '.join(SETTING_KINDS)}."
        )
    if len(words) == 1:
        return _usage_error(
            f"What should {name} be? Write `/leadloop settings {name} {EXAMPLE_VALUES[kind]}`, "
            f"or `/leadloop settings {name} {DEFAULT_WORD}` for the environment's value."
        )
    value = " ".join(words[1:])
    if value.lower() == DEFAULT_WORD:
        return ChangeSetting(name, None)
    if kind == CHANNEL:
        channel = parse_setting_channel(value)
        if channel is None:
            return _usage_error(
                f"`{shown(value)}` is not a channel I can use. Type # and pick the channel "
                f"from Slack's list, e.g. `/leadloop settings {name} #lead-feedback`."
            )
        return ChangeSetting(name, channel)
    if kind == TIMEZONE:
        zone = parse_timezone(value)
        if zone is None:
            return _usage_error(
                f"`{shown(value)}` is not a time zone I know. Write an IANA name like "
                "Europe/Berlin or America/New_York."
            )
        return ChangeSetting(name, zone)
    if kind in SLA_KINDS:
        return SLA_KINDS[kind](name, value)
    usergroup = parse_usergroup(value)
    if usergroup is None:
        return _usage_error(
            f"`{shown(value)}` is not a user group. Type @ and pick the group from Slack's "
            "list, or write its ID like S0123ABCD."
        )
    return ChangeSetting(name, usergroup)


def _duration_setting(name: str, value: str) -> ChangeSetting | UsageError:
    if name == "sla" and value.lower() == SLA_OFF:
        return ChangeSetting(name, SLA_OFF)
    minutes = parse_duration(value)
    if minutes is None:
        off = f", or `{SLA_OFF}` for no answer time" if name == "sla" else ""
        return _usage_error(
            f"`{shown(value)}` is not an answer time. Write hours and minutes like `4h`, "
            f"`90m` or `1h30m` (at most {MAX_SLA_MINUTES // 60}h){off}."
        )
    return ChangeSetting(name, describe_duration(minutes))


def _hours_setting(name: str, value: str) -> ChangeSetting | UsageError:
    hours = parse_business_hours(value)
    if hours is None:
        return _usage_error(
            f"`{shown(value)}` are not business hours. Write the days and the hours like "
            "`mon-fri 09:00-18:00` or `mon,wed,fri 08:30-17:00` (closing after opening)."
        )
    return ChangeSetting(name, hours.describe())


def _user_setting(name: str, value: str) -> ChangeSetting | UsageError:
    user_id = _user(value)
    if user_id is None:
        return _usage_error(
            f"Mention the person with @ (pick them from Slack's list), e.g. "
            f"`/leadloop settings {name} @maria`."
        )
    return ChangeSetting(name, user_id)


SLA_KINDS = {DURATION: _duration_setting, HOURS: _hours_setting, USER: _user_setting}


def _parse_campaign(text: str) -> SetCampaignOwner | UsageError:
    how = (
        'Write `/leadloop campaign "Spring Webinar" owner @person` (quotes around a name '
        "with spaces), or `owner none` to take the owner away."
    )
    # Slack's clients may turn straight quotes into typographic ones.
    match = _CAMPAIGN_OWNER.match(text.replace("\u201c", '"').replace("\u201d", '"'))
    if match is None:
        return _usage_error(f"I can't read that. {how}")
    campaign = (match.group("quoted") or match.group("bare") or "").strip()
    if not campaign or len(campaign) > MAX_CAMPAIGN_LENGTH or _CONTROL.search(campaign):
        return _usage_error(
            f"A campaign is named as your leads name it, in at most {MAX_CAMPAIGN_LENGTH} "
            f"characters on one line. {how}"
        )
    who = match.group("owner")
    if who.lower() == "none":
        return SetCampaignOwner(campaign, None)
    user_id = _user(who)
    if user_id is None:
        return _usage_error(f"Mention the owner with @ (pick them from Slack's list). {how}")
    return SetCampaignOwner(campaign, user_id)


def _parse_webhook(words: list[str]) -> ShowWebhook | ChangeWebhookSecret | UsageError:
    if not words:
        return ShowWebhook()
    if len(words) == 1 and words[0].lower() in {"new", DEFAULT_WORD}:
        return ChangeWebhookSecret(own=words[0].lower() == "new")
    return _usage_error(
        f"I don't know `/leadloop webhook {shown(' '.join(words))}`. Write `/leadloop webhook "
        f"new` for a new secret, or `/leadloop webhook {DEFAULT_WORD}` to go back to the "
        "deployment's LEAD_WEBHOOK_SECRET."
    )


def parse_setting_channel(text: str) -> ChannelRef | None:
    """A channel as ``/meeting`` takes it (``<#C…|name>`` or ``#name``), or a bare ID."""
    if CHANNEL_ID.match(text):
        channel: ChannelRef | None = ChannelRef(channel_id=text)
    else:
        channel = parse_channel(text)
    if channel is not None and len(channel.channel_id or "") > MAX_ID_LENGTH:
        return None
    return channel


def parse_timezone(text: str) -> str | None:
    """The IANA name of the zone ``text`` names (in any letter case), or None."""
    if len(text) > MAX_ZONE_LENGTH or not _ZONE_NAME.match(text):
        return None
    known = _zones_by_lower_name().get(text.lower())
    if known is not None:
        return known
    try:  # a zone the system has but does not list, such as "Factory"
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder, not a zone
        return None
    return text


@cache
def _zones_by_lower_name() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def parse_usergroup(text: str) -> str | None:
    """The ID in Slack's escaped ``<!subteam^S…|@handle>``, or a bare ``S…`` ID."""
    mention = _USERGROUP_MENTION.match(text)
    usergroup = mention.group(1) if mention else text
    if not USERGROUP_ID.match(usergroup) or len(usergroup) > MAX_ID_LENGTH:
        return None
    return usergroup


def _user(word: str) -> str | None:
    mention = _MENTION.match(word)
    if mention:
        return mention.group(1)
    return word if _USER_ID.match(word) else None
