"""The App Home tab and its buttons."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.home.buttons import (
    handle_home_meetings,
    handle_home_rate_lead,
    handle_home_report,
)
from handlers.home.opened import handle_app_home_opened


def register(app: App, deps: Deps) -> None:
    """Wire ``app_home_opened`` and the three home buttons."""
    provide_deps(app, deps)
    app.event("app_home_opened")(handle_app_home_opened)
    app.action(ids.HOME_RATE_LEAD)(handle_home_rate_lead)
    app.action(ids.HOME_REPORT)(handle_home_report)
    app.action(ids.HOME_MEETINGS)(handle_home_meetings)
