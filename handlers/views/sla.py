"""The answer SLA's messages: the nudge in a rating's thread, the escalation DM."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from domain.sla import describe_duration
from handlers.views.ratings import escape_mrkdwn

# More mentions than this in one nudge is noise: the user group should be set instead.
MAX_MENTIONED = 5


def answerers_mention(
    campaign_owner: str | None, usergroup: str | None, marketers: Sequence[str]
) -> str:
    """Who should answer: the owner of the lead's campaign, else the marketing user group,
    else the people with the marketing role (a few), else plain "Marketing"."""
    if campaign_owner:
        return f"<@{campaign_owner}>"
    if usergroup:
        return f"<!subteam^{usergroup}>"
    if marketers:
        return " ".join(f"<@{user_id}>" for user_id in sorted(marketers)[:MAX_MENTIONED])
    return "Marketing"


def sla_nudge(
    *, lead_ref: str, score: int, rater_id: str, sla_minutes: int, answerers: str
) -> tuple[str, list[Block]]:
    """The reply in a rating's thread once it waited its whole answer time."""
    lead = escape_mrkdwn(lead_ref)
    sla = describe_duration(sla_minutes)
    text = (
        f"{answerers}: <@{rater_id}>'s {score}/5 rating of *{lead}* has waited {sla} of "
        "business hours for an answer, its agreed answer time. Reply in this thread, or "
        "use the buttons on the post."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ContextBlock(elements=[MarkdownTextObject(text="leadloop reminds once per rating.")]),
    ]
    return f"Waiting for an answer: {lead} ({score}/5)", blocks


def sla_escalation(
    *,
    lead_ref: str,
    score: int,
    rater_id: str,
    sla_minutes: int,
    permalink: str | None,
) -> tuple[str, list[Block]]:
    """The DM to the marketing lead once a rating waited twice its answer time."""
    lead = escape_mrkdwn(lead_ref)
    waited = describe_duration(2 * sla_minutes)
    where = f" <{permalink}|Open the rating>." if permalink else ""
    text = (
        f"<@{rater_id}>'s {score}/5 rating of *{lead}* has waited {waited} of business "
        f"hours with no answer from marketing, twice its answer time.{where}"
    )
    return f"Unanswered for twice its answer time: {lead}", [
        SectionBlock(text=MarkdownTextObject(text=text))
    ]
