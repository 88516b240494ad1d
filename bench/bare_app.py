"""A Bolt app that only acknowledges ``/rate-lead``: the baseline leadloop is compared with.

Served exactly as ``leadloop run`` serves leadloop: gunicorn through ``bot.serving``, with
the same WSGI routing, workers and threads, and the app built in each worker after the
fork. The difference in latency is therefore leadloop's own work.

Run: ``python -m bench.bare_app PORT [--workers N] [--threads T]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from slack_bolt import Ack, App

from bot.server import build_wsgi_app
from bot.serving import ServeOptions, bind_listener, serve
from bot.slack_client import build_web_client

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication


class BareService:
    """One worker's bare app: acks ``/rate-lead`` and does nothing else."""

    def __init__(self) -> None:
        client = build_web_client(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"])
        self.app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
        self.app.command("/rate-lead")(only_ack)

    def wsgi_app(self) -> WSGIApplication:
        """The same routing as leadloop's, with a health check that always passes."""
        return build_wsgi_app(
            self.app,
            is_healthy=lambda: True,
            signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        )

    def close(self) -> None:
        """Nothing to finish."""


def only_ack(ack: Ack) -> None:
    """Acknowledge, nothing more."""
    ack()


def main(argv: list[str] | None = None) -> int:
    """Serve the bare app on the port given as the first argument."""
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("port", type=int)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    options = ServeOptions(
        host="127.0.0.1", port=args.port, workers=args.workers, threads=args.threads
    )
    return serve(BareService, options, bind_listener(options.host, options.port))


if __name__ == "__main__":
    sys.exit(main())
