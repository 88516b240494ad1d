"""Lead intake: upserting leads by reference, a whole CSV import with its hand-offs and
digests, and choosing the workspace.

Callers own the transaction, except ``import_leads``, a whole unit of work that commits
batch by batch.

Decisions worth knowing:
* Leads are upserted by (workspace, external_ref). A blank field in the file or the JSON
  keeps what is stored (as HubSpot's import does), so a partial file never erases data;
  extra columns are merged into the stored attributes.
* The same reference twice in one file (or one webhook body) is applied in order: the
  first row creates the lead, a later one updates it when it differs.
* Each new lead owes one hand-off message (outbox kind ``handoff_post``), posted later by
  the deliverer to the owner's DM and/or HANDOFF_CHANNEL. Existing leads owe nothing.
* An import must not flood Slack. An owner with more than ``DIGEST_THRESHOLD`` new leads in
  one import gets one digest (outbox kind ``handoff_digest``) listing them instead of one
  DM each; when the import creates more than ``DIGEST_THRESHOLD`` new leads in all,
  HANDOFF_CHANNEL gets one digest of all of them and no single posts. Owners at or under
  the threshold still get single hand-offs (in a DM only, then). ``--no-handoffs`` owes
  nothing. The webhook sends at most 1,000 leads a request and keeps single hand-offs.
* An import's hand-offs are held (due ``HANDOFF_HOLD`` later) until ``release_handoffs``,
  which the CLI calls once the whole file is stored and the summary printed: no rep hears
  of half an import, and a digest is complete when it is sent. An import that dies midway
  has its hand-offs sent when the hold runs out, with the leads it stored: none is lost.
* A webhook request passes its signed timestamp (``signed_at``): a lead whose last applied
  request was signed later is left alone and counted ``stale``, so an old update that
  arrives late (or is replayed) never reverts a newer one. Requests signed in the same
  second apply in the order they arrive. CSV imports are not signed and not ordered.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from domain.leads.records import LeadRecord, RowError
from domain.outbox_kinds import HANDOFF_DIGEST, HANDOFF_POST
from storage import digests
from storage.campaigns import set_campaign_owner
from storage.engine import SessionFactory
from storage.leads import (
    LEAD_FIELDS,
    existing_refs,
    insert_leads,
    leads_by_ref,
    mark_handed_off,
    mark_signed,
    owe_handoffs,
    record_field_changes,
    update_leads,
)
from storage.models import Lead

# More new leads than this for one owner in one import: that owner gets one digest. More
# than this in the whole import: HANDOFF_CHANNEL gets one digest instead of a post per lead.
DIGEST_THRESHOLD = 10
# How long an import's hand-offs wait for the import to finish (and release them) at most.
HANDOFF_HOLD = timedelta(hours=1)

BATCH_SIZE = 1000
MAX_OWNER_ID_LENGTH = 32  # the lead table's owner_id column
TEAM_ID = re.compile(r"[TE][A-Z0-9]{2,31}")

Fields = dict[str, Any]


# --- intake: one batch ----------------------------------------------------------------


@dataclass
class IntakeCounts:
    """What a batch of leads did: created, updated, unchanged, stale (a newer webhook request
    was applied already), and the hand-offs now owed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    handoff_message_ids: list[int] = field(default_factory=list)
    # The new leads by owner (None: no owner), for counting the messages they owe.
    new_by_owner: Counter[str | None] = field(default_factory=Counter)


@dataclass(frozen=True)
class HandoffPlan:
    """How an import's new leads are handed off: who gets a digest, and when they are due.

    ``import_key`` names this import's digests; ``quiet`` owes no hand-off at all.
    """

    import_key: str
    due_at: datetime
    digest_owners: frozenset[str] = frozenset()
    channel_digest: bool = False
    quiet: bool = False

    def digests_owner(self, owner: str | None) -> bool:
        """Whether this owner's new leads go into one digest instead of one DM each."""
        return owner is not None and owner in self.digest_owners


