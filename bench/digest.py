"""Time and peak memory to build one sector's weekly digest from 10k, 100k and 1M stored
messages, on SQLite and on PostgreSQL, and how the time grows with the number of messages.

A digest is built once a week per sector and subscription, inside one transaction: its headline
counts, eight weeks of activity for the charts, and every message of the week read once to find
the threads' representative quotes, their themes and the unanswered questions. The week's
messages grow with the city, so what matters is how the build grows with them: linear is
fine, worse is not. The same run times a plain `SELECT count(*)` of the week's messages of the
sector on the same database, so the digest's cost can be read as a ratio to the cheapest
question one can ask about that week, and renders each digest to HTML and Markdown (timed
apart from the build, since a digest is built once and rendered per language).

Input is real: the Polis statements (../shared/data/polis/*/comments.csv, English and German;
scheduled/sample_polis/ when that folder is missing), each with the language `bot.language`
detects for it, written straight into the database (bulk Core inserts, not through the engine)
as the messages of 2,000 members of one sector, in a few channels, most in the dialogue
thread of their conversation, spread evenly over the eight ISO weeks that end with the digest's
week, so that week holds an eighth of them. Texts repeat once the statements run out.

Run from the project root (never part of the tests' pass/fail):

    .venv/bin/python -m bench.digest [--sizes 10000 100000 1000000] [--rounds 3] [--profile]
    .venv/bin/python -m bench.digest --quick
    .venv/bin/python -m bench.digest --postgres postgresql+psycopg://user@host:5432/dbname

PostgreSQL is also used when POLDER_BENCH_DATABASE_URL is set; each size gets a fresh schema in
that database, dropped afterwards (and a fresh SQLite file in a temp dir).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import ctypes
import gc
import logging
import math
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import func, insert
from sqlmodel import select

try:
    from bench.common import (
        ENV_URL,
        PROJECT,
        Statement,
        command_line,
        load_statements,
        machine,
        polis_root,
        postgres_url,
        server_version,
        sqlite_url,
    )
except ModuleNotFoundError:  # run as a file (python bench/digest.py): bench/ is on the path
    from common import (  # type: ignore[no-redef]
        ENV_URL,
        PROJECT,
        Statement,
        command_line,
        load_statements,
        machine,
        polis_root,
        postgres_url,
        server_version,
        sqlite_url,
    )
from bot.language import detect
from bot.sectors import ensure_sectors, find_sector
from scheduled.digest import Digest, build_digest, week_bounds, week_of
from scheduled.render import to_html, to_markdown
from storage import migrate
from storage.database import open_engine, transaction
from storage.models import (
    ActorType,
    Channel,
    DialogueThread,
    LanguageSource,
    Member,
    Membership,
    Message,
    Sector,
)

SIZES = [10_000, 100_000, 1_000_000]
QUICK_SIZES = [2_000, 20_000]
PERIOD = "2026-W10"  # 2–8 March 2026: no DST change in it or the seven weeks before
ZONE = "Europe/Amsterdam"
WEEKS = 8  # the messages span the digest's week and the seven before it
MEMBERS = 2_000
CHANNELS = 4  # group chats linked to the sector, two per platform
IN_THREAD = 0.9  # share of messages that answer their conversation's dialogue thread
NAMED = 3  # every third member consented to be named
BATCH = 10_000  # rows per insert and commit
SECTOR = "mobility"
PLATFORMS = ("telegram", "slack")
LANGUAGES = ("en", "de", "nl", None)  # members' own languages, None: not known yet
TABLES = ("sectors", "members", "memberships", "channels", "threads", "messages")

T = TypeVar("T")


class BenchError(RuntimeError):
    """The digest did not say what the stored data says, so its figures would mislead."""


# --- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """A statement as a message: its text, the language stored with it and its conversation."""

    text: str
    language: str | None
    conversation: str


def with_languages(statements: Sequence[Statement]) -> list[Post]:
    """Each statement with its detected language, detected once per distinct text; a text too
    short to tell takes its conversation's most common language, as the engine would take
    its author's."""
    detected = {}
    for body in dict.fromkeys(s.text for s in statements):
        detection = detect(body)
        detected[body] = detection.language if detection else None
    usual: dict[str, Counter[str]] = {}
    for s in statements:
        language = detected[s.text]
        if language:
            usual.setdefault(s.conversation, Counter())[language] += 1
    return [
        Post(
            s.text,
            detected[s.text] or usual.get(s.conversation, Counter(en=1)).most_common(1)[0][0],
            s.conversation,
        )
        for s in statements
    ]


