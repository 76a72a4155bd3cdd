"""The Telegram channel: python-telegram-bot's `Bot` for the Bot API, updates by long polling
or a webhook, turned into engine events; actions rendered as Telegram messages (HTML, inline
buttons, photos) and delivered from the outbox at Telegram's limits.

One limiter (the outbox deliverer's) keeps the pace; the library's own rate limiter is not
used on top of it, and its requests are never retried behind our back.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import select
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from adapters.charts import chart_of, chart_table, poll_chart
from adapters.delivery import AsyncDeliverer, DeliveryError
from adapters.ratelimit import Limiter, telegram_limits
from adapters.text import split_to_fit, take
from bot.actions import (
    Action,
    Ask,
    Notify,
    PollResult,
    PostChart,
    PostDigest,
    PostPoll,
    PostThread,
    Reply,
    SendFile,
    Toast,
    UpdatePoll,
)
from bot.config import Settings
from bot.engine import Engine
from bot.events import (
    ButtonPressed,
    ChatJoined,
    ChatLeft,
    CommandIssued,
    Event,
    MessageEdited,
    MessagePosted,
)
from bot.i18n import N_, translator
from bot.language import normalise
from bot.outgoing import enqueue
from storage.database import transaction
from storage.models import Channel

log = logging.getLogger(__name__)

PLATFORM = "telegram"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
POLL_TIMEOUT = 25  # seconds a getUpdates long poll waits for news
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
PRIVACY_NOTE = N_(
    "Note: this bot has group privacy on, so in groups it sees only commands and replies "
    "to its own messages. To hear the whole dialogue, ask the bot's owner to switch it off "
    "in BotFather (/setprivacy, Disable)."
)


def escape(text: str) -> str:
    """Member-written text in HTML parse mode: every <, > and & escaped."""
    return html.escape(text, quote=False)


def units(text: str) -> int:
    """A length as Telegram counts it, in UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def escaped_units(char: str) -> int:
    """What one character of member text costs in a message, once escaped."""
    return units(escape(char))


def shortened(text: str, limit: int) -> str:
    """Member text escaped, within `limit` units: cut before escaping, ending in "…"."""
    shown = escape(text)
    if units(shown) <= limit:
        return shown
    return escape(split_to_fit(text, limit - 1, escaped_units)[0]) + "…"


# How each kind of digest block shows, as (opening, closing) HTML around its escaped text;
# "title" is the part's heading.
DIGEST_TAGS: dict[str, tuple[str, str]] = {
    "title": ("<b>", "</b>"),
    "heading": ("<b>", "</b>"),
    "subheading": ("<b><i>", "</i></b>"),
    "paragraph": ("", ""),
    "note": ("<i>", "</i>"),
    "item": ("• ", ""),
    "quote": ("<blockquote>", "</blockquote>"),
    "table": ("<pre>", "</pre>"),
}
TIGHT = frozenset({"title", "heading", "subheading"})  # what they head follows on the next line
MIN_PIECE = 16  # units: less room than this at the end of a message is left empty


