"""Marketing's verdict buttons on rating posts (agree, dispute, acknowledge) and the dispute
form."""

from __future__ import annotations

import re

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.verdicts.click import handle_verdict_click
from handlers.verdicts.dispute import handle_dispute_click
from handlers.verdicts.dispute_form import handle_dispute_submission

ONE_CLICK_ACTIONS = re.compile(
    rf"^({re.escape(ids.VERDICT_AGREE)}|{re.escape(ids.VERDICT_ACKNOWLEDGE)})$"
)


def register(app: App, deps: Deps) -> None:
    """Wire Agree and Acknowledge (stored at the click), Dispute (opens the form) and the
    form's submission."""
    provide_deps(app, deps)
    app.action(ONE_CLICK_ACTIONS)(handle_verdict_click)
    app.action(ids.VERDICT_DISPUTE)(handle_dispute_click)
    app.view(ids.DISPUTE_MODAL)(handle_dispute_submission)
