"""Rating posts: a rating's card in the feedback channel, and its update after a re-score
or marketing's verdict."""

from __future__ import annotations

from slack_sdk.models.blocks import Block
from sqlmodel import Session

from bot.outbox.job import Job, Recorder, Unconfigured, nothing_to_record
from bot.outbox.slack_calls import post_joining_if_needed, update_message
from domain.leads.buttons import owe_handoff_refresh
from domain.ratings.cards import card_for
from handlers.views.ratings import rating_post
from storage.models import Lead, Rating
from storage.ratings import record_post
from storage.verdicts import verdicts_on


def post_rating(job: Job) -> Recorder:
    """RATING_POST: the card goes to the feedback channel; its channel and ts are kept."""
    rating, lead = job.rating_and_lead()
    channel = job.settings.feedback_channel
    if not channel:
        raise Unconfigured("no feedback channel is set: /leadloop settings feedback #channel")
    text, blocks = _rendered(job, rating, lead)
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
    """RATING_UPDATE: the posted card shows the rating's new score, and marketing's verdicts."""
    rating, lead = job.rating_and_lead()
    if rating.post_channel and rating.post_ts:
        # A rating whose post is still owed needs no update: the post shows the new score.
        text, blocks = _rendered(job, rating, lead)
        update_message(
            job.client, channel=rating.post_channel, ts=rating.post_ts, text=text, blocks=blocks
        )
    return nothing_to_record


def _rendered(job: Job, rating: Rating, lead: Lead) -> tuple[str, list[Block]]:
    """The post as it stands now: the rating, and each marketer's verdict on it."""
    with job.reading() as session:
        verdicts = verdicts_on(session, team_id=job.team_id, rating_id=rating.id or -1)
    return rating_post(card_for(rating, lead, verdicts))
