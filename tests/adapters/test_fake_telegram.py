"""The fake Bot API server, driven by python-telegram-bot's real `telegram.Bot`."""

from __future__ import annotations

import asyncio
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import TypeVar

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.adapters.fake_telegram import (
    BOT_ID,
    BOT_USERNAME,
    TOKEN,
    ApiError,
    FakeTelegram,
    Limits,
    bot_added,
    bot_removed,
    callback,
    edited,
    group_message,
    parse_html,
    private_message,
)

T = TypeVar("T")

# PTB warns from inside RetryAfter.__init__ that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def png(width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def seconds(error: RetryAfter) -> int:
    """`retry_after` in seconds, whether PTB gives an int or (PTB_TIMEDELTA=1) a timedelta."""
    value = error.retry_after
    return round(value.total_seconds()) if isinstance(value, timedelta) else int(value)


def run(tg: FakeTelegram, body: Callable[[Bot], Awaitable[T]], token: str = TOKEN) -> T:
    """Run `body` with an initialized Bot pointed at the fake server."""

    async def main() -> T:
        async with Bot(token, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
            return await body(bot)

    return asyncio.run(main())


def post(tg: FakeTelegram, method: str, **kwargs: object) -> httpx.Response:
    """A raw HTTP call, for what PTB would not send."""
    return httpx.post(f"{tg.base_url}{TOKEN}/{method}", timeout=10, **kwargs)  # type: ignore[arg-type]


def test_get_me_describes_the_bot_in_privacy_mode(tg: FakeTelegram) -> None:
    me = run(tg, lambda bot: bot.get_me())
    assert me.id == BOT_ID and me.is_bot and me.username == BOT_USERNAME
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert tg.calls[0].method == "getMe" and tg.calls[0].ok


def test_tokens_and_methods_are_checked_as_telegram_does(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        run(tg, lambda bot: bot.get_me(), token="not-a-token")
    tg.revoke("42:revoked")
    with pytest.raises(InvalidToken):
        run(tg, lambda bot: bot.get_me(), token="42:revoked")
    assert [c.status for c in tg.calls] == [404, 401]
    assert tg.calls[1].response == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    missing = post(tg, "noSuchMethod")
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert post(tg, "GETME").json()["result"]["id"] == BOT_ID  # method names ignore case


def test_what_ptb_sends_is_decoded_and_recorded(tg: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:1:yes")]])
    run(
        tg,
        lambda bot: bot.send_message(
            -100123, "hi", reply_markup=keyboard, message_thread_id=7, disable_notification=True
        ),
    )
    call = tg.calls_to("sendMessage")[0]
    assert call.params == {
        "chat_id": -100123,
        "text": "hi",
        "message_thread_id": 7,
        "disable_notification": True,
        "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "vote:1:yes"}]]},
    }
    assert call.chat_id == -100123 and call.at > 0


def test_json_bodies_and_missing_parameters(tg: FakeTelegram) -> None:
    answer = post(tg, "sendMessage", json={"chat_id": 5, "text": "from JSON"})
    assert answer.json()["result"]["text"] == "from JSON"
    no_chat = post(tg, "sendMessage", data={"text": "x"})
    assert no_chat.status_code == 400
    assert no_chat.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat_id is empty",
    }
    no_text = post(tg, "sendMessage", data={"chat_id": "5"})
    assert no_text.json()["description"] == "Bad Request: message text is empty"
    blank = post(tg, "sendMessage", data={"chat_id": "5", "text": "  \n "})
    assert blank.json()["description"] == "Bad Request: message text is empty"
    too_long = post(tg, "sendMessage", data={"chat_id": "5", "text": "x" * 4097})
    assert too_long.json()["description"] == "Bad Request: message is too long"
    bad_markup = post(tg, "sendMessage", data={"chat_id": "5", "text": "x", "reply_markup": "{"})
    assert "can't parse reply keyboard markup" in bad_markup.json()["description"]
    assert [c.status for c in tg.calls] == [200, 400, 400, 400, 400, 400]
    assert len(tg.sent()) == 1


def test_get_updates_confirms_with_offset(tg: FakeTelegram) -> None:
    first = tg.push(private_message(42, "/start"))
    second = tg.push(private_message(42, "hello"))
    assert first is not None and second == first + 1

    async def body(bot: Bot) -> tuple[list[Update], list[Update], list[Update]]:
        both = await bot.get_updates()
        again = await bot.get_updates(offset=first + 1)
        after = await bot.get_updates(offset=second + 1)
        return list(both), list(again), list(after)

    both, again, after = run(tg, body)
    assert [u.update_id for u in both] == [first, second]
    assert [u.update_id for u in again] == [second]
    assert after == [] and tg.confirmed()


def test_get_updates_limit_and_negative_offset(tg: FakeTelegram) -> None:
    ids = [tg.push(private_message(42, f"m{n}")) for n in range(5)]

    async def body(bot: Bot) -> tuple[list[Update], list[Update]]:
        two = await bot.get_updates(limit=2)
        last = await bot.get_updates(offset=-1)
        return list(two), list(last)

    two, last = run(tg, body)
    assert [u.update_id for u in two] == ids[:2]
    assert [u.update_id for u in last] == ids[-1:]
    assert [u["update_id"] for u in tg.pending] == ids[-1:]


def test_a_long_poll_returns_as_soon_as_an_update_arrives(tg: FakeTelegram) -> None:
    async def body(bot: Bot) -> tuple[list[Update], float]:
        started = time.monotonic()
        threading.Timer(0.3, tg.push, [private_message(42, "late")]).start()
        updates = await bot.get_updates(timeout=5)
        return list(updates), time.monotonic() - started

    updates, took = run(tg, body)
    assert [u.message.text for u in updates if u.message] == ["late"]
    assert 0.25 < took < 2


def test_a_long_poll_without_updates_waits_out_its_timeout(tg: FakeTelegram) -> None:
    async def body(bot: Bot) -> tuple[list[Update], float]:
        started = time.monotonic()
        updates = await bot.get_updates(timeout=1)
        return list(updates), time.monotonic() - started

    updates, took = run(tg, body)
    assert updates == [] and 0.9 < took < 2


def test_a_second_poller_terminates_the_first(tg: FakeTelegram) -> None:
    async def body(bot: Bot) -> BaseException | None:
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await asyncio.sleep(0.2)
        async with Bot(TOKEN, base_url=tg.base_url) as other:
            await other.get_updates(timeout=0)
        try:
            await first
        except Conflict as exc:
            return exc
        return None

    error = run(tg, body)
    assert isinstance(error, Conflict) and "terminated by other getUpdates" in str(error)


def test_stop_does_not_hang_on_a_pending_long_poll() -> None:
    tg = FakeTelegram().start()
    answers: list[httpx.Response] = []
    poller = threading.Thread(
        target=lambda: answers.append(post(tg, "getUpdates", data={"timeout": "30"}))
    )
    poller.start()
    tg.wait_until(lambda: tg._poll_generation == 1)
    started = time.monotonic()
    tg.stop()
    poller.join(5)
    assert time.monotonic() - started < 3
    assert answers and answers[0].json() == {"ok": True, "result": []}


def test_html_and_an_inline_keyboard_come_back_as_a_message(tg: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="p:1:y")],
            [InlineKeyboardButton("No", callback_data="p:1:n")],
        ]
    )
    html = "<b>Poll</b> &amp; <i>vote</i> 😀 <a href='https://example.org'>here</a>"
    message = run(
        tg, lambda bot: bot.send_message(-5, html, parse_mode="HTML", reply_markup=keyboard)
    )
    assert message.text == "Poll & vote 😀 here"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4),
        ("italic", 7, 4),
        ("text_link", 15, 4),
    ]
    assert message.entities[2].url == "https://example.org/"
    assert message.reply_markup == keyboard
    assert message.from_user is not None and message.from_user.id == BOT_ID
    assert message.chat.type == "group"
    shown = tg.messages[-5][message.message_id]
    assert shown.text == "Poll & vote 😀 here" and shown.sent_text == html
    assert shown.buttons == [[("Yes", "p:1:y")], [("No", "p:1:n")]]
    second = run(tg, lambda bot: bot.send_message(-5, "next"))
    assert second.message_id == message.message_id + 1


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("Tom & Jerry", 'unescaped "&" at byte offset 4'),
    ],
)
def test_malformed_html_is_a_bad_request(tg: FakeTelegram, html: str, description: str) -> None:
    with pytest.raises(BadRequest) as error:
        run(tg, lambda bot: bot.send_message(5, html, parse_mode="HTML"))
    # PTB drops "Bad Request: " and capitalizes the rest
    assert error.value.message.startswith(f"Can't parse entities: {description}".capitalize())
    assert str(tg.calls[-1].description).startswith(
        f"Bad Request: can't parse entities: {description}"
    )
    assert tg.sent() == []


