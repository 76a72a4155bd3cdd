"""Retention: messages older than POLDER_RETENTION_DAYS lose their text and author, by a daily
job; the rows stay, so the counts of past weeks (messages, languages) stay right.

The job is idempotent (an erased message is not touched again) and works in batches, each
its own short transaction, so a large table is never locked for long and the job runner's
other jobs (polls closing, digests) wait at most one batch. A run that has more to do than
MAX_BATCHES carries on at the next sweep. It also deletes delivered outbox entries that
exist only for one member: a /mydata file (a full copy of their data) and the goodbye to a
forgotten member (the last row holding their chat).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import delete, or_, update
from sqlmodel import col, select

from bot.actions import Farewell, SendFile
from bot.config import Settings
from storage.database import transaction
from storage.models import Message, OutboxEntry, OutboxStatus
from storage.types import utcnow

log = logging.getLogger(__name__)

BATCH = 500  # messages per transaction
MAX_BATCHES = 20  # per run; the rest at the next sweep
# Dialogue imported from published open data (Polis exports, CC BY) keeps its original dates,
# often years old; it is not personal data Polder collected, so retention leaves it alone.
OPEN_DATA_PLATFORMS = ("polis",)
EVERY = timedelta(days=1)
ONE_MEMBER_KINDS = (SendFile.__name__, Farewell.__name__)


@dataclass(frozen=True)
class Erased:
    """What one run did; `done` False when messages are left for the next run."""

    messages: int
    outbox: int
    done: bool


def erase_expired(
    database: DatabaseEngine,
    retention_days: int,
    now: datetime | None = None,
    batch: int = BATCH,
    max_batches: int = MAX_BATCHES,
) -> Erased:
    """Erase the text, author and platform id of messages older than `retention_days`, in
    batches of `batch` on the created_at index; and purge delivered one-member entries."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    expired = (
        (col(Message.created_at) < cutoff)
        & col(Message.platform).not_in(OPEN_DATA_PLATFORMS)
        & or_(
            col(Message.text).is_not(None),
            col(Message.member_id).is_not(None),
            col(Message.platform_message_id).is_not(None),
        )
    )
    erased = 0
    for _ in range(max_batches):
        with transaction(database) as session:
            ids = list(
                session.exec(
                    select(Message.id).where(expired).order_by(col(Message.created_at)).limit(batch)
                )
            )
            if ids:
                session.exec(
                    update(Message)
                    .where(col(Message.id).in_(ids))
                    .values(text=None, member_id=None, platform_message_id=None)
                )
        erased += len(ids)
        if len(ids) < batch:
            return Erased(erased, purge_one_member_entries(database), done=True)
    return Erased(erased, 0, done=False)


def purge_one_member_entries(database: DatabaseEngine) -> int:
    """Delete delivered (or given up) /mydata files and goodbyes from the outbox."""
    with transaction(database) as session:
        done = session.exec(
            delete(OutboxEntry).where(
                col(OutboxEntry.kind).in_(ONE_MEMBER_KINDS),
                col(OutboxEntry.status).in_([OutboxStatus.DELIVERED, OutboxStatus.FAILED]),
            )
        )
        return int(done.rowcount)


class Retention:
    """The daily job, as the job runner calls it at each sweep: it runs when a day has passed
    since this process's last complete run (so at start too, which catches up on any day
    missed while no runner was up), and does nothing in between."""

    def __init__(self, every: timedelta = EVERY) -> None:
        self.every = every
        self.last: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.last is None or now - self.last >= self.every

    def run_due(
        self, database: DatabaseEngine, settings: Settings, now: datetime | None = None
    ) -> Erased | None:
        now = now or utcnow()
        if not self.due(now):
            return None
        result = erase_expired(database, settings.retention_days, now)
        if result.done:
            self.last = now
        if result.messages or result.outbox or not result.done:
            log.info(
                "retention: erased the text and author of %s message(s) older than %s days%s; "
                "%s delivered file(s) and goodbye(s) purged from the outbox",
                result.messages,
                settings.retention_days,
                "" if result.done else " (more at the next sweep)",
                result.outbox,
            )
        else:
            log.info("retention: nothing older than %s days to erase", settings.retention_days)
        return result
