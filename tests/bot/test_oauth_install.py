"""Installing leadloop in many workspaces through OAuth, and uninstalling it.

The app runs in OAuth mode behind the real HTTP server; the fake Slack server plays
``oauth.v2.access`` and answers ``auth.test`` for each install's own token.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.app import build_deliverer
from bot.config import Settings
from bot.installs import BOT_SCOPES, INSTALL_PATH, REDIRECT_PATH, Installations
from bot.outbox.engine import Deliverer
from bot.scheduler import run_scheduled_posts
from bot.slack_client import build_web_client
from bot.workspace_gate import NOT_INSTALLED
from storage import roles
from storage.engine import SessionFactory, database_answers
from storage.models import Meeting, OutboxMessage, Rating, Workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, SleepRecorder, serve_app
from tests.fake_slack import FakeSlack
from tests.slack_app_client import HttpAnswer, SlackAppClient, http_request

CLIENT_ID = "1234567890.9876543210"
CLIENT_SECRET = "oauth-client-secret-for-tests"
TEAM_A, TEAM_B = "T0ALPHA", "T0BETA"
INSTALLER_A, INSTALLER_B = "UINSTALLA", "UINSTALLB"
CHANNEL_A, CHANNEL_B = "C0FEEDA", "C0FEEDB"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def oauth_settings(settings: Settings) -> Settings:
    """Settings of an app distributed to many workspaces: no bot token, no feedback channel."""
    return replace(
        settings,
        slack_bot_token=None,
        feedback_channel=None,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
    )


@pytest.fixture
def installations(engine: Engine, oauth_settings: Settings) -> Installations:
    found = Installations.on(engine, oauth_settings)
    assert found is not None
    return found


@pytest.fixture
def app_client(oauth_settings: Settings, sleeps: SleepRecorder) -> WebClient:
    """The app's client in OAuth mode: Slack's address and retries, but no token."""
    return build_web_client(token=None, base_url=oauth_settings.slack_api_url, sleep=sleeps)


@pytest.fixture
def oauth_slack(
    oauth_settings: Settings,
    engine: Engine,
    session_factory: SessionFactory,
    app_client: WebClient,
    clock: FakeClock,
    installations: Installations,
) -> Iterator[SlackAppClient]:
    with serve_app(
        oauth_settings,
        session_factory=session_factory,
        client=app_client,
        clock=clock,
        is_healthy=lambda: database_answers(engine),
        installations=installations,
    ) as client:
        yield client


@pytest.fixture
def oauth_deliverer(
    oauth_settings: Settings,
    session_factory: SessionFactory,
    app_client: WebClient,
    clock: FakeClock,
    installations: Installations,
) -> Deliverer:
    return build_deliverer(
        oauth_settings,
        session_factory=session_factory,
        client=app_client,
        clock=clock,
        installations=installations,
    )


def start_install(app: SlackAppClient) -> tuple[str, str]:
    """Open /slack/install like a browser: the state in Slack's link, and its cookie."""
    page = http_request(app.base_url + INSTALL_PATH)
    assert page.status == 200
    query = parse_qs(urlsplit(authorize_link(page)).query)
    return query["state"][0], query["client_id"][0]


def authorize_link(page: HttpAnswer) -> str:
    """The "Add to Slack" link of the install page."""
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.text)
    assert link is not None, page.text
    return html.unescape(link.group(1))


def finish_install(app: SlackAppClient, *, code: str, state: str) -> HttpAnswer:
    """Come back from Slack to the redirect URL with the code, carrying the state cookie."""
    return http_request(
        f"{app.base_url}{REDIRECT_PATH}?code={code}&state={state}",
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )


def install(
    app: SlackAppClient, fake_slack: FakeSlack, *, team_id: str, installer_id: str
) -> tuple[str, HttpAnswer]:
    token = fake_slack.grant_install(
        f"code-{team_id}", team_id=team_id, team_name=f"Team {team_id}", installer_id=installer_id
    )
    state, _ = start_install(app)
    return token, finish_install(app, code=f"code-{team_id}", state=state)


def set_feedback_channel(session_factory: SessionFactory, team_id: str, channel: str) -> None:
    with session_factory() as session:
        workspace = session.get(Workspace, team_id)
        assert workspace is not None
        workspace.feedback_channel = channel
        session.add(workspace)
        session.commit()


def rate(app: SlackAppClient, fake_slack: FakeSlack, *, team_id: str, text: str) -> HttpAnswer:
    return app.command(text, response_url=fake_slack.response_url(), team_id=team_id)


