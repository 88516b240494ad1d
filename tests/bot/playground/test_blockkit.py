"""The playground's Block Kit drawing: every block and element leadloop sends, and safety."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.playground.blockkit import EMOJI, emojify, mrkdwn, render_block, render_blocks, render_text
from domain.home import HomeData
from domain.leads.cards import Digest, DigestLead, HandoffCard, RaterScore
from domain.meetings.cards import Agenda, AgendaLine, ReminderCard
from domain.ratings.cards import RatingCard, VerdictLine
from domain.ratings.verdicts import ACKNOWLEDGE, AGREE, DISPUTE
from domain.weeks import IsoWeek
from handlers.errors import DATABASE_DOWN, SOMETHING_BROKE
from handlers.views.handoffs import (
    LEAD_NOT_FOUND,
    NOT_A_RATING_BUTTON,
    handoff_digest,
    handoff_message,
)
from handlers.views.home import home_view
from handlers.views.meetings import agenda_item_modal, meeting_reminder
from handlers.views.ratings import (
    answer_notice,
    dispute_modal,
    dispute_notice,
    disputed_view,
    rating_modal,
    rating_post,
)
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


def as_section(text: str) -> list[dict[str, Any]]:
    """A text leadloop sends on its own (an error, a note), as a message's one section."""
    return dicts([SectionBlock(text=MarkdownTextObject(text=text))])


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
    handoff = HandoffCard(lead_id=3, lead_ref="ACME-1", name="Ann", owner_id="UOWNER")
    verdicts = (
        VerdictLine(user_id="UM1", verdict=AGREE),
        VerdictLine(user_id="UM2", verdict=DISPUTE, reason="They asked for a demo"),
        VerdictLine(user_id="UM3", verdict=ACKNOWLEDGE),
    )
    answered = dataclasses.replace(CARD, verdicts=verdicts)
    return {
        "rating post": dicts(rating_post(CARD)[1]),
        "rating post with verdicts": dicts(rating_post(answered)[1]),
        "hand-off digest": dicts(
            handoff_digest(
                Digest(
                    owner_id=None,
                    total=7,
                    shown=(DigestLead(card=handoff, scores=(RaterScore("URATER", 3),)),),
                    more_refs=("ACME-2", "ACME-3"),
                )
            )[1]
        ),
        "answer notice": dicts(
            answer_notice(CARD, answerer_id="UM1", answer_text="Fixed", permalink=None)[1]
        ),
        "dispute notice": dicts(
            dispute_notice(CARD, disputer_id="UM1", reason="Good fit", permalink="https://x.test")[
                1
            ]
        ),
        "dispute form": dispute_modal(
            rating_id=7, channel="C1", message_ts="1.2", lead_ref="ACME-1"
        ).to_dict()["blocks"],
        "disputed form": disputed_view("ACME-1").to_dict()["blocks"],
        "errors and refusals": as_section(DATABASE_DOWN)
        + as_section(SOMETHING_BROKE)
        + as_section(NOT_A_RATING_BUTTON)
        + as_section(LEAD_NOT_FOUND),
        "home, before setup": home_view(
            HomeData(
                user_id="URATER",
                now=monday,
                week=IsoWeek(2026, 45),
                show_sales=True,
                show_marketing=True,
                needs_feedback_channel=True,
            )
        ).to_dict()["blocks"],
        "hand-off": dicts(handoff_message(handoff, [RaterScore(rater_id="URATER", score=4)])[1]),
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


def kinds(part: Any, *, key: str = "") -> Iterator[tuple[str, str]]:
    """(where, type) of every block, element and text object in ``part``: where is "block"
    for a list of blocks, else the key it sits under (element, accessory, text...)."""
    if isinstance(part, dict):
        if isinstance(part.get("type"), str):
            yield key, part["type"]
        for name, value in part.items():
            yield from kinds(value, key=name)
    elif isinstance(part, list):
        for item in part:
            yield from kinds(item, key=key)


# Each block, element and text type leadloop sends, with the unit test below that draws it.
BLOCK_TYPES = {"section", "context", "actions", "header", "divider", "input"}
ELEMENT_TYPES = {"button", "plain_text_input", "static_select", "checkboxes"}
TEXT_TYPES = {"mrkdwn", "plain_text"}


def test_each_type_leadloop_sends_has_its_own_unit_test_here() -> None:
    found = {kind for blocks in leadloops_surfaces().values() for kind in kinds(blocks)}
    blocks = {kind for where, kind in found if where == ""}
    elements = {kind for where, kind in found if where in ("element", "elements", "accessory")}

    # A new type in leadloop's views fails here until the renderer draws it and a test says so.
    assert blocks == BLOCK_TYPES
    assert elements - TEXT_TYPES == ELEMENT_TYPES
    assert {kind for _, kind in found} <= BLOCK_TYPES | ELEMENT_TYPES | TEXT_TYPES


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


# --- each block and element type, drawn -------------------------------------------------


def test_a_header_is_its_plain_text_escaped() -> None:
    drawn = render_block(
        {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "*A* <b>"}}
    )

    assert drawn == '<div class="bk-block bk-header" data-block-id="h">*A* &lt;b&gt;</div>'


