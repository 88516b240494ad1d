"""``leadloop playground``: leadloop without Slack, in a browser, on this computer."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import webbrowser
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.cli_common import EXIT_OK, EXIT_USAGE, CliError
from bot.config import log_level
from bot.logging_setup import configure_logging

logger = logging.getLogger("leadloop")


def add_playground_command(commands: Any) -> None:
    """Register ``playground`` on the ``leadloop`` parser."""
    playground = commands.add_parser(
        "playground",
        help="try leadloop without Slack: the real app and a page on 127.0.0.1",
        description="Start the real app (its listeners, storage, outbox and schedules) "
        "against a stand-in for Slack, on a database of its own seeded with the demo data, "
        "and serve a page on 127.0.0.1 where you type commands, reply in threads and click "
        "buttons as a demo person. Nothing reaches Slack: it refuses to start when "
        "SLACK_API_URL names another host. Ctrl-C stops it.",
    )
    playground.add_argument(
        "--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free)"
    )
    playground.add_argument(
        "--database",
        type=Path,
        default=Path("data/playground.db"),
        help="its SQLite file, created and seeded if new (default data/playground.db)",
    )
    playground.add_argument(
        "--open", action="store_true", help="open the page in this computer's browser"
    )
    playground.set_defaults(handler=command_playground)


def command_playground(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """``leadloop playground``."""
    from bot.playground.running import PlaygroundRefused, refuse_real_slack, start_playground

    try:
        refuse_real_slack(env.get("SLACK_API_URL"))
    except PlaygroundRefused as error:
        raise CliError(str(error), EXIT_USAGE) from None
    if not 0 <= args.port <= 65535:
        raise CliError("--port must be between 0 and 65535.", EXIT_USAGE)
    configure_logging(level=log_level(env.get("LOG_LEVEL") or "WARNING", name="LOG_LEVEL"))
    try:
        playground = start_playground(database=args.database, port=args.port)
    except OSError as error:
        if error.filename:
            raise
        raise CliError(
            f"could not listen on 127.0.0.1:{args.port} ({error.strerror or error}); "
            "choose another with --port."
        ) from None
    print(
        f"leadloop: the playground runs at {playground.url} (local only, no Slack involved; "
        f"database {args.database}). Ctrl-C stops it.",
        flush=True,
    )
    if args.open:
        webbrowser.open(playground.url)
    # SIGTERM (a service manager, `kill`) stops it as Ctrl-C does: through the `finally`.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("leadloop: stopping the playground", file=sys.stderr)
    finally:
        playground.close()
        signal.signal(signal.SIGTERM, previous)
    print("leadloop: the playground stopped", file=sys.stderr)
    return EXIT_OK