def block_html(kind: str, text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """One block as HTML, in as many pieces as `limit` needs (one, but for a block longer
    than a message): each piece in the block's own tags, so every piece is whole."""
    opening, closing = DIGEST_TAGS.get(kind, ("", ""))
    budget = limit - units(opening + closing)
    return [f"{opening}{escape(p)}{closing}" for p in split_to_fit(text, budget, escaped_units)]


def separator(previous: str, kind: str) -> str:
    """A blank line between blocks; a line break only after a heading, or between items."""
    return "\n" if previous in TIGHT or previous == kind == "item" else "\n\n"


def joined(run: Sequence[tuple[str, str]]) -> str:
    """Rendered blocks as one message."""
    text = ""
    for number, (kind, html_text) in enumerate(run):
        text += separator(run[number - 1][0], kind) if number else ""
        text += html_text
    return text


def room_after(run: Sequence[tuple[str, str]], kind: str, limit: int) -> int:
    """The units left in a message for a block of `kind` after `run`."""
    if not run:
        return limit
    return limit - units(joined(run)) - len(separator(run[-1][0], kind))


def digest_html(
    heading: str, blocks: Sequence[Sequence[str]], limit: int = TEXT_LIMIT
) -> list[str]:
    """A digest part as Telegram HTML messages of at most `limit` units each, its heading
    first. A block goes whole where it fits, else whole in the next message (taking the
    headings above it along), and only a block longer than a message is cut."""
    runs: list[list[tuple[str, str]]] = [[]]
    for kind, text in [("title", heading), *blocks]:
        if text.strip():
            _place(runs, kind, text, limit)
    return [joined(run) for run in runs if run]


def _place(runs: list[list[tuple[str, str]]], kind: str, text: str, limit: int) -> None:
    """Add one block to the messages (`runs`, the last one open): whole where it fits; whole
    in a new message where it fits there; else cut, filling the room left in each message
    (or starting a new one when little room is left)."""
    opening, closing = DIGEST_TAGS.get(kind, ("", ""))
    tags = units(opening + closing)
    while text:
        run = runs[-1]
        room = room_after(run, kind, limit) - tags
        size = sum(map(escaped_units, text))
        if size > room and any(k not in TIGHT for k, _html in run):
            heads = _heads(run)
            if size <= room_after(heads, kind, limit) - tags or room < limit // 4:
                del run[len(run) - len(heads) :]
                runs.append(heads)  # the headings go with what they head
                continue
        if room < MIN_PIECE and run:
            runs.append([])
            continue
        piece, text = take(text, room, escaped_units)
        runs[-1].append((kind, f"{opening}{escape(piece)}{closing}"))
        if text:
            runs.append([])


def _heads(run: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headings at the end of a message."""
    count = 0
    while count < len(run) and run[-1 - count][0] in TIGHT:
        count += 1
    return list(run[len(run) - count :])


def chart_caption(alt_text: str, table: str, limit: int = CAPTION_LIMIT) -> tuple[str, list[str]]:
    """A chart photo's caption, its alt text over its data table, and the messages that carry
    the table instead when both do not fit in a caption."""
    both = f"{escape(alt_text)}\n<pre>{escape(table)}</pre>"
    if units(both) <= limit:
        return both, []
    return shortened(alt_text, limit), block_html("table", table)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line boundaries where there are any."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single line longer than a message
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def display_name(user: User) -> str:
    return user.full_name or user.username or str(user.id)


class TelegramChannel:
    """Translates Telegram updates into engine events and renders actions as Bot API calls."""

    def __init__(
        self,
        engine: Engine,
        database: DatabaseEngine,
        settings: Settings,
        limiter: Limiter | None = None,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        assert settings.telegram_token, "POLDER_TELEGRAM_TOKEN is not set"
        self.engine = engine
        self.database = database
        self.settings = settings
        self.bot = Bot(
            settings.telegram_token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
        )
        self.limiter = limiter or telegram_limits()
        self.me: User | None = None
        self.poll_timeout = poll_timeout
        self.deliverer = AsyncDeliverer(
            database, PLATFORM, self.send, self.limiter, group=lambda chat: chat.startswith("-")
        )

    # --- start and stop -----------------------------------------------------------------

    async def start(self) -> None:
        """Who the bot is, its commands in every language, and where updates come from."""
        await self.bot.initialize()
        self.me = await self.bot.get_me()
        await self.register_commands()
        if self.settings.telegram_webhook_url:
            await self.bot.set_webhook(
                self.settings.telegram_webhook_url,
                secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.bot.delete_webhook()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def register_commands(self) -> None:
        """`setMyCommands` per language: names stay ASCII, descriptions are translated."""
        commands: dict[str, str] = {}
        for command in self.engine.commands_list:
            commands.setdefault(command.name.split()[0], command.summary)
        for language in self.settings.languages:
            _ = translator(language)
            listed = [BotCommand(name, _(summary)[:256]) for name, summary in commands.items()]
            code = None if language == "en" else language
            await self.bot.set_my_commands(listed, language_code=code)

    @property
    def privacy_on(self) -> bool:
        return self.me is not None and not self.me.can_read_all_group_messages

    # --- updates in ---------------------------------------------------------------------

    def translate(self, update: Update) -> Event | None:
        """One update as an engine event; None for what the bot does not use."""
        key = f"{PLATFORM}:{update.update_id}"
        if update.callback_query is not None:
            query = update.callback_query
            message = query.message if isinstance(query.message, Message) else None
            chat = message.chat if message else None
            return ButtonPressed(
                key=key,
                platform=PLATFORM,
                user_id=str(query.from_user.id),
                user_name=display_name(query.from_user),
                chat_id=str(chat.id if chat else query.from_user.id),
                private=chat is None or chat.type == "private",
                language_hint=query.from_user.language_code,
                data=query.data or "",
                platform_message_id=str(message.message_id) if message else None,
            )
        if update.my_chat_member is not None:
            change = update.my_chat_member
            common = dict(
                key=key,
                platform=PLATFORM,
                user_id=str(change.from_user.id),
                user_name=display_name(change.from_user),
                chat_id=str(change.chat.id),
                language_hint=change.from_user.language_code,
                at=change.date,
            )
            status = change.new_chat_member.status
            if status in ("left", "kicked"):
                return ChatLeft(**common)  # type: ignore[arg-type]
            if change.old_chat_member.status in ("left", "kicked"):
                return ChatJoined(**common)  # type: ignore[arg-type]
            return None
        if update.edited_message is not None:
            edited = update.edited_message
            if edited.from_user is None or not (edited.text or edited.caption):
                return None
            return MessageEdited(
                key=key,
                platform=PLATFORM,
                user_id=str(edited.from_user.id),
                user_name=display_name(edited.from_user),
                chat_id=str(edited.chat.id),
                private=edited.chat.type == "private",
                language_hint=edited.from_user.language_code,
                platform_message_id=str(edited.message_id),
                text=edited.text or edited.caption or "",
            )
        if update.message is not None:
            return self._message(key, update.message)
        return None

    def _message(self, key: str, message: Message) -> Event | None:
        user = message.from_user
        text = message.text or message.caption
        if user is None or user.is_bot or not text:
            return None
        topic = message.message_thread_id if message.is_topic_message else None
        replied = message.reply_to_message
        common = dict(
            key=key,
            platform=PLATFORM,
            user_id=str(user.id),
            user_name=display_name(user),
            chat_id=str(message.chat.id),
            thread_ref=str(topic) if topic else None,
            reply_to=str(replied.message_id) if replied is not None else None,
            private=message.chat.type == "private",
            language_hint=user.language_code,
            at=message.date,
        )
        command = self._command(message, text)
        if command is not None:
            name, rest = command
            return CommandIssued(
                command=name,
                argument_text=rest,
                platform_message_id=str(message.message_id),
                **common,  # type: ignore[arg-type]
            )
        return MessagePosted(
            text=text,
            platform_message_id=str(message.message_id),
            **common,  # type: ignore[arg-type]
        )

    def _command(self, message: Message, text: str) -> tuple[str, str] | None:
        """('join', 'mobility') for '/join@polder_bot mobility'; None when not a command for
        this bot (another bot's command in a group is not ours to answer)."""
        entity = next(iter(message.entities or ()), None)
        if entity is None or entity.type != "bot_command" or entity.offset != 0:
            return None
        word = text[1 : entity.length]
        name, _, addressee = word.partition("@")
        if (
            addressee
            and self.me is not None
            and addressee.lower() != (self.me.username or "").lower()
        ):
            return None
        return name.lower(), text[entity.length :].strip()

    async def process(self, update: Update) -> None:
        """Hand one update to the engine; answer what must be answered inside the request."""
        event = self.translate(update)
        if event is None:
            return
        actions = await asyncio.to_thread(self.engine.handle, event)
        if update.callback_query is not None:
            toast = next((a.text for a in actions if isinstance(a, Toast)), None)
            try:  # every button press gets an answer, or its button keeps spinning
                await self.bot.answer_callback_query(update.callback_query.id, text=toast)
            except TelegramError as exc:
                log.warning("could not answer a button press: %s", exc)
        if isinstance(event, CommandIssued) and event.command == "link" and not event.private:
            await asyncio.to_thread(self._note_privacy, event)

    def _note_privacy(self, event: CommandIssued) -> None:
        """A group just linked while the bot hears only commands there: say what to switch."""
        if not self.privacy_on:
            return
        with transaction(self.database) as session:
            linked = session.exec(
                select(Channel).where(
                    Channel.platform == PLATFORM, Channel.chat_id == event.chat_id
                )
            ).first()
            if linked is None:
                return
            _ = translator(normalise(event.language_hint))
            note = Reply(
                platform=PLATFORM,
                chat_id=event.chat_id,
                thread_ref=event.thread_ref,
                text=_(PRIVACY_NOTE),
            )
            enqueue(session, [note])

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling: getUpdates from the last confirmed offset until `stop` is set."""
        offset: int | None = None
        while not stop.is_set():
            try:
                offset = await self.poll_once(offset)
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
            except NetworkError as exc:
                log.warning("getUpdates failed (%s); trying again", exc)
                await asyncio.sleep(1)

    async def poll_once(self, offset: int | None) -> int | None:
        """One getUpdates (waiting up to the poll timeout); returns the next offset, which
        confirms to Telegram what was taken in."""
        updates = await self.bot.get_updates(
            offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
        )
        for update in updates:
            try:
                await self.process(update)
            except Exception:  # one bad update must not stop the channel
                log.exception("update %s failed", update.update_id)
            offset = update.update_id + 1
        return offset

    # --- actions out --------------------------------------------------------------------

    async def deliver_forever(self, stop: asyncio.Event) -> None:
        await self.deliverer.forever(stop)

    async def deliver_due(self, chat_ids: Sequence[str] | None = None) -> int:
        """Deliver what is due at Telegram's pace; returns how many entries went out."""
        return await self.deliverer.due(chat_ids)

    async def send(self, action: Action, edits: str | None) -> str | None:
        """Render one action; the id of the (first) message it posted."""
        try:
            return await self._render(action, edits)
        except RetryAfter as exc:
            seconds = _seconds(exc.retry_after)
            raise DeliveryError(
                f"429 retry after {seconds}s", timedelta(seconds=seconds), counts=False
            ) from exc
        except Forbidden as exc:
            raise DeliveryError(f"blocked: {exc.message}", retry_after=None, gone=True) from exc
        except BadRequest as exc:
            if "message is not modified" in exc.message:
                return edits
            raise DeliveryError(f"bad request: {exc.message}", retry_after=None) from exc
        except NetworkError as exc:
            raise DeliveryError(f"network: {exc}", timedelta(seconds=5)) from exc

    async def _render(self, action: Action, edits: str | None) -> str | None:
        chat, topic = action.chat_id, _topic(action.thread_ref)
        if isinstance(action, UpdatePoll):
            if edits is None:
                return None
            await self.bot.edit_message_text(
                shortened(action.text, TEXT_LIMIT),
                chat_id=chat,
                message_id=int(edits),
                parse_mode="HTML",
                reply_markup=None if action.closed else _vote_buttons(action),
            )
            return edits
        if isinstance(action, PostPoll):
            return await self._text(chat, topic, escape(action.text), _vote_buttons(action))
        if isinstance(action, PostThread):
            text = f"<b>{escape(action.text)}</b>\n{escape(action.reply_hint)}"
            return await self._text(chat, topic, text)
        if isinstance(action, PollResult):
            first = await self._text(chat, topic, f"<pre>{escape(action.text)}</pre>")
            chart = await asyncio.to_thread(poll_chart, action)
            caption = f"{chart.alt_text}\n{chart_table(action)}"
            await self.bot.send_photo(
                chat,
                chart.png,
                caption=shortened(caption, CAPTION_LIMIT),
                parse_mode="HTML",
                message_thread_id=topic,
            )
            return first
        if isinstance(action, Ask):
            buttons = [
                [InlineKeyboardButton(label[:60], callback_data=f"answer:{value}"[:64])]
                for value, label in action.choices
            ]
            text = escape(action.text) + (f"\n<i>{escape(action.hint)}</i>" if action.hint else "")
            return await self._text(
                chat, topic, text, InlineKeyboardMarkup(buttons) if buttons else None
            )
        if isinstance(action, PostDigest):
            return await self._messages(chat, topic, digest_html(action.heading, action.blocks))
        if isinstance(action, PostChart):
            return await self._chart(chat, topic, action)
        if isinstance(action, SendFile):
            sent = await self.bot.send_document(
                chat,
                action.content.encode("utf-8"),
                filename=action.filename,
                caption=shortened(action.caption, CAPTION_LIMIT),
                parse_mode="HTML",
            )
            return str(sent.message_id)
        if isinstance(action, Reply | Notify):
            return await self._text(chat, topic, escape(action.text))
        log.info("telegram does not render %s", action.kind)
        return None

    async def _chart(self, chat: str, topic: int | None, action: PostChart) -> str:
        """The chart as a photo captioned with its alt text and data table (the table in a
        message of its own after it when the caption has no room for it)."""
        chart = await asyncio.to_thread(chart_of, action)
        caption, rest = chart_caption(chart.alt_text, action.table)
        sent = await self.bot.send_photo(
            chat,
            chart.png,
            caption=caption,
            parse_mode="HTML",
            message_thread_id=topic,
            filename=chart.filename,
        )
        if rest:
            await self._messages(chat, topic, rest)
        return str(sent.message_id)

    async def _text(
        self, chat: str, topic: int | None, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> str:
        """sendMessage, split at line boundaries when longer than Telegram allows; buttons go
        with the last piece. Returns the first piece's message id."""
        return await self._messages(chat, topic, split_text(text), markup)

    async def _messages(
        self,
        chat: str,
        topic: int | None,
        pieces: Sequence[str],
        markup: InlineKeyboardMarkup | None = None,
    ) -> str:
        """One sendMessage per piece of HTML, in order; buttons go with the last. Returns the
        first message's id."""
        first: str | None = None
        for number, piece in enumerate(pieces, 1):
            sent = await self.bot.send_message(
                chat,
                piece,
                parse_mode="HTML",
                message_thread_id=topic,
                reply_markup=markup if number == len(pieces) else None,
            )
            first = first or str(sent.message_id)
        assert first is not None
        return first


def _vote_buttons(poll: PostPoll) -> InlineKeyboardMarkup | None:
    if poll.closed:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{option[:50]} · {count}", callback_data=f"vote:{poll.poll_id}:{n}"
                )
            ]
            for n, (option, count) in enumerate(zip(poll.options, poll.counts, strict=True))
        ]
    )


def _topic(thread_ref: str | None) -> int | None:
    return int(thread_ref) if thread_ref and thread_ref.lstrip("-").isdigit() else None


def _seconds(retry_after: int | timedelta) -> int:
    if isinstance(retry_after, timedelta):
        return max(1, int(retry_after.total_seconds()))
    return max(1, int(retry_after))