def test_the_install_page_asks_slack_for_leadloops_scopes(
    oauth_slack: SlackAppClient,
) -> None:
    page = http_request(oauth_slack.base_url + INSTALL_PATH)

    query = parse_qs(urlsplit(authorize_link(page)).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"][0].split(",") == list(BOT_SCOPES)
    assert query["state"][0]


def test_an_install_stores_the_token_records_the_workspace_and_makes_the_installer_admin(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    installations: Installations,
) -> None:
    token, page = install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)

    assert page.status == 200
    assert "leadloop is installed" in page.text
    assert "/leadloop settings feedback" in page.text
    bot = installations.store.find_bot(enterprise_id=None, team_id=TEAM_A)
    assert bot is not None and bot.bot_token == token
    with session_factory() as session:
        workspace = session.get(Workspace, TEAM_A)
        given = roles.roles_given(session, team_id=TEAM_A, user_id=INSTALLER_A)
    assert workspace is not None and workspace.team_name == f"Team {TEAM_A}"
    assert given == {roles.ADMIN}


def test_an_install_with_a_forged_state_is_refused_and_stores_nothing(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    installations: Installations,
) -> None:
    fake_slack.grant_install("code-x", team_id=TEAM_A, team_name="A", installer_id=INSTALLER_A)

    page = finish_install(oauth_slack, code="code-x", state="forged-state")

    assert page.status >= 400
    assert "was not installed" in page.text
    assert installations.store.find_bot(enterprise_id=None, team_id=TEAM_A) is None
    with session_factory() as session:
        assert session.get(Workspace, TEAM_A) is None


def test_each_workspace_is_answered_and_posted_to_with_its_own_token(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    token_a, _ = install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)
    token_b, _ = install(oauth_slack, fake_slack, team_id=TEAM_B, installer_id=INSTALLER_B)
    set_feedback_channel(session_factory, TEAM_A, CHANNEL_A)
    set_feedback_channel(session_factory, TEAM_B, CHANNEL_B)

    rate(oauth_slack, fake_slack, team_id=TEAM_A, text="ACME-1 4 good fit")
    rate(oauth_slack, fake_slack, team_id=TEAM_B, text="BETA-1 2 no budget")

    posts = {call.params["channel"]: call.token for call in fake_slack.calls_to("chat.postMessage")}
    assert posts == {CHANNEL_A: token_a, CHANNEL_B: token_b}


def test_a_rating_before_the_feedback_channel_is_chosen_is_kept_and_says_so(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    oauth_deliverer: Deliverer,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)

    answer = rate(oauth_slack, fake_slack, team_id=TEAM_A, text="ACME-1 4 good fit")

    assert "/leadloop settings feedback" in answer.json()["text"]
    assert fake_slack.calls_to("response_url") == []
    assert fake_slack.calls_to("chat.postMessage") == []
    with session_factory() as session:
        [owed] = session.exec(select(OutboxMessage)).all()
    assert owed.status == "pending" and "no feedback channel" in (owed.last_error or "")


def test_a_request_from_a_workspace_that_never_installed_is_refused_and_stores_nothing(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)

    rate(oauth_slack, fake_slack, team_id="T0STRANGER", text="ACME-1 4 good fit")

    with session_factory() as session:
        assert session.exec(select(OutboxMessage)).all() == []
    assert fake_slack.calls_to("chat.postMessage") == []


def uninstall_event(team_id: str, event_id: str = "EvUninstall") -> dict[str, object]:
    return payloads.event_callback(
        {"type": "app_uninstalled", "event_ts": "1700000000.000100"},
        event_id=event_id,
        team_id=team_id,
    )


def test_uninstalling_forgets_the_token_and_stops_the_workspaces_reminders(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    installations: Installations,
    oauth_deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)
    install(oauth_slack, fake_slack, team_id=TEAM_B, installer_id=INSTALLER_B)
    for team_id, user in ((TEAM_A, INSTALLER_A), (TEAM_B, INSTALLER_B)):
        oauth_slack.command(
            "add daily 10:00 <#C0SALESMKT|sales-marketing> Pipeline sync",
            response_url=fake_slack.response_url(),
            command="/meeting",
            team_id=team_id,
            user_id=user,
        )

    answer = oauth_slack.event(uninstall_event(TEAM_A))
    oauth_slack.event(uninstall_event(TEAM_A), retry_num=1)  # Slack's retry changes nothing

    assert answer.status == 200
    assert installations.store.find_bot(enterprise_id=None, team_id=TEAM_A) is None
    assert installations.store.find_bot(enterprise_id=None, team_id=TEAM_B) is not None
    with session_factory() as session:
        workspace = session.get(Workspace, TEAM_A)
        meetings = session.exec(select(Meeting)).all()
    assert workspace is not None and workspace.uninstalled_at is not None
    assert {meeting.team_id for meeting in meetings} == {TEAM_A, TEAM_B}

    clock.now = clock.now.replace(hour=14, minute=50)  # 10:00 in New York is 15:00 UTC
    run_scheduled_posts(session_factory=session_factory, deliverer=oauth_deliverer, clock=clock)

    reminders = fake_slack.calls_to("chat.postMessage")
    assert [call.token for call in reminders] == [f"xoxb-{TEAM_B}-2"]


