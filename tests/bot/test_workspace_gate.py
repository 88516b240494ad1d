"""Single-workspace mode serves the bot token's workspace alone (bot/workspace_gate.py).

Requests signed with the app's secret but from another workspace (the same app installed
there, or a sibling in an Enterprise Grid organisation) are refused before any listener
runs: nothing is stored, nothing is posted, and the CLI still sees one workspace.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.cli import main
from bot.config import Settings
from bot.workspace_gate import NOT_THIS_WORKSPACE, OncePerKey
from handlers import ids
from storage.engine import SessionFactory
from storage.models import OutboxMessage, Rating, Workspace
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith
from tests.fake_slack import FakeSlack
from tests.slack_app_client import HttpAnswer, SlackAppClient

OTHER = payloads.OTHER_TEAM_ID
FORM = "application/x-www-form-urlencoded"
GATE_LOG = "leadloop.workspaces"


@pytest.fixture
def recorded(session_factory: SessionFactory, clock: FakeClock) -> str:
    """The token's workspace, recorded as ``leadloop run`` records it at start."""
    with session_factory() as session:
        record_workspace(
            session, team_id=payloads.TEAM_ID, team_name="Test", bot_user_id="UBOT", now=clock()
        )
        session.commit()
    return payloads.TEAM_ID


def command(slack: SlackAppClient, fake_slack: FakeSlack, text: str, **fields: str) -> HttpAnswer:
    """``/rate-lead text`` with extra or changed form fields (a team, an enterprise)."""
    body = payloads.slash_command(text, response_url=fake_slack.response_url())
    body.update(fields)
    return slack.post_signed(payloads.form_body(body), content_type=FORM)


def snooze_click(team_id: str) -> dict[str, Any]:
    return payloads.block_action(action_id=ids.MEETING_SNOOZE, value="1", team_id=team_id)


def uninstalled(team_id: str) -> dict[str, Any]:
    return payloads.event_callback(
        {"type": "app_uninstalled", "event_ts": "1700000000.000100"},
        event_id=f"EvUninstall{team_id}",
        team_id=team_id,
    )


def slack_calls_but_the_token_check(fake_slack: FakeSlack) -> list[str]:
    return [call.method for call in fake_slack.calls if call.method != "auth.test"]


def test_a_rate_lead_from_another_workspace_is_refused_privately_and_stores_nothing(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = command(slack, fake_slack, "ACME-1 2 no budget", team_id=OTHER)

    assert answer.status == 200
    assert answer.json() == {"response_type": "ephemeral", "text": NOT_THIS_WORKSPACE}
    assert slack_calls_but_the_token_check(fake_slack) == []
    with session_factory() as session:
        assert session.exec(select(Rating)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_a_click_and_an_uninstall_from_another_workspace_get_an_empty_200_and_change_nothing(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    recorded: str,
) -> None:
    click = slack.interact(snooze_click(OTHER))
    uninstall = slack.event(uninstalled(OTHER))

    assert (click.status, click.body) == (200, b"")
    assert (uninstall.status, uninstall.body) == (200, b"")
    assert slack_calls_but_the_token_check(fake_slack) == []
    with session_factory() as session:
        workspaces = session.exec(select(Workspace)).all()
    assert [(w.team_id, w.uninstalled_at) for w in workspaces] == [(recorded, None)]


def test_after_another_workspaces_requests_export_still_needs_no_workspace_option(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    recorded: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command(slack, fake_slack, "ACME-1 4 good fit")
    command(slack, fake_slack, "BETA-1 1 spam", team_id=OTHER)
    slack.interact(snooze_click(OTHER))
    slack.event(uninstalled(OTHER))
    monkeypatch.setenv("LEADLOOP_ENV_FILE", str(tmp_path / "no-such.env"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()

    exit_code = main(["export", "ratings", "--format", "json"])

    captured = capsys.readouterr()
    assert exit_code == 0, captured.err
    assert "ACME-1" in captured.out and "BETA-1" not in captured.out
    [post] = fake_slack.calls_to("chat.postMessage")
    assert "ACME-1" in post.params["text"]


def test_the_own_workspace_in_another_organisation_is_refused_when_the_token_has_one(
    settings: Settings,
    serve_with: ServeWith,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    fake_slack.enterprise_id = "E0MINE"
    with serve_with(settings) as slack:
        elsewhere = command(slack, fake_slack, "ACME-1 2 x", enterprise_id="E0OTHER")
        at_home = command(slack, fake_slack, "ACME-2 4 y", enterprise_id="E0MINE")

    assert elsewhere.json()["text"] == NOT_THIS_WORKSPACE
    assert "ACME-2" in at_home.json()["text"]
    with session_factory() as session:
        assert len(session.exec(select(Rating)).all()) == 1


def test_a_request_from_an_org_wide_install_is_refused(
    slack: SlackAppClient, fake_slack: FakeSlack, session_factory: SessionFactory
) -> None:
    answer = command(slack, fake_slack, "ACME-1 2 x", is_enterprise_install="true")

    assert answer.json()["text"] == NOT_THIS_WORKSPACE
    with session_factory() as session:
        assert session.exec(select(Rating)).all() == []


def test_each_refused_workspace_is_logged_once_a_minute_by_team_id_alone(
    slack: SlackAppClient, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        command(slack, fake_slack, "SECRET-REF 2 private words", team_id=OTHER)
    command(slack, fake_slack, "SECRET-REF 2 private words", team_id="T0THIRD")

    lines = [record.getMessage() for record in caplog.records if record.name == GATE_LOG]
    assert len(lines) == 2, lines
    assert OTHER in lines[0] and "T0THIRD" in lines[1]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SECRET-REF" not in logged and "private words" not in logged
    assert "response_url" not in logged and "/response/" not in logged


def test_once_per_key_allows_a_key_again_after_the_interval_and_stays_small() -> None:
    now = [0.0]
    limit = OncePerKey(interval=60, max_keys=3, clock=lambda: now[0])

    assert [limit.allow("T1"), limit.allow("T1"), limit.allow("T2")] == [True, False, True]
    now[0] = 61
    assert limit.allow("T1") is True
    for team in ("T3", "T4", "T5", "T6"):
        assert limit.allow(team) is True
    assert len(limit) <= 3
