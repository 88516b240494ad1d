"""Lead hand-offs: CRM intake (CSV import and webhook) and one-click ratings of handed-off leads.

Domain logic only: typed values and a session in, typed values out; no Slack payloads and
no HTTP framing. Callers own the transaction, except ``import_leads`` and ``LeadWebhook``,
which are whole units of work and commit themselves.

Decisions worth knowing:

* Leads are upserted by (workspace, external_ref). A blank field in the file or the JSON
  keeps what is stored (as HubSpot's import does), so a partial file never erases data;
  extra columns are merged into the stored attributes.
* The same reference twice in one file (or one webhook body) is applied in order: the
  first row creates the lead, a later one updates it when it differs.
* Each new lead owes one hand-off message (outbox kind ``handoff_post``), posted later by
  the deliverer to the owner's DM and/or HANDOFF_CHANNEL. Existing leads owe nothing.
* A score button click rates the lead "via button". A second click by the same rep
  changes that rating in place, as long as it is still the rep's latest rating of the lead;
  after a /rate-lead or form rating the next click adds a new one.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import Session

from bot.clock import Clock
from bot.feedback import submit_rating
from bot.lead_intake import (
    LeadRecord,
    RowError,
    WebhookRefusal,
    parse_webhook_leads,
    verify_webhook,
)
from bot.rating_input import RatingInput
from handlers.handoff_blocks import HandoffCard, RaterScore, ScoreClick
from storage import outbox
from storage.engine import SessionFactory
from storage.leads import (
    LEAD_FIELDS,
    change_score,
    find_handoff,
    handoff_messages,
    insert_leads,
    latest_rating_by,
    latest_scores,
    leads_by_ref,
    lock_lead,
    owe_handoffs,
    update_leads,
)
from storage.models import Lead, Rating
from storage.ratings import get_lead
from storage.workspaces import known_workspaces, only_workspace, own_webhook_secret

HANDOFF_POST = "handoff_post"
HANDOFF_REFRESH = "handoff_refresh"
RATING_UPDATE = "rating_update"
HANDOFF_KINDS = frozenset({HANDOFF_POST, HANDOFF_REFRESH, RATING_UPDATE})

BATCH_SIZE = 1000
MAX_OWNER_ID_LENGTH = 32  # the lead table's owner_id column
NOTES_ATTRIBUTES = ("marketing_notes", "notes")
TEAM_ID = re.compile(r"[TE][A-Z0-9]{2,31}")

Fields = dict[str, Any]


# --- intake: one batch ------------------------------------------------------------------


@dataclass
class IntakeCounts:
    """What a batch of leads did: created, updated, unchanged, and the hand-offs now owed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    handoff_message_ids: list[int] = field(default_factory=list)


def intake_leads(
    session: Session,
    *,
    team_id: str,
    leads: Mapping[str, Fields],
    now: datetime,
    dry_run: bool = False,
) -> IntakeCounts:
    """Upsert leads (reference -> incoming fields) and owe a hand-off for each new one.

    One SELECT finds the stored leads; new ones are inserted in one statement, changed ones
    updated, unchanged ones left alone. A dry run counts the same without writing.
    """
    stored = leads_by_ref(session, team_id=team_id, external_refs=leads.keys())
    counts = IntakeCounts()
    final: dict[str, Fields] = {}
    for ref, incoming in leads.items():
        lead = stored.get(ref)
        final[ref] = incoming if lead is None else merge_fields(_stored_fields(lead), incoming)
        _count(counts, lead, final[ref])
    if not dry_run:
        _write(session, team_id=team_id, final=final, stored=stored, counts=counts, now=now)
    return counts


def _count(counts: IntakeCounts, lead: Lead | None, fields: Fields, *, by: int = 1) -> None:
    if lead is None:
        counts.created += by
    elif fields == _stored_fields(lead):
        counts.unchanged += by
    else:
        counts.updated += by


def _write(
    session: Session,
    *,
    team_id: str,
    final: dict[str, Fields],
    stored: dict[str, Lead],
    counts: IntakeCounts,
    now: datetime,
) -> None:
    """Insert the new leads, update the changed ones and owe the new ones' hand-offs."""
    new = {ref: fields for ref, fields in final.items() if ref not in stored}
    inserted = insert_leads(
        session,
        team_id=team_id,
        leads=[{"external_ref": ref, **fields} for ref, fields in new.items()],
        now=now,
    )
    raced = leads_by_ref(
        session, team_id=team_id, external_refs=[ref for ref in new if ref not in inserted]
    )
    for ref, lead in raced.items():
        # Another request created this lead between our SELECT and our INSERT: update it.
        _count(counts, None, {}, by=-1)
        final[ref] = merge_fields(_stored_fields(lead), final[ref])
        _count(counts, lead, final[ref])
    changes = [
        {"id": lead.id, **final[ref]}
        for ref, lead in (stored | raced).items()
        if final[ref] != _stored_fields(lead)
    ]
    update_leads(session, team_id=team_id, changes=changes, now=now)
    counts.handoff_message_ids = owe_handoffs(
        session, team_id=team_id, lead_ids=list(inserted.values()), kind=HANDOFF_POST, now=now
    )


