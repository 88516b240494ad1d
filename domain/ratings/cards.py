"""What a rating's messages show, read from storage: the data the Block Kit views take."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Lead, Rating


@dataclass(frozen=True)
class RatingCard:
    """What a rating post shows, independent of storage."""

    lead_ref: str
    score: int
    reason: str
    tags: tuple[str, ...]
    rater_id: str
    via: str
    lead_name: str | None = None
    company: str | None = None
    campaign: str | None = None


def card_for(rating: Rating, lead: Lead) -> RatingCard:
    """The view of a stored rating that Block Kit builders take."""
    return RatingCard(
        lead_ref=lead.external_ref,
        score=rating.score,
        reason=rating.reason,
        tags=tuple(rating.tags),
        rater_id=rating.rater_id,
        via=rating.via,
        lead_name=lead.name,
        company=lead.company,
        campaign=lead.campaign,
    )
