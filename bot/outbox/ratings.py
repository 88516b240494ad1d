"""Rating posts: a rating's card in the feedback channel, and its update after a re-score."""

from __future__ import annotations

from sqlmodel import Session

from bot.outbox.job import Job, Recorder, Unconfigured, nothing_to_record
from bot.outbox.slack_calls import post_joining_if_needed, update_message
from domain.leads.buttons import owe_handoff_refresh
from domain.ratings.cards import card_for
from handlers.views.ratings import rating_post
from storage.ratings import record_post


def post_rating(job: Job) -> Recorder:
    """RATING_POST: the card goes to the feedback channel; its channel and ts are kept."""
    rating, lead = job.rating_and_lead()
    channel = job.settings.feedback_channel
    if not channel:
        raise Unconfigured("no feedback channel is set: /leadloop settings feedback #channel")
    text, blocks = rating_post(card_for(rating, lead))
    result = post_joining_if_needed(job, channel=channel, text=text, blocks=blocks)

    def record(session: Session) -> None:
        record_post(
            session,
            team_id=job.team_id,
            rating_id=rating.id or -1,
            channel=result["channel"],
            ts=result["ts"],
            now=job.clock(),
        )
        # A /rate-lead or form rating of a handed-off lead shows on its hand-off too
        # (later, from the outbox: nothing may fail here once the post is out).
        owe_handoff_refresh(session, rating, lead, now=job.clock())

    return record


def update_rating_post(job: Job) -> Recorder:
    """RATING_UPDATE: the posted card shows the rating's new score."""
    rating, lead = job.rating_and_lead()
    if rating.post_channel and rating.post_ts:
        # A rating whose post is still owed needs no update: the post shows the new score.
        text, blocks = rating_post(card_for(rating, lead))
        update_message(
            job.client, channel=rating.post_channel, ts=rating.post_ts, text=text, blocks=blocks
        )
    return nothing_to_record
