"""The playground's Block Kit drawing: every block and element leadloop sends, and safety."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.playground.blockkit import mrkdwn, render_block, render_blocks
from domain.home import HomeData
from domain.leads.cards import HandoffCard, RaterScore
from domain.meetings.cards import Agenda, AgendaLine, ReminderCard
from domain.ratings.cards import RatingCard
from domain.weeks import IsoWeek
from handlers.views.handoffs import handoff_message
from handlers.views.home import home_view
from handlers.views.meetings import agenda_item_modal, meeting_reminder
from handlers.views.ratings import rating_modal, rating_post
from handlers.views.sla import sla_escalation, sla_nudge

NOT_RENDERED = "bk-not-rendered"
CARD = RatingCard(
    lead_ref="ACME-1042",
    score=2,
    reason="Wrong industry <script>alert(1)</script>",
    tags=("wrong_fit",),
    rater_id="URATER",
    via="command",
    lead_name="Ann Lee",
    company="Acme & Sons",
    campaign="Spring Webinar",
    rating_id=7,
)


def dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def leadloops_surfaces() -> dict[str, list[dict[str, Any]]]:
    """The blocks of every message, modal and home tab leadloop sends."""
    monday = datetime(2026, 11, 2, 9, tzinfo=UTC)
    agenda = Agenda(
        low_campaigns=("Spring Webinar: 2.0 average over 3 rating(s)",),
        unanswered_total=1,
        unanswered=(AgendaLine(text="ACME-1 rated 2/5", link="https://t.slack.com/x"),),
        past_answer_time_total=1,
        past_answer_time=(AgendaLine(text="ACME-1 rated 2/5", link=None),),
        kpis=("ROI: 120% against 200%",),
        items=(("Pricing page", "UMARKETER"),),
    )
    reminder = ReminderCard(
        meeting_id=1,
        post_id=2,
        title="Pipeline sync",
        starts_at=monday,
        schedule="Mondays at 10:00",
        late=False,
        snoozed=False,
    )
    home = HomeData(
        user_id="URATER",
        now=monday,
        week=IsoWeek(2026, 45),
        show_sales=True,
        show_marketing=True,
    )
    return {
        "rating post": dicts(rating_post(CARD)[1]),
        "hand-off": dicts(
            handoff_message(
                HandoffCard(lead_id=3, lead_ref="ACME-1", name="Ann", owner_id="UOWNER"),
                [RaterScore(rater_id="URATER", score=4)],
            )[1]
        ),
        "reminder": dicts(meeting_reminder(reminder, agenda)[1]),
        "nudge": dicts(
            sla_nudge(lead_ref="ACME-1", score=2, rater_id="UR", sla_minutes=240, answerers="x")[1]
        ),
        "escalation": dicts(
            sla_escalation(
                lead_ref="ACME-1", score=2, rater_id="UR", sla_minutes=240, permalink=None
            )[1]
        ),
        "rating form": rating_modal(origin_channel="C1", lead_ref="ACME-1", score=2).to_dict()[
            "blocks"
        ],
        "agenda form": agenda_item_modal(meeting_id=1, title="Pipeline sync").to_dict()["blocks"],
        "home": home_view(home).to_dict()["blocks"],
    }


@pytest.mark.parametrize("surface", list(leadloops_surfaces()))
def test_every_block_and_element_leadloop_sends_is_drawn(surface: str) -> None:
    drawn = render_blocks(leadloops_surfaces()[surface])

    assert drawn and NOT_RENDERED not in drawn


def test_the_rating_post_shows_its_text_escaped_and_its_buttons_with_their_ids() -> None:
    drawn = render_blocks(dicts(rating_post(CARD)[1]))

    assert "&lt;script&gt;" in drawn and "<script>" not in drawn
    assert "Acme &amp; Sons" in drawn
    assert 'data-action-id="' in drawn and 'data-block-id="' in drawn


def test_a_form_shows_its_inputs_with_their_initial_values() -> None:
    drawn = render_blocks(
        rating_modal(origin_channel="C1", lead_ref="ACME-1", score=2).to_dict()["blocks"]
    )

    assert 'value="ACME-1"' in drawn
    assert '<option value="2" selected>' in drawn
    assert 'type="checkbox"' in drawn and "<textarea" in drawn


def test_a_section_with_fields_and_a_button_accessory() -> None:
    block = {
        "type": "section",
        "block_id": "b1",
        "fields": [{"type": "mrkdwn", "text": "*Lead*"}, {"type": "plain_text", "text": "*x*"}],
        "accessory": {
            "type": "button",
            "action_id": "a1",
            "value": "v",
            "style": "danger",
            "text": {"type": "plain_text", "text": "Go"},
        },
    }

    drawn = render_block(block)

    assert "<b>Lead</b>" in drawn and "*x*" in drawn  # plain text keeps its stars
    assert 'class="bk-button bk-button-danger" data-action-id="a1" data-block-id="b1"' in drawn


def test_an_image_block_and_a_context_image_are_drawn_only_from_safe_addresses() -> None:
    safe = render_block({"type": "image", "image_url": "https://x.test/c.png", "alt_text": "c"})
    unsafe = render_block(
        {
            "type": "context",
            "elements": [{"type": "image", "image_url": "javascript:x", "alt_text": "d"}],
        }
    )

    assert '<img class="bk-image" src="https://x.test/c.png" alt="c">' in safe
    assert "<img" not in unsafe and "[d]" in unsafe


@pytest.mark.parametrize(
    ("block", "named"),
    [
        ({"type": "rich_text", "elements": []}, "rich_text"),
        ({"type": "video"}, "video"),
        ({"no": "type"}, "without a type"),
        ("not a block", "without a type"),
        ({"type": "<b>x</b>"}, "&lt;b&gt;x&lt;/b&gt;"),
    ],
)
def test_an_unknown_block_is_a_visible_not_rendered_box(block: Any, named: str) -> None:
    drawn = render_block(block)

    assert NOT_RENDERED in drawn and named in drawn


def test_an_unknown_element_is_a_visible_not_rendered_box() -> None:
    drawn = render_block(
        {"type": "actions", "elements": [{"type": "datepicker", "action_id": "d"}]}
    )

    assert NOT_RENDERED in drawn and "datepicker" in drawn


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("*bold* _it_ ~gone~", "<b>bold</b> <i>it</i> <s>gone</s>"),
        ("a `x*y*` b", "a <code>x*y*</code> b"),
        ("```line 1\nline 2```", "<pre>line 1\nline 2</pre>"),
        ("> quoted\nnot", '<span class="bk-quote">quoted</span><br>not'),
        ("&gt; quoted", '<span class="bk-quote">quoted</span>'),
        ("<https://x.test/a?b=1&amp;c=2|the link>", '<a href="https://x.test/a?b=1&amp;c=2"'),
        ("<javascript:alert(1)|click>", "click"),
        ("<@U1> <#C1|feedback> <!subteam^S1> <!here>", "@Ann"),
        ("5 * 3 * 2", "5 * 3 * 2"),
        ("a &lt;b&gt; &amp; c", "a &lt;b&gt; &amp; c"),
    ],
)
def test_mrkdwn_becomes_html(text: str, html: str) -> None:
    drawn = mrkdwn(text, names=lambda identifier: {"U1": "Ann"}.get(identifier, identifier))

    assert html in drawn
    if "javascript" in text:
        assert "<a " not in drawn


def test_mentions_show_names_the_page_knows() -> None:
    known = {"U1": "Ann"}
    drawn = mrkdwn(
        "<@U1> <#C1|feedback> <!subteam^S1> <!here>",
        names=lambda identifier: known.get(identifier, identifier),
    )

    for shown in ("@Ann", "#feedback", "@S1", "@here"):
        assert shown in drawn


ALLOWED_TAGS = {"span", "b", "i", "s", "code", "pre", "br", "a"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, attrs))


@given(st.text(max_size=200))
def test_no_text_can_bring_its_own_html_into_the_page(text: str) -> None:
    parser = Tags()
    parser.feed(mrkdwn(text))

    for tag, attrs in parser.seen:
        assert tag in ALLOWED_TAGS
        href = dict(attrs).get("href")
        assert href is None or href.lower().startswith(("http://", "https://", "mailto:"))
        assert all(name in {"class", "href", "target", "rel"} for name, _ in attrs)
