"""One poll broadcast to many Telegram groups at Telegram's flood limits: the rate it reaches.

A poll launched in a sector is posted to every group linked to it, and Telegram allows 1
message a second per chat, 20 a minute per group and about 30 a second in all; a send over a
limit gets 429. The outbox's deliverer paces itself with one limiter so that a broadcast
waits instead of being refused. This measures whether that holds and what it costs: a poll
to N groups (default 200) through the real `TelegramChannel` against a local Bot API server
that enforces the limits (tests/adapters/fake_telegram.py), once clean and once with 429s
injected, and prints per round what arrived, how many 429s the server had to give for a
crossed limit, the achieved rate against the allowed 30/s and each message's latency from
the poll's creation to its delivery (outbox created_at to delivered_at).

Cases per round, all on the same database:

* raw: the same number of sendMessage calls (same text and buttons) made one after another
  with python-telegram-bot's `Bot` against a server without limits: the transport's speed.
* outbox, no limits: the poll through the channel with an unbounded limiter, against a server
  without limits: the outbox's own cost per message, as a ratio to raw.
* limits: the channel's Telegram limiter against the enforcing server, drained with
  `deliver_due()` (as the tests do): clean, then with `--inject` 429s injected.
* limits, deliver_forever: clean again, drained by the production loop, which idles
  between empty passes.

Run from the project root (never part of the tests' pass/fail):

    .venv/bin/python -m bench.telegram_broadcast [--chats 200] [--rounds 3] [--inject 5]
    .venv/bin/python bench/telegram_broadcast.py --postgres postgresql+psycopg://u@host/db

PostgreSQL is also used when POLDER_BENCH_DATABASE_URL is set; the run makes a fresh schema
in that database and drops it afterwards. SQLite runs in a temporary file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shlex
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:  # run as a script, only bench/ is on the path
    sys.path.insert(0, str(PROJECT))

import telegram  # noqa: E402
from sqlalchemy import Engine as DatabaseEngine  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlmodel import col, select  # noqa: E402
from telegram import Bot, InlineKeyboardMarkup, Update  # noqa: E402

from adapters.ratelimit import Limiter, Window, telegram_limits  # noqa: E402
from adapters.telegram import TelegramChannel  # noqa: E402
from bench.ingest import masked, postgres_url, server_version, sqlite_url  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.members import member_for  # noqa: E402
from bot.roles import grant  # noqa: E402
from bot.sectors import ensure_sectors, find_sector  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import open_engine, transaction  # noqa: E402
from storage.models import Channel, OutboxEntry, OutboxStatus, RoleName  # noqa: E402
from tests.adapters.fake_telegram import (  # noqa: E402
    TOKEN,
    Call,
    FakeTelegram,
    Limits,
    private_message,
)

ENV_URL = "POLDER_BENCH_DATABASE_URL"
SECTOR = "mobility"
CURATOR = 7001
FIRST_GROUP = -1001234567890
SERVER_LIMITS = Limits()
ALLOWED_RATE = SERVER_LIMITS.global_max / SERVER_LIMITS.global_window  # 30 a second
DRAIN_IDLE = 0.05  # the drain's pause after a pass that sent nothing (as in the tests)
WATCH_EVERY = 0.01  # how often the deliver_forever case looks whether all has arrived

T = TypeVar("T")

RAW = "raw Bot.send_message"
UNPACED = "outbox, no limits"
CLEAN = "limits, clean"
INJECTED = "limits, 429s injected"
FOREVER = "limits, deliver_forever"
CASES = [RAW, UNPACED, CLEAN, INJECTED, FOREVER]
PACED = {CLEAN, INJECTED, FOREVER}


class BenchError(RuntimeError):
    """The run did not do what the benchmark expects, so its figures would mislead."""


@dataclass(frozen=True)
class Result:
    """One case of one round."""

    expected: int  # sendMessage calls the broadcast needs (groups + the curator's reply)
    delivered: int  # of those, delivered once (server side, and the outbox says delivered)
    duplicates: int  # messages a chat got beyond its one
    enforced: int  # 429s the server gave because a limit was crossed
    injected: int  # 429s injected by the bench
    seconds: float  # first deliver_due (or first call) to the last message accepted
    latencies: list[float]  # outbox created_at -> delivered_at, seconds; empty for raw
    peak: int  # most messages the server accepted within any one second

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds > 0 else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def slowest(self) -> float:
        return max(self.latencies) if self.latencies else float("nan")


@dataclass
class Setup:
    """One backend's database, settings and the groups linked to the sector."""

    database: DatabaseEngine
    settings: Settings
    groups: list[int]