def test_a_divider_is_a_rule() -> None:
    assert render_block({"type": "divider"}) == '<hr class="bk-block bk-divider">'


def test_a_context_block_draws_its_mrkdwn_and_plain_texts_in_a_row() -> None:
    drawn = render_block(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "*due* <@U1>"},
                {"type": "plain_text", "text": "*as is*"},
            ],
        },
        names=lambda identifier: {"U1": "Ann"}.get(identifier, identifier),
    )

    assert drawn.startswith('<div class="bk-block bk-context">')
    assert "<span><b>due</b> " in drawn and "@Ann" in drawn
    assert "<span>*as is*</span>" in drawn


def test_an_actions_block_draws_each_button_with_its_ids_style_and_only_a_safe_url() -> None:
    def button(action_id: str, **more: Any) -> dict[str, Any]:
        text = {"type": "plain_text", "text": action_id.title()}
        return {"type": "button", "action_id": action_id, "text": text, **more}

    drawn = render_block(
        {
            "type": "actions",
            "block_id": "acts",
            "elements": [
                button("agree", style="primary", value="7"),
                button("dispute", style="danger", value="7"),
                button("open", url="https://x.test/a?b=1&c=2"),
                button("sneaky", url="javascript:alert(1)", style="<x>"),
            ],
        }
    )

    assert drawn.startswith('<div class="bk-block bk-actions" data-block-id="acts">')
    assert (
        '<button type="button" class="bk-button bk-button-primary" data-action-id="agree" '
        'data-block-id="acts" data-value="7">Agree</button>'
    ) in drawn
    assert 'class="bk-button bk-button-danger" data-action-id="dispute"' in drawn
    assert 'data-url="https://x.test/a?b=1&amp;c=2"' in drawn
    sneaky = drawn.split('data-action-id="sneaky"')[1]
    assert "data-url" not in sneaky and "javascript" not in sneaky
    assert 'class="bk-button" data-action-id="sneaky"' in drawn  # an unknown style: plain


def test_an_input_block_shows_its_label_optional_mark_hint_and_a_hidden_error_box() -> None:
    drawn = render_block(
        {
            "type": "input",
            "block_id": "lead",
            "optional": True,
            "label": {"type": "plain_text", "text": "Lead"},
            "hint": {"type": "plain_text", "text": "The CRM's id"},
            "element": {
                "type": "plain_text_input",
                "action_id": "lead_input",
                "initial_value": 'ACME "1"',
                "placeholder": {"type": "plain_text", "text": "ACME-1042"},
                "max_length": 80,
            },
        }
    )

    assert '<div class="bk-block bk-input" data-block-id="lead">' in drawn
    assert '<label class="bk-label">Lead <span class="bk-optional">(optional)</span>' in drawn
    assert (
        '<input type="text" class="bk-text-input" data-action-id="lead_input" '
        'data-block-id="lead" value="ACME &quot;1&quot;" placeholder="ACME-1042" maxlength="80">'
    ) in drawn
    assert '<div class="bk-hint">The CRM&#x27;s id</div>' in drawn
    assert '<div class="bk-error" hidden></div>' in drawn


def test_a_multiline_text_input_is_a_textarea_with_its_text_escaped() -> None:
    drawn = render_block(
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {
                "type": "plain_text_input",
                "action_id": "reason_input",
                "multiline": True,
                "initial_value": "</textarea><script>",
            },
        }
    )

    assert (
        '<textarea class="bk-textarea" data-action-id="reason_input" data-block-id="reason">'
        "&lt;/textarea&gt;&lt;script&gt;</textarea>"
    ) in drawn
    assert "(optional)" not in drawn


def select(**more: Any) -> dict[str, Any]:
    options = [
        {"text": {"type": "plain_text", "text": f"{n} <stars>"}, "value": str(n)} for n in (1, 2)
    ]
    element = {"type": "static_select", "action_id": "score_input", "options": options, **more}
    return {"type": "input", "block_id": "score", "label": "Score", "element": element}


def test_a_static_select_without_a_choice_shows_its_placeholder_chosen() -> None:
    drawn = render_block(select(placeholder={"type": "plain_text", "text": "Pick one"}))

    assert '<select class="bk-select" data-action-id="score_input" data-block-id="score">' in drawn
    assert '<option value="" disabled selected>Pick one</option>' in drawn
    assert '<option value="1">1 &lt;stars&gt;</option>' in drawn


def test_a_static_select_shows_its_initial_option_chosen() -> None:
    initial = {"text": {"type": "plain_text", "text": "2"}, "value": "2"}

    drawn = render_block(select(initial_option=initial))

    assert '<option value="" disabled>Select an option</option>' in drawn
    assert '<option value="2" selected>2 &lt;stars&gt;</option>' in drawn


