"""Recording that an event was handled: the idempotency key, inserted once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import HandledEvent


def record_handled(session: Session, key: str, kind: str, at: datetime) -> bool:
    """Insert the key; False when it is there already.

    ON CONFLICT DO NOTHING rather than catching the unique violation: a platform's retries are
    routine and should not write an error into the database server's log each time. On
    PostgreSQL a concurrent insert of the same key waits for the other transaction's outcome.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(HandledEvent)
        .values(key=key, kind=kind, handled_at=at)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(HandledEvent.key)  # rowcount is not reliable across drivers; this is
    )
    return session.execute(statement).first() is not None
