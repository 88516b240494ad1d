"""Saving a rating and posting it: shared by the command, the form and (later) buttons."""

from __future__ import annotations

from bot.delivery import card_for
from bot.feedback import submit_rating
from bot.rating_input import RatingInput
from handlers.blocks import RatingCard
from handlers.deps import Deps


def save_and_post_rating(
    deps: Deps,
    *,
    team_id: str,
    rater_id: str,
    rating: RatingInput,
    via: str,
    origin_channel: str | None,
) -> tuple[RatingCard, bool]:
    """Store the rating in one transaction, then try to post it at once.

    Returns the rating as shown to users and whether it is already in the feedback channel
    (if not, the outbox keeps it and the background sweep posts it when Slack lets us).
    """
    with deps.session_factory() as session:
        submitted = submit_rating(
            session,
            team_id=team_id,
            rater_id=rater_id,
            rating=rating,
            via=via,
            origin_channel=origin_channel,
            now=deps.clock(),
        )
        session.commit()
    card = card_for(submitted.rating, submitted.lead)
    posted = submitted.post_message_id is not None and deps.deliverer.deliver(
        submitted.post_message_id
    )
    return card, posted
