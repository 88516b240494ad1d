"""Slack listeners: parse the payload, call the domain, render, respond. Nothing more.

Each subpackage has a ``register(app, deps)``; ``bot.app.create_app`` wires them all.
"""
