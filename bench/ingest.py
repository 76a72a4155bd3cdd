"""Messages per second through `Engine.handle`, end to end, on SQLite and on PostgreSQL.

Every message a member posts goes through `Engine.handle`: language detection, then one
transaction that records the event's key, stores the message and writes the outbox. Its cost
bounds how many members one worker can serve. The same run times the bare baselines on the
same texts and database: plain inserts of the rows the engine writes for a message, and
langdetect alone. The machine is shared and noisy, so read the engine's cost as a ratio to
the plain inserts rather than as an absolute figure.

Input is real: Polis statements (../shared/data/polis/*/comments.csv, English and German),
posted by their authors, already members, in a group channel linked to the mobility sector.

Run from the project root (never part of the tests' pass/fail):

    .venv/bin/python -m bench.ingest [--events 200] [--rounds 5] [--threads 2 4]
    .venv/bin/python bench/ingest.py --postgres postgresql+psycopg://user@host:5432/dbname

PostgreSQL is also used when POLDER_BENCH_DATABASE_URL is set; the run makes a fresh schema
in that database and drops it afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import logging
import os
import pstats
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import func, insert
from sqlmodel import col, select

try:
    from bench.common import (
        ENV_URL,
        POLIS,
        Statement,
        command_line,
        load_statements,
        machine,
        postgres_url,
        server_version,
        sqlite_url,
    )
except ModuleNotFoundError:  # run as a file (python bench/ingest.py): bench/ is on the path
    from common import (  # type: ignore[no-redef]
        ENV_URL,
        POLIS,
        Statement,
        command_line,
        load_statements,
        machine,
        postgres_url,
        server_version,
        sqlite_url,
    )
from bot.actions import Action
from bot.config import Settings
from bot.engine import Engine
from bot.events import CommandIssued, Event, MessagePosted
from bot.language import detect
from bot.members import member_for
from bot.roles import grant
from bot.sectors import ensure_sectors, find_sector
from storage import migrate
from storage.database import open_engine, transaction
from storage.models import Channel, HandledEvent, Message, RoleName

PLATFORM = "bench"
ROOM = "bench-room"
CURATOR = "bench-curator"
SECTOR = "mobility"
PLAIN = "plain:"  # prefix of the baseline's keys and message ids, to tell its rows apart
WARM_UP_EVENTS = 20  # loads langdetect's profiles, fills pools and statement caches

T = TypeVar("T")


class BenchError(RuntimeError):
    """The engine did not do what the benchmark expects, so its figures would mislead."""


@dataclass(frozen=True)
class Sample:
    """One batch of calls: the wall time of the whole batch and each call's latency."""

    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p95(self) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=20, method="inclusive")[18]

    @property
    def slowest(self) -> float:
        return max(self.latencies)


@dataclass(frozen=True)
class Summary:
    """A case over all rounds: the median of each round's figures."""

    rate: float
    median: float
    p95: float
    slowest: float


@dataclass
class Room:
    """Where the messages land: the linked channel, its sector, and the authors' member ids."""

    channel_id: int
    sector_id: int
    members: dict[str, int]


@dataclass
class Run:
    """One backend's database, engine and input, shared by all rounds."""

    database: DatabaseEngine
    engine: Engine
    room: Room
    statements: Iterator[Statement]
    workers: list[Engine]
    counts: dict[str, int] = field(
        default_factory=lambda: {"messages": 0, "plain": 0, "commands": 0}
    )


# --- input -----------------------------------------------------------------------------


def take(statements: Iterator[Statement], count: int) -> list[Statement]:
    return list(itertools.islice(statements, count))


_serial = itertools.count(1)


def new_key(prefix: str = "") -> str:
    return f"{prefix}{PLATFORM}:{next(_serial)}:{uuid.uuid4().hex[:8]}"


def message_event(statement: Statement) -> MessagePosted:
    key = new_key()
    return MessagePosted(
        key=key,
        platform=PLATFORM,
        user_id=statement.author,
        user_name=statement.author,
        chat_id=ROOM,
        text=statement.text,
        platform_message_id=key,
    )


def command_event(user_id: str, line: str) -> CommandIssued:
    name, _, rest = line.lstrip("/").partition(" ")
    return CommandIssued(
        key=new_key(),
        platform=PLATFORM,
        user_id=user_id,
        user_name=user_id,
        chat_id=ROOM,
        command=name,
        argument_text=rest,
    )


@cache
def detected_language(body: str) -> str | None:
    """The language stored with a plain-insert row; worked out before the clock runs.

    The engine stores the member's language instead for short texts: the same columns are
    filled either way, so the row costs the same to insert.
    """
    detection = detect(body)
    return detection.language if detection else None


