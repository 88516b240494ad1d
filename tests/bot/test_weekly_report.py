"""The weekly KPI report: posted once a week per workspace, with files_upload_v2."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.outbox.engine import Deliverer
from bot.scheduler import run_scheduled_posts
from bot.team_clients import OneWorkspace
from domain.admin.settings import WorkspaceSettings
from storage.engine import SessionFactory
from storage.kpis import set_kpi_value, set_report_schedule
from storage.models import ScheduledPost
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack

REPORT_CHANNEL = "CREPORTS"
MONDAY_0900_BERLIN = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)


@pytest.fixture
def report_deliverer(
    session_factory: SessionFactory, web_client: WebClient, clock: FakeClock
) -> Deliverer:
    """A deliverer that knows the report channel and the workspace's time zone."""
    return Deliverer(
        session_factory=session_factory,
        clients=OneWorkspace(web_client),
        clock=clock,
        defaults=WorkspaceSettings(
            feedback_channel=payloads.FEEDBACK_CHANNEL,
            report_channel=REPORT_CHANNEL,
            timezone="Europe/Berlin",
        ),
    )


@pytest.fixture(autouse=True)
def workspace(session_factory: SessionFactory, clock: FakeClock) -> None:
    clock.now = MONDAY_0900_BERLIN - timedelta(days=3)
    with session_factory() as session:
        record_workspace(
            session, team_id=payloads.TEAM_ID, team_name="Test", bot_user_id="UBOT", now=clock()
        )
        set_kpi_value(
            session,
            team_id=payloads.TEAM_ID,
            metric="roi",
            week=(2026, 45),
            value=180.0,
            set_by="UADMIN",
            now=clock(),
        )
        session.commit()


def tick(session_factory: SessionFactory, deliverer: Deliverer, clock: FakeClock) -> int:
    return run_scheduled_posts(session_factory=session_factory, deliverer=deliverer, clock=clock)


def report_claims(session_factory: SessionFactory) -> list[tuple[str, datetime]]:
    with session_factory() as session:
        rows = session.exec(
            select(ScheduledPost)
            .where(ScheduledPost.kind == "weekly_report")
            .order_by(ScheduledPost.occurrence_at)
        ).all()
        return [(row.status, row.occurrence_at) for row in rows]


def test_report_is_uploaded_to_the_report_channel_monday_morning(
    session_factory: SessionFactory,
    report_deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN - timedelta(minutes=1)
    assert tick(session_factory, report_deliverer, clock) == 0

    clock.now = MONDAY_0900_BERLIN
    assert tick(session_factory, report_deliverer, clock) == 1

    [upload_url] = fake_slack.calls_to("files.getUploadURLExternal")
    assert upload_url.params["filename"] == "leadloop-kpis-2026-W45.png"
    assert "alt_txt" in upload_url.params or "alt_text" in upload_url.params
    [upload] = fake_slack.calls_to("file_upload")
    assert upload.body.startswith(b"\x89PNG")
    [complete] = fake_slack.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == REPORT_CHANNEL
    assert "Weekly KPI report, 2026-W45" in complete.params["initial_comment"]
    assert report_claims(session_factory) == [("posted", MONDAY_0900_BERLIN)]


def test_report_goes_out_once_per_week_however_often_it_is_checked(
    session_factory: SessionFactory,
    report_deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
    web_client: WebClient,
) -> None:
    second_instance = replace(report_deliverer)
    clock.now = MONDAY_0900_BERLIN
    posted = [
        tick(session_factory, deliverer, clock)
        for deliverer in (report_deliverer, second_instance, report_deliverer)
    ]
    clock.advance(hours=5)
    posted.append(tick(session_factory, second_instance, clock))
    clock.now = MONDAY_0900_BERLIN + timedelta(days=7)
    posted.append(tick(session_factory, second_instance, clock))

    assert posted == [1, 0, 0, 0, 1]
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == 2


def test_report_missed_by_a_few_hours_is_posted_late_and_after_a_day_is_missed(
    session_factory: SessionFactory,
    report_deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    clock.now = MONDAY_0900_BERLIN + timedelta(hours=3)
    assert tick(session_factory, report_deliverer, clock) == 1
    clock.now = MONDAY_0900_BERLIN + timedelta(days=8, hours=1)  # down all of next Monday
    assert tick(session_factory, report_deliverer, clock) == 0

    assert report_claims(session_factory) == [
        ("late", MONDAY_0900_BERLIN),
        ("missed", MONDAY_0900_BERLIN + timedelta(days=7)),
    ]


def test_report_follows_the_schedule_an_admin_set(
    session_factory: SessionFactory,
    report_deliverer: Deliverer,
    clock: FakeClock,
    fake_slack: FakeSlack,
) -> None:
    with session_factory() as session:
        set_report_schedule(
            session,
            team_id=payloads.TEAM_ID,
            weekday=4,
            local_time="16:30",
            timezone="America/New_York",
            updated_by="UADMIN",
            now=clock(),
        )
        session.commit()
    friday_1630_new_york = datetime(2026, 11, 13, 21, 30, tzinfo=UTC)

    clock.now = MONDAY_0900_BERLIN
    assert tick(session_factory, report_deliverer, clock) == 0
    clock.now = friday_1630_new_york
    assert tick(session_factory, report_deliverer, clock) == 1

    [upload_url] = fake_slack.calls_to("files.getUploadURLExternal")
    assert upload_url.params["filename"] == "leadloop-kpis-2026-W45.png"


def test_no_report_channel_means_no_report(
    session_factory: SessionFactory, deliverer: Deliverer, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    clock.now = MONDAY_0900_BERLIN
    assert tick(session_factory, deliverer, clock) == 0
    assert fake_slack.calls_to("files.getUploadURLExternal") == []
    assert report_claims(session_factory) == []
