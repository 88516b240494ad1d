"""Shared fixtures: real databases (SQLite always, PostgreSQL when configured), the fake
Slack server, a controllable clock, and the app served over real HTTP."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from slack_sdk import WebClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.app import build_deliverer, build_lead_webhook, create_app
from bot.config import Settings
from bot.delivery import OutboxPump
from bot.installs import Installations
from bot.outbox.engine import Deliverer
from bot.server import build_wsgi_app, make_http_server
from bot.slack_client import build_web_client
from storage.engine import (
    SessionFactory,
    create_db_engine,
    database_answers,
    make_session_factory,
    normalise_database_url,
)
from storage.migrate import upgrade_to_head
from tests import slack_payloads as payloads
from tests.fake_slack import FakeSlack
from tests.processes import fresh_postgres_database
from tests.slack_app_client import SlackAppClient, TrackingExecutor

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@dataclass
class FakeClock:
    """A clock that only moves when the test moves it."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 30, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)
        return self.now


@dataclass
class SleepRecorder:
    """Stands in for ``time.sleep`` in retry handlers: remembers, never waits."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets its own copy."""
    path = tmp_path_factory.mktemp("template") / "leadloop.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_to_head(engine)
    engine.dispose()  # closing the last connection folds the WAL back into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    admin_url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    name = f"leadloop_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A migrated, empty database of each backend under test."""
    if request.param == "sqlite":
        path = tmp_path / "leadloop.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    yield url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database of each backend, not migrated yet: for a ``leadloop run``
    process to create its schema in, as on a user's first start."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'database' / 'leadloop.db'}"
        return
    with fresh_postgres_database("leadloop_fresh") as url:
        yield url


def _truncate_all(url: str) -> None:
    engine = create_db_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The engine for this test's database."""
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> SessionFactory:
    """One session per unit of work, as the app uses them."""
    return make_session_factory(engine)


@pytest.fixture
def unreachable_session_factory() -> Iterator[SessionFactory]:
    """Sessions on a database server that is not there (a closed port)."""
    engine = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """Time, under the test's control."""
    return FakeClock()


@pytest.fixture
def sleeps() -> SleepRecorder:
    """What the Slack client's retry handlers would have slept."""
    return SleepRecorder()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Our stand-in for the Slack Web API, on an ephemeral port."""
    with FakeSlack(team_id=payloads.TEAM_ID) as fake:
        yield fake


@pytest.fixture
def settings(fake_slack: FakeSlack, database_url: str) -> Settings:
    """Settings pointing at the fake Slack server and this test's database."""
    return Settings(
        slack_bot_token="xoxb-test-bot-token",
        slack_signing_secret=payloads.SIGNING_SECRET,
        feedback_channel=payloads.FEEDBACK_CHANNEL,
        slack_api_url=fake_slack.api_url,
        database_url=database_url,
    )


@pytest.fixture
def web_client(settings: Settings, sleeps: SleepRecorder) -> WebClient:
    """The bot's Slack client, retrying without really sleeping."""
    return build_web_client(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, sleep=sleeps
    )


@pytest.fixture
def deliverer(
    settings: Settings,
    session_factory: SessionFactory,
    web_client: WebClient,
    clock: FakeClock,
) -> Deliverer:
    """The outbox deliverer, as the delivery process uses it."""
    return build_deliverer(
        settings, session_factory=session_factory, client=web_client, clock=clock
    )


ServeWith = Callable[..., AbstractContextManager[SlackAppClient]]


@contextmanager
def serve_app(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    client: WebClient,
    clock: FakeClock,
    is_healthy: Callable[[], bool],
    installations: Installations | None = None,
    lead_webhook: bool = False,
) -> Iterator[SlackAppClient]:
    """The real app behind the real HTTP server on an ephemeral port, for one test.

    With ``lead_webhook`` it also serves ``/webhooks/leads``, wired as ``leadloop run`` wires
    it. The client sends what requests leave owed through ``pump``, as the delivery process
    would, each time it waits.
    """
    executor = TrackingExecutor()
    deliverer = build_deliverer(
        settings,
        session_factory=session_factory,
        client=client,
        clock=clock,
        installations=installations,
    )
    pump = OutboxPump(deliverer)  # drained by the client after each request
    app = create_app(
        settings,
        session_factory=session_factory,
        client=client,
        clock=clock,
        listener_executor=executor,
        work_executor=executor,
        installations=installations,
    )
    webhook = None
    if lead_webhook:
        webhook = build_lead_webhook(settings, session_factory=session_factory, clock=clock)
    application = build_wsgi_app(
        app,
        is_healthy=is_healthy,
        signing_secret=settings.slack_signing_secret,
        lead_webhook=webhook,
    )
    server = make_http_server(application, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield SlackAppClient(
            base_url=f"http://127.0.0.1:{server.server_port}", executor=executor, pump=pump
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        executor.shutdown(wait=True)
        pump.close()
        deliverer.close()


@pytest.fixture
def slack(settings: Settings, serve_with: ServeWith) -> Iterator[SlackAppClient]:
    """The real app behind the real HTTP server, driven like Slack drives it."""
    with serve_with(settings) as client:
        yield client


@pytest.fixture
def serve_with(
    engine: Engine, session_factory: SessionFactory, web_client: WebClient, clock: FakeClock
) -> ServeWith:
    """Serve the app with other settings (and ``serve_app``'s options) for part of a test."""

    def serve(settings: Settings, **options: Any) -> AbstractContextManager[SlackAppClient]:
        return serve_app(
            settings,
            session_factory=session_factory,
            client=web_client,
            clock=clock,
            is_healthy=lambda: database_answers(engine),
            **options,
        )

    return serve


hypothesis_settings.register_profile(
    "leadloop", derandomize=True, deadline=None, database=None, max_examples=200
)
hypothesis_settings.load_profile("leadloop")
