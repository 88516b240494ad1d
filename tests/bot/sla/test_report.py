"""The answer time in the weekly report (``loop.answer_time``), against figures worked out
by hand, for a week built through signed requests.

Berlin, the default answer time (4 business hours, Mon-Fri 09:00-18:00), week 2026-W45
(Monday 2 to Monday 9 November):

| rating | campaign (owner) | rated | first answer | due | |
| --- | --- | --- | --- | --- | --- |
| WEB-1 3/5 | Webinar (Maria) | Mon 10:00 | Mon 12:00 (reply) | Mon 14:00 | within, 2.0 h |
| ADS-1 4/5 | Ads (none) | Mon 10:00 | Tue 10:00 (Agree) | Mon 14:00 | late, 9.0 h |
| NONE-1 2/5 | none | Tue 11:00 | never | Tue 15:00 | late |
| WEB-2 5/5 | Webinar (Maria) | Fri 17:00 | never | Mon 9 Nov 12:00 | not yet due |
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.admin.settings import WorkspaceSettings
from domain.kpis.answer_times import answer_time_line
from domain.kpis.report import build_report
from domain.weeks import IsoWeek
from storage.engine import SessionFactory
from storage.ratings import get_or_create_lead
from tests import slack_payloads as payloads
from tests.bot.sla.workspace import berlin, leadloop, leads, rate, reply_at
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient

W45 = IsoWeek(2026, 45)


def agree(slack: SlackAppClient, fake_slack: FakeSlack, post_ts: str, rating_id: int) -> None:
    click = payloads.rating_post_click(
        action_id="verdict_agree",
        value=str(rating_id),
        post_ts=post_ts,
        response_url=fake_slack.response_url("verdict"),
    )
    assert slack.interact(click).status == 200


def dispute(slack: SlackAppClient, post_ts: str, rating_id: int) -> None:
    form = payloads.dispute_submission(
        reason="not our target market", rating_id=str(rating_id), post_ts=post_ts
    )
    assert slack.interact(form).status == 200


def test_the_answer_time_figures_of_a_week_are_the_ones_worked_out_by_hand(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    leads(session_factory, {"WEB-1": "Webinar", "WEB-2": "Webinar", "ADS-1": "Ads"})
    clock.now = berlin(11, 2, 9)
    leadloop(slack, fake_slack, "campaign webinar owner <@UMARIA|maria>")
    clock.now = berlin(11, 2, 10)
    web_1 = rate(slack, fake_slack, "WEB-1 3 fine")
    ads_1 = rate(slack, fake_slack, "ADS-1 4 good")
    clock.now = berlin(11, 2, 12)
    reply_at(slack, web_1, clock.now)
    clock.now = berlin(11, 3, 10)
    agree(slack, fake_slack, ads_1, rating_id=2)
    clock.now = berlin(11, 3, 11)
    rate(slack, fake_slack, "NONE-1 2 no budget")
    clock.now = berlin(11, 6, 17)
    rate(slack, fake_slack, "WEB-2 5 great")

    with session_factory() as session:
        report = build_report(
            session,
            team_id=payloads.TEAM_ID,
            week=W45,
            timezone="Europe/Berlin",
            answer_time=WorkspaceSettings(timezone="Europe/Berlin").answer_sla_policy(),
        )

    with session_factory() as session:
        shown = answer_time_line(
            session,
            team_id=payloads.TEAM_ID,
            week=W45,
            timezone="Europe/Berlin",
            sla=WorkspaceSettings(timezone="Europe/Berlin").answer_sla_policy(),
            now=berlin(11, 20, 9),
        )
    assert shown == (
        "Answer time (4h), 2026-W45: 33.3% within it (1 of 3 due) · first answers: median "
        "5.5 h, 90th percentile 9 h (business hours)\n"
        "• (no owner): 0% within it (0 of 2 due) · first answers: median 9 h, 90th "
        "percentile 9 h (business hours)\n"
        "• <@UMARIA>: 100% within it (1 of 1 due) · first answers: median 2 h, 90th "
        "percentile 2 h (business hours)"
    )
    assert report.numbers["loop"]["answer_time"] == {
        "sla": "4h",
        "low_score_sla": None,
        "business_hours": "mon-fri 09:00-18:00",
        "overall": {
            "due": 3,
            "within": 1,
            "within_pct": 33.3,
            "not_yet_due": 1,
            "answered": 2,
            "median_business_hours_to_first_answer": 5.5,
            "p90_business_hours_to_first_answer": 9.0,
        },
        "by_campaign_owner": {
            "(no owner)": {
                "due": 2,
                "within": 0,
                "within_pct": 0.0,
                "not_yet_due": 0,
                "answered": 1,
                "median_business_hours_to_first_answer": 9.0,
                "p90_business_hours_to_first_answer": 9.0,
            },
            "UMARIA": {
                "due": 1,
                "within": 1,
                "within_pct": 100.0,
                "not_yet_due": 1,
                "answered": 1,
                "median_business_hours_to_first_answer": 2.0,
                "p90_business_hours_to_first_answer": 2.0,
            },
        },
    }


def test_without_an_answer_time_the_report_says_so(
    session_factory: SessionFactory,
) -> None:
    with session_factory() as session:
        report = build_report(
            session, team_id=payloads.TEAM_ID, week=W45, timezone="UTC", answer_time=None
        )

    assert report.numbers["loop"]["answer_time"] is None


def test_the_report_of_a_week_is_the_same_when_run_again_later(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    sla = WorkspaceSettings(timezone="Europe/Berlin").answer_sla_policy()
    clock.now = berlin(11, 6, 17)
    post_ts = rate(slack, fake_slack, "LATE-1 2 no budget")

    def answer_time() -> dict[str, Any]:
        with session_factory() as session:
            report = build_report(
                session,
                team_id=payloads.TEAM_ID,
                week=W45,
                timezone="Europe/Berlin",
                answer_time=sla,
            )
        figures = report.numbers["loop"]["answer_time"]
        assert isinstance(figures, dict)
        return figures

    before = answer_time()
    clock.now = berlin(11, 9, 10)
    reply_at(slack, post_ts, clock.now)  # answered the next week, within its answer time

    assert answer_time() == before
    assert before["overall"]["not_yet_due"] == 1


def outcome(session_factory: SessionFactory, ref: str, status: str, at: datetime) -> None:
    """The CRM's outcome for a lead, as an import or the webhook records it."""
    with session_factory() as session:
        lead = get_or_create_lead(session, team_id=payloads.TEAM_ID, external_ref=ref, now=at)
        lead.status, lead.status_changed_at = status, at
        session.add(lead)
        session.commit()


