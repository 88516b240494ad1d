"""Block Kit, built by pure functions from typed values with slack-sdk's models."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from domain.ratings.cards import RatingCard, VerdictLine
from domain.ratings.loop import StoredRating
from domain.ratings.parse import MAX_LEAD_REF_LENGTH, MAX_REASON_LENGTH, REASON_TAGS
from domain.ratings.verdicts import ACKNOWLEDGE, AGREE, DISPUTE
from handlers import ids

SCORE_LABELS = {1: "poor", 2: "weak", 3: "fair", 4: "good", 5: "great"}
SECTION_TEXT_LIMIT = 3000
VIA_LABELS = {"command": "/rate-lead", "modal": "the rating form", "button": "a rating button"}


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    """Cut ``text`` to Slack's limit for a section, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stars(score: int) -> str:
    """A score as five stars, e.g. ★★☆☆☆ for 2."""
    return "★" * score + "☆" * (5 - score)


def rating_post(card: RatingCard) -> tuple[str, list[Block]]:
    """The feedback-channel message for a rating: fallback text and blocks."""
    lead = escape_mrkdwn(card.lead_ref)
    headline = (
        f"*Lead {lead}* rated {stars(card.score)} *{card.score}/5* "
        f"({SCORE_LABELS[card.score]}) by <@{card.rater_id}>"
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline))]
    details = _lead_details(card)
    if details:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=details)]))
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_reason_text(card))))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Rated with {VIA_LABELS.get(card.via, card.via)} · "
                    "Marketing: answer with a button, or reply in this thread."
                )
            ]
        )
    )
    if card.verdicts:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_verdicts_text(card))]))
    if card.rating_id is not None:
        blocks.append(verdict_buttons(card.rating_id))
    fallback = f"Lead {lead} rated {card.score}/5 by <@{card.rater_id}>"
    return fallback, blocks


VERDICT_BUTTONS = (
    (ids.VERDICT_AGREE, "Agree", "primary"),
    (ids.VERDICT_DISPUTE, "Dispute", "danger"),
    (ids.VERDICT_ACKNOWLEDGE, "Acknowledge", None),
)
VERDICT_SHOWN = {
    AGREE: ":white_check_mark: <@{user}> agreed: the lead was poor",
    DISPUTE: ":warning: <@{user}> disputed the rating",
    ACKNOWLEDGE: ":eyes: <@{user}> acknowledged; an answer will follow",
}


def verdict_buttons(rating_id: int) -> ActionsBlock:
    """Marketing's one-click verdicts on a rating post; each carries the rating's id."""
    return ActionsBlock(
        block_id=ids.VERDICT_ACTIONS_BLOCK,
        elements=[
            ButtonElement(text=label, action_id=action_id, value=str(rating_id), style=style)
            for action_id, label, style in VERDICT_BUTTONS
        ],
    )


def _verdicts_text(card: RatingCard) -> str:
    return truncate("\n".join(_verdict_line(line) for line in card.verdicts))


def _verdict_line(line: VerdictLine) -> str:
    shown = VERDICT_SHOWN.get(line.verdict, "<@{user}> " + line.verdict).format(user=line.user_id)
    if line.verdict == DISPUTE and line.reason:
        return f"{shown}: _{escape_mrkdwn(truncate(line.reason, 300))}_"
    return shown


def _lead_details(card: RatingCard) -> str:
    parts = [
        value
        for value in (card.lead_name, card.company, card.campaign and f"campaign {card.campaign}")
        if value
    ]
    return escape_mrkdwn(" · ".join(parts))


def _reason_text(card: RatingCard) -> str:
    lines = []
    if card.tags:
        lines.append(" ".join(f"`{REASON_TAGS.get(tag, tag)}`" for tag in card.tags))
    if card.reason:
        quoted = "\n".join(f"> {line}" for line in escape_mrkdwn(card.reason).splitlines())
        lines.append(quoted)
    return truncate("\n".join(lines)) if lines else "_No reason given._"


def stored_rating_confirmation(stored: StoredRating) -> str:
    """The thank-you in ``/rate-lead``'s ack: the rating is stored, its post not yet sent."""
    return saved_rating_confirmation(stored.card, feedback_channel=stored.feedback_channel)


def saved_rating_confirmation(card: RatingCard, *, feedback_channel: str | None) -> str:
    """The rater's thank-you: the rating is saved; the delivery process posts it."""
    rated = (
        f"Thanks! You rated *{escape_mrkdwn(card.lead_ref)}* {stars(card.score)} {card.score}/5."
    )
    if feedback_channel is None:
        return (
            f"{rated} It is saved, and goes to marketing {FEEDBACK_CHANNEL_UNSET}; you'll get "
            "a message when they answer."
        )
    return (
        f"{rated} It is saved and goes to <#{feedback_channel}> for marketing to "
        "answer; you'll get a message when they do."
    )


def rated_view(stored: StoredRating) -> View:
    """What the rating form turns into once its rating is stored (the form's ack answer).

    The post is owed, not yet sent: the text says where it goes, or that an admin has to
    pick the feedback channel first.
    """
    return notice_view("Rated", stored_rating_confirmation(stored))


FEEDBACK_CHANNEL_UNSET = (
    "as soon as an admin picks the feedback channel (`/leadloop settings feedback #channel`)"
)


def answer_notice(
    card: RatingCard, *, answerer_id: str, answer_text: str, permalink: str | None
) -> tuple[str, list[Block]]:
    """The DM telling a rater that marketing answered their rating."""
    lead = escape_mrkdwn(card.lead_ref)
    where = f" (<{permalink}|see the thread>)" if permalink else ""
    head = f"<@{answerer_id}> answered your {card.score}/5 rating of *{lead}*{where}:"
    return f"Marketing answered your rating of {lead}", _quoting_notice(head, answer_text)


