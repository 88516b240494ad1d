"""The HTTP side: Slack's requests at POST /slack/events, GET /healthz and the lead webhook.

``build_wsgi_app`` is what ``leadloop run`` serves through gunicorn (``bot/serving.py``);
the stdlib server at the end of this module serves it in-process for the tests.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import SQLAlchemyError

from bot.refusals import RefusalLog, unsigned_reason
from bot.slack_shapes import read_body, request_problem
from domain.leads.webhook import WebhookAnswer, WebhookRequest
from domain.leads.webhook_body import MAX_WEBHOOK_BYTES

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
LEAD_WEBHOOK_PATH = "/webhooks/leads"
# Slack's own payloads are a few KB; anything this big is not from Slack.
MAX_BODY_BYTES = 1024 * 1024
DRAIN_LIMIT_BYTES = 8 * 1024 * 1024

LeadWebhookHandler = Callable[[WebhookRequest], WebhookAnswer]


class FormReadingHandler(SlackRequestHandler):
    """Bolt's WSGI handler, reading each body with ``bot.slack_shapes.read_body``."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        payload = read_body(bolt_request.raw_body, bolt_request.content_type or "")
        if payload != bolt_request.body:
            bolt_request.body = payload
            bolt_request.context = build_context(BoltContext(), payload)
        return self.app.dispatch(bolt_request)


def build_wsgi_app(
    bolt_app: App,
    *,
    is_healthy: Callable[[], bool],
    signing_secret: str,
    lead_webhook: LeadWebhookHandler | None = None,
    refusals: RefusalLog | None = None,
) -> WSGIApplication:
    """Route Slack's requests to Bolt, answer the health check and the lead webhook.

    Without ``lead_webhook`` the path answers 404; ``leadloop run`` always serves it, and it
    answers 404 itself for a workspace that has no secret. ``refusals`` logs the requests
    Slack did not sign (the caller flushes it when the process stops).
    """
    slack_handler = FormReadingHandler(bolt_app, path=SLACK_EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret)
    refusals = refusals or RefusalLog()
    flow = bolt_app.oauth_flow
    oauth_paths = {flow.install_path, flow.redirect_uri_path} if flow is not None else set()

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
            return _dispatch_to_bolt(slack_handler, verifier, refusals, environ, start_response)
        if path in oauth_paths and method == "GET":
            return _oauth_page(slack_handler, environ, start_response)
        if path == LEAD_WEBHOOK_PATH:
            return _lead_webhook(environ, start_response, lead_webhook)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _oauth_page(
    slack_handler: SlackRequestHandler, environ: WSGIEnvironment, start_response: StartResponse
) -> Iterable[bytes]:
    """``/slack/install`` and ``/slack/oauth_redirect``, served by Bolt's OAuth flow."""
    try:
        return list(slack_handler(environ, start_response))
    except Exception:
        logger.exception("the Slack install page failed")
        body = (
            b"<!DOCTYPE html><html><body><h1>leadloop could not finish the install</h1>"
            b"<p>Something went wrong on our side; nothing was installed. Please try again "
            b"in a minute.</p></body></html>"
        )
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]


def _lead_webhook(
    environ: WSGIEnvironment, start_response: StartResponse, handler: LeadWebhookHandler | None
) -> list[bytes]:
    """POST /webhooks/leads: size checks here, the rest in ``handler``."""
    if handler is None:
        return _answer(start_response, 404, {"error": "lead webhook is not configured"})
    if environ.get("REQUEST_METHOD") != "POST":
        return _answer(start_response, 405, {"error": "send the leads with POST"})
    length = _declared_length(environ)
    if length is None:
        return _answer(start_response, 400, {"error": "Content-Length header required"})
    if length > MAX_WEBHOOK_BYTES:
        _discard_body(environ, length)  # read no further than the drain limit
        return _answer(start_response, 413, {"error": "body too large"})
    request = WebhookRequest(
        body=_read_body(environ, length),
        timestamp=environ.get("HTTP_X_LEADLOOP_TIMESTAMP"),
        signature=environ.get("HTTP_X_LEADLOOP_SIGNATURE"),
        workspace=_query_value(environ, "workspace"),
    )
    try:
        answer = handler(request)
    except SQLAlchemyError:
        logger.exception("lead webhook: the database failed; nothing was stored")
        return _answer(start_response, 503, {"error": "database unavailable; try again"})
    except Exception:
        logger.exception("lead webhook failed")
        return _answer(start_response, 500, {"error": "internal error"})
    return _answer(start_response, answer.status, answer.body)


def _declared_length(environ: WSGIEnvironment) -> int | None:
    """The Content-Length the client declared; None when missing or malformed."""
    value = str(environ.get("CONTENT_LENGTH") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _read_body(environ: WSGIEnvironment, length: int) -> bytes:
    """Exactly ``length`` bytes of body, or fewer if the client hangs up."""
    stream = environ["wsgi.input"]
    chunks: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _query_value(environ: WSGIEnvironment, name: str) -> str | None:
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else None


def _answer(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    return _json(start_response, f"{status} {HTTPStatus(status).phrase}", body)


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


def _dispatch_to_bolt(
    slack_handler: SlackRequestHandler,
    verifier: SignatureVerifier,
    refusals: RefusalLog,
    environ: WSGIEnvironment,
    start_response: StartResponse,
) -> Iterable[bytes]:
    """Check the signature, then the payload's shape, then hand the request to Bolt.

    A request Slack did not sign is refused with a 401 and never parsed; Bolt checks the
    signature again (``bot.refusals.SignedBySlack``). A signed payload Bolt could not read
    (it would answer 500, or raise) is refused with a 400 and one line in the log.
    """
    body = environ["wsgi.input"].read(_content_length(environ))
    environ["wsgi.input"] = io.BytesIO(body)
    reason = unsigned_reason(
        verifier,
        body,
        timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
        signature=environ.get("HTTP_X_SLACK_SIGNATURE"),
    )
    if reason is not None:
        refusals.refused(path=SLACK_EVENTS_PATH, size=len(body), reason=reason)
        return _json(start_response, "401 Unauthorized", {"error": "invalid signature"})
    problem = request_problem(body, str(environ.get("CONTENT_TYPE", "")))
    if problem is not None:
        logger.warning("refused a signed Slack request of the wrong shape: %s", problem)
        return _json(start_response, "400 Bad Request", {"error": "malformed request"})
    try:
        return slack_handler(environ, start_response)
    except Exception:  # what the shape check missed: a traceback, so that we add it there
        logger.exception("Bolt could not read a signed Slack request")
        return _json(start_response, "400 Bad Request", {"error": "malformed request"})


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
    """A threaded WSGI server bound to ``host:port`` (port 0 picks a free one).

    For the tests only, which serve the app in-process on a thread: ``leadloop run`` serves
    with gunicorn (``bot/serving.py``).
    """
    return make_server(
        host,
        port,
        application,
        server_class=ThreadingWSGIServer,
        handler_class=QuietRequestHandler,
    )
