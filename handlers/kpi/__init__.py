"""``/kpi``: the shared KPIs, their targets, and the weekly chart."""

from __future__ import annotations

from slack_bolt import App

from handlers import ids
from handlers.deps import Deps
from handlers.kpi.command import build_handle_kpi


def register(app: App, deps: Deps) -> None:
    """Wire the ``/kpi`` command."""
    app.command(ids.KPI_COMMAND)(build_handle_kpi(deps))
