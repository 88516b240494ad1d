"""Leads in bulk, their hand-offs and the hand-off messages. Every query is scoped by ``team_id``.

The bulk functions take and return plain values (dicts and ids) instead of ORM objects:
importing 100,000 leads is a few hundred statements, not hundreds of thousands.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Table,
    bindparam,
    case,
    delete,
    insert,
    literal,
    or_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import (
    Handoff,
    HandoffMessage,
    Lead,
    LeadFieldChange,
    OutboxMessage,
    Rating,
    RatingScoreChange,
    WebhookDelivery,
    table_of,
)
from storage.outbox import PENDING
from storage.outbox_signal import announce_owed

# The lead fields an import or a webhook may set; ``external_ref`` is the key.
LEAD_FIELDS = ("name", "email", "company", "campaign", "source", "owner_id", "status", "attributes")
# The fields reports group or judge by: their changes are kept (``LeadFieldChange``).
REPORTED_FIELDS = ("campaign", "source", "status")
FIELD_CHANGE_TABLE = table_of(LeadFieldChange)
LEAD_TABLE = table_of(Lead)
OUTBOX_TABLE = table_of(OutboxMessage)
HANDOFF_TABLE = table_of(Handoff)
DELIVERY_TABLE = table_of(WebhookDelivery)


def leads_by_ref(
    session: Session, *, team_id: str, external_refs: Collection[str], lock: bool = False
) -> dict[str, Lead]:
    """The workspace's leads with these CRM references, keyed by reference (one SELECT).

    ``lock`` locks them until the transaction ends (PostgreSQL; SQLite's writers already
    take turns), in id order so that two requests never wait for each other's locks: a
    concurrent webhook request for the same leads then reads what this one wrote.
    """
    if not external_refs:
        return {}
    statement = select(Lead).where(
        Lead.team_id == team_id, col(Lead.external_ref).in_(list(external_refs))
    )
    if lock:
        statement = statement.order_by(col(Lead.id)).with_for_update()
    return {lead.external_ref: lead for lead in session.exec(statement)}


def insert_leads(
    session: Session, *, team_id: str, leads: Sequence[Mapping[str, Any]], now: datetime
) -> dict[str, int]:
    """Insert new leads in one statement; reference -> id of each row inserted.

    A reference another transaction inserted meanwhile is skipped by the database (not an
    error), and is missing from the result: the caller treats it as an existing lead.
    """
    if not leads:
        return {}
    rows = [
        {"external_ref": lead["external_ref"], **{name: lead.get(name) for name in LEAD_FIELDS}}
        | {"team_id": team_id, "created_at": now, "updated_at": now, "handed_off_at": now}
        for lead in leads
    ]
    for row in rows:
        row["attributes"] = row["attributes"] or {}
        row["status_changed_at"] = now if row["status"] is not None else None
    statement = _insert_ignoring_duplicates(session, LEAD_TABLE, ["team_id", "external_ref"])
    result = session.connection().execute(
        statement.returning(LEAD_TABLE.c.id, LEAD_TABLE.c.external_ref), rows
    )
    return {external_ref: lead_id for lead_id, external_ref in result}


def update_leads(
    session: Session, *, team_id: str, changes: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """Set every lead field of the leads given by ``id`` (one statement, executed per row)."""
    if not changes:
        return
    table = LEAD_TABLE
    statement = (
        update(table)
        .where(table.c.team_id == team_id, table.c.id == bindparam("lead_id"))
        .values(
            {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in LEAD_FIELDS}
            | {"updated_at": now, "status_changed_at": _status_changed_at(table, now)}
        )
    )
    parameters = [
        {"lead_id": change["id"]} | {f"new_{name}": change[name] for name in LEAD_FIELDS}
        for change in changes
    ]
    session.connection().execute(statement, parameters)


def record_field_changes(
    session: Session,
    *,
    team_id: str,
    changes: Sequence[tuple[Lead, Mapping[str, Any]]],
    now: datetime,
) -> None:
    """Keep the reported fields (campaign, source, status) that an update is about to change:
    each stored lead with the values it gets (one statement)."""
    rows = [
        {
            "team_id": team_id,
            "lead_id": lead.id,
            "field": name,
            "value_before": getattr(lead, name),
            "value_after": new[name],
            "changed_at": now,
        }
        for lead, new in changes
        for name in REPORTED_FIELDS
        if new[name] != getattr(lead, name)
    ]
    if rows:
        session.connection().execute(insert(FIELD_CHANGE_TABLE), rows)


def _status_changed_at(table: Table, now: datetime) -> ColumnElement[datetime]:
    """``now`` where the update gives the lead another status; its old time otherwise."""
    new_status = bindparam("new_status", type_=table.c.status.type)
    return case(
        (table.c.status.is_distinct_from(new_status), literal(now, type_=table.c.updated_at.type)),
        else_=table.c.status_changed_at,
    )


def mark_handed_off(
    session: Session, *, team_id: str, lead_ids: Collection[int], now: datetime
) -> None:
    """Note that an import or the webhook brought these leads in (a first time only).

    A lead that /rate-lead created is handed off when intake first brings it.
    """
    if not lead_ids:
        return
    table = LEAD_TABLE
    session.connection().execute(
        update(table)
        .where(
            table.c.team_id == team_id,
            table.c.id.in_(list(lead_ids)),
            table.c.handed_off_at.is_(None),
        )
        .values(handed_off_at=now)
    )


def mark_signed(
    session: Session, *, team_id: str, lead_ids: Collection[int], signed_at: datetime
) -> None:
    """Note that a webhook request signed at ``signed_at`` was applied to these leads.

    A lead's mark only moves forward; the data is not touched (``updated_at`` neither).
    """
    if not lead_ids:
        return
    table = LEAD_TABLE
    session.connection().execute(
        update(table)
        .where(
            table.c.team_id == team_id,
            table.c.id.in_(list(lead_ids)),
            or_(table.c.webhook_signed_at.is_(None), table.c.webhook_signed_at < signed_at),
        )
        .values(webhook_signed_at=signed_at)
    )


def remember_delivery(
    session: Session, *, team_id: str, signature: str, signed_at: datetime, now: datetime
) -> bool:
    """Remember a webhook request by its signature; False when it was remembered before.

    Call it first in the transaction that applies the request. A concurrent identical
    request waits on the unique key (PostgreSQL) or for the write lock (SQLite) until this
    transaction ends, then finds the signature, unless this one rolled back.
    """
    statement = _insert_ignoring_duplicates(session, DELIVERY_TABLE, ["signature"])
    row = {"team_id": team_id, "signature": signature, "signed_at": signed_at, "received_at": now}
    inserted = session.connection().execute(statement.values(row).returning(DELIVERY_TABLE.c.id))
    return inserted.first() is not None


def prune_deliveries(session: Session, *, before: datetime) -> int:
    """Forget webhook requests received before ``before``; their signatures expired long ago."""
    result = session.connection().execute(
        delete(DELIVERY_TABLE).where(DELIVERY_TABLE.c.received_at < before)
    )
    return result.rowcount or 0


def owe_handoffs(
    session: Session,
    *,
    team_id: str,
    lead_ids: Collection[int],
    kind: str,
    now: datetime,
    due_at: datetime | None = None,
) -> list[int]:
    """Owe one hand-off message per lead: an outbox row and the hand-off naming it.

    Returns the outbox ids, for the caller to deliver at once if it can. A lead already
    handed off is skipped (its outbox row's unique key says so). ``due_at`` (default
    ``now``) holds the messages back until then.
    """
    if not lead_ids:
        return []
    keys = {handoff_dedupe_key(kind, lead_id): lead_id for lead_id in lead_ids}
    outbox_rows = [
        {
            "team_id": team_id,
            "kind": kind,
            "dedupe_key": key,
            "status": PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": due_at or now,
        }
        for key in keys
    ]
    statement = _insert_ignoring_duplicates(session, OUTBOX_TABLE, ["team_id", "dedupe_key"])
    inserted = session.connection().execute(
        statement.returning(OUTBOX_TABLE.c.id, OUTBOX_TABLE.c.dedupe_key), outbox_rows
    )
    handoffs = [
        {
            "team_id": team_id,
            "lead_id": keys[key],
            "outbox_message_id": message_id,
            "created_at": now,
        }
        for message_id, key in inserted
    ]
    if handoffs:
        session.connection().execute(insert(HANDOFF_TABLE), handoffs)
        announce_owed(session)
    return [handoff["outbox_message_id"] for handoff in handoffs]


def handoff_dedupe_key(kind: str, lead_id: int) -> str:
    """The outbox key that makes a lead's hand-off owed once."""
    return f"{kind}:{lead_id}"


