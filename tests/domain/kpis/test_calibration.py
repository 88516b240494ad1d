"""The calibration measure: concordance of a rep's scores with the leads' outcomes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.kpis.calibration import concordance

OUTCOMES = st.lists(st.tuples(st.integers(1, 5), st.booleans()), max_size=60)


def by_pairs(outcomes: list[tuple[int, bool]]) -> float | None:
    """The definition, pair by pair (slow, obviously right)."""
    won = [score for score, was_won in outcomes if was_won]
    lost = [score for score, was_won in outcomes if not was_won]
    if not won or not lost:
        return None
    points = [1.0 if w > lo else 0.5 if w == lo else 0.0 for w, lo in itertools.product(won, lost)]
    return sum(points) / len(points)


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([(5, True), (1, False)], 1.0),
        ([(1, True), (5, False)], 0.0),
        ([(3, True), (3, False)], 0.5),
        ([(5, True), (4, True), (2, False), (4, False)], 0.875),
        ([(5, True)], None),
        ([], None),
    ],
)
def test_concordance_by_hand(outcomes: list[tuple[int, bool]], expected: float | None) -> None:
    assert concordance(outcomes) == expected


@given(OUTCOMES)
def test_concordance_is_the_share_of_won_lost_pairs_the_scores_order_right(
    outcomes: list[tuple[int, bool]],
) -> None:
    assert concordance(outcomes) == pytest.approx(by_pairs(outcomes))


@given(OUTCOMES)
def test_reversing_the_scale_mirrors_the_measure(outcomes: list[tuple[int, bool]]) -> None:
    forward = concordance(outcomes)
    reversed_scale = concordance([(6 - score, won) for score, won in outcomes])

    assert (forward is None) == (reversed_scale is None)
    if forward is not None and reversed_scale is not None:
        assert forward + reversed_scale == pytest.approx(1.0)
