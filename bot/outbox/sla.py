"""The answer SLA's posts: the nudge in a rating's thread, the escalation DM.

Each is sent only while its rating still waits: an answer or a verdict that came after the
claim drops it. Both read the workspace's settings as they are at send time.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.outbox.job import Job, Recorder, Undeliverable
from bot.outbox.slack_calls import post_message
from domain.sla import AnswerSla
from handlers.views.sla import answerers_mention, sla_escalation, sla_nudge
from storage import scheduled_posts
from storage.campaigns import campaign_owner
from storage.models import Lead, Rating
from storage.ratings import get_rating_with_lead
from storage.roles import MARKETING, members_with_role
from storage.sla import still_waiting


def post_nudge(job: Job) -> Recorder:
    """SLA_NUDGE: a reply in the rating's thread, mentioning who should answer: the owner
    of the lead's campaign, else marketing."""
    rating, lead, sla = _waiting_rating(job)
    with job.reading() as session:
        owner = campaign_owner(session, team_id=job.team_id, campaign=lead.campaign)
        marketers = members_with_role(session, team_id=job.team_id, role=MARKETING)
    answerers = answerers_mention(owner, job.settings.marketing_usergroup, sorted(marketers))
    text, blocks = sla_nudge(
        lead_ref=lead.external_ref,
        score=rating.score,
        rater_id=rating.rater_id,
        sla_minutes=sla.minutes_for(rating.score),
        answerers=answerers,
    )
    channel, thread = rating.post_channel or "", rating.post_ts or ""
    result = post_message(job, channel=channel, thread_ts=thread, text=text, blocks=blocks)
    return _recorder(job, result)


def post_escalation(job: Job) -> Recorder:
    """SLA_ESCALATION: a DM to the marketing lead, linking the rating."""
    marketing_lead = job.settings.marketing_lead
    if not marketing_lead:
        raise Undeliverable("no marketing lead is set any more")
    permalink = job.permalinker()
    rating, lead, sla = _waiting_rating(job)
    text, blocks = sla_escalation(
        lead_ref=lead.external_ref,
        score=rating.score,
        rater_id=rating.rater_id,
        sla_minutes=sla.minutes_for(rating.score),
        permalink=permalink(rating.post_channel or "", rating.post_ts or ""),
    )
    # Posting to a user ID lands in the app's DM with that user.
    result = post_message(job, channel=marketing_lead, text=text, blocks=blocks)
    return _recorder(job, result)


def _waiting_rating(job: Job) -> tuple[Rating, Lead, AnswerSla]:
    """The rating the claim is about, if it still waits, and the SLA in force."""
    sla = job.settings.answer_sla_policy()
    if sla is None:
        raise Undeliverable("the answer SLA was turned off")
    with job.reading() as session:
        post = scheduled_posts.get_scheduled_post(
            session, team_id=job.team_id, post_id=job.message.scheduled_post_id or -1
        )
        loaded = (
            get_rating_with_lead(session, team_id=job.team_id, rating_id=post.subject_id)
            if post is not None
            else None
        )
        waiting = loaded is not None and still_waiting(
            session, team_id=job.team_id, rating_id=loaded[0].id or -1
        )
    if loaded is None:
        raise Undeliverable("the rating is gone")
    if not waiting:
        raise Undeliverable("the rating was answered before its reminder went out")
    rating, lead = loaded
    if not rating.post_channel or not rating.post_ts:
        raise Undeliverable("the rating was never posted")
    return rating, lead, sla


def _recorder(job: Job, result: dict[str, str]) -> Recorder:
    def record(session: Session) -> None:
        scheduled_posts.record_scheduled_post_sent(
            session,
            team_id=job.team_id,
            post_id=job.message.scheduled_post_id or -1,
            channel=result["channel"],
            ts=result["ts"],
        )

    return record
