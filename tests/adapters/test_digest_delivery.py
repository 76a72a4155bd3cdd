"""The weekly digest's "done when": staff subscribe a Telegram topic and a Slack channel with
`/digest subscribe mobility`, the scheduler makes the week's digest due (twice: the second run
adds nothing), and each channel's real delivery path sends it, against the fake servers: its
parts in order, each chart with its alt text and data table, everything exactly once, a German
statement quoted and member text shown as written, also when a send has to be retried."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import col, select

from adapters.charts import Chart
from adapters.ratelimit import Limiter, Window
from adapters.telegram import TelegramChannel
from bot.actions import PostChart, Reply
from bot.config import Settings
from bot.digests import next_digest
from bot.members import member_for
from bot.outgoing import enqueue
from bot.roles import grant
from bot.sectors import find_sector
from scheduled.digest import last_complete_week, week_bounds
from scheduled.digests import run_due
from storage import outbox
from storage.database import transaction
from storage.models import (
    ActorType,
    Channel,
    DialogueThread,
    DigestSubscription,
    Idea,
    Member,
    Message,
    OutboxEntry,
    OutboxStatus,
    Poll,
    PollStatus,
    RoleName,
)
from storage.types import utcnow
from tests.adapters.fake_slack import FakeSlack
from tests.adapters.fake_telegram import FakeTelegram, group_message
from tests.adapters.test_slack import Harness, command
from tests.adapters.test_telegram import feed, run, started, telegram_settings

GROUP, TOPIC, STAFF_USER = -1009876543210, 77, 7101
SLACK_STAFF, SLACK_CHANNEL = "U0STAFF", "C0STAFFROOM"
GERMAN = "Wir brauchen mehr Fahrradstellplätze am Bahnhof."
RISKY = "<script>alert('x')</script> & more *bike* parking, please"
PARTS = 3  # the overview; threads and polls; ideas and open questions
CHARTS = 5  # messages per day, members per week, languages, actor types, the poll


def unpaced() -> Limiter:
    """No pacing: these tests are about order and exactly once, not about the pace."""
    return Limiter(Window(10_000, 1), None, Window(10_000, 1))


def make_staff(database: DatabaseEngine, platform: str, user_id: str) -> None:
    """A member holding the city-wide staff role, as `polder roles grant ... staff` makes one."""
    with transaction(database) as session:
        member = member_for(session, platform, user_id, "Sam Staff")
        member.onboarded_at = utcnow()
        grant(session, member, RoleName.STAFF, None)


def covered_week(database: DatabaseEngine, settings: Settings) -> tuple[datetime, str]:
    """When the one subscription's first digest is due (its cron's next time after it was
    made, in real time), and the ISO week that digest covers."""
    with transaction(database) as session:
        [subscription] = session.exec(select(DigestSubscription)).all()
        due = next_digest(subscription, settings.zone, subscription.created_at)
    assert due is not None
    return due, last_complete_week(due, settings.zone)


def seed_week(database: DatabaseEngine, settings: Settings, week: str) -> None:
    """Dialogue in mobility during `week`: a thread answered in English and German (one answer
    full of markup characters), a German and an English message besides, a closed poll and
    a new idea, written as the engine would have stored them."""
    start, _end = week_bounds(week, settings.zone)

    def at(day: int, hour: int) -> datetime:
        return start + timedelta(days=day, hours=hour)

    with transaction(database) as session:
        mobility = find_sector(session, "mobility")
        assert mobility is not None
        room = Channel(platform="test", chat_id="townhall", sector_id=mobility.id)
        people = [
            Member(display_name="Anna", consent_named=True, actor_type=ActorType.RESIDENT),
            Member(display_name="Jonas", actor_type=ActorType.RESIDENT, language="de"),
            Member(display_name="Ben", actor_type=ActorType.RESEARCH),
        ]
        session.add_all([room, *people])
        session.flush()
        thread = DialogueThread(
            sector_id=mobility.id, question="What should change at the station?", opened_at=at(0, 9)
        )
        session.add(thread)
        session.flush()
        said = [
            (people[0], RISKY, "en", thread.id, at(1, 10)),
            (people[1], GERMAN, "de", thread.id, at(1, 11)),
            (people[2], "More bicycle racks at the train station would help a lot.", "en",
             thread.id, at(2, 9)),
            (people[1], "Der Straßenbahnfahrplan ändert sich im Dezember.", "de", None, at(3, 8)),
            (people[0], "The night bus is back from Friday.", "en", None, at(4, 18)),
        ]  # fmt: skip
        for who, text, language, thread_id, when in said:
            session.add(
                Message(
                    platform="test",
                    channel_id=room.id,
                    sector_id=mobility.id,
                    member_id=who.id,
                    thread_id=thread_id,
                    text=text,
                    language=language,
                    created_at=when,
                )
            )
        session.add(
            Poll(
                sector_id=mobility.id,
                question="Which street first?",
                options=["Ring", "Harbour <east>"],
                status=PollStatus.CLOSED,
                created_at=at(0, 9),
                closes_at=at(3, 12),
                closed_at=at(3, 12),
                results={"counts": [3, 1], "voters": 4},
            )
        )
        session.add(
            Idea(
                code="K7QX",
                sector_id=mobility.id,
                title="Bikes <b>everywhere</b>",
                description="Shared bikes at every tram stop.",
                created_at=at(2, 10),
            )
        )


def schedule(database: DatabaseEngine, settings: Settings) -> tuple[str, list[OutboxEntry]]:
    """The scheduler at the digest's time, twice: the second run finds it sent. Returns the
    week and the digest's outbox entries, in order."""
    due, week = covered_week(database, settings)
    seed_week(database, settings, week)
    assert run_due(database, settings, now=due) == 1
    entries = digest_entries(database)
    assert run_due(database, settings, now=due + timedelta(minutes=1)) == 0
    assert [e.id for e in digest_entries(database)] == [e.id for e in entries]
    kinds = [e.kind for e in entries]
    assert kinds.count("PostDigest") == PARTS and kinds.count("PostChart") == CHARTS
    return week, entries