def test_the_html_parser_follows_telegrams() -> None:
    assert parse_html("🏟 🏟&lt;<i>a</i   >") == (
        "🏟 🏟<a",
        [{"type": "italic", "offset": 6, "length": 1}],
    )
    assert parse_html("&lt&gt&#65;&#x42;") == ("<>AB", [])
    assert parse_html("Tom & Jerry", strict=False) == ("Tom & Jerry", [])
    text, entities = parse_html(
        '<pre><code class="language-python">x</code></pre><tg-spoiler>s</tg-spoiler>'
        '<span class="tg-spoiler">t</span><blockquote expandable>q</blockquote>'
    )
    assert text == "xstq"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 1, "language": "python"},
        {"type": "spoiler", "offset": 1, "length": 1},
        {"type": "spoiler", "offset": 2, "length": 1},
        {"type": "expandable_blockquote", "offset": 3, "length": 1},
    ]
    for html, message in [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<i    aba>", "Expected equal sign"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<a href=x/>y</a>", "Unexpected end of name token at byte offset 8"),
    ]:
        with pytest.raises(ApiError, match=message):
            parse_html(html)


def test_edits_apply_and_an_unchanged_edit_is_refused(tg: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Vote", callback_data="v")]])

    async def body(bot: Bot) -> tuple[str, str, str]:
        message = await bot.send_message(-7, "Tally: 0", reply_markup=keyboard)
        await bot.edit_message_text("Tally: 1", -7, message.message_id, reply_markup=keyboard)
        try:
            await bot.edit_message_text("Tally: 1", -7, message.message_id, reply_markup=keyboard)
        except BadRequest as exc:
            unchanged = exc.message
        try:
            await bot.edit_message_text("x", -7, 999)
        except BadRequest as exc:
            missing = exc.message
        closed = await bot.edit_message_text("Closed: 1", -7, message.message_id)
        assert not isinstance(closed, bool)
        return unchanged, missing, str(closed.reply_markup)

    unchanged, missing, markup = run(tg, body)
    assert unchanged.startswith("Message is not modified: specified new message content")
    assert missing == "Message to edit not found"
    assert markup == "None"  # an edit without reply_markup removes the keyboard
    (shown,) = tg.shown(-7)
    assert shown.text == "Closed: 1" and shown.reply_markup is None and shown.edits == 2


def test_callback_data_over_64_bytes_is_refused(tg: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        run(tg, lambda bot: bot.send_message(5, "x", reply_markup=keyboard))


def test_send_photo_uploads_bytes(tg: FakeTelegram) -> None:
    image = png(400, 300)

    async def body(bot: Bot) -> tuple[object, bytes]:
        message = await bot.send_photo(-9, image, caption="<b>Chart</b>", parse_mode="HTML")
        file = await bot.get_file(message.photo[-1].file_id)
        return message, bytes(await file.download_as_bytearray())

    message, downloaded = run(tg, body)
    assert downloaded == image
    assert message.caption == "Chart"  # type: ignore[attr-defined]
    assert (message.photo[-1].width, message.photo[-1].height) == (400, 300)  # type: ignore[attr-defined]
    call = tg.sent(-9)[0]
    assert call.method == "sendPhoto" and call.files["photo"] == image
    assert tg.shown(-9)[0].photo == image
    with pytest.raises(BadRequest, match="Image_process_failed"):
        run(tg, lambda bot: bot.send_photo(-9, b"not an image"))
    with pytest.raises(BadRequest, match="Message caption is too long"):
        run(tg, lambda bot: bot.send_photo(-9, image, caption="x" * 1025))


def test_set_my_commands_per_language(tg: FakeTelegram) -> None:
    async def body(bot: Bot) -> None:
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("lang", "Language")])
        await bot.set_my_commands([BotCommand("start", "Aloita")], language_code="fi")

    run(tg, body)
    assert [c["command"] for c in tg.commands()] == ["start", "lang"]
    assert tg.commands("fi") == [{"command": "start", "description": "Aloita"}]
    assert tg.commands("nl") == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        run(tg, lambda bot: bot.set_my_commands([BotCommand("Start", "x")]))


