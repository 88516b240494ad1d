"""Answer notices: a DM to the rater when someone first answers in their rating's thread."""

from __future__ import annotations

from bot.outbox.job import Job, Recorder, Undeliverable, nothing_to_record
from bot.outbox.slack_calls import post_message
from domain.ratings.cards import card_for
from handlers.views.ratings import answer_notice
from storage.responses import first_answer


def notify_rater(job: Job) -> Recorder:
    """ANSWER_NOTICE: the first answer, quoted and linked, in the app's DM with the rater."""
    rating, lead = job.rating_and_lead()
    with job.reading() as session:
        answer = first_answer(session, team_id=job.team_id, rating_id=rating.id or -1)
    if answer is None:
        raise Undeliverable(f"rating {rating.id} has no answer to announce")
    text, blocks = answer_notice(
        card_for(rating, lead),
        answerer_id=answer.user_id,
        answer_text=answer.text,
        permalink=job.permalinker()(answer.channel, answer.ts, rating.post_ts),
    )
    # Posting to a user ID lands in the app's DM with that user.
    post_message(job, channel=rating.rater_id, text=text, blocks=blocks)
    return nothing_to_record
