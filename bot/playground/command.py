"""``leadloop playground``: leadloop without Slack, in a browser, on this computer."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_OK, EXIT_USAGE, CliError
from bot.config import log_level
from bot.logging_setup import configure_logging
from bot.stopping import wait_for_a_signal

if TYPE_CHECKING:
    from bot.playground.running import Playground

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
    # SIGTERM (a service manager, `kill`) stops it as Ctrl-C does. Either may come at any
    # moment, even while it starts: whatever was started is then stopped before it exits.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _start_and_serve(args, start_playground)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("leadloop: the playground stopped", file=sys.stderr)
    return EXIT_OK


def _start_and_serve(args: argparse.Namespace, start: Callable[..., Playground]) -> None:
    """Start the playground, say where it is, and serve until Ctrl-C or SIGTERM."""
    try:
        playground = start(database=args.database, port=args.port)
    except OSError as error:
        if error.filename:
            raise
        raise CliError(
            f"could not listen on 127.0.0.1:{args.port} ({error.strerror or error}); "
            "choose another with --port."
        ) from None
    try:
        print(
            f"leadloop: the playground runs at {playground.url} (local only, no Slack "
            f"involved; database {args.database}). Ctrl-C stops it.",
            flush=True,
        )
        if args.open:
            webbrowser.open(playground.url)
        wait_for_a_signal()  # KeyboardInterrupt, from Ctrl-C or SIGTERM
    finally:
        # A second Ctrl-C must not cut the stop short: its threads would keep it running.
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, signal.SIG_IGN)
        print("leadloop: stopping the playground", file=sys.stderr)
        playground.close()
