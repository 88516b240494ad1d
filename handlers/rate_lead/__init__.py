"""``/rate-lead``, the rating form, and the "Rate this lead" message shortcut."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.rate_lead.command import handle_rate_lead
from handlers.rate_lead.modal import handle_rating_submission
from handlers.rate_lead.shortcut import handle_rate_from_message


def register(app: App, deps: Deps) -> None:
    """Wire the slash command, the message shortcut and the modal submission."""
    provide_deps(app, deps)
    app.command(ids.RATE_LEAD_COMMAND)(handle_rate_lead)
    app.shortcut(ids.RATE_FROM_MESSAGE)(handle_rate_from_message)
    app.view(ids.RATING_MODAL)(handle_rating_submission)
