"""Tenant isolation: a request from workspace B that names workspace A's objects changes nothing.

For every slash command, block action, view submission and event leadloop listens to, a
request signed for workspace B carries the IDs of workspace A's objects: a lead id in a
button value, a meeting id in ``/meeting skip``, a reminder id in the snooze button, a
meeting id in a form's private metadata, the ``ts`` of A's rating post in a thread reply.
Each case checks that

* B's actor is told what leadloop tells anyone naming something that does not exist (or,
  for commands that only read or write the workspace's own data, sees B's data alone);
* nothing of A's shows up in anything sent to Slack (lead refs, titles, KPI values, ...);
* no Slack write reaches A's channels or A's messages;
* with a token per workspace (OAuth installs), every Slack call is made with B's token;
* the database is unchanged: every row of A is identical, no row without a workspace
  changed, and B gained nothing at all, or (for commands that store B's own data, and
  B's own uninstall) only rows of B that point at rows of B.

B's actor is an admin of B, so a refusal can only be about tenancy. It is either a plain
member of B, or the same person as A's admin (Enterprise Grid user IDs are org-wide), so
that filters on the user alone let the request through and only the workspace can stop it.
The app runs with one OAuth install per workspace, and with one bot token: A's. With the
one token, B is not leadloop's workspace at all, and every request from B is refused
outright, before any listener runs: a command is told that leadloop is not installed for
its workspace, anything else gets an empty 200, nothing is stored and Slack is not called.

Every case has a companion: the same request, as A's admin in A, must take effect. That
proves each request is well formed, so each refusal above is due to the workspace alone.
A last test checks that the cases cover every listener the app registers.

A's world is made through the app once per backend and mode, and its rows are copied
into each test's fresh database: each case pays for a copy, not for the whole arrangement.
"""

from __future__ import annotations

import html
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from slack_bolt import App
from sqlalchemy import Engine, Integer, MetaData, Table, select, text, update
from sqlalchemy.engine import make_url
from sqlmodel import col
from sqlmodel import select as sqlmodel_select

from bot.app import build_deliverer
from bot.config import Settings
from bot.installs import INSTALL_PATH, REDIRECT_PATH, Installations
from bot.outbox.engine import Deliverer
from bot.scheduler import run_scheduled_posts
from bot.slack_client import build_web_client
from bot.workspace_gate import NOT_THIS_WORKSPACE
from domain.leads.intake import fold_records, intake_leads
from domain.leads.records import LeadRecord
from handlers import ids
from handlers.verdicts import ONE_CLICK_ACTIONS
from handlers.views.handoffs import LEAD_NOT_FOUND
from handlers.views.ratings import VERDICT_RATING_NOT_FOUND
from storage import roles as role_store
from storage.engine import SessionFactory
from storage.models import (
    HandoffMessage,
    Lead,
    Meeting,
    OutboxMessage,
    Rating,
    Response,
    ScheduledPost,
)
from storage.workspaces import record_workspace
from tests import slack_payloads as payloads
from tests.conftest import FakeClock, ServeWith, serve_app
from tests.fake_slack import Call, FakeSlack
from tests.slack_app_client import HttpAnswer, SlackAppClient, http_request

TEAM_A = payloads.TEAM_ID
TEAM_B = payloads.OTHER_TEAM_ID
A_ADMIN = payloads.RATER_ID  # A's rep and admin: owns A's leads, rated them, added the meetings
A_MARKETER = payloads.MARKETER_ID
B_ADMIN = "UBADMIN"
A_CHANNEL = payloads.SALES_CHANNEL
B_CHANNEL = "C0BSALES"
A_MEETING_CHANNEL = "C0AMEET"
A_REPORT_CHANNEL = "C0AREPORT"  # A's own setting; the environment names no report channel
B_REPORT_CHANNEL = "C0BREPORT"
THURSDAY_NOON_UTC = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

HANDED_OFF_REF = "AQ-7731"  # handed off, rated with a button and answered by marketing
WAITING_REF = "AQ-7732"  # handed off, not rated yet: on its owner's home tab
UNANSWERED_REF = "AQ-7733"  # rated with /rate-lead, waiting for marketing's answer
UNDELIVERED_REF = "AQ-7734"  # its hand-off failed and waits in the outbox for a retry
A_KPI_VALUE = "43,210"  # revenue this week, as leadloop shows it ($43,210)
A_KPI_TARGET = "50,000"
# Everything A wrote says "Alpha": lead names, companies, campaigns, reasons, answers,
# meeting titles and agenda topics. None of it may reach anything B is shown.
A_MARKER = "Alpha"

FORM = "application/x-www-form-urlencoded"
# Slack calls that post, change or delete something (views.* and ephemerals answer the
# actor; they are checked for A's data like every other call, not forbidden).
POSTING_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.delete",
        "chat.scheduleMessage",
        "conversations.join",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "file_upload",
    }
)
WRITE_METHODS = POSTING_METHODS | {"chat.postEphemeral", "views.publish"}


# How the app holds its Slack tokens: one bot token (A's: single-workspace mode, where B's
# requests are refused outright), or one installation per workspace through OAuth, each
# answered with its own.
MODES = ("one-token", "oauth")
CLIENT_ID = "1234567890.1122334455"
CLIENT_SECRET = "tenant-sweep-client-secret"


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """How the app holds its tokens."""
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, mode: str) -> Settings:
    """The usual test settings with a hand-off channel; in OAuth mode, no bot token."""
    here = replace(settings, handoff_channel=payloads.HANDOFF_CHANNEL)
    if mode == "oauth":
        here = replace(
            here,
            slack_bot_token=None,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
        )
    return here


@pytest.fixture
def installations(engine: Engine, settings: Settings) -> Installations | None:
    """The installation store in OAuth mode; None with one bot token."""
    return Installations.on(engine, settings)


@pytest.fixture
def slack(
    settings: Settings, serve_with: ServeWith, installations: Installations | None
) -> Iterator[SlackAppClient]:
    """The real app behind the real HTTP server, in this test's mode."""
    with serve_with(settings, installations=installations) as client:
        yield client


# --- who acts, and what A has ------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who sends a request, from which workspace and channel."""

    team_id: str
    user_id: str
    channel_id: str


A_ACTOR = Actor(TEAM_A, A_ADMIN, A_CHANNEL)
INTRUDERS = {
    # A member of B only, and an admin there.
    "b-admin": Actor(TEAM_B, B_ADMIN, B_CHANNEL),
    # A's own admin, also a member and admin of B (one Enterprise Grid user ID).
    "grid-member": Actor(TEAM_B, A_ADMIN, B_CHANNEL),
}


