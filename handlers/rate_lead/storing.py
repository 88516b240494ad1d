"""Storing a rating before its listener acknowledges it: an acknowledged rating is a stored one.

Slack never sends a command or a form again once it has its answer, so whatever waits in
memory after ``ack()`` dies with the process. The rating, its lead and the post it owes are
committed first; only the post itself, which the outbox keeps, is sent after the ack.
"""

from __future__ import annotations

from domain.ratings.loop import StoredRating, store_rating
from domain.ratings.parse import RatingInput
from handlers.deps import ACK_WRITE_WAIT_MS, Deps


def store_before_ack(
    deps: Deps,
    *,
    team_id: str,
    rater_id: str,
    rating: RatingInput,
    via: str,
    origin_channel: str | None,
) -> StoredRating:
    """Commit the rating and the post it owes, waiting no longer than Slack lets us."""
    return store_rating(
        deps.session_factory,
        team_id=team_id,
        rater_id=rater_id,
        rating=rating,
        via=via,
        origin_channel=origin_channel,
        now=deps.clock(),
        feedback_channel_in=lambda session: (
            deps.settings_in(session, team_id=team_id).feedback_channel
        ),
        wait_limit_ms=ACK_WRITE_WAIT_MS,
    )
