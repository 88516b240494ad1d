"""Typed settings, read once from the environment and validated with friendly errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from domain.admin.settings import WorkspaceSettings
from domain.slack_ids import CHANNEL_ID, USER_ID, USERGROUP_ID
from storage.engine import DEFAULT_DATABASE_URL, normalise_database_url

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_TICK_SECONDS = 10.0
MIN_WEBHOOK_SECRET_LENGTH = 16
CLIENT_ID = re.compile(r"^\d+\.\d+$")
SETUP_HINT = "See .env.example for every setting and manifest.json for creating the Slack app."
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The example IDs of .env.example and README.md: a real workspace never has them, so a value
# equal to one was copied, not looked up.
EXAMPLE_IDS = frozenset({"C0123ABCD", "G0123ABCD", "U0123ABCD", "U0456EFGH", "S0123ABCD"})
# .env.example's secrets read "xoxb-your-bot-token", "your-signing-secret", ...
PLACEHOLDER_MARK = "your-"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it and says how to fix it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem} {SETUP_HINT}")


@dataclass(frozen=True)
class Settings:
    """Everything leadloop needs to run, already validated."""

    slack_bot_token: str | None = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    feedback_channel: str | None
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    report_channel: str | None = None
    timezone: str = "UTC"
    port: int = DEFAULT_PORT
    admin_users: frozenset[str] = frozenset()
    scheduler_tick_seconds: float = DEFAULT_TICK_SECONDS
    simulated_clock: SimulatedClock | None = None
    handoff_channel: str | None = None
    sales_usergroup: str | None = None
    marketing_usergroup: str | None = None
    lead_webhook_secret: str | None = field(default=None, repr=False)
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is used when an app-level token is configured."""
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """Installed in many workspaces through OAuth, rather than one bot token."""
        return self.slack_client_id is not None

    def workspace_defaults(self) -> WorkspaceSettings:
        """The environment's values, which every workspace starts with."""
        return WorkspaceSettings(
            feedback_channel=self.feedback_channel or None,
            report_channel=self.report_channel,
            handoff_channel=self.handoff_channel,
            timezone=self.timezone,
            sales_usergroup=self.sales_usergroup,
            marketing_usergroup=self.marketing_usergroup,
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be written to a log."""
        values = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            database_password(self.database_url),
            self.lead_webhook_secret,
            self.slack_client_secret,
        )
        return tuple(value for value in values if value)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from environment variables, raising ConfigError on the first problem."""
        client_id, client_secret = _oauth_credentials(env)
        oauth = client_id is not None
        bot_token = _token(env, "SLACK_BOT_TOKEN", "xoxb-", required=not oauth)
        app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", required=False)
        if oauth and bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN",
                "is set together with SLACK_CLIENT_ID. Run in one workspace with a bot token, "
                "or install in many with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: remove one.",
            )
        if oauth and app_token:
            raise ConfigError(
                "SLACK_APP_TOKEN",
                "turns on Socket Mode, which cannot serve Slack's install pages. Remove it to "
                "install with OAuth (SLACK_CLIENT_ID) over HTTP.",
            )
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=_signing_secret(env),
            slack_app_token=app_token,
            slack_client_id=client_id,
            slack_client_secret=client_secret,
            slack_api_url=slack_api_url_from_env(env),
            database_url=database_url_from_env(env),
            # With OAuth each workspace's admins choose theirs: /leadloop settings feedback.
            feedback_channel=_channel(env, "FEEDBACK_CHANNEL", required=not oauth),
            report_channel=_channel(env, "REPORT_CHANNEL", required=False),
            timezone=_timezone(env, "LEADLOOP_TZ"),
            port=_port(env, "PORT"),
            admin_users=_user_ids(env, "ADMIN_USERS"),
            scheduler_tick_seconds=_tick_seconds(env, "SCHEDULER_TICK_SECONDS"),
            simulated_clock=_simulated_clock(env),
            handoff_channel=_channel(env, "HANDOFF_CHANNEL", required=False),
            sales_usergroup=_usergroup(env, "SALES_USERGROUP"),
            marketing_usergroup=_usergroup(env, "MARKETING_USERGROUP"),
            lead_webhook_secret=_webhook_secret(env, "LEAD_WEBHOOK_SECRET"),
        )


