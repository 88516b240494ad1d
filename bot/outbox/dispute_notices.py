"""Dispute notices: a DM to the rater when marketing disputes their rating, with the reason."""

from __future__ import annotations

from bot.outbox.job import Job, Recorder, Undeliverable, nothing_to_record
from bot.outbox.slack_calls import post_message
from domain.ratings.cards import card_for
from domain.ratings.verdicts import verdict_id_in
from handlers.views.ratings import dispute_notice
from storage.verdicts import get_verdict


def notify_disputed(job: Job) -> Recorder:
    """DISPUTE_NOTICE: who disputed the rating and why, in the app's DM with the rater."""
    rating, lead = job.rating_and_lead()
    verdict_id = verdict_id_in(job.message.dedupe_key)
    with job.reading() as session:
        verdict = (
            None
            if verdict_id is None
            else get_verdict(session, team_id=job.team_id, verdict_id=verdict_id)
        )
    if verdict is None or verdict.rating_id != rating.id:
        raise Undeliverable(f"rating {rating.id} has no dispute {verdict_id} to announce")
    permalink = None
    if rating.post_channel and rating.post_ts:
        permalink = job.permalinker()(rating.post_channel, rating.post_ts)
    text, blocks = dispute_notice(
        card_for(rating, lead),
        disputer_id=verdict.user_id,
        reason=verdict.reason,
        permalink=permalink,
    )
    # Posting to a user ID lands in the app's DM with that user.
    post_message(job, channel=rating.rater_id, text=text, blocks=blocks)
    return nothing_to_record