def intake_leads(
    session: Session,
    *,
    team_id: str,
    leads: Mapping[str, Fields],
    now: datetime,
    dry_run: bool = False,
    plan: HandoffPlan | None = None,
    signed_at: datetime | None = None,
) -> IntakeCounts:
    """Upsert leads (reference -> incoming fields) and owe a hand-off for each new one.

    One SELECT finds the stored leads; new ones are inserted in one statement, changed ones
    updated, unchanged ones left alone. A dry run counts the same without writing. Without
    a ``plan`` (the webhook) each new lead owes a single hand-off, due now. With
    ``signed_at`` (the webhook) the stored leads are locked, a lead last changed by a
    request signed later is left alone, and the others remember ``signed_at``.
    """
    ordered = signed_at is not None
    stored = leads_by_ref(session, team_id=team_id, external_refs=leads.keys(), lock=ordered)
    counts = IntakeCounts()
    final: dict[str, Fields] = {}
    for ref, incoming in leads.items():
        lead = stored.get(ref)
        if _is_stale(lead, signed_at):
            counts.stale += 1
            continue
        final[ref] = incoming if lead is None else merge_fields(_stored_fields(lead), incoming)
        _count(counts, lead, final[ref])
    if not dry_run:
        inserted, applied = _write(
            session,
            team_id=team_id,
            final=final,
            stored=stored,
            counts=counts,
            now=now,
            signed_at=signed_at,
        )
        mark_handed_off(session, team_id=team_id, lead_ids=applied, now=now)
        if signed_at is not None:
            mark_signed(session, team_id=team_id, lead_ids=applied, signed_at=signed_at)
        owners = {lead_id: final[ref]["owner_id"] for ref, lead_id in inserted.items()}
        counts.handoff_message_ids = _owe_handoffs(
            session, team_id=team_id, owners=owners, plan=plan, now=now
        )
    return counts


def _is_stale(lead: Lead | None, signed_at: datetime | None) -> bool:
    """Whether a webhook request signed later than ``signed_at`` was applied to the lead."""
    if lead is None or signed_at is None or lead.webhook_signed_at is None:
        return False
    return lead.webhook_signed_at > signed_at


def _count(counts: IntakeCounts, lead: Lead | None, fields: Fields, *, by: int = 1) -> None:
    if lead is None:
        counts.created += by
        counts.new_by_owner[fields.get("owner_id")] += by
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
    signed_at: datetime | None,
) -> tuple[dict[str, int], list[int]]:
    """Insert the new leads and update the changed ones (and drop from ``final`` those that
    turn out stale); the new leads' ids by reference, and the ids of every lead applied."""
    new = {ref: fields for ref, fields in final.items() if ref not in stored}
    inserted = insert_leads(
        session,
        team_id=team_id,
        leads=[{"external_ref": ref, **fields} for ref, fields in new.items()],
        now=now,
    )
    raced = leads_by_ref(
        session,
        team_id=team_id,
        external_refs=[ref for ref in new if ref not in inserted],
        lock=signed_at is not None,
    )
    for ref, lead in raced.items():
        # Another request created this lead between our SELECT and our INSERT: update it.
        _count(counts, None, final[ref], by=-1)
        if _is_stale(lead, signed_at):
            counts.stale += 1
            del final[ref]
            continue
        final[ref] = merge_fields(_stored_fields(lead), final[ref])
        _count(counts, lead, final[ref])
    existing = {ref: lead for ref, lead in (stored | raced).items() if ref in final}
    changed = [
        (lead, final[ref]) for ref, lead in existing.items() if final[ref] != _stored_fields(lead)
    ]
    record_field_changes(session, team_id=team_id, changes=changed, now=now)
    changes = [{"id": lead.id, **fields} for lead, fields in changed]
    update_leads(session, team_id=team_id, changes=changes, now=now)
    applied = [*inserted.values(), *(lead.id for lead in existing.values() if lead.id)]
    return inserted, applied


def _owe_handoffs(
    session: Session,
    *,
    team_id: str,
    owners: Mapping[int, str | None],
    plan: HandoffPlan | None,
    now: datetime,
) -> list[int]:
    """Owe the hand-offs of new leads (lead id -> owner); the ids of the outbox rows added."""
    if plan is None:
        return owe_handoffs(
            session, team_id=team_id, lead_ids=list(owners), kind=HANDOFF_POST, now=now
        )
    if plan.quiet or not owners:
        return []
    singles = [
        lead_id
        for lead_id, owner in owners.items()
        if not plan.digests_owner(owner) and (owner or not plan.channel_digest)
    ]
    owed = owe_handoffs(
        session,
        team_id=team_id,
        lead_ids=singles,
        kind=HANDOFF_POST,
        now=now,
        due_at=plan.due_at,
    )
    by_owner: dict[str | None, list[int]] = {}
    for lead_id, owner in owners.items():
        if plan.digests_owner(owner):
            by_owner.setdefault(owner, []).append(lead_id)
    if plan.channel_digest:
        by_owner[None] = list(owners)
    for owner, lead_ids in by_owner.items():
        digest_id, message_id = digests.owe_digest(
            session,
            team_id=team_id,
            kind=HANDOFF_DIGEST,
            import_key=plan.import_key,
            owner_id=owner,
            now=now,
            due_at=plan.due_at,
        )
        digests.add_to_digest(session, team_id=team_id, digest_id=digest_id, lead_ids=lead_ids)
        owed.extend([message_id] if message_id is not None else [])
    return owed


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