@dataclass(frozen=True)
class World:
    """Workspace A's objects, by the IDs a request can name."""

    lead_id: int
    waiting_lead_id: int
    answered_post_ts: str
    unanswered_post_ts: str
    unanswered_rating_id: int
    response_ts: str
    meeting_id: int
    paused_meeting_id: int
    reminder_post_id: int
    a_channels: frozenset[str]
    a_message_ts: frozenset[str]
    tokens: dict[str, str]  # OAuth mode: each workspace's bot token, by team
    a_webhook_secret: str

    @property
    def secrets(self) -> tuple[str, ...]:
        """What only A may see: refs, texts, values, members, channels, message ts."""
        return (
            HANDED_OFF_REF,
            WAITING_REF,
            UNANSWERED_REF,
            UNDELIVERED_REF,
            A_MARKER,
            A_KPI_VALUE,
            A_KPI_TARGET,
            f"<@{A_MARKETER}>",
            A_MEETING_CHANNEL,
            A_REPORT_CHANNEL,
            self.a_webhook_secret,
            *sorted(self.a_message_ts),
        )


@dataclass
class Driver:
    """Sends signed requests as a given actor; remembers what was sent."""

    slack: SlackAppClient
    fake_slack: FakeSlack
    event_prefix: str = "EvTest"
    sent: list[str] = field(default_factory=list)
    _event_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def command(self, actor: Actor, command: str, text: str) -> HttpAnswer:
        """Type ``command text`` in the actor's channel."""
        fields = payloads.slash_command(
            text,
            response_url=self.fake_slack.response_url("iso"),
            command=command,
            team_id=actor.team_id,
            user_id=actor.user_id,
            channel_id=actor.channel_id,
        )
        self.sent.append(json.dumps(fields))
        return self.slack.post_signed(payloads.form_body(fields), content_type=FORM)

    def interact(self, payload: dict[str, Any]) -> HttpAnswer:
        """A click or a form submission."""
        self.sent.append(json.dumps(payload))
        return self.slack.interact(payload)

    def event(self, actor: Actor, event: dict[str, Any]) -> HttpAnswer:
        """An Events API delivery for the actor's workspace."""
        envelope = payloads.event_callback(
            event, event_id=f"{self.event_prefix}{next(self._event_ids)}", team_id=actor.team_id
        )
        self.sent.append(json.dumps(envelope))
        return self.slack.event(envelope)

    def click(self, actor: Actor, action_id: str, value: str) -> HttpAnswer:
        """Click a button on a message in the actor's channel."""
        return self.interact(
            payloads.block_action(
                action_id=action_id,
                value=value,
                team_id=actor.team_id,
                user_id=actor.user_id,
                channel_id=actor.channel_id,
                response_url=self.fake_slack.response_url("iso"),
            )
        )

    def told(self, mark: int, answer: HttpAnswer | None = None) -> str:
        """Everything shown to whoever acted since call ``mark``: answers, ephemerals, views."""
        parts = [answer.text] if answer is not None else []
        for call in self.fake_slack.calls[mark:]:
            if call.method in {"response_url", "chat.postEphemeral"}:
                parts.append(str(call.params.get("text", "")))
            elif call.method.startswith("views."):
                parts.append(json.dumps(call.params.get("view"), ensure_ascii=False))
        return "\n".join(parts)


@pytest.fixture
def driver(slack: SlackAppClient, fake_slack: FakeSlack) -> Driver:
    """Sends the sweep's requests."""
    return Driver(slack, fake_slack)


class EarlierSlack(FakeSlack):
    """The fake Slack A's world is built on: its message ts are a day before any test's.

    A test's own fake Slack hands out ts from the same counter start, so without the shift
    a message posted during a test could share its ts with one of A's messages.
    """

    def _next_ts(self) -> str:
        seconds, _, micros = super()._next_ts().partition(".")
        return f"{int(seconds) - 86_400}.{micros}"


Row = dict[str, Any]


@dataclass(frozen=True)
class WorldTemplate:
    """A's world as built once through the app: its IDs, its rows and the time it ended."""

    world: World
    now: datetime
    tables: tuple[Table, ...]  # every table of the database, parents before children
    rows: dict[str, list[Row]]
    installed_tokens: dict[str, Any]  # what Slack knows of each installation's token

    def restore(self, engine: Engine) -> None:
        """Put the world's rows into a fresh, migrated database; sequences continue after them."""
        with engine.begin() as connection:
            for table in self.tables:
                if table.name == "alembic_version" or not self.rows[table.name]:
                    continue
                connection.execute(table.insert(), self.rows[table.name])
                key = list(table.primary_key.columns)
                serial = len(key) == 1 and isinstance(key[0].type, Integer)
                if connection.dialect.name == "postgresql" and serial:
                    connection.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence(:table, :column), "
                            f'(SELECT max("{key[0].name}") FROM "{table.name}"))'
                        ),
                        {"table": table.name, "column": key[0].name},
                    )


@pytest.fixture(scope="module")
def world_templates() -> dict[tuple[str, str], WorldTemplate]:
    """A's world per database backend and mode, built by the first test that needs it."""
    return {}


@pytest.fixture
def world_template(
    world_templates: dict[tuple[str, str], WorldTemplate],
    database_url: str,
    mode: str,
    settings: Settings,
    engine: Engine,
    session_factory: SessionFactory,
    installations: Installations | None,
    fake_slack: FakeSlack,
    clock: FakeClock,
) -> WorldTemplate:
    """Workspace A with one of everything, in this test's database.

    Built through the app (on a fake Slack of its own) once per backend and mode, then
    copied row by row into each test's fresh database: every test starts from the same
    world, and none sees what another did.
    """
    key = (make_url(database_url).get_backend_name(), mode)
    template = world_templates.get(key)
    if template is None:
        template = world_templates[key] = _build_world(
            settings,
            engine=engine,
            session_factory=session_factory,
            installations=installations,
            clock=clock,
        )
    else:
        template.restore(engine)
    clock.now = template.now
    fake_slack.installed_tokens.update(template.installed_tokens)
    for user in (A_ADMIN, B_ADMIN, A_MARKETER):
        fake_slack.set_user(user, tz="UTC")
    return template


@pytest.fixture
def world(world_template: WorldTemplate) -> World:
    """The IDs of A's objects in this test's database."""
    return world_template.world


