"""A local HTTP server that speaks the Telegram Bot API as Telegram does, for tests and benchmarks.

    with FakeTelegram() as tg:
        bot = telegram.Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url)
        tg.push(private_message(42, "/start"))
        ...
        assert tg.sent(42)[0].params["text"] == "Welcome"

The server runs an aiohttp application in its own thread and event loop on 127.0.0.1 (a free
port). It accepts requests the way python-telegram-bot sends them (form-urlencoded with nested
objects as JSON strings, multipart/form-data when a file is uploaded, no body when a method has no
parameters), and also JSON bodies and query strings. Every call is recorded in `tg.calls`.

What it does as Telegram does (the wording of errors is Telegram's where known):

* 404 "Not Found" for a malformed token or an unknown method, 401 "Unauthorized" for a well-formed
  token that `revoke` was called on; method names are case-insensitive.
* getUpdates: `offset` confirms and forgets every update below it (a negative offset keeps only the
  last -offset), `timeout` long-polls and returns as soon as an update arrives, `limit` (1-100),
  `allowed_updates` is remembered between calls; a second concurrent getUpdates terminates the first
  with 409, and getUpdates while a webhook is set is a 409.
* HTML parse mode is parsed like Telegram's server (tdlib's parser): plain text and entities (UTF-16
  offsets) come back in the Message, errors are "Bad Request: can't parse entities: ...". Telegram
  itself keeps a bare "&" that starts no entity literally; here that is a 400 unless
  `strict_html=False`, since the Bot API documentation says it must be escaped.
* Text is trimmed; editing a message without `reply_markup` removes its inline keyboard; an edit
  that changes nothing is "message is not modified".
* Privacy mode (on unless `can_read_all_group_messages=True`): `push` withholds a group message the
  bot would not receive (neither a command for it, a reply to one of its messages nor a service
  message) unless the bot is an administrator there; see `tg.withheld`.
* In a forum topic a message that replies to nothing carries `reply_to_message` = the topic's
  creation message, as Telegram sends it.
* Pushing a my_chat_member update in which the bot left or was kicked (or a user blocked it) blocks
  the chat: later sends get 403; being added again unblocks it.

sendDocument takes an uploaded file (multipart, with its filename) and an optional caption; the
bytes are kept in `Shown.document`.

Flood limits (`enforce_limits=True`): sendMessage, sendPhoto, sendDocument and the edits count as
messages to their chat; at most one a second per chat, 20 a minute per group (chat id < 0) and 30
a second overall. A call over a limit is not performed and gets 429 with `parameters.retry_after`.

Not emulated: MarkdownV2/Markdown are accepted but not parsed, inline messages, media other than
photos and documents, webhook delivery (tests post updates to the bot themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

from aiohttp import web

__all__ = [
    "BOT_ID",
    "BOT_NAME",
    "BOT_USERNAME",
    "TOKEN",
    "ApiError",
    "Call",
    "FakeTelegram",
    "Limits",
    "Shown",
    "bot_added",
    "bot_removed",
    "bot_user",
    "callback",
    "edited",
    "group_chat",
    "group_message",
    "parse_html",
    "private_chat",
    "private_message",
    "user",
]

JSONDict = dict[str, Any]

TOKEN = "123456789:AAF4keTelegramTokenForPolderTests00"
BOT_ID = 123456789
BOT_USERNAME = "polder_test_bot"
BOT_NAME = "Polder"

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
LANGUAGE_RE = re.compile(r"[a-z]{2}")
SUPERGROUP_BELOW = -1_000_000_000_000
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_TEXT = 200

SENDING = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "editMessageText", "editMessageReplyMarkup"}
)
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
INT_PARAMS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
    }
)
BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "show_alert",
        "drop_pending_updates",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "is_personal",
    }
)
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "reply_parameters",
        "link_preview_options",
        "media",
    }
)
TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "action",
        "inline_message_id",
        "file_id",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
    }
)
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"BM")


class ApiError(Exception):
    """A Bot API refusal: the HTTP status, Telegram's description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def envelope(self) -> JSONDict:
        """The response body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {description}")


def too_many(retry_after: int) -> ApiError:
    """A 429 flood-control refusal."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


@dataclass(frozen=True)
class Limits:
    """Telegram's flood limits for sending to chats."""

    per_chat_interval: float = 1.0
    group_max: int = 20
    group_window: float = 60.0
    global_max: int = 30
    global_window: float = 1.0


@dataclass
class Call:
    """One recorded request, in the order the responses were given."""

    method: str
    params: JSONDict
    at: float
    status: int
    response: JSONDict
    files: dict[str, bytes] = field(default_factory=dict)
    injected: bool = False
    chat_id: int | None = None

    @property
    def ok(self) -> bool:
        """Whether Telegram answered ok."""
        return self.status == 200

    @property
    def result(self) -> Any:
        """The `result` of a successful call, else None."""
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        """The error description of a failed call."""
        return self.response.get("description")


@dataclass
class Shown:
    """A bot message as members now see it (edits applied)."""

    chat_id: int
    message_id: int
    text: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    sent_text: str | None
    parse_mode: str | None
    message_thread_id: int | None
    message: JSONDict
    photo: bytes | str | None = None
    edits: int = 0
    document: bytes | None = None
    file_name: str | None = None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """The inline keyboard as rows of (text, callback_data)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b.get("text", ""), b.get("callback_data")) for b in row] for row in rows]


@dataclass
class _Injection:
    method: str
    remaining: int
    status: int
    retry_after: int
    description: str | None
    chat_id: int | None


@dataclass
class _Upload:
    filename: str | None
    data: bytes


# --- Update JSON builders ---------------------------------------------------------------------

_message_ids = itertools.count(1000)
_update_ids = itertools.count(1)
_query_ids = itertools.count(4_000_000_000_000_000_000)


def _now() -> int:
    return int(time.time())


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def user(
    user_id: int,
    first_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
    last_name: str | None = None,
) -> JSONDict:
    """A human User object."""
    found: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
    if last_name:
        found["last_name"] = last_name
    if username:
        found["username"] = username
    if language_code:
        found["language_code"] = language_code
    return found


def bot_user(
    bot_id: int = BOT_ID, username: str = BOT_USERNAME, first_name: str = BOT_NAME
) -> JSONDict:
    """The bot's User object, as it appears in `from` and chat member updates."""
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


