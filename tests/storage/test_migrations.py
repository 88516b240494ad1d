"""Alembic migrations on empty databases of each backend, and the engine they run on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from storage.campaigns import campaign_owners_as_of
from storage.engine import (
    create_db_engine,
    database_answers,
    make_session_factory,
    normalise_database_url,
)
from storage.migrate import alembic_config, current_revision, head_revision, upgrade_to_head
from storage.models import Lead, Rating, Response, WebhookDelivery
from storage.workspaces import answer_time_settings_as_of

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
UNREACHABLE_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none"
MODEL_TABLES = set(SQLModel.metadata.tables)


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a brand-new database with no tables at all."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    # Our own throwaway database: downgrading the shared test database would break other tests.
    admin_url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
    name = f"leadloop_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def schema_snapshot(engine: Engine) -> dict[str, tuple[list[str], list[str], list[str]]]:
    """Columns, index names and unique constraint names of every table."""
    inspector = inspect(engine)
    return {
        table: (
            sorted(column["name"] for column in inspector.get_columns(table)),
            sorted(str(index["name"]) for index in inspector.get_indexes(table)),
            sorted(str(unique["name"]) for unique in inspector.get_unique_constraints(table)),
        )
        for table in inspector.get_table_names()
    }


def downgrade_to_base(engine: Engine) -> None:
    """Undo every migration, on a connection handed over as upgrade_to_head does."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")