def record_fields(record: LeadRecord) -> Fields:
    """A checked lead as the lead table's field values."""
    return {
        "name": record.name,
        "email": record.email,
        "company": record.company,
        "campaign": record.campaign,
        "source": record.source,
        "owner_id": record.owner_slack_id,
        "status": record.status,
        "attributes": dict(record.attributes),
    }


def _stored_fields(lead: Lead) -> Fields:
    values = {name: getattr(lead, name) for name in LEAD_FIELDS}
    values["attributes"] = dict(values["attributes"] or {})
    return values


def merge_fields(current: Mapping[str, Any], incoming: Mapping[str, Any]) -> Fields:
    """Incoming values over stored ones; a blank incoming field keeps the stored value."""
    merged = {
        name: current.get(name) if incoming.get(name) is None else incoming[name]
        for name in LEAD_FIELDS
        if name != "attributes"
    }
    merged["attributes"] = {**(current.get("attributes") or {}), **incoming["attributes"]}
    return merged


def fold_records(records: Iterable[LeadRecord]) -> dict[str, Fields]:
    """Leads by reference; a reference given again is merged into what came before."""
    leads: dict[str, Fields] = {}
    for record in records:
        fold_into(leads, record)
    return leads


def fold_into(leads: dict[str, Fields], record: LeadRecord) -> bool:
    """Add a lead to ``leads``, merged into an earlier one with its reference (True then)."""
    incoming = record_fields(record)
    earlier = leads.get(record.external_ref)
    leads[record.external_ref] = incoming if earlier is None else merge_fields(earlier, incoming)
    return earlier is not None


def storage_problem(record: LeadRecord, *, where: str) -> RowError | None:
    """What the checks of ``lead_intake`` allow but the lead table cannot hold."""
    owner = record.owner_slack_id
    if owner is not None and len(owner) > MAX_OWNER_ID_LENGTH:
        return RowError(
            row=0,
            message=(
                f"{where}: owner_slack_id is {len(owner)} characters long; a Slack user ID has "
                f"at most {MAX_OWNER_ID_LENGTH} (copy it from the person's profile)"
            ),
        )
    return None


# --- intake: a whole CSV file -----------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do); leads are counted once each."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated: int = 0
    skipped: list[RowError] = field(default_factory=list)
    handoffs_owed: int = 0
    rows_read: int = 0
    rows_total: int = 0

    def add(self, counts: IntakeCounts) -> None:
        """Count one batch."""
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.handoffs_owed += len(counts.handoff_message_ids)


Rows = Iterable[LeadRecord | RowError]