def _build_world(
    settings: Settings,
    *,
    engine: Engine,
    session_factory: SessionFactory,
    installations: Installations | None,
    clock: FakeClock,
) -> WorldTemplate:
    with EarlierSlack(team_id=TEAM_A) as fake:
        here = replace(settings, slack_api_url=fake.api_url)
        client = build_web_client(
            token=here.slack_bot_token, base_url=here.slack_api_url, sleep=lambda _: None
        )
        deliverer = build_deliverer(
            here,
            session_factory=session_factory,
            client=client,
            clock=clock,
            installations=installations,
        )
        with serve_app(
            here,
            session_factory=session_factory,
            client=client,
            clock=clock,
            is_healthy=lambda: True,
            installations=installations,
        ) as slack:
            driver = Driver(slack, fake, event_prefix="EvWorld")
            clock.now = THURSDAY_NOON_UTC
            if installations is None:
                _bootstrap_admins(session_factory, clock)
            else:
                for team, installer in ((TEAM_A, A_ADMIN), (TEAM_B, B_ADMIN)):
                    _install(slack, fake, team_id=team, installer_id=installer)
            world = _arrange(
                driver, fake, session_factory, deliverer, clock, b_served=installations is not None
            )
        installed = dict(fake.installed_tokens)
    tokens = {grant["team_id"]: token for token, grant in installed.items()}
    world = replace(world, tokens=tokens)
    metadata = MetaData()
    metadata.reflect(bind=engine)
    tables = tuple(metadata.sorted_tables)
    rows = Database(engine, tables).snapshot().rows
    return WorldTemplate(world, clock(), tables, rows, installed)


def _bootstrap_admins(session_factory: SessionFactory, clock: FakeClock) -> None:
    """With one bot token: both workspaces known, each with its admins (A's admin is one of
    B's too), as a database that served B before leadloop refused it would hold them.

    As ADMIN_USERS would make them, except that ADMIN_USERS holds in every workspace, so it
    stays empty here.
    """
    admins = ((TEAM_A, A_ADMIN, A_ADMIN), (TEAM_B, B_ADMIN, B_ADMIN), (TEAM_B, A_ADMIN, B_ADMIN))
    with session_factory() as session:
        for team in (TEAM_A, TEAM_B):
            record_workspace(session, team_id=team, team_name=team, bot_user_id="UBOT", now=clock())
        for team, user, by in admins:
            role_store.give_role(
                session, team_id=team, user_id=user, role="admin", set_by=by, now=clock()
            )
        session.commit()


def _install(slack: SlackAppClient, fake: FakeSlack, *, team_id: str, installer_id: str) -> None:
    """Install leadloop in a workspace through the OAuth flow, as its installer would."""
    code = f"code-{team_id}"
    fake.grant_install(code, team_id=team_id, team_name=team_id, installer_id=installer_id)
    page = http_request(slack.base_url + INSTALL_PATH)
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page.text)
    assert link is not None, page.text
    state = parse_qs(urlsplit(html.unescape(link.group(1))).query)["state"][0]
    done = http_request(
        f"{slack.base_url}{REDIRECT_PATH}?code={code}&state={state}",
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )
    assert done.status == 200, done.text


def _arrange(
    driver: Driver,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    *,
    b_served: bool,
) -> World:
    """Make A's objects through the app, as its people would (each workspace has its admin).

    Roles and a setting of its own (the report channel); hand-offs (two leads, to their
    owner and the hand-off channel, and a third whose hand-off failed and waits in the
    outbox); a button rating and a /rate-lead rating (both posted), marketing's answer to
    the first; a meeting with an agenda item and a posted reminder, and a paused meeting;
    a KPI value, a target and a report schedule. Workspace B has its two admins (A's admin
    is one of them) and nothing else.
    """
    for user in (A_ADMIN, B_ADMIN, A_MARKETER):
        fake_slack.set_user(user, tz="UTC")

    def ok(send: Callable[[], HttpAnswer], expected: str) -> str:
        mark = len(fake_slack.calls)
        answer = send()
        told = driver.told(mark, answer)
        assert answer.status == 200 and expected in told, told
        return told

    a = A_ACTOR
    b_admin = INTRUDERS["b-admin"]
    if b_served:  # with one token, _bootstrap_admins made A's admin one of B's
        ok(lambda: driver.command(b_admin, "/leadloop", f"role <@{A_ADMIN}> admin"), "now has")
    ok(lambda: driver.command(a, "/leadloop", f"role <@{A_MARKETER}> marketing"), "now has")
    report = f"settings report <#{A_REPORT_CHANNEL}|alpha-reports>"
    ok(lambda: driver.command(a, "/leadloop", report), "is now")
    shown_once = ok(lambda: driver.command(a, "/leadloop", "webhook new"), "shown only this once")
    webhook_secret = re.findall(r"llwh_[0-9a-f]+", shown_once)

    lead_ids = _hand_off(session_factory, deliverer, clock)
    fake_slack.fail_next("chat.postMessage", error="fatal_error")
    _hand_off(
        session_factory, deliverer, clock, [LeadRecord(UNDELIVERED_REF, owner_slack_id=A_ADMIN)]
    )
    _keep_owed_all_test(session_factory, clock)
    with session_factory() as session:
        handoff_ts = session.exec(
            sqlmodel_select(HandoffMessage.ts).where(HandoffMessage.lead_id == lead_ids[0])
        ).first()
    assert handoff_ts is not None
    click = payloads.handoff_click(
        action_id=f"{ids.HANDOFF_SCORE}_3",
        value=f"{lead_ids[0]}:3",
        response_url=fake_slack.response_url("iso"),
        team_id=TEAM_A,
        user_id=A_ADMIN,
        message_ts=handoff_ts,
    )
    ok(lambda: driver.interact(click), "You rated")
    rating = f"{UNANSWERED_REF} 2 Alpha reason: no budget"
    ok(lambda: driver.command(a, "/rate-lead", rating), "You rated")
    answered_post_ts, unanswered_post_ts = _post_ts_of_ratings(session_factory)
    unanswered_rating_id = _rating_id_posted_at(session_factory, unanswered_post_ts)
    response_ts = "1699990000.000100"
    answer = payloads.thread_reply(
        thread_ts=answered_post_ts,
        ts=response_ts,
        text="Alpha answer: the webinar list was old",
        user=A_MARKETER,
        team_id=TEAM_A,
    )
    ok(lambda: driver.event(a, answer), "")

    channel = f"<#{A_MEETING_CHANNEL}|alpha-meetings>"
    daily = f"add daily 12:30 {channel} Alpha pipeline sync"
    ok(lambda: driver.command(a, "/meeting", daily), "Added meeting")
    weekly = f"add mon 09:00 {channel} Alpha campaign review"
    ok(lambda: driver.command(a, "/meeting", weekly), "Added meeting")
    meeting_id, paused_meeting_id = _meeting_ids(session_factory)
    ok(lambda: driver.command(a, "/meeting", f"pause {paused_meeting_id}"), "Paused")
    topic = payloads.agenda_submission(
        meeting_id=str(meeting_id),
        text="Alpha agenda: webinar lead quality",
        team_id=TEAM_A,
        user_id=A_ADMIN,
    )
    ok(lambda: driver.interact(topic), "")

    ok(lambda: driver.command(a, "/kpi", "set revenue 43210"), f"${A_KPI_VALUE}")
    ok(lambda: driver.command(a, "/kpi", "target revenue 50000"), "target is now")
    ok(lambda: driver.command(a, "/kpi", "schedule tue 08:00"), "every Tuesday")

    clock.advance(minutes=15)  # the 12:30 meeting's reminder is due at 12:15
    assert run_scheduled_posts(session_factory=session_factory, deliverer=deliverer, clock=clock)
    with session_factory() as session:
        reminder = session.exec(
            sqlmodel_select(ScheduledPost).where(
                ScheduledPost.team_id == TEAM_A, ScheduledPost.subject_id == meeting_id
            )
        ).one()
        assert reminder.id is not None and reminder.post_ts is not None
        responses = session.exec(sqlmodel_select(Response)).all()
        assert [response.ts for response in responses] == [response_ts]
        handoffs = session.exec(sqlmodel_select(HandoffMessage)).all()
        assert len(handoffs) == 4  # two leads, each to its owner and the hand-off channel
        owed = session.exec(
            sqlmodel_select(OutboxMessage).where(col(OutboxMessage.last_error).is_not(None))
        ).all()
        assert [(message.team_id, message.status) for message in owed] == [(TEAM_A, "pending")]
    return World(
        lead_id=lead_ids[0],
        waiting_lead_id=lead_ids[1],
        answered_post_ts=answered_post_ts,
        unanswered_post_ts=unanswered_post_ts,
        unanswered_rating_id=unanswered_rating_id,
        response_ts=response_ts,
        meeting_id=meeting_id,
        paused_meeting_id=paused_meeting_id,
        reminder_post_id=reminder.id,
        a_channels=frozenset(
            {A_CHANNEL, A_MEETING_CHANNEL, A_REPORT_CHANNEL, payloads.HANDOFF_CHANNEL}
            | {message.channel for message in handoffs}
        ),
        a_message_ts=frozenset(
            {answered_post_ts, unanswered_post_ts, response_ts, reminder.post_ts}
            | {message.ts for message in handoffs}
        ),
        tokens={},
        a_webhook_secret=webhook_secret[0],
    )


