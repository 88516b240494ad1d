"""Uninstalls: ``app_uninstalled`` and ``tokens_revoked``."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps, provide_deps
from handlers.installs.uninstall import (
    forget_revoked_tokens,
    forget_uninstalled_workspace,
    handle_access_lost,
)


def register(app: App, deps: Deps) -> None:
    """Wire the two events Slack sends when leadloop loses its access to a workspace.

    Their work is their listener middleware's, done before Slack gets its 200 (see
    ``handlers.installs.uninstall``); the listener has nothing left to do.
    """
    provide_deps(app, deps)
    app.event("app_uninstalled", middleware=[forget_uninstalled_workspace])(handle_access_lost)
    app.event("tokens_revoked", middleware=[forget_revoked_tokens])(handle_access_lost)