def dispute_notice(
    card: RatingCard, *, disputer_id: str, reason: str, permalink: str | None
) -> tuple[str, list[Block]]:
    """The DM telling a rater that marketing disputed their rating, and why."""
    lead = escape_mrkdwn(card.lead_ref)
    where = f" (<{permalink}|see the post>)" if permalink else ""
    head = f"<@{disputer_id}> disputed your {card.score}/5 rating of *{lead}*{where}:"
    return f"Marketing disputed your rating of {lead}", _quoting_notice(head, reason)


def _quoting_notice(head: str, words: str) -> list[Block]:
    """A DM's blocks: its first line, then marketing's own words, quoted."""
    quoted = "\n".join(f"> {line}" for line in escape_mrkdwn(words).splitlines()) or ">"
    return [
        SectionBlock(text=MarkdownTextObject(text=head)),
        SectionBlock(text=MarkdownTextObject(text=truncate(quoted))),
    ]


def dispute_modal(*, rating_id: int, channel: str, message_ts: str, lead_ref: str) -> View:
    """The form for a dispute's reason; its metadata names the rating and its post."""
    metadata = {"rating_id": rating_id, "channel": channel, "ts": message_ts}
    return View(
        type="modal",
        callback_id=ids.DISPUTE_MODAL,
        title=PlainTextObject(text="Dispute a rating"),
        submit=PlainTextObject(text="Dispute"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps(metadata),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Why was *{escape_mrkdwn(truncate(lead_ref, 200))}* a better lead "
                    "than rated? The rep gets your reason by DM."
                )
            ),
            InputBlock(
                block_id=ids.DISPUTE_REASON_BLOCK,
                label="Reason",
                element=PlainTextInputElement(
                    action_id=ids.DISPUTE_REASON_INPUT,
                    multiline=True,
                    max_length=MAX_REASON_LENGTH,
                ),
            ),
        ],
    )


def disputed_view(lead_ref: str) -> View:
    """What the dispute form turns into once the dispute is stored."""
    return notice_view("Disputed", verdict_stored(DISPUTE, lead_ref))


def notice_view(title: str, text: str) -> View:
    """A form turned into a note: what became of it."""
    return View(
        type="modal",
        title=PlainTextObject(text=title),
        close=PlainTextObject(text="Done"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


def verdict_stored(verdict: str, lead_ref: str) -> str:
    """The private note for the marketer whose verdict was stored."""
    lead = escape_mrkdwn(lead_ref)
    if verdict == AGREE:
        return f"Saved: you agreed with the rating of *{lead}*. The post shows it."
    if verdict == DISPUTE:
        return (
            f"Saved: you disputed the rating of *{lead}*. The post shows it, and the rep "
            "gets your reason by DM."
        )
    return (
        f"Saved: you acknowledged the rating of *{lead}*. It still waits for your answer: "
        "agree, dispute, or reply in its thread."
    )


def verdict_already_given(verdict: str, lead_ref: str) -> str:
    """The private note for a second click of the same verdict: nothing changed."""
    done = {AGREE: "agreed with", DISPUTE: "disputed", ACKNOWLEDGE: "acknowledged"}[verdict]
    return f"You already {done} the rating of *{escape_mrkdwn(lead_ref)}*; nothing changed."


VERDICT_NOT_MARKETING = (
    "Only marketing can answer a rating with these buttons, and never the rep who rated it. "
    "Nothing changed. An admin can give the marketing role with "
    "`/leadloop role @person marketing`."
)
VERDICT_RATING_NOT_FOUND = (
    "I can't find that rating in this workspace, so nothing changed. Use the buttons on the "
    "rating's own post."
)


def rating_modal(
    *, origin_channel: str | None, lead_ref: str = "", score: int | None = None
) -> View:
    """The rating form: lead, score, reason tags and free text."""
    score_options = [
        Option(value=str(value), text=f"{stars(value)}  {value} – {label}")
        for value, label in SCORE_LABELS.items()
    ]
    score_select = StaticSelectElement(
        action_id=ids.SCORE_INPUT,
        placeholder="How good is this lead?",
        options=score_options,
        initial_option=score_options[score - 1] if score else None,
    )
    return View(
        type="modal",
        callback_id=ids.RATING_MODAL,
        title=PlainTextObject(text="Rate a lead"),
        submit=PlainTextObject(text="Rate"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"channel": origin_channel}),
        blocks=[
            InputBlock(
                block_id=ids.LEAD_BLOCK,
                label="Lead",
                hint="The lead's CRM reference, e.g. ACME-1042",
                element=PlainTextInputElement(
                    action_id=ids.LEAD_INPUT,
                    initial_value=lead_ref or None,
                    max_length=MAX_LEAD_REF_LENGTH,
                ),
            ),
            InputBlock(block_id=ids.SCORE_BLOCK, label="Score", element=score_select),
            InputBlock(
                block_id=ids.TAGS_BLOCK,
                label="Reasons",
                optional=True,
                element=CheckboxesElement(
                    action_id=ids.TAGS_INPUT,
                    options=[Option(value=key, text=label) for key, label in REASON_TAGS.items()],
                ),
            ),
            InputBlock(
                block_id=ids.REASON_BLOCK,
                label="Anything marketing should know?",
                optional=True,
                element=PlainTextInputElement(
                    action_id=ids.REASON_INPUT, multiline=True, max_length=MAX_REASON_LENGTH
                ),
            ),
        ],
    )
