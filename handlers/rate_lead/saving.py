"""Saving a rating and posting it: shared by the command, the form and the hand-off buttons."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ratings.cards import RatingCard, card_for
from domain.ratings.loop import submit_rating
from domain.ratings.parse import RatingInput
from handlers.deps import Deps
from handlers.views.ratings import rating_confirmation


@dataclass(frozen=True)
class SavedRating:
    """A stored rating as shown to users, and whether its post is already in the channel."""

    card: RatingCard
    posted: bool
    feedback_channel: str | None

    @property
    def confirmation(self) -> str:
        """The rater's thank-you."""
        return confirmation_text(
            self.card, posted=self.posted, feedback_channel=self.feedback_channel
        )


def save_and_post_rating(
    deps: Deps,
    *,
    team_id: str,
    rater_id: str,
    rating: RatingInput,
    via: str,
    origin_channel: str | None,
) -> SavedRating:
    """Store the rating in one transaction, then try to post it at once.

    If the post cannot go out now, the outbox keeps it and the background sweep posts it
    when Slack lets us.
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
        feedback_channel = deps.settings_in(session, team_id=team_id).feedback_channel
        session.commit()
    posted = submitted.post_message_id is not None and deps.deliverer.deliver(
        submitted.post_message_id
    )
    return SavedRating(card_for(submitted.rating, submitted.lead), posted, feedback_channel)


def confirmation_text(card: RatingCard, *, posted: bool, feedback_channel: str | None) -> str:
    """The thank-you, with a note when the post to the channel is still on its way."""
    text = rating_confirmation(card, feedback_channel=feedback_channel)
    if not posted and feedback_channel:
        text += (
            "\n_Slack is slow to answer right now: your rating is saved and will appear in "
            "the channel as soon as Slack accepts it._"
        )
    return text
