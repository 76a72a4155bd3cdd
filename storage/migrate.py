"""Schema migrations (Alembic), run by `polder db upgrade` and at every start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@contextmanager
def migrating_connection(engine: Engine) -> Iterator[Connection]:
    """A connection fit for migrations.

    On SQLite, batch mode rebuilds tables (copy, drop, rename); with foreign keys on, the drop
    would cascade into child rows, so they are off for the migration and checked afterwards.
    The pragma only works outside a transaction, hence the raw driver connection.
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            yield conn
            return
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            yield conn
            problems = raw.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration left broken foreign keys: {problems[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def _run(engine: Engine, action: str, revision: str) -> list[str]:
    """Run an Alembic command; returns the revisions it applied (none when up to date)."""
    config = alembic_config()
    with migrating_connection(engine) as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)
        conn.commit()
    return config.attributes.get("applied", [])


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    return _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> list[str]:
    return _run(engine, "downgrade", revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
