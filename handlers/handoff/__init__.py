"""The rating buttons on hand-off messages."""

from __future__ import annotations

import re

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps
from handlers.handoff.reason import build_handle_handoff_reason
from handlers.handoff.score import build_handle_handoff_score


def register(app: App, deps: Deps) -> None:
    """Wire the five score buttons and the "Rate with reason" button."""
    app.action(re.compile(rf"^{re.escape(ids.HANDOFF_SCORE)}_"))(build_handle_handoff_score(deps))
    app.action(ids.HANDOFF_REASON)(build_handle_handoff_reason(deps))
