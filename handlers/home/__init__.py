"""The App Home tab and its buttons."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps
from handlers.home.buttons import (
    build_handle_home_meetings,
    build_handle_home_rate_lead,
    build_handle_home_report,
)
from handlers.home.opened import build_handle_app_home_opened


def register(app: App, deps: Deps) -> None:
    """Wire ``app_home_opened`` and the three home buttons."""
    app.event("app_home_opened")(build_handle_app_home_opened(deps))
    app.action(ids.HOME_RATE_LEAD)(build_handle_home_rate_lead(deps))
    app.action(ids.HOME_REPORT)(build_handle_home_report(deps))
    app.action(ids.HOME_MEETINGS)(build_handle_home_meetings(deps))