def test_reinstalling_delivers_what_was_owed_while_uninstalled(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    oauth_deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)
    set_feedback_channel(session_factory, TEAM_A, CHANNEL_A)
    fake_slack.fail_next("chat.postMessage", error="account_inactive")
    rate(oauth_slack, fake_slack, team_id=TEAM_A, text="ACME-1 4 good fit")
    oauth_slack.event(uninstall_event(TEAM_A))

    clock.advance(hours=1)
    assert oauth_deliverer.deliver_due() == 0  # no token: kept, not sent, not dropped

    new_token, page = install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)
    clock.advance(hours=1)
    sent = oauth_deliverer.deliver_due()

    assert page.status == 200
    assert sent == 1
    assert fake_slack.calls_to("chat.postMessage")[-1].token == new_token
    with session_factory() as session:
        workspace = session.get(Workspace, TEAM_A)
    assert workspace is not None and workspace.uninstalled_at is None


def test_a_revoked_bot_token_stops_the_workspace_like_an_uninstall(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    installations: Installations,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)
    revoked = payloads.event_callback(
        {"type": "tokens_revoked", "tokens": {"bot": [f"UBOT{TEAM_A}"]}},
        event_id="EvRevoked",
        team_id=TEAM_A,
    )

    oauth_slack.event(revoked)

    assert installations.store.find_bot(enterprise_id=None, team_id=TEAM_A) is None
    with session_factory() as session:
        workspace = session.get(Workspace, TEAM_A)
    assert workspace is not None and workspace.uninstalled_at is not None


def test_in_single_workspace_mode_an_uninstall_stops_the_schedules_too(
    slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
) -> None:
    slack.command(
        "add daily 10:00 <#C0SALESMKT|sales-marketing> Pipeline sync",
        response_url=fake_slack.response_url(),
        command="/meeting",
    )
    slack.event(uninstall_event(payloads.TEAM_ID))

    clock.now = clock.now.replace(hour=14, minute=50)  # 10:00 in New York is 15:00 UTC
    posted = run_scheduled_posts(session_factory=session_factory, deliverer=deliverer, clock=clock)

    assert posted == 0
    assert fake_slack.calls_to("chat.postMessage") == []


def test_the_manifest_asks_for_the_scopes_events_and_redirect_the_install_needs() -> None:
    with open("manifest.json", encoding="utf-8") as file:
        manifest = json.load(file)

    assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert {"app_uninstalled", "tokens_revoked"} <= set(
        manifest["settings"]["event_subscriptions"]["bot_events"]
    )
    [redirect] = manifest["oauth_config"]["redirect_urls"]
    assert redirect.endswith(REDIRECT_PATH)


def admins_of(session_factory: SessionFactory, team_id: str) -> set[str]:
    with session_factory() as session:
        return roles.members_with_role(session, team_id=team_id, role=roles.ADMIN)


def test_only_the_first_installer_becomes_admin_and_a_reinstall_keeps_the_roles(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)

    _, again = install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id="UMEMBER")
    oauth_slack.event(uninstall_event(TEAM_A))
    _, after_uninstall = install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id="UOTHER")

    assert again.status == 200 and after_uninstall.status == 200
    assert "again" in again.text and "first leadloop admin" not in again.text
    assert admins_of(session_factory, TEAM_A) == {INSTALLER_A}
    with session_factory() as session:
        assert roles.roles_given(session, team_id=TEAM_A, user_id="UMEMBER") == set()


ORG = "E0ORG"
GRID_WORKSPACE = "T0GRIDWS"


def org_command(app: SlackAppClient, fake_slack: FakeSlack, **fields: str) -> HttpAnswer:
    """/rate-lead from a workspace of the organisation ORG."""
    body = payloads.slash_command("ACME-1 4 good fit", response_url=fake_slack.response_url())
    body.update({"team_id": GRID_WORKSPACE, "enterprise_id": ORG, **fields})
    return app.post_signed(payloads.form_body(body), content_type=FORM)


