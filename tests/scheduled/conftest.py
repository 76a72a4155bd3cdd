"""Helpers for the job runner's tests: real `polder` processes on the test's database, and
polls made in-process the way a curator makes them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import col, select

from bot.engine import Engine
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import OutboxEntry, Poll, RoleName
from storage.types import utcnow
from tests.conftest import Chat, onboarded, reply_text
from tests.scheduled.seeding import Seed

POLDER = Path(sys.executable).with_name("polder")
READY = "Scheduler running"
STARTUP_SECONDS = 20  # generous: a loaded CI machine starts Python slowly


@pytest.fixture
def polder_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
    env["POLDER_DATABASE_URL"] = database_url
    return env


@dataclass
class SchedulerProcess:
    """A `polder scheduler` in the background: its output lines, and whether it is ready."""

    process: subprocess.Popen[str]
    log_path: Path
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if READY in line:
                self.ready.set()

    def wait_ready(self) -> None:
        if not self.ready.wait(STARTUP_SECONDS):
            raise AssertionError(f"the scheduler did not start:\n{self.log()}")

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; it must end by itself. (It first finishes
        the sweep in progress, which on a loaded 2-core machine with several SQLite writers
        has been seen to take more than 10 s: 30 s, and the log when even that is not enough.)"""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the scheduler did not stop on SIGTERM:\n{self.log()}") from None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


@pytest.fixture
def start_scheduler(
    polder_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[], SchedulerProcess]]:
    """Starts `polder scheduler` processes; any still running at the end is stopped."""
    started: list[SchedulerProcess] = []

    def start() -> SchedulerProcess:
        log_path = tmp_path / f"scheduler-{len(started)}.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(
                [str(POLDER), "scheduler"],
                stdout=subprocess.PIPE,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                text=True,
                cwd=tmp_path,
                env=polder_env,
            )
        scheduler = SchedulerProcess(process, log_path)
        threading.Thread(target=scheduler.read, daemon=True).start()
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.process.poll() is None:
            scheduler.process.kill()
            scheduler.process.wait(timeout=10)


@contextmanager
def running(*schedulers: SchedulerProcess) -> Iterator[None]:
    """Waits until every scheduler is ready, and stops them all cleanly afterwards."""
    try:
        for scheduler in schedulers:
            scheduler.wait_ready()
        yield
    finally:
        codes = [scheduler.stop() for scheduler in schedulers]
    for scheduler, code in zip(schedulers, codes, strict=True):
        assert code == 0, scheduler.log()
        assert "Traceback" not in scheduler.log(), scheduler.log()
        assert scheduler.lines[-1] == "Scheduler stopped.", scheduler.lines


def make_curator_with_rooms(engine: Engine, *rooms: str) -> Chat:
    """A curator of mobility who linked each room to mobility; returns the curator's chat."""
    onboarded(engine.database, "cura")
    with transaction(engine.database) as session:
        curator = member_for(session, "test", "cura", "Cura")
        mobility = find_sector(session, "mobility")
        grant(session, curator, RoleName.CURATOR, mobility)
    for room in rooms:
        said = reply_text(engine.handle(Chat("cura", room).command("/link mobility")))
        assert "linked to mobility" in said, said
    return Chat("cura")


def open_poll(engine: Engine, curator: Chat, length: str) -> Poll:
    line = f'/poll mobility "Which street first?" "Ring" "Harbour" --for {length}'
    said = reply_text(engine.handle(curator.command(line)))
    assert "is open in mobility" in said, said
    with transaction(engine.database) as session:
        poll = session.exec(select(Poll).order_by(col(Poll.id).desc())).first()
    assert poll is not None
    return poll


def results_of(database: DatabaseEngine, poll_id: int) -> list[OutboxEntry]:
    """The PollResult outbox entries of a poll."""
    with transaction(database) as session:
        entries = session.exec(select(OutboxEntry).where(OutboxEntry.kind == "PollResult")).all()
    return [e for e in entries if e.payload.get("poll_id") == poll_id]


def wait_for(check: Callable[[], object], seconds: float, step: float = 0.1) -> object:
    """Polls `check` until it returns something truthy; that value, or None on timeout."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(step)
    return None


def until(when: datetime) -> float:
    """Seconds from now until an aware datetime (0 when past)."""
    return max(0.0, (when - utcnow()) / timedelta(seconds=1))


@pytest.fixture
def seed(database: DatabaseEngine) -> Iterator[Seed]:
    with transaction(database) as session:
        sector = find_sector(session, "mobility")
        assert sector is not None
        yield Seed(session, sector)
