"""``/rate-lead`` and the rating form."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.rate_lead.command import handle_rate_lead
from handlers.rate_lead.modal import handle_rating_submission


def register(app: App, deps: Deps) -> None:
    """Wire the slash command and the modal submission."""
    provide_deps(app, deps)
    app.command(ids.RATE_LEAD_COMMAND)(handle_rate_lead)
    app.view(ids.RATING_MODAL)(handle_rating_submission)