def digest_entries(database: DatabaseEngine) -> list[OutboxEntry]:
    with transaction(database) as session:
        query = select(OutboxEntry).where(col(OutboxEntry.kind).in_(["PostDigest", "PostChart"]))
        return list(session.exec(query.order_by(col(OutboxEntry.id))).all())


async def drain(
    deliver: Callable[[], Awaitable[int]], database: DatabaseEngine, platform: str
) -> None:
    """Deliver through the channel until its outbox is empty (or 60 s pass)."""
    deadline = time.monotonic() + 60
    while outbox.pending_count(database, platform) and time.monotonic() < deadline:
        await deliver()
        await asyncio.sleep(0.05)


def assert_all_delivered(database: DatabaseEngine, entries: list[OutboxEntry]) -> None:
    with transaction(database) as session:
        for entry in entries:
            row = session.get(OutboxEntry, entry.id)
            assert row is not None and row.status is OutboxStatus.DELIVERED, row


def headings(week: str) -> list[str]:
    title = f"Digest of Mobility: {week}"
    return [title] + [f"{title} ({n}/{PARTS})" for n in range(2, PARTS + 1)]


# --- Telegram ----------------------------------------------------------------------------------


@pytest.fixture
def telegram(database, settings: Settings) -> Iterator[tuple[TelegramChannel, FakeTelegram]]:
    with FakeTelegram(can_read_all_group_messages=True) as tg:
        channel = started(telegram_settings(settings, tg), database, limiter=unpaced())
        yield channel, tg
        run(channel, channel.stop())
        channel.loop.close()  # type: ignore[attr-defined]


def test_a_digest_subscribed_from_a_telegram_topic_arrives_once_in_order_with_its_charts(
    telegram: tuple[TelegramChannel, FakeTelegram], database, settings: Settings
) -> None:
    channel, tg = telegram
    make_staff(database, "telegram", str(STAFF_USER))
    feed(channel, group_message(GROUP, STAFF_USER, "/digest subscribe mobility", thread_id=TOPIC))
    [answer] = tg.shown(GROUP)
    assert answer.text.startswith("Subscription #1: the mobility digest comes to this chat")
    assert answer.message_thread_id == TOPIC

    week, entries = schedule(database, settings)
    # The first chart is refused once: what follows it waits for it, though nothing else would
    # hold it back here (no pacing in this test).
    tg.fail_next("sendPhoto", times=1, status=429, retry_after=1, chat_id=GROUP)
    run(channel, drain(channel.deliver_due, database, "telegram"))
    assert_all_delivered(database, entries)

    shown = tg.shown(GROUP)[1:]  # after the subscription's answer
    assert [("photo" if s.photo is not None else "text") for s in shown] == [
        "text", *["photo"] * 4, "text", "photo", "text"
    ]  # fmt: skip
    texts = [s for s in shown if s.photo is None]
    assert [s.text.split("\n")[0] for s in texts] == headings(week)
    assert all(s.message_thread_id == TOPIC for s in shown)  # in the topic that subscribed
    assert len([c for c in tg.calls_to("sendPhoto") if c.ok]) == CHARTS  # each chart once

    photos = [s for s in shown if s.photo is not None]
    by_entry = [e for e in entries if e.kind == "PostChart"]
    for photo, entry in zip(photos, by_entry, strict=True):
        assert isinstance(photo.photo, bytes) and photo.photo.startswith(b"\x89PNG")
        assert photo.text == f"{entry.payload['alt_text']}\n{entry.payload['table']}"
        assert any(e["type"] == "pre" for e in photo.entities)  # the table in monospace
    poll = photos[-1]
    assert "Harbour <east>" in poll.text and "Ring" in poll.text

    threads = texts[1]
    assert_quoted(threads.text, threads.entities, GERMAN)
    assert RISKY in threads.text  # shown as written, nothing of it taken as markup
    assert "Bikes <b>everywhere</b>" in texts[2].text