def database_password(url: str) -> str | None:
    """The password inside a database URL, so that logs can redact it."""
    try:
        return make_url(normalise_database_url(url)).password
    except ArgumentError:
        return None


def database_url_from_env(env: Mapping[str, str]) -> str:
    """``DATABASE_URL``, or the default SQLite file under ./data/."""
    value = _value(env, "DATABASE_URL")
    if value is None:
        return DEFAULT_DATABASE_URL
    if "://" not in value:
        raise ConfigError(
            "DATABASE_URL",
            "is not a database URL. Write sqlite:///./data/leadloop.db or "
            "postgresql://user:password@host:5432/dbname.",
        )
    scheme = value.split("://", 1)[0].split("+", 1)[0]
    if scheme not in {"sqlite", "postgresql", "postgres"}:
        raise ConfigError(
            "DATABASE_URL", f"uses '{scheme}', but leadloop supports sqlite and postgresql."
        )
    return value


def slack_api_url_from_env(env: Mapping[str, str]) -> str:
    """``SLACK_API_URL`` with a trailing slash, as slack-sdk expects."""
    value = _value(env, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    try:
        parsed = urlparse(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parsed = urlparse("")
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ConfigError(
            "SLACK_API_URL", f"must be an http(s) URL such as {DEFAULT_SLACK_API_URL}."
        )
    return value if value.endswith("/") else value + "/"


def log_level(value: str, *, name: str) -> str:
    """A logging level name (any case), INFO when empty; ``name`` is the flag or variable."""
    level = value.strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(
            name, f"'{value.strip()[:20]}' is not a log level; use one of {', '.join(LOG_LEVELS)}."
        )
    return level


def _value(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if PLACEHOLDER_MARK in value.lower() or value in EXAMPLE_IDS:
        raise ConfigError(
            name,
            "still holds the example value from .env.example; replace it with your own "
            "(README.md's quick start says where to find each Slack value).",
        )
    return value


def _token(env: Mapping[str, str], name: str, prefix: str, *, required: bool) -> str | None:
    value = _value(env, name)
    if value is None:
        if required:
            raise ConfigError(name, f"is not set. Copy it from your Slack app ({prefix}…).")
        return None
    if not value.startswith(prefix):
        # Never echo the value: it may be a real secret pasted into the wrong variable.
        raise ConfigError(name, f"does not look right: it should start with '{prefix}'.")
    return value


def _oauth_credentials(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, both or neither."""
    client_id = _value(env, "SLACK_CLIENT_ID")
    client_secret = _value(env, "SLACK_CLIENT_SECRET")
    if client_id is None and client_secret is None:
        return None, None
    if client_id is None:
        raise ConfigError(
            "SLACK_CLIENT_ID", "is not set, but SLACK_CLIENT_SECRET is: OAuth needs both."
        )
    if client_secret is None:
        raise ConfigError(
            "SLACK_CLIENT_SECRET", "is not set, but SLACK_CLIENT_ID is: OAuth needs both."
        )
    if not CLIENT_ID.match(client_id):
        raise ConfigError(
            "SLACK_CLIENT_ID",
            "should look like 1234567890.1234567890 (Basic Information > App Credentials).",
        )
    return client_id, client_secret


def _signing_secret(env: Mapping[str, str]) -> str:
    value = _value(env, "SLACK_SIGNING_SECRET")
    if value is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET",
            "is not set. Copy it from your Slack app's Basic Information page.",
        )
    return value


def _usergroup(env: Mapping[str, str], name: str) -> str | None:
    value = _value(env, name)
    if value is None:
        return None
    if not USERGROUP_ID.match(value):
        raise ConfigError(
            name,
            f"must be a user group ID like S0123ABCD, not '{value[:40]}' (open the group in "
            "Slack's People > User groups; the ID is in the link).",
        )
    return value


def _webhook_secret(env: Mapping[str, str], name: str) -> str | None:
    value = _value(env, name)
    if value is not None and len(value) < MIN_WEBHOOK_SECRET_LENGTH:
        # Never echo the value: it is a secret, even a weak one.
        raise ConfigError(
            name,
            f"is too short to be safe: use at least {MIN_WEBHOOK_SECRET_LENGTH} random "
            'characters, e.g. the output of: python -c "import secrets; '
            'print(secrets.token_hex(32))"',
        )
    return value


def _channel(env: Mapping[str, str], name: str, *, required: bool) -> str | None:
    value = _value(env, name)
    if value is None:
        if required:
            raise ConfigError(
                name,
                "is not set. Use the channel's ID, like C0123ABCD (open the channel's details "
                "in Slack; the ID is at the bottom).",
            )
        return None
    if not CHANNEL_ID.match(value):
        raise ConfigError(
            name,
            f"must be a channel ID like C0123ABCD, not '{value}' (open the channel's details "
            "in Slack; the ID is at the bottom).",
        )
    return value


def _timezone(env: Mapping[str, str], name: str) -> str:
    value = _value(env, name) or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder, not a zone
        raise ConfigError(
            name, f"'{value}' is not an IANA time zone; write one like Europe/Berlin."
        ) from None
    return value


def _port(env: Mapping[str, str], name: str) -> int:
    value = _value(env, name)
    if value is None:
        return DEFAULT_PORT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ConfigError(name, f"must be a port number from 1 to 65535, not '{value}'.")
    return int(value)


@dataclass(frozen=True)
class SimulatedClock:
    """A clock that runs ``scale`` times faster than real time, for demos and tests.

    Every process given the same settings reads the same simulated time, so several
    instances agree on it: at real time ``epoch`` (Unix seconds) it shows ``start``.
    """

    start: datetime
    epoch: float
    scale: float

    def span_of(self, real: timedelta) -> timedelta:
        """How much simulated time passes during ``real`` time."""
        return real * self.scale


def _user_ids(env: Mapping[str, str], name: str) -> frozenset[str]:
    value = _value(env, name)
    if value is None:
        return frozenset()
    ids = [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
    if EXAMPLE_IDS.intersection(ids):
        _value({name: next(iter(EXAMPLE_IDS.intersection(ids)))}, name)  # raises: an example
    bad = [user_id for user_id in ids if not USER_ID.match(user_id)]
    if bad:
        raise ConfigError(
            name,
            f"must list Slack user IDs like U0123ABCD separated by commas; "
            f"'{bad[0][:40]}' is not one (open the person's profile, ⋮ > Copy member ID).",
        )
    return frozenset(ids)


def _tick_seconds(env: Mapping[str, str], name: str) -> float:
    value = _value(env, name)
    if value is None:
        return DEFAULT_TICK_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0.05 <= seconds <= 300:
        raise ConfigError(name, f"must be a number of seconds from 0.05 to 300, not '{value}'.")
    return seconds


def _simulated_clock(env: Mapping[str, str]) -> SimulatedClock | None:
    start = _value(env, "LEADLOOP_CLOCK_START")
    if start is None:
        return None
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            "LEADLOOP_CLOCK_START", "must be an ISO 8601 time such as 2026-01-05T09:00:00Z."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        epoch = float(env.get("LEADLOOP_CLOCK_EPOCH", "") or 0)
        scale = float(env.get("LEADLOOP_CLOCK_SCALE", "") or 1)
    except ValueError:
        raise ConfigError(
            "LEADLOOP_CLOCK_SCALE", "LEADLOOP_CLOCK_EPOCH and _SCALE must be numbers."
        ) from None
    if scale <= 0:
        raise ConfigError("LEADLOOP_CLOCK_SCALE", "must be a positive number.")
    return SimulatedClock(start=moment, epoch=epoch, scale=scale)