def plain_rows(room: Room, statements: Sequence[Statement]) -> list[dict[str, dict[str, Any]]]:
    """The rows the engine writes for each statement: its handled key and the message."""
    rows = []
    for statement in statements:
        event = message_event(statement)
        key = PLAIN + event.key
        rows.append(
            {
                "handled": {"key": key, "kind": event.kind, "handled_at": event.at},
                "message": {
                    "platform": PLATFORM,
                    "channel_id": room.channel_id,
                    "sector_id": room.sector_id,
                    "member_id": room.members[statement.author],
                    "thread_ref": None,
                    "text": statement.text,
                    "language": detected_language(statement.text),
                    "created_at": event.at,
                    "platform_message_id": key,
                },
            }
        )
    return rows


# --- databases -------------------------------------------------------------------------


def prepare(url: str, statements: list[Statement]) -> tuple[DatabaseEngine, Engine, Room]:
    """A migrated database whose bench room is linked to mobility, as a curator would do it,
    and every author a member already, so no message is a first contact."""
    database = open_engine(url)
    migrate.upgrade(database)
    # Flood control still counts each author's recent messages (that cost is measured), but
    # its limit is lifted: the bench posts far faster than any member may.
    settings = Settings(database_url=url, flood_messages=10_000, _env_file=None)  # type: ignore[call-arg]
    with transaction(database) as session:
        ensure_sectors(session, list(dict.fromkeys([*settings.default_sectors, SECTOR])))
        curator = member_for(session, PLATFORM, CURATOR, CURATOR)
        grant(session, curator, RoleName.CURATOR, find_sector(session, SECTOR))
        members = {}
        for author in dict.fromkeys(s.author for s in statements):
            members[author] = member_for(session, PLATFORM, author, author).id
    engine = Engine(database, settings)
    answer = reply_text(engine.handle(command_event(CURATOR, f"/link {SECTOR}")))
    if "now linked" not in answer:
        raise BenchError(f"/link {SECTOR} did not link the room: {answer!r}")
    with transaction(database) as session:
        channel = session.exec(
            select(Channel).where(Channel.platform == PLATFORM, Channel.chat_id == ROOM)
        ).one()
    assert channel.id is not None
    return database, engine, Room(channel.id, channel.sector_id, members)


def reply_text(actions: list[Action]) -> str:
    return "\n".join(getattr(action, "text", "") for action in actions)


# --- timing ----------------------------------------------------------------------------


def time_each(call: Callable[[T], object], items: Sequence[T]) -> Sample:
    latencies = []
    start = time.perf_counter()
    for item in items:
        began = time.perf_counter()
        call(item)
        latencies.append(time.perf_counter() - began)
    return Sample(time.perf_counter() - start, latencies)


def time_handle(engine: Engine, events: Sequence[Event], expected_actions: int) -> Sample:
    """Handle `events` one by one; each must lead to `expected_actions` actions."""
    counts: list[int] = []
    sample = time_each(lambda event: counts.append(len(engine.handle(event))), events)
    check_counts(counts, expected_actions, events[0].kind)
    return sample


def check_counts(counts: list[int], expected: int, kind: str) -> None:
    wrong = [n for n in counts if n != expected]
    if wrong:
        raise BenchError(f"{len(wrong)} {kind} events led to {wrong[0]} actions, not {expected}")


def time_threads(workers: Sequence[Engine], events: Sequence[Event]) -> Sample:
    """All workers at once, each handling its share of `events`; wall time of the slowest."""
    shares = [events[i :: len(workers)] for i in range(len(workers))]
    latencies: list[list[float]] = [[] for _ in workers]
    counts: list[list[int]] = [[] for _ in workers]
    start_line = threading.Barrier(len(workers) + 1)

    def work(index: int) -> None:
        start_line.wait()
        for event in shares[index]:
            began = time.perf_counter()
            counts[index].append(len(workers[index].handle(event)))
            latencies[index].append(time.perf_counter() - began)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    start_line.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    flat = list(itertools.chain.from_iterable(latencies))
    if len(flat) != len(events):
        raise BenchError(f"threads handled {len(flat)} of {len(events)} events")
    check_counts(list(itertools.chain.from_iterable(counts)), 0, events[0].kind)
    return Sample(seconds, flat)


def plain_insert(database: DatabaseEngine) -> Callable[[dict[str, dict[str, Any]]], None]:
    """The floor: one transaction that inserts a message's two rows and commits, no ORM."""
    handled, message = insert(HandledEvent), insert(Message)

    def store(rows: dict[str, dict[str, Any]]) -> None:
        with database.begin() as conn:  # on SQLite, BEGIN IMMEDIATE like the engine's
            conn.execute(handled, rows["handled"])
            conn.execute(message, rows["message"])

    return store


# --- rounds ----------------------------------------------------------------------------