def campaign_owners_of(records: Iterable[LeadRecord]) -> dict[str, str]:
    """The campaign owners the leads name (campaign -> Slack user); a later lead wins."""
    return {
        record.campaign: record.campaign_owner_slack_id
        for record in records
        if record.campaign and record.campaign_owner_slack_id
    }


def own_campaigns(
    session: Session, *, team_id: str, owners: Mapping[str, str], by: str, now: datetime
) -> int:
    """Give each campaign its owner; how many changed."""
    return sum(
        set_campaign_owner(
            session, team_id=team_id, campaign=campaign, owner_id=owner, by=by, now=now
        )
        for campaign, owner in owners.items()
    )


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


# --- intake: a whole CSV file ---------------------------------------------------------


@dataclass(frozen=True)
class RepeatedRef:
    """A reference given on several rows: the first ``SHOWN_ROWS`` of them, and how many."""

    external_ref: str
    rows: tuple[int, ...]
    count: int

    SHOWN_ROWS = 5


@dataclass(frozen=True)
class HandoffMessages:
    """The hand-off messages an import owes: per owner, and for HANDOFF_CHANNEL."""

    by_owner: dict[str, tuple[int, bool]]  # owner -> (new leads, whether as one digest)
    unowned: int
    channel_digest: bool
    quiet: bool

    @property
    def to_owners(self) -> int:
        """Messages to owners: one per digest, one per lead otherwise."""
        return sum(1 if digest else leads for leads, digest in self.by_owner.values())

    @property
    def to_channel(self) -> int:
        """Messages to HANDOFF_CHANNEL, if one is set: one digest, or one per new lead."""
        leads = self.unowned + sum(leads for leads, _ in self.by_owner.values())
        return min(leads, 1) if self.channel_digest else leads


@dataclass
class ImportSummary:
    """What an import did (or, in a dry run, would do); leads are counted once each."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    repeated: int = 0
    repeated_refs: list[RepeatedRef] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)
    handoffs_owed: int = 0
    rows_read: int = 0
    rows_total: int = 0
    plan: HandoffPlan | None = None
    new_by_owner: Counter[str | None] = field(default_factory=Counter)
    # Campaigns the file gives an owner (``campaign_owner_slack_id``).
    campaign_owners: int = 0
    # Outbox rows owed and held until ``release_handoffs``.
    held_message_ids: list[int] = field(default_factory=list)

    def add(self, counts: IntakeCounts) -> None:
        """Count one batch."""
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.handoffs_owed += len(counts.handoff_message_ids)
        self.held_message_ids.extend(counts.handoff_message_ids)
        self.new_by_owner.update(counts.new_by_owner)

    def handoff_messages(self) -> HandoffMessages:
        """The hand-off messages the new leads owe, as the plan decided."""
        plan = self.plan
        by_owner = {
            owner: (leads, plan is not None and plan.digests_owner(owner))
            for owner, leads in self.new_by_owner.items()
            if owner is not None and leads > 0
        }
        return HandoffMessages(
            by_owner=by_owner,
            unowned=max(self.new_by_owner[None], 0),
            channel_digest=plan is not None and plan.channel_digest,
            quiet=plan is not None and plan.quiet,
        )


Rows = Iterable[LeadRecord | RowError]
# Who ``campaign_owner.set_by`` names when an import or the webhook gave the owner.
IMPORTED_BY = "import"


def import_leads(
    session_factory: SessionFactory,
    *,
    team_id: str,
    read: Callable[[], Rows],
    now: datetime,
    dry_run: bool = False,
    handoffs: bool = True,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Import a CSV's rows in batches, one transaction each; bad rows are skipped.

    ``read`` gives the rows and is called twice. The first reading finds references that
    occur more than once (those leads are merged in memory and written last, so that every
    lead is written once, with its final values, and counted once) and how many new leads
    each owner gets, which decides the digests. The hand-offs owed are held until
    ``release_handoffs``; ``handoffs=False`` owes none.
    """
    summary = ImportSummary()
    owners = _first_reading(read(), summary)
    summary.plan = _plan(session_factory, team_id, owners, now=now, quiet=not handoffs)
    repeated = {entry.external_ref for entry in summary.repeated_refs}
    held: dict[str, Fields] = {}
    batch: dict[str, Fields] = {}
    campaign_owners: dict[str, str] = {}
    for result in read():
        summary.rows_read += 1
        if isinstance(result, RowError):
            summary.skipped.append(result)
        elif (problem := _csv_storage_problem(result)) is not None:
            summary.skipped.append(problem)
        elif result.external_ref in repeated:
            summary.repeated += fold_into(held, result)
        else:
            batch[result.external_ref] = record_fields(result)
        if not isinstance(result, RowError):
            campaign_owners |= campaign_owners_of([result])
        if len(batch) >= batch_size:
            _import_batch(session_factory, team_id, batch, now, dry_run, summary)
            batch = {}
            if on_batch is not None:
                on_batch(summary)
    rest = iter((batch | held).items())
    while part := dict(itertools.islice(rest, batch_size)):
        _import_batch(session_factory, team_id, part, now, dry_run, summary)
    summary.campaign_owners = len(campaign_owners)
    if campaign_owners and not dry_run:
        with session_factory() as session:
            own_campaigns(session, team_id=team_id, owners=campaign_owners, by=IMPORTED_BY, now=now)
            session.commit()
    return summary


