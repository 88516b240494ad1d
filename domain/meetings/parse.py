"""Parsing ``/meeting`` text into typed requests, or a message saying what to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

from domain.ratings.parse import UsageError as _UsageError
from domain.ratings.parse import unescape_slack

DEFAULT_TITLE = "Sales & marketing alignment"
DEFAULT_REMIND = timedelta(minutes=15)
MAX_REMIND = timedelta(hours=24)
MAX_TITLE_LENGTH = 200

USAGE = (
    "*Meeting reminders*\n"
    "`/meeting add <days> <HH:MM> [#channel] [title] [--remind 30m]`\n"
    "  e.g. `/meeting add mon,thu 10:00 #sales-marketing Pipeline and lead quality sync`\n"
    "  Days: `mon`…`sun`, lists (`mon,thu`), ranges (`mon-fri`), `daily`, `weekdays`, "
    "`weekly` (today's weekday), `biweekly <day>`. The time is in your Slack time zone. "
    "The channel defaults to this one; the reminder comes 15 minutes before unless you "
    "say `--remind 30m` (or `1h`, `0m`…).\n"
    "`/meeting list` · `/meeting skip <id>` · `/meeting pause <id>` · "
    "`/meeting resume <id>` · `/meeting remove <id>`"
)

_DAYS = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
_DURATION = re.compile(r"^(?:([0-9]{1,3})h)?(?:([0-9]{1,4})m(?:in)?)?$", re.IGNORECASE)
_MINUTES = re.compile(r"^[0-9]{1,5}$")
_CHANNEL_LINK = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|([^>]*))?>$")
_PLAIN_CHANNEL = re.compile(r"^#([a-z0-9][a-z0-9._-]{0,79})$")
_MEETING_ID = re.compile(r"^#?([0-9]{1,9})$")


class UsageError(_UsageError):
    """Input ``/meeting`` cannot use: what was wrong, then how to write it."""

    @property
    def message(self) -> str:
        """The ephemeral text shown to the user."""
        return f"{self.problem}\n\n{USAGE}"


@dataclass(frozen=True)
class ChannelRef:
    """A channel as typed: an ID from Slack's escaped mention, or a plain ``#name``."""

    channel_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class AddMeeting:
    """``/meeting add``: a new recurring meeting."""

    weekdays: frozenset[int]
    every_weeks: int
    local_time: time
    channel: ChannelRef | None
    title: str
    remind: timedelta


@dataclass(frozen=True)
class MeetingAction:
    """``/meeting remove|skip|pause|resume <id>``."""

    action: str
    meeting_id: int


@dataclass(frozen=True)
class ListMeetings:
    """``/meeting list``."""


@dataclass(frozen=True)
class MeetingHelp:
    """``/meeting help`` or ``/meeting`` alone."""


MeetingCommand = AddMeeting | MeetingAction | ListMeetings | MeetingHelp
ACTIONS = ("remove", "skip", "pause", "resume")


def parse_meeting_command(text: str, *, today: date) -> MeetingCommand | UsageError:
    """Parse ``/meeting`` text; ``today`` is the user's local date (for ``weekly``)."""
    words = unescape_slack(text).split()
    if not words or words[0].lower() in {"help", "-h", "--help", "?"}:
        return MeetingHelp()
    verb, rest = words[0].lower(), words[1:]
    if verb == "list":
        return ListMeetings()
    if verb in ACTIONS:
        return _parse_action(verb, rest)
    if verb == "add":
        return parse_add(rest, today=today)
    return UsageError(f"I don't know `/meeting {_shown(words[0])}`.")


def _parse_action(verb: str, rest: list[str]) -> MeetingAction | UsageError:
    if len(rest) != 1 or not _MEETING_ID.match(rest[0]):
        return UsageError(
            f"Which meeting? Write `/meeting {verb} <id>`; `/meeting list` shows the IDs."
        )
    return MeetingAction(verb, int(rest[0].lstrip("#")))


