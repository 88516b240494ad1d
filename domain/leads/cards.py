"""What hand-off messages and digests show: the data the Block Kit views take."""

from __future__ import annotations

from dataclasses import dataclass

# Two blocks per lead (details, buttons) plus a heading and a footer: 42 of Slack's 50.
DIGEST_SHOWN_LEADS = 20
# References of the leads beyond those, listed in the footer (cut to Slack's text limit).
DIGEST_LISTED_REFS = 50


@dataclass(frozen=True)
class HandoffCard:
    """What a hand-off message shows about its lead, independent of storage."""

    lead_id: int
    lead_ref: str
    name: str | None = None
    company: str | None = None
    campaign: str | None = None
    source: str | None = None
    owner_id: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class RaterScore:
    """One rep's latest score of the lead."""

    rater_id: str
    score: int


@dataclass(frozen=True)
class ScoreClick:
    """What a rating button says: this lead, this score."""

    lead_id: int
    score: int


@dataclass(frozen=True)
class DigestLead:
    """One lead shown in a digest, with each rep's latest score of it."""

    card: HandoffCard
    scores: tuple[RaterScore, ...] = ()


@dataclass(frozen=True)
class Digest:
    """A digest: for whom (None: the hand-off channel), its first leads, and the rest."""

    owner_id: str | None
    total: int
    shown: tuple[DigestLead, ...]
    more_refs: tuple[str, ...] = ()
