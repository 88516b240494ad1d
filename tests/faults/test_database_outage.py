"""The database going away for a few seconds, and coming back, while the app keeps running.

A TCP proxy of our own sits between the app and PostgreSQL; cutting it is the outage. The
app is never restarted: service must resume by itself once the proxy forwards again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.config import Settings
from handlers.errors import DATABASE_DOWN
from storage.engine import SessionFactory, create_db_engine, database_answers, make_session_factory
from storage.models import Lead, OutboxMessage, Rating
from tests.conftest import FakeClock, serve_app
from tests.fake_slack import FakeSlack
from tests.faults.tcp_proxy import TcpProxy
from tests.slack_app_client import HttpAnswer, SlackAppClient, http_request


@dataclass
class ProxiedApp:
    """The app served over HTTP, talking to its database through a proxy we can cut."""

    slack: SlackAppClient
    proxy: TcpProxy
    engine: Engine

    def health(self) -> int:
        """The status ``GET /healthz`` answers."""
        return http_request(self.slack.base_url + "/healthz").status


@pytest.fixture
def proxied_app(
    database_url: str,
    settings: Settings,
    web_client: WebClient,
    clock: FakeClock,
) -> Iterator[ProxiedApp]:
    """The real app whose only way to PostgreSQL is a TCP proxy the test controls."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a database outage is a server concept: PostgreSQL only")
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port, query={"connect_timeout": "2"})
        engine = create_db_engine(proxied.render_as_string(hide_password=False))
        with serve_app(
            settings,
            session_factory=make_session_factory(engine),
            client=web_client,
            clock=clock,
            is_healthy=lambda: database_answers(engine),
        ) as slack:
            yield ProxiedApp(slack=slack, proxy=proxy, engine=engine)
        engine.dispose()


def stored(session_factory: SessionFactory) -> dict[str, list[Any]]:
    """Every lead, rating and outbox row, read directly (not through the proxy)."""
    with session_factory() as session:
        return {
            "leads": [lead.external_ref for lead in session.exec(select(Lead)).all()],
            "ratings": [(r.lead_id, r.id, r.score) for r in session.exec(select(Rating)).all()],
            "outbox": [(m.kind, m.rating_id) for m in session.exec(select(OutboxMessage)).all()],
        }


def answer_text(answer: HttpAnswer) -> str:
    """What /rate-lead told the rep: its ack's ephemeral text."""
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


def cut_when(engine: Engine, proxy: TcpProxy, statement_prefix: str) -> Callable[[], bool]:
    """Cut the proxy just before the engine runs a statement starting with the prefix.

    Returns a function saying whether the cut happened. The hook only fires once.
    """
    fired: list[bool] = []

    def before_cursor_execute(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if not fired and statement.lstrip().upper().startswith(statement_prefix.upper()):
            fired.append(True)
            proxy.cut()

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    return lambda: bool(fired)


def test_rating_during_an_outage_gets_try_again_and_health_is_503_then_both_recover(
    proxied_app: ProxiedApp,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    slack = proxied_app.slack
    slack.command("ACME-1 4 before the outage", response_url=fake_slack.response_url())
    assert proxied_app.health() == 200

    proxied_app.proxy.cut()
    during = slack.command("ACME-2 2 during the outage", response_url=fake_slack.response_url())
    health_during = proxied_app.health()

    assert during.status == 200  # Slack got its ack; the user is told what happened in it
    assert answer_text(during) == DATABASE_DOWN
    assert health_during == 503
    assert stored(session_factory)["leads"] == ["ACME-1"]

    proxied_app.proxy.restore()
    health_after = proxied_app.health()
    after = slack.command("ACME-3 5 after the outage", response_url=fake_slack.response_url())

    assert health_after == 200
    assert "ACME-3" in answer_text(after)
    assert fake_slack.calls_to("response_url") == []
    assert sorted(stored(session_factory)["leads"]) == ["ACME-1", "ACME-3"]
    posted = [str(call.params["text"]) for call in fake_slack.calls_to("chat.postMessage")]
    assert len(posted) == 2
    assert "ACME-1" in posted[0] and "ACME-3" in posted[1]


def test_connection_lost_in_the_middle_of_a_rating_leaves_nothing_half_written(
    proxied_app: ProxiedApp,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    # The lead and the rating are already inserted when the link drops: all or nothing.
    cut_happened = cut_when(proxied_app.engine, proxied_app.proxy, "INSERT INTO outbox_message")

    slack = proxied_app.slack
    answer = slack.command("ACME-7 1 cut mid-write", response_url=fake_slack.response_url())

    assert cut_happened()
    assert answer.status == 200
    assert answer_text(answer) == DATABASE_DOWN
    assert fake_slack.calls_to("response_url") == []
    assert stored(session_factory) == {"leads": [], "ratings": [], "outbox": []}
    assert fake_slack.calls_to("chat.postMessage") == []

    proxied_app.proxy.restore()
    slack.command("ACME-7 1 second try", response_url=fake_slack.response_url())

    after = stored(session_factory)
    assert after["leads"] == ["ACME-7"]
    [(lead_id, rating_id, score)] = after["ratings"]
    assert score == 1
    assert after["outbox"] == [("rating_post", rating_id)]
    [post] = fake_slack.calls_to("chat.postMessage")
    assert "ACME-7" in str(post.params["text"])


def test_health_check_follows_the_database_through_repeated_outages(
    proxied_app: ProxiedApp,
) -> None:
    statuses = []
    for _ in range(3):
        proxied_app.proxy.cut()
        statuses.append(proxied_app.health())
        proxied_app.proxy.restore()
        statuses.append(proxied_app.health())

    assert statuses == [503, 200] * 3


def test_a_pooled_connection_killed_during_the_outage_is_replaced_without_a_restart(
    proxied_app: ProxiedApp,
    fake_slack: FakeSlack,
    session_factory: SessionFactory,
) -> None:
    slack = proxied_app.slack
    before = [  # fill the pool with connections that the cut will kill
        slack.command(f"ACME-{number} 3", response_url=fake_slack.response_url())
        for number in range(3)
    ]
    with proxied_app.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1

    proxied_app.proxy.cut()
    proxied_app.proxy.restore()
    answer = slack.command("ACME-9 4 after a blip", response_url=fake_slack.response_url())

    assert answer.status == 200
    assert "ACME-9" in answer_text(answer)
    assert DATABASE_DOWN not in [answer_text(each) for each in [*before, answer]]
    assert fake_slack.calls_to("response_url") == []
    assert sorted(stored(session_factory)["leads"]) == ["ACME-0", "ACME-1", "ACME-2", "ACME-9"]
