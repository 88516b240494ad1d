"""The App Home tab, built by a pure function from ``domain.home.HomeData``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from domain.home import UNANSWERED_CAP, HomeData
from domain.kpis.answer_times import NO_OWNER, describe_kept
from handlers import ids
from handlers.views.ratings import escape_mrkdwn, stars, truncate

MAX_HOME_BLOCKS = 100


SETUP_NEEDED = (
    ":warning: *One step left:* leadloop has no feedback channel in this workspace yet. "
    "Ratings are saved, and posted for marketing once a leadloop admin picks the channel "
    "with `/leadloop settings feedback #channel`."
)


def home_view(data: HomeData) -> View:
    """The whole tab: buttons for everyone, then the sales and marketing halves."""
    blocks: list[Block] = [
        HeaderBlock(text="leadloop"),
        ActionsBlock(
            elements=[
                ButtonElement(text="Rate a lead", action_id=ids.HOME_RATE_LEAD, style="primary"),
                ButtonElement(text="This week's KPIs", action_id=ids.HOME_REPORT),
                ButtonElement(text="Meeting schedule", action_id=ids.HOME_MEETINGS),
            ]
        ),
    ]
    if data.needs_feedback_channel:
        blocks.insert(1, _section(SETUP_NEEDED))
    if data.show_sales:
        blocks += _sales_blocks(data)
    if data.show_marketing:
        blocks += _marketing_blocks(data)
    if data.calibration is not None:
        blocks += _calibration_blocks(data.calibration)
    return View(type="home", blocks=blocks[:MAX_HOME_BLOCKS])


def _sales_blocks(data: HomeData) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="Your leads waiting for a rating")]
    if data.waiting_leads:
        lines = [
            f"• *{escape_mrkdwn(lead.external_ref)}*"
            + "".join(f" · {escape_mrkdwn(part)}" for part in (lead.name, lead.company) if part)
            + f" _(handed over {_age(lead.created_at, data.now)} ago)_"
            for lead in data.waiting_leads
        ]
        blocks.append(_section("\n".join(lines)))
        blocks.append(_context("Rate one with `/rate-lead <lead> <score> [reason]`."))
    else:
        blocks.append(_section("Nothing waiting: every lead handed to you has your rating."))
    blocks.append(HeaderBlock(text="Your latest ratings"))
    if data.my_ratings:
        lines = []
        for rating in data.my_ratings:
            answer = (
                f"\n    ↳ <@{rating.answered_by}>: {escape_mrkdwn(truncate(rating.answer, 200))}"
                if rating.answer
                else "\n    ↳ _waiting for marketing's answer_"
            )
            lines.append(
                f"• *{escape_mrkdwn(rating.lead_ref)}* {stars(rating.score)} "
                f"({_age(rating.created_at, data.now)} ago){answer}"
            )
        blocks.append(_section("\n".join(lines)))
    else:
        blocks.append(_section("You have not rated a lead yet."))
    return blocks


def _marketing_blocks(data: HomeData) -> list[Block]:
    total = (
        f"{UNANSWERED_CAP:,}+"
        if data.unanswered_total >= UNANSWERED_CAP
        else f"{data.unanswered_total:,}"
    )
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text="Ratings waiting for marketing's answer"),
    ]
    if data.unanswered:
        lines = [
            f"• *{escape_mrkdwn(rating.lead_ref)}* rated {rating.score}/5, waiting "
            f"{_age(rating.created_at, data.now)}"
            for rating in data.unanswered
        ]
        blocks.append(_section(f"{total} waiting, oldest first:\n" + "\n".join(lines)))
        blocks.append(_context("Answer in the rating's thread in the feedback channel."))
    else:
        blocks.append(_section("Every rating has an answer. :tada:"))
    if data.answer_time is not None and data.answer_sla is not None:
        blocks.append(_context(_answer_time_text(data.answer_time, data.answer_sla)))
    if data.answer_time_by_owner:
        lines = [
            f"• {owner if owner == NO_OWNER else f'<@{owner}>'}: {describe_kept(kept)}"
            for owner, kept in data.answer_time_by_owner.items()
        ]
        blocks.append(_section("*Per campaign owner, this week:*\n" + "\n".join(lines)))
    blocks.append(HeaderBlock(text=f"Average lead score per campaign, {data.week.label}"))
    if data.campaign_scores:
        lines = [
            f"• {escape_mrkdwn(score.name)}: *{score.average:.1f}* "
            f"({score.ratings} rating{'s' if score.ratings != 1 else ''})"
            for score in data.campaign_scores
        ]
        blocks.append(_section("\n".join(lines)))
    else:
        blocks.append(_section("No ratings yet this week."))
    return blocks


def _answer_time_text(figures: dict[str, Any], sla: str) -> str:
    if not figures["due"]:
        kept = f"No rating's answer time ({sla}) has ended yet this week."
    else:
        kept = (
            f"*{figures['within_pct']:g}%* answered within the agreed {sla} "
            f"({figures['within']} of {figures['due']} due so far)."
        )
    median = figures["median_business_hours_to_first_answer"]
    if median is not None:
        kept += f" First answers took {median:g} business hours (median)."
    return kept


def _calibration_blocks(by_rep: dict[str, dict[str, Any]]) -> list[Block]:
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text="Rater calibration (admins only)"),
    ]
    if not by_rep:
        blocks.append(_section("No ratings in the last 12 weeks."))
        return blocks
    lines = [
        f"• <@{rep}>: {figures['ratings']} rating(s); marketing agreed "
        f"{_shown(figures['agreed_pct'], '%')} of {figures['agreed'] + figures['disputed']} "
        f"judged; concordance {_shown(figures['concordance'], '')} over "
        f"{figures['won'] + figures['lost']} outcome(s)"
        for rep, figures in by_rep.items()
    ]
    blocks.append(_section("\n".join(lines)))
    blocks.append(
        _context(
            "Last 12 weeks. Concordance: how often a won lead got a higher score than a lost "
            "one (1.0 always, 0.5 no better than chance). Only admins see this."
        )
    )
    return blocks


def _shown(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:g}{unit}"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _age(then: datetime, now: datetime) -> str:
    """A short age like "3 d", "5 h" or "12 min"."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 2 * 3600:
        return f"{seconds // 3600} h"
    return f"{max(1, seconds // 60)} min"