def test_an_injected_429_is_a_retry_after_and_is_not_performed(tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as error:
        run(tg, lambda bot: bot.send_message(5, "hi"))
    assert seconds(error.value) == 3
    assert tg.sent() == [] and tg.too_many == 1 and tg.calls[-1].injected
    assert run(tg, lambda bot: bot.send_message(5, "hi")).text == "hi"


def test_blocked_and_kicked_chats_are_forbidden(tg: FakeTelegram) -> None:
    tg.block(5)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        run(tg, lambda bot: bot.send_message(5, "hi"))
    assert tg.push(bot_removed(-12)) is not None
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        run(tg, lambda bot: bot.send_message(-12, "hi"))
    tg.push(bot_added(-12))
    assert run(tg, lambda bot: bot.send_message(-12, "back")).text == "back"
    tg.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden):
        run(tg, lambda bot: bot.send_message(-12, "again"))


def test_limits_refuse_a_second_message_to_a_chat_within_a_second() -> None:
    with FakeTelegram(enforce_limits=True) as tg:

        async def body(bot: Bot) -> int:
            await bot.send_message(5, "one")
            try:
                await bot.send_message(5, "two")
            except RetryAfter as exc:
                await bot.send_message(6, "another chat is fine")
                return seconds(exc)
            raise AssertionError("no 429")

        assert run(tg, body) == 1
        assert [c.params["text"] for c in tg.sent()] == ["one", "another chat is fine"]
        assert tg.too_many == tg.too_many_enforced == 1


