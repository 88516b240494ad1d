"""``/rate-lead`` text into a rating, a usage message or an intent (bot/rating_input.py)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.parsing import UsageError, unescape_slack
from domain.ratings.parse import (
    REASON_TAGS,
    Intent,
    RatingInput,
    parse_rate_lead,
    rating_field_problems,
    validate_rating,
)

USAGE_EXAMPLE = "/rate-lead ACME-1042 2 wrong industry, no budget"
# Deterministic runs: the same examples on every machine and every run.
PROPERTY = settings(derandomize=True, max_examples=300, deadline=None)
OPENING_QUOTES = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’"}


def slack_escape(text: str) -> str:
    """What Slack does to ``&``, ``<`` and ``>`` before it sends command text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def has_control_characters(text: str, *, allowed: str = "") -> bool:
    """Control characters (Cc) or lone surrogates (Cs) other than ``allowed``."""
    return any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in allowed for ch in text)


def usage_error(result: RatingInput | UsageError | Intent) -> UsageError:
    """``result``, which the test expects to be a UsageError."""
    assert isinstance(result, UsageError), result
    return result


# --- valid input ----------------------------------------------------------------------


def test_lead_score_and_reason_with_commas_are_parsed() -> None:
    assert parse_rate_lead("ACME-1042 2 wrong industry, no budget") == RatingInput(
        lead_ref="ACME-1042", score=2, reason="wrong industry, no budget"
    )


def test_score_alone_after_the_lead_gives_an_empty_reason() -> None:
    assert parse_rate_lead("ACME-1042 5") == RatingInput(lead_ref="ACME-1042", score=5, reason="")


@pytest.mark.parametrize(
    ("text", "lead_ref"),
    [
        ('"Acme Corp" 4 ready to buy', "Acme Corp"),
        ("“Acme Corp” 4 ready to buy", "Acme Corp"),
        ("”Acme Corp” 4 ready to buy", "Acme Corp"),
        ("‘Acme Corp’ 4 ready to buy", "Acme Corp"),
        ("'Acme Corp' 4 ready to buy", "Acme Corp"),
        ('"  Acme Corp  " 4 ready to buy', "Acme Corp"),
    ],
    ids=["ascii", "smart-double", "right-double-both-sides", "smart-single", "ascii-single", "pad"],
)
def test_quoted_lead_reference_may_contain_spaces(text: str, lead_ref: str) -> None:
    assert parse_rate_lead(text) == RatingInput(lead_ref=lead_ref, score=4, reason="ready to buy")


@pytest.mark.parametrize(("score_text", "score"), [("1/5", 1), ("3/5", 3), ("5/5", 5)])
def test_score_out_of_five_is_accepted(score_text: str, score: int) -> None:
    result = parse_rate_lead(f"ACME-1042 {score_text} fine")
    assert result == RatingInput(lead_ref="ACME-1042", score=score, reason="fine")


@pytest.mark.parametrize(
    "text",
    ["ACME-1042\t2\tno budget", "ACME-1042\n2\nno budget", "  ACME-1042   2   no budget  "],
    ids=["tabs", "newlines", "runs-of-spaces"],
)
def test_tabs_newlines_and_runs_of_spaces_separate_the_fields(text: str) -> None:
    assert parse_rate_lead(text) == RatingInput(lead_ref="ACME-1042", score=2, reason="no budget")


def test_multi_line_reason_keeps_its_line_breaks_and_tabs() -> None:
    result = parse_rate_lead("ACME-1042 2 no budget\nwrong industry\n\tsee CRM notes")
    assert isinstance(result, RatingInput)
    assert result.reason == "no budget\nwrong industry\n\tsee CRM notes"


def test_lead_reference_of_200_characters_is_accepted() -> None:
    lead_ref = "L" * 200
    assert parse_rate_lead(f"{lead_ref} 3") == RatingInput(lead_ref=lead_ref, score=3)


def test_reason_of_2000_characters_is_accepted() -> None:
    reason = "r" * 2000
    assert parse_rate_lead(f"ACME-1042 3 {reason}") == RatingInput(
        lead_ref="ACME-1042", score=3, reason=reason
    )


def test_html_escaped_input_is_unescaped() -> None:
    result = parse_rate_lead("&lt;ACME&gt; 2 R&amp;D budget &lt; 10k")
    assert result == RatingInput(lead_ref="<ACME>", score=2, reason="R&D budget < 10k")


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("a &lt; b &gt; c", "a < b > c"),
        ("R&amp;D", "R&D"),
        ("&amp;lt;", "&lt;"),  # a literal "&lt;" typed by the rep stays literal
        ("&amp;amp;", "&amp;"),
        ("no entities", "no entities"),
    ],
)
def test_unescape_slack_undoes_exactly_slacks_escaping(escaped: str, plain: str) -> None:
    assert unescape_slack(escaped) == plain


# --- intents --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_asks_for_the_form(text: str) -> None:
    assert parse_rate_lead(text) is Intent.OPEN_MODAL