# --- database --------------------------------------------------------------------------


def prepare(url: str, chats: int) -> Setup:
    """A migrated database with `chats` groups linked to mobility and a curator of it."""
    database = open_engine(url)
    migrate.upgrade(database)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    groups = [FIRST_GROUP - n for n in range(chats)]
    with transaction(database) as session:
        ensure_sectors(session, list(dict.fromkeys([*settings.default_sectors, SECTOR])))
        sector = find_sector(session, SECTOR)
        assert sector is not None
        curator = member_for(session, "telegram", str(CURATOR), "Cura")
        curator.onboarded_at = curator.created_at
        grant(session, curator, RoleName.CURATOR, sector)
        for chat in groups:
            session.add(Channel(platform="telegram", chat_id=str(chat), sector_id=sector.id))
    return Setup(database, settings, groups)


def last_outbox_id(database: DatabaseEngine) -> int:
    with transaction(database) as session:
        return session.exec(select(func.coalesce(func.max(OutboxEntry.id), 0))).one()


def entries_after(database: DatabaseEngine, first_id: int) -> list[OutboxEntry]:
    with transaction(database) as session:
        return list(session.exec(select(OutboxEntry).where(col(OutboxEntry.id) > first_id)))


def give_up(database: DatabaseEngine, entries: Sequence[OutboxEntry]) -> None:
    """Fail what a timed-out round left waiting, so the next round does not deliver it."""
    with transaction(database) as session:
        for entry in entries:
            row = session.get(OutboxEntry, entry.id)
            if row is not None and row.status is not OutboxStatus.DELIVERED:
                row.status, row.last_error = OutboxStatus.FAILED, "bench: round timed out"
                session.add(row)


# --- the channel -----------------------------------------------------------------------


class Driver:
    """A started `TelegramChannel` with its own event loop (its Bot's HTTP client belongs to
    one loop), as the tests' `started` and `run` helpers do it."""

    def __init__(self, setup: Setup, tg: FakeTelegram, limiter: Limiter) -> None:
        settings = setup.settings.model_copy(
            update={
                "telegram_token": TOKEN,
                "telegram_api_url": tg.base_url,
                "telegram_file_url": tg.base_file_url,
            }
        )
        engine = Engine(setup.database, settings)
        self.channel = TelegramChannel(engine, setup.database, settings, limiter=limiter)
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    @contextmanager
    def started(self) -> Iterator[Driver]:
        self.run(self.channel.start())
        try:
            yield self
        finally:
            self.run(self.channel.stop())
            self.loop.close()


def unbounded() -> Limiter:
    return Limiter(Window(1_000_000, 1), None, Window(1_000_000, 1))


async def drain(channel: TelegramChannel, done: Callable[[], bool], deadline: float) -> None:
    """`deliver_due()` until everything arrived, pausing briefly after an empty pass."""
    while time.monotonic() < deadline:
        sent = await channel.deliver_due()
        if done():
            return
        if not sent:
            await asyncio.sleep(DRAIN_IDLE)


async def forever(channel: TelegramChannel, done: Callable[[], bool], deadline: float) -> None:
    """The production loop, stopped once everything arrived."""
    stop = asyncio.Event()
    task = asyncio.create_task(channel.deliver_forever(stop))
    while not done() and time.monotonic() < deadline and not task.done():
        await asyncio.sleep(WATCH_EVERY)
    stop.set()
    await task


