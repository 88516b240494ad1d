"""The histories of answer-time settings and campaign owners, and their as-of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.campaigns import campaign_owner_history, campaign_owners_as_of, set_campaign_owner
from storage.engine import SessionFactory
from storage.workspaces import (
    answer_time_settings_as_of,
    answer_time_settings_history,
    change_settings,
    mark_uninstalled,
    record_workspace,
)

RECORDED = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
LATER = RECORDED + timedelta(days=30)


def settings_at(session_factory: SessionFactory, team_id: str, at: datetime) -> tuple[object, ...]:
    with session_factory() as session:
        row = answer_time_settings_as_of(session, team_id=team_id, at=at)
    assert row is not None
    return (row.answer_sla, row.low_score_sla, row.business_hours, row.timezone)


def test_a_new_workspace_starts_its_history_and_each_answer_time_change_adds_a_row(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record_workspace(session, team_id="T1", team_name="Acme", bot_user_id="UB", now=RECORDED)
        record_workspace(session, team_id="T1", team_name="Acme", bot_user_id="UB", now=LATER)
        session.commit()
    with session_factory() as session:
        change_settings(session, team_id="T1", now=LATER, values={"answer_sla": "2h"})
        change_settings(session, team_id="T1", now=LATER, values={"answer_sla": "2h"})
        change_settings(session, team_id="T1", now=LATER, values={"feedback_channel": "C1"})
        later = LATER + timedelta(hours=1)
        change_settings(session, team_id="T1", now=later, values={"timezone": "Europe/Berlin"})
        session.commit()

    with session_factory() as session:
        history = answer_time_settings_history(session, team_id="T1")
    assert [(row.answer_sla, row.timezone, row.changed_at) for row in history] == [
        (None, None, RECORDED),
        ("2h", None, LATER),
        ("2h", "Europe/Berlin", later),
    ]


def test_the_settings_as_of_a_time_are_the_latest_change_at_or_before_it_else_the_earliest(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record_workspace(session, team_id="T1", team_name=None, bot_user_id=None, now=RECORDED)
        change_settings(
            session,
            team_id="T1",
            now=LATER,
            values={"answer_sla": "2h", "low_score_sla": "1h", "business_hours": "mon 9:00-10:00"},
        )
        session.commit()

    defaults = (None, None, None, None)
    changed = ("2h", "1h", "mon 9:00-10:00", None)
    assert settings_at(session_factory, "T1", RECORDED - timedelta(days=99)) == defaults
    assert settings_at(session_factory, "T1", LATER - timedelta(seconds=1)) == defaults
    assert settings_at(session_factory, "T1", LATER) == changed
    assert settings_at(session_factory, "T1", LATER + timedelta(days=1)) == changed


def test_a_workspace_first_seen_by_a_settings_change_or_an_uninstall_has_a_history(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        change_settings(session, team_id="T1", now=RECORDED, values={"answer_sla": "off"})
        mark_uninstalled(session, team_id="T2", now=RECORDED)
        session.commit()

    assert settings_at(session_factory, "T1", RECORDED) == ("off", None, None, None)
    assert settings_at(session_factory, "T2", RECORDED) == (None, None, None, None)


def test_owners_as_of_a_time_follow_each_campaigns_changes_and_none(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        for at, campaign, owner in [
            (RECORDED, "Webinar", "UMARIA"),
            (RECORDED, "Ads", "UANNA"),
            (LATER, "WEBINAR", "UOLGA"),
            (LATER, "Ads", None),
            (LATER, "Events", "UMARIA"),
            (LATER, "Ads", None),  # no owner already: nothing changes, nothing kept
        ]:
            set_campaign_owner(
                session, team_id="T1", campaign=campaign, owner_id=owner, by="UADMIN", now=at
            )
        session.commit()

    with session_factory() as session:
        before_any = campaign_owners_as_of(session, team_id="T1", at=RECORDED - timedelta(days=1))
        first = campaign_owners_as_of(session, team_id="T1", at=LATER - timedelta(seconds=1))
        now = campaign_owners_as_of(session, team_id="T1", at=LATER)
        kept = len(campaign_owner_history(session, team_id="T1"))
    assert before_any == {}
    assert first == {"webinar": "UMARIA", "ads": "UANNA"}
    assert now == {"webinar": "UOLGA", "events": "UMARIA"}
    assert kept == 5


def test_the_histories_of_one_workspace_are_never_read_for_another(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        record_workspace(session, team_id="TA", team_name=None, bot_user_id=None, now=RECORDED)
        change_settings(session, team_id="TA", now=RECORDED, values={"answer_sla": "1h"})
        set_campaign_owner(
            session, team_id="TA", campaign="Webinar", owner_id="UA", by="UA", now=RECORDED
        )
        session.commit()

    with session_factory() as session:
        assert answer_time_settings_as_of(session, team_id="TB", at=LATER) is None
        assert answer_time_settings_history(session, team_id="TB") == []
        assert campaign_owners_as_of(session, team_id="TB", at=LATER) == {}
        assert campaign_owner_history(session, team_id="TB") == []