Case = Callable[[], dict[str, Sample]]


def run_round(run: Run, events: int, threads: Sequence[int], turn: int) -> dict[str, Sample]:
    """Every case once, interleaved, and each round starting at the next case, so a noisy
    moment or a growing table does not always hit the same case."""
    batch = take(run.statements, events)
    rows = plain_rows(run.room, batch)  # detections cached here, before any clock runs
    counts = run.counts

    def plain() -> dict[str, Sample]:
        counts["plain"] += len(rows)
        return {"plain": time_each(plain_insert(run.database), rows)}

    def detect_only() -> dict[str, Sample]:
        return {"detect": time_each(detect, [s.text for s in batch])}

    def message_then_duplicate() -> dict[str, Sample]:
        posted = [message_event(s) for s in batch]
        counts["messages"] += len(posted)
        return {
            "message": time_handle(run.engine, posted, 0),
            "duplicate": time_handle(run.engine, posted, 0),
        }

    def command() -> dict[str, Sample]:
        issued = [command_event(s.author, "/sectors") for s in batch]
        counts["commands"] += len(issued)
        return {"command": time_handle(run.engine, issued, 1)}

    def in_threads(count: int) -> Case:
        def case() -> dict[str, Sample]:
            posted = [message_event(s) for s in take(run.statements, events)]
            counts["messages"] += len(posted)
            return {f"threads:{count}": time_threads(run.workers[:count], posted)}

        return case

    cases: list[Case] = [plain, detect_only, message_then_duplicate, command]
    cases += [in_threads(count) for count in threads]
    start = turn % len(cases)
    samples: dict[str, Sample] = {}
    for case in cases[start:] + cases[:start]:
        samples.update(case())
    return samples


def summarise(rounds: list[dict[str, Sample]]) -> dict[str, Summary]:
    return {
        case: Summary(
            rate=statistics.median(r[case].rate for r in rounds),
            median=statistics.median(r[case].median for r in rounds),
            p95=statistics.median(r[case].p95 for r in rounds),
            slowest=statistics.median(r[case].slowest for r in rounds),
        )
        for case in rounds[0]
    }


def verify(run: Run) -> str:
    """Every message stored once, every key recorded once, nothing apologised for (a failing
    engine would be fast)."""
    from_engine = col(Message.platform_message_id).not_like(f"{PLAIN}%")
    with transaction(run.database) as session:
        stored = session.exec(select(func.count()).select_from(Message).where(from_engine)).one()
        plain = session.exec(select(func.count()).select_from(Message).where(~from_engine)).one()
        keys = session.exec(select(func.count()).select_from(HandledEvent)).one()
        languages = session.exec(
            select(Message.language, func.count()).where(from_engine).group_by(Message.language)
        ).all()
        failed = session.exec(
            select(func.count())
            .select_from(HandledEvent)
            .where(col(HandledEvent.kind).startswith("failed:"))
        ).one()
    counts = run.counts
    expected_keys = counts["messages"] + counts["plain"] + counts["commands"] + 1  # the /link
    if stored != counts["messages"] or plain != counts["plain"] or keys != expected_keys or failed:
        raise BenchError(
            f"{stored} of {counts['messages']} messages stored, {plain} of {counts['plain']} "
            f"plain rows, {keys} of {expected_keys} handled keys, {failed} failed events"
        )
    by_count = sorted(languages, key=lambda row: (-row[1], row[0] or ""))
    mix = ", ".join(f"{language or 'none'} {n}" for language, n in by_count)
    return (
        f"checked: {stored} messages stored by the engine ({mix}), {plain} by plain inserts, "
        f"{keys} handled keys (duplicates added none), no failed events"
    )


# --- report ----------------------------------------------------------------------------

ORDER = ["plain", "detect", "message", "threads:", "command", "duplicate"]
LABELS = {
    "plain": "baseline: plain inserts",
    "detect": "baseline: langdetect alone",
    "message": "message, end to end",
    "command": "command /sectors",
    "duplicate": "duplicate key (detects too)",
}


def label(case: str) -> str:
    if case.startswith("threads:"):
        return f"message, {case.split(':')[1]} threads"
    return LABELS[case]


def ordered(summaries: dict[str, Summary]) -> list[tuple[str, Summary]]:
    def rank(case: str) -> tuple[int, str]:
        return next(i for i, prefix in enumerate(ORDER) if case.startswith(prefix)), case

    return [(case, summaries[case]) for case in sorted(summaries, key=rank)]