Drain = Callable[[TelegramChannel, Callable[[], bool], float], Coroutine[Any, Any, None]]


def sends(tg: FakeTelegram) -> list[Call]:
    """Accepted sendMessage calls, in the order the server answered them."""
    return [c for c in tg.sent() if c.method == "sendMessage"]


def peak_per_second(times: Sequence[float]) -> int:
    """Most of `times` within any window of one second (the server's overall window)."""
    ordered = sorted(times)
    peak, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= SERVER_LIMITS.global_window:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def broadcast(
    setup: Setup,
    tg: FakeTelegram,
    limiter: Limiter,
    run_drain: Drain,
    question: str,
    inject: int,
    timeout: float,
) -> tuple[Result, dict[str, Any]]:
    """Launch one poll through the channel (a curator's private /poll, as the tests do) and
    deliver it; the result, and one group message's parameters for the raw baseline."""
    recipients = {*setup.groups, CURATOR}  # the posts, and the reply to the curator
    first_id = last_outbox_id(setup.database)

    def done() -> bool:
        return recipients <= {c.chat_id for c in sends(tg)}

    with Driver(setup, tg, limiter).started() as driver:
        channel = driver.channel
        update = private_message(CURATOR, f'/poll {SECTOR} "{question}" "E-bikes" "Buses"')
        if inject:
            tg.fail_next("sendMessage", times=inject, status=429, retry_after=1)
        driver.run(channel.process(Update.de_json(update, channel.bot)))
        begun = time.monotonic()
        driver.run(run_drain(channel, done, begun + timeout))
    entries = entries_after(setup.database, first_id)
    posts = sum(1 for e in entries if e.kind == "PostPoll")
    if posts != len(setup.groups):
        raise BenchError(f"the poll made {posts} posts for {len(setup.groups)} groups")
    accepted = sends(tg)
    per_chat = Counter(c.chat_id for c in accepted)
    done_entries = [e for e in entries if e.status is OutboxStatus.DELIVERED]
    left = [e for e in entries if e.status is not OutboxStatus.DELIVERED]
    if left:
        give_up(setup.database, left)
    result = Result(
        expected=len(recipients),
        delivered=min(len(done_entries), sum(1 for chat in recipients if per_chat[chat])),
        duplicates=sum(n - 1 for n in per_chat.values() if n > 1),
        enforced=tg.too_many_enforced,
        injected=sum(1 for c in tg.calls if c.injected),
        seconds=max((c.at for c in accepted), default=begun) - begun,
        latencies=[
            (e.delivered_at - e.created_at).total_seconds()
            for e in done_entries
            if e.delivered_at is not None
        ],
        peak=peak_per_second([c.at for c in accepted]),
    )
    sample = next((c.params for c in accepted if c.chat_id in recipients - {CURATOR}), {})
    return result, sample


def raw_sends(chats: Sequence[int], params: dict[str, Any]) -> Result:
    """The floor: sendMessage to each chat, one after another, straight from a `Bot`, with the
    poll's text and buttons, against a server without limits."""
    with FakeTelegram(can_read_all_group_messages=True) as tg:

        async def go() -> float:
            async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
                markup = InlineKeyboardMarkup.de_json(params.get("reply_markup"), bot)
                begun = time.monotonic()
                for chat in chats:
                    await bot.send_message(
                        chat, params["text"], parse_mode="HTML", reply_markup=markup
                    )
                return begun

        begun = asyncio.run(go())
        accepted = sends(tg)
        per_chat = Counter(c.chat_id for c in accepted)
        return Result(
            expected=len(chats),
            delivered=sum(1 for chat in chats if per_chat[chat]),
            duplicates=sum(n - 1 for n in per_chat.values() if n > 1),
            enforced=tg.too_many_enforced,
            injected=0,
            seconds=max(c.at for c in accepted) - begun,
            latencies=[],
            peak=peak_per_second([c.at for c in accepted]),
        )


# --- rounds ----------------------------------------------------------------------------


