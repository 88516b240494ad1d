"""Which lead a Slack message is about: the words of a message that may be lead references.

For the "Rate this lead" message shortcut: a CRM notification, a hand-off or a rep's note
names a lead somewhere in its text, its blocks or its attachments, often inside a link.
Lead references are the CRM's own ids (any text without spaces), so this only proposes
candidates, in reading order; the workspace's leads decide which one is known.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from domain.ratings.parse import MAX_LEAD_REF_LENGTH

# The keys under which a message, its blocks and attachments carry text people read.
TEXT_KEYS = frozenset({"text", "fallback", "pretext", "title", "value"})
# Slack markup and punctuation around a word: link brackets and labels, formatting, quotes.
_SEPARATORS = re.compile(r"[\s<>|*_~`\"'()\[\]{},;]+")
_TRAILING = ".:!?"
# Where a link's address splits into the path segments and query values a CRM puts ids in.
_URL_PARTS = re.compile(r"[/?#=&]+")
# Enough for any real message; a huge one is not searched past this many words.
MAX_CANDIDATES = 200
_MAX_DEPTH = 12


def candidate_refs(message: Mapping[str, Any], *, limit: int = MAX_CANDIDATES) -> list[str]:
    """The distinct words of ``message`` that could be lead references, first seen first.

    A link's address gives its path segments and query values too (``…/Lead/00Q5e…/view``
    → ``00Q5e…``, ``…?lead=ACME-1042`` → ``ACME-1042``).
    """
    found: dict[str, None] = {}
    for text in _texts(message, depth=0):
        for word in _SEPARATORS.split(text):
            for candidate in _candidates_of(word):
                found.setdefault(candidate)
                if len(found) >= limit:
                    return list(found)
    return list(found)


def first_known(candidates: list[str], known: set[str]) -> str | None:
    """The first candidate that names a known lead."""
    return next((candidate for candidate in candidates if candidate in known), None)


def _candidates_of(word: str) -> Iterator[str]:
    word = word.strip(_TRAILING)
    if not word:
        return
    if len(word) <= MAX_LEAD_REF_LENGTH:
        yield word
    if _URL_PARTS.search(word):
        for part in _URL_PARTS.split(word):
            part = part.strip(_TRAILING)
            if part and part != word and len(part) <= MAX_LEAD_REF_LENGTH:
                yield part


def _texts(part: Any, *, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(part, Mapping):
        for key, value in part.items():
            if isinstance(value, str):
                if key in TEXT_KEYS:
                    yield value
            else:
                yield from _texts(value, depth=depth + 1)
    elif isinstance(part, list):
        for item in part:
            yield from _texts(item, depth=depth + 1)
