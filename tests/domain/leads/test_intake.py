"""The hand-off domain's pure parts: merging lead fields, choosing a workspace, notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

import domain.leads.intake
from domain.leads.handoffs import marketing_notes
from domain.leads.intake import (
    WorkspaceProblem,
    choose_workspace,
    fold_records,
    import_leads,
    intake_leads,
    merge_fields,
    record_fields,
    storage_problem,
)
from domain.leads.records import LeadRecord, RowError
from storage.engine import SessionFactory
from storage.models import Lead, LeadFieldChange, OutboxMessage
from storage.ratings import get_or_create_lead
from tests.conftest import FakeClock

HOW = "pass --workspace TEAM_ID"
SIGNED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_a_blank_incoming_field_keeps_the_stored_value_and_attributes_merge() -> None:
    stored = record_fields(
        LeadRecord(
            external_ref="A",
            name="Ann",
            email="a@x.example",
            attributes={"region": "EU", "tier": "1"},
        )
    )
    incoming = record_fields(LeadRecord(external_ref="A", name="Ann Lee", attributes={"tier": "2"}))

    merged = merge_fields(stored, incoming)

    assert (merged["name"], merged["email"]) == ("Ann Lee", "a@x.example")
    assert merged["attributes"] == {"region": "EU", "tier": "2"}


def test_a_reference_given_twice_folds_into_one_lead_in_order() -> None:
    folded = fold_records(
        [
            LeadRecord(external_ref="A", name="Ann", company="Acme"),
            LeadRecord(external_ref="B", name="Bo"),
            LeadRecord(external_ref="A", name="Ann Lee"),
        ]
    )

    assert list(folded) == ["A", "B"]
    assert (folded["A"]["name"], folded["A"]["company"]) == ("Ann Lee", "Acme")


@pytest.mark.parametrize(
    ("known", "wanted", "expected"),
    [
        (["T0A"], None, "T0A"),
        (["T0A", "T0B"], "T0B", "T0B"),
        ([], "T0NEW", "T0NEW"),
        (["T0A"], " T0A ", "T0A"),
        (["E0GRID"], "E0GRID", "E0GRID"),
    ],
)
def test_the_workspace_is_the_one_asked_for_or_the_only_one(
    known: list[str], wanted: str | None, expected: str
) -> None:
    assert choose_workspace(known, wanted, how_to_choose=HOW) == expected


@pytest.mark.parametrize(
    ("known", "wanted", "message"),
    [
        ([], None, "Start the bot once with `leadloop run`, or pass --workspace TEAM_ID."),
        (["T0A", "T0B"], None, "leadloop runs in several workspaces (T0A, T0B): pass --workspace"),
        (["T0A"], "T0B", "T0B is not a workspace leadloop runs in (it knows T0A)"),
        (["T0A"], "t0a", "'t0a' is not a Slack workspace ID"),
        (["T0A"], "T0A\x00", "'T0A?' is not a Slack workspace ID"),
    ],
)
def test_a_workspace_that_cannot_be_chosen_says_how_to_choose(
    known: list[str], wanted: str | None, message: str
) -> None:
    problem = choose_workspace(known, wanted, how_to_choose=HOW)

    assert isinstance(problem, WorkspaceProblem)
    assert message in problem.message


@pytest.mark.parametrize(
    ("attributes", "notes"),
    [
        ({"notes": "call me"}, "call me"),
        ({"Notes": " call me "}, "call me"),
        ({"notes": "generic", "Marketing_Notes": "specific"}, "specific"),
        ({"marketing_notes": "  ", "notes": "fallback"}, "fallback"),
        ({"region": "EU"}, None),
    ],
)
def test_marketing_notes_come_from_the_notes_attributes(
    attributes: dict[str, str], notes: str | None
) -> None:
    assert marketing_notes(attributes) == notes


def test_an_owner_id_the_table_cannot_hold_is_a_problem() -> None:
    fits = LeadRecord(external_ref="A", owner_slack_id="U" + "0" * 31)
    too_long = LeadRecord(external_ref="A", owner_slack_id="U" + "0" * 32)

    assert storage_problem(fits, where="lead 1") is None
    problem = storage_problem(too_long, where="lead 1")
    assert problem is not None and problem.message.startswith("lead 1: owner_slack_id is 33")


def test_a_lead_created_meanwhile_by_another_request_is_updated_not_duplicated(
    session_factory: SessionFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory() as session:
        intake_leads(
            session, team_id="T0A", leads=fold_records([LeadRecord("A-1", name="Ann")]), now=clock()
        )
        session.commit()
    real_lookup = domain.leads.intake.leads_by_ref
    calls: list[object] = []

    def racing_lookup(session: Session, **kwargs: Any) -> dict[str, Lead]:
        calls.append(kwargs)  # the first lookup misses it, as if it were not committed yet
        return {} if len(calls) == 1 else real_lookup(session, **kwargs)

    monkeypatch.setattr(domain.leads.intake, "leads_by_ref", racing_lookup)
    with session_factory() as session:
        counts = intake_leads(
            session,
            team_id="T0A",
            leads=fold_records([LeadRecord("A-1", name="Ann Lee")]),
            now=clock(),
        )
        session.commit()

    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 0)
    assert counts.handoff_message_ids == []
    assert len(calls) == 2
    with session_factory() as session:
        assert [lead.name for lead in session.exec(select(Lead)).all()] == ["Ann Lee"]
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_batches_and_repeated_references_give_one_write_and_one_count_per_lead(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    rows: list[LeadRecord | RowError] = [
        LeadRecord("A", name="Ann"),
        LeadRecord("B", name="Bo"),
        RowError(row=4, message="row 4: external_ref is empty"),
        LeadRecord("C", name="Cy"),
        LeadRecord("A", company="Acme"),
        LeadRecord("D", name="Di"),
        LeadRecord("A", name="Ann Lee"),
        LeadRecord("E", name="Ed"),
    ]

    def run(dry_run: bool) -> tuple[int, int, int, int, int, int]:
        summary = import_leads(
            session_factory,
            team_id="T0A",
            read=lambda: iter(rows),
            now=clock(),
            dry_run=dry_run,
            batch_size=2,
        )
        return (
            summary.created,
            summary.updated,
            summary.unchanged,
            summary.repeated,
            len(summary.skipped),
            summary.handoffs_owed,
        )

    assert run(dry_run=True) == (5, 0, 0, 2, 1, 0)
    assert run(dry_run=False) == (5, 0, 0, 2, 1, 5)
    assert run(dry_run=False) == (0, 0, 5, 2, 1, 0)
    with session_factory() as session:
        ann = session.exec(select(Lead).where(Lead.external_ref == "A")).one()
        assert (ann.name, ann.company) == ("Ann Lee", "Acme")
        assert len(session.exec(select(Lead)).all()) == 5


def signed_intake(
    session_factory: SessionFactory, clock: FakeClock, signed_at: datetime, *records: LeadRecord
) -> tuple[int, int, int, int]:
    """A webhook request's leads, signed at ``signed_at``; its counts."""
    with session_factory() as session:
        counts = intake_leads(
            session, team_id="T0A", leads=fold_records(records), now=clock(), signed_at=signed_at
        )
        session.commit()
    return counts.created, counts.updated, counts.unchanged, counts.stale