def test_rater_calibration_is_the_one_worked_out_by_hand(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    """Ann rates A-1 5 (won), A-2 4 (lost), A-3 2 (lost); Bo rates B-1 1 (won), B-2 5
    (lost). Marketing agrees with Ann's A-3 and disputes her A-2, then agrees with it
    (the latest stands), and disputes Bo's B-1. Campaigns: A-* Webinar, B-* none.

    Ann: 3 ratings, agreed 2, disputed 0, won 1, lost 2; pairs (5 won, 4 lost) and
    (5 won, 2 lost) both ordered right: concordance 1.0.
    Bo: 2 ratings, agreed 0, disputed 1; pair (1 won, 5 lost) ordered wrong: 0.0.
    """
    leads(session_factory, {"A-1": "Webinar", "A-2": "Webinar", "A-3": "Webinar"})
    clock.now = berlin(11, 2, 10)
    posts = {
        ref: rate(slack, fake_slack, f"{ref} {score} why", user_id=user)
        for ref, score, user in (
            ("A-1", 5, "UANN"),
            ("A-2", 4, "UANN"),
            ("A-3", 2, "UANN"),
            ("B-1", 1, "UBO"),
            ("B-2", 5, "UBO"),
        )
    }
    rating_ids = {ref: number for number, ref in enumerate(posts, start=1)}
    clock.now = berlin(11, 3, 10)
    for ref, verdict in (("A-3", "agree"), ("A-2", "dispute"), ("B-1", "dispute")):
        if verdict == "dispute":
            dispute(slack, posts[ref], rating_ids[ref])
        else:
            agree(slack, fake_slack, posts[ref], rating_ids[ref])
    clock.now = berlin(11, 3, 11)
    agree(slack, fake_slack, posts["A-2"], rating_ids["A-2"])
    for ref, status in (
        ("A-1", "won"),
        ("A-2", "lost"),
        ("A-3", "lost"),
        ("B-1", "won"),
        ("B-2", "lost"),
    ):
        outcome(session_factory, ref, status, berlin(11, 4, 9))

    with session_factory() as session:
        report = build_report(session, team_id=payloads.TEAM_ID, week=W45, timezone="Europe/Berlin")

    assert report.numbers["calibration"]["by_rep"] == {
        "UANN": {
            "ratings": 3,
            "agreed": 2,
            "disputed": 0,
            "agreed_pct": 100.0,
            "won": 1,
            "lost": 2,
            "concordance": 1.0,
        },
        "UBO": {
            "ratings": 2,
            "agreed": 0,
            "disputed": 1,
            "agreed_pct": 0.0,
            "won": 1,
            "lost": 1,
            "concordance": 0.0,
        },
    }
    assert report.numbers["calibration"]["by_campaign"]["Webinar"]["concordance"] == 1.0
    assert report.numbers["calibration"]["by_campaign"]["(no campaign)"]["agreed_pct"] == 0.0
