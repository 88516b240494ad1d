"""The HTTP side: Slack's requests at POST /slack/events, and GET /healthz."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's own payloads are a few KB; anything this big is not from Slack.
MAX_BODY_BYTES = 1024 * 1024
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024


def build_wsgi_app(bolt_app: App, *, is_healthy: Callable[[], bool]) -> WSGIApplication:
    """Route Slack's requests to Bolt and answer the health check."""
    slack_handler = SlackRequestHandler(bolt_app, path=SLACK_EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            healthy = is_healthy()
            status = "200 OK" if healthy else "503 Service Unavailable"
            body = {"status": "ok" if healthy else "database unavailable"}
            return _json(start_response, status, body)
        if path == SLACK_EVENTS_PATH and method == "POST":
            length = _content_length(environ)
            if length > MAX_BODY_BYTES:
                _discard_body(environ, length)
                return _json(start_response, "413 Payload Too Large", {"error": "body too large"})
            return slack_handler(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _discard_body(environ: WSGIEnvironment, length: int) -> None:
    """Read what the client is still sending, so it gets our 413 instead of a broken pipe.

    Past a few megabytes the client is not worth waiting for: we answer and close.
    """
    remaining = min(length, DRAIN_LIMIT_BYTES)
    stream = environ["wsgi.input"]
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            return
        remaining -= len(chunk)


def _content_length(environ: WSGIEnvironment) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _json(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """Serves each connection on its own thread, so a slow request never blocks Slack's next."""

    daemon_threads = True
    request_queue_size = 128


class QuietRequestHandler(WSGIRequestHandler):
    """Access lines go to the logger at debug level instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s - %s", self.address_string(), format % args)


def make_http_server(application: WSGIApplication, *, host: str, port: int) -> WSGIServer:
    """A threaded WSGI server bound to ``host:port`` (port 0 picks a free one)."""
    return make_server(
        host,
        port,
        application,
        server_class=ThreadingWSGIServer,
        handler_class=QuietRequestHandler,
    )