def assert_quoted(text: str, entities: list[dict], statement: str) -> None:
    """`statement` lies inside a blockquote entity of the message (offsets in UTF-16)."""
    units = text.encode("utf-16-le")
    for entity in entities:
        if entity["type"] == "blockquote":
            begin, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
            if statement in units[begin:end].decode("utf-16-le"):
                return
    raise AssertionError(f"{statement!r} is not quoted in {text!r}")


# --- Slack -------------------------------------------------------------------------------------


@pytest.fixture
def slack(database, settings: Settings) -> Iterator[tuple[Harness, FakeSlack]]:
    with FakeSlack() as fs:
        harness = Harness(database, settings, fs, "http")
        yield harness, fs
        harness.close()


def test_a_digest_subscribed_from_a_slack_channel_arrives_once_in_order_with_its_charts(
    slack: tuple[Harness, FakeSlack], database, settings: Settings
) -> None:
    harness, fs = slack
    make_staff(database, "slack", SLACK_STAFF)
    answer = harness.send(command("digest subscribe mobility", SLACK_STAFF, SLACK_CHANNEL))
    assert (answer or {}).get("text", "").startswith("Subscription #1: the mobility digest")

    week, entries = schedule(database, settings)
    # Sharing the first chart fails once (after its bytes went up): it is uploaded again, and
    # the parts after it wait for it.
    fs.fail_next("files.completeUploadExternal", times=1, status=429, retry_after=2)
    harness.run(drain(harness.channel.deliver_due, database, "slack"))
    assert_all_delivered(database, entries)

    delivered = [
        c
        for c in fs.calls
        if c.ok and c.method in ("chat.postMessage", "files.completeUploadExternal")
    ]
    assert [c.method for c in delivered] == [
        "chat.postMessage", *["files.completeUploadExternal"] * 4,
        "chat.postMessage", "files.completeUploadExternal", "chat.postMessage",
    ]  # fmt: skip
    posts = [c for c in delivered if c.method == "chat.postMessage"]
    assert all(c.response["channel"] == SLACK_CHANNEL for c in posts)
    assert [c.params["blocks"][0] for c in posts] == [
        {"type": "header", "text": {"type": "plain_text", "text": heading}}
        for heading in headings(week)
    ]
    assert [c.params["text"].split("\n")[0] for c in posts] == headings(week)  # notifications

    charts = [e for e in entries if e.kind == "PostChart"]
    assert len(fs.uploads) == CHARTS  # each chart shared once, the retried one too
    for upload, entry in zip(fs.uploads, charts, strict=True):
        assert upload.channel == SLACK_CHANNEL and upload.thread_ts is None
        assert upload.data is not None and upload.data.startswith(b"\x89PNG")
        assert (upload.filename, upload.title) == (
            entry.payload["filename"],
            entry.payload["title"],
        )
        assert upload.alt_txt == entry.payload["alt_text"]
        table = entry.payload["table"].replace("&", "&amp;").replace("<", "&lt;")
        assert upload.initial_comment == f"```\n{table.replace('>', '&gt;')}\n```"
    assert "Harbour &lt;east&gt;" in (fs.uploads[-1].initial_comment or "")

    threads = json.dumps(posts[1].params["blocks"], ensure_ascii=False)
    assert f"> {GERMAN}" in threads  # quoted
    assert "&lt;script&gt;alert('x')&lt;/script&gt; &amp; more *bike* parking" in threads
    assert "<script>" not in threads


# --- Telegram's pace -----------------------------------------------------------------------------


def test_a_message_after_a_slowly_drawn_chart_keeps_telegrams_pace(
    database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adapters.telegram

    drawn = adapters.telegram.chart_of

    def slowly(action: PostChart) -> Chart:
        time.sleep(0.3)  # a busy server: drawing takes a while
        return drawn(action)

    monkeypatch.setattr(adapters.telegram, "chart_of", slowly)
    with FakeTelegram(enforce_limits=True) as tg:
        channel = started(telegram_settings(settings, tg), database)  # Telegram's own limits
        where = {"platform": "telegram", "chat_id": str(GROUP)}
        plot = PostChart(
            **where,
            title="Messages per day",
            style="columns",
            labels=[f"11-{day:02d}" for day in range(1, 29)],
            values=list(range(28)),
            value_labels=[],
            alt_text="Messages per day: 378 in all.",
            table="Mon  0",
            filename="days.png",
        )
        with transaction(database) as session:
            enqueue(session, [plot, Reply(**where, text="After the chart.")], in_order=True)
        run(channel, drain(channel.deliver_due, database, "telegram"))
        run(channel, channel.stop())
        channel.loop.close()  # type: ignore[attr-defined]
        assert len(tg.sent(GROUP)) == 2
        assert tg.too_many_enforced == 0
