"""The poll jobs without the scheduler (one sweep, the plan), and the runner in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import select

from bot.config import Settings
from bot.engine import Engine
from scheduled.polls import close_job_id, plan, remind_job_id, run_due
from scheduled.runner import SWEEP_JOB, JobRunner
from storage.database import transaction
from storage.models import OutboxEntry, Poll, PollStatus
from storage.types import utcnow
from tests.conftest import Chat, onboarded, reply_text
from tests.scheduled.conftest import make_curator_with_rooms, open_poll, results_of, wait_for


def set_times(
    database: DatabaseEngine, poll: Poll, created_at: datetime, closes_at: datetime
) -> None:
    with transaction(database) as session:
        row = session.get(Poll, poll.id)
        assert row is not None
        row.created_at, row.closes_at = created_at, closes_at
        session.add(row)


def reminders(database: DatabaseEngine) -> list[OutboxEntry]:
    with transaction(database) as session:
        entries = session.exec(select(OutboxEntry).where(OutboxEntry.kind == "Reply")).all()
    return [e for e in entries if "closes in 1 hour" in e.payload["text"]]


def status_of(database: DatabaseEngine, poll: Poll) -> PollStatus:
    with transaction(database) as session:
        row = session.get(Poll, poll.id)
        assert row is not None
        return row.status


def test_a_sweep_reminds_a_long_poll_once_in_its_last_hour_and_never_a_short_one(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    curator = make_curator_with_rooms(engine, "#town")
    long, short, later = (open_poll(engine, curator, "3d") for _ in range(3))
    now = utcnow()
    set_times(database, long, now - timedelta(days=2), now + timedelta(minutes=30))
    set_times(database, short, now - timedelta(hours=10), now + timedelta(minutes=30))
    set_times(database, later, now - timedelta(days=2), now + timedelta(hours=2))

    assert run_due(database, settings) == 1
    sent = reminders(database)
    assert [(e.chat_id, e.payload["text"].splitlines()[0]) for e in sent] == [
        ("#town", f"Poll #{long.id} closes in 1 hour: Which street first?")
    ]

    assert run_due(database, settings) == 0
    assert len(reminders(database)) == 1
    with transaction(database) as session:
        reminded = {p.id: p.reminded_at is not None for p in session.exec(select(Poll)).all()}
    assert reminded == {long.id: True, short.id: False, later.id: False}


def test_a_sweep_closes_a_due_poll_once_and_posts_the_result_to_every_channel(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    curator = make_curator_with_rooms(engine, "#town", "#harbour")
    poll = open_poll(engine, curator, "1h")
    onboarded(database, "ann")
    assert "is counted" in reply_text(engine.handle(Chat("ann").command(f"/vote {poll.id} 2")))
    set_times(database, poll, poll.created_at, utcnow() - timedelta(seconds=1))

    assert run_due(database, settings) > 0
    assert run_due(database, settings) == 0

    results = results_of(database, poll.id)  # type: ignore[arg-type]
    assert sorted(e.chat_id for e in results) == ["#harbour", "#town"]
    assert all(e.payload["counts"] == [0, 1] and e.payload["voters"] == 1 for e in results)
    assert status_of(database, poll) is PollStatus.CLOSED


def test_the_plan_has_a_job_per_deadline_and_reminder_and_drops_closed_polls(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    curator = make_curator_with_rooms(engine, "#town")
    long, short = open_poll(engine, curator, "3d"), open_poll(engine, curator, "2h")
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        assert plan(scheduler, database, settings) == 3
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {close_job_id(long.id), remind_job_id(long.id), close_job_id(short.id)}  # type: ignore[arg-type]
        assert jobs[close_job_id(long.id)].next_run_time == long.closes_at  # type: ignore[arg-type]
        remind_at = long.closes_at - timedelta(hours=1)
        assert jobs[remind_job_id(long.id)].next_run_time == remind_at  # type: ignore[arg-type]
        assert all(job.misfire_grace_time is None for job in jobs.values())

        said = reply_text(engine.handle(curator.command(f"/poll close {short.id}")))
        assert "is closed" in said, said
        assert plan(scheduler, database, settings) == 2
        assert close_job_id(short.id) not in {job.id for job in scheduler.get_jobs()}  # type: ignore[arg-type]
    finally:
        scheduler.shutdown(wait=False)


def test_a_deadline_job_late_by_more_than_a_second_still_closes_the_poll(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    """APScheduler's default grace (1 s) would drop this job without a word."""
    curator = make_curator_with_rooms(engine, "#town")
    poll = open_poll(engine, curator, "1h")
    set_times(database, poll, poll.created_at, utcnow() - timedelta(seconds=5))
    scheduler = BackgroundScheduler(timezone=UTC)  # APScheduler's own job defaults
    scheduler.start()
    try:
        plan(scheduler, database, settings)  # the only job: no sweep, no catch-up
        closed = wait_for(lambda: status_of(database, poll) is PollStatus.CLOSED, 3)
    finally:
        scheduler.shutdown(wait=True)
    assert closed, "the late job was dropped"
    assert len(results_of(database, poll.id)) == 1  # type: ignore[arg-type]


def test_a_runner_started_after_a_deadline_closes_the_poll_as_it_starts(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    curator = make_curator_with_rooms(engine, "#town")
    poll = open_poll(engine, curator, "1h")
    set_times(database, poll, poll.created_at, utcnow() - timedelta(minutes=10))

    with JobRunner(database, settings) as runner:
        assert status_of(database, poll) is PollStatus.CLOSED  # before any sweep
        assert runner.scheduler.get_job(SWEEP_JOB) is not None
    assert not runner.running
    assert len(results_of(database, poll.id)) == 1  # type: ignore[arg-type]


def test_a_running_runner_closes_a_poll_made_after_it_started_at_its_deadline(
    engine: Engine, database: DatabaseEngine, settings: Settings
) -> None:
    curator = make_curator_with_rooms(engine, "#town")
    with JobRunner(database, settings, sweep_seconds=0.3):
        poll = open_poll(engine, curator, "1s")
        found = wait_for(lambda: results_of(database, poll.id), 4)  # type: ignore[arg-type]
    assert found, "the poll was not closed"
    (result,) = results_of(database, poll.id)  # type: ignore[arg-type]
    assert result.created_at - poll.closes_at < timedelta(seconds=1)
