"""Parsing ``/meeting`` text into typed requests, or a message saying what to fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

from domain.parsing import (
    DAYS,
    ChannelRef,
    UsageError,
    parse_channel,
    parse_day_list,
    parse_time,
    shown,
    unescape_slack,
)

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


def _usage_error(problem: str) -> UsageError:
    """What was wrong, then how to write the command."""
    return UsageError(problem, usage=USAGE)


_DURATION = re.compile(r"^(?:([0-9]{1,3})h)?(?:([0-9]{1,4})m(?:in)?)?$", re.IGNORECASE)
_MINUTES = re.compile(r"^[0-9]{1,5}$")
_MEETING_ID = re.compile(r"^#?([0-9]{1,9})$")


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
    return _usage_error(f"I don't know `/meeting {shown(words[0])}`.")


def _parse_action(verb: str, rest: list[str]) -> MeetingAction | UsageError:
    if len(rest) != 1 or not _MEETING_ID.match(rest[0]):
        return _usage_error(
            f"Which meeting? Write `/meeting {verb} <id>`; `/meeting list` shows the IDs."
        )
    return MeetingAction(verb, int(rest[0].lstrip("#")))


def parse_add(words: list[str], *, today: date) -> AddMeeting | UsageError:
    """Parse the words after ``/meeting add``."""
    words, remind = _take_remind(words)
    if isinstance(remind, UsageError):
        return remind
    if not words:
        return _usage_error("Which days? Start with the days, e.g. `/meeting add mon,thu 10:00`.")
    schedule = _parse_days(words, today=today)
    if isinstance(schedule, UsageError):
        return schedule
    weekdays, every_weeks, used = schedule
    words = words[used:]
    if not words:
        return _usage_error("What time? Add it after the days, e.g. `/meeting add mon 10:00`.")
    local_time = parse_time(words[0])
    if local_time is None:
        return _usage_error(
            f"`{shown(words[0])}` is not a time. Write it as HH:MM (24-hour, e.g. 14:30) "
            "or with am/pm (2:30pm)."
        )
    words = words[1:]
    channel = None
    if words and words[0].startswith(("<#", "#")):
        channel = parse_channel(words[0])
        if channel is None:
            return _usage_error(f"`{shown(words[0])}` is not a channel I can use.")
        words = words[1:]
    title = " ".join(words).strip() or DEFAULT_TITLE
    if len(title) > MAX_TITLE_LENGTH:
        return _usage_error(
            f"The title is too long; keep it to {MAX_TITLE_LENGTH} characters or fewer."
        )
    if any(not ch.isprintable() for ch in title):
        return _usage_error("The title contains control characters. Type it again as plain text.")
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
        return _usage_error(
            f"`--remind {shown(value)}` is not a lead time I can use. Write minutes or hours "
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


def _parse_days(words: list[str], *, today: date) -> tuple[frozenset[int], int, int] | UsageError:
    first = words[0].lower()
    if first == "daily":
        return frozenset(range(7)), 1, 1
    if first in {"weekdays", "workdays"}:
        return frozenset(range(5)), 1, 1
    if first == "weekly":
        return frozenset({today.weekday()}), 1, 1
    if first in {"biweekly", "fortnightly"}:
        if len(words) < 2 or words[1].lower() not in DAYS:
            return _usage_error("Which day? Write `biweekly <day>`, e.g. `biweekly tue`.")
        return frozenset({DAYS[words[1].lower()]}), 2, 2
    days = parse_day_list(first)
    if days is None:
        return _usage_error(
            f"`{shown(words[0])}` is not a list of days. Use `mon`…`sun`, `mon,thu`, "
            "`mon-fri`, `daily`, `weekly` or `biweekly tue`."
        )
    return days, 1, 1