def _hand_off(
    session_factory: SessionFactory,
    deliverer: Deliverer,
    clock: FakeClock,
    records: list[LeadRecord] | None = None,
) -> list[int]:
    """A's leads (by default two), owned by A's admin, handed off as a CRM import would.

    Returns the new leads' ids; a hand-off Slack refuses stays owed in the outbox.
    """
    records = records or [
        LeadRecord(
            external_ref=HANDED_OFF_REF,
            name="Alpha Ann",
            company="Alpha Corp",
            campaign="Alpha Webinar",
            owner_slack_id=A_ADMIN,
        ),
        LeadRecord(
            external_ref=WAITING_REF,
            name="Alpha Bo",
            company="Alpha Corp",
            campaign="Alpha Ads",
            owner_slack_id=A_ADMIN,
        ),
    ]
    refs = [record.external_ref for record in records]
    with session_factory() as session:
        counts = intake_leads(session, team_id=TEAM_A, leads=fold_records(records), now=clock())
        session.commit()
        leads = session.exec(
            sqlmodel_select(Lead)
            .where(Lead.team_id == TEAM_A, col(Lead.external_ref).in_(refs))
            .order_by(col(Lead.id))
        ).all()
    for message_id in counts.handoff_message_ids:
        deliverer.deliver(message_id)
    return [lead.id or -1 for lead in leads]


def _keep_owed_all_test(session_factory: SessionFactory, clock: FakeClock) -> None:
    """A's failed hand-off waits out its retry through every case, whatever the clock does.

    The test client sends what is due after each request, as the delivery process would;
    this post must stay in A's outbox, where B's requests could only leak it.
    """
    with session_factory() as session:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.team_id) == TEAM_A, col(OutboxMessage.status) == "pending")
            .values(next_attempt_at=clock() + timedelta(days=365))
        )
        session.commit()


def _post_ts_of_ratings(session_factory: SessionFactory) -> tuple[str, str]:
    with session_factory() as session:
        ratings = session.exec(sqlmodel_select(Rating).order_by(col(Rating.id))).all()
    posted = [rating.post_ts for rating in ratings]
    assert len(posted) == 2 and None not in posted
    return str(posted[0]), str(posted[1])


def _rating_id_posted_at(session_factory: SessionFactory, post_ts: str) -> int:
    with session_factory() as session:
        rating = session.exec(sqlmodel_select(Rating).where(Rating.post_ts == post_ts)).one()
    return rating.id or -1


def _meeting_ids(session_factory: SessionFactory) -> tuple[int, int]:
    with session_factory() as session:
        meetings = session.exec(sqlmodel_select(Meeting).order_by(col(Meeting.id))).all()
    assert [meeting.team_id for meeting in meetings] == [TEAM_A, TEAM_A]
    return meetings[0].id or -1, meetings[1].id or -1


# --- the database, table by table --------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every row of every table in the database, in primary-key order."""

    tables: dict[str, Table]
    rows: dict[str, list[Row]]

    def of_team(self, team_id: str) -> dict[str, list[Row]]:
        """The rows of one workspace, in every table that has a ``team_id``."""
        return {
            name: [row for row in rows if row["team_id"] == team_id]
            for name, rows in self.rows.items()
            if "team_id" in self.tables[name].c
        }

    def without_team(self) -> dict[str, list[Row]]:
        """Tables that belong to no workspace (migrations' bookkeeping, OAuth state)."""
        return {
            name: rows for name, rows in self.rows.items() if "team_id" not in self.tables[name].c
        }

    def find(self, table: str, column: str, value: object) -> list[Row]:
        """Rows of ``table`` whose ``column`` is ``value``."""
        return [row for row in self.rows.get(table, []) if row.get(column) == value]


