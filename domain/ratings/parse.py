"""Turning what a rep typed into a valid rating, or into a message saying what to fix."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from enum import Enum

from domain.parsing import UsageError, shown, unescape_slack

MIN_SCORE = 1
MAX_SCORE = 5
MAX_LEAD_REF_LENGTH = 200
MAX_REASON_LENGTH = 2000

REASON_TAGS: dict[str, str] = {
    "wrong_fit": "Wrong fit",
    "no_budget": "No budget",
    "no_authority": "No authority",
    "bad_contact_data": "Bad contact data",
    "not_ready": "Not ready to buy",
    "great_fit": "Great fit",
}

USAGE = (
    "*How to rate a lead*\n"
    "`/rate-lead <lead> <score 1-5> [reason]`\n"
    "Example: `/rate-lead ACME-1042 2 wrong industry, no budget`\n"
    "• The score is a whole number from 1 (poor lead) to 5 (great lead).\n"
    '• A lead reference with spaces goes in quotes: `/rate-lead "Acme Corp" 4 ready to buy`\n'
    "• `/rate-lead` on its own opens a form."
)


def _usage_error(problem: str) -> UsageError:
    """What was wrong, then how to write the command."""
    return UsageError(problem, usage=USAGE)


_HELP_WORDS = {"help", "-h", "--help", "?", "usage"}
_QUOTES = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’"}
_ALLOWED_IN_TEXT = {"\n", "\t"}


class Intent(Enum):
    """What a ``/rate-lead`` without a rating in it asks for."""

    OPEN_MODAL = "open_modal"
    HELP = "help"


@dataclass(frozen=True)
class RatingInput:
    """A validated rating, ready to store."""

    lead_ref: str
    score: int
    reason: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


def parse_rate_lead(text: str) -> RatingInput | UsageError | Intent:
    """Parse ``/rate-lead`` text: ``<lead> <score> [reason]``, ``help``, or nothing (modal)."""
    text = unescape_slack(text).strip()
    if not text:
        return Intent.OPEN_MODAL
    if text.lower() in _HELP_WORDS:
        return Intent.HELP
    split = _split_lead_ref(text)
    if isinstance(split, UsageError):
        return split
    lead_ref, rest = split
    score_text, reason = _first_word(rest)
    if not score_text and _parse_score(lead_ref) is not None and " " not in text:
        return _usage_error("You gave a score but no lead. Put the lead reference first.")
    if _parse_score(score_text) is None and _parse_score(lead_ref) is not None:
        return _usage_error(
            f"It looks like the score came first. Write the lead first, then the score: "
            f"`/rate-lead {shown(score_text, 20) if score_text else 'ACME-1042'} {lead_ref} …`"
        )
    return validate_rating(lead_ref=lead_ref, score_text=score_text, reason=reason)


def validate_rating(
    *, lead_ref: str, score_text: str, reason: str, tags: tuple[str, ...] = ()
) -> RatingInput | UsageError:
    """Check each field of a rating; the first problem found is reported."""
    problems = rating_field_problems(
        lead_ref=lead_ref, score_text=score_text, reason=reason, tags=tags
    )
    if problems:
        return _usage_error(next(iter(problems.values())))
    score = _parse_score(score_text.strip())
    assert score is not None  # rating_field_problems has checked it
    return RatingInput(
        lead_ref=lead_ref.strip(), score=score, reason=normalise_newlines(reason).strip(), tags=tags
    )


def rating_field_problems(
    *, lead_ref: str, score_text: str, reason: str, tags: tuple[str, ...] = ()
) -> dict[str, str]:
    """Problems per field (``lead``, ``score``, ``reason``, ``tags``); empty when all is well."""
    problems: dict[str, str] = {}
    lead_problem = _lead_ref_problem(lead_ref.strip())
    if lead_problem:
        problems["lead"] = lead_problem
    score_problem = _score_problem(score_text.strip())
    if score_problem:
        problems["score"] = score_problem
    reason_problem = _reason_problem(normalise_newlines(reason).strip())
    if reason_problem:
        problems["reason"] = reason_problem
    unknown = [tag for tag in tags if tag not in REASON_TAGS]
    if unknown:
        problems["tags"] = f"Unknown reason tag: {', '.join(unknown)}."
    return problems


def _split_lead_ref(text: str) -> tuple[str, str] | UsageError:
    closing = _QUOTES.get(text[0])
    if closing is None:
        return _first_word(text)
    end = text.find(closing, 1)
    if end == -1:
        return _usage_error("The lead reference has an opening quote but no closing quote.")
    return text[1:end].strip(), text[end + 1 :]


def _first_word(text: str) -> tuple[str, str]:
    parts = text.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def _parse_score(score_text: str) -> int | None:
    if score_text.endswith("/5"):
        score_text = score_text[:-2]
    if not score_text.isascii() or not score_text.isdigit():
        return None
    score = int(score_text)
    return score if MIN_SCORE <= score <= MAX_SCORE else None


def _lead_ref_problem(lead_ref: str) -> str | None:
    if not lead_ref:
        return "Which lead? Give the lead's reference (its CRM ID or name) first."
    if len(lead_ref) > MAX_LEAD_REF_LENGTH:
        return (
            f"That lead reference is {len(lead_ref):,} characters long; "
            f"the limit is {MAX_LEAD_REF_LENGTH}. Use the lead's CRM ID."
        )
    if _has_control_characters(lead_ref, allowed=set()):
        return "The lead reference contains control characters. Type it again as plain text."
    return None


def _score_problem(score_text: str) -> str | None:
    if not score_text:
        return "What score? Add a score from 1 (poor) to 5 (great) after the lead."
    if _parse_score(score_text) is None:
        return (
            f"`{shown(score_text, 20)}` is not a score. "
            "Scores are whole numbers from 1 (poor) to 5 (great)."
        )
    return None


def normalise_newlines(text: str) -> str:
    """Windows and old-Mac line endings become ``\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def reason_problem(reason: str) -> str | None:
    """Why a free-text reason can't be stored (too long, control characters), or None."""
    return _reason_problem(reason)


def _reason_problem(reason: str) -> str | None:
    if len(reason) > MAX_REASON_LENGTH:
        return (
            f"The reason is {len(reason):,} characters long; the limit is "
            f"{MAX_REASON_LENGTH:,}. Shorten it and try again."
        )
    if _has_control_characters(reason, allowed=_ALLOWED_IN_TEXT):
        return "The reason contains control characters. Type it again as plain text."
    return None


def _has_control_characters(text: str, *, allowed: set[str]) -> bool:
    # Cc covers NUL and friends (PostgreSQL refuses NUL in text); Cs are lone surrogates,
    # which no database encoding can store.
    return any(unicodedata.category(ch) in {"Cc", "Cs"} and ch not in allowed for ch in text)