def schema_differences(engine: Engine) -> list[object]:
    """What Alembic's autogenerate would still want to change to match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, SQLModel.metadata))


def test_an_empty_database_is_at_no_revision(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    assert head_revision(empty_engine) is not None


def test_upgrading_an_empty_database_creates_every_model_table(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)

    assert table_names(empty_engine) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(empty_engine) == head_revision(empty_engine)


def test_the_migrated_schema_matches_the_models(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)

    assert schema_differences(empty_engine) == []


def test_upgrading_a_current_database_changes_nothing(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with Session(empty_engine) as session:
        session.add(Lead(team_id="T1", external_ref="ACME-1", created_at=now, updated_at=now))
        session.commit()
    before = schema_snapshot(empty_engine)

    upgrade_to_head(empty_engine)

    assert schema_snapshot(empty_engine) == before
    assert current_revision(empty_engine) == head_revision(empty_engine)
    with Session(empty_engine) as session:
        assert [lead.external_ref for lead in session.exec(select(Lead)).all()] == ["ACME-1"]


def test_an_older_database_is_brought_up_to_date(empty_engine: Engine) -> None:
    upgrade_to_head(empty_engine)
    migrated = schema_snapshot(empty_engine)
    downgrade_to_base(empty_engine)
    assert table_names(empty_engine) & MODEL_TABLES == set()
    assert current_revision(empty_engine) is None

    upgrade_to_head(empty_engine)

    assert schema_snapshot(empty_engine) == migrated
    assert current_revision(empty_engine) == head_revision(empty_engine)
    assert schema_differences(empty_engine) == []


def upgrade_to(engine: Engine, revision: str) -> None:
    """Apply the migrations up to ``revision`` only, as an older leadloop left the database."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_a_database_of_0008_gains_webhook_deliveries_and_keeps_its_leads(
    empty_engine: Engine,
) -> None:
    upgrade_to(empty_engine, "0008")
    with empty_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO lead (team_id, external_ref, name, attributes, created_at, "
                "updated_at) VALUES ('T1', 'ACME-1', 'Ann', '{}', :now, :now)"
            ),
            {"now": datetime(2026, 11, 2, 9, 30, tzinfo=UTC)},
        )

    upgrade_to_head(empty_engine)

    assert "webhook_delivery" in table_names(empty_engine)
    assert schema_differences(empty_engine) == []
    with Session(empty_engine) as session:
        lead = session.exec(select(Lead)).one()
        assert (lead.external_ref, lead.name, lead.webhook_signed_at) == ("ACME-1", "Ann", None)
        session.add(
            WebhookDelivery(
                team_id="T1",
                signature="v1=aa",
                signed_at=lead.created_at,
                received_at=lead.created_at,
            )
        )
        session.commit()
        session.add(
            WebhookDelivery(
                team_id="T2",
                signature="v1=aa",
                signed_at=lead.created_at,
                received_at=lead.created_at,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_database_of_0009_learns_when_leads_were_handed_off_and_replies_deleted(
    empty_engine: Engine,
) -> None:
    upgrade_to(empty_engine, "0009")
    created = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    updated, deleted = datetime(2026, 11, 5, 8, 0, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC)
    with empty_engine.begin() as connection:
        for ref, name, status in [("IMPORTED", "Ann", "won"), ("RATED-ONLY", None, None)]:
            connection.execute(
                text(
                    "INSERT INTO lead (team_id, external_ref, name, status, attributes, "
                    "created_at, updated_at) VALUES ('T1', :ref, :name, :status, '{}', :c, :u)"
                ),
                {"ref": ref, "name": name, "status": status, "c": created, "u": updated},
            )
        connection.execute(
            text(
                "INSERT INTO rating (team_id, lead_id, rater_id, score, reason, tags, via, "
                "created_at) VALUES ('T1', 2, 'U1', 3, '', '[]', 'command', :c)"
            ),
            {"c": created},
        )
        connection.execute(
            text(
                "INSERT INTO response (team_id, rating_id, user_id, channel, ts, text, is_answer, "
                "created_at, edited_at, deleted) "
                "VALUES ('T1', 1, 'U2', 'C1', '1.1', 'x', true, :c, :d, true)"
            ),
            {"c": created, "d": deleted},
        )

    upgrade_to_head(empty_engine)

    assert schema_differences(empty_engine) == []
    with Session(empty_engine) as session:
        leads = {lead.external_ref: lead for lead in session.exec(select(Lead))}
        reply = session.exec(select(Response)).one()
    imported, rated_only = leads["IMPORTED"], leads["RATED-ONLY"]
    assert (imported.handed_off_at, imported.status_changed_at) == (created, updated)
    assert (rated_only.handed_off_at, rated_only.status_changed_at) == (None, None)
    assert reply.deleted_at == deleted


def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'leadloop.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        upgrade_to_head(engine)
        now = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
        with make_session_factory(engine)() as session:
            session.add(
                Rating(
                    team_id="T1",
                    lead_id=12345,
                    rater_id="U1",
                    score=3,
                    via="command",
                    created_at=now,
                )
            )
            with pytest.raises(IntegrityError):
                session.flush()
    finally:
        engine.dispose()


def test_a_sqlite_files_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "not" / "there" / "yet" / "leadloop.db"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        assert database_answers(engine)
        assert path.exists()
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/leadloop", "postgresql+psycopg://u:p@db:5432/leadloop"),
        ("postgres://u:p@db/leadloop", "postgresql+psycopg://u:p@db/leadloop"),
        ("postgresql+psycopg://u@db/leadloop", "postgresql+psycopg://u@db/leadloop"),
        ("sqlite:///./data/leadloop.db", "sqlite:///./data/leadloop.db"),
    ],
)
def test_postgres_urls_are_sent_to_psycopg_3(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_a_database_that_answers_is_healthy(engine: Engine) -> None:
    assert database_answers(engine) is True


def test_a_database_that_cannot_be_reached_is_not_healthy() -> None:
    engine = create_db_engine(UNREACHABLE_DATABASE_URL)
    try:
        assert database_answers(engine) is False
    finally:
        engine.dispose()


def test_a_database_of_0015_keeps_its_answer_time_settings_and_campaign_owners_as_history(
    empty_engine: Engine,
) -> None:
    upgrade_to(empty_engine, "0015")
    installed = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    owned = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with empty_engine.begin() as connection:
        for team, sla, zone in [("T1", "2h", "Europe/Berlin"), ("T2", None, None)]:
            connection.execute(
                text(
                    "INSERT INTO workspace (team_id, installed_at, updated_at, answer_sla, "
                    "business_hours, timezone) VALUES (:team, :at, :at, :sla, :hours, :zone)"
                ),
                {
                    "team": team,
                    "at": installed,
                    "sla": sla,
                    "hours": "mon 9:00-10:00",
                    "zone": zone,
                },
            )
        connection.execute(
            text(
                "INSERT INTO campaign_owner (team_id, campaign, campaign_key, owner_id, set_by, "
                "updated_at) VALUES ('T1', 'Webinar', 'webinar', 'UMARIA', 'UADMIN', :at)"
            ),
            {"at": owned},
        )

    upgrade_to_head(empty_engine)

    assert schema_differences(empty_engine) == []
    with Session(empty_engine) as session:
        t1 = answer_time_settings_as_of(session, team_id="T1", at=installed)
        t2 = answer_time_settings_as_of(session, team_id="T2", at=installed)
        owners_long_ago = campaign_owners_as_of(
            session, team_id="T1", at=datetime(2000, 1, 1, tzinfo=UTC)
        )
    assert t1 is not None and t2 is not None
    assert (t1.answer_sla, t1.business_hours, t1.timezone, t1.changed_at) == (
        "2h",
        "mon 9:00-10:00",
        "Europe/Berlin",
        installed,
    )
    assert (t2.answer_sla, t2.timezone) == (None, None)
    assert owners_long_ago == {"webinar": "UMARIA"}
