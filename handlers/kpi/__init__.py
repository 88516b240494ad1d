"""``/kpi``: the shared KPIs, their targets, and the weekly chart."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps, provide_deps
from handlers.kpi.command import handle_kpi


def register(app: App, deps: Deps) -> None:
    """Wire the ``/kpi`` command."""
    provide_deps(app, deps)
    app.command(ids.KPI_COMMAND)(handle_kpi)
