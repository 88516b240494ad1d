"""One-click ratings from a hand-off message's buttons.

A score button click rates the lead "via button". A second click by the same rep changes
that rating in place, as long as it is still the rep's latest rating of the lead; after a
/rate-lead or form rating the next click adds a new one. The caller owns the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlmodel import Session

from domain.leads.cards import (
    ScoreClick,
)
from domain.outbox_kinds import HANDOFF_REFRESH, RATING_UPDATE
from domain.ratings.loop import submit_rating
from domain.ratings.parse import RatingInput
from storage import digests, outbox
from storage.leads import (
    change_score,
    handoff_messages,
    latest_rating_by,
    lock_lead,
)
from storage.models import Lead, Rating

# --- one-click ratings ----------------------------------------------------------------


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
    changed = change_score(
        session, team_id=rating.team_id, rating_id=rating.id or -1, score=score, now=now
    )
    assert changed is not None  # the rating was just read in this transaction
    owed = (
        _owe(session, RATING_UPDATE, changed, now=now),
        _owe(session, HANDOFF_REFRESH, changed, now=now),
    )
    return ButtonRating(
        ButtonOutcome.CHANGED, changed, lead, previous, tuple(i for i in owed if i is not None)
    )


def owe_handoff_refresh(
    session: Session, rating: Rating, lead: Lead, *, now: datetime
) -> int | None:
    """After a rating from /rate-lead or the form: owe its lead's hand-off messages an update.

    Button ratings owe theirs when clicked. Nothing is owed for a lead never handed off,
    and that takes no query: ``lead`` as read before the rating's post (most rated leads
    were never handed off, and this runs in the transaction that records the post). A
    hand-off of the lead after that read renders after the rating was stored, so it shows
    the rating without an update.
    """
    if rating.via == "button" or lead.handed_off_at is None:
        return None
    team_id, lead_id = rating.team_id, rating.lead_id
    if not handoff_messages(session, team_id=team_id, lead_id=lead_id) and not (
        digests.posted_digests_of(session, team_id=team_id, lead_id=lead_id)
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
