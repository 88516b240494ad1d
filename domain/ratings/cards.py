"""What a rating's messages show, read from storage: the data the Block Kit views take."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.models import Lead, Rating, RatingVerdict
from storage.verdicts import ANSWERING_VERDICTS


@dataclass(frozen=True)
class VerdictLine:
    """One marketer's verdict as the rating post shows it."""

    user_id: str
    verdict: str
    reason: str = ""


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
    verdicts: tuple[VerdictLine, ...] = ()
    rating_id: int | None = None


def card_for(rating: Rating, lead: Lead, verdicts: Sequence[RatingVerdict] = ()) -> RatingCard:
    """The view of a stored rating that Block Kit builders take (with its ``verdicts``, for
    the rating post)."""
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
        verdicts=shown_verdicts(verdicts),
        rating_id=rating.id,
    )


def shown_verdicts(verdicts: Sequence[RatingVerdict]) -> tuple[VerdictLine, ...]:
    """Each marketer's verdict, in the order they first gave one: their latest answer (agree
    or dispute), else their acknowledgement."""
    shown: dict[str, RatingVerdict] = {}
    for verdict in sorted(verdicts, key=lambda v: (v.created_at, v.id or 0)):
        earlier = shown.get(verdict.user_id)
        if earlier is None or verdict.verdict in ANSWERING_VERDICTS:
            shown[verdict.user_id] = verdict
    return tuple(VerdictLine(v.user_id, v.verdict, v.reason) for v in shown.values())
