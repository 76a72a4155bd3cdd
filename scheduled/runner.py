"""The job runner: APScheduler in a background thread, beside the console or on its own.

Of several runners on one database, the one holding the lease (`scheduled.leader`) runs the
jobs; the others sweep only to try for the lease, and take over when its holder is gone.
The holder catches up as it takes over (what fell due while no runner was up runs now); then
a sweep every couple of seconds closes and reminds what is due, sends the digests that are
due, once a day erases what is past retention (`scheduled.retention`), and re-plans the
exact jobs from the rows, so a poll another process created is planned within seconds and a
restart loses nothing.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from datetime import UTC
from types import TracebackType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from scheduled import digests, polls, retention
from scheduled.leader import Lease

log = logging.getLogger(__name__)

SWEEP_SECONDS = 2.0
SWEEP_JOB = "sweep"


class JobRunner:
    def __init__(
        self,
        database: DatabaseEngine,
        settings: Settings,
        sweep_seconds: float = SWEEP_SECONDS,
        lease: Lease | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.sweep_seconds = sweep_seconds
        self.lease = lease or Lease.on(database, settings.scheduler_lease_seconds)
        self.failures = digests.Failures()
        self.retention = retention.Retention()
        self._sweeping = threading.Lock()  # held while a sweep runs, so stop can wait for it
        self._stopping = threading.Event()
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            # One worker: the jobs share rows, and queueing them avoids contending with
            # ourselves for SQLite's write lock.
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Take the lease if it is free and then catch up and plan; sweep every few seconds."""
        self.scheduler.start()
        planned = 0
        try:
            if self.lease.hold():
                planned = self._run_jobs()
        except BaseException:
            self.scheduler.shutdown(wait=False)
            self.lease.release()
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
        if self.lease.held:
            log.info("job runner started: %s poll job(s) planned", planned)
        else:
            log.info("job runner started, standing by")

    def sweep(self) -> None:
        """Renew the lease, then close and remind what is due, send due digests, and plan
        what other processes created since. Without the lease: drop the planned jobs."""
        with self._sweeping:
            if self._stopping.is_set():
                return
            try:
                if self.lease.hold():
                    self._run_jobs()
                else:
                    self._drop_planned()
            except SQLAlchemyError as exc:  # the database is away for now: the next sweep retries
                log.warning("sweep failed, retrying in %ss: %s", self.sweep_seconds, exc)

    def _run_jobs(self) -> int:
        polls.run_due(self.database, self.settings)
        planned = polls.plan(self.scheduler, self.database, self.settings)
        digests.run_due(self.database, self.settings, failures=self.failures)
        self.retention.run_due(self.database, self.settings)  # daily: a no-op in between
        return planned

    def _drop_planned(self) -> None:
        """Another process runs the jobs: this one keeps none of its own."""
        for job in self.scheduler.get_jobs():
            if job.id.startswith(polls.JOB_PREFIX):
                with suppress(JobLookupError):  # a date job is dropped once it has run
                    self.scheduler.remove_job(job.id)

    def stop(self) -> None:
        """Stop taking jobs, let the sweep in progress finish, and give up the lease so
        another runner takes over at once.

        The sweep is waited for here, not by APScheduler: its shutdown(wait=True) holds the
        job stores' lock while it waits, and a sweep planning jobs needs that same lock."""
        self._stopping.set()
        with self._sweeping:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
                log.info("job runner stopped")
        self.lease.release()

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
