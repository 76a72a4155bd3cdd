"""The scheduler lease: one holder among many processes, and a takeover within a bounded time
when the holder goes, whether it stops cleanly or is killed."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import create_engine, text

from bot.config import Settings
from bot.engine import Engine
from scheduled.leader import AdvisoryLease, Lease, RowLease
from scheduled.runner import JobRunner
from storage.database import transaction
from storage.models import Poll, PollStatus, SchedulerLease
from storage.types import utcnow
from tests.conftest import on_postgres
from tests.scheduled.conftest import (
    SchedulerProcess,
    make_curator_with_rooms,
    open_poll,
    running,
    wait_for,
)

StartScheduler = Callable[[], SchedulerProcess]
TOOK = "took the scheduler lease"
LEASE_SECONDS = 4  # the SQLite lease of the scheduler processes below
SWEEP_SECONDS = 2  # how often a standing-by scheduler tries for the lease


def test_one_holder_at_a_time_and_a_released_lease_is_taken_at_once(
    database: DatabaseEngine,
) -> None:
    first, second = Lease.on(database), Lease.on(database)
    assert isinstance(first, AdvisoryLease if on_postgres() else RowLease)
    try:
        assert first.hold() and not second.hold()
        assert first.hold() and not second.hold()  # renewing keeps it
        first.release()
        assert second.hold() and not first.hold()
    finally:
        first.release()
        second.release()


@pytest.mark.skipif(on_postgres(), reason="the lease row is SQLite's")
def test_on_sqlite_an_unrenewed_lease_expires_and_another_takes_it(
    database: DatabaseEngine,
) -> None:
    gone, waiting = Lease.on(database, seconds=60), Lease.on(database, seconds=60)
    assert gone.hold() and not waiting.hold()
    with transaction(database) as session:  # the holder died a minute ago
        row = session.get(SchedulerLease, "jobs")
        assert row is not None and row.holder == gone.holder
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    assert waiting.hold()
    assert not gone.hold()  # had it come back, it would find the lease taken
    waiting.release()
    with transaction(database) as session:
        assert session.get(SchedulerLease, "jobs") is None


@pytest.mark.skipif(not on_postgres(), reason="the advisory lock is PostgreSQL's")
def test_on_postgres_the_lock_goes_with_the_holder_s_connection(
    database: DatabaseEngine, database_url: str
) -> None:
    gone, waiting = AdvisoryLease(database), AdvisoryLease(database)
    assert gone.hold() and not waiting.hold()
    assert gone._connection is not None
    pid = gone._connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # as when the holder's process or network dies
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    assert wait_for(waiting.hold, 5)
    assert not gone.hold()  # it notices its connection, and the lock, are gone
    waiting.release()


def test_a_runner_without_the_lease_stands_by_and_takes_over_when_it_is_free(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    curator = make_curator_with_rooms(engine, "#town")
    poll = open_poll(engine, curator, "1h")
    with transaction(database) as session:
        row = session.get(Poll, poll.id)
        assert row is not None
        row.closes_at = utcnow() - timedelta(minutes=1)
        session.add(row)

    def status() -> PollStatus:
        with transaction(database) as session:
            found = session.get(Poll, poll.id)
            assert found is not None
            return found.status

    other = Lease.on(database)
    assert other.hold()
    try:
        with JobRunner(database, settings, sweep_seconds=0.2) as runner:
            time.sleep(0.6)
            assert not runner.lease.held and status() is PollStatus.OPEN
            other.release()
            assert wait_for(lambda: status() is PollStatus.CLOSED, 5)
            assert runner.lease.held
        assert not runner.lease.held  # given up at stop
    finally:
        other.release()
    after = Lease.on(database)
    assert after.hold()
    after.release()


def test_scheduler_processes_elect_one_and_the_other_takes_over_after_a_kill(
    polder_env: dict[str, str], start_scheduler: StartScheduler
) -> None:
    polder_env["POLDER_SCHEDULER_LEASE_SECONDS"] = str(LEASE_SECONDS)
    one, two = start_scheduler(), start_scheduler()
    one.wait_ready()
    two.wait_ready()
    leaders = [s for s in (one, two) if TOOK in s.log()]
    assert len(leaders) == 1, one.log() + two.log()
    (leader,) = leaders
    survivor = two if leader is one else one
    assert "standing by" in survivor.log()

    os.kill(leader.process.pid, signal.SIGKILL)
    killed = time.monotonic()
    bound = SWEEP_SECONDS + (0 if on_postgres() else LEASE_SECONDS) + 3  # 3: a slow machine
    assert wait_for(lambda: TOOK in survivor.log(), bound), survivor.log()
    took = time.monotonic() - killed

    third = start_scheduler()  # a newcomer finds the lease taken
    with running(survivor, third):
        pass
    assert TOOK not in third.log() and "standing by" in third.log()
    assert took <= bound