@pytest.mark.parametrize("text", ["help", "HELP", "Help", "--help", " help "])
def test_help_words_ask_for_help(text: str) -> None:
    assert parse_rate_lead(text) is Intent.HELP


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ACME-1042 0", "`0` is not a score"),
        ("ACME-1042 6", "`6` is not a score"),
        ("ACME-1042 2.5 meh", "`2.5` is not a score"),
        ("ACME-1042 two meh", "`two` is not a score"),
        ("ACME-1042 -1", "`-1` is not a score"),
        ("ACME-1042 6/5", "`6/5` is not a score"),
        ("ACME-1042 ２", "`２` is not a score"),
        ("ACME-1042", "What score?"),
        ("2", "score but no lead"),
        ('"" 2', "Which lead?"),
        ("2 ACME", "the score came first"),
        ("L" * 201 + " 2", "201 characters long; the limit is 200"),
        ("ACME-1042 2 " + "r" * 2001, "2,001 characters long; the limit is 2,000"),
        ("AC\x00ME 2", "lead reference contains control characters"),
        ("AC\x1bME 2", "lead reference contains control characters"),
        ("AC\x7fME 2", "lead reference contains control characters"),
        ('"Acme\nCorp" 2', "lead reference contains control characters"),
        ("ACME-1042 2 no\x00budget", "reason contains control characters"),
        ("ACME-1042 2 no\x07budget", "reason contains control characters"),
        ("ACME-1042 2 no\x1bbudget", "reason contains control characters"),
        ("\ud800 2", "lead reference contains control characters"),
        ("ACME-1042 2 bad \ud800 reason", "reason contains control characters"),
        ('"Acme Corp 2 no budget', "opening quote but no closing quote"),
        ("“Acme Corp 2 no budget", "opening quote but no closing quote"),
    ],
    ids=[
        "score-0",
        "score-6",
        "score-2.5",
        "score-word",
        "score-negative",
        "score-6-of-5",
        "score-fullwidth-digit",
        "missing-score",
        "missing-lead",
        "empty-quoted-lead",
        "score-first",
        "lead-201-chars",
        "reason-2001-chars",
        "nul-in-lead",
        "escape-in-lead",
        "del-in-lead",
        "newline-in-quoted-lead",
        "nul-in-reason",
        "bell-in-reason",
        "escape-in-reason",
        "surrogate-in-lead",
        "surrogate-in-reason",
        "unclosed-ascii-quote",
        "unclosed-smart-quote",
    ],
)
def test_bad_input_states_the_problem_and_shows_the_usage_example(text: str, problem: str) -> None:
    message = usage_error(parse_rate_lead(text)).message
    assert problem in message.split("\n\n", 1)[0]
    assert USAGE_EXAMPLE in message


def test_score_first_suggests_the_fields_the_other_way_round() -> None:
    message = usage_error(parse_rate_lead("2 ACME")).message
    assert "/rate-lead ACME 2" in message


def test_unprintable_score_is_not_echoed_back() -> None:
    problem = usage_error(parse_rate_lead("ACME-1042 4\x00")).problem
    assert "\x00" not in problem
    assert "is not a score" in problem


def test_long_bad_score_is_shortened_in_the_message() -> None:
    problem = usage_error(parse_rate_lead("ACME-1042 " + "9" * 500)).problem
    assert "9" * 21 not in problem
    assert "9" * 20 + "…" in problem


# --- the form's fields ----------------------------------------------------------------


def test_rating_field_problems_is_empty_for_a_valid_form() -> None:
    problems = rating_field_problems(
        lead_ref="ACME-1042", score_text="2", reason="no budget", tags=("no_budget",)
    )
    assert problems == {}


def test_rating_field_problems_reports_every_bad_field_at_once() -> None:
    problems = rating_field_problems(
        lead_ref="", score_text="9", reason="x\x00", tags=("no_budget", "made_up")
    )
    assert set(problems) == {"lead", "score", "reason", "tags"}
    assert "made_up" in problems["tags"]
    assert "no_budget" not in problems["tags"]


def test_validate_rating_keeps_known_tags_and_strips_the_text_fields() -> None:
    result = validate_rating(
        lead_ref="  ACME-1042 ", score_text="4", reason=" ready \n", tags=("great_fit",)
    )
    assert result == RatingInput(lead_ref="ACME-1042", score=4, reason="ready", tags=("great_fit",))


def test_validate_rating_reports_an_unknown_tag() -> None:
    result = validate_rating(lead_ref="ACME-1042", score_text="4", reason="", tags=("nope",))
    assert "Unknown reason tag: nope" in usage_error(result).problem


def test_validate_rating_accepts_a_padded_score_that_rating_field_problems_accepts() -> None:
    # The form's score could arrive with spaces around it; rating_field_problems strips it.
    assert rating_field_problems(lead_ref="ACME-1042", score_text=" 3 ", reason="") == {}
    result = validate_rating(lead_ref="ACME-1042", score_text=" 3 ", reason="")
    assert result == RatingInput(lead_ref="ACME-1042", score=3)