def table(summaries: dict[str, Summary]) -> list[str]:
    plain = summaries["plain"].rate
    lines = [
        f"{'case':<28}{'events/s':>10}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}{'x plain':>9}"
    ]
    for case, s in ordered(summaries):
        lines.append(
            f"{label(case):<28}{s.rate:>10.1f}{s.median * 1e3:>11.2f}{s.p95 * 1e3:>9.2f}"
            f"{s.slowest * 1e3:>9.2f}{plain / s.rate:>9.2f}"
        )
    return lines


def headline(summaries: dict[str, Summary]) -> str:
    message, plain, detect_ = summaries["message"], summaries["plain"], summaries["detect"]
    return (
        f"end to end: {message.rate:.0f} messages/s, {plain.rate / message.rate:.1f}x the time "
        f"of plain inserts of the same rows ({plain.rate:.0f}/s); "
        f"langdetect alone {detect_.rate:.0f}/s"
    )


def detection_share(summaries: dict[str, Summary]) -> str:
    """Detection's part of a stored message, by mean time per event (sums add up, medians don't)."""
    detect_ms = 1e3 / summaries["detect"].rate
    message_ms = 1e3 / summaries["message"].rate
    return (
        f"language detection: {detect_ms:.2f} of {message_ms:.2f} ms mean per message "
        f"({detect_ms / message_ms:.0%})"
    )


def header(statements: list[Statement]) -> list[str]:
    authors = len({s.author for s in statements})
    conversations = len({s.author.split(":")[0] for s in statements})
    return [
        f"date:    {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: {command_line()}",
        f"machine: {machine()}",
        f"input:   {len(statements)} Polis statements by {authors} authors "
        f"from {conversations} conversations, posted by existing members in a group channel "
        f"linked to {SECTOR}",
    ]


NOTES = [
    "x plain: time per event (1 / events/s) over that of plain inserts; max: slowest call of a "
    "round",
    "plain inserts: per message one transaction inserting its handled_events and messages rows "
    "(SQLAlchemy Core, no ORM, no detection)",
    "message: detection, then one transaction: key, member lookup and language, channel, "
    "message row, features, outbox",
    "duplicate: a repeated delivery; detection runs before the key is found to be known",
]


# --- main ------------------------------------------------------------------------------


def bench_backend(url: str, statements: list[Statement], args: argparse.Namespace) -> None:
    database, engine, room = prepare(url, statements)
    workers = [Engine(open_engine(url), engine.settings) for _ in range(max(args.threads or [0]))]
    run = Run(database, engine, room, itertools.cycle(statements), workers)
    try:
        run_round(run, WARM_UP_EVENTS, args.threads, 0)
        rounds = [run_round(run, args.events, args.threads, turn) for turn in range(args.rounds)]
        summaries = summarise(rounds)
        print()
        print(f"{server_version(database)}: {args.rounds} rounds x {args.events} events, medians")
        print(headline(summaries))
        print("\n".join(table(summaries)))
        print("\n".join(NOTES))
        print(detection_share(summaries))
        if args.threads:
            print("threads: each its own Engine and pool; events/s is their sum")
        print(verify(run))
        if args.profile:
            profile_messages(run, args.events)
    finally:
        for worker in workers:
            worker.database.dispose()
        database.dispose()


def profile_messages(run: Run, events: int) -> None:
    """Where the time of a handled message goes: our functions by cumulative time, then the
    hottest functions anywhere by own time (cProfile inflates pure-Python code like langdetect)."""
    posted = [message_event(s) for s in take(run.statements, events)]
    profiler = cProfile.Profile()
    profiler.runcall(time_handle, run.engine, posted, 0)
    run.counts["messages"] += len(posted)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\nprofile of {events} messages:")
    stats.sort_stats("cumulative").print_stats(r"/(bot|storage)/", 12)
    stats.sort_stats("tottime").print_stats(8)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--events", type=int, default=200, help="events per case and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument(
        "--threads", type=int, nargs="*", default=[2, 4], help="worker counts (none: no threads)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(ENV_URL),
        help=f"also PostgreSQL ({ENV_URL})",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", action="store_true", help="cProfile one batch of messages")
    parser.add_argument("--seed", type=int, default=0, help="shuffle of the statements")
    parser.add_argument("--polis", type=Path, default=POLIS, help="folder of Polis exports")
    args = parser.parse_args(argv)
    if args.events < 2 or args.rounds < 1 or any(n < 1 for n in args.threads):
        parser.error("--events must be at least 2, --rounds and --threads at least 1")
    if args.no_sqlite and not args.postgres:
        parser.error(f"--no-sqlite needs --postgres URL or {ENV_URL}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    statements = load_statements(args.polis, args.seed)
    print("\n".join(header(statements)))
    if not args.no_sqlite:
        with sqlite_url() as url:
            bench_backend(url, statements, args)
    if args.postgres:
        with postgres_url(args.postgres) as url:
            bench_backend(url, statements, args)


if __name__ == "__main__":
    main()
