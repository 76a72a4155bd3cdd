"""The job runner: APScheduler in a background thread, beside the console or on its own.

At start it catches up (what fell due while no runner was up runs now); then a sweep every
couple of seconds closes and reminds what is due and re-plans the exact jobs from the rows,
so a poll another process created is planned within seconds and a restart loses nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC
from types import TracebackType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from scheduled import polls

log = logging.getLogger(__name__)

SWEEP_SECONDS = 2.0
SWEEP_JOB = "sweep"


class JobRunner:
    def __init__(
        self, database: DatabaseEngine, settings: Settings, sweep_seconds: float = SWEEP_SECONDS
    ) -> None:
        self.database = database
        self.settings = settings
        self.sweep_seconds = sweep_seconds
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            # One worker: the jobs share rows, and queueing them avoids contending with
            # ourselves for SQLite's write lock.
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Catch up on what fell due, plan every open poll, then sweep every few seconds."""
        self.scheduler.start()
        try:
            polls.run_due(self.database, self.settings)
            planned = polls.plan(self.scheduler, self.database, self.settings)
        except BaseException:
            self.scheduler.shutdown(wait=False)
            raise
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_seconds,
            id=SWEEP_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        log.info("job runner started: %s poll job(s) planned", planned)

    def sweep(self) -> None:
        """Close and remind what is due; plan what other processes created since."""
        try:
            polls.run_due(self.database, self.settings)
            polls.plan(self.scheduler, self.database, self.settings)
        except SQLAlchemyError as exc:  # the database is away for now: the next sweep retries
            log.warning("sweep failed, retrying in %ss: %s", self.sweep_seconds, exc)

    def stop(self) -> None:
        """Stop taking jobs and wait for the one running to finish."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
            log.info("job runner stopped")

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def __enter__(self) -> JobRunner:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
