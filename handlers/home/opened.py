"""``app_home_opened``: publish the person's home tab."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_sdk import WebClient

from domain.home import home_for
from handlers.deps import Deps
from handlers.payload import text_at
from handlers.views.home import home_view


def handle_app_home_opened(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Build the tab for whoever opened it and publish it with views.publish."""
    if event.get("tab", "home") != "home":
        return  # the Messages tab needs nothing from us
    team_id, user_id = text_at(body, "team_id"), text_at(event, "user")
    if not team_id or not user_id:
        return

    def publish() -> None:
        with deps.session_factory() as session:
            settings = deps.settings_in(session, team_id=team_id)
            data = home_for(
                session,
                team_id=team_id,
                user_id=user_id,
                roles=deps.roles,
                now=deps.clock(),
                timezone=settings.timezone,
                answer_time=settings.answer_sla_policy(),
            )
        data = replace(data, needs_feedback_channel=settings.feedback_channel is None)
        client.views_publish(user_id=user_id, view=home_view(data))

    deps.after_ack(publish, body=body, client=client)