def stored_anything(session_factory: SessionFactory, engine: Engine) -> list[str]:
    """Tables that hold a row of an install, a workspace, a rating or an owed post."""
    with engine.connect() as connection:
        tables = [
            name
            for name in ("slack_bots", "slack_installations")
            if connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar()
        ]
    with session_factory() as session:
        for model in (Workspace, Rating, OutboxMessage):
            if session.exec(select(model)).first() is not None:
                tables.append(model.__name__)
    return tables


def test_an_org_wide_install_is_refused_before_anything_is_stored_and_its_token_given_back(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    engine: Engine,
) -> None:
    token = fake_slack.grant_install(
        "code-org",
        team_id=None,
        team_name="Org",
        installer_id=INSTALLER_A,
        enterprise_id=ORG,
        org_wide=True,
    )
    state, _ = start_install(oauth_slack)

    page = finish_install(oauth_slack, code="code-org", state=state)
    answer = org_command(oauth_slack, fake_slack, is_enterprise_install="true")

    assert page.status == 403
    assert "not installed" in page.text and "each workspace" in page.text
    assert fake_slack.revoked_tokens == [token]
    assert answer.json()["text"] == NOT_INSTALLED
    assert stored_anything(session_factory, engine) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_an_org_wide_installation_already_stored_authorizes_nothing_in_its_organisation(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    installations: Installations,
) -> None:
    # As an older leadloop let Bolt store it.
    installations.store.save(
        Installation(
            app_id="A0LEADLOOP",
            enterprise_id=ORG,
            team_id=None,
            bot_token="xoxb-org-wide",
            bot_id="BORG",
            bot_user_id="UBOTORG",
            user_id=INSTALLER_A,
            is_enterprise_install=True,
        )
    )

    org_wide = org_command(oauth_slack, fake_slack, is_enterprise_install="true")
    workspace = org_command(oauth_slack, fake_slack)

    assert org_wide.json()["text"] == NOT_INSTALLED
    assert workspace.json()["text"] == NOT_INSTALLED
    with session_factory() as session:
        assert session.exec(select(Rating)).all() == []
    assert [call.token for call in fake_slack.calls] == []


@pytest.mark.parametrize("event", ["app_uninstalled", "tokens_revoked"])
def test_a_lifecycle_event_from_a_workspace_leadloop_does_not_know_changes_nothing(
    event: str,
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    installations: Installations,
) -> None:
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)
    envelope = payloads.event_callback(
        {"type": event, "tokens": {"bot": ["UBOTX"]}, "event_ts": "1700000000.000100"},
        event_id="EvStranger",
        team_id="T0STRANGER",
    )

    answer = oauth_slack.event(envelope)

    assert (answer.status, answer.body) == (200, b"")
    with session_factory() as session:
        assert [w.team_id for w in session.exec(select(Workspace)).all()] == [TEAM_A]
    assert installations.store.find_bot(enterprise_id=None, team_id=TEAM_A) is not None


def test_requests_from_a_workspace_without_an_install_log_one_short_line_a_minute(
    oauth_slack: SlackAppClient,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    install(oauth_slack, fake_slack, team_id=TEAM_A, installer_id=INSTALLER_A)

    answers = [
        rate(oauth_slack, fake_slack, team_id="T0STRANGER", text="SECRET-1 4 private words")
        for _ in range(3)
    ]

    assert {answer.json()["text"] for answer in answers} == {NOT_INSTALLED}
    refused = [r.getMessage() for r in caplog.records if r.name == "leadloop.workspaces"]
    assert len(refused) == 1 and "T0STRANGER" in refused[0], refused
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "SECRET-1" not in caplog.text and "private words" not in caplog.text


def test_the_delivery_process_finds_the_token_of_a_workspace_in_an_organisation(
    installations: Installations, oauth_deliverer: Deliverer
) -> None:
    # A Grid workspace installed on its own: its rows carry the organisation's id, which
    # the delivery process, knowing only the workspace, does not have.
    installations.store.save(
        Installation(
            app_id="A0LEADLOOP",
            enterprise_id=ORG,
            team_id="T0GRIDWS",
            bot_token="xoxb-grid-workspace",
            bot_id="BGRID",
            bot_user_id="UBOTGRID",
            user_id=INSTALLER_A,
        )
    )

    client = oauth_deliverer.clients.for_team("T0GRIDWS")

    assert client is not None and client.token == "xoxb-grid-workspace"
    assert oauth_deliverer.clients.for_team("T0NEVER") is None
