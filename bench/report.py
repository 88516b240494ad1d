"""How long ``leadloop report --out`` takes on two years of a busy workspace.

Data set: 100,000 leads, 1,000,000 ratings and 200,000 marketing answers spread over two
years, in a SQLite file built through leadloop's own migrations. Goal: under 3 seconds for
the whole command (process start, queries and matplotlib), and query time that follows
the weeks shown, not the history (checked by also timing a workspace with one quarter).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.kpis.report import build_report
from domain.weeks import IsoWeek
from storage.engine import create_db_engine, make_session_factory
from storage.migrate import upgrade_to_head

GOAL_SECONDS = 3.0
TEAM = "TBENCH001"
SMALL_TEAM = "TBENCH002"
CAMPAIGNS = [f"Campaign {n}" for n in range(12)]
SOURCES = ["webinar", "paid search", "organic", "events", "partners"]
ROOT = Path(__file__).resolve().parent.parent


def build_data(url: str, *, end: datetime) -> None:
    """Fill a fresh database with the big workspace and a one-quarter workspace."""
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        _workspace(
            cursor,
            TEAM,
            end=end,
            days=730,
            leads=100_000,
            ratings=1_000_000,
            answers=200_000,
            first_id=1,
        )
        _workspace(
            cursor,
            SMALL_TEAM,
            end=end,
            days=91,
            leads=12_500,
            ratings=125_000,
            answers=25_000,
            first_id=2_000_001,
        )
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()
        engine.dispose()


def _workspace(
    cursor: object,
    team: str,
    *,
    end: datetime,
    days: int,
    leads: int,
    ratings: int,
    answers: int,
    first_id: int,
) -> None:
    rng = random.Random(team)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    stamp = _stamp
    lead_rows = []
    lead_times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(leads))
    for n, created in enumerate(lead_times):
        lead_rows.append(
            (
                first_id + n,
                team,
                f"{team}-{n}",
                rng.choice(CAMPAIGNS),
                rng.choice(SOURCES),
                rng.choice(("won", "lost", "open", None)),
                "{}",
                stamp(created),
                stamp(created),
            )
        )
    cursor.executemany(  # type: ignore[attr-defined]
        "INSERT INTO lead (id, team_id, external_ref, campaign, source, status, attributes,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        lead_rows,
    )
    rating_rows = []
    rating_times = []
    # Rows are written in time order, as a live workspace writes them (ids grow with time).
    picks = sorted(
        (min(end, lead_times[lead] + timedelta(hours=rng.uniform(1, 200))), lead)
        for lead in (rng.randrange(leads) for _ in range(ratings))
    )
    for n, (created, lead) in enumerate(picks):
        rating_times.append(created)
        rating_rows.append(
            (
                first_id + n,
                team,
                first_id + lead,
                f"UREP{rng.randrange(40)}",
                rng.randint(1, 5),
                "",
                "[]",
                "command",
                stamp(created),
                "CFEED",
                f"{first_id + n}.000100",
            )
        )
    cursor.executemany(  # type: ignore[attr-defined]
        "INSERT INTO rating (id, team_id, lead_id, rater_id, score, reason, tags, via,"
        " created_at, post_channel, post_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rating_rows,
    )
    answered = sorted(rng.sample(range(ratings), answers))
    cursor.executemany(  # type: ignore[attr-defined]
        "INSERT INTO response (team_id, rating_id, user_id, channel, ts, text, is_answer,"
        " created_at, deleted) VALUES (?, ?, ?, ?, ?, ?, 1, ?, 0)",
        [
            (
                team,
                first_id + n,
                "UMKT1",
                "CFEED",
                f"{first_id + n}.000200",
                "thanks",
                stamp(rating_times[n] + timedelta(hours=rng.expovariate(1 / 12))),
            )
            for n in answered
        ],
    )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def time_command(url: str, out: Path, team: str) -> float:
    """Seconds for `leadloop report --out` as a user runs it (a fresh process)."""
    env = {**os.environ, "DATABASE_URL": url, "LEADLOOP_ENV_FILE": os.devnull}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "report", "--out", str(out), "--workspace", team],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def time_queries(url: str, team: str, week: IsoWeek) -> float:
    """Seconds for the report's queries alone."""
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as session:
            started = time.perf_counter()
            build_report(session, team_id=team, week=week, timezone="UTC")
            return time.perf_counter() - started
    finally:
        engine.dispose()


def run() -> bool:
    """Build the data set, time the command and the queries; True when the goal is met."""
    end = datetime.now(UTC)
    week = IsoWeek.from_date(end.date()).previous()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/report-bench.db"
        started = time.perf_counter()
        build_data(url, end=end)
        print(
            f"report data set built in {time.perf_counter() - started:.0f} s "
            "(100k leads, 1M ratings, 200k answers over two years)"
        )
        time_command(url, Path(tmp) / "warm.png", TEAM)  # warm the file cache
        seconds = min(time_command(url, Path(tmp) / "r.png", TEAM) for _ in range(3))
        big = min(time_queries(url, TEAM, week) for _ in range(3))
        small = min(time_queries(url, SMALL_TEAM, week) for _ in range(3))
    met = seconds < GOAL_SECONDS
    print(
        f"leadloop report --out: {seconds:.2f} s (goal: < {GOAL_SECONDS:.0f} s)"
        f"{'  goal met' if met else '  GOAL MISSED'}"
    )
    print(
        f"  queries alone: {big:.2f} s for two years of history, {small:.2f} s for one "
        "quarter at the same weekly volume (cost follows the weeks shown, not the history)"
    )
    return met


if __name__ == "__main__":
    sys.exit(0 if run() else 1)
