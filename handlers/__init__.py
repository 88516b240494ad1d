"""Slack listeners: parse the payload, call the domain, render, respond. Nothing more.

Each subpackage has a ``register(app, deps)``; ``bot.app.create_app`` wires them all. A
listener is a module-level ``handle_x`` function, one per module; the ones that need the
shared dependencies declare ``deps: Deps``, which Bolt fills from the request's context
(see ``handlers.deps``).
"""
