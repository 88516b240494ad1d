"""Hand-off digests: one message listing an import's new leads, instead of one post each."""

from __future__ import annotations

from sqlmodel import Session

from bot.outbox.job import Job, Recorder, Undeliverable, nothing_to_record
from bot.outbox.slack_calls import post_handoff_to
from domain.leads.handoffs import owed_digest
from handlers.views.handoffs import handoff_digest
from storage import digests as digest_store


def post_digest(job: Job) -> Recorder:
    """HANDOFF_DIGEST: posted to the owner's DM or the hand-off channel; its ts is kept."""
    message = job.message
    with job.reading() as session:
        owed = owed_digest(
            session,
            team_id=message.team_id,
            outbox_message_id=message.id or -1,
            handoff_channel=job.settings.handoff_channel,
        )
    if owed is None:
        raise Undeliverable("the digest lists no lead that still exists")
    if owed.target is None:  # no hand-off channel is set, or it was posted already
        return nothing_to_record
    text, blocks = handoff_digest(owed.digest)
    result = post_handoff_to(job, owed.target, text=text, blocks=blocks)
    if result is None:
        return nothing_to_record

    def record(session: Session) -> None:
        digest_store.record_digest_post(
            session,
            team_id=message.team_id,
            digest_id=owed.digest_id,
            channel=result["channel"],
            ts=result["ts"],
            now=job.clock(),
        )

    return record
