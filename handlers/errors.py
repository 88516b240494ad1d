"""The one error handler: log the traceback for us, tell the user something useful."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)

DATABASE_DOWN = (
    ":warning: leadloop could not reach its database, so nothing was saved. "
    "Please try again in a minute."
)
SOMETHING_BROKE = (
    ":warning: Sorry, something went wrong on leadloop's side. Please try again; "
    "if it keeps happening, tell whoever runs leadloop in your workspace."
)


def user_message_for(error: BaseException) -> str:
    """The text a user sees for an unexpected error."""
    unreachable = isinstance(error, OperationalError | InterfaceError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )
    return DATABASE_DOWN if unreachable else SOMETHING_BROKE


def register(app: App) -> None:
    """Install the global error handler."""
    app.error(handle_error)


def handle_error(error: Exception, body: dict[str, Any], client: WebClient) -> None:
    """Bolt's global error handler: every listener failure goes through ``report_failure``."""
    report_failure(error, body=body, client=client)


def report_failure(error: BaseException, *, body: dict[str, Any], client: WebClient) -> None:
    """Log a failure with its traceback and tell the user, if there is one."""
    logger.error("listener failed: %s", type(error).__name__, exc_info=error)
    text = user_message_for(error)
    try:
        _tell_user(body, client, text)
    except (SlackClientError, OSError):
        logger.warning("could not tell the user about the failure", exc_info=True)


def _tell_user(body: dict[str, Any], client: WebClient, text: str) -> None:
    response_url = body.get("response_url")
    if response_url:
        WebhookClient(response_url).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        return
    user = body.get("user") or {}
    user_id = user.get("id") if isinstance(user, dict) else None
    if user_id and body.get("type") in {"view_submission", "block_actions"}:
        client.chat_postMessage(channel=user_id, text=text)