def topic(root: Path, conversation: str) -> str:
    """The conversation's topic from its summary.csv (key,value rows): the thread's question."""
    path = root / conversation / "summary.csv"
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.reader(file):
                if len(row) >= 2 and row[0] == "topic" and row[1].strip():
                    return row[1].strip()
    return conversation


@dataclass(frozen=True)
class Period:
    """The digest's week, [start, end) in UTC, and the first moment of the eight weeks."""

    label: str
    zone: ZoneInfo
    start: datetime
    end: datetime
    begin: datetime

    @classmethod
    def of(cls, label: str, zone: ZoneInfo) -> Period:
        start, end = week_bounds(label, zone)
        begin, _ = week_bounds(week_of(start - timedelta(weeks=WEEKS - 1), zone), zone)
        return cls(label, zone, start, end, begin)


# --- loading -----------------------------------------------------------------------------------


@dataclass
class Loaded:
    """What a loaded database holds, for checking the digest against it."""

    sector_id: int
    messages: int
    in_week: int
    seconds: float


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def member_rows(period: Period, rng: random.Random) -> list[dict[str, Any]]:
    """2,000 members: actor types and languages spread over all values (and none), a third
    named with consent, created before the eight weeks."""
    actors: list[ActorType | None] = [*ActorType, None]
    rows = []
    for n in range(MEMBERS):
        language = LANGUAGES[n % len(LANGUAGES)]
        rows.append(
            {
                "display_name": f"Member {n}",
                "language": language,
                "language_source": LanguageSource.DETECTED if language else None,
                "recent_languages": language or "",
                "actor_type": actors[n % len(actors)],
                "organisation": None,
                "consent_contact": False,
                "consent_named": n % NAMED == 0,
                "consent_export": False,
                "onboarded_at": period.begin - timedelta(days=30),
                "created_at": period.begin - timedelta(days=rng.randint(30, 300)),
            }
        )
    return rows


def membership_rows(
    member_ids: Sequence[int], sector_id: int, period: Period, rng: random.Random
) -> list[dict[str, Any]]:
    """Three quarters joined before the eight weeks, the rest during them: new members weekly."""
    span = period.end - period.begin
    return [
        {
            "member_id": member_id,
            "sector_id": sector_id,
            "joined_at": period.begin - timedelta(days=rng.randint(1, 300))
            if rng.random() < 0.75
            else period.begin + span * rng.random(),
        }
        for member_id in member_ids
    ]


