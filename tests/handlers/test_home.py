"""The App Home tab per role, and its buttons, through the running app."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from domain.ratings.loop import submit_rating
from domain.ratings.parse import RatingInput
from storage.engine import SessionFactory
from storage.kpis import set_kpi_value
from storage.outbox import mark_sent
from storage.ratings import get_or_create_lead
from storage.workspaces import change_settings
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient

REP = "UREP1"
MARKETER = "UMKT1"


@pytest.fixture
def settings(settings: Settings, fake_slack: FakeSlack) -> Settings:
    """Sales and marketing come from user groups."""
    fake_slack.usergroups.update({"S0SALES": [REP], "S0MKT": [MARKETER]})
    return dataclasses.replace(settings, sales_usergroup="S0SALES", marketing_usergroup="S0MKT")


@pytest.fixture(autouse=True)
def data(session_factory: SessionFactory, clock: FakeClock) -> None:
    """REP owns two leads and has rated one; another workspace has a lead for REP too."""
    with session_factory() as session:
        for ref, campaign in (("ACME-1", "Webinar"), ("ACME-2", "Ads")):
            lead = get_or_create_lead(
                session, team_id=payloads.TEAM_ID, external_ref=ref, now=clock()
            )
            lead.owner_id, lead.campaign, lead.company = REP, campaign, "Acme"
        other = get_or_create_lead(
            session, team_id=payloads.OTHER_TEAM_ID, external_ref="SECRET-9", now=clock()
        )
        other.owner_id = REP
        clock.advance(hours=5)
        rated = submit_rating(
            session,
            team_id=payloads.TEAM_ID,
            rater_id=REP,
            rating=RatingInput("ACME-1", 2, "no budget"),
            via="command",
            origin_channel=None,
            now=clock(),
        )
        rated.rating.post_channel, rated.rating.post_ts = payloads.FEEDBACK_CHANNEL, "1700.1"
        # Posted already, at 1700.1: the outbox would otherwise post it again, elsewhere.
        assert rated.post_message_id is not None
        mark_sent(session, message_id=rated.post_message_id, now=clock())
        session.commit()
    clock.advance(days=3)


def open_home(
    slack: SlackAppClient,
    user: str,
    team_id: str = payloads.TEAM_ID,
    event_id: str | None = None,
) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    event_id = event_id or f"EvHome{user}{team_id}"
    slack.event(payloads.event_callback(event, event_id=event_id, team_id=team_id))


def published(fake_slack: FakeSlack) -> str:
    [call] = fake_slack.calls_to("views.publish")
    assert call.params["view"]["type"] == "home"
    return str(call.params["view"]["blocks"])


def test_a_rep_sees_leads_waiting_for_their_rating_and_their_latest_ratings(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    open_home(slack, REP)

    home = published(fake_slack)
    waiting = home[home.index("Your leads waiting") : home.index("Your latest ratings")]
    assert "ACME-2" in waiting and "ACME-1" not in waiting
    assert "ACME-1" in home and "waiting for marketing's answer" in home
    assert "Ratings waiting for marketing" not in home  # not marketing
    assert "SECRET-9" not in home  # another workspace's lead
    assert fake_slack.calls_to("views.publish")[0].params["user_id"] == REP


def test_marketing_sees_unanswered_ratings_oldest_first_and_campaign_scores(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    open_home(slack, MARKETER)

    home = published(fake_slack)
    assert "Ratings waiting for marketing's answer" in home
    assert "1 waiting, oldest first" in home and "ACME-1" in home and "waiting 3 d" in home
    assert "Your leads waiting" not in home


def test_someone_without_a_role_sees_both_halves(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    open_home(slack, "UNEWBIE")

    home = published(fake_slack)
    assert "Your leads waiting" in home and "Ratings waiting for marketing's answer" in home


def test_the_tab_says_what_is_missing_until_the_feedback_channel_is_chosen(
    settings: Settings,
    serve_with: ServeWith,
    session_factory: SessionFactory,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    unset = dataclasses.replace(settings, feedback_channel=None)  # as in OAuth mode
    with serve_with(unset) as app:
        open_home(app, REP)
        with session_factory() as session:
            change_settings(
                session,
                team_id=payloads.TEAM_ID,
                now=clock(),
                values={"feedback_channel": payloads.FEEDBACK_CHANNEL},
            )
            session.commit()
        open_home(app, REP, event_id="EvHomeAgain")

    before, after = (
        str(call.params["view"]["blocks"]) for call in fake_slack.calls_to("views.publish")
    )
    assert "One step left" in before and "/leadloop settings feedback" in before
    assert "One step left" not in after


def test_home_buttons_open_the_rating_form_the_kpis_and_the_meetings(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    with session_factory() as session:
        week = clock().isocalendar()
        set_kpi_value(
            session,
            team_id=payloads.TEAM_ID,
            metric="roi",
            week=(week[0], week[1]),
            value=150.0,
            set_by="UADMIN",
            now=clock(),
        )
        session.commit()

    for action in ("home_rate_lead", "home_report", "home_meetings"):
        slack.interact(payloads.block_action(action_id=action, value="", user_id=REP))

    rate, kpis, meetings = (call.params["view"] for call in fake_slack.calls_to("views.open"))
    assert rate["callback_id"] == "rate_lead_modal"
    assert "Marketing ROI" in str(kpis["blocks"]) and "150%" in str(kpis["blocks"])
    assert "No meetings yet" in str(meetings["blocks"])


def test_messages_tab_opened_publishes_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    event = {"type": "app_home_opened", "user": REP, "channel": "D0HOME", "tab": "messages"}
    slack.event(payloads.event_callback(event, event_id="EvMessagesTab"))

    assert fake_slack.calls_to("views.publish") == []


def test_marketing_answer_counts_but_a_sales_colleagues_reply_does_not(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    colleague = payloads.thread_reply(thread_ts="1700.1", ts="1700.2", user=REP)
    slack.event(payloads.event_callback(colleague, event_id="EvRep"))
    open_home(slack, MARKETER)
    marketing = payloads.thread_reply(thread_ts="1700.1", ts="1700.3", user=MARKETER)
    slack.event(payloads.event_callback(marketing, event_id="EvMkt"))
    slack.event(
        payloads.event_callback(
            {"type": "app_home_opened", "user": MARKETER, "channel": "D0HOME", "tab": "home"},
            event_id="EvHomeAgain",
        )
    )

    before, after = (
        str(call.params["view"]["blocks"]) for call in fake_slack.calls_to("views.publish")
    )
    assert "1 waiting, oldest first" in before
    assert "Every rating has an answer" in after
    dms = [c for c in fake_slack.calls_to("chat.postMessage") if c.params["channel"] == REP]
    assert len(dms) == 1  # the rater hears about marketing's answer, once


def test_this_weeks_campaign_scores_follow_the_workspaces_week_not_utcs(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
) -> None:
    # Monday 9 November, 00:15 in Berlin: still Sunday (W45) in UTC, already W46 in Berlin.
    clock.now = datetime(2026, 11, 8, 23, 15, tzinfo=UTC)
    with session_factory() as session:
        change_settings(
            session, team_id=payloads.TEAM_ID, now=clock(), values={"timezone": "Europe/Berlin"}
        )
        submit_rating(
            session,
            team_id=payloads.TEAM_ID,
            rater_id=REP,
            rating=RatingInput("ACME-2", 4, "good fit"),
            via="command",
            origin_channel=None,
            now=clock(),
        )
        session.commit()

    open_home(slack, MARKETER)

    home = published(fake_slack)
    assert "Average lead score per campaign, 2026-W46" in home
    assert "Ads: *4.0* (1 rating)" in home


def test_marketing_sees_how_this_weeks_ratings_kept_the_agreed_answer_time(
    slack: SlackAppClient, fake_slack: FakeSlack
) -> None:
    open_home(slack, MARKETER)  # the rating, Monday 14:30, was due Tuesday 09:30 unanswered

    home = published(fake_slack)
    assert "*0%* answered within the agreed 4h (0 of 1 due so far)" in home


def test_only_admins_see_the_raters_calibration(
    settings: Settings, serve_with: ServeWith, fake_slack: FakeSlack
) -> None:
    with serve_with(dataclasses.replace(settings, admin_users=frozenset({"UADMIN"}))) as slack:
        open_home(slack, "UADMIN")
        open_home(slack, MARKETER)
        open_home(slack, REP)

    admin, marketer, rep = (
        str(call.params["view"]["blocks"]) for call in fake_slack.calls_to("views.publish")
    )
    assert "Rater calibration (admins only)" in admin
    assert f"<@{REP}>: 1 rating(s); marketing agreed – of 0 judged" in admin
    assert "calibration" not in marketer.lower() and "calibration" not in rep.lower()


def test_marketing_sees_the_answer_time_per_campaign_owner_once_a_campaign_has_one(
    settings: Settings, serve_with: ServeWith, fake_slack: FakeSlack
) -> None:
    admin = dataclasses.replace(settings, admin_users=frozenset({"UADMIN"}))
    with serve_with(admin) as slack:
        slack.command(
            "campaign Webinar owner <@UMARIA>",
            response_url=fake_slack.response_url(),
            command="/leadloop",
            user_id="UADMIN",
        )
        open_home(slack, MARKETER)

    home = published(fake_slack)
    assert "Per campaign owner, this week:" in home
    assert "• <@UMARIA>: 0% within it (0 of 1 due)" in home  # ACME-1 is a Webinar lead
