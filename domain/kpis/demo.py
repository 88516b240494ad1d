"""A realistic quarter of demo data, so a new user sees the weekly chart without Slack."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from domain.weeks import IsoWeek
from storage import kpis as kpi_store
from storage.models import Lead, Rating, Response

DEMO_TEAM = "TDEMO0001"
REPS = ("UREP0ALEX", "UREP0BEA", "UREP0CHO", "UREP0DAN", "UREP0EVA")
MARKETERS = ("UMKT0FAY", "UMKT0GUS")
SOURCES = ("webinar", "paid search", "organic", "events")
REASONS = {
    1: ["wrong industry", "student, no budget", "fake email address"],
    2: ["no authority", "too small for us", "no budget this year"],
    3: ["not ready yet", "interested but early"],
    4: ["good fit, needs nurturing", "budget next quarter"],
    5: ["great fit, booked a demo", "decision maker, urgent need"],
}
ANSWERS = [
    "Thanks, we'll tighten the targeting on this campaign.",
    "That list came from the partner event; checking the filters.",
    "Good catch, we're excluding students from now on.",
    "Glad it worked! We'll send more like this.",
]


@dataclass(frozen=True)
class Campaign:
    """A demo campaign and how good its leads usually are."""

    name: str
    quality: float  # mean score
    trend: float  # change of the mean per week


CAMPAIGNS = (
    Campaign("Webinar: Pipeline Accelerator", 2.3, 0.05),
    Campaign("LinkedIn ABM: enterprise", 3.6, 0.0),
    Campaign("Google Ads brand", 3.1, -0.03),
    Campaign("Free trial nurture", 2.8, 0.06),
    Campaign("Partner referrals", 4.3, 0.0),
    Campaign("Trade show Berlin", 2.6, 0.0),
)


def fill_demo_data(session: Session, *, last_week: IsoWeek, weeks: int = 13, seed: int = 7) -> int:
    """Add ``weeks`` weeks of leads, ratings, answers and KPIs ending with ``last_week``."""
    rng = random.Random(seed)
    first = last_week.shifted(1 - weeks)
    leads = 0
    for index in range(weeks):
        week = first.shifted(index)
        monday = datetime.combine(week.monday(), datetime.min.time(), tzinfo=UTC)
        for campaign in CAMPAIGNS:
            for _ in range(rng.randint(6, 12)):
                leads += 1
                _add_lead(session, rng, campaign, monday, index, leads)
        _add_kpis(session, rng, week, index)
        _add_last_years_revenue(session, rng, week, index)
    session.flush()
    return leads


def _add_lead(
    session: Session,
    rng: random.Random,
    campaign: Campaign,
    monday: datetime,
    index: int,
    number: int,
) -> None:
    created = monday + timedelta(hours=rng.uniform(8, 110))
    score = max(1, min(5, round(rng.gauss(campaign.quality + campaign.trend * index, 0.9))))
    lead = Lead(
        team_id=DEMO_TEAM,
        external_ref=f"DEMO-{number:04d}",
        name=f"Lead {number}",
        company=f"Company {number % 97}",
        campaign=campaign.name,
        source=rng.choice(SOURCES),
        owner_id=rng.choice(REPS),
        status=_outcome(rng, score),
        # The demo's leads come from its CRM with their outcome already recorded.
        status_changed_at=created,
        created_at=created,
        updated_at=created,
        handed_off_at=created,
    )
    session.add(lead)
    session.flush()
    if rng.random() > 0.85:
        return  # not rated yet
    rated_at = created + timedelta(hours=rng.uniform(1, 30))
    rating = Rating(
        team_id=DEMO_TEAM,
        lead_id=lead.id or -1,
        rater_id=lead.owner_id or REPS[0],
        score=score,
        reason=rng.choice(REASONS[score]),
        tags=[],
        via=rng.choice(("command", "modal", "button")),
        created_at=rated_at,
        post_channel="CDEMOFEED",
        post_ts=f"{rated_at.timestamp():.6f}",
        posted_at=rated_at,
    )
    session.add(rating)
    session.flush()
    if rng.random() < 0.55 + index * 0.03:
        answered = rated_at + timedelta(hours=rng.expovariate(1 / max(2.0, 20 - index)))
        session.add(
            Response(
                team_id=DEMO_TEAM,
                rating_id=rating.id or -1,
                user_id=rng.choice(MARKETERS),
                channel="CDEMOFEED",
                ts=f"{answered.timestamp():.6f}",
                text=rng.choice(ANSWERS),
                created_at=answered,
            )
        )


def _outcome(rng: random.Random, score: int) -> str | None:
    roll = rng.random()
    if roll < 0.4:
        return "open"
    return "won" if rng.random() < score / 7 else "lost"


def _add_last_years_revenue(
    session: Session, rng: random.Random, week: IsoWeek, index: int
) -> None:
    """Revenue of the same weeks a year earlier, so the annual-growth target has a base."""
    year_ago = IsoWeek(week.year - 1, min(week.week, 52))
    kpi_store.set_kpi_value(
        session,
        team_id=DEMO_TEAM,
        metric="revenue",
        week=(year_ago.year, year_ago.week),
        value=round(1_000_000 + index * 12_000 + rng.uniform(-20_000, 20_000), 2),
        set_by="UDEMO",
        now=datetime.combine(year_ago.monday(), datetime.min.time(), tzinfo=UTC),
    )


def _add_kpis(session: Session, rng: random.Random, week: IsoWeek, index: int) -> None:
    values = {
        "conversion_rate": 10.0 + index * 0.3 + rng.uniform(-0.4, 0.4),
        "cac": 1250 - index * 14 + rng.uniform(-20, 20),
        "revenue": 1_100_000 + index * 26_000 + rng.uniform(-30_000, 30_000),
        "retention_rate": 88.0 + index * 0.35 + rng.uniform(-0.5, 0.5),
        "roi": 150 + index * 4.5 + rng.uniform(-4, 4),
    }
    for metric, value in values.items():
        kpi_store.set_kpi_value(
            session,
            team_id=DEMO_TEAM,
            metric=metric,
            week=(week.year, week.week),
            value=round(value, 2),
            set_by="UDEMO",
            now=datetime.combine(week.monday(), datetime.min.time(), tzinfo=UTC),
        )
