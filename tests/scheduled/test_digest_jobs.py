"""Digest jobs: due at the cron time and sent once, whatever the clock, the number of runners
or a restart. In-process with a controlled clock (`run_due(now=...)`); then as real
`polder scheduler` processes, including one killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import col, select

from adapters.delivery import DeliveryError, deliver_due
from bot.actions import Action, PostDigest
from bot.config import Settings
from bot.digests import FOLDER, subscribe
from bot.sectors import find_sector
from scheduled.digests import Failures, run_due
from storage import outbox
from storage.database import transaction
from storage.models import DigestIssue, DigestSubscription, OutboxEntry, OutboxStatus
from storage.types import utcnow
from tests.scheduled.conftest import SchedulerProcess, running, wait_for

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# When the subscriptions below were made: Friday 27 November 2026, 12:00 in Amsterdam.
MADE = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
LEASE_SECONDS = "4"  # the SQLite lease of the scheduler processes: a quick takeover

StartScheduler = Callable[[], SchedulerProcess]


def local(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in Amsterdam in 2026 (30 November is a Monday, in week 49)."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=AMSTERDAM)


def subscribed(
    database: DatabaseEngine,
    sector: str | None = "mobility",
    cron: str = "",
    made: datetime = MADE,
    platform: str = "console",
    chat_id: str = "#staff",
) -> int:
    """A subscription as `/digest subscribe` makes it, made at `made`; its id."""
    with transaction(database) as session:
        where = find_sector(session, sector) if sector else None
        row, _ = subscribe(
            session,
            AMSTERDAM,
            platform=platform,
            chat_id=chat_id,
            thread_ref=None,
            sector=where,
            cron=cron,
        )
        row.created_at = made
        session.add(row)
        session.flush()
        return int(row.id)  # type: ignore[arg-type]


def issues(database: DatabaseEngine, subscription_id: int | None = None) -> list[DigestIssue]:
    with transaction(database) as session:
        query = select(DigestIssue).order_by(col(DigestIssue.id))
        if subscription_id is not None:
            query = query.where(DigestIssue.subscription_id == subscription_id)
        return list(session.exec(query).all())


def posted(database: DatabaseEngine) -> list[OutboxEntry]:
    """The digests waiting in (or delivered from) the outbox: the first part of each."""
    with transaction(database) as session:
        query = select(OutboxEntry).where(OutboxEntry.kind == "PostDigest")
        entries = session.exec(query.order_by(col(OutboxEntry.id))).all()
        return [e for e in entries if e.payload["part"] == 1]


def test_a_subscription_fires_at_its_cron_time_once(
    database: DatabaseEngine, settings: Settings
) -> None:
    number = subscribed(database)  # the default: Mondays at 08:00 in POLDER_TIMEZONE

    assert run_due(database, settings, now=local(11, 30, 7, 59, 59)) == 0
    assert run_due(database, settings, now=local(11, 30, 8, 0, 0)) == 1
    for later in (local(11, 30, 8, 0, 2), local(11, 30, 23), local(12, 6, 23, 59)):
        assert run_due(database, settings, now=later) == 0
    assert run_due(database, settings, now=local(12, 7, 8)) == 1

    first, second = issues(database, number)
    assert (first.period, first.due_at) == ("2026-W48", local(11, 30, 8))
    assert (second.period, second.due_at) == ("2026-W49", local(12, 7, 8))
    entries = posted(database)
    assert [e.id for e in entries] == [first.outbox_id, second.outbox_id]
    assert all((e.platform, e.chat_id) == ("console", "#staff") for e in entries)
    assert [e.payload["period"] for e in entries] == ["2026-W48", "2026-W49"]
    assert entries[0].payload["sector"] == "mobility"
    assert entries[0].payload["heading"] == "Digest of Mobility: 2026-W48"


def test_crontab_weekdays_count_from_sunday(database: DatabaseEngine, settings: Settings) -> None:
    """APScheduler 3 would read '1' as Tuesday; a crontab line means Monday."""
    subscribed(database, cron="30 7 * * 1", made=local(11, 30, 7))
    subscribed(database, "energy", cron="0 18 * * 0", made=local(11, 30, 7))
    assert run_due(database, settings, now=local(11, 30, 7, 30)) == 1  # Monday
    assert run_due(database, settings, now=local(12, 6, 18)) == 1  # Sunday, week 49
    assert [(i.period, i.due_at) for i in issues(database)] == [
        ("2026-W48", local(11, 30, 7, 30)),
        ("2026-W48", local(12, 6, 18)),
    ]


def test_a_runner_back_after_missed_weeks_sends_the_latest_digest_once(
    database: DatabaseEngine, settings: Settings
) -> None:
    number = subscribed(database)
    back = local(12, 9, 14)  # a Wednesday; nothing ran since the subscription was made
    assert run_due(database, settings, now=back) == 1
    assert run_due(database, settings, now=back + timedelta(seconds=2)) == 0
    (issue,) = issues(database, number)
    assert (issue.period, issue.due_at) == ("2026-W49", local(12, 7, 8))


def test_a_runner_back_before_this_week_s_time_sends_last_week_s_missed_digest(
    database: DatabaseEngine, settings: Settings
) -> None:
    number = subscribed(database)
    assert run_due(database, settings, now=local(12, 7, 7)) == 1  # before Monday's 08:00
    (issue,) = issues(database, number)
    assert (issue.period, issue.due_at) == ("2026-W48", local(11, 30, 8))
    assert run_due(database, settings, now=local(12, 7, 8)) == 1  # and then this week's
    assert [i.period for i in issues(database, number)] == ["2026-W48", "2026-W49"]


def test_a_subscription_made_after_this_week_s_time_waits_for_the_next(
    database: DatabaseEngine, settings: Settings
) -> None:
    subscribed(database, made=local(11, 30, 10))
    assert run_due(database, settings, now=local(11, 30, 10, 5)) == 0
    assert run_due(database, settings, now=local(12, 4, 10)) == 0
    assert run_due(database, settings, now=local(12, 7, 8)) == 1


def test_a_daily_cron_sends_each_week_once_at_its_first_time(
    database: DatabaseEngine, settings: Settings
) -> None:
    """A digest covers a week: a cron firing daily sends the week before on the first day."""
    subscribed(database, cron="0 9 * * *")
    sent = [
        run_due(database, settings, now=local(11, 30, 9) + timedelta(days=day)) for day in range(9)
    ]
    assert sent == [1, 0, 0, 0, 0, 0, 0, 1, 0]


def test_every_sector_s_digest_goes_out_once_each(
    database: DatabaseEngine, settings: Settings
) -> None:
    number = subscribed(database, sector=None)
    assert run_due(database, settings, now=local(11, 30, 8)) == 3
    assert run_due(database, settings, now=local(11, 30, 8, 1)) == 0
    sectors = sorted(e.payload["sector"] for e in posted(database))
    assert sectors == ["circular-economy", "energy", "mobility"]
    assert len(issues(database, number)) == 3


def test_a_cancelled_subscription_sends_nothing(
    database: DatabaseEngine, settings: Settings
) -> None:
    number = subscribed(database)
    with transaction(database) as session:
        row = session.get(DigestSubscription, number)
        assert row is not None
        row.active = False
        session.add(row)
    assert run_due(database, settings, now=local(11, 30, 8)) == 0


def test_a_folder_gets_one_html_file_per_sector_and_week_written_whole(
    database: DatabaseEngine, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "digests"
    number = subscribed(database, "energy", platform=FOLDER, chat_id=str(folder))
    assert run_due(database, settings, now=local(11, 30, 8)) == 1
    assert run_due(database, settings, now=local(11, 30, 9)) == 0

    assert sorted(p.name for p in folder.iterdir()) == ["energy-2026-W48.html"]  # no leftovers
    page = (folder / "energy-2026-W48.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Digest of Energy: 2026-W48" in page
    (issue,) = issues(database, number)
    assert issue.path == str(folder / "energy-2026-W48.html") and issue.outbox_id is None
    assert posted(database) == []


def test_a_folder_that_cannot_be_written_is_retried_and_then_written_once(
    database: DatabaseEngine, settings: Settings, tmp_path: Path
) -> None:
    blocked = tmp_path / "taken"
    blocked.write_text("a file where the folder should be")
    subscribed(database, platform=FOLDER, chat_id=str(blocked))
    failures = Failures()
    monday = local(11, 30, 8)

    assert run_due(database, settings, now=monday, failures=failures) == 0
    assert issues(database) == []  # the row went with the failed transaction
    blocked.unlink()
    assert run_due(database, settings, now=monday + timedelta(seconds=2), failures=failures) == 0
    assert run_due(database, settings, now=monday + timedelta(minutes=1), failures=failures) == 1
    assert [p.name for p in blocked.iterdir()] == ["mobility-2026-W48.html"]
    assert len(issues(database)) == 1 and not failures


def test_runners_racing_for_the_same_digest_send_it_once(
    database: DatabaseEngine, settings: Settings
) -> None:
    numbers = [subscribed(database, sector=None, chat_id=f"#staff-{n}") for n in range(3)]
    monday = local(11, 30, 8)
    start = threading.Barrier(4)
    sent: list[int] = []

    def runner() -> None:
        start.wait()
        sent.append(run_due(database, settings, now=monday))

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(sent) == 9  # three sectors for each of three subscriptions
    assert len(posted(database)) == 9
    for number in numbers:
        assert len(issues(database, number)) == 3


def test_a_crash_while_sending_repeats_only_the_message_in_flight(
    database: DatabaseEngine, settings: Settings
) -> None:
    subscribed(database)
    run_due(database, settings, now=local(11, 30, 8))
    (taken,) = outbox.claim(database, "console", limit=1)  # a deliverer takes it, then dies
    with transaction(database) as session:
        row = session.get(OutboxEntry, taken.id)
        assert row is not None and row.status is OutboxStatus.SENDING
        row.not_before = utcnow() - timedelta(seconds=1)  # its lease ran out
        session.add(row)

    (again,) = outbox.claim(database, "console", limit=1)
    assert again.id == taken.id  # the same message is sent again, nothing new is made
    assert run_due(database, settings, now=local(11, 30, 8, 5)) == 0
    assert len(posted(database)) == 1 and len(issues(database)) == 1


def test_a_digest_s_parts_go_in_order_even_when_one_must_be_retried(
    database: DatabaseEngine, settings: Settings
) -> None:
    """The parts are chained: a part that failed holds back the ones after it until it is
    sent, and a part given up on does not hold back the rest of the digest."""
    subscribed(database)
    run_due(database, settings, now=local(11, 30, 8))
    with transaction(database) as session:
        chain = session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id))).all()
        assert len(chain) >= 2
        assert [e.follows for e in chain] == [None] + [e.id for e in chain[:-1]]
    ids = [e.id for e in chain]
    sent: list[int] = []
    first_try = {"failed": False}

    def send(action: Action, _edits: str | None) -> str:
        if action.kind == "PostDigest" and action.part == 2 and not first_try["failed"]:
            first_try["failed"] = True
            raise DeliveryError("network hiccup", retry_after=timedelta(seconds=0))
        sent.append(action.part if isinstance(action, PostDigest) else -1)
        return str(len(sent))

    deliver_due(database, "console", send)
    assert sent == [1]  # part 2 failed, so nothing after it went
    for _ in range(len(ids) + 2):
        with transaction(database) as session:  # let the waiting entries be due now
            for entry in session.exec(select(OutboxEntry)):
                entry.not_before = utcnow() - timedelta(seconds=1)
                session.add(entry)
        deliver_due(database, "console", send)
    parts = [p for p in sent if p > 0]
    assert parts == list(range(1, len(parts) + 1)) and len(sent) == len(ids)
    assert outbox.status_of(database, ids[-1])[0] is OutboxStatus.DELIVERED  # type: ignore[index]


# --- real scheduler processes ------------------------------------------------------------------


@pytest.fixture
def lease_env(polder_env: dict[str, str]) -> dict[str, str]:
    polder_env["POLDER_SCHEDULER_LEASE_SECONDS"] = LEASE_SECONDS
    return polder_env


def cron_at(when: datetime) -> str:
    """A six-field cron (seconds first) for `when`'s wall-clock time in Amsterdam, daily."""
    local_time = when.astimezone(AMSTERDAM)
    return f"{local_time.second} {local_time.minute} {local_time.hour} * * *"