def run_round(
    setup: Setup, params: dict[str, Any], args: argparse.Namespace, turn: int
) -> dict[str, Result]:
    """Every case once; each broadcast gets a fresh server and channel (limits start empty)."""
    results = {RAW: raw_sends([*setup.groups, CURATOR], params)}
    paced: list[tuple[str, bool, Drain, int]] = [
        (UNPACED, False, drain, 0),
        (CLEAN, True, drain, 0),
        (INJECTED, True, drain, args.inject),
        (FOREVER, True, forever, 0),
    ]
    for case, enforce, how, inject in paced:
        limiter = telegram_limits() if enforce else unbounded()
        question = f"Round {turn}, {case}: which first?"
        with FakeTelegram(enforce_limits=enforce, can_read_all_group_messages=True) as tg:
            results[case], _ = broadcast(setup, tg, limiter, how, question, inject, args.timeout)
    return results


# --- report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One printed row: a case in one round, or its summary over the rounds."""

    case: str
    delivered: str
    duplicates: int
    enforced: int
    injected: int
    seconds: float
    rate: float
    peak: int
    p50: float
    slowest: float


def line(case: str, r: Result) -> Line:
    return Line(
        case,
        f"{r.delivered}/{r.expected}",
        r.duplicates,
        r.enforced,
        r.injected,
        r.seconds,
        r.rate,
        r.peak,
        r.p50,
        r.slowest,
    )


def summary(case: str, results: list[Result]) -> Line:
    """Medians of the rounds' figures; 429s and duplicates summed, the highest peak, and
    delivered as in the worst round."""
    worst = min(results, key=lambda r: r.delivered / r.expected)
    return Line(
        case,
        f"{worst.delivered}/{worst.expected}",
        sum(r.duplicates for r in results),
        sum(r.enforced for r in results),
        sum(r.injected for r in results),
        statistics.median(r.seconds for r in results),
        statistics.median(r.rate for r in results),
        max(r.peak for r in results),
        statistics.median(r.p50 for r in results),
        statistics.median(r.slowest for r in results),
    )


HEAD = (
    f"{'case':<25}{'delivered':>10}{'dup':>4}{'429lim':>7}{'429inj':>7}{'secs':>7}{'msg/s':>7}"
    f"{'allowed':>8}{'x allow':>8}{'x raw':>7}{'peak1s':>7}{'p50 s':>7}{'max s':>7}"
)


def show(row: Line, raw_rate: float) -> str:
    if row.case in PACED:
        allowed = f"{ALLOWED_RATE:>8.0f}{row.rate / ALLOWED_RATE:>8.2f}"
    else:
        allowed = f"{'-':>8}{'-':>8}"
    return (
        f"{row.case:<25}{row.delivered:>10}{row.duplicates:>4}{row.enforced:>7}"
        f"{row.injected:>7}{row.seconds:>7.2f}{row.rate:>7.1f}{allowed}"
        f"{raw_rate / row.rate:>7.1f}{row.peak:>7}{seconds(row.p50)}{seconds(row.slowest)}"
    )


def seconds(value: float) -> str:
    return f"{'-':>7}" if value != value else f"{value:>7.2f}"  # nan: no outbox (raw)


def table(rows: list[Line]) -> list[str]:
    raw_rate = next(r.rate for r in rows if r.case == RAW)
    return [HEAD, *(show(r, raw_rate) for r in rows)]


NOTES = [
    "delivered: chats that got the message and whose outbox entry is delivered, of groups + "
    "the curator's reply; dup: extra copies",
    "429lim: 429s the server gave because a limit was crossed (must be 0); 429inj: injected",
    "secs: first deliver_due (raw: first call) to the last message the server accepted; "
    "msg/s = delivered / secs",
    "x allow: msg/s over the allowed overall rate; x raw: time per message over raw's",
    "  (a sliding one-second window lets n messages out in about n/30 - 1 s: with few chats "
    "msg/s reads above 30; peak1s is the check)",
    "peak1s: most messages accepted within any one second; p50/max s: outbox created_at -> "
    "delivered_at",
]


