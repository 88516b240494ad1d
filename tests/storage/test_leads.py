"""Leads in bulk, hand-offs and hand-off messages on real databases, scoped by workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.engine import SessionFactory
from storage.leads import (
    change_score,
    find_handoff,
    handoff_messages,
    insert_leads,
    latest_rating_by,
    latest_scores,
    leads_by_ref,
    lock_lead,
    mark_signed,
    owe_handoffs,
    prune_deliveries,
    record_handoff_message,
    remember_delivery,
    update_leads,
)
from storage.models import (
    Handoff,
    Lead,
    OutboxMessage,
    Rating,
    RatingScoreChange,
    WebhookDelivery,
)
from storage.ratings import add_rating
from tests import slack_payloads as payloads
from tests.conftest import FakeClock

TEAM = payloads.TEAM_ID
OTHER_TEAM = payloads.OTHER_TEAM_ID


def lead_values(ref: str, **fields: Any) -> dict[str, Any]:
    """A lead as the bulk functions take it: every field, unset ones None."""
    values: dict[str, Any] = {
        "external_ref": ref,
        "name": None,
        "email": None,
        "company": None,
        "campaign": None,
        "source": None,
        "owner_id": None,
        "status": None,
        "attributes": {},
    }
    return values | fields


def insert(session_factory: SessionFactory, clock: FakeClock, team_id: str, *refs: str) -> dict:
    with session_factory() as session:
        ids = insert_leads(
            session, team_id=team_id, leads=[lead_values(ref) for ref in refs], now=clock()
        )
        session.commit()
    return ids


def rate(session: Session, lead: Lead, rater_id: str, score: int, clock: FakeClock) -> Rating:
    return add_rating(
        session,
        team_id=lead.team_id,
        lead=lead,
        rater_id=rater_id,
        score=score,
        reason="",
        tags=[],
        via="button",
        origin_channel=None,
        now=clock(),
    )


def test_new_leads_are_inserted_in_bulk_with_their_fields(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        ids = insert_leads(
            session,
            team_id=TEAM,
            leads=[
                lead_values("ACME-1", name="Ann", attributes={"region": "EMEA"}),
                lead_values("ACME-2", owner_id="U0OWNER", status="open"),
            ],
            now=clock(),
        )
        session.commit()

    with session_factory() as session:
        stored = leads_by_ref(session, team_id=TEAM, external_refs=["ACME-1", "ACME-2"])
    assert ids == {"ACME-1": stored["ACME-1"].id, "ACME-2": stored["ACME-2"].id}
    assert (stored["ACME-1"].name, stored["ACME-1"].attributes) == ("Ann", {"region": "EMEA"})
    assert (stored["ACME-2"].owner_id, stored["ACME-2"].status) == ("U0OWNER", "open")
    assert stored["ACME-1"].created_at == stored["ACME-1"].updated_at == clock.now


def test_a_reference_already_stored_is_skipped_not_an_error(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    insert(session_factory, clock, TEAM, "ACME-1")

    ids = insert(session_factory, clock, TEAM, "ACME-1", "ACME-2")

    assert set(ids) == {"ACME-2"}
    with session_factory() as session:
        assert len(session.exec(select(Lead)).all()) == 2


def test_the_same_reference_in_two_workspaces_is_two_leads(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    insert(session_factory, clock, TEAM, "ACME-1")
    insert(session_factory, clock, OTHER_TEAM, "ACME-1")

    with session_factory() as session:
        mine = leads_by_ref(session, team_id=TEAM, external_refs=["ACME-1"])
        theirs = leads_by_ref(session, team_id=OTHER_TEAM, external_refs=["ACME-1"])
    assert mine["ACME-1"].id != theirs["ACME-1"].id
    assert (mine["ACME-1"].team_id, theirs["ACME-1"].team_id) == (TEAM, OTHER_TEAM)


def test_updates_change_every_field_of_the_workspaces_own_leads_only(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    mine = insert(session_factory, clock, TEAM, "ACME-1")["ACME-1"]
    theirs = insert(session_factory, clock, OTHER_TEAM, "ACME-9")["ACME-9"]
    clock.advance(hours=1)
    new_values = lead_values("ignored", name="Ann", attributes={"notes": "hot"})

    with session_factory() as session:
        update_leads(
            session,
            team_id=TEAM,
            changes=[{**new_values, "id": mine}, {**new_values, "id": theirs}],
            now=clock(),
        )
        session.commit()

    with session_factory() as session:
        updated = session.get(Lead, mine)
        untouched = session.get(Lead, theirs)
    assert updated is not None and untouched is not None
    assert (updated.name, updated.attributes, updated.updated_at) == (
        "Ann",
        {"notes": "hot"},
        clock.now,
    )
    assert (updated.external_ref, updated.created_at) == ("ACME-1", clock.now.replace(hour=9))
    assert (untouched.name, untouched.attributes) == (None, {})


def test_each_new_lead_owes_one_handoff_through_the_outbox(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ids = insert(session_factory, clock, TEAM, "ACME-1", "ACME-2")

    with session_factory() as session:
        owed = owe_handoffs(
            session, team_id=TEAM, lead_ids=list(ids.values()), kind="handoff_post", now=clock()
        )
        again = owe_handoffs(
            session, team_id=TEAM, lead_ids=[ids["ACME-1"]], kind="handoff_post", now=clock()
        )
        session.commit()

    assert len(owed) == 2 and again == []
    with session_factory() as session:
        messages = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        handoff = find_handoff(session, team_id=TEAM, outbox_message_id=owed[0])
        foreign = find_handoff(session, team_id=OTHER_TEAM, outbox_message_id=owed[0])
        assert len(session.exec(select(Handoff)).all()) == 2
    assert [(m.kind, m.status, m.team_id) for m in messages] == [
        ("handoff_post", "pending", TEAM)
    ] * 2
    assert handoff is not None and handoff.lead_id in ids.values()
    assert foreign is None


def test_handoff_messages_are_kept_per_target_and_scoped_by_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    lead_id = insert(session_factory, clock, TEAM, "ACME-1")["ACME-1"]
    with session_factory() as session:
        for target, channel, ts in (("U0OWNER", "D0DM", "1.1"), ("CHANDOFF", "CHANDOFF", "1.2")):
            record_handoff_message(
                session,
                team_id=TEAM,
                lead_id=lead_id,
                target=target,
                channel=channel,
                ts=ts,
                now=clock(),
            )
        session.commit()

    with session_factory() as session:
        mine = [
            (m.target, m.channel, m.ts)
            for m in handoff_messages(session, team_id=TEAM, lead_id=lead_id)
        ]
        theirs = handoff_messages(session, team_id=OTHER_TEAM, lead_id=lead_id)
    assert mine == [("U0OWNER", "D0DM", "1.1"), ("CHANDOFF", "CHANDOFF", "1.2")]
    assert theirs == []
    with session_factory() as session, pytest.raises(IntegrityError):
        record_handoff_message(
            session,
            team_id=TEAM,
            lead_id=lead_id,
            target="U0OWNER",
            channel="D0DM",
            ts="1.3",
            now=clock(),
        )


def test_latest_scores_give_each_reps_latest_in_the_order_they_first_rated(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    lead_id = insert(session_factory, clock, TEAM, "ACME-1")["ACME-1"]
    with session_factory() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        for rater, score in (("U0ANN", 2), ("U0BOB", 5), ("U0ANN", 4)):
            rate(session, lead, rater, score, clock)
        session.commit()

    with session_factory() as session:
        assert latest_scores(session, team_id=TEAM, lead_id=lead_id) == [
            ("U0ANN", 4),
            ("U0BOB", 5),
        ]
        assert latest_scores(session, team_id=OTHER_TEAM, lead_id=lead_id) == []
        latest = latest_rating_by(session, team_id=TEAM, lead_id=lead_id, rater_id="U0ANN")
        assert latest is not None and latest.score == 4


def test_a_score_is_changed_only_within_its_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    lead_id = insert(session_factory, clock, TEAM, "ACME-1")["ACME-1"]
    with session_factory() as session:
        lead = session.get(Lead, lead_id)
        assert lead is not None
        rating_id = rate(session, lead, "U0ANN", 2, clock).id or -1
        session.commit()

    with session_factory() as session:
        assert (
            change_score(session, team_id=OTHER_TEAM, rating_id=rating_id, score=5, now=clock())
            is None
        )
        changed = change_score(session, team_id=TEAM, rating_id=rating_id, score=4, now=clock())
        session.commit()

    assert changed is not None and changed.score == 4
    with session_factory() as session:
        assert [r.score for r in session.exec(select(Rating)).all()] == [4]
        [change] = session.exec(select(RatingScoreChange)).all()
    assert (change.team_id, change.rating_id, change.score_before, change.score_after) == (
        TEAM,
        rating_id,
        2,
        4,
    )
    assert change.changed_at == clock()


def test_a_lead_is_locked_only_for_its_own_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    lead_id = insert(session_factory, clock, TEAM, "ACME-1")["ACME-1"]

    with session_factory() as session:
        assert lock_lead(session, team_id=OTHER_TEAM, lead_id=lead_id) is None
        locked = lock_lead(session, team_id=TEAM, lead_id=lead_id)
    assert locked is not None and locked.external_ref == "ACME-1"


def remember(
    session_factory: SessionFactory, clock: FakeClock, team_id: str, signature: str
) -> bool:
    with session_factory() as session:
        first = remember_delivery(
            session, team_id=team_id, signature=signature, signed_at=clock(), now=clock()
        )
        session.commit()
    return first


def test_a_delivery_is_remembered_once_whichever_workspace_it_names(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    assert remember(session_factory, clock, TEAM, "v1=aa") is True
    assert remember(session_factory, clock, TEAM, "v1=aa") is False
    assert remember(session_factory, clock, OTHER_TEAM, "v1=aa") is False
    assert remember(session_factory, clock, TEAM, "v1=bb") is True


def test_a_delivery_rolled_back_is_not_remembered(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    with session_factory() as session:
        remember_delivery(session, team_id=TEAM, signature="v1=aa", signed_at=clock(), now=clock())
        session.rollback()

    assert remember(session_factory, clock, TEAM, "v1=aa") is True


def test_old_deliveries_are_forgotten(session_factory: SessionFactory, clock: FakeClock) -> None:
    remember(session_factory, clock, TEAM, "v1=old")
    clock.advance(hours=2)
    remember(session_factory, clock, TEAM, "v1=new")

    with session_factory() as session:
        assert prune_deliveries(session, before=clock() - timedelta(hours=1)) == 1
        session.commit()
        left = session.exec(select(WebhookDelivery.signature)).all()
    assert left == ["v1=new"]


def test_a_leads_signature_time_only_moves_forward_within_its_workspace(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    ids = insert(session_factory, clock, TEAM, "A", "B")
    later = clock() + timedelta(minutes=1)
    with session_factory() as session:
        mark_signed(session, team_id=TEAM, lead_ids=[ids["A"]], signed_at=later)
        mark_signed(session, team_id=TEAM, lead_ids=list(ids.values()), signed_at=clock())
        mark_signed(session, team_id=OTHER_TEAM, lead_ids=list(ids.values()), signed_at=later)
        session.commit()
        marks = dict(session.exec(select(Lead.external_ref, Lead.webhook_signed_at)).all())

    assert marks == {"A": later, "B": clock()}
