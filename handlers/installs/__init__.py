"""Uninstalls: ``app_uninstalled`` and ``tokens_revoked``."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps
from handlers.installs.uninstall import build_handle_tokens_revoked, build_handle_uninstalled


def register(app: App, deps: Deps) -> None:
    """Wire the two events Slack sends when leadloop loses its access to a workspace."""
    app.event("app_uninstalled")(build_handle_uninstalled(deps))
    app.event("tokens_revoked")(build_handle_tokens_revoked(deps))
