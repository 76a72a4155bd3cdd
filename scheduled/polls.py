"""Poll jobs: close what is due and send the "closes in 1 hour" reminders, and plan one exact
job per open poll's deadline and reminder.

The plan is derived from the poll rows every time, never trusted from a job store: a restart,
or a poll created by another process, is picked up by planning again. The jobs themselves are
one idempotent sweep (`bot.polls` closes a poll once, reminds once), so it does not matter
which job, or which process, gets there first.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine as DatabaseEngine

from bot import polls
from bot.actions import PollResult
from bot.config import Settings
from bot.outgoing import enqueue
from storage.database import transaction
from storage.types import utcnow

log = logging.getLogger(__name__)

JOB_PREFIX = "poll-"


def close_job_id(poll_id: int) -> str:
    return f"{JOB_PREFIX}close-{poll_id}"


def remind_job_id(poll_id: int) -> str:
    return f"{JOB_PREFIX}remind-{poll_id}"


def run_due(database: DatabaseEngine, settings: Settings, now: datetime | None = None) -> int:
    """One sweep: close every poll past its deadline and send due reminders, writing what
    they say to the outbox in the same transaction. Returns how many actions it enqueued."""
    now = now or utcnow()
    with transaction(database) as session:
        closing = polls.close_due(session, settings.zone, now)
        reminding = polls.remind_due(session, settings.zone, now)
        enqueue(session, [*closing, *reminding])
    results = [a for a in closing if isinstance(a, PollResult)]
    for poll_id in sorted({a.poll_id for a in results}):
        channels = [f"{a.platform}:{a.chat_id}" for a in results if a.poll_id == poll_id]
        log.info("closed poll #%s; result posted to %s", poll_id, ", ".join(channels))
    for reminder in reminding:
        log.info("poll reminder sent to %s:%s", reminder.platform, reminder.chat_id)
    return len(closing) + len(reminding)


def plan(scheduler: BaseScheduler, database: DatabaseEngine, settings: Settings) -> int:
    """(Re)plan an exact job at each open poll's deadline and reminder, and drop the jobs of
    polls no longer open. Returns how many jobs are planned."""
    with transaction(database) as session:
        rows = polls.deadlines(session)
    wanted: dict[str, datetime] = {}
    for poll_id, closes_at, remind_at in rows:
        wanted[close_job_id(poll_id)] = closes_at
        if remind_at is not None:
            wanted[remind_job_id(poll_id)] = remind_at
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            with suppress(JobLookupError):  # a date job is dropped once it has run
                scheduler.remove_job(job.id)
    for job_id, when in wanted.items():
        planned = scheduler.get_job(job_id)
        if planned is not None and getattr(planned, "next_run_time", None) == when:
            continue
        scheduler.add_job(
            run_due,
            "date",
            run_date=when,
            args=(database, settings),
            id=job_id,
            replace_existing=True,
            # APScheduler's default (1 s) silently drops a job that starts later than that:
            # a deadline that passed while the process was busy or down must still close.
            misfire_grace_time=None,
        )
    return len(wanted)
