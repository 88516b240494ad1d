"""Replies in rating threads: marketing's answers."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps, provide_deps
from handlers.thread_replies.message import handle_message_event, store_message_event


def register(app: App, deps: Deps) -> None:
    """Wire the ``message`` event (all its subtypes go to one listener).

    The change is stored by the listener's middleware, before Slack gets its 200 (see
    ``handlers.thread_replies.message``); Bolt needs a listener for it to run.
    """
    provide_deps(app, deps)
    app.event("message", middleware=[store_message_event])(handle_message_event)
