"""Logging that never writes a token or secret, whoever logs it, and whose lines request
content cannot forge."""

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


# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators: each is
# written as an escape, so text from a request can neither start a new line in the log nor
# move the cursor of whoever reads it in a terminal.
_CONTROL_ESCAPES = {
    code: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(chr(code), f"\\x{code:02x}")
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
} | {0x2028: "\\u2028", 0x2029: "\\u2029"}
TRACEBACK_INDENT = "  "


def escape_controls(text: str) -> str:
    """``text`` on one line: every control character (newline included) as an escape."""
    return text.translate(_CONTROL_ESCAPES)


class OneRecordPerLineFormatter(logging.Formatter):
    """Each record is one line, and only a record starts a line.

    The message (where request content can appear) has its control characters escaped.
    A traceback stays readable on its own lines, each indented, so that no text in an
    exception can pass for a record of its own.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        first, *rest = super().format(record).split("\n")
        lines = [escape_controls(first)]
        lines += [TRACEBACK_INDENT + escape_controls(line) if line else "" for line in rest]
        return "\n".join(lines)


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
    handler.setFormatter(
        OneRecordPerLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
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
