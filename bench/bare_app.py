"""A Bolt app that only acknowledges ``/rate-lead``: the baseline leadloop is compared with.

Served by the same HTTP server as leadloop, so the difference is leadloop's own work.
"""

from __future__ import annotations

import os
import sys

from slack_bolt import Ack, App

from bot.server import build_wsgi_app, make_http_server
from bot.slack_client import build_web_client


def main() -> None:
    """Serve the bare app on the port given as the first argument."""
    client = build_web_client(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/rate-lead")
    def only_ack(ack: Ack) -> None:
        ack()

    server = make_http_server(
        build_wsgi_app(app, is_healthy=lambda: True), host="127.0.0.1", port=int(sys.argv[1])
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