# --- properties -----------------------------------------------------------------------

any_character = st.characters(exclude_categories=())  # includes controls and lone surrogates
COMMAND_PIECES = [
    " ",
    "\t",
    "\n",
    '"',
    "“",
    "”",
    "‘",
    "’",
    "'",
    "&lt;",
    "&gt;",
    "&amp;",
    "&",
    "0",
    "1",
    "3",
    "5",
    "6",
    "/5",
    "2.5",
    "-1",
    "help",
    "\x00",
    "\x7f",
    "\ud800",
    "\u2028",
    "\xa0",
    "ACME-1042",
    "L" * 199,
    "r" * 1999,
]
command_like_text = st.lists(
    st.sampled_from(COMMAND_PIECES) | st.text(any_character, max_size=3), max_size=12
).map("".join)


@PROPERTY
@given(text=st.text(any_character) | command_like_text)
@example(text="L" * 201 + " 3")
@example(text="ACME 3 " + "r" * 2001)
@example(text='"' + " " * 5 + '" 3')
def test_any_text_gives_a_valid_rating_a_usage_error_or_an_intent(text: str) -> None:
    result = parse_rate_lead(text)
    if isinstance(result, RatingInput):
        assert 1 <= result.score <= 5
        assert result.lead_ref
        assert len(result.lead_ref) <= 200
        assert not has_control_characters(result.lead_ref)
        assert len(result.reason) <= 2000
        assert not has_control_characters(result.reason, allowed="\t\n")
    elif isinstance(result, UsageError):
        assert result.problem
        assert USAGE_EXAMPLE in result.message
    else:
        assert result in (Intent.OPEN_MODAL, Intent.HELP)


unquoted_lead = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=200
).filter(lambda s: not any(ch.isspace() for ch in s) and s[0] not in OPENING_QUOTES)
reason_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs")) | st.sampled_from("\t\n"), max_size=2000
)
score_text = st.tuples(st.integers(1, 5), st.booleans()).map(
    lambda pair: f"{pair[0]}/5" if pair[1] else str(pair[0])
)


@PROPERTY
@given(lead=unquoted_lead, score=score_text, reason=reason_text)
@example(lead="L" * 200, score="5", reason="r" * 2000)
@example(lead="3", score="2", reason="")
@example(lead="a&lt;b", score="1", reason="R&D <b> &amp;")
def test_valid_rating_round_trips_through_the_command_text(
    lead: str, score: str, reason: str
) -> None:
    result = parse_rate_lead(slack_escape(f"{lead} {score} {reason}"))
    assert result == RatingInput(
        lead_ref=lead, score=int(score.removesuffix("/5")), reason=reason.strip()
    )


@PROPERTY
@given(
    quotes=st.sampled_from(sorted(OPENING_QUOTES.items())),
    lead=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=200),
    score=st.integers(1, 5),
    reason=reason_text,
)
def test_quoted_lead_round_trips_through_the_command_text(
    quotes: tuple[str, str], lead: str, score: int, reason: str
) -> None:
    opening, closing = quotes
    lead = lead.replace(closing, "").strip()
    if not lead:
        lead = "Acme Corp"
    result = parse_rate_lead(slack_escape(f"{opening}{lead}{closing} {score} {reason}"))
    assert result == RatingInput(lead_ref=lead, score=score, reason=reason.strip())


field_tags = st.lists(st.sampled_from(sorted(REASON_TAGS)) | st.text(any_character)).map(tuple)


@PROPERTY
@given(
    lead_ref=st.text(any_character),
    score_text=st.text(any_character) | score_text,
    reason=st.text(any_character),
    tags=field_tags,
)
def test_rating_field_problems_never_raises_and_names_only_known_fields(
    lead_ref: str, score_text: str, reason: str, tags: tuple[str, ...]
) -> None:
    problems = rating_field_problems(
        lead_ref=lead_ref, score_text=score_text, reason=reason, tags=tags
    )
    assert set(problems) <= {"lead", "score", "reason", "tags"}
    assert all(isinstance(text, str) and text for text in problems.values())


@PROPERTY
@given(
    lead_ref=st.text(any_character, max_size=210),
    score_text=st.text(any_character, max_size=5) | score_text,
    reason=st.text(any_character),
    tags=field_tags,
)
def test_validate_rating_fails_exactly_when_rating_field_problems_finds_a_problem(
    lead_ref: str, score_text: str, reason: str, tags: tuple[str, ...]
) -> None:
    problems = rating_field_problems(
        lead_ref=lead_ref, score_text=score_text, reason=reason, tags=tags
    )
    result = validate_rating(lead_ref=lead_ref, score_text=score_text, reason=reason, tags=tags)
    if problems:
        assert result == UsageError(next(iter(problems.values())))
    else:
        assert isinstance(result, RatingInput)
        assert result.tags == tags