def private_chat(who: JSONDict) -> JSONDict:
    """The private Chat with a user."""
    chat: JSONDict = {"id": who["id"], "type": "private", "first_name": who["first_name"]}
    for key in ("last_name", "username"):
        if key in who:
            chat[key] = who[key]
    return chat


def group_chat(
    chat_id: int, title: str | None = None, chat_type: str | None = None, is_forum: bool = False
) -> JSONDict:
    """A group Chat; a supergroup when the id is in that range or it is a forum."""
    if chat_type is None:
        chat_type = "supergroup" if chat_id <= SUPERGROUP_BELOW or is_forum else "group"
    chat: JSONDict = {"id": chat_id, "type": chat_type, "title": title or f"Group {-chat_id}"}
    if is_forum:
        chat["is_forum"] = True
    return chat


def _text_entities(text: str) -> list[JSONDict]:
    """The bot_command and mention entities Telegram detects in a user's text."""
    found = []
    pattern = r"(?<!\S)(/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?|@[A-Za-z0-9_]{5,32})"
    for match in re.finditer(pattern, text):
        kind = "bot_command" if match.group(0).startswith("/") else "mention"
        found.append(
            {
                "offset": _u16(text[: match.start()]),
                "length": _u16(match.group(0)),
                "type": kind,
            }
        )
    return found


def _bot_message(chat: JSONDict, message_id: int, text: str) -> JSONDict:
    return {
        "message_id": message_id,
        "from": bot_user(),
        "chat": chat,
        "date": _now(),
        "text": text,
    }


def _message(
    chat: JSONDict,
    sender: JSONDict,
    text: str,
    message_id: int | None,
    reply_to: JSONDict | None,
    thread_id: int | None,
    date: int | None,
) -> JSONDict:
    message: JSONDict = {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": sender,
        "chat": chat,
        "date": date if date is not None else _now(),
    }
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        if reply_to is None:
            reply_to = {
                "message_id": thread_id,
                "from": sender,
                "chat": chat,
                "date": message["date"] - 60,
                "message_thread_id": thread_id,
                "forum_topic_created": {"name": f"Topic {thread_id}", "icon_color": 7322096},
                "is_topic_message": True,
            }
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    message["text"] = text
    entities = _text_entities(text)
    if entities:
        message["entities"] = entities
    return message


def _reply_target(
    chat: JSONDict,
    reply_to_message_id: int | None,
    reply_to: JSONDict | None,
    reply_to_text: str,
    thread_id: int | None,
) -> JSONDict | None:
    if reply_to is not None:
        return reply_to
    if reply_to_message_id is None:
        return None
    target = _bot_message(chat, reply_to_message_id, reply_to_text)
    if thread_id is not None:
        target["message_thread_id"] = thread_id
        target["is_topic_message"] = True
    return target


def private_message(
    user_id: int,
    text: str,
    language_code: str | None = "en",
    first_name: str | None = None,
    username: str | None = None,
    *,
    message_id: int | None = None,
    reply_to_message_id: int | None = None,
    reply_to: JSONDict | None = None,
    reply_to_text: str = "…",
    date: int | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An Update with a message from a user to the bot in their private chat.

    `reply_to_message_id` makes it a reply to the bot's message with that id (text
    `reply_to_text`); `reply_to` gives the replied-to Message whole instead.
    """
    sender = user(user_id, first_name, username, language_code)
    chat = private_chat(sender)
    target = _reply_target(chat, reply_to_message_id, reply_to, reply_to_text, None)
    update: JSONDict = {"message": _message(chat, sender, text, message_id, target, None, date)}
    update["update_id"] = update_id if update_id is not None else next(_update_ids)
    return update


def group_message(
    chat_id: int,
    user_id: int,
    text: str,
    reply_to_message_id: int | None = None,
    thread_id: int | None = None,
    *,
    title: str | None = None,
    chat_type: str | None = None,
    forum: bool = False,
    language_code: str | None = "en",
    first_name: str | None = None,
    username: str | None = None,
    message_id: int | None = None,
    reply_to: JSONDict | None = None,
    reply_to_text: str = "…",
    date: int | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An Update with a message from a user in a group.

    `thread_id` puts it in that forum topic (the chat becomes a forum supergroup, and a message
    that replies to nothing carries the topic's creation message as `reply_to_message`, as
    Telegram sends it); `forum=True` without a thread id is the General topic.
    """
    is_forum = forum or thread_id is not None
    chat = group_chat(chat_id, title, chat_type, is_forum)
    sender = user(user_id, first_name, username, language_code)
    target = _reply_target(chat, reply_to_message_id, reply_to, reply_to_text, thread_id)
    update: JSONDict = {
        "message": _message(chat, sender, text, message_id, target, thread_id, date)
    }
    update["update_id"] = update_id if update_id is not None else next(_update_ids)
    return update