def import_leads(
    session_factory: SessionFactory,
    *,
    team_id: str,
    read: Callable[[], Rows],
    now: datetime,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Import a CSV's rows in batches, one transaction each; bad rows are skipped.

    ``read`` gives the rows and is called twice. The first reading only finds references
    that occur more than once; those leads are merged in memory and written last, so that
    every lead is written once, with its final values, and counted once.
    """
    summary = ImportSummary()
    repeated = _repeated_refs(read(), summary)
    held: dict[str, Fields] = {}
    batch: dict[str, Fields] = {}
    for result in read():
        summary.rows_read += 1
        problem = result if isinstance(result, RowError) else _csv_storage_problem(result)
        if problem is not None:
            summary.skipped.append(problem)
        elif result.external_ref in repeated:
            summary.repeated += fold_into(held, result)
        else:
            batch[result.external_ref] = record_fields(result)
        if len(batch) >= batch_size:
            _import_batch(session_factory, team_id, batch, now, dry_run, summary)
            batch = {}
            if on_batch is not None:
                on_batch(summary)
    rest = iter((batch | held).items())
    while part := dict(itertools.islice(rest, batch_size)):
        _import_batch(session_factory, team_id, part, now, dry_run, summary)
    return summary


def _repeated_refs(rows: Rows, summary: ImportSummary) -> set[str]:
    """References found in more than one valid row (the first reading of the file)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for result in rows:
        summary.rows_total += 1
        if isinstance(result, LeadRecord):
            ref = result.external_ref
            (repeated if ref in seen else seen).add(ref)
    return repeated


def _csv_storage_problem(record: LeadRecord) -> RowError | None:
    # A LeadRecord does not carry its row number, so the message names its reference.
    return storage_problem(record, where=f"the lead {record.external_ref!r}")


def _import_batch(
    session_factory: SessionFactory,
    team_id: str,
    leads: dict[str, Fields],
    now: datetime,
    dry_run: bool,
    summary: ImportSummary,
) -> None:
    with session_factory() as session:
        counts = intake_leads(session, team_id=team_id, leads=leads, now=now, dry_run=dry_run)
        if not dry_run:
            session.commit()
    summary.add(counts)


# --- which workspace --------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceProblem:
    """Why no workspace could be chosen, and how to choose one."""

    message: str


def choose_workspace(
    known: Sequence[str], wanted: str | None, *, how_to_choose: str
) -> str | WorkspaceProblem:
    """The workspace asked for, else the only one recorded; a problem when that won't do.

    A workspace asked for must be one the bot has recorded, unless none is recorded yet.
    """
    if wanted is not None:
        wanted = wanted.strip()
        if not TEAM_ID.fullmatch(wanted):
            shown = "".join(ch if ch.isprintable() else "?" for ch in wanted[:40])
            return WorkspaceProblem(
                f"'{shown}' is not a Slack workspace ID; they look like T0123ABCD."
            )
        if known and wanted not in known:
            return WorkspaceProblem(
                f"{wanted} is not a workspace leadloop runs in (it knows {', '.join(known)}); "
                "check the workspace ID."
            )
        return wanted
    if len(known) == 1:
        return known[0]
    if not known:
        return WorkspaceProblem(
            "leadloop has not recorded its Slack workspace yet (the bot records it when it "
            f"starts). Start the bot once with `leadloop run`, or {how_to_choose}."
        )
    return WorkspaceProblem(
        f"leadloop runs in several workspaces ({', '.join(known)}): {how_to_choose}."
    )


# --- intake: the webhook ----------------------------------------------------------------


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
    """The lead webhook: verify, parse, upsert by reference, owe hand-offs, deliver them.

    A workspace with a secret of its own (``/leadloop webhook new``) accepts only that one;
    the others accept ``secret`` (LEAD_WEBHOOK_SECRET), if it is set.
    """

    secret: str | None
    session_factory: SessionFactory
    clock: Clock
    deliver: Callable[[Sequence[int]], None] = lambda message_ids: None
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
        answer, owed = self._store(parsed, request.workspace)
        if owed:
            self.deliver(owed)
        return answer

    def _secret_for(self, wanted: str | None) -> str | None:
        """The secret that must sign a request for ``wanted`` (or for the only workspace)."""
        with self.session_factory() as session:
            team_id = wanted.strip() if wanted is not None else only_workspace(session)
            own = own_webhook_secret(session, team_id=team_id) if team_id else None
        return own or self.secret

    def _store(
        self, parsed: list[LeadRecord | RowError], workspace: str | None
    ) -> tuple[WebhookAnswer, list[int]]:
        records, errors = _split_webhook_leads(parsed)
        with self.session_factory() as session:
            team_id = choose_workspace(
                known_workspaces(session),
                workspace,
                how_to_choose="add ?workspace=T0123ABCD to the webhook URL",
            )
            if isinstance(team_id, WorkspaceProblem):
                return _refused(400, team_id.message), []
            if not records:
                return _refused(400, "no lead could be accepted", errors=errors), []
            leads = fold_records(records)
            counts = intake_leads(session, team_id=team_id, leads=leads, now=self.clock())
            session.commit()
        body = {
            "created": counts.created,
            "updated": counts.updated,
            "unchanged": counts.unchanged,
            "errors": errors,
        }
        return WebhookAnswer(status=200, body=body), counts.handoff_message_ids


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


# --- one-click ratings ------------------------------------------------------------------


class ButtonOutcome(Enum):
    """What a score button click did to the rep's rating of the lead."""

    NEW = "new"
    CHANGED = "changed"
    SAME = "same"


@dataclass(frozen=True)
class ButtonRating:
    """A click's rating, its lead, and the outbox messages to deliver now, in order."""

    outcome: ButtonOutcome
    rating: Rating
    lead: Lead
    previous_score: int | None
    message_ids: tuple[int, ...]
    post_message_id: int | None = None


def rate_from_button(
    session: Session,
    *,
    team_id: str,
    rater_id: str,
    click: ScoreClick,
    origin_channel: str | None,
    now: datetime,
) -> ButtonRating | None:
    """Record a score button click; None when the lead is not this workspace's."""
    lead = lock_lead(session, team_id=team_id, lead_id=click.lead_id)
    if lead is None or lead.id is None:
        return None
    latest = latest_rating_by(session, team_id=team_id, lead_id=lead.id, rater_id=rater_id)
    if latest is not None and latest.via == "button" and latest.id is not None:
        return _change_button_rating(session, latest, lead, click.score, now=now)
    submitted = submit_rating(
        session,
        team_id=team_id,
        rater_id=rater_id,
        rating=RatingInput(lead_ref=lead.external_ref, score=click.score),
        via="button",
        origin_channel=origin_channel,
        now=now,
    )
    refresh = _owe(session, HANDOFF_REFRESH, submitted.rating, now=now)
    owed = tuple(i for i in (submitted.post_message_id, refresh) if i is not None)
    return ButtonRating(
        ButtonOutcome.NEW,
        submitted.rating,
        lead,
        None,
        owed,
        post_message_id=submitted.post_message_id,
    )


def _change_button_rating(
    session: Session, rating: Rating, lead: Lead, score: int, *, now: datetime
) -> ButtonRating:
    previous = rating.score
    if previous == score:
        return ButtonRating(ButtonOutcome.SAME, rating, lead, previous, ())
    changed = change_score(session, team_id=rating.team_id, rating_id=rating.id or -1, score=score)
    assert changed is not None  # the rating was just read in this transaction
    owed = (
        _owe(session, RATING_UPDATE, changed, now=now),
        _owe(session, HANDOFF_REFRESH, changed, now=now),
    )
    return ButtonRating(
        ButtonOutcome.CHANGED, changed, lead, previous, tuple(i for i in owed if i is not None)
    )


def owe_handoff_refresh(session: Session, rating: Rating, *, now: datetime) -> int | None:
    """After a rating from /rate-lead or the form: owe its lead's hand-off messages an update.

    Button ratings owe theirs when clicked. Nothing is owed for a lead never handed off.
    """
    if rating.via == "button" or not handoff_messages(
        session, team_id=rating.team_id, lead_id=rating.lead_id
    ):
        return None
    return _owe(session, HANDOFF_REFRESH, rating, now=now)


def _owe(session: Session, kind: str, rating: Rating, *, now: datetime) -> int | None:
    """Owe a re-render about ``rating``; every click owes its own (it renders what is current)."""
    message = outbox.enqueue(
        session,
        team_id=rating.team_id,
        kind=kind,
        dedupe_key=f"{kind}:{rating.id}:{uuid.uuid4().hex}",
        rating_id=rating.id,
        now=now,
    )
    return message.id if message is not None else None


# --- what hand-off messages show ----------------------------------------------------------


@dataclass(frozen=True)
class OwedHandoff:
    """A hand-off to post: its lead, what it shows, and where it still has to go."""

    lead_id: int
    card: HandoffCard
    scores: tuple[RaterScore, ...]
    targets: tuple[str, ...]


def owed_handoff(
    session: Session, *, team_id: str, outbox_message_id: int, handoff_channel: str | None
) -> OwedHandoff | None:
    """The hand-off an outbox message owes; None when its lead is gone."""
    handoff = find_handoff(session, team_id=team_id, outbox_message_id=outbox_message_id)
    lead = handoff and get_lead(session, team_id=team_id, lead_id=handoff.lead_id)
    if lead is None or lead.id is None:
        return None
    posted = {post.target for post in handoff_messages(session, team_id=team_id, lead_id=lead.id)}
    wanted = dict.fromkeys(target for target in (lead.owner_id, handoff_channel) if target)
    card, scores = handoff_view(session, team_id=team_id, lead=lead)
    return OwedHandoff(
        lead_id=lead.id,
        card=card,
        scores=scores,
        targets=tuple(target for target in wanted if target not in posted),
    )


def handoff_view(
    session: Session, *, team_id: str, lead: Lead
) -> tuple[HandoffCard, tuple[RaterScore, ...]]:
    """What a lead's hand-off message shows now: the lead and each rep's latest score."""
    scores = latest_scores(session, team_id=team_id, lead_id=lead.id or -1)
    return card_for_lead(lead), tuple(RaterScore(rater_id=r, score=s) for r, s in scores)


def card_for_lead(lead: Lead) -> HandoffCard:
    """The view of a stored lead that the hand-off builders take."""
    return HandoffCard(
        lead_id=lead.id or -1,
        lead_ref=lead.external_ref,
        name=lead.name,
        company=lead.company,
        campaign=lead.campaign,
        source=lead.source,
        owner_id=lead.owner_id,
        notes=marketing_notes(lead.attributes or {}),
    )


def marketing_notes(attributes: Mapping[str, Any]) -> str | None:
    """The "marketing_notes" attribute, else "notes" (names match in any case)."""
    by_name = {str(name).strip().lower(): value for name, value in attributes.items()}
    for name in NOTES_ATTRIBUTES:
        value = by_name.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
