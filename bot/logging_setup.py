"""Logging that never writes a token or secret, whoever logs it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from domain.leads.webhook_body import WEBHOOK_SECRET_PREFIX

REDACTED = "[redacted]"
# Slack's tokens, and the webhook secrets leadloop makes for each workspace.
_TOKEN_PATTERN = re.compile(
    rf"\b(xox[abposre]|xapp)-[A-Za-z0-9-]+|\b{WEBHOOK_SECRET_PREFIX}[0-9a-f]+"
)


class RedactingFilter(logging.Filter):
    """Replaces configured secrets, and anything shaped like a Slack token or a workspace's
    webhook secret, in each record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN_PATTERN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            # A log call with the wrong arguments must never break the code that made it.
            message = f"{record.msg} (bad logging arguments: {record.args!r})"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class DropBoltClientTokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused whenever a client is given; leadloop always
    gives its own client (to set SLACK_API_URL and retries), so the notice only confuses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


# Libraries whose INFO lines are noise for someone running leadloop.
# slack-sdk logs each retry at INFO; leadloop reports what still fails after them.
QUIET_LOGGERS = ("apscheduler", "alembic", "slack_sdk")


def configure_logging(*, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Log to stderr through the redacting filter; called once by the CLI, never on import."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    handler.addFilter(DropBoltClientTokenNotice())
    for name in QUIET_LOGGERS:
        # At DEBUG, everything is wanted: that is what DEBUG is asked for.
        logging.getLogger(name).setLevel(
            root.level if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
        )