def stored(session_factory: SessionFactory) -> dict[str, tuple[str | None, datetime | None]]:
    with session_factory() as session:
        leads = session.exec(select(Lead)).all()
    return {lead.external_ref: (lead.name, lead.webhook_signed_at) for lead in leads}


def test_a_lead_changed_by_a_later_signed_request_is_left_alone(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    later, earlier = SIGNED, SIGNED - timedelta(seconds=30)
    signed_intake(session_factory, clock, later, LeadRecord("A", name="Ann Lee"))

    counts = signed_intake(
        session_factory, clock, earlier, LeadRecord("A", name="Ann"), LeadRecord("B", name="Bo")
    )

    assert counts == (1, 0, 0, 1)
    assert stored(session_factory) == {"A": ("Ann Lee", later), "B": ("Bo", earlier)}


def test_an_unchanged_lead_still_remembers_the_later_signature_time(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    signed_intake(session_factory, clock, SIGNED, LeadRecord("A", name="Ann"))
    signed_intake(
        session_factory, clock, SIGNED + timedelta(seconds=5), LeadRecord("A", name="Ann")
    )

    counts = signed_intake(
        session_factory, clock, SIGNED + timedelta(seconds=2), LeadRecord("A", name="Annie")
    )

    assert counts == (0, 0, 0, 1)
    assert stored(session_factory) == {"A": ("Ann", SIGNED + timedelta(seconds=5))}


def test_an_import_changes_leads_whatever_their_signature_time_and_keeps_it(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    signed_intake(session_factory, clock, SIGNED, LeadRecord("A", name="Ann"))

    summary = import_leads(
        session_factory,
        team_id="T0A",
        read=lambda: iter([LeadRecord("A", name="Ann Lee")]),
        now=clock(),
    )

    assert (summary.created, summary.updated) == (0, 1)
    assert stored(session_factory) == {"A": ("Ann Lee", SIGNED)}


def test_a_lead_created_meanwhile_by_a_later_signed_request_is_left_alone(
    session_factory: SessionFactory, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_intake(session_factory, clock, SIGNED, LeadRecord("A-1", name="Ann Lee"))
    real_lookup = domain.leads.intake.leads_by_ref
    calls: list[dict[str, Any]] = []

    def racing_lookup(session: Session, **kwargs: Any) -> dict[str, Lead]:
        calls.append(kwargs)  # the first lookup misses it, as if it were not committed yet
        return {} if len(calls) == 1 else real_lookup(session, **kwargs)

    monkeypatch.setattr(domain.leads.intake, "leads_by_ref", racing_lookup)
    counts = signed_intake(
        session_factory, clock, SIGNED - timedelta(seconds=1), LeadRecord("A-1", name="Ann")
    )

    assert counts == (0, 0, 0, 1)
    assert [call["lock"] for call in calls] == [True, True]
    assert stored(session_factory) == {"A-1": ("Ann Lee", SIGNED)}
    with session_factory() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def intake(session_factory: SessionFactory, clock: FakeClock, *records: LeadRecord) -> None:
    """An import batch of ``records`` at the clock's time."""
    with session_factory() as session:
        intake_leads(session, team_id="T0A", leads=fold_records(records), now=clock())
        session.commit()


def report_times(session_factory: SessionFactory, ref: str) -> tuple[Any, ...]:
    """The times the reports read of lead ``ref``: handed off, and status with its time."""
    with session_factory() as session:
        lead = session.exec(select(Lead).where(Lead.external_ref == ref)).one()
    return (lead.handed_off_at, lead.status, lead.status_changed_at)


def test_a_lead_is_handed_off_when_intake_first_brings_it_and_never_again(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    first = clock()
    intake(session_factory, clock, LeadRecord("A", name="Ann", status="open"))
    clock.advance(days=3)
    intake(session_factory, clock, LeadRecord("A", name="Ann Lee", status="open"))
    unchanged = report_times(session_factory, "A")
    clock.advance(days=3)
    intake(session_factory, clock, LeadRecord("A", status="won"))

    assert unchanged == (first, "open", first)
    assert report_times(session_factory, "A") == (first, "won", clock())


def test_a_lead_rate_lead_created_is_handed_off_when_an_import_first_brings_it(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        get_or_create_lead(session, team_id="T0A", external_ref="A", now=clock())
        session.commit()
    never = report_times(session_factory, "A")
    clock.advance(days=2)

    intake(session_factory, clock, LeadRecord("A"))  # nothing to change but the hand-off

    assert never == (None, None, None)
    assert report_times(session_factory, "A") == (clock(), None, None)


def test_a_reimport_keeps_what_campaign_source_and_status_were_before_it_changed_them(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    intake(session_factory, clock, LeadRecord("A", campaign="Webinar", source="hubspot"))
    clock.advance(days=2)
    intake(session_factory, clock, LeadRecord("A", campaign="Ads", status="won"))
    clock.advance(days=1)
    intake(session_factory, clock, LeadRecord("A", campaign="Ads", name="Ann"))  # no change

    with session_factory() as session:
        changes = session.exec(select(LeadFieldChange).order_by(col(LeadFieldChange.id))).all()
    assert [(c.field, c.value_before, c.value_after) for c in changes] == [
        ("campaign", "Webinar", "Ads"),
        ("status", None, "won"),
    ]
    assert {change.changed_at for change in changes} == {clock() - timedelta(days=1)}
