"""``/meeting``, and the buttons and form on meeting reminders."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.meetings.agenda import (
    handle_add_agenda_click,
    handle_agenda_submission,
)
from handlers.meetings.command import handle_meeting
from handlers.meetings.snooze import handle_snooze


def register(app: App, deps: Deps) -> None:
    """Wire the command, the two reminder buttons and the agenda form."""
    provide_deps(app, deps)
    app.command(ids.MEETING_COMMAND)(handle_meeting)
    app.action(ids.MEETING_ADD_AGENDA)(handle_add_agenda_click)
    app.action(ids.MEETING_SNOOZE)(handle_snooze)
    app.view(ids.AGENDA_MODAL)(handle_agenda_submission)
