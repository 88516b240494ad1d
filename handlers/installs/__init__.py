"""Uninstalls: ``app_uninstalled`` and ``tokens_revoked``."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps, provide_deps
from handlers.installs.uninstall import handle_tokens_revoked, handle_uninstalled


def register(app: App, deps: Deps) -> None:
    """Wire the two events Slack sends when leadloop loses its access to a workspace."""
    provide_deps(app, deps)
    app.event("app_uninstalled")(handle_uninstalled)
    app.event("tokens_revoked")(handle_tokens_revoked)