def parse_add(words: list[str], *, today: date) -> AddMeeting | UsageError:
    """Parse the words after ``/meeting add``."""
    words, remind = _take_remind(words)
    if isinstance(remind, UsageError):
        return remind
    if not words:
        return UsageError("Which days? Start with the days, e.g. `/meeting add mon,thu 10:00`.")
    schedule = _parse_days(words, today=today)
    if isinstance(schedule, UsageError):
        return schedule
    weekdays, every_weeks, used = schedule
    words = words[used:]
    if not words:
        return UsageError("What time? Add it after the days, e.g. `/meeting add mon 10:00`.")
    local_time = parse_time(words[0])
    if local_time is None:
        return UsageError(
            f"`{_shown(words[0])}` is not a time. Write it as HH:MM (24-hour, e.g. 14:30) "
            "or with am/pm (2:30pm)."
        )
    words = words[1:]
    channel = None
    if words and words[0].startswith(("<#", "#")):
        channel = parse_channel(words[0])
        if channel is None:
            return UsageError(f"`{_shown(words[0])}` is not a channel I can use.")
        words = words[1:]
    title = " ".join(words).strip() or DEFAULT_TITLE
    if len(title) > MAX_TITLE_LENGTH:
        return UsageError(
            f"The title is too long; keep it to {MAX_TITLE_LENGTH} characters or fewer."
        )
    if any(not ch.isprintable() for ch in title):
        return UsageError("The title contains control characters. Type it again as plain text.")
    return AddMeeting(weekdays, every_weeks, local_time, channel, title, remind)


def _take_remind(words: list[str]) -> tuple[list[str], timedelta | UsageError]:
    kept: list[str] = []
    remind: timedelta | UsageError = DEFAULT_REMIND
    index = 0
    while index < len(words):
        word = words[index]
        flag, equals, value = word.partition("=")
        if flag.lower() == "--remind":
            if not equals:
                index += 1
                value = words[index] if index < len(words) else ""
            if not isinstance(remind, UsageError):  # the first bad value is the one reported
                remind = _parse_remind(value)
        else:
            kept.append(word)
        index += 1
    return kept, remind


def _parse_remind(value: str) -> timedelta | UsageError:
    duration = parse_duration(value)
    if duration is None or duration > MAX_REMIND:
        return UsageError(
            f"`--remind {_shown(value)}` is not a lead time I can use. Write minutes or hours "
            "up to 24h, e.g. `--remind 30m` or `--remind 1h`."
        )
    return duration


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``1h``, ``1h30m``, ``45min``, or a bare number of minutes."""
    text = text.strip().lower()
    if _MINUTES.match(text):
        return timedelta(minutes=int(text))
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        return None
    hours, minutes = (int(group) if group else 0 for group in match.groups())
    return timedelta(hours=hours, minutes=minutes)


def parse_time(text: str) -> time | None:
    """``10:00``, ``9:30``, ``14:05``, ``2pm``, ``2:30 pm``; None if not a time of day."""
    match = _TIME.match(text.strip())
    if match is None or not text.isascii():
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    meridiem = (match.group(3) or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif match.group(2) is None:
        return None  # a bare "10" is too ambiguous to schedule a meeting on
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_channel(text: str) -> ChannelRef | None:
    """Slack's escaped ``<#C0123|name>`` or a plain ``#name``."""
    linked = _CHANNEL_LINK.match(text)
    if linked:
        return ChannelRef(channel_id=linked.group(1), name=linked.group(2) or None)
    plain = _PLAIN_CHANNEL.match(text.lower())
    if plain:
        return ChannelRef(name=plain.group(1))
    return None


def _parse_days(words: list[str], *, today: date) -> tuple[frozenset[int], int, int] | UsageError:
    first = words[0].lower()
    if first == "daily":
        return frozenset(range(7)), 1, 1
    if first in {"weekdays", "workdays"}:
        return frozenset(range(5)), 1, 1
    if first == "weekly":
        return frozenset({today.weekday()}), 1, 1
    if first in {"biweekly", "fortnightly"}:
        if len(words) < 2 or words[1].lower() not in _DAYS:
            return UsageError("Which day? Write `biweekly <day>`, e.g. `biweekly tue`.")
        return frozenset({_DAYS[words[1].lower()]}), 2, 2
    days = parse_day_list(first)
    if days is None:
        return UsageError(
            f"`{_shown(words[0])}` is not a list of days. Use `mon`…`sun`, `mon,thu`, "
            "`mon-fri`, `daily`, `weekly` or `biweekly tue`."
        )
    return days, 1, 1


def parse_day_list(text: str) -> frozenset[int] | None:
    """``mon,thu``, ``mon-fri``, ``mon,wed-fri``; None for anything else."""
    days: set[int] = set()
    for part in text.lower().split(","):
        start, dash, end = part.partition("-")
        if start not in _DAYS or (dash and end not in _DAYS):
            return None
        first, last = _DAYS[start], _DAYS[end] if dash else _DAYS[start]
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days.update(span)
    return frozenset(days)


def _shown(text: str, limit: int = 30) -> str:
    short = text if len(text) <= limit else text[:limit] + "…"
    return "".join(ch if ch.isprintable() and ch != "`" else "?" for ch in short)
