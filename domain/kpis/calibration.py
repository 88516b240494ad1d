"""Rater calibration: how often marketing agreed with a rep's ratings, and how well the
rep's scores predicted the leads' outcomes, with one simple, documented measure.

**Concordance** (the area under the ROC curve, for a 1-5 score): of every pair of one won
and one lost lead the rep rated, the share where the won lead got the higher score, a tie
counting half. 1.0: every won lead was scored above every lost one; 0.5: the scores say
nothing about the outcome; 0.0: they point the wrong way. It needs at least one won and
one lost lead, and reads no meaning into the scale's steps (a 5 against a 4 weighs what a
5 against a 1 does), which suits a 1-5 judgement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from storage.reports import RatedOutcome
from storage.verdicts import AGREE, DISPUTE


def concordance(outcomes: Iterable[tuple[int, bool]]) -> float | None:
    """(score, won) for each lead with a known outcome -> concordance, None without both a
    won and a lost lead. Counts per score, so it takes one pass whatever the number of
    leads."""
    won: Counter[int] = Counter()
    lost: Counter[int] = Counter()
    for score, was_won in outcomes:
        (won if was_won else lost)[score] += 1
    pairs = sum(won.values()) * sum(lost.values())
    if not pairs:
        return None
    favourable = 0.0
    for won_score, won_count in won.items():
        for lost_score, lost_count in lost.items():
            if won_score > lost_score:
                favourable += won_count * lost_count
            elif won_score == lost_score:
                favourable += won_count * lost_count / 2
    return favourable / pairs


def calibration_numbers(rows: Sequence[RatedOutcome]) -> dict[str, Any]:
    """``calibration`` of ``report --json``: per rep and per campaign, how often marketing
    agreed with the ratings and how well their scores ordered the outcomes."""
    by_rep: dict[str, list[RatedOutcome]] = {}
    by_campaign: dict[str, list[RatedOutcome]] = {}
    for row in rows:
        by_rep.setdefault(row.rater_id, []).append(row)
        by_campaign.setdefault(row.campaign, []).append(row)
    return {
        "by_rep": {rep: _figures(group) for rep, group in sorted(by_rep.items())},
        "by_campaign": {name: _figures(group) for name, group in sorted(by_campaign.items())},
    }


def _figures(rows: Sequence[RatedOutcome]) -> dict[str, Any]:
    agreed = sum(1 for row in rows if row.verdict == AGREE)
    disputed = sum(1 for row in rows if row.verdict == DISPUTE)
    decided = [(row.score, row.outcome == "won") for row in rows if row.outcome is not None]
    score = concordance(decided)
    return {
        "ratings": len(rows),
        "agreed": agreed,
        "disputed": disputed,
        "agreed_pct": round(100 * agreed / (agreed + disputed), 1) if agreed + disputed else None,
        "won": sum(1 for _, won in decided if won),
        "lost": sum(1 for _, won in decided if not won),
        "concordance": None if score is None else round(score, 2),
    }
