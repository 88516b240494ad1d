"""The ``/meeting`` slash command: add, list, skip, pause, resume and remove meetings.

What a command changes is committed before it is acknowledged, and the answer is the ack.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from domain.meetings.cards import MeetingLine
from domain.meetings.parse import (
    USAGE,
    AddMeeting,
    ListMeetings,
    MeetingAction,
    MeetingHelp,
    parse_meeting_command,
)
from domain.meetings.parse import USAGE as MEETING_USAGE
from domain.meetings.reminders import create_meeting, rule_of, skip_next
from domain.parsing import UsageError
from domain.schedules import next_occurrence
from handlers.deps import Deps
from handlers.errors import DATABASE_DOWN
from handlers.slack_lookups import resolve_channel, user_timezone
from handlers.views.meetings import meeting_list_text, slack_date
from storage import meetings as store
from storage.models import Meeting

logger = logging.getLogger(__name__)


def handle_meeting(ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Carry out the subcommand, commit what it changes, then answer privately in the ack.

    Slack never sends an answered command again, so nothing waits in memory after the ack.
    """
    try:
        text = answer_meeting_command(deps, command=command, client=client)
    except SQLAlchemyError:
        # One transaction per change: nothing of it was written, and the ack says so.
        logger.exception("could not carry out a /meeting command")
        text = DATABASE_DOWN
    ack(response_type="ephemeral", text=text)


def answer_meeting_command(deps: Deps, *, command: dict[str, Any], client: WebClient) -> str:
    """Carry out one ``/meeting`` command and return the text to show its author."""
    user_id, team_id = command["user_id"], command["team_id"]
    text = command.get("text") or ""
    zone = _workspace_zone(deps, team_id=team_id)
    if text.strip().lower().startswith("add"):
        zone = user_timezone(client, user_id, default=zone)  # a read, before any write
    today = deps.clock().astimezone(ZoneInfo(zone)).date()
    parsed = parse_meeting_command(text, today=today)
    if isinstance(parsed, UsageError):
        return parsed.message
    if isinstance(parsed, MeetingHelp):
        return USAGE
    if isinstance(parsed, ListMeetings):
        return meeting_list_for(deps, team_id=team_id)
    if isinstance(parsed, AddMeeting):
        return _add(deps, parsed, command=command, client=client, zone=zone)
    with deps.session_before_ack() as session:
        answer = _change(deps, session, parsed, team_id=team_id, user_id=user_id)
        session.commit()
    return answer


def _workspace_zone(deps: Deps, *, team_id: str) -> str:
    with deps.session_before_ack() as session:
        return deps.settings_in(session, team_id=team_id).timezone


def _add(
    deps: Deps,
    request: AddMeeting,
    *,
    command: dict[str, Any],
    client: WebClient,
    zone: str,
) -> str:
    channel_id = _channel_for(request, command=command, client=client)  # no session open yet
    if channel_id is None:
        assert request.channel is not None
        return UsageError(
            f"I can't find the channel #{request.channel.name}. Pick it from Slack's "
            "suggestions when you type #, or invite me to it first.",
            usage=MEETING_USAGE,
        ).message
    with deps.session_before_ack() as session:
        meeting = create_meeting(
            session,
            team_id=command["team_id"],
            request=request,
            channel_id=channel_id,
            timezone=zone,
            user_id=command["user_id"],
            now=deps.clock(),
        )
        session.commit()
    upcoming = next_occurrence(rule_of(meeting), deps.clock())
    minutes = meeting.remind_minutes
    return (
        f"Added meeting `{meeting.id}`: *{meeting.title}* in <#{channel_id}>, "
        f"{rule_of(meeting).describe()}. I'll post a reminder with an agenda {minutes} "
        f"minutes before each one; the first meeting is {slack_date(upcoming)}."
        if upcoming
        else f"Added meeting `{meeting.id}`."
    )


def _channel_for(request: AddMeeting, *, command: dict[str, Any], client: WebClient) -> str | None:
    if request.channel is None:
        return str(command["channel_id"])
    return resolve_channel(request.channel, client=client)


def meeting_list_for(deps: Deps, *, team_id: str) -> str:
    """The workspace's meetings with their next dates, as ``/meeting list`` shows them.

    Read in a session whose lock waits are bounded: someone is waiting for the list.
    """
    with deps.session_before_ack() as session:
        return _list(deps, session, team_id=team_id)


def _list(deps: Deps, session: Session, *, team_id: str) -> str:
    now = deps.clock()
    lines = [
        MeetingLine(
            meeting_id=meeting.id or -1,
            channel_id=meeting.channel_id,
            title=meeting.title,
            schedule=rule_of(meeting).describe(),
            remind_minutes=meeting.remind_minutes,
            next_at=next_occurrence(rule_of(meeting), now),
            paused=meeting.paused,
        )
        for meeting in store.list_meetings(session, team_id=team_id)
    ]
    return meeting_list_text(lines)


def _change(
    deps: Deps, session: Session, request: MeetingAction, *, team_id: str, user_id: str
) -> str:
    meeting = store.get_meeting(session, team_id=team_id, meeting_id=request.meeting_id)
    if meeting is None:
        return (
            f"There is no meeting `{request.meeting_id}` in this workspace. "
            "`/meeting list` shows the IDs."
        )
    is_admin = deps.roles.is_admin(session, team_id=team_id, user_id=user_id)
    if user_id != meeting.created_by and not is_admin:
        return (
            f"Only <@{meeting.created_by}> (who added meeting `{meeting.id}`) or a leadloop "
            "admin can change it."
        )
    return _apply(deps, session, meeting, request.action)


def _apply(deps: Deps, session: Session, meeting: Meeting, action: str) -> str:
    now = deps.clock()
    label = f"meeting `{meeting.id}` (*{meeting.title}*)"
    if action == "skip":
        skipped = skip_next(session, meeting, now=now)
        if skipped is None:
            return f"{label.capitalize()} has no upcoming date to skip."
        following = (
            f" The next one is {slack_date(skipped.following)}." if skipped.following else ""
        )
        return f"Skipped {label} on {slack_date(skipped.skipped)}: no reminder for it.{following}"
    if action == "pause":
        meeting.paused = True
        message = f"Paused {label}. `/meeting resume {meeting.id}` brings the reminders back."
    elif action == "resume":
        if meeting.paused:
            meeting.paused = False
            meeting.active_since = now  # what fell due while paused is not posted afterwards
        message = f"Resumed {label}."
    else:
        meeting.removed = True
        message = f"Removed {label}. Its reminders have stopped."
    session.add(meeting)
    return message
