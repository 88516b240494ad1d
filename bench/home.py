"""How long the App Home takes to build on a workspace with 1,000,000 ratings.

Uses the report benchmark's data set (two years: 100k leads, 1M ratings, 200k answers),
gives one rep 2,000 leads of their own, and times the whole tab (queries and Block Kit)
for that rep, for a marketer, and for someone with no role (both halves). Goal: < 1 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import text

from bench.report import TEAM, build_data
from domain.admin.roles import RoleDirectory
from domain.admin.settings import WorkspaceSettings
from domain.home import home_for
from handlers.views.home import home_view
from storage.engine import create_db_engine, make_session_factory
from storage.roles import give_role

GOAL_SECONDS = 1.0
REP = "UREP7"  # one of the 40 reps in the data set
MARKETER = "UMKT1"


def time_home(url: str, user_id: str, *, now: datetime) -> float:
    """Best of three: build the tab for ``user_id`` as the app does."""
    engine = create_db_engine(url)
    roles = RoleDirectory(frozenset(), WorkspaceSettings(), None)
    best = float("inf")
    try:
        for _ in range(3):
            with make_session_factory(engine)() as session:
                started = time.perf_counter()
                data = home_for(
                    session, team_id=TEAM, user_id=user_id, roles=roles, now=now, timezone="UTC"
                )
                home_view(data).to_dict()
                best = min(best, time.perf_counter() - started)
    finally:
        engine.dispose()
    return best


def prepare_people(url: str, *, now: datetime) -> None:
    """Give the rep leads of their own and make the marketer marketing."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE lead SET owner_id = :rep WHERE team_id = :team AND id % 50 = 0"),
                {"rep": REP, "team": TEAM},
            )
        with make_session_factory(engine)() as session:
            give_role(
                session, team_id=TEAM, user_id=MARKETER, role="marketing", set_by="UBENCH", now=now
            )
            give_role(session, team_id=TEAM, user_id=REP, role="sales", set_by="UBENCH", now=now)
            session.commit()
    finally:
        engine.dispose()


def run() -> bool:
    """Build the data set and time the home tab; True when every case meets the goal."""
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/home-bench.db"
        build_data(url, end=now)
        prepare_people(url, now=now)
        timings = {
            "sales rep (2,000 own leads)": time_home(url, REP, now=now),
            "marketer": time_home(url, MARKETER, now=now),
            "no role (both halves)": time_home(url, "UNOBODY", now=now),
        }
    met = all(seconds < GOAL_SECONDS for seconds in timings.values())
    print(f"App Home on 1,000,000 ratings (goal: < {GOAL_SECONDS:.0f} s each)")
    for who, seconds in timings.items():
        verdict = "goal met" if seconds < GOAL_SECONDS else "GOAL MISSED"
        print(f"  {who:<28} {seconds * 1000:6.0f} ms  {verdict}")
    return met


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
