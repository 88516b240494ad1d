"""The CRM lead webhook: a signed JSON body of leads in, an answer with an HTTP status out.

It commits itself (one request, one unit of work), the outbox rows of the hand-offs it owes
included, before it answers; the delivery process posts them.

Deliveries are idempotent and ordered. The signature of every request applied is stored in
the same transaction as its leads (unique, kept a day by the delivery process's
forget-old-events job): the same request again, replayed or retried, answers 200 with
``"replayed": true`` and changes nothing. Each lead keeps the signed timestamp of the last
request applied to it; a request signed earlier leaves that lead alone (counted ``stale``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.clock import Clock
from domain.leads.intake import (
    IMPORTED_BY,
    IntakeCounts,
    WorkspaceProblem,
    campaign_owners_of,
    choose_workspace,
    fold_records,
    intake_leads,
    own_campaigns,
    storage_problem,
)
from domain.leads.records import LeadRecord, RowError
from domain.leads.webhook_body import WebhookRefusal, parse_webhook_leads, verify_webhook
from storage.engine import SessionFactory
from storage.leads import remember_delivery
from storage.workspaces import known_workspaces, only_workspace, own_webhook_secret

# --- intake: the webhook --------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    """What the HTTP server read from a POST to the lead webhook."""

    body: bytes
    timestamp: str | None
    signature: str | None
    workspace: str | None


@dataclass(frozen=True)
class WebhookAnswer:
    """The HTTP status and JSON body to answer with."""

    status: int
    body: dict[str, Any]


def _refused(status: int, error: str, **extra: Any) -> WebhookAnswer:
    return WebhookAnswer(status=status, body={"error": error, **extra})


WEBHOOK_OFF = (
    "the lead webhook is off for this workspace: an admin turns it on with "
    "/leadloop webhook new (when leadloop runs in several workspaces, add "
    "?workspace=T0123ABCD to the URL)"
)


@dataclass
class LeadWebhook:
    """The lead webhook: verify, parse, upsert by reference, owe hand-offs.

    A workspace with a secret of its own (``/leadloop webhook new``) accepts only that one;
    the others accept ``secret`` (LEAD_WEBHOOK_SECRET), if it is set.
    """

    secret: str | None
    session_factory: SessionFactory
    clock: Clock
    wall_time: Callable[[], float] = time.time

    def __call__(self, request: WebhookRequest) -> WebhookAnswer:
        """Answer one request; a refusal changes nothing."""
        secret = self._secret_for(request.workspace)
        if secret is None:
            return _refused(404, WEBHOOK_OFF)
        refusal = verify_webhook(
            request.body,
            secret=secret,
            timestamp_header=request.timestamp,
            signature_header=request.signature,
            now=self.wall_time(),  # the sender's clock is real time, even in a demo
        )
        if refusal is not None:
            return _refused(refusal.status, refusal.error)
        parsed = parse_webhook_leads(request.body)
        if isinstance(parsed, WebhookRefusal):
            return _refused(parsed.status, parsed.error)
        # Verified above: both headers are there, the timestamp is digits.
        signed = _SignedDelivery(
            signature=str(request.signature).strip().lower(),
            signed_at=datetime.fromtimestamp(int(str(request.timestamp).strip()), UTC),
        )
        return self._store(parsed, request.workspace, signed)

    def _secret_for(self, wanted: str | None) -> str | None:
        """The secret that must sign a request for ``wanted`` (or for the only workspace)."""
        with self.session_factory() as session:
            team_id = wanted.strip() if wanted is not None else only_workspace(session)
            own = own_webhook_secret(session, team_id=team_id) if team_id else None
        return own or self.secret

    def _store(
        self, parsed: list[LeadRecord | RowError], workspace: str | None, signed: _SignedDelivery
    ) -> WebhookAnswer:
        records, errors = _split_webhook_leads(parsed)
        with self.session_factory() as session:
            team_id = choose_workspace(
                known_workspaces(session),
                workspace,
                how_to_choose="add ?workspace=T0123ABCD to the webhook URL",
            )
            if isinstance(team_id, WorkspaceProblem):
                return _refused(400, team_id.message)
            if not records:
                return _refused(400, "no lead could be accepted", errors=errors)
            first_time = remember_delivery(
                session,
                team_id=team_id,
                signature=signed.signature,
                signed_at=signed.signed_at,
                now=datetime.fromtimestamp(self.wall_time(), UTC),
            )
            if not first_time:
                return WebhookAnswer(
                    status=200, body=_answer(IntakeCounts(), errors, replayed=True)
                )
            leads = fold_records(records)
            counts = intake_leads(
                session,
                team_id=team_id,
                leads=leads,
                now=self.clock(),
                signed_at=signed.signed_at,
            )
            own_campaigns(
                session,
                team_id=team_id,
                owners=campaign_owners_of(records),
                by=IMPORTED_BY,
                now=self.clock(),
            )
            session.commit()
        return WebhookAnswer(status=200, body=_answer(counts, errors, replayed=False))


@dataclass(frozen=True)
class _SignedDelivery:
    """A verified request's signature (what a replay repeats) and its signed time."""

    signature: str
    signed_at: datetime


def _answer(
    counts: IntakeCounts, errors: list[dict[str, Any]], *, replayed: bool
) -> dict[str, Any]:
    return {
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "stale": counts.stale,
        "replayed": replayed,
        "errors": errors,
    }


def _split_webhook_leads(
    parsed: list[LeadRecord | RowError],
) -> tuple[list[LeadRecord], list[dict[str, Any]]]:
    """The leads to store, and the errors as the webhook answers them."""
    records: list[LeadRecord] = []
    errors: list[dict[str, Any]] = []
    for index, result in enumerate(parsed, start=1):
        if isinstance(result, LeadRecord):
            problem = storage_problem(result, where=f"lead {index}")
            if problem is None:
                records.append(result)
                continue
            result = problem
        errors.append({"lead": index, "message": result.message})
    return records, errors
