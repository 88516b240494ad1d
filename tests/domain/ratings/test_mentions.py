"""Finding the lead references a Slack message may name."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from domain.ratings.mentions import MAX_CANDIDATES, candidate_refs, first_known

REF = st.from_regex(re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]"), fullmatch=True)
FILLER = st.text(alphabet=st.sampled_from(list("abc xyz 123 *_~`<>|,;()")), max_size=40)


def test_words_come_in_reading_order_once_each_without_slack_markup() -> None:
    message = {
        "text": "*ACME-1* and <https://crm.example.com/leads/ACME-2|ACME-2>, again ACME-1.",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "see `ACME-3`"}}],
    }

    found = candidate_refs(message)

    assert found.index("ACME-1") < found.index("ACME-2") < found.index("ACME-3")
    assert found.count("ACME-1") == 1
    assert not any(set(word) & set("<>|*`,") for word in found)


def test_query_values_and_path_segments_of_links_are_candidates() -> None:
    found = candidate_refs({"text": "<https://crm.example.com/open?lead=ACME-9&tab=1|lead>"})

    assert "ACME-9" in found and "crm.example.com" in found


def test_only_text_people_read_is_searched() -> None:
    message = {"text": "hello", "ts": "ACME-1", "user": "U123", "bot_id": "BCRM"}

    assert candidate_refs(message) == ["hello"]


def test_a_huge_message_is_searched_only_so_far() -> None:
    message = {"text": " ".join(f"W{number}" for number in range(10_000))}

    assert len(candidate_refs(message)) == MAX_CANDIDATES


def test_a_deeply_nested_message_does_not_recurse_forever() -> None:
    message: dict[str, object] = {"text": "top"}
    for _ in range(1_000):
        message = {"text": "top", "blocks": [message]}
    message["blocks"] = [message]  # and a cycle, which JSON can't hold but a caller might

    assert candidate_refs(message) == ["top"]


@given(ref=REF, before=FILLER, after=FILLER)
def test_a_reference_anywhere_in_the_text_is_found(ref: str, before: str, after: str) -> None:
    found = candidate_refs({"text": f"{before} {ref} {after}"})

    assert ref in found
    assert first_known(found, {ref}) == ref


@given(words=st.lists(REF, min_size=1, max_size=20))
def test_the_first_known_is_the_first_in_reading_order(words: list[str]) -> None:
    found = candidate_refs({"text": " ".join(words)})
    known = set(words[1:]) | {words[0]}

    assert first_known(found, known) == words[0]
    assert first_known(found, set()) is None
