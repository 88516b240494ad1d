"""``/meeting``, and the buttons and form on meeting reminders."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps
from handlers.meetings.agenda import (
    build_handle_add_agenda_click,
    build_handle_agenda_submission,
)
from handlers.meetings.command import build_handle_meeting
from handlers.meetings.snooze import build_handle_snooze


def register(app: App, deps: Deps) -> None:
    """Wire the command, the two reminder buttons and the agenda form."""
    app.command(ids.MEETING_COMMAND)(build_handle_meeting(deps))
    app.action(ids.MEETING_ADD_AGENDA)(build_handle_add_agenda_click(deps))
    app.action(ids.MEETING_SNOOZE)(build_handle_snooze(deps))
    app.view(ids.AGENDA_MODAL)(build_handle_agenda_submission(deps))
