"""One scheduler among many processes: the lease that says which one runs the jobs.

On PostgreSQL it is a session-level advisory lock held on a connection of its own, kept open:
when the holder dies its connection closes, the server drops the lock, and the next process
to ask gets it. On SQLite it is a `scheduler_lease` row the holder renews; once it has not
been renewed for `seconds`, anyone may take it. The jobs stay idempotent all the same: the
lease saves work and keeps one voice in the logs, the unique rows keep every send single.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
import zlib
from datetime import timedelta

from sqlalchemy import Connection, text
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, delete

from storage.database import transaction
from storage.models import SchedulerLease
from storage.types import utcnow

log = logging.getLogger(__name__)

LEASE_NAME = "jobs"


class Lease:
    """Taken or renewed by `hold()` at every sweep; given up by `release()` at a clean stop."""

    def __init__(self, database: DatabaseEngine) -> None:
        self.database = database
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self._announced_standby = False

    @staticmethod
    def on(database: DatabaseEngine, seconds: float = 15) -> Lease:
        """The lease that suits the database: an advisory lock or a renewed row."""
        if database.dialect.name == "postgresql":
            return AdvisoryLease(database)
        return RowLease(database, seconds)

    def hold(self) -> bool:
        """Whether this process holds the lease now, taking or renewing it first."""
        try:
            held = self._take()
        except SQLAlchemyError as exc:  # the database is away: nobody can be sure, stand down
            log.warning("cannot reach the database for the scheduler lease: %s", exc)
            held = False
        if held and not self.held:
            log.info("took the scheduler lease (%s): this process runs the jobs", self.holder)
        elif self.held and not held:
            log.warning("lost the scheduler lease: another process runs the jobs")
        elif not held and not self._announced_standby:
            log.info("another process holds the scheduler lease: standing by")
        self._announced_standby = not held
        self.held = held
        return held

    def release(self) -> None:
        if self.held:
            try:
                self._give_up()
            except SQLAlchemyError as exc:
                log.warning("could not give up the scheduler lease cleanly: %s", exc)
            log.info("gave up the scheduler lease")
        self.held = False

    def _take(self) -> bool:
        raise NotImplementedError

    def _give_up(self) -> None:
        raise NotImplementedError


class AdvisoryLease(Lease):
    """`pg_try_advisory_lock` on a dedicated connection, kept open while held.

    The key is made from the schema's name, so Polder instances in separate schemas of one
    database (the tests do this) do not stand in each other's way.
    """

    def __init__(self, database: DatabaseEngine) -> None:
        super().__init__(database)
        self._connection: Connection | None = None

    def _take(self) -> bool:
        if self._connection is not None:
            try:  # the lock lives as long as this connection does
                self._connection.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                self._drop_connection()
                raise
        connection = self.database.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = lock_key(str(schema))
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            if taken.scalar_one():
                self._connection = connection
                return True
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        connection.close()
        return False

    def _give_up(self) -> None:
        self._drop_connection()

    def _drop_connection(self) -> None:
        """Close the connection for good (not back to the pool), which ends the lock."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            finally:
                self._connection = None


class RowLease(Lease):
    """The `scheduler_lease` row: taken when missing, expired, or already ours; renewed each
    time. SQLite's `BEGIN IMMEDIATE` makes the read-then-write one step between processes."""

    def __init__(self, database: DatabaseEngine, seconds: float = 15) -> None:
        super().__init__(database)
        self.duration = timedelta(seconds=seconds)

    def _take(self) -> bool:
        now = utcnow()
        try:
            with transaction(self.database) as session:
                row = session.get(SchedulerLease, LEASE_NAME)
                if row is None:
                    row = SchedulerLease(name=LEASE_NAME, holder=self.holder, expires_at=now)
                elif row.holder != self.holder:
                    if row.expires_at > now:
                        return False
                    row.holder, row.acquired_at = self.holder, now
                row.expires_at = now + self.duration
                session.add(row)
        except IntegrityError:  # another process inserted the row first
            return False
        return True

    def _give_up(self) -> None:
        with transaction(self.database) as session:
            session.exec(
                delete(SchedulerLease).where(
                    col(SchedulerLease.name) == LEASE_NAME,
                    col(SchedulerLease.holder) == self.holder,
                )
            )


def lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory lock key for the scheduler of one schema."""
    return zlib.crc32(f"polder-scheduler:{schema}".encode()) | (0x504F4C44 << 32)