def test_limits_per_group_and_overall() -> None:
    limits = Limits(per_chat_interval=0.0, group_max=3, global_max=5)
    with FakeTelegram(enforce_limits=True, limits=limits) as tg:

        async def body(bot: Bot) -> tuple[int, int]:
            for n in range(3):
                await bot.send_message(-20, f"g{n}")
            try:
                await bot.send_message(-20, "g3")
            except RetryAfter as exc:
                per_group = seconds(exc)
            await bot.send_message(1, "p0")
            await bot.send_message(2, "p1")
            try:
                await bot.send_message(3, "p2")
            except RetryAfter as exc:
                overall = seconds(exc)
            return per_group, overall

        per_group, overall = run(tg, body)
        assert 58 <= per_group <= 60 and overall == 1
        assert len(tg.sent()) == 5 and tg.too_many == 2


def test_callback_queries_are_answered_once(tg: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    message = run(tg, lambda bot: bot.send_message(42, "Vote?", reply_markup=keyboard))
    with pytest.raises(ValueError, match="no button"):
        tg.click(42, 42, message.message_id, "n")
    query_id = tg.click(42, 42, message.message_id, "y")

    async def body(bot: Bot) -> Update:
        (update,) = await bot.get_updates()
        await bot.answer_callback_query(query_id, text="Counted")
        return update

    update = run(tg, body)
    assert update.callback_query is not None and update.callback_query.data == "y"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == message.message_id
    assert tg.answers[query_id]["text"] == "Counted"
    with pytest.raises(BadRequest, match="Query is too old"):
        run(tg, lambda bot: bot.answer_callback_query(query_id))
    tg.push(callback(42, 42, message.message_id, "y", query_id="q2"))
    with pytest.raises(BadRequest, match="Message_too_long"):
        run(tg, lambda bot: bot.answer_callback_query("q2", text="x" * 201))


def test_webhooks(tg: FakeTelegram) -> None:
    async def body(bot: Bot) -> tuple[str, int]:
        await bot.set_webhook("https://example.org/hook", secret_token="s3cret_-")
        info = await bot.get_webhook_info()
        try:
            await bot.get_updates()
        except Conflict:
            conflict = 409
        await bot.delete_webhook()
        await bot.get_updates()
        return info.url, conflict

    assert run(tg, body) == ("https://example.org/hook", 409)
    with pytest.raises(BadRequest, match="(?i)https url"):
        run(tg, lambda bot: bot.set_webhook("ftp://example.org"))
    with pytest.raises(BadRequest, match="(?i)secret token"):
        run(tg, lambda bot: bot.set_webhook("https://example.org", secret_token="bad token"))


def test_chat_actions(tg: FakeTelegram) -> None:
    assert run(tg, lambda bot: bot.send_chat_action(5, "typing")) is True
    assert post(tg, "sendChatAction", data={"chat_id": "5", "action": "dance"}).status_code == 400


def test_privacy_mode_withholds_plain_group_chatter(tg: FakeTelegram) -> None:
    bot_message = run(tg, lambda bot: bot.send_message(-30, "Poll"))
    assert tg.push(group_message(-30, 1, "just chatting")) is None
    assert tg.push(group_message(-30, 1, "/vote@other_bot")) is None
    assert tg.push(group_message(-30, 1, "/vote yes")) is not None
    assert tg.push(group_message(-30, 1, f"/vote@{BOT_USERNAME}")) is not None
    assert tg.reply(-30, 1, bot_message.message_id, "yes") is not None
    assert len(tg.withheld) == 2
    with FakeTelegram(can_read_all_group_messages=True) as everything:
        assert everything.push(group_message(-30, 1, "just chatting")) is not None


def test_builders_round_trip_through_ptb(tg: FakeTelegram) -> None:
    bot = Bot(TOKEN, base_url=tg.base_url)
    private = Update.de_json(private_message(42, "/start now", language_code="fi"), bot)
    assert private.effective_user is not None and private.effective_user.language_code == "fi"
    assert private.effective_chat is not None and private.effective_chat.type == "private"
    assert private.message is not None and private.message.text == "/start now"
    assert [(e.type, e.offset, e.length) for e in private.message.entities] == [
        ("bot_command", 0, 6)
    ]

    reply = Update.de_json(group_message(-1001234567890, 7, "yes", reply_to_message_id=3), bot)
    assert reply.message is not None and reply.message.reply_to_message is not None
    assert reply.message.reply_to_message.message_id == 3
    assert reply.message.reply_to_message.from_user is not None
    assert reply.message.reply_to_message.from_user.id == BOT_ID
    assert reply.message.chat.type == "supergroup"

    topic = Update.de_json(group_message(-1001234567890, 7, "in a topic", thread_id=11), bot)
    assert topic.message is not None and topic.message.is_topic_message
    assert topic.message.message_thread_id == 11 and topic.message.chat.is_forum
    assert topic.message.reply_to_message is not None
    assert topic.message.reply_to_message.forum_topic_created is not None

    change = Update.de_json(edited(-5, 7, 20, "fixed"), bot)
    assert change.edited_message is not None and change.edited_message.edit_date is not None
    assert change.edited_message.text == "fixed" and change.edited_message.chat.type == "group"

    press = Update.de_json(callback(7, -5, 20, "poll:1:yes"), bot)
    assert press.callback_query is not None and press.callback_query.data == "poll:1:yes"
    assert press.callback_query.message is not None
    assert press.callback_query.message.message_id == 20

    removed = Update.de_json(bot_removed(-5), bot)
    assert removed.my_chat_member is not None
    assert removed.my_chat_member.new_chat_member.status == "left"
    assert removed.my_chat_member.new_chat_member.user.id == BOT_ID
    blocked = Update.de_json(bot_removed(42), bot)
    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    admin = Update.de_json(bot_added(-1001234567890, 7, admin=True), bot)
    assert admin.my_chat_member is not None
    assert admin.my_chat_member.new_chat_member.status == "administrator"
    assert Update.de_json(bot_added(-5), bot).my_chat_member.new_chat_member.status == "member"  # type: ignore[union-attr]


def test_a_ptb_application_polls_and_replies(tg: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_user is not None
        await context.bot.send_message(
            update.effective_chat.id, f"Hello {update.effective_user.first_name}"
        )

    async def main() -> None:
        app = (
            Application.builder()
            .token(TOKEN)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        app.add_handler(CommandHandler("start", start))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            tg.push(private_message(42, "/start", first_name="Anna"))
            while not tg.sent(42):
                await asyncio.sleep(0.01)
            await app.updater.stop()
            await app.stop()

    started = time.monotonic()
    asyncio.run(main())
    assert [c.params["text"] for c in tg.sent(42)] == ["Hello Anna"]
    assert tg.confirmed()  # the updater confirmed the update on stop
    assert tg.calls[0].method in ("getMe", "deleteWebhook")
    assert time.monotonic() - started < 3
