"""The kinds table: every kind the domain can owe has a sender."""

from __future__ import annotations

from bot.outbox.kinds import BULK_KINDS, KINDS
from domain.outbox_kinds import ALL_KINDS, HANDOFF_DIGEST, HANDOFF_POST


def test_every_kind_the_domain_owes_has_a_sender_and_no_other() -> None:
    assert set(KINDS) == ALL_KINDS


def test_only_an_imports_hand_offs_wait_behind_the_rest() -> None:
    assert set(BULK_KINDS) == {HANDOFF_POST, HANDOFF_DIGEST}