def sent_lines(*schedulers: SchedulerProcess) -> list[str]:
    return [line for s in schedulers for line in s.log().splitlines() if "digest of " in line]


def holder(*schedulers: SchedulerProcess) -> SchedulerProcess:
    (leader,) = [s for s in schedulers if "took the scheduler lease" in s.log()]
    return leader


def test_two_schedulers_send_once_and_after_a_kill_the_survivor_sends_the_next_once(
    database: DatabaseEngine, lease_env: dict[str, str], start_scheduler: StartScheduler
) -> None:
    first_at = utcnow() + timedelta(seconds=6)
    next_at = first_at + timedelta(seconds=4)
    first = subscribed(database, "mobility", cron_at(first_at), made=utcnow())
    following = subscribed(database, "energy", cron_at(next_at), made=utcnow())

    one, two = start_scheduler(), start_scheduler()
    one.wait_ready()
    two.wait_ready()
    assert utcnow() < first_at, "the schedulers started too slowly for this test to hold"
    assert wait_for(lambda: issues(database, first), 10), one.log() + two.log()
    leader = holder(one, two)
    survivor = two if leader is one else one
    os.kill(leader.process.pid, signal.SIGKILL)
    leader.process.wait(timeout=10)

    assert wait_for(lambda: issues(database, following), 15), survivor.log()
    with running(survivor):
        time.sleep(2.5)  # a sweep or more: nothing is sent twice
    assert "took the scheduler lease" in survivor.log()
    assert [e.payload["sector"] for e in posted(database)] == ["mobility", "energy"]
    assert len(issues(database)) == 2
    lines = sent_lines(one, two)
    assert len(lines) == 2, lines
    assert "digest of energy" in sent_lines(survivor)[0]


def test_a_digest_due_while_no_scheduler_ran_goes_out_once_when_two_start(
    database: DatabaseEngine, lease_env: dict[str, str], start_scheduler: StartScheduler
) -> None:
    due_at = utcnow() + timedelta(seconds=1)
    number = subscribed(database, "mobility", cron_at(due_at), made=utcnow())
    time.sleep(max(0.0, (due_at - utcnow()).total_seconds()) + 1.5)
    assert issues(database) == []

    again, also = start_scheduler(), start_scheduler()
    with running(again, also):  # ready means the holder has caught up
        assert len(issues(database, number)) == 1
        time.sleep(2.5)
    assert len(issues(database)) == 1 and len(posted(database)) == 1
    assert len(sent_lines(again, also)) == 1
