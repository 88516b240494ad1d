"""Hand-offs: a new lead's message to its owner's DM and/or the hand-off channel, and the
re-render of every message showing the lead once it is rated."""

from __future__ import annotations

from bot.outbox.job import Job, Recorder, Undeliverable, nothing_to_record
from bot.outbox.slack_calls import post_handoff_to, update_message
from domain.leads.handoffs import digests_showing, handoff_view, owed_handoff
from handlers.views.handoffs import handoff_digest, handoff_message
from storage.leads import handoff_messages, record_handoff_message


def post_handoff(job: Job) -> Recorder:
    """HANDOFF_POST: one message per target; each is kept as soon as Slack has it."""
    message = job.message
    with job.reading() as session:
        owed = owed_handoff(
            session,
            team_id=message.team_id,
            outbox_message_id=message.id or -1,
            handoff_channel=job.settings.handoff_channel,
        )
    if owed is None:
        raise Undeliverable("the handed-off lead no longer exists")
    text, blocks = handoff_message(owed.card, owed.scores)
    for target in owed.targets:
        result = post_handoff_to(job, target, text=text, blocks=blocks)
        if result is None:
            continue
        # Kept at once: when a later target fails, the retry does not post this one again.
        with job.session_factory() as session:
            record_handoff_message(
                session,
                team_id=message.team_id,
                lead_id=owed.lead_id,
                target=target,
                channel=result["channel"],
                ts=result["ts"],
                now=job.clock(),
            )
            session.commit()
    return nothing_to_record


def refresh_handoff(job: Job) -> Recorder:
    """HANDOFF_REFRESH: the lead's hand-off messages and the digests listing it, re-rendered."""
    _, lead = job.rating_and_lead()
    with job.reading() as session:
        view = handoff_view(session, team_id=job.team_id, lead=lead)
        posts = handoff_messages(session, team_id=job.team_id, lead_id=lead.id or -1)
        shown_in = digests_showing(session, team_id=job.team_id, lead_id=lead.id or -1)
    text, blocks = handoff_message(*view)
    for post in posts:
        update_message(job.client, channel=post.channel, ts=post.ts, text=text, blocks=blocks)
    for row, digest in shown_in:
        text, blocks = handoff_digest(digest)
        update_message(
            job.client, channel=row.channel or "", ts=row.ts or "", text=text, blocks=blocks
        )
    return nothing_to_record
