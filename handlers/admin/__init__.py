"""``/leadloop``: roles and other admin settings."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.admin.command import handle_admin
from handlers.deps import Deps, provide_deps


def register(app: App, deps: Deps) -> None:
    """Wire the ``/leadloop`` command."""
    provide_deps(app, deps)
    app.command(ids.ADMIN_COMMAND)(handle_admin)
