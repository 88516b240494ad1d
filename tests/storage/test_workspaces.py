"""Recorded workspaces."""

from __future__ import annotations

from datetime import timedelta

from storage.engine import SessionFactory
from storage.workspaces import known_workspaces, record_workspace
from tests.conftest import FakeClock


def test_recording_a_workspace_again_refreshes_it_without_a_second_row(
    session_factory: SessionFactory, clock: FakeClock
) -> None:
    installed = clock()
    with session_factory() as session:
        record_workspace(session, team_id="T1", team_name="Acme", bot_user_id="UB", now=clock())
        session.commit()
    clock.advance(days=1)
    with session_factory() as session:
        again = record_workspace(
            session, team_id="T1", team_name="Acme Inc", bot_user_id="UB", now=clock()
        )
        record_workspace(session, team_id="T2", team_name=None, bot_user_id=None, now=clock())
        session.commit()

    assert (again.team_name, again.installed_at, again.updated_at) == (
        "Acme Inc",
        installed,
        installed + timedelta(days=1),
    )
    with session_factory() as session:
        assert known_workspaces(session) == ["T1", "T2"]
