"""What hand-off messages and digests show, read from storage for the outbox senders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from domain.leads.cards import (
    DIGEST_LISTED_REFS,
    DIGEST_SHOWN_LEADS,
    Digest,
    DigestLead,
    HandoffCard,
    RaterScore,
)
from storage import digests
from storage.leads import (
    find_handoff,
    handoff_messages,
    latest_scores,
    latest_scores_of,
)
from storage.models import HandoffDigest, Lead
from storage.ratings import get_lead

NOTES_ATTRIBUTES = ("marketing_notes", "notes")


# --- what hand-off messages show ------------------------------------------------------


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
    if handoff is None:
        return None
    lead = get_lead(session, team_id=team_id, lead_id=handoff.lead_id)
    if lead is None or lead.id is None:
        return None
    posted = {post.target for post in handoff_messages(session, team_id=team_id, lead_id=lead.id)}
    if handoff_channel and digests.in_channel_digest(session, team_id=team_id, lead_id=lead.id):
        handoff_channel = None  # the channel gets this import's digest instead
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


@dataclass(frozen=True)
class OwedDigest:
    """A digest to post: its row, where it goes (None: nowhere) and what it shows."""

    digest_id: int
    target: str | None
    digest: Digest


def owed_digest(
    session: Session, *, team_id: str, outbox_message_id: int, handoff_channel: str | None
) -> OwedDigest | None:
    """The digest an outbox message owes; None when it lists no lead (they are gone)."""
    row = digests.find_digest(session, team_id=team_id, outbox_message_id=outbox_message_id)
    if row is None or row.id is None:
        return None
    digest = digest_view(session, team_id=team_id, digest=row)
    if digest is None:
        return None
    target = None if row.ts else (row.owner_id or handoff_channel)
    return OwedDigest(digest_id=row.id, target=target, digest=digest)


def digest_view(session: Session, *, team_id: str, digest: HandoffDigest) -> Digest | None:
    """What a digest shows now: its first leads with their scores, the others' references."""
    digest_id = digest.id or -1
    total = digests.digest_size(session, team_id=team_id, digest_id=digest_id)
    shown = digests.digest_leads(
        session, team_id=team_id, digest_id=digest_id, limit=DIGEST_SHOWN_LEADS
    )
    if not shown:
        return None
    more = digests.digest_leads(
        session,
        team_id=team_id,
        digest_id=digest_id,
        offset=DIGEST_SHOWN_LEADS,
        limit=DIGEST_LISTED_REFS,
    )
    scores = latest_scores_of(session, team_id=team_id, lead_ids=[lead.id or -1 for lead in shown])
    return Digest(
        owner_id=digest.owner_id,
        total=total,
        shown=tuple(
            DigestLead(
                card=card_for_lead(lead),
                scores=tuple(RaterScore(r, score) for r, score in scores.get(lead.id or -1, [])),
            )
            for lead in shown
        ),
        more_refs=tuple(lead.external_ref for lead in more),
    )


def digests_showing(
    session: Session, *, team_id: str, lead_id: int
) -> list[tuple[HandoffDigest, Digest]]:
    """The posted digests with this lead among those they show, as they should look now."""
    found = []
    for row in digests.posted_digests_of(session, team_id=team_id, lead_id=lead_id):
        view = digest_view(session, team_id=team_id, digest=row)
        if view is not None and any(lead.card.lead_id == lead_id for lead in view.shown):
            found.append((row, view))
    return found
