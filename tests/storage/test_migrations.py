"""The migrations build exactly the schema the models describe, and undo it cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel, select

import storage.models  # noqa: F401
from storage import migrate
from storage.database import transaction
from storage.models import ActorType, Member, OutboxEntry


def schema_differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_migrated_schema_equals_the_models(bare_database) -> None:
    migrate.upgrade(bare_database)
    assert schema_differences(bare_database) == []
    assert migrate.current_revision(bare_database) == migrate.head_revision()


def test_a_missing_column_would_be_noticed(bare_database) -> None:
    """The comparison above is not blind: drop a column and it reports it."""
    migrate.upgrade(bare_database)
    with transaction(bare_database) as session:
        session.connection().exec_driver_sql("ALTER TABLE members DROP COLUMN organisation")
    diffs = schema_differences(bare_database)
    assert any(d[0] == "add_column" and d[3].name == "organisation" for d in diffs)


def test_downgrade_then_upgrade_round_trips(bare_database) -> None:
    migrate.upgrade(bare_database)
    migrate.downgrade(bare_database, "base")
    tables = set(inspect(bare_database).get_table_names()) - {"alembic_version"}
    assert tables == set()
    migrate.upgrade(bare_database)
    assert schema_differences(bare_database) == []


def test_upgrade_twice_changes_nothing(bare_database) -> None:
    migrate.upgrade(bare_database)
    with transaction(bare_database) as session:
        session.add(Member(display_name="Saskia"))
    migrate.upgrade(bare_database)
    with transaction(bare_database) as session:
        assert [m.display_name for m in session.exec(select(Member))] == ["Saskia"]


def test_times_come_back_aware_in_utc(database) -> None:
    amsterdam = timezone(timedelta(hours=1))
    local = datetime(2026, 3, 2, 9, 30, tzinfo=amsterdam)
    with transaction(database) as session:
        session.add(Member(display_name="Aino", created_at=local, actor_type=ActorType.RESEARCH))
    with transaction(database) as session:
        member = session.exec(select(Member)).one()
    assert member.created_at == local
    assert member.created_at.tzinfo is not None
    assert member.created_at.utcoffset() == timedelta(0)
    assert member.created_at.hour == 8
    assert member.actor_type is ActorType.RESEARCH


def test_naive_times_are_refused(database) -> None:
    with pytest.raises(Exception, match="naive datetime"), transaction(database) as session:
        session.add(Member(display_name="Naive", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_enums_are_stored_as_plain_strings(database) -> None:
    """Non-native enums: the value is readable text and a new value needs no type change."""
    with transaction(database) as session:
        session.add(Member(display_name="Lars", actor_type=ActorType.REGIONAL_OPERATOR))
    with transaction(database) as session:
        raw = session.connection().exec_driver_sql("SELECT actor_type FROM members").scalar()
    assert raw == "regional_operator"


def test_outbox_payload_is_json(database) -> None:
    with transaction(database) as session:
        session.add(
            OutboxEntry(platform="test", chat_id="c", kind="Reply", payload={"text": "Hallo ü"})
        )
    with transaction(database) as session:
        entry = session.exec(select(OutboxEntry)).one()
    assert entry.payload == {"text": "Hallo ü"}
    assert entry.created_at <= datetime.now(UTC)