def release_handoffs(
    session_factory: SessionFactory, *, team_id: str, summary: ImportSummary, now: datetime
) -> None:
    """Let the deliverer send an import's hand-offs, held until now."""
    with session_factory() as session:
        digests.release(session, team_id=team_id, message_ids=summary.held_message_ids, now=now)
        session.commit()


def _first_reading(rows: Rows, summary: ImportSummary) -> dict[str, str | None]:
    """Each valid reference's owner (as merged), noting the references on several rows."""
    first_row: dict[str, int] = {}
    repeated: dict[str, RepeatedRef] = {}
    owners: dict[str, str | None] = {}
    for result in rows:
        summary.rows_total += 1
        if isinstance(result, RowError) or _csv_storage_problem(result) is not None:
            continue
        ref = result.external_ref
        owners[ref] = result.owner_slack_id or owners.get(ref)
        if ref not in first_row:
            first_row[ref] = result.row
            continue
        entry = repeated.get(ref) or RepeatedRef(ref, (first_row[ref],), 1)
        full = len(entry.rows) >= RepeatedRef.SHOWN_ROWS
        repeated[ref] = RepeatedRef(
            ref, entry.rows if full else (*entry.rows, result.row), entry.count + 1
        )
    summary.repeated_refs = list(repeated.values())
    return owners


def _plan(
    session_factory: SessionFactory,
    team_id: str,
    owners: dict[str, str | None],
    *,
    now: datetime,
    quiet: bool,
) -> HandoffPlan:
    """Who gets a digest: the new leads per owner, counted before anything is written."""
    new_by_owner: Counter[str | None] = Counter()
    refs = iter(owners)
    with session_factory() as session:
        while part := list(itertools.islice(refs, BATCH_SIZE)):
            known = existing_refs(session, team_id=team_id, external_refs=part)
            new_by_owner.update(owners[ref] for ref in part if ref not in known)
    return HandoffPlan(
        import_key=uuid.uuid4().hex,
        due_at=now + HANDOFF_HOLD,
        digest_owners=frozenset(
            owner
            for owner, count in new_by_owner.items()
            if owner is not None and count > DIGEST_THRESHOLD
        ),
        channel_digest=new_by_owner.total() > DIGEST_THRESHOLD,
        quiet=quiet,
    )


def _csv_storage_problem(record: LeadRecord) -> RowError | None:
    return storage_problem(record, where=f"row {record.row}: the lead {record.external_ref!r}")


def _import_batch(
    session_factory: SessionFactory,
    team_id: str,
    leads: dict[str, Fields],
    now: datetime,
    dry_run: bool,
    summary: ImportSummary,
) -> None:
    with session_factory() as session:
        counts = intake_leads(
            session, team_id=team_id, leads=leads, now=now, dry_run=dry_run, plan=summary.plan
        )
        if not dry_run:
            session.commit()
    summary.add(counts)


# --- which workspace ------------------------------------------------------------------


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
