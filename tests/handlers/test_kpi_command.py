"""``/kpi`` through signed requests to the running app: stored, then answered in the ack."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.outbox.engine import Deliverer
from handlers.errors import DATABASE_DOWN
from storage import kpis as kpi_store
from storage import outbox
from storage.engine import SessionFactory
from storage.models import KpiTarget, KpiValue, OutboxMessage, ReportSchedule, ScheduledPost
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.handlers.database_faults import refusing_writes
from tests.slack_app_client import SlackAppClient

ADMIN = "UADMIN"
MEMBER = payloads.RATER_ID
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """One leadloop admin and a report channel."""
    return dataclasses.replace(settings, admin_users=frozenset({ADMIN}), report_channel="CREPORTS")


def kpi(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    text: str,
    *,
    user_id: str = ADMIN,
    **fields: str,
) -> str:
    """Type ``/kpi text`` and return the private answer, which the ack carries."""
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/kpi", user_id=user_id, **fields
    )
    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert fake_slack.calls_to("response_url") == []  # nothing more to say after the ack
    return str(body["text"])


def table(answer: str) -> dict[str, tuple[str, str, str]]:
    """The ``/kpi show`` table as KPI label → (actual, target, status)."""
    body = answer.split("```")[1].strip("\n").splitlines()
    rows = [re.split(r"\s{2,}", line.strip()) for line in body]
    assert rows[0] == ["KPI", "Actual", "Target", "Status"]
    return {label: (actual, target, status) for label, actual, target, status in rows[1:]}


def stored_values(session_factory: SessionFactory) -> list[KpiValue]:
    with session_factory() as session:
        return list(session.exec(select(KpiValue).order_by(KpiValue.id)).all())


def stored_nothing(session_factory: SessionFactory) -> bool:
    with session_factory() as session:
        return all(
            session.exec(select(model)).first() is None
            for model in (KpiValue, KpiTarget, ReportSchedule, ScheduledPost, OutboxMessage)
        )


def chart_requests(session_factory: SessionFactory) -> list[tuple[ScheduledPost, OutboxMessage]]:
    """Each ``/kpi chart`` stored: its request row and the outbox row that uploads it."""
    with session_factory() as session:
        rows = session.exec(
            select(ScheduledPost, OutboxMessage)
            .join(OutboxMessage, col(OutboxMessage.scheduled_post_id) == col(ScheduledPost.id))
            .order_by(col(ScheduledPost.id))
        ).all()
    return [(post, message) for post, message in rows]


def uploads_to(fake_slack: FakeSlack) -> list[str]:
    """The channel of every completed file upload, in order."""
    return [
        str(call.params["channel_id"])
        for call in fake_slack.calls_to("files.completeUploadExternal")
    ]


def record(session: Session, metric: str, week: tuple[int, int], value: float) -> None:
    kpi_store.set_kpi_value(
        session,
        team_id=payloads.TEAM_ID,
        metric=metric,
        week=week,
        value=value,
        set_by=ADMIN,
        now=FakeClock().now,
    )


def test_show_lists_each_kpi_with_actual_target_and_status(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    with session_factory() as session:
        record(session, "conversion_rate", (2026, 40), 10.0)
        record(session, "conversion_rate", (2026, 45), 12.5)
        record(session, "cac", (2026, 40), 1000.0)
        record(session, "cac", (2026, 45), 900.0)
        record(session, "roi", (2026, 45), 210.0)
        session.commit()

    answer = kpi(slack, fake_slack, "show", user_id=MEMBER)  # reading is for everyone

    assert answer.startswith("*KPIs for 2026-W45*")  # the clock says Monday 2 Nov 2026
    assert table(answer) == {
        "Lead conversion rate": ("12.5%", "12%", "on track"),
        "Customer acquisition cost": ("$900", "$850", "behind"),
        "Revenue": ("–", "–", "no data"),
        "Customer retention rate": ("–", "–", "no data"),
        "Marketing ROI": ("210%", "200%", "on track"),
    }


def test_show_takes_a_week(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    with session_factory() as session:
        record(session, "roi", (2026, 40), 150.0)
        session.commit()

    answer = kpi(slack, fake_slack, "show 2026-W40", user_id=MEMBER)

    assert answer.startswith("*KPIs for 2026-W40*")
    assert table(answer)["Marketing ROI"] == ("150%", "200%", "behind")


def test_an_admin_sets_a_value_and_is_told_what_it_replaced(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    first = kpi(slack, fake_slack, "set conv 12.5%")
    second = kpi(slack, fake_slack, "set conv 0.13 W45")
    earlier = kpi(slack, fake_slack, "set cac $1,200 2026-W44")

    assert first == "Recorded Lead conversion rate 12.5% for 2026-W45."
    assert second == "Recorded Lead conversion rate 13% for 2026-W45 (was 12.5%)."
    assert earlier == "Recorded Customer acquisition cost $1,200 for 2026-W44."
    assert [
        (row.team_id, row.metric, row.year, row.week, row.value, row.set_by)
        for row in stored_values(session_factory)
    ] == [
        (payloads.TEAM_ID, "conversion_rate", 2026, 45, 13.0, ADMIN),
        (payloads.TEAM_ID, "cac", 2026, 44, 1200.0, ADMIN),
    ]


def test_an_admin_sets_a_target_with_its_baseline_week(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    relative = kpi(slack, fake_slack, "target conv +25% from 2026-W40")
    absolute = kpi(slack, fake_slack, "target roi 300%")
    kpi(slack, fake_slack, "set conv 10% W40")
    kpi(slack, fake_slack, "set conv 12% W45")
    shown = table(kpi(slack, fake_slack, "show"))

    assert (
        relative
        == "The Lead conversion rate target is now +25% vs baseline, measured against 2026-W40."
    )
    assert absolute == "The Marketing ROI target is now 300%."
    with session_factory() as session:
        targets = kpi_store.kpi_targets(session, team_id=payloads.TEAM_ID)
    conversion = targets["conversion_rate"]
    assert (
        conversion.kind,
        conversion.value,
        conversion.baseline_year,
        conversion.baseline_week,
    ) == (
        "relative",
        25.0,
        2026,
        40,
    )
    assert (targets["roi"].kind, targets["roi"].value, targets["roi"].set_by) == (
        "absolute",
        300.0,
        ADMIN,
    )
    assert shown["Lead conversion rate"] == ("12%", "12.5%", "behind")
    assert shown["Marketing ROI"] == ("–", "300%", "no data")


@pytest.mark.parametrize("text", ["set conv 12.5%", "target roi 300%", "schedule mon 09:00"])
def test_a_member_who_is_not_admin_cannot_change_kpis(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, text: str
) -> None:
    answer = kpi(slack, fake_slack, text, user_id=MEMBER)

    assert "Only leadloop admins can change KPIs" in answer
    assert "ADMIN_USERS" in answer
    assert stored_nothing(session_factory)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("set conv lots", "I can't read `lots` as a number"),
        ("set conv 150%", "can't be above 100%"),
        ("set nps 40", "`nps` is not a KPI I keep"),
        ("set conv", "What value?"),
        ("set conv 12% W60", "I can't read"),
        ("target conv +20", "is ambiguous"),
        ("target conv +20% from W99", "no W99"),
        ("schedule funday 09:00", "`funday` is not one day"),
        ("schedule mon 25:00", "`25:00` is not a time"),
        ("frobnicate", "I don't know `/kpi frobnicate`"),
        ("show 2026-W60", "no W60"),
    ],
)
def test_bad_input_gets_the_usage_and_stores_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    problem: str,
) -> None:
    answer = kpi(slack, fake_slack, text)

    assert problem in answer
    assert "`/kpi set <metric> <value> [week]`" in answer
    assert stored_nothing(session_factory)


def test_help_shows_the_usage(slack: SlackAppClient, fake_slack: FakeSlack) -> None:
    answer = kpi(slack, fake_slack, "", user_id=MEMBER)

    assert answer.startswith("*Shared KPIs*")
    assert "`/kpi schedule <day> <HH:MM>`" in answer


def test_the_schedule_is_stored_in_the_admins_slack_time_zone(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    fake_slack.set_user(ADMIN, tz="Europe/Berlin")

    answer = kpi(slack, fake_slack, "schedule fri 16:30")

    assert answer == "The weekly KPI report will be posted every Friday at 16:30 (Europe/Berlin)."
    with session_factory() as session:
        schedule = kpi_store.report_schedule(session, team_id=payloads.TEAM_ID)
    assert schedule is not None
    assert (schedule.weekday, schedule.local_time, schedule.timezone, schedule.updated_by) == (
        4,
        "16:30",
        "Europe/Berlin",
        ADMIN,
    )
    [lookup] = fake_slack.calls_to("users.info")
    assert lookup.params["user"] == ADMIN


def test_the_schedule_falls_back_to_the_default_zone_when_slack_cannot_say(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    fake_slack.fail_next("users.info", error="user_not_found")

    answer = kpi(slack, fake_slack, "schedule mon 9:00")

    assert answer.endswith("every Monday at 09:00 (UTC).")
    with session_factory() as session:
        schedule = kpi_store.report_schedule(session, team_id=payloads.TEAM_ID)
    assert schedule is not None and schedule.timezone == "UTC"


def test_chart_is_owed_then_uploaded_once_to_the_channel_the_command_was_typed_in(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
) -> None:
    with session_factory() as session:
        record(session, "roi", (2026, 44), 180.0)
        session.commit()

    answer = kpi(slack, fake_slack, "chart last", user_id=MEMBER, channel_id="C0GROWTH")

    assert answer == "I'll post the KPI chart for 2026-W44 here in a moment."
    [asked] = fake_slack.calls_to("files.getUploadURLExternal")
    [upload] = fake_slack.calls_to("file_upload")
    [completed] = fake_slack.calls_to("files.completeUploadExternal")
    assert asked.params["filename"] == "leadloop-kpis-2026-W44.png"
    assert int(asked.params["length"]) == len(upload.body)
    assert asked.params["alt_txt"]
    assert upload.body.startswith(PNG_SIGNATURE)
    assert upload.params["file_id"] == completed.params["files"][0]["id"]
    assert completed.params["channel_id"] == "C0GROWTH"
    assert "2026-W44" in completed.params["initial_comment"]
    assert fake_slack.calls_to("files.upload") == []  # the retired API
    [(request, message)] = chart_requests(session_factory)
    assert (request.kind, request.post_channel, message.kind) == (
        "kpi_chart",
        "C0GROWTH",
        "kpi_chart",
    )
    assert message.status == outbox.SENT

    assert deliverer.deliver_due() == 0  # the sweep finds nothing more to post
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 1


def test_the_chart_is_owed_before_the_ack_returns_and_uploaded_after_it(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = slack.command(
        "chart", response_url=fake_slack.response_url(), command="/kpi", wait=False
    )

    # Read straight after the HTTP answer, without waiting for any work after the ack.
    [(request, message)] = chart_requests(session_factory)
    assert answer.json() == {
        "response_type": "ephemeral",
        "text": "I'll post the KPI chart for 2026-W45 here in a moment.",
    }
    assert (request.team_id, request.post_channel) == (payloads.TEAM_ID, payloads.SALES_CHANNEL)
    assert message.team_id == payloads.TEAM_ID
    slack.wait_idle()
    assert uploads_to(fake_slack) == [payloads.SALES_CHANNEL]


def test_two_charts_asked_for_at_the_same_moment_are_two_posts(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    kpi(slack, fake_slack, "chart", user_id=MEMBER, channel_id="C0GROWTH")
    kpi(slack, fake_slack, "chart", user_id=ADMIN, channel_id="C0SALES")  # the clock stood still

    assert uploads_to(fake_slack) == ["C0GROWTH", "C0SALES"]
    assert [post.post_channel for post, _ in chart_requests(session_factory)] == [
        "C0GROWTH",
        "C0SALES",
    ]


def test_a_chart_slack_refuses_stays_owed_and_is_logged_for_the_admin(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.fail_next("files.completeUploadExternal", error="not_in_channel")

    with caplog.at_level(logging.ERROR):
        answer = kpi(slack, fake_slack, "chart", user_id=MEMBER, channel_id="C0PRIVATE")

    assert answer == "I'll post the KPI chart for 2026-W45 here in a moment."
    [(_, message)] = chart_requests(session_factory)
    assert (message.status, message.last_error) == (outbox.PENDING, "not_in_channel")
    [logged] = [r for r in caplog.records if r.name == "bot.outbox.engine"]
    assert "not_in_channel" in logged.getMessage()
    assert "that the bot is in the channel" in logged.getMessage()


def test_values_set_in_one_workspace_never_show_in_another(
    two_workspaces: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    kpi(two_workspaces, fake_slack, "set conv 10% W40")
    kpi(two_workspaces, fake_slack, "set conv 12.5%")
    kpi(two_workspaces, fake_slack, "target roi 300%")
    kpi(two_workspaces, fake_slack, "set roi 250%")

    other = table(kpi(two_workspaces, fake_slack, "show", team_id=payloads.OTHER_TEAM_ID))
    kpi(two_workspaces, fake_slack, "set roi 500%", team_id=payloads.OTHER_TEAM_ID)
    here = table(kpi(two_workspaces, fake_slack, "show"))

    assert set(other.values()) == {
        ("–", "–", "no data"),
        ("–", "200%", "no data"),  # the default ROI target, not this workspace's 300%
    }
    assert other["Marketing ROI"] == ("–", "200%", "no data")
    assert here["Marketing ROI"] == ("250%", "300%", "behind")
    assert here["Lead conversion rate"] == ("12.5%", "12%", "on track")


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("set conv 12.5%", KpiValue),
        ("target roi 300%", KpiTarget),
        ("schedule fri 16:30", ReportSchedule),
    ],
)
def test_a_change_is_stored_when_the_ack_returns(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    text: str,
    model: type[KpiValue | KpiTarget | ReportSchedule],
) -> None:
    answer = slack.command(
        text, response_url=fake_slack.response_url(), command="/kpi", user_id=ADMIN, wait=False
    )

    # Read straight after the HTTP answer, without waiting for any work after the ack.
    with session_factory() as session:
        stored = session.exec(select(model)).all()
    assert [row.team_id for row in stored] == [payloads.TEAM_ID]
    assert answer.json()["response_type"] == "ephemeral"
    assert not answer.json()["text"].startswith(":warning:")


@pytest.mark.parametrize(
    "text", ["set conv 12.5%", "target roi 300%", "schedule fri 16:30", "chart last"]
)
def test_a_database_refusing_writes_is_answered_in_the_ack_and_nothing_changes(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    text: str,
) -> None:
    with refusing_writes(engine), caplog.at_level(logging.ERROR):
        answer = kpi(slack, fake_slack, text)

    assert answer == DATABASE_DOWN
    assert stored_nothing(session_factory)
    assert uploads_to(fake_slack) == []
    [logged] = [r for r in caplog.records if r.name == "handlers.kpi.command"]
    assert logged.exc_info is not None  # with its traceback


def test_show_says_how_the_weeks_ratings_kept_the_answer_time(
    slack: SlackAppClient, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    assert "no rating of 2026-W45 was due yet" in kpi(slack, fake_slack, "show", user_id=MEMBER)
    slack.command("ACME-1 2 no budget", response_url=fake_slack.response_url())  # Mon 09:30

    clock.advance(days=1)  # due Monday 13:30, unanswered

    answer = kpi(slack, fake_slack, "show", user_id=MEMBER)
    assert "Answer time (4h), 2026-W45: 0% within it (0 of 1 due)" in answer
