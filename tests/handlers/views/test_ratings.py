"""The rating form's "Rated" view, built without Slack."""

from __future__ import annotations

from domain.ratings.cards import RatingCard
from domain.ratings.loop import StoredRating
from handlers.views.ratings import rated_view

CARD = RatingCard(
    lead_ref="ACME-<1042>",
    score=4,
    reason="Good fit.",
    tags=(),
    rater_id="URATER",
    via="modal",
)


def rendered(stored: StoredRating) -> tuple[dict, str]:
    """The view as Slack gets it (to_dict checks Slack's limits), and its one text."""
    view = rated_view(stored).to_dict()
    [block] = view["blocks"]
    return view, block["text"]["text"]


def test_the_rated_view_replaces_the_form_with_a_close_button_only() -> None:
    view, _ = rendered(StoredRating(card=CARD, post_message_id=7, feedback_channel="CFEED"))

    assert view["type"] == "modal"
    assert view["title"] == {"type": "plain_text", "text": "Rated"}
    assert view["close"] == {"type": "plain_text", "text": "Done"}
    assert "submit" not in view and "callback_id" not in view


def test_the_rated_view_says_the_post_goes_to_the_feedback_channel() -> None:
    _, text = rendered(StoredRating(card=CARD, post_message_id=7, feedback_channel="CFEED"))

    assert text.startswith("Thanks! You rated *ACME-&lt;1042&gt;* ★★★★☆ 4/5.")
    assert "saved and goes to <#CFEED>" in text
    assert "posted" not in text  # owed, not sent yet


def test_without_a_feedback_channel_the_rated_view_says_an_admin_must_pick_one() -> None:
    _, text = rendered(StoredRating(card=CARD, post_message_id=None, feedback_channel=None))

    assert "It is saved" in text
    assert "as soon as an admin picks the feedback channel" in text
    assert "`/leadloop settings feedback #channel`" in text