def _canonical(row: Row) -> str:
    return json.dumps(row, sort_keys=True, default=str)


@dataclass(frozen=True)
class Database:
    """Snapshots of every table of a database, as found by reflection.

    Reflection rather than ``SQLModel.metadata``, so that a table a migration adds (the
    OAuth installation tables, say) is swept as soon as it exists. No table is left out:
    not even ``processed_event``, the Events API's dedup rows, since a refused event must
    not claim its id either.
    """

    engine: Engine
    tables: tuple[Table, ...]

    def snapshot(self) -> Snapshot:
        """Read every table, each ordered by its primary key (or all its columns)."""
        rows: dict[str, list[Row]] = {}
        with self.engine.connect() as connection:
            for table in self.tables:
                order = list(table.primary_key.columns) or list(table.columns)
                result = connection.execute(select(table).order_by(*order))
                rows[table.name] = [dict(row) for row in result.mappings()]
        return Snapshot({table.name: table for table in self.tables}, rows)


@pytest.fixture
def database(world_template: WorldTemplate, engine: Engine) -> Database:
    """Snapshots of this test's database."""
    return Database(engine, world_template.tables)


# Columns that name another row without a declared foreign key: (table, column) -> the
# table it names, for rows whose ``kind`` starts with the given prefix.
SOFT_REFERENCES = {("scheduled_post", "subject_id"): ("meeting_", "meeting")}


def assert_a_unchanged(before: Snapshot, after: Snapshot) -> None:
    """Every row of workspace A, and every row of no workspace, is exactly as it was."""
    assert after.of_team(TEAM_A) == before.of_team(TEAM_A)
    assert after.without_team() == before.without_team()


def assert_b_gained_only_its_own(before: Snapshot, after: Snapshot, world: World) -> None:
    """New or changed rows are B's and point only at B's rows, never at A's messages."""
    for name, rows in after.rows.items():
        old = {_canonical(row) for row in before.rows.get(name, [])}
        table = after.tables[name]
        for row in (row for row in rows if _canonical(row) not in old):
            assert row.get("team_id") == TEAM_B, (name, row)
            for key in table.foreign_keys:
                value = row[key.parent.name]
                if value is None:
                    continue
                target = key.column.table.name
                for referenced in after.find(target, key.column.name, value):
                    assert referenced.get("team_id", TEAM_B) == TEAM_B, (name, row, target)
            for (table_name, column), (kind, target) in SOFT_REFERENCES.items():
                if table_name == name and str(row.get("kind", "")).startswith(kind):
                    for referenced in after.find(target, "id", row[column]):
                        assert referenced["team_id"] == TEAM_B, (name, row, target)
            assert not set(map(str, row.values())) & world.a_message_ts, (name, row)


# --- what a request did ------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One request's answer, what it told its actor, its Slack calls and the database."""

    answer: HttpAnswer
    told: str
    calls: list[Call]
    before: Snapshot
    after: Snapshot

    def a_rows_changed(self, table: str) -> bool:
        """Whether workspace A's rows of ``table`` differ after the request."""
        return self.after.of_team(TEAM_A)[table] != self.before.of_team(TEAM_A)[table]

    def calls_to(self, method: str) -> list[Call]:
        """The request's calls to one Slack method."""
        return [call for call in self.calls if call.method == method]

    def slack_text(self) -> str:
        """Everything sent to Slack, as searchable text (uploaded bytes aside)."""
        return "\n".join(
            json.dumps(call.params, ensure_ascii=False, default=str)
            for call in self.calls
            if call.method != "file_upload"
        )


def observe(
    driver: Driver, database: Database, send: Callable[[], HttpAnswer]
) -> tuple[Observation, str]:
    """Run ``send`` between two snapshots; the observation and the request as sent."""
    before = database.snapshot()
    mark, sent = len(driver.fake_slack.calls), len(driver.sent)
    answer = send()
    driver.slack.wait_idle()
    after = database.snapshot()
    observation = Observation(
        answer=answer,
        told=driver.told(mark, answer),
        calls=list(driver.fake_slack.calls[mark:]),
        before=before,
        after=after,
    )
    return observation, "\n".join(driver.sent[sent:])


def writes_to_a(observation: Observation, world: World) -> list[Call]:
    """Slack writes aimed at one of A's channels or messages."""
    hits = []
    for call in observation.calls:
        if call.method not in WRITE_METHODS:
            continue
        params = call.params
        channel = params.get("channel") or params.get("channel_id")
        timestamps = {params.get("ts"), params.get("thread_ts")}
        if channel in world.a_channels or timestamps & world.a_message_ts:
            hits.append(call)
    return hits


# --- the sweep: one case per listener and way of naming A's objects ----------------------


Send = Callable[[Driver, World, Actor], HttpAnswer]
Proof = Callable[[Observation, World], bool]


@dataclass(frozen=True)
class Case:
    """One request that names A's objects, and what each workspace must see it do."""

    id: str
    listener: tuple[str, str]  # the registration it drives: (kind, constraint)
    send: Send
    refusal: str | None  # what B's actor is told (World fields formatted in); None: nothing
    proof: Proof  # the same request from A took effect
    b_keeps_own: bool = False  # B may store, and post, data of its own