def message_batches(
    count: int,
    posts: Sequence[Post],
    period: Period,
    ids: dict[str, Any],
    rng: random.Random,
) -> Iterator[list[dict[str, Any]]]:
    """`count` messages in time order, evenly over the eight weeks, in batches of BATCH.

    Authors are skewed (a few members write much, most write little), as in any group chat.
    """
    members: list[int] = ids["members"]
    channels: list[tuple[int, str]] = ids["channels"]
    threads: dict[str, int] = ids["threads"]
    span = (period.end - period.begin).total_seconds()
    batch: list[dict[str, Any]] = []
    for n in range(count):
        post = posts[n % len(posts)]
        channel_id, platform = channels[n % len(channels)]
        batch.append(
            {
                "platform": platform,
                "channel_id": channel_id,
                "sector_id": ids["sector"],
                "member_id": members[int(len(members) * rng.random() ** 2)],
                "thread_ref": None,
                "thread_id": threads[post.conversation] if rng.random() < IN_THREAD else None,
                "text": post.text,
                "language": post.language,
                "created_at": period.begin + timedelta(seconds=span * (n + rng.random()) / count),
                "platform_message_id": f"{platform}:{n}",
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load(
    database: DatabaseEngine,
    count: int,
    posts: Sequence[Post],
    questions: dict[str, str],
    period: Period,
    seed: int,
) -> Loaded:
    """A migrated database holding the sector, its members, channels, threads and `count`
    messages, analysed as after a day of normal use."""
    rng = random.Random(seed)
    began = time.perf_counter()
    migrate.upgrade(database)
    with transaction(database) as session:
        ensure_sectors(session, [SECTOR])
        sector = find_sector(session, SECTOR)
        assert sector is not None and sector.id is not None
        channels = [
            Channel(
                platform=PLATFORMS[n % len(PLATFORMS)],
                chat_id=f"bench-chat-{n}",
                title=f"Mobility {n}",
                sector_id=sector.id,
                created_at=period.begin - timedelta(days=60),
            )
            for n in range(CHANNELS)
        ]
        # one thread per conversation, opened before the eight weeks; two more opened in the
        # digest's week that nobody answers, so the digest lists unanswered threads too
        threads = {
            conversation: DialogueThread(
                sector_id=sector.id,
                question=question,
                opened_at=period.begin - timedelta(days=1),
            )
            for conversation, question in questions.items()
        }
        unanswered = [
            DialogueThread(
                sector_id=sector.id,
                question=f"Question {n} nobody has answered yet?",
                opened_at=period.start + timedelta(days=2 + n),
            )
            for n in range(2)
        ]
        session.add_all([*channels, *threads.values(), *unanswered])
        session.flush()
        ids: dict[str, Any] = {
            "sector": sector.id,
            "channels": [(c.id, c.platform) for c in channels],
            "threads": {conversation: t.id for conversation, t in threads.items()},
        }
    with database.begin() as conn:
        conn.execute(insert(Member), member_rows(period, rng))
        ids["members"] = list(conn.execute(select(Member.id).order_by(Member.id)).scalars())
        conn.execute(
            insert(Membership), membership_rows(ids["members"], ids["sector"], period, rng)
        )
    stored = 0
    started = time.perf_counter()
    for batch in message_batches(count, posts, period, ids, rng):
        with database.begin() as conn:
            conn.execute(insert(Message), batch)
        stored += len(batch)
        if stored % (10 * BATCH) == 0 or stored == count:
            rate = stored / (time.perf_counter() - started)
            progress(f"  {database.dialect.name}: {stored:>9,} messages stored, {rate:,.0f}/s")
    analyse(database)
    in_week = count_week(database, ids["sector"], period)[0]
    return Loaded(ids["sector"], stored, in_week, time.perf_counter() - began)


def analyse(database: DatabaseEngine) -> None:
    """Planner statistics, as a live database has them; on PostgreSQL also the visibility
    map (VACUUM), as autovacuum would have set it after a bulk load."""
    if database.dialect.name == "sqlite":
        with database.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    with database.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(TABLES)}")


# --- the measured calls ------------------------------------------------------------------------


def count_week(database: DatabaseEngine, sector_id: int, period: Period) -> tuple[int, float]:
    """The baseline: how many messages the sector had in the week, one indexed aggregate."""
    query = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.sector_id == sector_id,
            Message.created_at >= period.start,
            Message.created_at < period.end,
        )
    )
    with transaction(database) as session:
        began = time.perf_counter()
        counted = session.exec(query).one()
        return int(counted), time.perf_counter() - began


def build(database: DatabaseEngine, sector_id: int, period: Period) -> tuple[Digest, float]:
    """`build_digest` as the scheduler calls it, in a transaction; only the call is timed."""
    with transaction(database) as session:
        sector = session.get(Sector, sector_id)
        assert sector is not None
        began = time.perf_counter()
        digest = build_digest(session, sector, period.start, period.end, period.zone)
        return digest, time.perf_counter() - began


def timed(call: Callable[[], T]) -> tuple[T, float]:
    began = time.perf_counter()
    result = call()
    return result, time.perf_counter() - began


