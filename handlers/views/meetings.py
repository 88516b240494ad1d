"""Block Kit for meeting reminders and ``/meeting`` answers, built by pure functions."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from domain.meetings.cards import Agenda, AgendaLine, MeetingLine, ReminderCard
from handlers import ids
from handlers.views.ratings import escape_mrkdwn, truncate

MAX_AGENDA_ITEM_LENGTH = 500


def slack_date(moment: datetime, template: str = "{date_short_pretty} at {time}") -> str:
    """A time every reader sees in their own time zone (Slack's ``<!date>`` formatting)."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{template}|{fallback}>"


def meeting_reminder(card: ReminderCard, agenda: Agenda) -> tuple[str, list[Block]]:
    """The reminder message: title, start in each reader's zone, agenda, buttons."""
    when = slack_date(card.starts_at)
    prefix = "Snoozed reminder: " if card.snoozed else ""
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"{prefix}{card.title}", 150)),
        SectionBlock(text=MarkdownTextObject(text=_when_text(card, when))),
        SectionBlock(text=MarkdownTextObject(text=truncate(agenda_text(agenda)))),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Add agenda item",
                    action_id=ids.MEETING_ADD_AGENDA,
                    value=str(card.meeting_id),
                ),
                ButtonElement(
                    text="Snooze 10 min", action_id=ids.MEETING_SNOOZE, value=str(card.post_id)
                ),
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Meeting {card.meeting_id} · {escape_mrkdwn(card.schedule)} · "
                    f"`/meeting skip {card.meeting_id}` skips the next one"
                )
            ]
        ),
    ]
    fallback = f"{prefix}{card.title} starts {card.starts_at:%Y-%m-%d %H:%M} UTC"
    return escape_mrkdwn(fallback), blocks


def _when_text(card: ReminderCard, when: str) -> str:
    text = f"*Starts {when}*"
    if card.late:
        text += "\n_This reminder is late: leadloop was not running when it was due._"
    return text


def agenda_text(agenda: Agenda) -> str:
    """The agenda as mrkdwn: campaigns, unanswered ratings, KPIs, items people added."""
    lines = ["*Agenda*"]
    if agenda.low_campaigns:
        lines.append("• *Lowest-rated campaigns since the last meeting:* ")
        lines.extend(f"    ◦ {escape_mrkdwn(line)}" for line in agenda.low_campaigns)
    else:
        lines.append("• No lead ratings since the last meeting.")
    if agenda.unanswered_total:
        lines.append(f"• *{agenda.unanswered_total} rating(s) still wait for marketing's answer:*")
        lines.extend(f"    ◦ {_linked(line)}" for line in agenda.unanswered)
    else:
        lines.append("• Every rating has an answer from marketing.")
    if agenda.past_answer_time_total:
        lines.append(
            f"• *{agenda.past_answer_time_total} of them waited past the agreed answer time:*"
        )
        lines.extend(f"    ◦ {_linked(line)}" for line in agenda.past_answer_time)
    elif agenda.past_answer_time_total == 0 and agenda.unanswered_total:
        lines.append("• None has waited past the agreed answer time.")
    if agenda.kpis:
        lines.append("• *KPIs furthest from target:*")
        lines.extend(f"    ◦ {escape_mrkdwn(line)}" for line in agenda.kpis)
    for text, user_id in agenda.items:
        lines.append(f"• {escape_mrkdwn(text)} _(added by <@{user_id}>)_")
    return "\n".join(lines)


def _linked(line: AgendaLine) -> str:
    text = escape_mrkdwn(line.text)
    return f"<{line.link}|{text}>" if line.link else text


def agenda_item_modal(*, meeting_id: int, title: str) -> View:
    """The form behind "Add agenda item"."""
    return View(
        type="modal",
        callback_id=ids.AGENDA_MODAL,
        title=PlainTextObject(text="Add agenda item"),
        submit=PlainTextObject(text="Add"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=str(meeting_id),
        blocks=[
            InputBlock(
                block_id=ids.AGENDA_BLOCK,
                label=truncate(f"Topic for {title}", 150),
                element=PlainTextInputElement(
                    action_id=ids.AGENDA_INPUT,
                    multiline=True,
                    max_length=MAX_AGENDA_ITEM_LENGTH,
                ),
            )
        ],
    )


def meeting_list_text(meetings: list[MeetingLine]) -> str:
    """The answer to ``/meeting list``; times show in each reader's own zone."""
    if not meetings:
        return "No meetings yet. Add one with `/meeting add mon,thu 10:00 #channel Title`."
    lines = ["*Meetings*"]
    for meeting in meetings:
        if meeting.paused:
            upcoming = "paused (`/meeting resume " + str(meeting.meeting_id) + "`)"
        elif meeting.next_at is not None:
            upcoming = "next " + slack_date(meeting.next_at)
        else:
            upcoming = "no upcoming date"
        lines.append(
            f"`{meeting.meeting_id}` *{escape_mrkdwn(meeting.title)}* in <#{meeting.channel_id}> · "
            f"{escape_mrkdwn(meeting.schedule)} · reminder {meeting.remind_minutes} min before · "
            f"{upcoming}"
        )
    return "\n".join(lines)
