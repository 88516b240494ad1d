"""The persisted outbox: Slack posts owed, claimed by one process at a time, kept until sent."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, literal, or_, update
from sqlmodel import Session, col, select

from storage.models import OutboxMessage, Workspace
from storage.outbox_signal import announce_owed
from storage.unique import add_unless_duplicate

PENDING = "pending"
SENT = "sent"
DROPPED = "dropped"


def enqueue(
    session: Session,
    *,
    team_id: str,
    kind: str,
    dedupe_key: str,
    now: datetime,
    rating_id: int | None = None,
    scheduled_post_id: int | None = None,
    about_a_new_row: bool = False,
) -> OutboxMessage | None:
    """Owe a post about a rating or a scheduled post; None when that post is already owed.

    ``about_a_new_row``: what the post is about was inserted in this transaction, so no
    other row can hold its dedupe key, and the insert needs no savepoint (the hot path of
    every rating).
    """
    message = OutboxMessage(
        team_id=team_id,
        kind=kind,
        dedupe_key=dedupe_key,
        rating_id=rating_id,
        scheduled_post_id=scheduled_post_id,
        created_at=now,
        next_attempt_at=now,
    )
    if about_a_new_row:
        session.add(message)
        session.flush()
        added: OutboxMessage | None = message
    else:
        added = add_unless_duplicate(session, message)
    if added is not None:
        announce_owed(session)
    return added


def owe_scheduled_post(
    session: Session, *, kind: str, scheduled_post_id: int, team_id: str, now: datetime
) -> int | None:
    """Owe the post of a claimed scheduled occurrence; returns the outbox message's id."""
    message = enqueue(
        session,
        team_id=team_id,
        kind=kind,
        dedupe_key=f"{kind}:{scheduled_post_id}",
        scheduled_post_id=scheduled_post_id,
        now=now,
    )
    return message.id if message else None


@dataclass(frozen=True)
class Claim:
    """A message taken for delivery.

    ``lapsed`` when an earlier claim of it ran out without being released: the process that
    held it vanished (a failure it recorded would have released it), maybe after its post
    reached Slack, so the new sender looks for that post before posting again.
    """

    lapsed: bool


@dataclass(frozen=True)
class ClaimedMessage:
    """A message claimed in a batch, with its workspace's row (None if never recorded)."""

    message: OutboxMessage
    workspace: Workspace | None
    lapsed: bool


def claim_messages(
    session: Session, *, message_ids: Collection[int], now: datetime, lease: timedelta
) -> list[ClaimedMessage]:
    """Take those of ``message_ids`` that are due and free, with what sending them needs.

    A few statements for the whole batch (the delivery process's hot path; on SQLite each
    transaction takes the one write lock the acks wait for): an UPDATE for the messages never
    claimed or released, another for those whose claim lapsed, so which is which comes from
    the same conditions that won them, then the rows and their workspaces. On PostgreSQL
    rows another process is claiming are skipped, not waited for. Returned in id order.
    """
    ids = sorted(set(message_ids))
    if not ids:
        return []
    won_free = _claim_where(session, ids, col(OutboxMessage.claimed_until).is_(None), now, lease)
    rest = [message_id for message_id in ids if message_id not in won_free]
    won_lapsed = (
        _claim_where(session, rest, col(OutboxMessage.claimed_until) < now, now, lease)
        if rest
        else set()
    )
    won = won_free | won_lapsed
    if not won:
        return []
    messages = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(sorted(won)))
        .order_by(col(OutboxMessage.id))
        .execution_options(populate_existing=True)
    ).all()
    teams = {message.team_id for message in messages}
    workspaces = {
        workspace.team_id: workspace
        for workspace in session.exec(select(Workspace).where(col(Workspace.team_id).in_(teams)))
    }
    return [
        ClaimedMessage(
            message=message,
            workspace=workspaces.get(message.team_id),
            lapsed=message.id in won_lapsed,
        )
        for message in messages
    ]


def _claim_where(
    session: Session,
    ids: list[int],
    claim_state: ColumnElement[bool],
    now: datetime,
    lease: timedelta,
) -> set[int]:
    claimable = (
        select(OutboxMessage.id)
        .where(
            col(OutboxMessage.id).in_(ids),
            col(OutboxMessage.status) == PENDING,
            col(OutboxMessage.next_attempt_at) <= now,
            claim_state,
        )
        .order_by(col(OutboxMessage.id))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's writer is alone anyway
    )
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(claimable))
        .values(claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    )
    return {int(message_id) for message_id in result.scalars()}


def claim(session: Session, *, message_id: int, now: datetime, lease: timedelta) -> bool:
    """Take the message for delivery; False if it is not due or another process holds it."""
    return claim_message(session, message_id=message_id, now=now, lease=lease) is not None


