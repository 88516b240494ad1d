"""A week's answer-time figures are read with the answer-time settings and campaign owners of
its end: changing them later (``/leadloop settings``, ``/leadloop campaign``) leaves past
weeks alone, and the current week follows the change. Through signed requests, the CLI's
``leadloop report --json`` and ``/kpi show``.

Berlin, week 2026-W45 (Monday 2 to Monday 9 November), 4 business hours, Mon-Fri 09:00-18:00:

| rating | campaign (owner) | rated | first answer | due | |
| --- | --- | --- | --- | --- | --- |
| WEB-1 3/5 | Webinar (Maria) | Mon 09:30 | Mon 13:00 (reply) | Mon 13:30 | within, 3.5 h |
| ADS-1 2/5 | Ads (none) | Mon 10:00 | Mon 15:00 (reply) | Mon 14:00 | late, 5.0 h |
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from storage.engine import SessionFactory
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.bot.sla.workspace import ADMIN, berlin, leadloop, leads, rate, reply_at
from tests.conftest import FakeClock
from tests.fake_slack import FakeSlack
from tests.slack_app_client import SlackAppClient

MARIA, OLGA = "UMARIA", "UOLGA"
SETTINGS_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "FEEDBACK_CHANNEL",
    "REPORT_CHANNEL",
    "SLACK_API_URL",
    "ADMIN_USERS",
)


@pytest.fixture
def cli_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str
) -> Iterator[None]:
    """The CLI reads this test's database, in Berlin, and no developer's settings."""
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    for name in SETTINGS_VARIABLES:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEADLOOP_TZ", "Europe/Berlin")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    yield


def answer_time_of(capsys: pytest.CaptureFixture[str], week: str) -> dict[str, Any]:
    """``loop.answer_time`` of ``leadloop report --week <week> --json``."""
    capsys.readouterr()
    assert main(["report", "--week", week, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["loop"]["answer_time"]
    assert isinstance(figures, dict)
    return figures


def kpi_show(slack: SlackAppClient, fake_slack: FakeSlack, week: str) -> str:
    answer = slack.command(
        f"show {week}", response_url=fake_slack.response_url(), command="/kpi", user_id=ADMIN
    )
    return str(answer.json()["text"])


def week_45(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory, clock: FakeClock
) -> None:
    """The workspace (recorded in October, as the bot's start records it) and the week."""
    with session_factory() as session:
        record_workspace(
            session,
            team_id=payloads.TEAM_ID,
            team_name="Acme",
            bot_user_id=None,
            now=berlin(10, 1, 9),
        )
        session.commit()
    leads(session_factory, {"WEB-1": "Webinar", "ADS-1": "Ads"})
    clock.now = berlin(11, 2, 9)
    leadloop(slack, fake_slack, f"campaign webinar owner <@{MARIA}|maria>")
    clock.now = berlin(11, 2, 9, 30)
    web_1 = rate(slack, fake_slack, "WEB-1 3 fine")
    clock.now = berlin(11, 2, 10)
    ads_1 = rate(slack, fake_slack, "ADS-1 2 wrong industry")
    clock.now = berlin(11, 2, 13)
    reply_at(slack, web_1, clock.now)
    clock.now = berlin(11, 2, 15)
    reply_at(slack, ads_1, clock.now)


@pytest.mark.usefixtures("cli_environment")
def test_a_past_weeks_answer_time_is_the_same_after_its_settings_and_owners_change(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    week_45(slack, fake_slack, session_factory, clock)
    clock.now = berlin(11, 10, 9)
    before = answer_time_of(capsys, "2026-W45")
    shown_before = kpi_show(slack, fake_slack, "2026-W45")
    assert (before["sla"], before["overall"]["due"], before["overall"]["within"]) == ("4h", 2, 1)
    assert before["overall"]["median_business_hours_to_first_answer"] == 4.2  # 3.5 and 5
    assert set(before["by_campaign_owner"]) == {MARIA, "(no owner)"}

    for change in (
        "settings sla 2h",
        "settings sla-low 1h",
        "settings hours mon-sun 07:00-20:00",
        "settings timezone Europe/Lisbon",
        f"campaign webinar owner <@{OLGA}|olga>",
        "campaign ads owner <@UANNA|anna>",
    ):
        clock.advance(minutes=5)
        assert "I don't" not in leadloop(slack, fake_slack, change)

    assert answer_time_of(capsys, "2026-W45") == before
    shown_after = kpi_show(slack, fake_slack, "2026-W45")
    assert shown_after.split("```")[-1] == shown_before.split("```")[-1]

    clock.advance(minutes=5)
    leadloop(slack, fake_slack, "campaign webinar none")
    leadloop(slack, fake_slack, "settings sla off")
    assert answer_time_of(capsys, "2026-W45") == before


@pytest.mark.usefixtures("cli_environment")
def test_the_current_week_follows_the_new_settings_and_owners(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    week_45(slack, fake_slack, session_factory, clock)
    clock.now = berlin(11, 10, 9)
    leadloop(slack, fake_slack, "settings sla 2h")
    leadloop(slack, fake_slack, f"campaign webinar owner <@{OLGA}|olga>")
    clock.now = berlin(11, 10, 9, 30)
    web_3 = rate(slack, fake_slack, "WEB-1 4 better")
    clock.now = berlin(11, 10, 12)
    reply_at(slack, web_3, clock.now)

    figures = answer_time_of(capsys, "2026-W46")

    assert figures["sla"] == "2h"
    # 2.5 business hours against 2: late under the new answer time, owned by Olga now.
    assert set(figures["by_campaign_owner"]) == {OLGA}
    assert (figures["overall"]["due"], figures["overall"]["within"]) == (1, 0)
    assert "Answer time (2h), 2026-W46" in kpi_show(slack, fake_slack, "2026-W46")


@pytest.mark.usefixtures("cli_environment")
def test_turning_the_answer_time_off_leaves_past_weeks_their_figures_and_blanks_this_one(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    week_45(slack, fake_slack, session_factory, clock)
    clock.now = berlin(11, 10, 9)
    leadloop(slack, fake_slack, "settings sla off")

    capsys.readouterr()
    assert main(["report", "--week", "2026-W46", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loop"]["answer_time"] is None
    assert answer_time_of(capsys, "2026-W45")["sla"] == "4h"
