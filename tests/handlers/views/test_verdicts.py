"""The rating post's verdict lines and the dispute form, built without Slack."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from domain.ratings.cards import RatingCard, shown_verdicts
from handlers import ids
from handlers.views.ratings import dispute_modal, rating_post
from storage.models import RatingVerdict

CARD = RatingCard(
    lead_ref="ACME-1042",
    score=2,
    reason="No budget.",
    tags=(),
    rater_id="URATER",
    via="command",
    rating_id=17,
)
START = datetime(2026, 11, 2, 9, tzinfo=UTC)


def verdict(user: str, kind: str, minutes: int, reason: str = "") -> RatingVerdict:
    return RatingVerdict(
        id=minutes,
        team_id="T0TEST",
        rating_id=17,
        user_id=user,
        verdict=kind,
        reason=reason,
        created_at=START + timedelta(minutes=minutes),
    )


def test_each_marketer_shows_their_latest_answer_over_an_acknowledgement() -> None:
    lines = shown_verdicts(
        [
            verdict("UANA", "acknowledge", 1),
            verdict("UBEN", "agree", 2),
            verdict("UANA", "dispute", 3, reason="Booked a demo"),
            verdict("UBEN", "acknowledge", 4),
        ]
    )

    assert [(line.user_id, line.verdict) for line in lines] == [
        ("UANA", "dispute"),
        ("UBEN", "agree"),
    ]


def test_the_post_shows_who_answered_how_with_a_disputes_reason_escaped() -> None:
    card = replace(
        CARD,
        verdicts=shown_verdicts(
            [verdict("UANA", "dispute", 1, reason="<VIP> list"), verdict("UBEN", "acknowledge", 2)]
        ),
    )

    _, blocks = rating_post(card)
    texts = [block.to_dict() for block in blocks]

    [lines] = [
        block["elements"][0]["text"]
        for block in texts
        if block["type"] == "context" and "disputed" in block["elements"][0]["text"]
    ]
    assert lines.splitlines() == [
        ":warning: <@UANA> disputed the rating: _&lt;VIP&gt; list_",
        ":eyes: <@UBEN> acknowledged; an answer will follow",
    ]
    assert texts[-1]["block_id"] == ids.VERDICT_ACTIONS_BLOCK


def test_a_card_without_a_rating_id_has_no_buttons() -> None:
    _, blocks = rating_post(replace(CARD, rating_id=None))

    assert all(block.to_dict()["type"] != "actions" for block in blocks)


def test_the_dispute_form_requires_a_reason_and_names_the_rating_and_post() -> None:
    view = dispute_modal(
        rating_id=17, channel="CFEEDBACK", message_ts="1700.1", lead_ref="ACME-1042"
    ).to_dict()

    assert view["callback_id"] == ids.DISPUTE_MODAL
    [reason] = [block for block in view["blocks"] if block["type"] == "input"]
    assert reason["block_id"] == ids.DISPUTE_REASON_BLOCK
    assert reason.get("optional", False) is False
    assert view["private_metadata"] == '{"rating_id": 17, "channel": "CFEEDBACK", "ts": "1700.1"}'