def existing_refs(session: Session, *, team_id: str, external_refs: Collection[str]) -> set[str]:
    """Which of these CRM references the workspace already has a lead for (one SELECT)."""
    if not external_refs:
        return set()
    statement = select(Lead.external_ref).where(
        Lead.team_id == team_id, col(Lead.external_ref).in_(list(external_refs))
    )
    return set(session.exec(statement).all())


def latest_scores_of(
    session: Session, *, team_id: str, lead_ids: Collection[int]
) -> dict[int, list[tuple[str, int]]]:
    """``latest_scores`` of several leads at once (one SELECT): lead id -> (rater, score)."""
    if not lead_ids:
        return {}
    statement = (
        select(Rating.lead_id, Rating.rater_id, Rating.score)
        .where(Rating.team_id == team_id, col(Rating.lead_id).in_(list(lead_ids)))
        .order_by(col(Rating.id))
    )
    latest: dict[int, dict[str, int]] = {}
    for lead_id, rater_id, score in session.exec(statement):
        latest.setdefault(lead_id, {})[rater_id] = score
    return {lead_id: list(scores.items()) for lead_id, scores in latest.items()}


def find_handoff(session: Session, *, team_id: str, outbox_message_id: int) -> Handoff | None:
    """The hand-off an outbox message owes."""
    statement = select(Handoff).where(
        Handoff.team_id == team_id, Handoff.outbox_message_id == outbox_message_id
    )
    return session.exec(statement).first()