def reset_peak_rss() -> bool:
    """Lower the process's RSS high-water mark to what it uses now (Linux), so getrusage's
    max RSS after a call tells that call's peak, not an earlier one's. Memory freed by larger
    cases before is handed back to the system first (glibc's malloc_trim), or the call would
    reuse it and seem to need none."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@dataclass(frozen=True)
class Measured:
    """One backend and size: medians and minima over the rounds, memory from its own rounds."""

    backend: str
    stored: int
    in_week: int
    load_s: float
    build: list[float]
    html: list[float]
    markdown: list[float]
    count: list[float]
    traced_build_mb: float
    traced_render_mb: float
    rss_growth_mb: float
    rss_reset: bool


def measure(
    database: DatabaseEngine, loaded: Loaded, period: Period, rounds: int, backend: str
) -> Measured:
    """A first build that also warms the caches and gives the RSS growth, then `rounds`
    timed rounds (count, build, HTML, Markdown), then one round under tracemalloc."""
    gc.collect()
    rss_reset = reset_peak_rss()
    rss_before = max_rss_mb()
    digest, _ = build(database, loaded.sector_id, period)
    rss_growth = max_rss_mb() - rss_before
    check(digest, loaded)
    to_html(digest, "en")
    to_markdown(digest, "en")
    del digest
    times: dict[str, list[float]] = {"count": [], "build": [], "html": [], "markdown": []}
    for _ in range(rounds):
        gc.collect()
        counted, seconds = count_week(database, loaded.sector_id, period)
        times["count"].append(seconds)
        digest, seconds = build(database, loaded.sector_id, period)
        times["build"].append(seconds)
        if digest.messages != counted:
            raise BenchError(f"the digest counts {digest.messages} messages, SQL {counted}")
        times["html"].append(timed(lambda d=digest: to_html(d, "en"))[1])
        times["markdown"].append(timed(lambda d=digest: to_markdown(d, "en"))[1])
        del digest
    gc.collect()
    tracemalloc.start()
    digest, _ = build(database, loaded.sector_id, period)
    traced_build = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    holding = tracemalloc.get_traced_memory()[0]  # the digest and what the build left behind
    to_html(digest, "en")
    to_markdown(digest, "en")
    traced_render = tracemalloc.get_traced_memory()[1] - holding
    tracemalloc.stop()
    del digest
    return Measured(
        backend,
        loaded.messages,
        loaded.in_week,
        loaded.seconds,
        times["build"],
        times["html"],
        times["markdown"],
        times["count"],
        traced_build / 2**20,
        traced_render / 2**20,
        rss_growth,
        rss_reset,
    )


def check(digest: Digest, loaded: Loaded) -> None:
    """The digest must have read the week's messages and found the threads in them: a digest
    that read nothing would be fast."""
    if digest.messages != loaded.in_week or not digest.threads:
        raise BenchError(
            f"the digest has {digest.messages} of {loaded.in_week} messages of the week and "
            f"{len(digest.threads)} threads"
        )
    if sum(t.replies for t in digest.threads) > digest.messages or not digest.unanswered:
        raise BenchError("the digest's threads or unanswered questions do not add up")


def profile_build(database: DatabaseEngine, loaded: Loaded, period: Period) -> None:
    """Where a build's time goes: Polder's functions by cumulative time, then the hottest
    functions anywhere by own time (cProfile inflates pure-Python code the most)."""
    profiler = cProfile.Profile()
    profiler.runcall(build, database, loaded.sector_id, period)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    print(f"\nprofile of one build, {loaded.messages:,} messages stored ({database.dialect.name}):")
    stats.sort_stats("cumulative").print_stats(r"/(bot|storage|scheduled)/", 12)
    stats.sort_stats("tottime").print_stats(10)


# --- report ------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def growth(previous: Measured | None, now: Measured) -> str:
    """The exponent k in time ∝ messages^k between two sizes: 1 is linear."""
    if previous is None or previous.backend != now.backend:
        return ""
    k = math.log(median(now.build) / median(previous.build)) / math.log(
        now.in_week / previous.in_week
    )
    return f"{k:.2f}"


COLUMNS = (
    f"{'backend':<9}{'stored':>10}{'in week':>9}{'build s':>9}{'min s':>8}{'html s':>8}"
    f"{'md s':>8}{'count ms':>9}{'x count':>9}{'traced MB':>10}{'render MB':>10}"
    f"{'RSS +MB':>9}{'growth':>7}"
)


def table(results: Sequence[Measured]) -> list[str]:
    lines = [COLUMNS]
    previous: Measured | None = None
    for m in results:
        build_s, count_s = median(m.build), median(m.count)
        lines.append(
            f"{m.backend:<9}{m.stored:>10,}{m.in_week:>9,}{build_s:>9.3f}{min(m.build):>8.3f}"
            f"{median(m.html):>8.3f}{median(m.markdown):>8.3f}{count_s * 1e3:>9.2f}"
            f"{build_s / count_s:>9.0f}{m.traced_build_mb:>10.1f}{m.traced_render_mb:>10.1f}"
            f"{m.rss_growth_mb:>9.1f}{growth(previous, m):>7}"
        )
        previous = m
    return lines


def notes(results: Sequence[Measured], rounds: int) -> list[str]:
    rss = (
        "RSS +MB: the process's max RSS (getrusage) during the first build, over its RSS just "
        "before (freed memory trimmed, high-water mark reset through /proc/self/clear_refs)"
        if all(m.rss_reset for m in results)
        else "RSS +MB: growth of the process's max RSS (getrusage) during the first build; 0 when "
        "an earlier case had set a higher mark (it could not be reset here)"
    )
    return [
        f"build s, html s, md s, count ms: medians of {rounds} rounds; min s: the fastest build",
        "build: scheduled.digest.build_digest in a transaction; html/md: scheduled.render.to_html "
        "and to_markdown of that digest, in English",
        "count: SELECT count(*) of the sector's messages in the week (the baseline); x count: "
        "build time over count time",
        "traced MB: peak of Python allocations during one build (tracemalloc, its own round); "
        "render MB: the same for HTML plus Markdown, above the digest itself",
        rss,
        "growth: k in build time ∝ (messages in the week)^k from the size above; 1 is linear",
        "load: migrations, members, bulk inserts of BATCH rows per commit, then ANALYZE "
        "(PostgreSQL: VACUUM (ANALYZE))".replace("BATCH", f"{BATCH:,}"),
    ]


def code_state() -> str:
    """The commit measured, and which files differ from it: figures of uncommitted code say so."""
    try:
        head = subprocess.run(
            ["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(PROJECT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    files = [line[3:] for line in changed if line.strip()]
    return f"{head}" + (f" with uncommitted changes to {', '.join(files)}" if files else "")


def header(statements: Sequence[Post], root: Path, period: Period) -> list[str]:
    languages = Counter(s.language or "none" for s in statements)
    mix = ", ".join(f"{language} {n}" for language, n in languages.most_common())
    conversations = len({s.conversation for s in statements})
    return [
        f"date:    {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: {command_line()}",
        f"machine: {machine()}",
        f"code:    {code_state()}",
        f"input:   {len(statements)} Polis statements ({mix}) from {conversations} "
        f"conversations in {root}, as messages of {MEMBERS:,} members of {SECTOR} in "
        f"{CHANNELS} channels, {IN_THREAD:.0%} in their conversation's thread",
        f"period:  {period.label} in {period.zone.key}; messages spread evenly over the {WEEKS} "
        f"weeks from {period.begin.astimezone(period.zone):%Y-%m-%d} to its end",
    ]


# --- main --------------------------------------------------------------------------------------


def bench_size(
    url: str, count: int, posts: Sequence[Post], questions: dict[str, str], args: argparse.Namespace
) -> Measured:
    period = Period.of(args.period, ZoneInfo(args.zone))
    database = open_engine(url)
    try:
        if count == args.sizes[0]:
            print(f"\n{server_version(database)}")
        loaded = load(database, count, posts, questions, period, args.seed)
        print(
            f"  {count:,} messages loaded in {loaded.seconds:.1f} s "
            f"({count / loaded.seconds:,.0f}/s with migrations and ANALYZE), "
            f"{loaded.in_week:,} in {period.label}",
            flush=True,
        )
        backend = "sqlite" if database.dialect.name == "sqlite" else "postgres"
        result = measure(database, loaded, period, args.rounds, backend)
        print(f"  {table([result])[1]}", flush=True)
        if args.profile and count == args.sizes[-1]:
            profile_build(database, loaded, period)
        return result
    finally:
        database.dispose()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.digest", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="messages stored")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; medians reported")
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: sizes {QUICK_SIZES}, 1 round"
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=["sqlite", "postgres"],
        default=["sqlite", "postgres"],
        help="postgres runs only with a URL",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(ENV_URL),
        help=f"PostgreSQL database to make schemas in ({ENV_URL})",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the largest build")
    parser.add_argument("--period", default=PERIOD, help="ISO week of the digest")
    parser.add_argument("--zone", default=ZONE, help="the city's time zone")
    parser.add_argument("--seed", type=int, default=0, help="shuffle, authors, times")
    parser.add_argument("--polis", type=Path, default=None, help="folder of Polis exports")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds = QUICK_SIZES, 1
    args.sizes = sorted(set(args.sizes))
    if args.rounds < 1 or args.sizes[0] < 100:
        parser.error("--rounds must be at least 1 and --sizes at least 100")
    if "sqlite" not in args.backends and not args.postgres:
        parser.error(f"--backends postgres needs --postgres URL or {ENV_URL}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    root = args.polis or polis_root()
    statements = load_statements(root, args.seed)
    posts = with_languages(statements)
    questions = {c: topic(root, c) for c in dict.fromkeys(s.conversation for s in posts)}
    period = Period.of(args.period, ZoneInfo(args.zone))
    print("\n".join(header(posts, root, period)), flush=True)
    results: list[Measured] = []
    if "sqlite" in args.backends:
        for count in args.sizes:
            with sqlite_url() as url:
                results.append(bench_size(url, count, posts, questions, args))
    if "postgres" in args.backends and args.postgres:
        for count in args.sizes:
            with postgres_url(args.postgres) as url:
                results.append(bench_size(url, count, posts, questions, args))
    print(f"\nbuilding the {SECTOR} digest of {period.label} ({period.zone.key}):")
    print("\n".join(table(results)))
    print("\n".join(notes(results, args.rounds)))
    print(f"\ncommand: {command_line()}")


if __name__ == "__main__":
    main()
