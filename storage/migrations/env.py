"""Alembic environment: runs on the connection `storage.migrate` hands over, or on the URL
from alembic.ini / POLDER_DATABASE_URL when the `alembic` command is used directly."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

# Any constant works; it only has to be the same in every Polder process.
MIGRATION_LOCK_ID = 0x504F4C44  # "POLD"

target_metadata = SQLModel.metadata


def run_on(connection: Connection) -> None:
    applied: list[str] = context.config.attributes.setdefault("applied", [])
    context.configure(
        connection=connection,
        on_version_apply=lambda *, step, **_: applied.append(step.up_revision_id),
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two processes starting at once: the second waits, then finds nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    from storage.database import open_engine
    from storage.migrate import migrating_connection

    url = os.environ.get("POLDER_DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
    engine = open_engine(url or "sqlite:///polder.db")
    with migrating_connection(engine) as conn:
        run_on(conn)
