"""The Telegram channel against a local server that speaks the Bot API as Telegram does:
real python-telegram-bot code paths, real Update JSON, assertions on the recorded calls and
on the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import select
from starlette.testclient import TestClient
from telegram import Update

from adapters.ratelimit import Limiter, Window
from adapters.telegram import TelegramChannel, split_text
from adapters.web import SECRET_HEADER, create_app
from bot.config import Settings
from bot.engine import Engine
from bot.i18n import translator
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import (
    Channel,
    Membership,
    Message,
    OutboxEntry,
    OutboxStatus,
    PollVote,
    RoleName,
)
from tests.adapters.fake_telegram import (
    FakeTelegram,
    bot_removed,
    callback,
    edited,
    group_message,
    private_message,
)

TOKEN = "123456789:" + "A" * 35
GROUP = -1001234567890
CURATOR, MEMBER = 7001, 7002


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(can_read_all_group_messages=True) as server:
        yield server


def telegram_settings(settings: Settings, tg: FakeTelegram, **more: object) -> Settings:
    return settings.model_copy(
        update={
            "telegram_token": TOKEN,
            "telegram_api_url": tg.base_url,
            "telegram_file_url": tg.base_file_url,
            **more,
        }
    )


LOOP = "loop"  # the channel's event loop: the Bot's HTTP client belongs to one loop


def run(channel: TelegramChannel, coroutine):  # noqa: ANN001, ANN201
    return getattr(channel, LOOP).run_until_complete(coroutine)


def started(configured: Settings, database, **options: object) -> TelegramChannel:
    made = TelegramChannel(Engine(database, configured), database, configured, **options)
    setattr(made, LOOP, asyncio.new_event_loop())
    run(made, made.start())
    return made


@pytest.fixture
def channel(database, settings: Settings, tg: FakeTelegram) -> Iterator[TelegramChannel]:
    # No pacing here: these tests are about what is sent; the broadcast test keeps the limits.
    unpaced = Limiter(Window(10_000, 1), None, Window(10_000, 1))
    made = started(telegram_settings(settings, tg), database, poll_timeout=1, limiter=unpaced)
    yield made
    run(made, made.stop())
    getattr(made, LOOP).close()


def feed(channel: TelegramChannel, *updates: dict) -> None:
    """Hand updates to the channel as the webhook would, then deliver what they caused."""

    async def go() -> None:
        for update in updates:
            await channel.process(Update.de_json(update, channel.bot))
        await channel.deliver_due()

    run(channel, go())


def deliver(channel: TelegramChannel) -> int:
    return run(channel, channel.deliver_due())


def texts(tg: FakeTelegram, chat: int) -> list[str]:
    return [c.params.get("text") or c.params.get("caption") for c in tg.sent(chat)]


def make_curator(database, user_id: int = CURATOR) -> None:
    with transaction(database) as session:
        member = member_for(session, "telegram", str(user_id), "Cura")
        member.onboarded_at = member.created_at
        grant(session, member, RoleName.CURATOR, find_sector(session, "mobility"))


def test_start_registers_commands_per_language(channel: TelegramChannel, tg: FakeTelegram) -> None:
    english = {c["command"]: c["description"] for c in tg.commands()}
    dutch = {c["command"]: c["description"] for c in tg.commands("nl")}
    assert {"help", "join", "link", "poll", "vote", "idea", "thread"} <= set(english)
    assert english["join"] == "join a sector's ecosystem"
    assert dutch["join"] == translator("nl")("join a sector's ecosystem") != english["join"]
    assert any(c.method.lower() == "deletewebhook" for c in tg.calls)


SECRET = "s3cret-token"


def webhook_channel(database, settings: Settings, tg: FakeTelegram) -> TelegramChannel:
    configured = telegram_settings(
        settings,
        tg,
        telegram_webhook_url="https://polder.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    return started(configured, database, limiter=Limiter(Window(999, 1), None, Window(999, 1)))


def arrive(channel: TelegramChannel, tg: FakeTelegram, mode: str, *updates: dict) -> None:
    """Updates as Telegram hands them over in each mode: fetched with getUpdates, or posted
    to the webhook with the secret token; then what they caused is delivered."""

    async def go() -> None:
        if mode == "polling":
            for update in updates:
                tg.push(update)
            channel.offset = await channel.poll_once(getattr(channel, "offset", None))
        else:
            transport = httpx.ASGITransport(app=create_app(telegram=channel))
            async with httpx.AsyncClient(transport=transport, base_url="http://polder") as web:
                for update in updates:
                    response = await web.post(
                        "/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET}
                    )
                    assert response.status_code == 200
        await channel.deliver_due()

    run(channel, go())


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_join_thread_reply_and_vote_each_reach_the_engine_once(
    database, settings: Settings, tg: FakeTelegram, mode: str
) -> None:
    if mode == "polling":
        unpaced = Limiter(Window(10_000, 1), None, Window(10_000, 1))
        channel = started(
            telegram_settings(settings, tg), database, poll_timeout=1, limiter=unpaced
        )
    else:
        channel = webhook_channel(database, settings, tg)
    make_curator(database)
    arrive(channel, tg, mode, private_message(MEMBER, "/start", language_code="nl"))
    dutch = translator("nl")("Polder connects you with your city's sector ecosystems. Commands:")
    assert texts(tg, MEMBER)[0].startswith(dutch)

    join = private_message(MEMBER, "/join mobility")
    again = {**join, "update_id": join["update_id"]}
    arrive(channel, tg, mode, join)
    if mode == "webhook":
        arrive(channel, tg, mode, again)  # Telegram's redelivery: same update id
    with transaction(database) as session:
        assert len(session.exec(select(Membership)).all()) == 1
    assert sum("Welcome to mobility" in t for t in texts(tg, MEMBER)) == 1

    arrive(channel, tg, mode, group_message(GROUP, CURATOR, "/link mobility"))
    question = "/thread open mobility Where is a bike lane missing?"
    arrive(channel, tg, mode, group_message(GROUP, CURATOR, question))
    [root] = [c for c in tg.sent(GROUP) if "Where is a bike lane missing?" in c.params["text"]]
    reply = group_message(
        GROUP,
        MEMBER,
        "Along the canal to the station.",
        reply_to_message_id=root.result["message_id"],
    )
    arrive(channel, tg, mode, reply)
    with transaction(database) as session:
        [answer] = session.exec(select(Message).where(Message.thread_id == 1)).all()
        assert answer.text == "Along the canal to the station."

    poll = '/poll mobility "Which first?" "E-bikes" "Buses"'
    arrive(channel, tg, mode, group_message(GROUP, CURATOR, poll))
    [posted] = [c for c in tg.sent(GROUP) if "Which first?" in c.params["text"]]
    buttons = posted.params["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in buttons] == ["vote:1:0", "vote:1:1"]
    arrive(channel, tg, mode, callback(MEMBER, GROUP, posted.result["message_id"], "vote:1:1"))
    with transaction(database) as session:
        assert [v.option for v in session.exec(select(PollVote))] == [1]
    toasts = [c for c in tg.calls if c.method.lower() == "answercallbackquery"]
    assert len(toasts) == 1 and "counted: Buses" in toasts[0].params["text"]
    time.sleep(3.2)  # the tally's coalescing window
    deliver(channel)
    shown = tg.messages[GROUP][posted.result["message_id"]]
    assert "2. Buses: 1 (100%)" in shown.text
    assert [b[0][0] for b in shown.buttons] == ["E-bikes · 0", "Buses · 1"]
    run(channel, channel.stop())


def test_webhook_checks_the_secret_and_feeds_the_engine(
    engine: Engine, database, settings: Settings, tg: FakeTelegram
) -> None:
    channel = webhook_channel(database, settings, tg)
    assert tg.webhook is not None and tg.webhook["secret_token"] == SECRET
    update = private_message(5151, "/join energy", language_code="sv")
    with TestClient(create_app(telegram=channel)) as client:  # its own loop: a second channel
        for headers in ({}, {SECRET_HEADER: "wrong"}):
            assert client.post("/telegram/webhook", json=update, headers=headers).status_code == 403
        with transaction(database) as session:
            assert session.exec(select(Membership)).all() == []
        ok = {SECRET_HEADER: SECRET}
        assert client.post("/telegram/webhook", json=update, headers=ok).status_code == 200
        assert client.post("/telegram/webhook", json=update, headers=ok).status_code == 200
        bad = client.post("/telegram/webhook", content=b"{not json", headers=ok)
        assert bad.status_code == 400
    deliver(channel)
    with transaction(database) as session:
        assert len(session.exec(select(Membership)).all()) == 1
    swedish = translator("sv")("Welcome to {slug}!").format(slug="energy")
    assert sum(t.startswith(swedish) for t in texts(tg, 5151)) == 1


def test_member_text_is_escaped_and_long_texts_split(
    channel: TelegramChannel, tg: FakeTelegram, database
) -> None:
    make_curator(database)
    feed(channel, group_message(GROUP, CURATOR, "/link mobility"))
    question = "Is <b>this</b> & that a <script> risk?"
    feed(channel, group_message(GROUP, CURATOR, f"/thread open mobility {question}"))
    shown = [s.text for s in tg.messages[GROUP].values()]
    assert any(question in (t or "") for t in shown)  # shown as typed, not as markup
    pieces = split_text("line\n" * 1500)
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == "line\n" * 1500


def test_an_edit_follows_and_a_removed_group_is_unlinked(
    channel: TelegramChannel, tg: FakeTelegram, database
) -> None:
    make_curator(database)
    feed(channel, group_message(GROUP, CURATOR, "/link mobility"))
    said = group_message(GROUP, MEMBER, "The tram to the north is too full every morning.")
    feed(channel, said)
    message_id = said["message"]["message_id"]
    feed(channel, edited(GROUP, MEMBER, message_id, "The tram to the north is too full at eight."))
    with transaction(database) as session:
        [stored] = session.exec(select(Message)).all()
        assert stored.text == "The tram to the north is too full at eight."
    feed(channel, group_message(GROUP, CURATOR, '/poll mobility "Q?" "a" "b"'))
    sent_before = len(tg.sent(GROUP))
    with transaction(database) as session:  # something still waiting for the group
        session.add(
            OutboxEntry(
                platform="telegram", chat_id=str(GROUP), kind="Reply", payload={"text": "x"}
            )
        )
    feed(channel, bot_removed(GROUP))
    with transaction(database) as session:
        assert session.exec(select(Channel)).all() == []
        waiting = session.exec(select(OutboxEntry).where(OutboxEntry.chat_id == str(GROUP))).all()
        assert all(e.status in (OutboxStatus.DELIVERED, OutboxStatus.FAILED) for e in waiting)
    deliver(channel)
    assert len(tg.sent(GROUP)) == sent_before


def test_a_429_waits_and_a_403_gives_up(
    channel: TelegramChannel, tg: FakeTelegram, database
) -> None:
    tg.fail_next("sendMessage", times=1, status=429, retry_after=1)
    feed(channel, private_message(6001, "/sectors"))
    assert not any(t.startswith("Sectors:") for t in texts(tg, 6001))
    with transaction(database) as session:
        entry = session.exec(select(OutboxEntry).where(OutboxEntry.chat_id == "6001")).first()
        assert entry.status is OutboxStatus.PENDING and entry.attempts == 0
    time.sleep(1.1)
    deliver(channel)
    assert any(t.startswith("Sectors:") for t in texts(tg, 6001))  # late, but not lost
    tg.block(6002)
    feed(channel, private_message(6002, "/sectors"))
    with transaction(database) as session:
        entries = session.exec(select(OutboxEntry).where(OutboxEntry.chat_id == "6002")).all()
        assert entries and all(e.status is OutboxStatus.FAILED for e in entries)


def test_a_broadcast_to_200_groups_keeps_the_limits_and_loses_nothing(
    engine: Engine, database, settings: Settings
) -> None:
    with FakeTelegram(enforce_limits=True, can_read_all_group_messages=True) as tg:
        channel = started(telegram_settings(settings, tg), database)
        make_curator(database)
        groups = [GROUP - n for n in range(200)]
        with transaction(database) as session:
            mobility = find_sector(session, "mobility")
            for chat in groups:
                session.add(Channel(platform="telegram", chat_id=str(chat), sector_id=mobility.id))
        tg.fail_next("sendMessage", times=3, status=429, retry_after=1)
        feed(channel, private_message(CURATOR, '/poll mobility "Which first?" "E-bikes" "Buses"'))

        async def drain() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await channel.deliver_due()
                if all(tg.sent(chat) for chat in groups):
                    return
                await asyncio.sleep(0.05)

        begun = time.monotonic()
        run(channel, drain())
        took = time.monotonic() - begun
        assert all(len(tg.sent(chat)) == 1 for chat in groups)
        assert tg.too_many_enforced == 0  # the limits were never crossed
        assert 200 / took <= 30  # the overall limit held


def test_polder_run_serves_telegram_stops_on_sigterm_and_never_logs_the_token(
    database_url: str, tmp_path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    with FakeTelegram() as tg:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
        env |= {
            "POLDER_DATABASE_URL": database_url,
            "POLDER_TELEGRAM_TOKEN": TOKEN,
            "POLDER_TELEGRAM_API_URL": tg.base_url,
            "POLDER_TELEGRAM_FILE_URL": tg.base_file_url,
            "POLDER_LOG_LEVEL": "DEBUG",
        }
        polder = Path(sys.executable).with_name("polder")
        process = subprocess.Popen(
            [str(polder), "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            tg.push(private_message(9090, "/start", language_code="sv"))
            deadline = time.monotonic() + 30
            while not tg.sent(9090) and time.monotonic() < deadline:
                time.sleep(0.2)
            swedish = translator("sv")(
                "Polder connects you with your city's sector ecosystems. Commands:"
            )
            assert texts(tg, 9090)[0].startswith(swedish)
            process.send_signal(signal.SIGTERM)
            output, _ = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0
        assert TOKEN.split(":")[1] not in output


def test_results_come_with_a_chart_and_the_idea_form_with_buttons(
    channel: TelegramChannel, tg: FakeTelegram, database
) -> None:
    make_curator(database)
    feed(channel, group_message(GROUP, CURATOR, "/link mobility"))
    feed(channel, group_message(GROUP, CURATOR, '/poll mobility "Which first?" "E-bikes" "Buses"'))
    feed(channel, group_message(GROUP, CURATOR, "/poll close 1"))
    [photo] = [c for c in tg.calls if c.method.lower() == "sendphoto" and c.ok]
    assert photo.params["chat_id"] == GROUP and "E-bikes: 0" in photo.params["caption"]
    assert any((s.photo is not None) for s in tg.messages[GROUP].values())

    feed(channel, private_message(MEMBER, "/idea"))
    feed(channel, private_message(MEMBER, "Cargo bikes for shops"))
    feed(channel, private_message(MEMBER, "Shops share electric cargo bikes for deliveries."))
    [ask] = [s for s in tg.messages[MEMBER].values() if "Which sector" in (s.text or "")]
    assert [b[0][1] for b in ask.buttons] == [
        "answer:circular-economy",
        "answer:energy",
        "answer:mobility",
    ]
    feed(channel, callback(MEMBER, MEMBER, ask.message_id, "answer:mobility"))
    assert any("Which partners" in (s.text or "") for s in tg.messages[MEMBER].values())


def test_a_forum_topic_is_linked_on_its_own(
    channel: TelegramChannel, tg: FakeTelegram, database
) -> None:
    make_curator(database)
    feed(channel, group_message(GROUP, CURATOR, "/link mobility", thread_id=77))
    feed(channel, group_message(GROUP, MEMBER, "Trams every five minutes, please.", thread_id=77))
    feed(channel, group_message(GROUP, MEMBER, "Off topic in General.", forum=True))
    with transaction(database) as session:
        [link] = session.exec(select(Channel)).all()
        assert (link.chat_id, link.thread_id) == (str(GROUP), "77")
        assert [m.text for m in session.exec(select(Message))] == [
            "Trams every five minutes, please."
        ]
    replies = [c for c in tg.sent(GROUP) if "now linked" in c.params["text"]]
    assert replies[0].params["message_thread_id"] == 77  # answered inside the topic
