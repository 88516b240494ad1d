"""The lead webhook's signature and JSON body: verified, then turned into lead records."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from domain.leads.records import LeadRecord, RowError, kind_of, validate_lead

SIGNATURE_HEADER = "X-Leadloop-Signature"
TIMESTAMP_HEADER = "X-Leadloop-Timestamp"
MAX_WEBHOOK_BYTES = 1_000_000
MAX_WEBHOOK_LEADS = 1_000
MAX_WEBHOOK_AGE_SECONDS = 300
# Starts every workspace's own webhook secret (leadloop webhook, hex), so logs can hide it.
WEBHOOK_SECRET_PREFIX = "llwh_"
_WRAPPER_KEY = "leads"


@dataclass(frozen=True)
class WebhookRefusal:
    """A webhook request refused: the HTTP status and the JSON error text."""

    status: int
    error: str


def new_webhook_secret() -> str:
    """A workspace's own webhook secret; its prefix lets the log filter recognise it."""
    return WEBHOOK_SECRET_PREFIX + secrets.token_hex(32)


def sign_webhook(body: bytes, *, secret: str, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    message = f"v1:{timestamp}:".encode() + body
    return "v1=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_webhook(
    body: bytes,
    *,
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    now: float,
    max_age_seconds: int = MAX_WEBHOOK_AGE_SECONDS,
) -> WebhookRefusal | None:
    """None when the request is signed with ``secret`` within ``max_age_seconds``, else why not."""
    if not secret:
        raise ValueError("LEAD_WEBHOOK_SECRET is empty: refusing to verify webhooks with it")
    if not timestamp_header or not signature_header:
        return WebhookRefusal(401, "missing signature")
    timestamp_text = timestamp_header.strip()
    # int() alone would accept "+5", "1_000" and non-ASCII digits.
    if not (timestamp_text.isascii() and timestamp_text.isdigit() and len(timestamp_text) < 16):
        return WebhookRefusal(401, "invalid timestamp")
    timestamp = int(timestamp_text)
    if abs(now - timestamp) > max_age_seconds:
        return WebhookRefusal(401, "stale timestamp")
    expected = sign_webhook(body, secret=secret, timestamp=timestamp).encode()
    given = signature_header.strip().lower().encode("utf-8", errors="replace")
    if not hmac.compare_digest(expected, given):
        return WebhookRefusal(401, "invalid signature")
    return None


def parse_webhook_leads(body: bytes) -> list[LeadRecord | RowError] | WebhookRefusal:
    """A verified webhook body as leads (one result per item), or a 400/413 refusal."""
    if len(body) > MAX_WEBHOOK_BYTES:
        return WebhookRefusal(413, "body too large")
    try:
        document = json.loads(body.decode("utf-8-sig"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return WebhookRefusal(400, "body is not JSON")
    items = _lead_items(document)
    if isinstance(items, WebhookRefusal):
        return items
    return [validate_lead(item, row=index, label="lead") for index, item in enumerate(items, 1)]


def _refuse_constant(name: str) -> object:
    """NaN and Infinity are not JSON, although Python's json module reads them."""
    raise ValueError(f"{name} is not JSON")


def _lead_items(document: object) -> list[dict[str, object]] | WebhookRefusal:
    """The lead objects in a body: an object, a list of them, or {"leads": [...]}."""
    if isinstance(document, dict):
        if _WRAPPER_KEY not in document or "external_ref" in document:
            return [document]
        document = document[_WRAPPER_KEY]
    if not isinstance(document, list):
        return WebhookRefusal(
            400,
            f'expected a lead object, a list of lead objects or {{"leads": [...]}}, '
            f"not {kind_of(document)}",
        )
    if not document:
        return WebhookRefusal(400, "no leads: send a lead object or a non-empty list of them")
    if len(document) > MAX_WEBHOOK_LEADS:
        return WebhookRefusal(
            400,
            f"too many leads: {len(document):,} in one request; the limit is "
            f"{MAX_WEBHOOK_LEADS:,}, so split the list",
        )
    for index, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            return WebhookRefusal(400, f"lead {index} is {kind_of(item)}, not a lead object")
    return document
