"""``/rate-lead`` and the rating form."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps
from handlers.rate_lead.command import build_handle_rate_lead
from handlers.rate_lead.modal import build_handle_rating_submission


def register(app: App, deps: Deps) -> None:
    """Wire the slash command and the modal submission."""
    app.command(ids.RATE_LEAD_COMMAND)(build_handle_rate_lead(deps))
    app.view(ids.RATING_MODAL)(build_handle_rating_submission(deps))
