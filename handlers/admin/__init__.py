"""``/leadloop``: roles and other admin settings."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.admin.command import build_handle_admin
from handlers.deps import Deps


def register(app: App, deps: Deps) -> None:
    """Wire the ``/leadloop`` command."""
    app.command(ids.ADMIN_COMMAND)(build_handle_admin(deps))
