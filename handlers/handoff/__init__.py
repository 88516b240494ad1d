"""The rating buttons on hand-off messages."""

from __future__ import annotations

import re

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.handoff.reason import handle_handoff_reason
from handlers.handoff.score import handle_handoff_score


def register(app: App, deps: Deps) -> None:
    """Wire the five score buttons and the "Rate with reason" button."""
    provide_deps(app, deps)
    app.action(re.compile(rf"^{re.escape(ids.HANDOFF_SCORE)}_"))(handle_handoff_score)
    app.action(ids.HANDOFF_REASON)(handle_handoff_reason)