def edited(
    chat_id: int,
    user_id: int,
    message_id: int,
    text: str,
    *,
    thread_id: int | None = None,
    title: str | None = None,
    language_code: str | None = "en",
    first_name: str | None = None,
    username: str | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An Update with an edited_message: the user's message `message_id` now reads `text`."""
    sender = user(user_id, first_name, username, language_code)
    if chat_id > 0:
        chat = private_chat(sender)
    else:
        chat = group_chat(chat_id, title, None, thread_id is not None)
    message = _message(chat, sender, text, message_id, None, thread_id, _now() - 30)
    message["edit_date"] = _now()
    update: JSONDict = {"edited_message": message}
    update["update_id"] = update_id if update_id is not None else next(_update_ids)
    return update


def _chat_for(chat_id: int, sender: JSONDict, title: str | None = None) -> JSONDict:
    if chat_id > 0:
        return private_chat(sender if sender["id"] == chat_id else user(chat_id))
    return group_chat(chat_id, title)


def callback(
    user_id: int,
    chat_id: int,
    message_id: int,
    data: str,
    *,
    message: JSONDict | None = None,
    text: str = "…",
    language_code: str | None = "en",
    first_name: str | None = None,
    username: str | None = None,
    query_id: str | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An Update with a callback_query: a user pressed a button on the bot's message.

    `message` is the bot's Message whole (for instance `tg.messages[chat][id].message`); without
    it a message from the bot with `text` is made up.
    """
    sender = user(user_id, first_name, username, language_code)
    if message is None:
        message = _bot_message(_chat_for(chat_id, sender), message_id, text)
    query: JSONDict = {
        "id": query_id or str(next(_query_ids)),
        "from": sender,
        "message": message,
        "chat_instance": str((chat_id * 2654435761) % (1 << 63)),
        "data": data,
    }
    update: JSONDict = {"callback_query": query}
    update["update_id"] = update_id if update_id is not None else next(_update_ids)
    return update


def _administrator(member: JSONDict) -> JSONDict:
    return {
        "user": member,
        "status": "administrator",
        "can_be_edited": False,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": True,
        "can_restrict_members": True,
        "can_promote_members": False,
        "can_change_info": True,
        "can_invite_users": True,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_pin_messages": True,
        "can_manage_topics": False,
    }


def _member_status(status: str) -> JSONDict:
    if status == "administrator":
        return _administrator(bot_user())
    member: JSONDict = {"user": bot_user(), "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _my_chat_member(
    chat_id: int,
    by_user_id: int | None,
    old: str,
    new: str,
    title: str | None,
    chat_type: str | None,
    update_id: int | None,
) -> JSONDict:
    by = user(by_user_id if by_user_id is not None else (chat_id if chat_id > 0 else 1))
    chat = private_chat(by) if chat_id > 0 else group_chat(chat_id, title, chat_type)
    update: JSONDict = {
        "my_chat_member": {
            "chat": chat,
            "from": by,
            "date": _now(),
            "old_chat_member": _member_status(old),
            "new_chat_member": _member_status(new),
        }
    }
    update["update_id"] = update_id if update_id is not None else next(_update_ids)
    return update


def bot_removed(
    chat_id: int,
    by_user_id: int | None = None,
    *,
    kicked: bool | None = None,
    title: str | None = None,
    chat_type: str | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An Update with my_chat_member: the bot was removed from a group, or a user blocked it.

    The new status is "kicked" for a private chat (a block) and a supergroup, "left" for a basic
    group, unless `kicked` says otherwise.
    """
    if kicked is None:
        kicked = chat_id > 0 or chat_id <= SUPERGROUP_BELOW or chat_type == "supergroup"
    new = "kicked" if kicked else "left"
    return _my_chat_member(chat_id, by_user_id, "member", new, title, chat_type, update_id)


def bot_added(
    chat_id: int,
    by_user_id: int | None = None,
    *,
    admin: bool = False,
    title: str | None = None,
    chat_type: str | None = None,
    update_id: int | None = None,
) -> JSONDict:
    """An Update with my_chat_member: the bot was added to a group (as an administrator if
    `admin`), or a user unblocked it in a private chat."""
    old = "kicked" if chat_id > 0 else "left"
    new = "administrator" if admin else "member"
    return _my_chat_member(chat_id, by_user_id, old, new, title, chat_type, update_id)


# --- Telegram's HTML parse mode ---------------------------------------------------------------

_SPACES = " \t\r\n\v\f"
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "pre",
        "code",
        "span",
        "tg-spoiler",
        "blockquote",
    }
)
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _entity_error(message: str) -> ApiError:
    return bad_request(f"can't parse entities: {message}")


