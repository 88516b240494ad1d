"""Meeting reminders: the reminder (or its snooze) with the agenda computed at send time."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.outbox.job import Job, Recorder, Undeliverable
from bot.outbox.slack_calls import post_joining_if_needed
from domain.meetings.agenda import build_agenda, reminder_post_for
from domain.meetings.cards import ReminderCard
from domain.meetings.reminders import SNOOZE, rule_of
from handlers.views.meetings import meeting_reminder
from storage import meetings as meeting_store
from storage import scheduled_posts
from storage.models import Workspace
from storage.workspaces import get_workspace


def post_reminder(job: Job) -> Recorder:
    """MEETING_REMINDER: posted to the meeting's channel; its agenda items count as shown."""
    message = job.message
    permalink = job.permalinker()  # asks Slack before the read below, never inside it
    with job.reading() as session:
        post = scheduled_posts.get_scheduled_post(
            session, team_id=message.team_id, post_id=message.scheduled_post_id or -1
        )
        meeting = (
            meeting_store.get_meeting(session, team_id=message.team_id, meeting_id=post.subject_id)
            if post is not None
            else None
        )
        if post is None or meeting is None:
            raise Undeliverable("the meeting was removed before its reminder went out")
        workspace = get_workspace(session, team_id=message.team_id)
        agenda, item_ids = build_agenda(
            session,
            meeting=meeting,
            post=post,
            now=job.clock(),
            permalink=permalink,
            answer_time=job.settings.answer_sla_policy(),
            answer_time_since=_sla_since(workspace),
        )
        shown_in = reminder_post_for(session, post)
    card = ReminderCard(
        meeting_id=meeting.id or -1,
        post_id=post.id or -1,
        title=meeting.title,
        starts_at=post.occurrence_at,
        schedule=rule_of(meeting).describe(),
        late=post.status == scheduled_posts.LATE,
        snoozed=post.kind == SNOOZE,
    )
    text, blocks = meeting_reminder(card, agenda)
    result = post_joining_if_needed(job, channel=meeting.channel_id, text=text, blocks=blocks)

    def record(session: Session) -> None:
        scheduled_posts.record_scheduled_post_sent(
            session,
            team_id=message.team_id,
            post_id=post.id or -1,
            channel=result["channel"],
            ts=result["ts"],
        )
        meeting_store.mark_agenda_shown(
            session,
            team_id=message.team_id,
            item_ids=item_ids,
            shown_in_id=shown_in.id or -1,
        )

    return record


def _sla_since(workspace: Workspace | None) -> datetime | None:
    """When the workspace's answer time started to apply (see ``Workspace.sla_since``)."""
    if workspace is None:
        return None
    return workspace.sla_since or workspace.installed_at