def test_checkboxes_show_their_initial_options_checked() -> None:
    options = [
        {"text": {"type": "mrkdwn", "text": "*Wrong fit*"}, "value": "wrong_fit"},
        {"text": {"type": "plain_text", "text": "No budget"}, "value": "no_budget"},
    ]
    drawn = render_block(
        {
            "type": "input",
            "block_id": "tags",
            "label": {"type": "plain_text", "text": "Tags"},
            "element": {
                "type": "checkboxes",
                "action_id": "tags_input",
                "options": options,
                "initial_options": [options[1]],
            },
        }
    )

    assert '<div class="bk-checkboxes" data-action-id="tags_input" data-block-id="tags">' in drawn
    assert '<input type="checkbox" value="wrong_fit"> <b>Wrong fit</b>' in drawn
    assert '<input type="checkbox" value="no_budget" checked> No budget' in drawn


# --- emoji shortcodes ---------------------------------------------------------------------


def strings_in(part: Any) -> Iterator[str]:
    if isinstance(part, str):
        yield part
    elif isinstance(part, dict | list):
        for value in part.values() if isinstance(part, dict) else part:
            yield from strings_in(value)


def shortcodes_in(blocks: list[dict[str, Any]]) -> set[str]:
    shortcode = re.compile(r"(?<![0-9A-Za-z]):([a-z0-9_+-]+):(?![0-9A-Za-z])")
    return {name for text in strings_in(blocks) for name in shortcode.findall(text)}


def test_every_shortcode_leadloop_sends_is_drawn_as_its_emoji() -> None:
    surfaces = leadloops_surfaces()
    sent = set().union(*(shortcodes_in(blocks) for blocks in surfaces.values()))

    assert {"warning", "inbox_tray", "tada", "white_check_mark", "eyes"} <= sent
    assert sent <= set(EMOJI)
    for blocks in surfaces.values():
        drawn = render_blocks(blocks)
        for name in shortcodes_in(blocks):
            assert f'title=":{name}:">{EMOJI[name]}</span>' in drawn


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (":tada: shipped", '<span class="bk-emoji" title=":tada:">\U0001f389</span> shipped'),
        (":+1::-1:", "\U0001f44d</span><span"),
        ("*:warning: careful*", '<b><span class="bk-emoji" title=":warning:">'),
        ("> :eyes: look", '<span class="bk-quote"><span class="bk-emoji"'),
        ("<https://x.test|:tada: party>", '"><span class="bk-emoji" title=":tada:">'),
    ],
)
def test_known_shortcodes_become_emoji(text: str, html: str) -> None:
    assert html in mrkdwn(text)


@pytest.mark.parametrize(
    "text",
    [
        ":not_an_emoji_we_know: stays",
        "meet at 10:30:00 or 9:15",
        "ratio 3:1:2",
        "a`:tada:`b and ```:warning:\n:eyes:```",
        "see https://x.test/:tada:/page",
        "<https://x.test/:tada:/>",
        "glued:tada:on and :tada:glued",
    ],
)
def test_unknown_shortcodes_code_urls_and_times_are_left_as_they_are(text: str) -> None:
    assert "bk-emoji" not in mrkdwn(text)


def test_a_url_keeps_its_shortcode_in_its_address_and_label() -> None:
    drawn = mrkdwn("<https://x.test/:tada:/>")

    assert 'href="https://x.test/:tada:/"' in drawn and ">https://x.test/:tada:/</a>" in drawn


def test_plain_text_draws_shortcodes_unless_it_says_emoji_false() -> None:
    assert "\U0001f389" in render_text({"type": "plain_text", "text": ":tada:", "emoji": True})
    assert "\U0001f389" in render_text({"type": "plain_text", "text": ":tada:"})
    assert render_text({"type": "plain_text", "text": ":tada:", "emoji": False}) == ":tada:"


def test_a_select_options_shortcode_is_the_bare_emoji() -> None:
    drawn = render_block(
        select(options=[{"text": {"type": "plain_text", "text": ":star: 1"}, "value": "1"}])
    )

    assert '<option value="1">\u2b50 1</option>' in drawn


@given(st.text(max_size=200))
def test_text_without_a_known_shortcode_is_left_unchanged(text: str) -> None:
    assume(not any(f":{name}:" in text for name in EMOJI))

    assert emojify(text) == text
    assert "bk-emoji" not in mrkdwn(text)


@given(st.times(), st.sampled_from(sorted(EMOJI)))
def test_times_stay_times_even_next_to_a_shortcode(moment: Any, name: str) -> None:
    clock = moment.isoformat(timespec="seconds")

    drawn = mrkdwn(f"{clock} :{name}: {clock}")

    assert drawn.startswith(clock + " <span") and drawn.endswith("</span> " + clock)


@given(st.sampled_from(sorted(EMOJI)), st.text(alphabet="abc :_", max_size=20))
def test_code_never_shows_emoji(name: str, around: str) -> None:
    drawn = mrkdwn(f"`{around}:{name}:{around}`")

    assert "bk-emoji" not in drawn


# --- safety -------------------------------------------------------------------------------

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
        assert all(name in {"class", "href", "target", "rel", "title"} for name, _ in attrs)