def _decode_reference(text: str, i: int) -> tuple[str, int] | None:
    """The character an HTML entity at `i` stands for and the index after it, as Telegram reads
    them (&lt; &gt; &amp; &quot; and numeric ones, the ';' optional); None if it is none."""
    n = len(text)
    j = i + 1
    if j < n and text[j] == "#":
        j += 1
        hexadecimal = j < n and text[j] == "x"
        if hexadecimal:
            j += 1
        start = j
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while j < n and text[j] in digits:
            j += 1
        if start == j:
            return None
        code = int(text[start:j], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or j - i >= 10:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise bad_request(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        character = chr(code)
    else:
        while j < n and text[j].isascii() and text[j].isalpha():
            j += 1
        found = _NAMED_ENTITIES.get(text[i + 1 : j])
        if found is None:
            return None
        character = found
    if j < n and text[j] == ";":
        j += 1
    return character, j


def _link(url: str) -> str | None:
    """The URL Telegram keeps for a text_link, or None when it drops the link."""
    url = url.strip()
    if not url or any(c in url for c in " \t\r\n"):
        return None
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https", "tg", "ton", "ftp"):
            return None
        rest = url[scheme.end() :]
        if scheme.group(1).lower() in ("http", "https") and "/" not in rest:
            url += "/"
        return url
    if re.match(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", url):
        return "http://" + url + ("" if "/" in url else "/")
    return None


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into the plain text and entities a Message carries.

    Follows the server's parser (allowed tags, attributes, error wording with byte offsets).
    `strict` refuses a bare "&" that starts no entity, which Telegram itself keeps as text.
    Raises ApiError (400) as Telegram would.
    """
    n = len(text)
    out: list[str] = []
    u16 = 0
    opened: list[tuple[str, str, int, int]] = []
    entities: list[JSONDict] = []

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def byte(k: int) -> int:
        return len(text[:k].encode("utf-8"))

    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_reference(text, i)
            if decoded is not None:
                out.append(decoded[0])
                u16 += _u16(decoded[0])
                i = decoded[1]
                continue
            if strict:
                raise _entity_error(
                    f'unescaped "&" at byte offset {byte(i)} must be written "&amp;" '
                    "(Telegram keeps it; strict_html=True refuses it)"
                )
        if c != "<":
            out.append(c)
            u16 += _u16(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while i < n and text[i] not in _SPACES and text[i] != ">":
                i += 1
            if i >= n:
                raise _entity_error(f"Unclosed start tag at byte offset {byte(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise _entity_error(f'Unsupported start tag "{tag}" at byte offset {byte(begin)}')
            argument = ""
            while at(i) != ">":
                while i < n and text[i] in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                name_begin = i
                while i < n and text[i] not in _SPACES and text[i] not in "=>":
                    i += 1
                name = text[name_begin:i]
                if not name:
                    raise _entity_error(
                        f'Empty attribute name in the tag "{tag}" at byte offset {byte(begin)}'
                    )
                while i < n and text[i] in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and name == "expandable":
                        argument = "expandable"
                        continue
                    raise _entity_error(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte(begin)}'
                    )
                i += 1
                while i < n and text[i] in _SPACES:
                    i += 1
                if i >= n:
                    raise _entity_error(f'Unclosed start tag "{tag}" at byte offset {byte(begin)}')
                if text[i] not in "'\"":
                    token_begin = i
                    while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if i < n and text[i] not in _SPACES and text[i] != ">":
                        raise _entity_error(
                            f"Unexpected end of name token at byte offset {byte(token_begin)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    chars: list[str] = []
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_reference(text, i)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(text[i])
                        i += 1
                    if i < n:
                        i += 1
                    value = "".join(chars)
                if i >= n:
                    raise _entity_error(f"Unclosed start tag at byte offset {byte(begin)}")
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
            if tag == "span" and argument != "spoiler":
                raise _entity_error(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte(begin)}'
                )
            opened.append((tag, argument, u16, len(out)))
            i += 1
            continue
        if not opened:
            raise _entity_error(f"Unexpected end tag at byte offset {byte(begin)}")
        while i < n and text[i] not in _SPACES and text[i] != ">":
            i += 1
        end_name = text[begin + 2 : i]
        while i < n and text[i] in _SPACES:
            i += 1
        if at(i) != ">":
            raise _entity_error(f"Unclosed end tag at byte offset {byte(begin)}")
        i += 1
        tag, argument, start, out_start = opened.pop()
        if end_name and end_name != tag:
            raise _entity_error(
                f'Unmatched end tag at byte offset {byte(begin)}, expected "</{tag}>", '
                f'found "</{end_name}>"'
            )
        if u16 > start:
            _close_entity(entities, tag, argument, start, u16 - start, "".join(out[out_start:]))
    if opened:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{opened[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(
    entities: list[JSONDict], tag: str, argument: str, offset: int, length: int, inner: str
) -> None:
    last = entities[-1] if entities else None
    same = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_TAGS:
        entities.append({"type": _SIMPLE_TAGS[tag], "offset": offset, "length": length})
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})
    elif tag == "a":
        url = _link(argument or inner)
        if url:
            entities.append({"type": "text_link", "offset": offset, "length": length, "url": url})
    elif tag == "pre":
        if same and last is not None and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        if same and last is not None and last["type"] == "pre" and argument:
            last["language"] = argument
        else:
            entity = {"type": "code", "offset": offset, "length": length}
            if argument:
                entity["language"] = argument
            entities.append(entity)


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram strips leading and trailing whitespace from a message, entities following."""
    stripped = text.lstrip()
    lead = _u16(text[: len(text) - len(stripped)])
    stripped = stripped.rstrip()
    size = _u16(stripped)
    kept = []
    for entity in entities:
        begin = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > begin:
            kept.append({**entity, "offset": begin, "length": end - begin})
    return stripped, kept


# --- the server -------------------------------------------------------------------------------


def _chat_kind(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= SUPERGROUP_BELOW else "group"


def _image_size(data: bytes) -> tuple[int, int]:
    if data.startswith(IMAGE_MAGIC[0]) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 800, 600


class FakeTelegram:
    """The Bot API on a local port, recording calls and refusing as Telegram does."""

    def __init__(
        self,
        *,
        enforce_limits: bool = False,
        limits: Limits | None = None,
        can_read_all_group_messages: bool = False,
        username: str = BOT_USERNAME,
        first_name: str = BOT_NAME,
        bot_id: int = BOT_ID,
        strict_html: bool = True,
    ) -> None:
        self.enforce_limits = enforce_limits
        self.limits = limits or Limits()
        self.can_read_all_group_messages = can_read_all_group_messages
        self.username = username
        self.first_name = first_name
        self.bot_id = bot_id
        self.strict_html = strict_html
        self.calls: list[Call] = []
        self.messages: dict[int, dict[int, Shown]] = {}
        self.withheld: list[JSONDict] = []
        self.answers: dict[str, JSONDict] = {}
        self.webhook: JSONDict | None = None
        self.too_many = 0
        self.too_many_enforced = 0
        self.revoked: set[str] = set()
        self._lock = threading.RLock()
        self._updates: list[JSONDict] = []
        self._last_update_id = 0
        self._allowed: frozenset[str] = DEFAULT_ALLOWED
        self._poll_generation = 0
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._chats: dict[int, JSONDict] = {}
        self._next_message_id: dict[int, int] = {}
        self._queries: set[str] = set()
        self._admin_in: set[int] = set()
        self._blocked: dict[int, str] = {}
        self._injections: list[_Injection] = []
        self._chat_sends: dict[int, deque[float]] = {}
        self._all_sends: deque[float] = deque()
        self._files: dict[str, bytes] = {}
        self._file_ids = itertools.count(1)
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._wakeup: asyncio.Event | None = None
        self.port = 0

    # lifecycle

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """For `Bot(token, base_url=...)`: the method URL is this + token + "/" + method."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For `Bot(token, base_file_url=...)`: file downloads."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> FakeTelegram:
        """Start serving in a background thread; returns self."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._startup())
            except BaseException as exc:  # surfaced to start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._closing = False
        self._thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls are answered with no updates first."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    async def _startup(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        self._wakeup = asyncio.Event()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def _shutdown(self) -> None:
        self._closing = True
        self._wake()
        await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _wake(self) -> None:
        """Wake every long poll (runs in the server loop)."""
        event = self._wakeup
        self._wakeup = asyncio.Event()
        if event is not None:
            event.set()

    def _wake_soon(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._wake)

    # test-side controls

    def push(self, update: JSONDict) -> int | None:
        """Queue an update for getUpdates; returns its update_id.

        An update without an update_id, or with one not above the last pushed, gets the next one,
        so updates are delivered in the order pushed and none falls below a confirmed offset.

        Returns None (and keeps it in `withheld`) for a group message that privacy mode keeps
        from the bot. A my_chat_member update about the bot blocks or unblocks its chat.
        """
        update = copy.deepcopy(update)
        with self._lock:
            self._observe(update)
            if not self._delivered(update):
                self.withheld.append(update)
                return None
            if int(update.get("update_id") or 0) <= self._last_update_id:
                update["update_id"] = self._last_update_id + 1
            update_id = self._last_update_id = int(update["update_id"])
            self._updates.append(update)
        self._wake_soon()
        return update_id

    def click(self, user_id: int, chat_id: int, message_id: int, data: str, **kwargs: Any) -> str:
        """Push a callback query for a button the bot's message now shows; returns the query id.

        Raises ValueError if the message or a button with that callback_data is not shown.
        """
        shown = self.shown_message(chat_id, message_id)
        if not any(data == d for row in shown.buttons for _, d in row):
            raise ValueError(f"message {message_id} in {chat_id} shows no button {data!r}")
        update = callback(user_id, chat_id, message_id, data, message=shown.message, **kwargs)
        self.push(update)
        return str(update["callback_query"]["id"])

    def reply(
        self, chat_id: int, user_id: int, message_id: int, text: str, **kwargs: Any
    ) -> int | None:
        """Push a user's reply to the bot's message `message_id` as it now stands."""
        target = copy.deepcopy(self.shown_message(chat_id, message_id).message)
        if chat_id > 0:
            return self.push(private_message(user_id, text, reply_to=target, **kwargs))
        thread = target.get("message_thread_id")
        return self.push(
            group_message(chat_id, user_id, text, None, thread, reply_to=target, **kwargs)
        )

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next `times` well-formed calls of `method` (to `chat_id` if given) with
        `status` instead of performing them: 429 carries `retry_after`, 403 says the user
        blocked the bot."""
        with self._lock:
            self._injections.append(
                _Injection(method, times, status, retry_after, description, chat_id)
            )

    def block(self, chat_id: int, description: str | None = None) -> None:
        """Answer sends to `chat_id` with 403 as Telegram does after a block or a kick."""
        if description is None:
            description = {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
            }[self._chat(chat_id).get("type", _chat_kind(chat_id))]
        with self._lock:
            self._blocked[chat_id] = description

    def unblock(self, chat_id: int) -> None:
        """Let sends to `chat_id` through again."""
        with self._lock:
            self._blocked.pop(chat_id, None)

    def revoke(self, token: str) -> None:
        """Answer calls with this token 401 Unauthorized, as for a revoked token."""
        self.revoked.add(token)

    # test-side views

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Successful sendMessage and sendPhoto calls, to `chat_id` if given."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.ok
                and c.method in ("sendMessage", "sendPhoto")
                and (chat_id is None or c.chat_id == chat_id)
            ]

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of `method`."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def shown(self, chat_id: int) -> list[Shown]:
        """The bot's messages in a chat as they now stand, oldest first."""
        with self._lock:
            return [self.messages[chat_id][m] for m in sorted(self.messages.get(chat_id, {}))]

    def shown_message(self, chat_id: int, message_id: int) -> Shown:
        """One of the bot's messages as it now stands; KeyError if there is none."""
        with self._lock:
            return self.messages[chat_id][message_id]

    def commands(
        self, language: str | None = None, scope: JSONDict | None = None
    ) -> list[JSONDict]:
        """The commands set with setMyCommands for a language ("" or None: the default)."""
        with self._lock:
            return list(self._commands.get((self._scope_key(scope), language or ""), []))

    @property
    def pending(self) -> list[JSONDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(0.005)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` calls of `method` are recorded; returns them."""
        self.wait_until(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    def confirmed(self) -> bool:
        """Whether every pushed update has been confirmed by an offset."""
        with self._lock:
            return not self._updates

    # HTTP

    async def _download(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._lock:
            data = self._files.get(path)
        if data is None:
            return web.json_response(ApiError(404, "Not Found").envelope(), status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        token = request.match_info["token"]
        raw = request.match_info["method"]
        method = _METHODS.get(raw.lower(), (raw, None))[0]
        params: JSONDict = {}
        files: dict[str, _Upload] = {}
        injected = False
        try:
            if not TOKEN_RE.fullmatch(token):
                raise ApiError(404, "Not Found")
            if token in self.revoked:
                raise ApiError(401, "Unauthorized")
            handler = _METHODS.get(raw.lower(), (raw, None))[1]
            if handler is None:
                raise ApiError(404, "Not Found")
            params, files = await self._read(request)
            if method == "getUpdates":
                result = await self._get_updates(params, token)
            else:
                with self._lock:
                    result = handler(self, params, files, token)
            status, response = 200, {"ok": True, "result": result}
        except _Injected as exc:
            injected = True
            status, response = exc.error.status, exc.error.envelope()
        except ApiError as exc:
            status, response = exc.status, exc.envelope()
        call = Call(
            method,
            params,
            at,
            status,
            response,
            {k: v.data for k, v in files.items()},
            injected,
            self._call_chat(params, response),
        )
        with self._lock:
            self.calls.append(call)
            if status == 429:
                self.too_many += 1
        return web.json_response(response, status=status)

    def _call_chat(self, params: JSONDict, response: JSONDict) -> int | None:
        result = response.get("result")
        if isinstance(result, dict) and isinstance(result.get("chat"), dict):
            return int(result["chat"]["id"])
        chat_id = params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None

    async def _read(self, request: web.Request) -> tuple[JSONDict, dict[str, _Upload]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON encoded request") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON encoded request")
            raw.update(body)
        elif request.body_exists:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = _Upload(value.filename, value.file.read())
                else:
                    raw[name] = value
        params = {name: _decode(name, value) for name, value in raw.items()}
        for name, upload in files.items():
            params[name] = {"filename": upload.filename, "size": len(upload.data)}
        return params, files

    # getUpdates

    async def _get_updates(self, params: JSONDict, token: str) -> list[JSONDict]:
        with self._lock:
            self._take_injection("getUpdates", None)
            if self.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            offset = int(params.get("offset") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
            if "allowed_updates" in params:
                self._allowed = _allowed_updates(params["allowed_updates"])
            self._confirm(offset)
            self._poll_generation += 1
            generation = self._poll_generation
        self._wake()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            with self._lock:
                if generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                self._updates = [u for u in self._updates if self._wanted(u)]
                found = self._updates[:limit]
                remaining = deadline - loop.time()
                if found or remaining <= 0 or self._closing:
                    return copy.deepcopy(found)
                wakeup = self._wakeup
            assert wakeup is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _wanted(self, update: JSONDict) -> bool:
        kinds = [k for k in update if k != "update_id"]
        return not kinds or kinds[0] in self._allowed

    # push bookkeeping

    def _observe(self, update: JSONDict) -> None:
        for key in ("message", "edited_message", "channel_post"):
            message = update.get(key)
            if isinstance(message, dict):
                self._remember_message(message)
        query = update.get("callback_query")
        if isinstance(query, dict):
            self._queries.add(str(query["id"]))
            if isinstance(query.get("message"), dict):
                self._remember_message(query["message"])
        member = update.get("my_chat_member")
        if isinstance(member, dict):
            chat = member["chat"]
            self._chats[int(chat["id"])] = chat
            status = member["new_chat_member"]["status"]
            chat_id = int(chat["id"])
            if status in ("left", "kicked"):
                self._admin_in.discard(chat_id)
                self.block(chat_id)
            else:
                self.unblock(chat_id)
                if status in ("administrator", "creator"):
                    self._admin_in.add(chat_id)
                else:
                    self._admin_in.discard(chat_id)

    def _remember_message(self, message: JSONDict) -> None:
        chat = message.get("chat")
        if not isinstance(chat, dict):
            return
        chat_id = int(chat["id"])
        self._chats[chat_id] = chat
        message_id = int(message.get("message_id", 0))
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), message_id + 1)

    def _delivered(self, update: JSONDict) -> bool:
        """Whether Telegram would deliver this update to a bot in privacy mode."""
        if self.can_read_all_group_messages:
            return True
        message = update.get("message") or update.get("edited_message")
        if not isinstance(message, dict):
            return True
        chat = message.get("chat", {})
        if chat.get("type") not in ("group", "supergroup") or int(chat["id"]) in self._admin_in:
            return True
        if "text" not in message and "caption" not in message:
            return True  # service messages
        replied = message.get("reply_to_message") or {}
        if (replied.get("from") or {}).get("id") == self.bot_id and not replied.get(
            "forum_topic_created"
        ):
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            if entity.get("type") != "bot_command":
                continue
            command = text.encode("utf-16-le")[
                2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])
            ].decode("utf-16-le")
            addressee = command.partition("@")[2]
            if not addressee or addressee.lower() == self.username.lower():
                return True
        return False

    # method plumbing

    def _chat(self, chat_id: int) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        kind = _chat_kind(chat_id)
        if kind == "private":
            return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
        return {"id": chat_id, "type": kind, "title": f"Group {-chat_id}"}

    def _chat_id(self, params: JSONDict) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.startswith("@"):
            for chat_id, chat in self._chats.items():
                if str(chat.get("username", "")).lower() == value[1:].lower():
                    return chat_id
        raise bad_request("chat not found")

    def _take_injection(self, method: str, chat_id: int | None) -> None:
        for injection in self._injections:
            if injection.method != method or injection.remaining <= 0:
                continue
            if injection.chat_id is not None and injection.chat_id != chat_id:
                continue
            injection.remaining -= 1
            self._injections = [i for i in self._injections if i.remaining > 0]
            raise _Injected(_injected_error(injection))

    def _gate(self, method: str, chat_id: int) -> None:
        """Injected failures, blocks and flood limits, in that order, before performing."""
        self._take_injection(method, chat_id)
        if chat_id in self._blocked:
            raise ApiError(403, self._blocked[chat_id])
        if method not in SENDING:
            return
        now = time.monotonic()
        if self.enforce_limits:
            wait = self._flood_wait(chat_id, now)
            if wait is not None:
                self.too_many_enforced += 1
                raise too_many(wait)
        sends = self._chat_sends.setdefault(chat_id, deque())
        sends.append(now)
        self._all_sends.append(now)
        horizon = max(self.limits.group_window, self.limits.per_chat_interval)
        while sends and sends[0] <= now - horizon:
            sends.popleft()
        while self._all_sends and self._all_sends[0] <= now - self.limits.global_window:
            self._all_sends.popleft()

    def _flood_wait(self, chat_id: int, now: float) -> int | None:
        limits = self.limits
        waits = []
        overall = self._all_sends
        while overall and overall[0] <= now - limits.global_window:
            overall.popleft()
        if len(overall) >= limits.global_max:
            waits.append(overall[-limits.global_max] + limits.global_window - now)
        sends = self._chat_sends.get(chat_id)
        if sends:
            window = max(limits.group_window, limits.per_chat_interval)
            while sends and sends[0] <= now - window:
                sends.popleft()
        if sends:
            if now - sends[-1] < limits.per_chat_interval:
                waits.append(sends[-1] + limits.per_chat_interval - now)
            recent = [t for t in sends if t > now - limits.group_window]
            if chat_id < 0 and len(recent) >= limits.group_max:
                waits.append(recent[-limits.group_max] + limits.group_window - now)
        if not waits:
            return None
        return max(1, math.ceil(max(waits)))

    def _formatted(self, text: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSONDict]]:
        if parse_mode in (None, ""):
            found = entities if isinstance(entities, list) else []
        elif not isinstance(parse_mode, str):
            raise bad_request("unsupported parse_mode")
        elif parse_mode.lower() == "html":
            text, found = parse_html(text, strict=self.strict_html)
        elif parse_mode.lower() in ("markdown", "markdownv2"):
            found = []
        else:
            raise bad_request("unsupported parse_mode")
        return _trim(text, found)

    def _message_json(
        self,
        chat_id: int,
        message_id: int,
        thread_id: int | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        chat = self._chat(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "from": bot_user(self.bot_id, self.username, self.first_name),
            "chat": chat,
            "date": _now(),
        }
        if thread_id is not None and chat.get("is_forum"):
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if markup is not None:
            message["reply_markup"] = markup
        return message

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _find(self, params: JSONDict, action: str) -> Shown:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        shown = self.messages.get(chat_id, {}).get(int(message_id))
        if shown is None:
            raise bad_request(f"message to {action} not found")
        return shown

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return json.dumps({"type": "default"})
        return json.dumps(scope, sort_keys=True)

    # methods

    def get_me(self, params: JSONDict, files: dict[str, _Upload], token: str) -> JSONDict:
        """getMe: the bot's User, its id taken from the token as Telegram's is."""
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def send_message(self, params: JSONDict, files: dict[str, _Upload], token: str) -> JSONDict:
        """sendMessage."""
        chat_id = self._chat_id(params)
        raw = params.get("text")
        if not isinstance(raw, str) or not raw:
            raise bad_request("message text is empty")
        text, entities = self._formatted(raw, params.get("parse_mode"), params.get("entities"))
        if not text:
            raise bad_request("message text is empty")
        if _u16(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = _markup(params.get("reply_markup"))
        thread_id = params.get("message_thread_id")
        self._gate("sendMessage", chat_id)
        message_id = self._new_message_id(chat_id)
        message = self._message_json(chat_id, message_id, thread_id, markup)
        message["text"] = text
        if entities:
            message["entities"] = entities
        self.messages.setdefault(chat_id, {})[message_id] = Shown(
            chat_id,
            message_id,
            text,
            entities,
            markup,
            raw,
            params.get("parse_mode"),
            thread_id,
            message,
        )
        return copy.deepcopy(message)

    def send_photo(self, params: JSONDict, files: dict[str, _Upload], token: str) -> JSONDict:
        """sendPhoto: an uploaded file, a file_id this server gave out, or an http(s) URL."""
        chat_id = self._chat_id(params)
        photo: bytes | str
        value = params.get("photo")
        if "photo" in files:
            photo = files["photo"].data
        elif isinstance(value, str) and value.startswith("attach://") and value[9:] in files:
            photo = files[value[9:]].data
        elif isinstance(value, str) and value:
            if value in self._files:
                photo = self._files[value]
            elif re.match(r"https?://", value):
                photo = value
            else:
                raise bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise bad_request("there is no photo in the request")
        if isinstance(photo, bytes) and (not photo or not photo.startswith(IMAGE_MAGIC)):
            raise bad_request("IMAGE_PROCESS_FAILED")
        caption, entities = "", []
        if isinstance(params.get("caption"), str) and params["caption"]:
            caption, entities = self._formatted(
                params["caption"], params.get("parse_mode"), params.get("caption_entities")
            )
            if _u16(caption) > MAX_CAPTION:
                raise bad_request("message caption is too long")
        markup = _markup(params.get("reply_markup"))
        thread_id = params.get("message_thread_id")
        self._gate("sendPhoto", chat_id)
        message_id = self._new_message_id(chat_id)
        message = self._message_json(chat_id, message_id, thread_id, markup)
        message["photo"] = self._photo_sizes(photo)
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        self.messages.setdefault(chat_id, {})[message_id] = Shown(
            chat_id,
            message_id,
            caption or None,
            entities,
            markup,
            params.get("caption"),
            params.get("parse_mode"),
            thread_id,
            message,
            photo=photo,
        )
        return copy.deepcopy(message)

    def send_document(self, params: JSONDict, files: dict[str, _Upload], token: str) -> JSONDict:
        """sendDocument: an uploaded file (multipart, or attach://name), with a caption."""
        chat_id = self._chat_id(params)
        upload = files.get("document")
        value = params.get("document")
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[9:])
        if upload is None:
            raise bad_request("there is no document in the request")
        if not upload.data:
            raise bad_request("file must be non-empty")
        caption, entities = "", []
        if isinstance(params.get("caption"), str) and params["caption"]:
            caption, entities = self._formatted(
                params["caption"], params.get("parse_mode"), params.get("caption_entities")
            )
            if _u16(caption) > MAX_CAPTION:
                raise bad_request("message caption is too long")
        thread_id = params.get("message_thread_id")
        self._gate("sendDocument", chat_id)
        message_id = self._new_message_id(chat_id)
        message = self._message_json(chat_id, message_id, thread_id, None)
        number = next(self._file_ids)
        message["document"] = {
            "file_id": f"BQACAgQAAxkBAAI{number:06d}",
            "file_unique_id": f"AgAD{number:06d}",
            "file_name": upload.filename or "document",
            "file_size": len(upload.data),
        }
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        self.messages.setdefault(chat_id, {})[message_id] = Shown(
            chat_id,
            message_id,
            caption or None,
            entities,
            None,
            params.get("caption"),
            params.get("parse_mode"),
            thread_id,
            message,
            document=upload.data,
            file_name=upload.filename,
        )
        return copy.deepcopy(message)

    def _photo_sizes(self, photo: bytes | str) -> list[JSONDict]:
        data = photo if isinstance(photo, bytes) else b""
        width, height = _image_size(data) if data else (800, 600)
        number = next(self._file_ids)
        sizes = []
        for suffix, scale in (("s", min(1.0, 90 / max(width, height, 1))), ("x", 1.0)):
            file_id = f"AgACAgQAAxkBAAI{number:06d}{suffix}"
            self._files[file_id] = data
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{number:06d}{suffix}",
                    "file_size": len(data),
                    "width": max(1, round(width * scale)),
                    "height": max(1, round(height * scale)),
                }
            )
        return sizes

    def get_file(self, params: JSONDict, files: dict[str, _Upload], token: str) -> JSONDict:
        """getFile: a path under base_file_url for a photo this server stored."""
        file_id = params.get("file_id")
        if not isinstance(file_id, str) or file_id not in self._files:
            raise bad_request("invalid file_id")
        path = f"photos/{file_id}.jpg"
        self._files[path] = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"AQAD{file_id[-7:]}",
            "file_size": len(self._files[file_id]),
            "file_path": path,
        }

    def edit_message_text(
        self, params: JSONDict, files: dict[str, _Upload], token: str
    ) -> JSONDict:
        """editMessageText; without reply_markup the inline keyboard goes, as on Telegram."""
        raw = params.get("text")
        if not isinstance(raw, str) or not raw:
            raise bad_request("message text is empty")
        shown = self._find(params, "edit")
        if shown.photo is not None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(raw, params.get("parse_mode"), params.get("entities"))
        if not text:
            raise bad_request("message text is empty")
        if _u16(text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = _markup(params.get("reply_markup"))
        if text == shown.text and entities == shown.entities and markup == shown.reply_markup:
            raise _not_modified()
        self._gate("editMessageText", shown.chat_id)
        shown.text, shown.entities, shown.reply_markup = text, entities, markup
        shown.sent_text, shown.parse_mode = raw, params.get("parse_mode")
        return self._edited(shown, {"text": text, "entities": entities})

    def edit_message_reply_markup(
        self, params: JSONDict, files: dict[str, _Upload], token: str
    ) -> JSONDict:
        """editMessageReplyMarkup; no reply_markup removes the keyboard."""
        shown = self._find(params, "edit")
        markup = _markup(params.get("reply_markup"))
        if markup == shown.reply_markup:
            raise _not_modified()
        self._gate("editMessageReplyMarkup", shown.chat_id)
        shown.reply_markup = markup
        return self._edited(shown, {})

    def _edited(self, shown: Shown, content: JSONDict) -> JSONDict:
        shown.edits += 1
        message = shown.message
        for key, value in content.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        if shown.reply_markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = shown.reply_markup
        message["edit_date"] = _now()
        return copy.deepcopy(message)

    def delete_message(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """deleteMessage."""
        shown = self._find(params, "delete")
        self._gate("deleteMessage", shown.chat_id)
        del self.messages[shown.chat_id][shown.message_id]
        return True

    def send_chat_action(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """sendChatAction: checked and otherwise ignored."""
        chat_id = self._chat_id(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._gate("sendChatAction", chat_id)
        return True

    def answer_callback_query(
        self, params: JSONDict, files: dict[str, _Upload], token: str
    ) -> bool:
        """answerCallbackQuery: once per pushed callback query."""
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        if query_id not in self._queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._take_injection("answerCallbackQuery", None)
        self._queries.discard(query_id)
        self.answers[query_id] = params
        return True

    def set_my_commands(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """setMyCommands, kept per scope and language."""
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        language = params.get("language_code") or ""
        if language and not LANGUAGE_RE.fullmatch(str(language)):
            raise bad_request("invalid language code specified")
        self._take_injection("setMyCommands", None)
        key = (self._scope_key(params.get("scope")), str(language))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def get_my_commands(
        self, params: JSONDict, files: dict[str, _Upload], token: str
    ) -> list[JSONDict]:
        """getMyCommands."""
        return self.commands(params.get("language_code"), params.get("scope"))

    def delete_my_commands(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """deleteMyCommands."""
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    def set_webhook(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """setWebhook (http accepted besides https, for local tests); an empty url removes it."""
        url = params.get("url") or ""
        if not url:
            return self.delete_webhook(params, files, token)
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_RE.fullmatch(str(secret)):
            raise bad_request("bad webhook: Secret token contains unallowed characters")
        connections = params.get("max_connections")
        if connections is not None and not 1 <= int(connections) <= 100:
            raise bad_request("bad webhook: Max connections must be between 1 and 100")
        self._take_injection("setWebhook", None)
        if params.get("drop_pending_updates"):
            self._updates = []
        if "allowed_updates" in params:
            self._allowed = _allowed_updates(params["allowed_updates"])
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": int(connections or 40),
        }
        self._poll_generation += 1
        self._wake_soon()
        return True

    def delete_webhook(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """deleteWebhook."""
        self._take_injection("deleteWebhook", None)
        if params.get("drop_pending_updates"):
            self._updates = []
        self.webhook = None
        return True

    def get_webhook_info(self, params: JSONDict, files: dict[str, _Upload], token: str) -> JSONDict:
        """getWebhookInfo."""
        info: JSONDict = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            info["ip_address"] = "127.0.0.1"
            if self._allowed != DEFAULT_ALLOWED:
                info["allowed_updates"] = sorted(self._allowed)
        return info

    def log_out(self, params: JSONDict, files: dict[str, _Upload], token: str) -> bool:
        """logOut / close: accepted."""
        return True


class _Injected(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.description)
        self.error = error


def _injected_error(injection: _Injection) -> ApiError:
    if injection.status == 429:
        return too_many(injection.retry_after)
    if injection.description is not None:
        return ApiError(injection.status, injection.description)
    if injection.status == 403:
        return ApiError(403, "Forbidden: bot was blocked by the user")
    if injection.status == 400:
        return bad_request("injected failure")
    try:
        phrase = HTTPStatus(injection.status).phrase
    except ValueError:
        phrase = "Error"
    return ApiError(injection.status, phrase)


def _not_modified() -> ApiError:
    return bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


def _allowed_updates(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        return DEFAULT_ALLOWED
    return frozenset(str(v) for v in value)


def _decode(name: str, value: Any) -> Any:
    """A parameter as Telegram reads it: form values are strings, objects are JSON in them."""
    if not isinstance(value, str):
        return value
    if name == "chat_id":
        if re.fullmatch(r"-?\d+", value):
            return int(value)
        if value.startswith("@"):
            return value
        raise bad_request("chat not found")
    if name in INT_PARAMS:
        try:
            return int(value) if value.strip() else None
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None
    if name in BOOL_PARAMS:
        return value.strip().lower() in ("true", "1")
    if name in JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise bad_request(f"can't parse {what} JSON object") from None
    if name not in TEXT_PARAMS and value[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _markup(value: Any) -> JSONDict | None:
    """Check reply_markup as Telegram does; the inline keyboard a Message carries, or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        if not any(k in value for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return None
    rows = value["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    if sum(len(row) for row in rows) > 100:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not any(k in button for k in BUTTON_ACTIONS):
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
    if not any(rows):
        return None
    return {"inline_keyboard": rows}


_Handler = Callable[[FakeTelegram, JSONDict, dict[str, _Upload], str], Any]


def _get_updates_placeholder(
    tg: FakeTelegram, params: JSONDict, files: dict[str, _Upload], token: str
) -> Any:
    raise AssertionError("getUpdates is served asynchronously")


_METHODS: dict[str, tuple[str, _Handler]] = {
    name.lower(): (name, handler)
    for name, handler in (
        ("getMe", FakeTelegram.get_me),
        ("getUpdates", _get_updates_placeholder),
        ("sendMessage", FakeTelegram.send_message),
        ("sendPhoto", FakeTelegram.send_photo),
        ("sendDocument", FakeTelegram.send_document),
        ("getFile", FakeTelegram.get_file),
        ("editMessageText", FakeTelegram.edit_message_text),
        ("editMessageReplyMarkup", FakeTelegram.edit_message_reply_markup),
        ("deleteMessage", FakeTelegram.delete_message),
        ("sendChatAction", FakeTelegram.send_chat_action),
        ("answerCallbackQuery", FakeTelegram.answer_callback_query),
        ("setMyCommands", FakeTelegram.set_my_commands),
        ("getMyCommands", FakeTelegram.get_my_commands),
        ("deleteMyCommands", FakeTelegram.delete_my_commands),
        ("setWebhook", FakeTelegram.set_webhook),
        ("deleteWebhook", FakeTelegram.delete_webhook),
        ("getWebhookInfo", FakeTelegram.get_webhook_info),
        ("logOut", FakeTelegram.log_out),
        ("close", FakeTelegram.log_out),
    )
}