def claim_message(
    session: Session, *, message_id: int, now: datetime, lease: timedelta
) -> Claim | None:
    """Take the message for delivery; None if it is not due or another process holds it.

    One conditional UPDATE decides, so two instances never both win the same message; a
    process that dies mid-delivery loses its claim when the lease runs out. The claim read
    just before it only tells a lapsed claim from a released one; a race there can only
    call a claim lapsed that was not, which costs a look at the conversation, never a post.
    """
    previous = session.execute(
        select(OutboxMessage.claimed_until).where(col(OutboxMessage.id) == message_id)
    ).scalar_one_or_none()
    result = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status) == PENDING,
            col(OutboxMessage.next_attempt_at) <= now,
            or_(
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            ),
        )
        .values(claimed_until=now + lease, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return Claim(lapsed=previous is not None and previous < now)


def renew_claims(
    session: Session, *, message_ids: Collection[int], now: datetime, lease: timedelta
) -> int:
    """Extend the claims of messages a live process is sending: one UPDATE for them all.

    Only rows still pending and still claimed (their claim not yet run out) are renewed; a
    message sent, failed or lapsed meanwhile is left alone. Like ``due_message_ids`` this
    spans workspaces: it only touches ids the calling process claimed. Returns how many
    claims were renewed.
    """
    if not message_ids:
        return 0
    result = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(list(message_ids)),
            col(OutboxMessage.status) == PENDING,
            col(OutboxMessage.claimed_until).is_not(None),
            col(OutboxMessage.claimed_until) >= now,
        )
        .values(claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


def get_message(session: Session, *, message_id: int) -> OutboxMessage | None:
    """One outbox row by id (its ``team_id`` scopes everything done with it)."""
    return session.get(OutboxMessage, message_id, populate_existing=True)


def mark_sent(session: Session, *, message_id: int, now: datetime) -> None:
    """Slack confirmed the post."""
    _finish(session, message_id=message_id, status=SENT, now=now, error=None)


def mark_all_sent(session: Session, *, message_ids: Collection[int], now: datetime) -> None:
    """Slack confirmed each of these posts: one UPDATE for them all."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(list(message_ids)))
        .values(status=SENT, sent_at=now, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_dropped(session: Session, *, message_id: int, now: datetime, reason: str) -> None:
    """Nothing can ever be sent for this message (what it was about is gone)."""
    _finish(session, message_id=message_id, status=DROPPED, now=now, error=reason)


def _finish(
    session: Session, *, message_id: int, status: str, now: datetime, error: str | None
) -> None:
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status=status, sent_at=now, claimed_until=None, last_error=error)
        .execution_options(synchronize_session=False)
    )


def mark_failed(
    session: Session, *, message_id: int, error: str, retry_at: datetime, release: bool = True
) -> None:
    """Slack refused or was unreachable: release the claim and try again at ``retry_at``.

    With ``release=False`` the claim is left to run out instead, so the next claim is a
    lapsed one too: for an attempt that followed a lapsed claim, whose failure says nothing
    of whether the earlier attempt's post reached Slack; the next one looks for it again.
    """
    values: dict[str, object] = {"last_error": error[:500], "next_attempt_at": retry_at}
    if release:
        values["claimed_until"] = None
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )


def due_message_ids(
    session: Session, *, now: datetime, limit: int = 100, bulk_kinds: Collection[str] = ()
) -> list[int]:
    """Ids of pending messages whose retry time has come, fairly across workspaces.

    The workspaces take turns: each one's oldest message first, then each one's second, and
    so on, so a workspace with a big backlog (a 100,000-lead import) holds up no other.
    Within a workspace, ``bulk_kinds`` wait behind everything else, so retries of ratings
    and reminders are not stuck behind an import's hand-offs. Workspaces that uninstalled
    the app are left out until they install it again.

    The background sweep is the one reader that spans workspaces; it only reads ids, and
    each message is then delivered under its own ``team_id``.
    """
    bulk = (
        case((col(OutboxMessage.kind).in_(list(bulk_kinds)), 1), else_=0)
        if bulk_kinds
        else literal(0)
    )
    uninstalled = select(Workspace.team_id).where(col(Workspace.uninstalled_at).is_not(None))
    turn = func.row_number().over(
        partition_by=col(OutboxMessage.team_id),
        order_by=(bulk, col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)),
    )
    due = (
        select(
            col(OutboxMessage.id).label("id"),
            turn.label("turn"),
            col(OutboxMessage.next_attempt_at).label("due_at"),
        )
        .where(
            col(OutboxMessage.status) == PENDING,
            col(OutboxMessage.next_attempt_at) <= now,
            or_(
                col(OutboxMessage.claimed_until).is_(None),
                col(OutboxMessage.claimed_until) < now,
            ),
            col(OutboxMessage.team_id).not_in(uninstalled),
        )
        .subquery()
    )
    statement = select(due.c.id).order_by(due.c.turn, due.c.due_at, due.c.id).limit(limit)
    return [message_id for message_id in session.execute(statement).scalars() if message_id]


def pending_messages(session: Session, *, team_id: str) -> list[OutboxMessage]:
    """The workspace's posts still owed, oldest first."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.status == PENDING)
        .order_by(col(OutboxMessage.id))
    )
    return list(session.exec(statement).all())


def retry_failed_now(
    session: Session, *, team_id: str, now: datetime, limit: int = 100
) -> list[int]:
    """Make the workspace's failed, still-owed messages due at ``now``; the oldest ``limit``.

    For when an admin changes a setting: a post that waited on it (say, a rating accepted
    before the feedback channel was chosen) need not sit out the rest of its back-off. The
    ids include failed messages that were already due; none being sent now is touched. The
    caller sends those; the background sweep sends the rest, which are due now too.
    """
    free = or_(
        col(OutboxMessage.claimed_until).is_(None),
        col(OutboxMessage.claimed_until) < now,
    )
    failed = (
        col(OutboxMessage.team_id) == team_id,
        col(OutboxMessage.status) == PENDING,
        col(OutboxMessage.last_error).is_not(None),
        free,
    )
    session.execute(
        update(OutboxMessage)
        .where(*failed, col(OutboxMessage.next_attempt_at) > now)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    announce_owed(session)
    statement = (
        select(OutboxMessage.id)
        .where(*failed, col(OutboxMessage.next_attempt_at) <= now)
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    return [message_id for message_id in session.exec(statement).all() if message_id is not None]
