"""The hand-off message's Block Kit, built without Slack: content, limits and button values."""

from __future__ import annotations

import json

import pytest

from domain.leads.cards import (
    DIGEST_LISTED_REFS,
    DIGEST_SHOWN_LEADS,
    Digest,
    DigestLead,
    HandoffCard,
    RaterScore,
    ScoreClick,
)
from handlers import ids
from handlers.views.handoffs import (
    handoff_digest,
    handoff_message,
    parse_lead_value,
    parse_score_value,
    score_value,
)

FULL = HandoffCard(
    lead_id=42,
    lead_ref="ACME-1042",
    name="Ann <Lee>",
    company="Acme & Sons",
    campaign="Spring 2026",
    source="webinar",
    owner_id="U0OWNER",
    notes="Asked for pricing\nCall after 3pm",
)


def as_dicts(card: HandoffCard, scores: tuple[RaterScore, ...] = ()) -> tuple[str, list[dict]]:
    """Rendered and validated by slack-sdk (to_dict checks Slack's length limits)."""
    text, blocks = handoff_message(card, scores)
    return text, [block.to_dict() for block in blocks]


def test_the_message_shows_the_lead_its_details_and_marketings_notes() -> None:
    text, blocks = as_dicts(FULL)

    shown = json.dumps(blocks, ensure_ascii=False)
    assert "New lead for <@U0OWNER>: ACME-1042" in text
    for detail in (
        "*Name*\\nAnn &lt;Lee&gt;",
        "*Company*\\nAcme &amp; Sons",
        "Spring 2026",
        "webinar",
    ):
        assert detail in shown
    assert "*Marketing notes*\\n> Asked for pricing\\n> Call after 3pm" in shown
    assert "Not rated yet" in shown


def test_a_lead_with_only_a_reference_still_renders() -> None:
    text, blocks = as_dicts(HandoffCard(lead_id=7, lead_ref="X-1"))

    assert text.startswith("New lead: X-1.")
    assert [block["type"] for block in blocks] == ["section", "context", "actions"]


def test_five_score_buttons_and_rate_with_reason_name_the_lead() -> None:
    _, blocks = as_dicts(FULL)

    [actions] = [block for block in blocks if block["type"] == "actions"]
    assert actions["block_id"] == ids.HANDOFF_ACTIONS_BLOCK
    buttons = actions["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (f"{ids.HANDOFF_SCORE}_{n}", f"42:{n}") for n in range(1, 6)
    ] + [(ids.HANDOFF_REASON, "42")]
    assert [b["text"]["text"] for b in buttons[:5]] == [
        "1 – poor",
        "2 – weak",
        "3 – fair",
        "4 – good",
        "5 – great",
    ]
    assert buttons[5]["style"] == "primary"


def test_who_rated_what_is_shown_for_each_rep() -> None:
    _, blocks = as_dicts(FULL, (RaterScore("U0ANN", 4), RaterScore("U0BO", 1)))

    shown = json.dumps(blocks, ensure_ascii=False)
    assert "Rated by <@U0ANN> ★★★★☆ 4/5 · <@U0BO> ★☆☆☆☆ 1/5" in shown


def test_the_longest_lead_fields_stay_within_slacks_limits() -> None:
    card = HandoffCard(
        lead_id=10**12,
        lead_ref="R" * 200,
        name="&" * 300,
        company="<" * 300,
        campaign="c" * 200,
        source="s" * 200,
        owner_id="U" + "0" * 31,
        notes="n" * 2000 + "\n" + ">" * 2000,
    )
    scores = tuple(RaterScore(f"U{i:031d}", 5) for i in range(200))

    _, blocks = as_dicts(card, scores)  # to_dict raises if a limit is broken

    assert all(len(json.dumps(block)) < 20_000 for block in blocks)


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5])
def test_a_score_value_reads_back_as_written(score: int) -> None:
    click = ScoreClick(lead_id=1234, score=score)

    assert parse_score_value(score_value(click)) == click


@pytest.mark.parametrize(
    "value",
    [
        None,
        12,
        "",
        "12",
        "12:",
        ":3",
        "12:6",
        "12:0",
        "12:-1",
        "12:3:4",
        "012:3",
        "a:3",
        "12:٣",
        "1" * 19 + ":3",
    ],
)
def test_a_value_leadloop_did_not_write_is_not_a_score(value: object) -> None:
    assert parse_score_value(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), ("042", None), ("4 2", None), ("", None), (None, None), ("٤٢", None)],
)
def test_the_rate_with_reason_value_is_a_lead_id(value: object, expected: int | None) -> None:
    assert parse_lead_value(value) == expected


def digest_of(total: int, *, owner_id: str | None = "U0OWNER") -> Digest:
    shown = min(total, DIGEST_SHOWN_LEADS)
    return Digest(
        owner_id=owner_id,
        total=total,
        shown=tuple(
            DigestLead(card=HandoffCard(lead_id=i, lead_ref=f"R-{i}", name="N", owner_id="U0X"))
            for i in range(1, shown + 1)
        ),
        more_refs=tuple(
            f"R-{i}" for i in range(shown + 1, min(total, shown + DIGEST_LISTED_REFS) + 1)
        ),
    )


def test_a_long_digest_fits_slacks_fifty_blocks_with_a_unique_block_id_per_lead() -> None:
    text, blocks = handoff_digest(digest_of(10_000))
    rendered = [block.to_dict() for block in blocks]

    assert len(rendered) <= 50
    actions = [block for block in rendered if block["type"] == "actions"]
    assert len(actions) == 20
    assert len({block["block_id"] for block in actions}) == 20
    assert all(block["block_id"].startswith(ids.HANDOFF_ACTIONS_BLOCK) for block in actions)
    assert [element["value"] for element in actions[0]["elements"]] == [
        f"1:{score}" for score in range(1, 6)
    ] + ["1"]
    assert "10,000 new leads for <@U0OWNER>" in text
    footer = json.dumps(rendered[-1])
    assert "and 9,980 more not shown here" in footer and "and 9,930 more" in footer


def test_a_channel_digest_names_each_leads_owner_and_a_short_one_has_no_footer() -> None:
    _, blocks = handoff_digest(digest_of(3, owner_id=None))
    rendered = [block.to_dict() for block in blocks]

    assert "3 new leads*" in json.dumps(rendered[0])
    assert all("for <@U0X>" in block["text"]["text"] for block in rendered[1::2])
    assert rendered[-1]["type"] == "actions"
