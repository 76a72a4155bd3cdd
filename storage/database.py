"""Opening the database: SQLite (embedded default) or PostgreSQL, with the same behaviour.

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
`BEGIN IMMEDIATE`: writers queue on the busy timeout instead of failing half-way when two
processes (two `polder chat` windows, a bot and a scheduler) write at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_S = 30


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message says why and what would work."""


def open_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for `url` with Polder's connection rules applied."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise DatabaseURLError(
            f"{url!r} is not a database URL: use sqlite:///path/to/polder.db "
            "or postgresql+psycopg://user@host:5432/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True, **kwargs)
        except ModuleNotFoundError as exc:
            raise DatabaseURLError(
                "PostgreSQL needs the psycopg driver: pip install 'polder[postgres]'"
            ) from exc
    raise DatabaseURLError(
        f"unsupported database {backend!r} in {url!r}: Polder runs on sqlite:/// "
        "or postgresql+psycopg://"
    )


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise DatabaseURLError(f"the folder of the SQLite file {database!r} does not exist")
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
