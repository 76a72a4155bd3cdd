"""`polder scheduler` and `polder run` as real processes: console members on one database, a
poll closed at its deadline with no further input, and a restart that closes what fell due
while no scheduler ran, once, even with two schedulers racing."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import col, func, select

from bot.engine import Engine
from storage.database import transaction
from storage.models import DialogueThread, Message, Poll, PollStatus
from storage.types import utcnow
from tests.scheduled.conftest import (
    POLDER,
    STARTUP_SECONDS,
    SchedulerProcess,
    make_curator_with_rooms,
    open_poll,
    results_of,
    running,
    until,
    wait_for,
)

StartScheduler = Callable[[], SchedulerProcess]


class LiveChat:
    """A `polder chat` kept open: lines are typed one at a time, answers read as they come,
    so the members are already connected when the poll's short deadline starts to run."""

    def __init__(self, env: dict[str, str], cwd: Path, name: str, room: str | None = None):
        args = [str(POLDER), "chat", "--as", name] + (["--room", room] if room else [])
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def say(self, line: str, answer: str) -> None:
        """Types a line and waits for the bot's answer to contain `answer`."""
        assert self.process.stdin is not None
        seen = len(self.lines)
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        heard = wait_for(lambda: any(answer in x for x in self.lines[seen:]), STARTUP_SECONDS)
        assert heard, f"no {answer!r} after {line!r}: {self.lines[seen:]}"

    def leave(self) -> None:
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0
        err = self.process.stderr.read()
        assert "Traceback" not in err, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def the_poll(database: DatabaseEngine) -> Poll:
    with transaction(database) as session:
        poll = session.exec(select(Poll)).one()
    return poll


def test_console_members_vote_and_the_result_is_posted_soon_after_the_deadline(
    database: DatabaseEngine,
    polder_env: dict[str, str],
    tmp_path: Path,
    start_scheduler: StartScheduler,
) -> None:
    scheduler = start_scheduler()
    grant = subprocess.run(
        [str(POLDER), "roles", "grant", "console:cura", "curator", "--sector", "mobility"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=polder_env,
        timeout=60,
    )
    assert grant.returncode == 0, grant.stderr
    cura = LiveChat(polder_env, tmp_path, "cura", room="town")
    ann, ben = LiveChat(polder_env, tmp_path, "ann"), LiveChat(polder_env, tmp_path, "ben")
    try:
        with running(scheduler):
            cura.say("/link mobility", "linked to mobility")
            question = "Which street should get the first bike lane?"
            cura.say(f"/thread open mobility {question}", "Thread #1 is open in mobility")
            ann.say("/reply 1 The ring road: it carries the most cyclists.", "answer to thread #1")
            ben.say("/reply 1 Harbour street, the school is there.", "answer to thread #1")

            poll_line = '/poll mobility "Which street first?" "Ring road" "Harbour street"'
            cura.say(f"{poll_line} --for 5s", "Poll #1 is open in mobility, posted to 1 channels")
            ann.say("/vote 1 1", "Your vote on poll #1 is counted: Ring road.")
            ann.say("/vote 1 2", "Your vote on poll #1 is changed: Harbour street.")
            ben.say("/vote 1 1", "Your vote on poll #1 is counted: Ring road.")
            for member in (cura, ann, ben):
                member.leave()
            poll = the_poll(database)
            assert utcnow() < poll.closes_at, "the members voted too late for this test to hold"

            # No further input: the scheduler alone closes the poll and posts its result.
            wait = until(poll.closes_at) + 10
            posted = wait_for(lambda: results_of(database, poll.id), wait)  # type: ignore[arg-type]
            assert posted, f"no result was posted:\n{scheduler.log()}"
    finally:
        for member in (cura, ann, ben):
            member.kill()

    (result,) = results_of(database, poll.id)  # type: ignore[arg-type]
    assert result.platform == "console" and result.chat_id == "#town"
    assert timedelta(0) <= result.created_at - poll.closes_at <= timedelta(seconds=4)
    assert result.payload["counts"] == [1, 1]
    assert result.payload["voters"] == 2
    assert "Result of poll #1 in mobility: Which street first?" in result.payload["text"]
    with transaction(database) as session:
        thread = session.exec(select(DialogueThread)).one()
        replies = session.exec(
            select(func.count()).where(col(Message.thread_id) == thread.id)
        ).one()
    assert thread.question == question
    assert replies == 2


def test_a_deadline_passed_while_stopped_closes_once_at_restart_even_with_two_schedulers(
    engine: Engine,
    database: DatabaseEngine,
    start_scheduler: StartScheduler,
) -> None:
    curator = make_curator_with_rooms(engine, "#town", "#harbour")
    poll = open_poll(engine, curator, "3s")

    first = start_scheduler()
    with running(first):
        pass  # planned the deadline, then stopped before it
    assert utcnow() < poll.closes_at, "the scheduler started too slowly for this test to hold"
    assert the_poll(database).status is PollStatus.OPEN

    time.sleep(until(poll.closes_at) + 1.5)  # well past the deadline: more than a second late
    assert the_poll(database).status is PollStatus.OPEN

    again, also = start_scheduler(), start_scheduler()
    with running(again, also):  # ready means each has caught up
        assert the_poll(database).status is PollStatus.CLOSED
        time.sleep(2.5)  # a sweep of each, to show neither repeats the result

    results = results_of(database, poll.id)  # type: ignore[arg-type]
    assert sorted(e.chat_id for e in results) == ["#harbour", "#town"]
    closings = [
        line for s in (again, also) for line in s.log().splitlines() if "closed poll #" in line
    ]
    assert len(closings) == 1, closings
    assert f"closed poll #{poll.id}; result posted to" in closings[0]
    assert "test:#town" in closings[0] and "test:#harbour" in closings[0]


def test_polder_run_runs_the_jobs_beside_the_console(
    engine: Engine, database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    curator = make_curator_with_rooms(engine, "#town")
    poll = open_poll(engine, curator, "1s")
    time.sleep(until(poll.closes_at) + 0.2)

    result = subprocess.run(
        [str(POLDER), "run", "--as", "visitor"],
        input="/help\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=polder_env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "bot> " in result.stdout
    assert the_poll(database).status is PollStatus.CLOSED
    assert len(results_of(database, poll.id)) == 1  # type: ignore[arg-type]