def handoff_messages(session: Session, *, team_id: str, lead_id: int) -> list[HandoffMessage]:
    """The hand-off messages posted for a lead, oldest first."""
    statement = (
        select(HandoffMessage)
        .where(HandoffMessage.team_id == team_id, HandoffMessage.lead_id == lead_id)
        .order_by(col(HandoffMessage.id))
    )
    return list(session.exec(statement).all())


def record_handoff_message(
    session: Session,
    *,
    team_id: str,
    lead_id: int,
    target: str,
    channel: str,
    ts: str,
    now: datetime,
) -> HandoffMessage:
    """Remember a posted hand-off message, so clicks can update it."""
    message = HandoffMessage(
        team_id=team_id, lead_id=lead_id, target=target, channel=channel, ts=ts, posted_at=now
    )
    session.add(message)
    session.flush()
    return message


def lock_lead(session: Session, *, team_id: str, lead_id: int) -> Lead | None:
    """A lead of this workspace, locked until the transaction ends (PostgreSQL).

    Two clicks on the same lead then take turns, so a double click cannot store two
    ratings. SQLite needs no row lock: leadloop's write transactions already take turns.
    """
    statement = select(Lead).where(Lead.team_id == team_id, Lead.id == lead_id).with_for_update()
    return session.exec(statement).first()


def latest_rating_by(
    session: Session, *, team_id: str, lead_id: int, rater_id: str
) -> Rating | None:
    """The rep's latest rating of the lead (highest id: ids grow with time)."""
    statement = (
        select(Rating)
        .where(Rating.team_id == team_id, Rating.lead_id == lead_id, Rating.rater_id == rater_id)
        .order_by(col(Rating.id).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def latest_scores(session: Session, *, team_id: str, lead_id: int) -> list[tuple[str, int]]:
    """Each rep's latest score of the lead, in the order the reps first rated it."""
    statement = (
        select(Rating.rater_id, Rating.score)
        .where(Rating.team_id == team_id, Rating.lead_id == lead_id)
        .order_by(col(Rating.id))
    )
    latest: dict[str, int] = {}
    for rater_id, score in session.exec(statement):
        latest[rater_id] = score  # later rows overwrite; dict order stays first-rated
    return list(latest.items())


def change_score(
    session: Session, *, team_id: str, rating_id: int, score: int, now: datetime
) -> Rating | None:
    """Set a stored rating's score, keeping the change (reports of weeks that ended before
    ``now`` count the old score); None for a rating of another workspace."""
    rating = session.exec(
        select(Rating).where(Rating.team_id == team_id, Rating.id == rating_id)
    ).first()
    if rating is None:
        return None
    if rating.score != score:
        session.add(
            RatingScoreChange(
                team_id=team_id,
                rating_id=rating_id,
                score_before=rating.score,
                score_after=score,
                changed_at=now,
            )
        )
    rating.score = score
    session.add(rating)
    session.flush()
    return rating


def _insert_ignoring_duplicates(
    session: Session, table: Table, unique_columns: list[str]
) -> Insert:
    """INSERT … ON CONFLICT (unique_columns) DO NOTHING, in the session's SQL dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=unique_columns)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=unique_columns)
    raise ValueError(f"leadloop supports SQLite and PostgreSQL, not {dialect}")
