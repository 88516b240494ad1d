"""Hand-off digests: one message listing many new leads of one import. Scoped by ``team_id``."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from storage import outbox
from storage.models import HandoffDigest, HandoffDigestLead, Lead, OutboxMessage, table_of

DIGEST_LEAD_TABLE = table_of(HandoffDigestLead)
CHANNEL_KEY = "#channel"  # the dedupe key's name for the hand-off channel's digest


def owe_digest(
    session: Session,
    *,
    team_id: str,
    kind: str,
    import_key: str,
    owner_id: str | None,
    now: datetime,
    due_at: datetime,
) -> tuple[int, int | None]:
    """The import's digest for ``owner_id`` (None: the hand-off channel), owed once.

    Returns the digest's id and, when this call created it, its outbox message's id.
    """
    key = f"{kind}:{import_key}:{owner_id or CHANNEL_KEY}"
    message = outbox.enqueue(session, team_id=team_id, kind=kind, dedupe_key=key, now=now)
    if message is None or message.id is None:
        statement = select(HandoffDigest).join(
            OutboxMessage, col(OutboxMessage.id) == col(HandoffDigest.outbox_message_id)
        )
        statement = statement.where(
            HandoffDigest.team_id == team_id,
            OutboxMessage.team_id == team_id,
            OutboxMessage.dedupe_key == key,
        )
        return session.exec(statement).one().id or -1, None
    message.next_attempt_at = due_at
    session.add(message)
    digest = HandoffDigest(
        team_id=team_id, outbox_message_id=message.id, owner_id=owner_id, created_at=now
    )
    session.add(digest)
    session.flush()
    return digest.id or -1, message.id


def add_to_digest(
    session: Session, *, team_id: str, digest_id: int, lead_ids: Sequence[int]
) -> None:
    """List these leads in the digest, after those already in it (one statement)."""
    if lead_ids:
        rows = [{"team_id": team_id, "digest_id": digest_id, "lead_id": i} for i in lead_ids]
        session.connection().execute(insert(DIGEST_LEAD_TABLE), rows)


def release(session: Session, *, team_id: str, message_ids: Collection[int], now: datetime) -> None:
    """Make held outbox messages due at ``now`` (those already sent are left alone)."""
    ids = list(message_ids)
    for start in range(0, len(ids), 1000):
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.team_id) == team_id,
                col(OutboxMessage.id).in_(ids[start : start + 1000]),
                col(OutboxMessage.status) == outbox.PENDING,
                col(OutboxMessage.next_attempt_at) > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )


def find_digest(session: Session, *, team_id: str, outbox_message_id: int) -> HandoffDigest | None:
    """The digest an outbox message owes."""
    statement = select(HandoffDigest).where(
        HandoffDigest.team_id == team_id, HandoffDigest.outbox_message_id == outbox_message_id
    )
    return session.exec(statement).first()


def digest_leads(
    session: Session, *, team_id: str, digest_id: int, offset: int = 0, limit: int = 20
) -> list[Lead]:
    """The digest's leads in the order they were listed, from ``offset``."""
    statement = (
        select(Lead)
        .join(HandoffDigestLead, col(HandoffDigestLead.lead_id) == col(Lead.id))
        .where(
            HandoffDigestLead.team_id == team_id,
            HandoffDigestLead.digest_id == digest_id,
            Lead.team_id == team_id,
        )
        .order_by(col(HandoffDigestLead.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(statement).all())


def digest_size(session: Session, *, team_id: str, digest_id: int) -> int:
    """How many leads the digest lists."""
    statement = select(func.count()).where(
        HandoffDigestLead.team_id == team_id, HandoffDigestLead.digest_id == digest_id
    )
    return int(session.exec(statement).one())


def record_digest_post(
    session: Session, *, team_id: str, digest_id: int, channel: str, ts: str, now: datetime
) -> None:
    """Remember where the digest was posted, so clicks can update it."""
    session.execute(
        update(HandoffDigest)
        .where(col(HandoffDigest.team_id) == team_id, col(HandoffDigest.id) == digest_id)
        .values(channel=channel, ts=ts, posted_at=now)
        .execution_options(synchronize_session=False)
    )


def posted_digests_of(session: Session, *, team_id: str, lead_id: int) -> list[HandoffDigest]:
    """The posted digests that list this lead, oldest first."""
    statement = (
        select(HandoffDigest)
        .join(HandoffDigestLead, col(HandoffDigestLead.digest_id) == col(HandoffDigest.id))
        .where(
            HandoffDigestLead.team_id == team_id,
            HandoffDigestLead.lead_id == lead_id,
            HandoffDigest.team_id == team_id,
            col(HandoffDigest.ts).is_not(None),
        )
        .order_by(col(HandoffDigest.id))
    )
    return list(session.exec(statement).all())


def in_channel_digest(session: Session, *, team_id: str, lead_id: int) -> bool:
    """Whether a digest for the hand-off channel lists this lead (posted or still owed)."""
    statement = (
        select(HandoffDigestLead.id)
        .join(HandoffDigest, col(HandoffDigest.id) == col(HandoffDigestLead.digest_id))
        .where(
            HandoffDigestLead.team_id == team_id,
            HandoffDigestLead.lead_id == lead_id,
            col(HandoffDigest.owner_id).is_(None),
        )
        .limit(1)
    )
    return session.exec(statement).first() is not None
