"""The outbox: actions waiting for delivery, claimed by one deliverer at a time.

A claim marks rows `sending` with a lease; a deliverer that dies mid-send leaves the lease
to expire, and the row is sent again (the one message in flight may repeat, nothing is lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Engine, func, or_
from sqlmodel import Session, col, select

from storage.database import transaction
from storage.models import OutboxEntry, OutboxStatus
from storage.types import utcnow

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


def claim(
    engine: Engine, platform: str, chat_ids: Sequence[str] | None = None, limit: int = 50
) -> list[OutboxEntry]:
    """Take up to `limit` due entries of a platform (oldest first) for delivery."""
    now = utcnow()
    with transaction(engine) as session:
        query = (
            select(OutboxEntry)
            .where(
                OutboxEntry.platform == platform,
                or_(
                    OutboxEntry.status == OutboxStatus.PENDING,
                    OutboxEntry.status == OutboxStatus.SENDING,  # an expired lease
                ),
                OutboxEntry.not_before <= now,
            )
            .order_by(col(OutboxEntry.id))
            .limit(limit)
        )
        if chat_ids is not None:
            query = query.where(col(OutboxEntry.chat_id).in_(chat_ids))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.exec(query).all())
        for row in rows:
            row.status = OutboxStatus.SENDING
            row.attempts += 1
            row.not_before = now + LEASE
            session.add(row)
        return rows


def delivered(engine: Engine, entry_id: int, platform_message_id: str | None) -> None:
    with transaction(engine) as session:
        row = session.get(OutboxEntry, entry_id)
        if row is None:
            return
        row.status = OutboxStatus.DELIVERED
        row.delivered_at = utcnow()
        row.platform_message_id = platform_message_id
        row.last_error = None
        session.add(row)


def failed(engine: Engine, entry_id: int, error: str, retry_after: timedelta | None) -> None:
    """Record a failed send: retried after `retry_after`, or given up when None or too often."""
    with transaction(engine) as session:
        row = session.get(OutboxEntry, entry_id)
        if row is None:
            return
        row.last_error = error[:2000]
        if retry_after is None or row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
        else:
            row.status = OutboxStatus.PENDING
            row.not_before = utcnow() + retry_after
        session.add(row)


def postpone(engine: Engine, entry_id: int, wait: timedelta) -> None:
    """Put an entry back unsent, without counting a try (it waits for another to go first)."""
    release(engine, [entry_id], wait)


def release(engine: Engine, entry_ids: Sequence[int], wait: timedelta) -> None:
    """Put claimed entries back unsent in one transaction, without counting a try: the
    platform's pace, not a failure, held them."""
    if not entry_ids:
        return
    with transaction(engine) as session:
        for row in session.exec(select(OutboxEntry).where(col(OutboxEntry.id).in_(entry_ids))):
            row.status = OutboxStatus.PENDING
            row.attempts = max(0, row.attempts - 1)
            row.not_before = utcnow() + wait
            session.add(row)


def status_of(engine: Engine, entry_id: int) -> tuple[OutboxStatus, str | None] | None:
    """An entry's status and platform message id; None when there is no such entry."""
    with transaction(engine) as session:
        row = session.get(OutboxEntry, entry_id)
        return None if row is None else (row.status, row.platform_message_id)


def drop_chat(session: Session, platform: str, chat_id: str, reason: str) -> int:
    """Give up everything still waiting for a chat the bot can no longer write to."""
    rows = session.exec(
        select(OutboxEntry).where(
            OutboxEntry.platform == platform,
            OutboxEntry.chat_id == chat_id,
            col(OutboxEntry.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
    ).all()
    for row in rows:
        row.status, row.last_error = OutboxStatus.FAILED, reason
        session.add(row)
    return len(rows)


def pending_count(engine: Engine, platform: str | None = None) -> int:
    with transaction(engine) as session:
        query = select(func.count()).where(
            col(OutboxEntry.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
        )
        if platform:
            query = query.where(OutboxEntry.platform == platform)
        return session.exec(query).one()
