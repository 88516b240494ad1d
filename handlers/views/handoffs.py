"""The hand-off message: a new lead for sales, with one-click rating buttons.

Pure functions from typed values to slack-sdk Block Kit models; the button values are
written and read here, so their format lives in one place.

A digest lists many new leads of one import in one message. Each lead shown carries the
same buttons as a single hand-off (same action ids and values, so the same listeners
rate it); Slack allows 50 blocks, so a digest shows its first ``DIGEST_SHOWN_LEADS`` leads
with buttons and names the rest by reference, to rate with /rate-lead.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from domain.leads.cards import (
    Digest,
    DigestLead,
    HandoffCard,
    RaterScore,
    ScoreClick,
)
from domain.ratings.parse import MAX_SCORE, MIN_SCORE
from handlers import ids
from handlers.payload import MAX_ROW_ID
from handlers.views.ratings import SCORE_LABELS, escape_mrkdwn, stars, truncate

FIELD_TEXT_LIMIT = 2000
CONTEXT_TEXT_LIMIT = 3000
# Lead ids are database ids: a handful of digits. Anything longer is not one of ours.
MAX_LEAD_ID_DIGITS = 18

NOT_A_RATING_BUTTON = (
    ":warning: That button does not hold a rating leadloop can read, so nothing was "
    "recorded. Use the buttons on a hand-off message, or `/rate-lead <lead> <score>`."
)
LEAD_NOT_FOUND = (
    ":warning: I can't find that lead in this workspace (it may have been removed), so "
    "nothing was recorded."
)


def handoff_message(
    card: HandoffCard, scores: Sequence[RaterScore] = ()
) -> tuple[str, list[Block]]:
    """The hand-off message: fallback text and blocks, showing who rated what so far."""
    lead = escape_mrkdwn(card.lead_ref)
    for_whom = f" for <@{card.owner_id}>" if card.owner_id else ""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f":inbox_tray: *New lead{for_whom}: {lead}*"))
    ]
    fields = _detail_fields(card)
    if fields:
        blocks.append(SectionBlock(fields=[MarkdownTextObject(text=text) for text in fields]))
    if card.notes:
        quoted = "\n".join(f"> {line}" for line in escape_mrkdwn(card.notes).splitlines())
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=truncate(f"*Marketing notes*\n{quoted}")))
        )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=ratings_summary(scores))]),
    )
    blocks.append(rating_buttons(card.lead_id))
    return f"New lead{for_whom}: {lead}. How good is it? Rate it from 1 to 5.", blocks


def _detail_fields(card: HandoffCard) -> list[str]:
    details = (
        ("Name", card.name),
        ("Company", card.company),
        ("Campaign", card.campaign),
        ("Source", card.source),
    )
    return [
        truncate(f"*{label}*\n{escape_mrkdwn(value)}", FIELD_TEXT_LIMIT)
        for label, value in details
        if value
    ]


def ratings_summary(scores: Sequence[RaterScore]) -> str:
    """Who rated what: each rep's latest score, or an invitation to rate."""
    if not scores:
        return "Not rated yet. Click a score, or *Rate with reason* to say why."
    rated = " · ".join(
        f"<@{entry.rater_id}> {stars(entry.score)} {entry.score}/5" for entry in scores
    )
    return truncate(f"Rated by {rated}", CONTEXT_TEXT_LIMIT)


def rating_buttons(lead_id: int, *, block_id: str = ids.HANDOFF_ACTIONS_BLOCK) -> ActionsBlock:
    """Five score buttons and "Rate with reason", all naming the lead by its id."""
    scores = [
        ButtonElement(
            text=f"{score} – {SCORE_LABELS[score]}",
            action_id=f"{ids.HANDOFF_SCORE}_{score}",
            value=score_value(ScoreClick(lead_id=lead_id, score=score)),
        )
        for score in range(MIN_SCORE, MAX_SCORE + 1)
    ]
    reason = ButtonElement(
        text="Rate with reason",
        action_id=ids.HANDOFF_REASON,
        value=str(lead_id),
        style="primary",
    )
    return ActionsBlock(block_id=block_id, elements=[*scores, reason])