def slash(command: str, text: str) -> Send:
    """``command text``, where ``text`` is formatted with the World's fields."""

    def send(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
        return driver.command(actor, command, text.format_map(asdict(world)))

    return send


def button(action_id: str, value: str) -> Send:
    """A click whose value is formatted with the World's fields."""

    def send(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
        return driver.click(actor, action_id, value.format_map(asdict(world)))

    return send


def handoff_button(action_id: str, value: str) -> Send:
    """A click on a hand-off message's button, as the hand-off payload carries it."""

    def send(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
        return driver.interact(
            payloads.handoff_click(
                action_id=action_id,
                value=value.format_map(asdict(world)),
                response_url=driver.fake_slack.response_url("iso"),
                team_id=actor.team_id,
                user_id=actor.user_id,
                channel_id=actor.channel_id,
            )
        )

    return send


def _marketer_of(actor: Actor) -> str:
    """Who clicks a verdict: in A its marketer (A's admin rated the ratings); anyone else as
    themselves (B knows no marketing, so anyone but a rater may answer there)."""
    return A_MARKETER if actor == A_ACTOR else actor.user_id


def verdict_button(action_id: str) -> Send:
    """A click on a verdict button of A's unanswered rating's post, naming that rating."""

    def send(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
        return driver.interact(
            payloads.rating_post_click(
                action_id=action_id,
                value=str(world.unanswered_rating_id),
                post_ts=world.unanswered_post_ts,
                response_url=driver.fake_slack.response_url("iso"),
                user_id=_marketer_of(actor),
                team_id=actor.team_id,
            )
        )

    return send


def dispute_form(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """The dispute form, its private metadata naming A's unanswered rating and its post."""
    return driver.interact(
        payloads.dispute_submission(
            reason="not what the rep thinks",
            rating_id=str(world.unanswered_rating_id),
            post_ts=world.unanswered_post_ts,
            user_id=_marketer_of(actor),
            team_id=actor.team_id,
        )
    )


def rate_from_message(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """ "Rate this lead" on a message that names A's handed-off lead."""
    return driver.interact(
        payloads.message_shortcut(
            {"text": f"CRM: new activity on {HANDED_OFF_REF}"},
            team_id=actor.team_id,
            user_id=actor.user_id,
            channel_id=actor.channel_id,
        )
    )


def rating_form(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """The rating form, submitted for A's handed-off lead's reference."""
    return driver.interact(
        payloads.view_submission(
            lead=HANDED_OFF_REF,
            score="1",
            reason="poor fit",
            team_id=actor.team_id,
            user_id=actor.user_id,
            origin_channel=actor.channel_id,
        )
    )


def agenda_form(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """The agenda form, its private metadata naming A's meeting."""
    return driver.interact(
        payloads.agenda_submission(
            meeting_id=str(world.meeting_id),
            text="a topic for that meeting",
            team_id=actor.team_id,
            user_id=actor.user_id,
        )
    )


def thread_reply(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """A reply in the thread of A's rating that marketing has not answered yet."""
    return driver.event(
        actor,
        payloads.thread_reply(
            thread_ts=world.unanswered_post_ts,
            ts="1700000600.000100",
            text="an answer to that rating",
            user=actor.user_id,
            team_id=actor.team_id,
        ),
    )


def reply_edited(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """``message_changed`` for marketing's stored answer in A."""
    event = {
        "type": "message",
        "subtype": "message_changed",
        "channel": payloads.FEEDBACK_CHANNEL,
        "hidden": True,
        "ts": "1700000700.000100",
        "message": {
            "type": "message",
            "user": actor.user_id,
            "text": "rewritten",
            "ts": world.response_ts,
            "thread_ts": world.answered_post_ts,
        },
    }
    return driver.event(actor, event)


def reply_deleted(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """``message_deleted`` for marketing's stored answer in A."""
    event = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": payloads.FEEDBACK_CHANNEL,
        "hidden": True,
        "ts": "1700000800.000100",
        "deleted_ts": world.response_ts,
        "previous_message": {
            "type": "message",
            "user": A_MARKETER,
            "ts": world.response_ts,
            "thread_ts": world.answered_post_ts,
        },
    }
    return driver.event(actor, event)


def home_opened(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """The actor opens leadloop's App Home tab."""
    event = {"type": "app_home_opened", "user": actor.user_id, "channel": "D0HOME", "tab": "home"}
    return driver.event(actor, event)


def uninstalled(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """Slack says leadloop was uninstalled from the actor's workspace."""
    return driver.event(actor, {"type": "app_uninstalled"})


def tokens_revoked(driver: Driver, world: World, actor: Actor) -> HttpAnswer:
    """Slack says tokens were revoked, naming A's members and A's bot user (in either mode)."""
    tokens = {"oauth": [A_ADMIN, A_MARKETER], "bot": ["UBOT", f"UBOT{TEAM_A}"]}
    return driver.event(actor, {"type": "tokens_revoked", "tokens": tokens})


def changed(table: str, *fragments: str) -> Proof:
    """A's rows of ``table`` changed and the actor was told each fragment."""

    def proof(observation: Observation, world: World) -> bool:
        return observation.a_rows_changed(table) and all(
            fragment in observation.told for fragment in fragments
        )

    return proof


def shown(*fragments: str) -> Proof:
    """The actor was shown each fragment."""

    def proof(observation: Observation, world: World) -> bool:
        return all(fragment in observation.told for fragment in fragments)

    return proof


def opened_agenda_form(observation: Observation, world: World) -> bool:
    """The agenda form opened for A's meeting."""
    return any(
        call.params["view"]["private_metadata"] == str(world.meeting_id)
        for call in observation.calls_to("views.open")
    )


def chart_with_a_data(observation: Observation, world: World) -> bool:
    """A chart was uploaded whose text (alt text, comment) carries A's KPI value."""
    uploads = observation.calls_to("files.completeUploadExternal")
    return bool(uploads) and A_KPI_VALUE in observation.slack_text()


NO_MEETING = "There is no meeting `{meeting_id}` in this workspace"
NO_PAUSED_MEETING = "There is no meeting `{paused_meeting_id}` in this workspace"

CASES = [
    # /rate-lead and the rating form: a lead is known by its ref within its workspace, so
    # naming A's ref rates B's own lead of that name; A's lead and hand-offs stay untouched.
    Case(
        "/rate-lead A-lead-ref",
        ("command", ids.RATE_LEAD_COMMAND),
        slash(ids.RATE_LEAD_COMMAND, f"{HANDED_OFF_REF} 1 poor fit"),
        f"You rated *{HANDED_OFF_REF}*",
        changed("rating", f"You rated *{HANDED_OFF_REF}*"),
        b_keeps_own=True,
    ),
    Case(
        "view rate_lead_modal A-lead-ref",
        ("view", ids.RATING_MODAL),
        rating_form,
        f"You rated *{HANDED_OFF_REF}*",
        changed("rating", f"You rated *{HANDED_OFF_REF}*"),
        b_keeps_own=True,
    ),
    # The "Rate this lead" shortcut: only the workspace's own leads fill the form in.
    Case(
        "shortcut rate_lead_from_message A-lead-ref",
        ("shortcut", ids.RATE_FROM_MESSAGE),
        rate_from_message,
        ids.RATING_MODAL,
        shown(f'"initial_value": "{HANDED_OFF_REF}"'),
    ),
    # /meeting: A's meeting ids.
    Case(
        "/meeting skip A-meeting",
        ("command", ids.MEETING_COMMAND),
        slash(ids.MEETING_COMMAND, "skip {meeting_id}"),
        NO_MEETING,
        changed("scheduled_post", "Skipped meeting"),
    ),
    Case(
        "/meeting pause A-meeting",
        ("command", ids.MEETING_COMMAND),
        slash(ids.MEETING_COMMAND, "pause {meeting_id}"),
        NO_MEETING,
        changed("meeting", "Paused meeting"),
    ),
    Case(
        "/meeting resume A-paused-meeting",
        ("command", ids.MEETING_COMMAND),
        slash(ids.MEETING_COMMAND, "resume {paused_meeting_id}"),
        NO_PAUSED_MEETING,
        changed("meeting", "Resumed meeting"),
    ),
    Case(
        "/meeting remove A-meeting",
        ("command", ids.MEETING_COMMAND),
        slash(ids.MEETING_COMMAND, "remove {meeting_id}"),
        NO_MEETING,
        changed("meeting", "Removed meeting"),
    ),
    Case(
        "/meeting list",
        ("command", ids.MEETING_COMMAND),
        slash(ids.MEETING_COMMAND, "list"),
        "No meetings yet",
        shown("Alpha pipeline sync", f"<#{A_MEETING_CHANNEL}>"),
    ),
    # /kpi: the metric and week A recorded; B's values, targets and schedule are its own.
    Case(
        "/kpi show",
        ("command", ids.KPI_COMMAND),
        slash(ids.KPI_COMMAND, "show"),
        "*KPIs for ",
        shown(A_KPI_VALUE, A_KPI_TARGET),
    ),
    Case(
        "/kpi set A-metric-and-week",
        ("command", ids.KPI_COMMAND),
        slash(ids.KPI_COMMAND, "set revenue 7"),
        "Recorded Revenue $7 for",
        changed("kpi_value", f"(was ${A_KPI_VALUE})"),
        b_keeps_own=True,
    ),
    Case(
        "/kpi target A-metric",
        ("command", ids.KPI_COMMAND),
        slash(ids.KPI_COMMAND, "target revenue 9000"),
        "The Revenue target is now",
        changed("kpi_target", "The Revenue target is now"),
        b_keeps_own=True,
    ),
    Case(
        "/kpi schedule",
        ("command", ids.KPI_COMMAND),
        slash(ids.KPI_COMMAND, "schedule fri 17:00"),
        "every Friday at 17:00",
        changed("report_schedule", "every Friday at 17:00"),
        b_keeps_own=True,
    ),
    Case(
        "/kpi chart",
        ("command", ids.KPI_COMMAND),
        slash(ids.KPI_COMMAND, "chart"),
        "I'll post the KPI chart",
        chart_with_a_data,
        b_keeps_own=True,  # B's own chart, posted in B's channel
    ),
    # /leadloop: A's members by ID.
    Case(
        "/leadloop roles",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, "roles"),
        "*Roles given here*",
        shown(f"<@{A_MARKETER}>: marketing"),
    ),
    Case(
        "/leadloop role A-marketer none",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, f"role <@{A_MARKETER}> none"),
        f"Took away 0 role(s) from <@{A_MARKETER}>",
        changed("member_role", f"Took away 1 role(s) from <@{A_MARKETER}>"),
    ),
    Case(
        "/leadloop role A-marketer admin",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, f"role <@{A_MARKETER}> admin"),
        f"<@{A_MARKETER}> now has the admin role",
        changed("member_role", f"<@{A_MARKETER}> now has the admin role"),
        b_keeps_own=True,
    ),
    # Settings are per workspace; changing B's makes B's failed posts due, never A's.
    Case(
        "/leadloop settings",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, "settings"),
        "*Settings in this workspace*",
        shown(f"<#{A_REPORT_CHANNEL}>, set here"),
    ),
    Case(
        "/leadloop settings report",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, f"settings report <#{B_REPORT_CHANNEL}|reports>"),
        f"`report` is now <#{B_REPORT_CHANNEL}> in this workspace",
        changed("outbox_message", "1 post(s) that were waiting are being sent now"),
        b_keeps_own=True,
    ),
    # The lead webhook's secret is per workspace: B's new one replaces only B's, and B is
    # never shown A's.
    Case(
        "/leadloop webhook",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, "webhook"),
        "The lead webhook is off in this workspace",
        shown("has a secret of its own"),
    ),
    Case(
        "/leadloop webhook new",
        ("command", ids.ADMIN_COMMAND),
        slash(ids.ADMIN_COMMAND, "webhook new"),
        "new lead-webhook secret",
        changed("workspace", "new lead-webhook secret"),
        b_keeps_own=True,
    ),
    # Hand-off buttons: A's lead id in the button value.
    Case(
        "action handoff_score A-lead",
        ("action", f"re:^{re.escape(ids.HANDOFF_SCORE)}_"),
        handoff_button(f"{ids.HANDOFF_SCORE}_4", "{lead_id}:4"),
        LEAD_NOT_FOUND,
        changed("rating", "changed your rating"),
    ),
    Case(
        "action handoff_rate_with_reason A-lead",
        ("action", ids.HANDOFF_REASON),
        handoff_button(ids.HANDOFF_REASON, "{lead_id}"),
        LEAD_NOT_FOUND,
        shown(HANDED_OFF_REF, ids.RATING_MODAL),
    ),
    # Verdict buttons on rating posts and the dispute form: A's rating id and post.
    Case(
        "action verdict_agree A-rating",
        ("action", f"re:{ONE_CLICK_ACTIONS.pattern}"),
        verdict_button(ids.VERDICT_AGREE),
        VERDICT_RATING_NOT_FOUND,
        changed("rating_verdict", "you agreed with the rating"),
    ),
    Case(
        "action verdict_dispute A-rating",
        ("action", ids.VERDICT_DISPUTE),
        verdict_button(ids.VERDICT_DISPUTE),
        VERDICT_RATING_NOT_FOUND,
        shown(ids.DISPUTE_MODAL, UNANSWERED_REF),
    ),
    Case(
        "view verdict_dispute_modal A-rating",
        ("view", ids.DISPUTE_MODAL),
        dispute_form,
        VERDICT_RATING_NOT_FOUND,
        changed("rating_verdict", "you disputed the rating"),
    ),
    # Meeting reminder buttons: A's meeting id and A's reminder id.
    Case(
        "action meeting_add_agenda A-meeting",
        ("action", ids.MEETING_ADD_AGENDA),
        button(ids.MEETING_ADD_AGENDA, "{meeting_id}"),
        "That meeting no longer exists",
        opened_agenda_form,
    ),
    Case(
        "action meeting_snooze A-reminder",
        ("action", ids.MEETING_SNOOZE),
        button(ids.MEETING_SNOOZE, "{reminder_post_id}"),
        "I can't find that reminder in this workspace; nothing was snoozed.",
        changed("scheduled_post", "Snoozed:"),
    ),
    Case(
        "view meeting_agenda_modal A-meeting",
        ("view", ids.AGENDA_MODAL),
        agenda_form,
        "This meeting is gone.",
        changed("agenda_item"),
    ),
    # App Home buttons carry no ids (this value names A's lead anyway); what they show
    # must be B's alone.
    Case(
        "action home_rate_lead",
        ("action", ids.HOME_RATE_LEAD),
        button(ids.HOME_RATE_LEAD, "{lead_id}"),
        ids.RATING_MODAL,
        shown(ids.RATING_MODAL),
    ),
    Case(
        "action home_report",
        ("action", ids.HOME_REPORT),
        button(ids.HOME_REPORT, "{lead_id}"),
        "KPIs for ",
        shown(A_KPI_VALUE),
    ),
    Case(
        "action home_meetings",
        ("action", ids.HOME_MEETINGS),
        button(ids.HOME_MEETINGS, "{meeting_id}"),
        "No meetings yet",
        shown("Alpha pipeline sync"),
    ),
    # Events: the ts of A's rating posts and of marketing's answer in A.
    Case(
        "event message in A-rating-thread",
        ("event", "message"),
        thread_reply,
        None,
        changed("response"),
    ),
    Case(
        "event message_changed A-answer",
        ("event", "message"),
        reply_edited,
        None,
        changed("response"),
    ),
    Case(
        "event message_deleted A-answer",
        ("event", "message"),
        reply_deleted,
        None,
        changed("response"),
    ),
    # Uninstalls: B's own install is B's to end; A stays installed, its data untouched.
    Case(
        "event app_uninstalled",
        ("event", "app_uninstalled"),
        uninstalled,
        None,
        changed("workspace"),
        b_keeps_own=True,
    ),
    Case(
        "event tokens_revoked A-members",
        ("event", "tokens_revoked"),
        tokens_revoked,
        None,
        changed("workspace"),
        b_keeps_own=True,
    ),
    Case(
        "event app_home_opened",
        ("event", "app_home_opened"),
        home_opened,
        '"type": "home"',
        shown(WAITING_REF, A_MARKER),
    ),
]


# Who sends B's request, and how the app holds its tokens. With OAuth installs, B is served
# and only the filters of handlers and storage stand between it and A's objects: the grid
# member matters for those. With A's one token, neither intruder gets past the gate.
SCENARIOS = [
    pytest.param(INTRUDERS["b-admin"], "one-token", id="b-admin-one-token"),
    pytest.param(INTRUDERS["grid-member"], "one-token", id="grid-member-one-token"),
    pytest.param(INTRUDERS["b-admin"], "oauth", id="b-admin-oauth"),
    pytest.param(INTRUDERS["grid-member"], "oauth", id="grid-member-oauth"),
]


@pytest.mark.parametrize(("intruder", "mode"), SCENARIOS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_request_from_workspace_b_naming_a_objects_is_refused_and_changes_nothing(
    case: Case, intruder: Actor, mode: str, world: World, driver: Driver, database: Database
) -> None:
    observation, request = observe(driver, database, lambda: case.send(driver, world, intruder))

    assert observation.answer.status == 200
    if mode == "one-token":  # B is not leadloop's workspace: refused before any listener
        if case.listener[0] == "command":
            assert observation.answer.json() == {
                "response_type": "ephemeral",
                "text": NOT_THIS_WORKSPACE,
            }
        else:
            assert observation.answer.body == b""
        assert observation.calls == []
        assert observation.after.rows == observation.before.rows
        return
    if case.refusal is None:
        assert observation.told.strip() == ""
    else:
        assert case.refusal.format_map(asdict(world)) in observation.told
    leaked = [
        secret
        for secret in world.secrets
        if secret not in request
        and (secret in observation.slack_text() or secret in observation.answer.text)
    ]
    assert leaked == [], observation.slack_text()
    assert writes_to_a(observation, world) == []
    if world.tokens:  # OAuth mode: B's request acts with B's token alone
        used = {call.token for call in observation.calls} - {None}
        assert used <= {world.tokens[TEAM_B]}, used
    assert_a_unchanged(observation.before, observation.after)
    if case.b_keeps_own:
        assert_b_gained_only_its_own(observation.before, observation.after, world)
    else:
        assert observation.after.rows == observation.before.rows
        assert [call.method for call in observation.calls if call.method in POSTING_METHODS] == []


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_same_request_from_workspace_a_takes_effect(
    case: Case, world: World, driver: Driver, database: Database
) -> None:
    observation, _ = observe(driver, database, lambda: case.send(driver, world, A_ACTOR))

    assert observation.answer.status == 200
    assert case.proof(observation, world), observation.told


# Every App method that registers a listener, and the kind of listener a case names for it.
LISTENER_KINDS = {
    "command": "command",
    "action": "action",
    "block_action": "action",
    "attachment_action": "action",
    "view": "view",
    "view_submission": "view",
    "view_closed": "view",
    "event": "event",
    "message": "event",
    "shortcut": "shortcut",
    "global_shortcut": "shortcut",
    "message_shortcut": "shortcut",
    "options": "options",
    "block_suggestion": "options",
    "dialog_submission": "dialog",
    "dialog_cancellation": "dialog",
    "dialog_suggestion": "dialog",
    "function": "function",
}


def _recording(
    kind: str, original: Callable[..., Any], registered: set[tuple[str, str]]
) -> Callable[..., Any]:
    def record(self: App, constraints: Any = None, *args: Any, **kwargs: Any) -> Any:
        registered.add((LISTENER_KINDS[kind], _describe(constraints)))
        return original(self, constraints, *args, **kwargs)

    return record


def _describe(constraints: Any) -> str:
    if isinstance(constraints, re.Pattern):
        return f"re:{constraints.pattern}"
    if isinstance(constraints, dict):
        return json.dumps(constraints, sort_keys=True, default=str)
    return str(constraints)


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """Every listener registration the app makes from now on, as (kind, constraint)."""
    registered: set[tuple[str, str]] = set()
    for kind in (kind for kind in LISTENER_KINDS if hasattr(App, kind)):
        monkeypatch.setattr(App, kind, _recording(kind, getattr(App, kind), registered))
    return registered


def test_the_sweep_covers_every_listener_the_app_registers(
    registrations: set[tuple[str, str]], slack: SlackAppClient
) -> None:
    # ``slack`` built the app after ``registrations`` started recording.
    assert registrations == {case.listener for case in CASES}