def verdict(rounds: list[dict[str, Result]]) -> list[str]:
    paced = [r[case] for r in rounds for case in CASES if case in PACED]
    every = [r[case] for r in rounds for case in CASES]
    lost = sum(r.expected - r.delivered for r in every)
    enforced = sum(r.enforced for r in paced)
    dup = sum(r.duplicates for r in every)
    peak = max(r.peak for r in paced)
    return [
        f"server-enforced 429s in the paced rounds: {enforced}"
        + ("" if enforced == 0 else "  <-- a limit was crossed"),
        f"lost: {lost}, duplicated: {dup}" + ("" if lost == dup == 0 else "  <-- not all once"),
        f"highest count in one second, paced: {peak} (server allows "
        f"{SERVER_LIMITS.global_max})" + ("" if peak <= SERVER_LIMITS.global_max else "  <--"),
    ]


def limiter_text(limiter: Limiter) -> str:
    group = limiter.per_group
    return (
        f"{limiter.per_chat.count}/{limiter.per_chat.seconds:g}s per chat, "
        + (f"{group.count}/{group.seconds:g}s per group, " if group else "")
        + f"{limiter.overall.count}/{limiter.overall.seconds:g}s overall"
    )


def header(args: argparse.Namespace) -> list[str]:
    limits = SERVER_LIMITS
    return [
        f"date:    {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: {shlex.join(masked(a) for a in sys.orig_argv)}",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, python-telegram-bot {telegram.__version__}",
        f"server:  FakeTelegram on 127.0.0.1, limits {limits.per_chat_interval:g}s between "
        f"messages per chat, {limits.group_max}/{limits.group_window:g}s per group, "
        f"{limits.global_max}/{limits.global_window:g}s overall",
        f"channel: TelegramChannel, limiter {limiter_text(telegram_limits())}",
        f"load:    one poll to {args.chats} linked groups + the reply to the curator "
        f"= {args.chats + 1} sendMessage; {args.rounds} rounds; {args.inject} 429s injected "
        f"(retry_after 1); timeout {args.timeout:g}s per broadcast",
    ]


# --- main ------------------------------------------------------------------------------


def bench_backend(url: str, args: argparse.Namespace) -> None:
    setup = prepare(url, args.chats)
    try:
        print()
        print(f"{server_version(setup.database)}")
        with FakeTelegram(can_read_all_group_messages=True) as tg:  # warm-up, not reported
            _, params = broadcast(setup, tg, unbounded(), drain, "Warm-up?", 0, args.timeout)
        if not params:
            raise BenchError("the warm-up broadcast reached no group")
        rounds = []
        for turn in range(1, args.rounds + 1):
            results = run_round(setup, params, args, turn)
            rounds.append(results)
            print(f"round {turn}")
            print("\n".join(table([line(case, results[case]) for case in CASES])))
        print(f"medians of {args.rounds} rounds (429s and dup: totals; peak1s: highest)")
        print("\n".join(table([summary(case, [r[case] for r in rounds]) for case in CASES])))
        print("\n".join(verdict(rounds)))
    finally:
        setup.database.dispose()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.telegram_broadcast", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--chats", type=int, default=200, help="linked group chats")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--inject", type=int, default=5, help="429s injected in that case")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds one broadcast may take"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get(ENV_URL),
        help=f"also PostgreSQL ({ENV_URL})",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--verbose", action="store_true", help="show the channel's warnings")
    args = parser.parse_args(argv)
    if args.chats < 1 or args.rounds < 1 or args.inject < 0 or args.timeout <= 0:
        parser.error("--chats and --rounds at least 1, --inject at least 0, --timeout > 0")
    if args.no_sqlite and not args.postgres:
        parser.error(f"--no-sqlite needs --postgres URL or {ENV_URL}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.ERROR)
    print("\n".join(header(args)))
    print("\n".join(NOTES))
    if not args.no_sqlite:
        with sqlite_url() as url:
            bench_backend(url, args)
    if args.postgres:
        with postgres_url(args.postgres) as url:
            bench_backend(url, args)


if __name__ == "__main__":
    main()