def handoff_digest(digest: Digest) -> tuple[str, list[Block]]:
    """One message listing an import's new leads, each shown one rateable with its buttons."""
    for_whom = f" for <@{digest.owner_id}>" if digest.owner_id else ""
    count = f"{digest.total:,} new lead{'' if digest.total == 1 else 's'}"
    heading = (
        f":inbox_tray: *{count}{for_whom}* from one import. "
        "How good are they? Rate each from 1 to 5."
    )
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=heading))]
    for lead in digest.shown:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=_digest_line(lead, with_owner=not digest.owner_id))
            )
        )
        block_id = f"{ids.HANDOFF_ACTIONS_BLOCK}_{lead.card.lead_id}"
        blocks.append(rating_buttons(lead.card.lead_id, block_id=block_id))
    hidden = digest.total - len(digest.shown)
    if hidden > 0:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_more_leads(digest, hidden))]))
    refs = ", ".join(lead.card.lead_ref for lead in digest.shown[:5])
    more = "…" if digest.total > 5 else ""
    return f"{count}{for_whom}: {refs}{more}. Rate them from 1 to 5.", blocks


def _digest_line(lead: DigestLead, *, with_owner: bool) -> str:
    card = lead.card
    details = [card.name, card.company, card.campaign, card.source]
    line = " · ".join(
        [f"*{escape_mrkdwn(card.lead_ref)}*"] + [escape_mrkdwn(d) for d in details if d]
    )
    if with_owner and card.owner_id:
        line += f" · for <@{card.owner_id}>"
    if lead.scores:
        line += "\n" + ratings_summary(lead.scores)
    return truncate(line)


def _more_leads(digest: Digest, hidden: int) -> str:
    example = digest.more_refs[0] if digest.more_refs else "ACME-1042"
    listed = ", ".join(escape_mrkdwn(ref) for ref in digest.more_refs)
    unlisted = hidden - len(digest.more_refs)
    if unlisted > 0:
        listed += f" and {unlisted:,} more"
    text = (
        f"…and {hidden:,} more not shown here: rate them with `/rate-lead REF SCORE` "
        f"(for example `/rate-lead {escape_mrkdwn(example)} 4`). They are: "
    )
    return truncate(text + listed, CONTEXT_TEXT_LIMIT)


def score_changed(*, lead_ref: str, previous: int, score: int, feedback_channel: str | None) -> str:
    """The clicker's note when a second click changed their rating."""
    where = f"The post in <#{feedback_channel}>" if feedback_channel else "The feedback post"
    return (
        f"You changed your rating of *{escape_mrkdwn(lead_ref)}* from {previous}/5 to "
        f"{stars(score)} {score}/5. {where} shows the new score."
    )


def score_kept(*, lead_ref: str, score: int) -> str:
    """The clicker's note when they clicked the score they had already given."""
    return (
        f"You already rated *{escape_mrkdwn(lead_ref)}* {stars(score)} {score}/5; nothing changed."
    )


def score_value(click: ScoreClick) -> str:
    """A score button's value: ``<lead id>:<score>``."""
    return f"{click.lead_id}:{click.score}"


def parse_score_value(value: object) -> ScoreClick | None:
    """A score button's value read back; None for anything leadloop did not write."""
    if not isinstance(value, str):
        return None
    lead_text, separator, score_text = value.partition(":")
    lead_id = parse_lead_value(lead_text)
    if not separator or lead_id is None or score_text not in _SCORE_TEXTS:
        return None
    return ScoreClick(lead_id=lead_id, score=int(score_text))


def parse_lead_value(value: object) -> int | None:
    """The lead id in a "Rate with reason" button's value; None if it is not one."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        return None
    if len(value) > MAX_LEAD_ID_DIGITS or value.startswith("0"):
        return None
    number = int(value)
    return number if number <= MAX_ROW_ID else None


_SCORE_TEXTS = {str(score) for score in range(MIN_SCORE, MAX_SCORE + 1)}
