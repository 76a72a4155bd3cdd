"""A local server speaking the Slack Web API and the Socket Mode protocol as Slack does, for tests.

    with FakeSlack() as fs:
        client = AsyncWebClient(BOT_TOKEN, base_url=fs.base_url)
        await client.chat_postMessage(channel="C_GENERAL", text="Hello")
        assert fs.posted("C_GENERAL")[0].params["text"] == "Hello"

The server runs an aiohttp application in its own thread and event loop on 127.0.0.1 (a free
port). Web API methods live under `base_url` (".../api/"; slack_sdk joins it with the method name).
It reads requests the way slack_sdk sends them: chat.* and views.* as a JSON body, the other
methods as a query string (AsyncWebClient) or a form body (WebClient), uploads as raw bytes; the
token comes as `Authorization: Bearer ...` (or a `token` parameter). Every call is recorded in
`fs.calls`.

Answers are Slack's: HTTP 200 with `{"ok": true, ...}` or `{"ok": false, "error": "..."}` (with
`response_metadata.messages` for argument errors), 429 with `Retry-After` and `"ratelimited"`.

* Tokens: only `bot_token` for Web API methods and `app_token` for apps.connections.open;
  no token is `not_authed`, another token `invalid_auth`, the wrong kind `not_allowed_token_type`,
  a revoked one `token_revoked`.
* Channels: any id shaped like one (C..., G..., D...) exists; a user id (U..., W...) as `channel`
  posts to that user's DM (the D... id that conversations.open gives). `remove_bot(channel)` makes
  sends there `not_in_channel`.
* Messages get unique, increasing `ts` ("1700000000.000100"); blocks are checked lightly (types,
  the 50-block limit, text lengths, duplicate ids) and missing block_id / action_id are filled in
  as Slack does. `fs.messages[channel][ts]` shows a message with its edits.
* views.open needs a trigger_id that Slack issued (`fs.trigger()` or `trigger_id()`): one older
  than 3 s is `expired_trigger_id`, one already used `exchanged_trigger_id`, a made-up one
  `invalid_trigger_id`.
* users.info returns `locale` only with `include_locale=true`, as Slack does.
* files_upload_v2: files.getUploadURLExternal hands out an upload URL on this server, the bytes
  are POSTed there, files.completeUploadExternal shares them (see `fs.uploads`).
* response_url: the `fs.slash_command`, `fs.click` and `fs.submission` payloads carry a
  response_url on this server; what is posted there is recorded in `fs.responses` and applied
  (ephemeral, in_channel, replace_original, delete_original).
* Socket Mode: apps.connections.open returns a one-use `ws://` URL; on connect the server sends
  `hello`; `send_envelope` delivers envelopes and `fs.acks` records the acks (with payloads).

Failure injection: `fail_next(method, ...)` answers the next well-formed calls with 429 (or an
`ok: false` error); `enforce_limits=True` allows one chat.postMessage a second per channel.

Not emulated: channel names, membership other than `remove_bot`, message formatting (mrkdwn is
kept as sent), attachments beyond being accepted, Events API delivery by HTTP (tests POST the
signed requests built here to the app themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

__all__ = [
    "APP_ID",
    "APP_TOKEN",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "Ack",
    "Button",
    "Call",
    "Envelope",
    "Ephemeral",
    "FakeSlack",
    "HookResponse",
    "Message",
    "Upload",
    "app_mention_event",
    "block_action",
    "envelope_type",
    "event_callback",
    "http_body",
    "message_event",
    "new_ts",
    "sign",
    "signed_request",
    "slash_command",
    "trigger_id",
    "url_verification",
    "view_submission",
]

JSONDict = dict[str, Any]

TEAM_ID = "T_TEAM"
TEAM_NAME = "Polder Test"
TEAM_DOMAIN = "polder-test"
APP_ID = "A_APP"
BOT_ID = "B_BOT"
BOT_USER_ID = "U_BOT"
BOT_NAME = "polder"
BOT_TOKEN = "xoxb-1000000001-2000000002-PolderFakeSlackBotToken0"
APP_TOKEN = "xapp-1-A_APP-3000000003-polderfakeslackapptoken000000000000000000000000000"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VERIFICATION_TOKEN = "PolderVerificationToken0"
SCOPES = (
    "app_mentions:read,channels:history,chat:write,commands,files:write,groups:history,"
    "im:history,im:write,users:read"
)

TRIGGER_TTL = 3.0
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
MAX_SECTION_TEXT = 3000

CHANNEL_RE = re.compile(r"[CGD][A-Z0-9_]+")
USER_RE = re.compile(r"[UW][A-Z0-9_]+")
TS_RE = re.compile(r"\d+\.\d+")
TRIGGER_RE = re.compile(r"(\d+)\.(\d+)\.([0-9a-f]{20})")
JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata", "user_auth_blocks"})
BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
        "call",
    }
)
INTERACTIVE_ELEMENTS = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "timepicker",
        "email_text_input",
        "number_input",
        "plain_text_input",
        "url_text_input",
        "rich_text_input",
        "file_input",
        "overflow",
        "radio_buttons",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "workflow_button",
    }
)
INTERACTIVE_TYPES = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "dialog_submission",
    }
)


class SlackError(Exception):
    """A refusal: Slack's error code, the HTTP status and what else the body carries."""

    def __init__(
        self,
        error: str,
        status: int = 200,
        *,
        retry_after: int | None = None,
        messages: list[str] | None = None,
        extra: JSONDict | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.messages = messages
        self.extra = extra or {}

    def body(self) -> JSONDict:
        """The response body Slack sends for this error."""
        body: JSONDict = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body

    def headers(self) -> dict[str, str]:
        """Response headers: Retry-After on a 429."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class _Injected(SlackError):
    pass


def _invalid(*messages: str) -> SlackError:
    return SlackError("invalid_arguments", messages=[f"[ERROR] {m}" for m in messages])


# --- ids ----------------------------------------------------------------------------------------

_ts_lock = threading.Lock()
_last_ts_us = 0
_event_ids = itertools.count(0x10000000)
_trigger_counter = itertools.count(1)


def new_ts() -> str:
    """A message timestamp like Slack's ("1700000000.000100"): unique and increasing."""
    global _last_ts_us
    with _ts_lock:
        _last_ts_us = max(_last_ts_us + 1, int(time.time() * 1_000_000))
        value = _last_ts_us
    return f"{value // 1_000_000}.{value % 1_000_000:06d}"


def _event_id() -> str:
    return f"Ev{next(_event_ids):08X}"


def _trigger_digest(issued_ms: int, number: int) -> str:
    return hashlib.sha256(f"fake-slack:{issued_ms}.{number}".encode()).hexdigest()[:20]


def trigger_id(issued_at: float | None = None) -> str:
    """A trigger_id as Slack issues with an interaction, issued at `issued_at` (default now).

    The fake server accepts it once in views.open while it is younger than 3 s.
    """
    issued_ms = int((time.time() if issued_at is None else issued_at) * 1000)
    number = next(_trigger_counter)
    return f"{issued_ms}.{number}.{_trigger_digest(issued_ms, number)}"


_issue_trigger = trigger_id


def _trigger_issued_at(value: str) -> float | None:
    match = TRIGGER_RE.fullmatch(value)
    if match is None:
        return None
    issued_ms, number = int(match.group(1)), int(match.group(2))
    if match.group(3) != _trigger_digest(issued_ms, number):
        return None
    return issued_ms / 1000


def _short_id(*parts: Any) -> str:
    digest = hashlib.sha1(":".join(str(p) for p in parts).encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:5])


# --- signing and HTTP bodies --------------------------------------------------------------------


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The v0 signature headers Slack sends with `body` (timestamp default: now)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = f"v0:{ts}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def envelope_type(payload: JSONDict) -> str:
    """The Socket Mode envelope type a payload travels in."""
    kind = payload.get("type")
    if kind in ("event_callback", "app_rate_limited"):
        return "events_api"
    if kind in INTERACTIVE_TYPES:
        return "interactive"
    if "command" in payload:
        return "slash_commands"
    raise ValueError(f"no envelope type for a payload of type {kind!r}")


def http_body(payload: JSONDict) -> tuple[bytes, str]:
    """The body and Content-Type Slack POSTs to the Request URL for a payload.

    Events as JSON, slash commands as form fields, interactions as a form with `payload=<json>`.
    """
    if payload.get("type") in ("event_callback", "url_verification", "app_rate_limited"):
        return json.dumps(payload).encode(), "application/json"
    if payload.get("type") in INTERACTIVE_TYPES:
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
        return body.encode(), "application/x-www-form-urlencoded"
    if "command" in payload:
        return urlencode({k: str(v) for k, v in payload.items()}).encode(), (
            "application/x-www-form-urlencoded"
        )
    raise ValueError(f"no HTTP body for a payload of type {payload.get('type')!r}")


def signed_request(
    payload: JSONDict,
    secret: str = SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of Slack's POST to the app's Request URL, signed with `secret`.

    `retry_num` adds X-Slack-Retry-Num / X-Slack-Retry-Reason as on a redelivered event.
    """
    body, content_type = http_body(payload)
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    headers.update(sign(body, secret, timestamp))
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return body, headers


# --- payload builders ---------------------------------------------------------------------------


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def url_verification(
    challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
) -> JSONDict:
    """The url_verification request Slack sends when the Request URL is set."""
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def event_callback(
    event: JSONDict,
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
    bot_user_id: str = BOT_USER_ID,
) -> JSONDict:
    """An Events API event_callback wrapping `event` (the HTTP body; the events_api payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or _event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{_short_id(event_id, time.time())}",
    }


def _rich_text(text: str, seed: str) -> list[JSONDict]:
    elements: list[JSONDict] = []
    for part in re.split(r"(<@[UW][A-Z0-9_]+>)", text):
        if not part:
            continue
        mention = re.fullmatch(r"<@([UW][A-Z0-9_]+)>", part)
        if mention:
            elements.append({"type": "user", "user_id": mention.group(1)})
        else:
            elements.append({"type": "text", "text": part})
    return [
        {
            "type": "rich_text",
            "block_id": _short_id(seed),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def message_event(
    channel: str,
    user: str,
    text: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
    *,
    parent_user_id: str | None = None,
    team: str = TEAM_ID,
) -> JSONDict:
    """A `message` event: a user's message in a channel, a thread reply if `thread_ts`.

    `channel_type` defaults from the id: D... "im", G... "group", else "channel".
    """
    ts = ts or new_ts()
    event: JSONDict = {
        "user": user,
        "type": "message",
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "team": team,
        "blocks": _rich_text(text, ts),
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type or _channel_type(channel),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = parent_user_id or BOT_USER_ID
    return event


def app_mention_event(
    channel: str,
    user: str,
    text: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    *,
    bot_user_id: str = BOT_USER_ID,
    team: str = TEAM_ID,
) -> JSONDict:
    """An `app_mention` event; the text is prefixed with "<@bot>" unless it mentions the bot."""
    mention = f"<@{bot_user_id}>"
    if mention not in text:
        text = f"{mention} {text}".rstrip()
    ts = ts or new_ts()
    event: JSONDict = {
        "type": "app_mention",
        "user": user,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "team": team,
        "blocks": _rich_text(text, ts),
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def _response_url(kind: str, team_id: str = TEAM_ID) -> str:
    return f"https://hooks.slack.com/{kind}/{team_id}/{next(_trigger_counter)}/{uuid.uuid4().hex}"


def slash_command(
    command: str = "/polder",
    text: str = "",
    *,
    user_id: str,
    channel_id: str,
    user_name: str | None = None,
    channel_name: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> JSONDict:
    """A slash command's fields as Slack sends them (form fields over HTTP, a dict in Socket Mode).

    The default response_url points at hooks.slack.com; `fs.slash_command` gives one on the fake.
    """
    if channel_name is None:
        channel_name = "directmessage" if channel_id.startswith("D") else channel_id.lower()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or _response_url("commands", team_id),
        "trigger_id": trigger_id or _issue_trigger(),
    }


def _user_ref(user: str, user_name: str | None, team_id: str) -> JSONDict:
    name = user_name or user.lower()
    return {"id": user, "username": name, "name": name, "team_id": team_id}


def block_action(
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str | None = None,
    *,
    block_id: str | None = None,
    message: JSONDict | None = None,
    text: str = "…",
    button_text: str = "Button",
    user_name: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
    thread_ts: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> JSONDict:
    """A block_actions interaction: `user` pressed button `action_id` on the bot's message.

    `message` is the bot's message as Slack shows it (`fs.messages[channel][ts].as_json()`);
    without it one with `text` is made up. `fs.click` builds this from a posted message.
    """
    if message is None:
        message = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": message_ts,
            "bot_id": BOT_ID,
            "app_id": api_app_id,
            "text": text,
            "team": team_id,
            "blocks": [],
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
    action: JSONDict = {
        "action_id": action_id,
        "block_id": block_id or _short_id(message_ts, action_id),
        "text": {"type": "plain_text", "text": button_text, "emoji": True},
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    container: JSONDict = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return {
        "type": "block_actions",
        "user": _user_ref(user, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or _issue_trigger(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url or _response_url("actions", team_id),
        "actions": [action],
    }


def view_submission(
    user: str,
    callback_id: str,
    state_values: JSONDict,
    private_metadata: str = "",
    *,
    view_id: str | None = None,
    hash: str | None = None,
    blocks: list[JSONDict] | None = None,
    title: str = "Polder",
    user_name: str | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> JSONDict:
    """A view_submission interaction; `state_values` is {block_id: {action_id: {type, value |
    selected_option | selected_options}}} as in `view.state.values`.

    `fs.submission` builds one from a view opened on the fake, from plain values.
    """
    view_id = view_id or f"V{_short_id(callback_id, time.time()).upper()}"
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user_ref(user, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _issue_trigger(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state_values},
            "hash": hash or f"{int(time.time())}.{_short_id(view_id)}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


# --- block checks -------------------------------------------------------------------------------


def _text_errors(obj: Any, pointer: str, limit: int, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [f"must provide an object [json-pointer:{pointer}]"]
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in kinds:
        return [f"must be one of {', '.join(kinds)} [json-pointer:{pointer}/type]"]
    if not obj["text"]:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(obj["text"]) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _element_errors(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must provide an object with a type [json-pointer:{pointer}]"]
    errors: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        errors.append(f"must be less than 256 characters [json-pointer:{pointer}/action_id]")
    if element["type"] == "button":
        errors += _text_errors(element.get("text"), f"{pointer}/text", 75, plain_only=True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            errors.append(f"must be less than 2001 characters [json-pointer:{pointer}/value]")
        if element.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be one of primary, danger [json-pointer:{pointer}/style]")
    options = element.get("options")
    if isinstance(options, list):
        if len(options) > 100:
            errors.append(f"no more than 100 items allowed [json-pointer:{pointer}/options]")
        for i, option in enumerate(options):
            errors += _text_errors(
                option.get("text") if isinstance(option, dict) else None,
                f"{pointer}/options/{i}/text",
                75,
            )
            if not isinstance(option, dict) or not isinstance(option.get("value"), str):
                errors.append(f"must provide a string [json-pointer:{pointer}/options/{i}/value]")
    return errors


def _block_errors(blocks: Any, pointer: str, limit: int) -> list[str]:
    """What Slack would say about `blocks`; an empty list when it would take them."""
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            errors.append(f"failed to match all allowed schemas [json-pointer:{at}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
                errors.append(f"must be less than 256 characters [json-pointer:{at}/block_id]")
            elif block_id in block_ids:
                errors.append(f"duplicate block_id [json-pointer:{at}/block_id]")
            else:
                block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{at}]")
            if "text" in block:
                errors += _text_errors(block["text"], f"{at}/text", MAX_SECTION_TEXT)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errors.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
                else:
                    for j, item in enumerate(fields):
                        errors += _text_errors(item, f"{at}/fields/{j}", 2000)
            if "accessory" in block:
                errors += _element_errors(block["accessory"], f"{at}/accessory")
        elif kind == "header":
            errors += _text_errors(block.get("text"), f"{at}/text", 150, plain_only=True)
        elif kind in ("actions", "context"):
            elements = block.get("elements")
            most = 25 if kind == "actions" else 10
            if not isinstance(elements, list) or not elements:
                errors.append(f"must provide an array [json-pointer:{at}/elements]")
                continue
            if len(elements) > most:
                errors.append(f"no more than {most} items allowed [json-pointer:{at}/elements]")
            action_ids: set[str] = set()
            for j, element in enumerate(elements):
                if kind == "actions":
                    errors += _element_errors(element, f"{at}/elements/{j}")
                    found = element.get("action_id") if isinstance(element, dict) else None
                    if isinstance(found, str):
                        if found in action_ids:
                            errors.append(
                                f"duplicate action_id [json-pointer:{at}/elements/{j}/action_id]"
                            )
                        action_ids.add(found)
                elif not isinstance(element, dict) or "type" not in element:
                    errors.append(f"must provide an object [json-pointer:{at}/elements/{j}]")
        elif kind == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                errors.append(f"must provide image_url or slack_file [json-pointer:{at}]")
            alt = block.get("alt_text")
            if not isinstance(alt, str) or not 0 < len(alt) <= 2000:
                errors.append(f"must provide a string [json-pointer:{at}/alt_text]")
        elif kind == "input":
            errors += _text_errors(block.get("label"), f"{at}/label", 2000, plain_only=True)
            element = block.get("element")
            if not isinstance(element, dict) or element.get("type") not in INTERACTIVE_ELEMENTS:
                errors.append(f"must provide a valid element [json-pointer:{at}/element]")
            else:
                errors += _element_errors(element, f"{at}/element")
    return errors


def _with_ids(blocks: list[JSONDict], seed: str) -> list[JSONDict]:
    """The blocks as Slack stores them: a block_id on every block, an action_id on elements."""
    filled = copy.deepcopy(blocks)
    for i, block in enumerate(filled):
        block.setdefault("block_id", _short_id(seed, i))
        elements: list[Any] = []
        if block.get("type") == "actions":
            elements = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                elements.append(block[key])
        for j, element in enumerate(elements):
            if isinstance(element, dict) and element.get("type") in INTERACTIVE_ELEMENTS:
                element.setdefault("action_id", _short_id(seed, i, j, "action"))
    return filled


# --- records ------------------------------------------------------------------------------------


@dataclass
class Call:
    """One recorded Web API request (or "upload": the bytes POSTed to an upload URL).

    `encoding` says how the parameters came: "json" body, "form" (urlencoded) or "multipart"
    body, or "query" (the query string only).
    """

    method: str
    params: JSONDict
    headers: dict[str, str]
    at: float
    status: int
    response: JSONDict
    token: str | None = None
    injected: bool = False
    verb: str = "POST"
    encoding: str = "query"

    @property
    def ok(self) -> bool:
        """Whether Slack answered ok."""
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """Slack's error code of a failed call."""
        return self.response.get("error")


@dataclass(frozen=True)
class Button:
    """A button on a message or in a view."""

    action_id: str
    block_id: str
    text: str
    value: str | None
    url: str | None = None
    style: str | None = None


def _buttons(blocks: list[JSONDict]) -> list[Button]:
    found = []
    for block in blocks:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append(
                    Button(
                        str(element.get("action_id", "")),
                        str(block.get("block_id", "")),
                        str((element.get("text") or {}).get("text", "")),
                        element.get("value"),
                        element.get("url"),
                        element.get("style"),
                    )
                )
    return found


@dataclass
class Message:
    """A message the bot posted, as members now see it (edits applied)."""

    channel: str
    ts: str
    text: str
    blocks: list[JSONDict]
    thread_ts: str | None = None
    metadata: JSONDict | None = None
    edits: int = 0
    edited_ts: str | None = None
    history: list[tuple[str, list[JSONDict]]] = field(default_factory=list)

    def edit(self, text: str, blocks: list[JSONDict] | None) -> None:
        """Apply an edit (blocks None: keep them), remembering the previous version."""
        self.history.append((self.text, self.blocks))
        self.text = text
        if blocks is not None:
            self.blocks = blocks
        self.edits += 1
        self.edited_ts = new_ts()

    @property
    def buttons(self) -> list[Button]:
        """Every button in the blocks, in order."""
        return _buttons(self.blocks)

    def button(self, action_id: str, value: str | None = None) -> Button:
        """The button with this action_id (and value); ValueError if none is shown."""
        for found in self.buttons:
            if found.action_id == action_id and (value is None or found.value == value):
                return found
        raise ValueError(f"message {self.ts} in {self.channel} shows no button {action_id!r}")

    def as_json(self) -> JSONDict:
        """The message object Slack returns and puts in interaction payloads."""
        message: JSONDict = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": self.ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": self.text,
            "team": TEAM_ID,
            "bot_profile": {
                "id": BOT_ID,
                "app_id": APP_ID,
                "name": BOT_NAME,
                "deleted": False,
                "team_id": TEAM_ID,
            },
            "blocks": copy.deepcopy(self.blocks),
        }
        if self.thread_ts is not None:
            message["thread_ts"] = self.thread_ts
            message["parent_user_id"] = BOT_USER_ID
        if self.edited_ts is not None:
            message["edited"] = {"user": BOT_USER_ID, "ts": self.edited_ts}
        if self.metadata:
            message["metadata"] = copy.deepcopy(self.metadata)
        return message


@dataclass
class Ephemeral:
    """An ephemeral message: by chat.postEphemeral or a response_url."""

    channel: str
    user: str
    text: str
    blocks: list[JSONDict]
    thread_ts: str | None
    message_ts: str


@dataclass
class Upload:
    """A file shared through files_upload_v2 (or only uploaded, while `completed` is False)."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass
class HookResponse:
    """A message the app posted to a response_url."""

    url: str
    kind: str
    payload: JSONDict
    at: float


@dataclass
class Envelope:
    """A Socket Mode envelope sent to the app."""

    envelope_id: str
    type: str
    payload: JSONDict
    retry_attempt: int
    at: float


@dataclass
class Ack:
    """The app's acknowledgement of an envelope, with its response payload if any."""

    envelope_id: str
    payload: JSONDict | None
    at: float
    raw: JSONDict


@dataclass
class _Injection:
    method: str
    remaining: int
    status: int
    retry_after: int
    error: str | None
    channel: str | None


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    locale: str
    tz: str
    is_bot: bool = False


@dataclass
class _Hook:
    kind: str
    channel: str
    user: str
    message_ts: str | None


# --- the server ---------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


class FakeSlack:
    """The Slack Web API and Socket Mode on a local port, recording calls and refusing as Slack
    does."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        enforce_limits: bool = False,
        post_interval: float = 1.0,
        trigger_ttl: float = TRIGGER_TTL,
        default_locale: str = "en-US",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.enforce_limits = enforce_limits
        self.post_interval = post_interval
        self.trigger_ttl = trigger_ttl
        self.default_locale = default_locale
        self.calls: list[Call] = []
        self.messages: dict[str, dict[str, Message]] = {}
        self.ephemeral: list[Ephemeral] = []
        self.views: dict[str, JSONDict] = {}
        self.uploads: list[Upload] = []
        self.responses: list[HookResponse] = []
        self.envelopes: dict[str, Envelope] = {}
        self.acks: dict[str, Ack] = {}
        self.socket_received: list[Any] = []
        self.socket_connected = threading.Event()
        self.connections = 0
        self.too_many = 0
        self.too_many_enforced = 0
        self.revoked: set[str] = set()
        self._lock = threading.RLock()
        self._users: dict[str, _User] = {}
        self._ims: dict[str, str] = {}
        self._im_numbers = itertools.count(1)
        self._removed: set[str] = set()
        self._injections: list[_Injection] = []
        self._last_post: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._view_numbers = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._files: dict[str, Upload] = {}
        self._upload_keys: dict[str, str] = {}
        self._hooks: dict[str, _Hook] = {}
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_user(BOT_USER_ID, name=BOT_NAME, real_name="Polder", is_bot=True)

    # lifecycle

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For `AsyncWebClient(token, base_url=...)`: method URLs are this + "chat.postMessage"."""
        return f"{self.url}/api/"

    def start(self) -> FakeSlack:
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

        self._thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close Socket Mode connections cleanly, then stop serving."""
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
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_route("POST", "/upload/v1/{key}", self._upload)
        app.router.add_route("POST", "/hooks/{kind}/{key}", self._hook)
        app.router.add_route("GET", "/link/", self._socket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1000, message=b"server stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _run(self, coroutine: Any, timeout: float = 5.0) -> Any:
        loop = self._loop
        if loop is None:
            coroutine.close()
            raise RuntimeError("FakeSlack is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    # test-side controls

    def trigger(self, age: float = 0.0) -> str:
        """A trigger_id as Slack sends with an interaction, issued `age` seconds ago."""
        return trigger_id(time.time() - age)

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        locale: str | None = None,
        tz: str = "Europe/Amsterdam",
        is_bot: bool = False,
    ) -> None:
        """Give users.info a profile for `user_id` (others get a default one)."""
        with self._lock:
            self._users[user_id] = _User(
                user_id,
                name or user_id.lower(),
                real_name or f"User {user_id}",
                locale or self.default_locale,
                tz,
                is_bot,
            )

    def set_locale(self, user_id: str, locale: str) -> None:
        """The Slack locale users.info reports for `user_id` (e.g. "nl-NL")."""
        with self._lock:
            self._user(user_id).locale = locale

    def im_channel(self, user_id: str) -> str:
        """The id of the bot's DM with a user (what conversations.open returns)."""
        with self._lock:
            if user_id not in self._ims:
                self._ims[user_id] = f"D{next(self._im_numbers):08d}"
            return self._ims[user_id]

    def remove_bot(self, channel: str) -> None:
        """Sends to `channel` get `not_in_channel`, as after the bot was removed."""
        with self._lock:
            self._removed.add(channel)

    def add_bot(self, channel: str) -> None:
        """Undo `remove_bot`."""
        with self._lock:
            self._removed.discard(channel)

    def revoke(self, token: str) -> None:
        """Calls with `token` get `token_revoked`."""
        with self._lock:
            self.revoked.add(token)

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int | None = None,
        retry_after: int = 1,
        *,
        error: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Answer the next `times` well-formed calls of `method` (to `channel` if given) without
        performing them: 429 with Retry-After by default, `ok: false` with `error` (HTTP 200
        unless `status` says otherwise) when `error` is given. "upload" targets upload URLs."""
        if status is None:
            status = 200 if error is not None else 429
        with self._lock:
            self._injections.append(_Injection(method, times, status, retry_after, error, channel))

    # payloads carrying this server's response_url and fresh triggers

    def _new_hook(self, kind: str, channel: str, user: str, message_ts: str | None) -> str:
        key = uuid.uuid4().hex
        with self._lock:
            self._hooks[key] = _Hook(kind, channel, user, message_ts)
        return f"{self.url}/hooks/{kind}/{key}"

    def slash_command(
        self, command: str = "/polder", text: str = "", *, user_id: str, channel_id: str, **kw: Any
    ) -> JSONDict:
        """`slash_command(...)` with a response_url on this server and a fresh trigger_id."""
        kw.setdefault("response_url", self._new_hook("commands", channel_id, user_id, None))
        kw.setdefault("trigger_id", self.trigger())
        return slash_command(command, text, user_id=user_id, channel_id=channel_id, **kw)

    def click(
        self, user: str, channel: str, ts: str, action_id: str, value: str | None = None, **kw: Any
    ) -> JSONDict:
        """A block_actions payload for a button the bot's message now shows (ValueError if it
        shows none), with the message as it stands, a response_url here and a fresh trigger."""
        with self._lock:
            message = self.messages[channel][ts]
            button = message.button(action_id, value)
            shown = message.as_json()
        kw.setdefault("response_url", self._new_hook("actions", channel, user, ts))
        kw.setdefault("trigger_id", self.trigger())
        return block_action(
            user,
            channel,
            ts,
            button.action_id,
            button.value,
            block_id=button.block_id,
            message=shown,
            button_text=button.text,
            **kw,
        )

    def submission(self, view_id: str, user: str, values: JSONDict, **kw: Any) -> JSONDict:
        """A view_submission for a view opened here; `values` maps block_id (or action_id) to a
        plain value: a string for text inputs and single selects (the option's value), a list
        of option values for multi-selects and checkboxes."""
        with self._lock:
            view = copy.deepcopy(self.views[view_id])
        state: JSONDict = {}
        remaining = dict(values)
        for block in view.get("blocks", []):
            element = block.get("element") if block.get("type") == "input" else None
            if not isinstance(element, dict):
                continue
            block_id, action_id = block["block_id"], element["action_id"]
            key = block_id if block_id in remaining else action_id
            if key not in remaining:
                continue
            state[block_id] = {action_id: _state_value(element, remaining.pop(key))}
        if remaining:
            raise ValueError(f"view {view_id} has no input for {sorted(remaining)}")
        return view_submission(
            user,
            view.get("callback_id", ""),
            state,
            view.get("private_metadata", ""),
            view_id=view_id,
            hash=view.get("hash"),
            blocks=view.get("blocks"),
            title=(view.get("title") or {}).get("text", ""),
            **kw,
        )

    # Socket Mode

    def send_envelope(
        self,
        type: str,
        payload: JSONDict,
        retry_attempt: int = 0,
        *,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
    ) -> str:
        """Send an envelope ("events_api", "slash_commands", "interactive") to the newest Socket
        Mode connection; returns its envelope_id. RuntimeError without a connection."""
        envelope_id = envelope_id or str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = type == "slash_commands" or payload.get("type") in (
                "view_submission",
                "block_suggestion",
            )
        envelope: JSONDict = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        at = time.monotonic()
        self._run(self._send_json(envelope))
        with self._lock:
            self.envelopes[envelope_id] = Envelope(
                envelope_id, type, copy.deepcopy(payload), retry_attempt, at
            )
        return envelope_id

    def send(self, payload: JSONDict, retry_attempt: int = 0, **kw: Any) -> str:
        """`send_envelope` with the type the payload travels in."""
        return self.send_envelope(envelope_type(payload), payload, retry_attempt, **kw)

    def retry(self, envelope_id: str, reason: str = "timeout") -> str:
        """Redeliver an events_api envelope's payload as Slack does when no ack came: a new
        envelope with retry_attempt one higher; returns its id."""
        with self._lock:
            sent = self.envelopes[envelope_id]
        return self.send_envelope(
            sent.type, sent.payload, sent.retry_attempt + 1, retry_reason=reason
        )

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message (the client then reconnects)."""
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": "applink-fake-slack"},
        }
        self._run(self._send_json(message, everyone=True))

    def wait_connected(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected; TimeoutError after `timeout`."""
        if not self.socket_connected.wait(timeout):
            raise TimeoutError(f"no Socket Mode connection within {timeout} s")

    async def wait_connected_async(self, timeout: float = 5.0) -> None:
        """`wait_connected` without blocking the caller's event loop."""
        await self.wait_until_async(self.socket_connected.is_set, timeout)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """Wait for the ack of an envelope; TimeoutError after `timeout`."""
        self.wait_until(lambda: envelope_id in self.acks, timeout)
        return self.acks[envelope_id]

    async def wait_for_ack_async(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """`wait_for_ack` without blocking the caller's event loop (a client in the same loop)."""
        await self.wait_until_async(lambda: envelope_id in self.acks, timeout)
        return self.acks[envelope_id]

    def unacked(self) -> list[Envelope]:
        """Envelopes sent and not acknowledged."""
        with self._lock:
            return [e for i, e in self.envelopes.items() if i not in self.acks]

    async def _send_json(self, message: JSONDict, everyone: bool = False) -> None:
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            raise RuntimeError("no Socket Mode connection")
        for ws in live if everyone else live[-1:]:
            await ws.send_str(json.dumps(message))

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            return web.Response(status=401, text="invalid_auth")
        ws = web.WebSocketResponse(timeout=2.0, autoping=True)
        await ws.prepare(request)
        with self._lock:
            self._sockets.append(ws)
            self.connections += 1
            count = len([s for s in self._sockets if not s.closed])
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": count,
                    "debug_info": {
                        "host": "applink-fake-slack",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        self.socket_connected.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._received(message.data)
        finally:
            with self._lock:
                self._sockets.remove(ws)
                if not any(not s.closed for s in self._sockets):
                    self.socket_connected.clear()
        return ws

    def _received(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = data
        with self._lock:
            self.socket_received.append(message)
            if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
                envelope_id = message["envelope_id"]
                if envelope_id not in self.acks:
                    self.acks[envelope_id] = Ack(
                        envelope_id, message.get("payload"), time.monotonic(), message
                    )

    # test-side views

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call of `method`."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[Call]:
        """Successful chat.postMessage calls, to `channel` (an id as the response names it)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.ok
                and c.method == "chat.postMessage"
                and (channel is None or c.response.get("channel") == channel)
            ]

    def shown(self, channel: str) -> list[Message]:
        """The bot's messages in a channel as they now stand, oldest first."""
        with self._lock:
            found = self.messages.get(channel, {})
            return [found[ts] for ts in sorted(found, key=float)]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The bot's replies in a thread, oldest first."""
        return [m for m in self.shown(channel) if m.thread_ts == thread_ts]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(0.005)

    async def wait_until_async(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """`wait_until` for a caller running an event loop."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.005)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least `count` calls of `method` are recorded; returns them."""
        self.wait_until(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    # HTTP plumbing

    async def _read(self, request: web.Request) -> tuple[JSONDict, str]:
        raw: JSONDict = dict(request.query)
        encoding = "query"
        if request.content_type == "application/json":
            encoding = "json"
            try:
                body = await request.json()
            except ValueError:
                raise SlackError("invalid_json") from None
            if not isinstance(body, dict):
                raise SlackError("invalid_json")
            raw.update(body)
        elif request.body_exists and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            if form:
                encoding = "multipart" if request.content_type.startswith("multipart") else "form"
            for name, value in form.items():
                if not isinstance(value, web.FileField):
                    raw[name] = value
        for name in JSON_PARAMS:
            value = raw.get(name)
            if isinstance(value, str) and value.strip():
                try:
                    raw[name] = json.loads(value)
                except ValueError:
                    error = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                    raise SlackError(error) from None
        return raw, encoding

    async def _api(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        method = request.match_info["method"]
        params: JSONDict = {}
        token: str | None = None
        status, extra_headers, injected, encoding = 200, {}, False, "query"
        try:
            params, encoding = await self._read(request)
            authorization = request.headers.get("Authorization", "")
            if authorization.startswith("Bearer "):
                token = authorization[len("Bearer ") :].strip()
                params.pop("token", None)
            else:
                token = params.pop("token", None)
            handler = _METHODS.get(method)
            if handler is None:
                raise SlackError("unknown_method", extra={"req_method": method})
            with self._lock:
                self._authenticate(method, token)
                result = handler(self, params)
            response: JSONDict = {"ok": True, **result}
        except SlackError as exc:
            injected = isinstance(exc, _Injected)
            status, response, extra_headers = exc.status, exc.body(), exc.headers()
        call = Call(
            method,
            params,
            dict(request.headers),
            at,
            status,
            response,
            token,
            injected,
            request.method,
            encoding,
        )
        with self._lock:
            self.calls.append(call)
            if status == 429:
                self.too_many += 1
        headers = {"X-OAuth-Scopes": SCOPES, "X-Accepted-OAuth-Scopes": "", **extra_headers}
        return web.json_response(response, status=status, headers=headers)

    def _authenticate(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token in self.revoked:
            raise SlackError("token_revoked")
        wanted, other = (
            (self.app_token, self.bot_token)
            if method == "apps.connections.open"
            else (self.bot_token, self.app_token)
        )
        if token == wanted:
            return
        if token == other or token.startswith("xapp-") != wanted.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    def _take_injection(self, method: str, channel: str | None) -> None:
        for injection in self._injections:
            if injection.method != method or injection.remaining <= 0:
                continue
            if injection.channel is not None and injection.channel != channel:
                continue
            injection.remaining -= 1
            self._injections = [i for i in self._injections if i.remaining > 0]
            if injection.status == 429:
                raise _Injected("ratelimited", 429, retry_after=injection.retry_after)
            raise _Injected(injection.error or "internal_error", injection.status)

    def _gate(self, method: str, channel: str | None) -> None:
        """Injected failures, removal from the channel and the posting pace, in that order."""
        self._take_injection(method, channel)
        if channel is not None and channel in self._removed:
            raise SlackError("not_in_channel")
        if method != "chat.postMessage" or channel is None:
            return
        now = time.monotonic()
        last = self._last_post.get(channel)
        if self.enforce_limits and last is not None and now - last < self.post_interval:
            self.too_many_enforced += 1
            wait = max(1, math.ceil(last + self.post_interval - now))
            raise SlackError("ratelimited", 429, retry_after=wait)
        self._last_post[channel] = now

    def _channel(self, params: JSONDict, key: str = "channel") -> str:
        value = params.get(key)
        if not isinstance(value, str) or not value:
            raise SlackError("channel_not_found")
        if USER_RE.fullmatch(value):
            return self.im_channel(value)
        if not CHANNEL_RE.fullmatch(value):
            raise SlackError("channel_not_found")
        return value

    def _user(self, user_id: str) -> _User:
        if user_id not in self._users:
            self.add_user(user_id)
        return self._users[user_id]

    def _content(self, params: JSONDict, seed: str) -> tuple[str, list[JSONDict]]:
        """The text and blocks of a message, checked as Slack checks them."""
        text = params.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        blocks = params.get("blocks")
        if blocks in (None, "", []):
            blocks = []
        else:
            errors = _block_errors(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
            if errors:
                raise SlackError(
                    "invalid_blocks",
                    messages=[f"[ERROR] {e}" for e in errors],
                    extra={"errors": errors},
                )
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        return text, _with_ids(blocks, seed)

    @staticmethod
    def _thread_ts(params: JSONDict) -> str | None:
        value = params.get("thread_ts")
        if value in (None, ""):
            return None
        if not TS_RE.fullmatch(str(value)):
            raise SlackError("invalid_thread_ts")
        return str(value)

    # methods

    def auth_test(self, params: JSONDict) -> JSONDict:
        """auth.test: the bot's identity."""
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: JSONDict) -> JSONDict:
        """chat.postMessage."""
        channel = self._channel(params)
        ts = new_ts()
        text, blocks = self._content(params, ts)
        thread_ts = self._thread_ts(params)
        metadata = params.get("metadata") if isinstance(params.get("metadata"), dict) else None
        self._gate("chat.postMessage", channel)
        message = Message(channel, ts, text, blocks, thread_ts, metadata)
        self.messages.setdefault(channel, {})[ts] = message
        return {"channel": channel, "ts": ts, "message": message.as_json()}

    def _find(self, params: JSONDict) -> Message:
        channel = self._channel(params)
        ts = params.get("ts")
        message = self.messages.get(channel, {}).get(str(ts)) if ts else None
        if message is None:
            raise SlackError("message_not_found")
        return message

    def chat_update(self, params: JSONDict) -> JSONDict:
        """chat.update: text and blocks replace the message's (blocks kept if none given)."""
        message = self._find(params)
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        has_blocks = "blocks" in params
        text, blocks = self._content(
            {**params, "blocks": params.get("blocks") if has_blocks else message.blocks},
            f"{message.ts}:{message.edits + 1}",
        )
        self._gate("chat.update", message.channel)
        message.edit(text, blocks if has_blocks else None)
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.as_json(),
        }

    def chat_delete(self, params: JSONDict) -> JSONDict:
        """chat.delete."""
        message = self._find(params)
        self._gate("chat.delete", message.channel)
        del self.messages[message.channel][message.ts]
        return {"channel": message.channel, "ts": message.ts}

    def chat_post_ephemeral(self, params: JSONDict) -> JSONDict:
        """chat.postEphemeral."""
        channel = self._channel(params)
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _invalid("missing required field: user")
        if not USER_RE.fullmatch(user):
            raise SlackError("user_not_found")
        ts = new_ts()
        text, blocks = self._content(params, ts)
        thread_ts = self._thread_ts(params)
        self._gate("chat.postEphemeral", channel)
        self.ephemeral.append(Ephemeral(channel, user, text, blocks, thread_ts, ts))
        return {"message_ts": ts}

    def _check_view(self, view: Any) -> JSONDict:
        if not isinstance(view, dict):
            raise _invalid("missing required field: view")
        kind = view.get("type")
        if kind not in ("modal", "home"):
            raise _invalid("must provide a valid view type [json-pointer:/view/type]")
        errors: list[str] = []
        if kind == "modal":
            errors += _text_errors(view.get("title"), "/view/title", 24, plain_only=True)
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    errors += _text_errors(view[key], f"/view/{key}", 24, plain_only=True)
        errors += _block_errors(view.get("blocks"), "/view/blocks", MAX_VIEW_BLOCKS)
        if len(str(view.get("private_metadata") or "")) > 3000:
            errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
        if len(str(view.get("callback_id") or "")) > 255:
            errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
        blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else []
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if kind == "modal" and has_input and not view.get("submit"):
            errors.append(
                "must provide a submit property when using input blocks [json-pointer:/view]"
            )
        if errors:
            raise _invalid(*errors)
        return view

    def _view_json(self, view: JSONDict, view_id: str, previous: JSONDict | None) -> JSONDict:
        blocks = _with_ids(view.get("blocks") or [], view_id)
        shown: JSONDict = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{_short_id(view_id, time.monotonic())}",
            "title": view.get("title"),
            "clear_on_close": _truthy(view.get("clear_on_close", False)),
            "notify_on_close": _truthy(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return shown

    def _take_trigger(self, params: JSONDict) -> str:
        value = params.get("trigger_id") or params.get("interactivity_pointer")
        if not isinstance(value, str) or not value:
            raise _invalid("missing required field: trigger_id")
        issued = _trigger_issued_at(value)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if value in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if time.time() - issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        return value

    def views_open(self, params: JSONDict, method: str = "views.open") -> JSONDict:
        """views.open: a modal for a fresh, unused trigger_id."""
        trigger = self._take_trigger(params)
        view = self._check_view(params.get("view"))
        self._gate(method, None)
        self._used_triggers.add(trigger)
        view_id = f"V{next(self._view_numbers):08d}"
        shown = self._view_json(view, view_id, None)
        self.views[view_id] = shown
        return {"view": copy.deepcopy(shown)}

    def views_push(self, params: JSONDict) -> JSONDict:
        """views.push: like views.open, on top of the open modal."""
        return self.views_open(params, "views.push")

    def views_update(self, params: JSONDict) -> JSONDict:
        """views.update by view_id or external_id; a stale `hash` is `hash_conflict`."""
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if not view_id and not external_id:
            raise _invalid("missing required field: view_id")
        current = None
        if view_id:
            current = self.views.get(str(view_id))
        else:
            for shown in self.views.values():
                if shown.get("external_id") == external_id:
                    current = shown
        if current is None:
            raise SlackError("not_found")
        view = self._check_view(params.get("view"))
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        self._gate("views.update", None)
        shown = self._view_json(view, current["id"], current)
        self.views[current["id"]] = shown
        return {"view": copy.deepcopy(shown)}

    def views_publish(self, params: JSONDict) -> JSONDict:
        """views.publish: a user's App Home."""
        user = params.get("user_id")
        if not isinstance(user, str) or not user:
            raise _invalid("missing required field: user_id")
        view = self._check_view(params.get("view"))
        self._gate("views.publish", None)
        view_id = f"V{next(self._view_numbers):08d}"
        shown = self._view_json(view, view_id, None)
        self.views[view_id] = shown
        return {"view": copy.deepcopy(shown)}

    def users_info(self, params: JSONDict) -> JSONDict:
        """users.info; `locale` only with include_locale=true, as Slack does."""
        user_id = params.get("user")
        if not isinstance(user_id, str) or not USER_RE.fullmatch(user_id):
            raise SlackError("user_not_found")
        self._gate("users.info", None)
        found = self._user(user_id)
        user: JSONDict = {
            "id": found.id,
            "team_id": TEAM_ID,
            "name": found.name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": found.real_name,
            "tz": found.tz,
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "profile": {
                "real_name": found.real_name,
                "display_name": found.name,
                "real_name_normalized": found.real_name,
                "display_name_normalized": found.name,
                "team": TEAM_ID,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": found.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if found.is_bot:
            user["profile"]["bot_id"] = BOT_ID
        if _truthy(params.get("include_locale")):
            user["locale"] = found.locale
        return {"user": user}

    def conversations_open(self, params: JSONDict) -> JSONDict:
        """conversations.open: the DM (D...) with one user, a group DM (G...) with several."""
        users = params.get("users")
        if isinstance(users, list):
            users = ",".join(users)
        if not users and params.get("channel"):
            return {"channel": {"id": self._channel(params)}, "no_op": True, "already_open": True}
        if not isinstance(users, str) or not users:
            raise SlackError("users_list_not_supplied")
        ids = [u.strip() for u in users.split(",") if u.strip()]
        if not all(USER_RE.fullmatch(u) for u in ids):
            raise SlackError("user_not_found")
        self._gate("conversations.open", None)
        key = ",".join(sorted(ids))
        opened = key in self._ims
        channel = self.im_channel(key) if len(ids) == 1 else self._mpim(key)
        result: JSONDict = {"channel": {"id": channel}}
        if opened:
            result.update(no_op=True, already_open=True)
        return result

    def _mpim(self, key: str) -> str:
        if key not in self._ims:
            self._ims[key] = f"G{next(self._im_numbers):08d}"
        return self._ims[key]

    def files_get_upload_url_external(self, params: JSONDict) -> JSONDict:
        """files.getUploadURLExternal: an upload URL on this server and a file id."""
        filename = params.get("filename")
        if not isinstance(filename, str) or not filename:
            raise _invalid("missing required field: filename")
        try:
            length = int(params.get("length", ""))
        except (TypeError, ValueError):
            raise _invalid("missing required field: length") from None
        if length <= 0:
            raise _invalid("must be greater than 0 [json-pointer:/length]")
        self._gate("files.getUploadURLExternal", None)
        file_id = f"F{next(self._file_numbers):08d}"
        key = uuid.uuid4().hex
        alt = params.get("alt_txt")
        upload = Upload(file_id, filename, length, alt, params.get("snippet_type"))
        self._files[file_id] = upload
        self._upload_keys[key] = file_id
        return {"upload_url": f"{self.url}/upload/v1/{key}", "file_id": file_id}

    def files_complete_upload_external(self, params: JSONDict) -> JSONDict:
        """files.completeUploadExternal: shares uploaded files in channel_id (or `channels`)."""
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise _invalid("missing required field: files")
        uploads = []
        for item in files:
            upload = self._files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if upload is None or upload.data is None or upload.completed:
                raise SlackError("file_not_found")
            uploads.append((upload, item))
        channels = []
        if params.get("channel_id"):
            channels.append(self._channel(params, "channel_id"))
        for name in str(params.get("channels") or "").split(","):
            if name.strip():
                channels.append(self._channel({"channel": name.strip()}))
        thread_ts = self._thread_ts(params)
        for channel in channels or [None]:
            self._gate("files.completeUploadExternal", channel)
        shared = []
        for upload, item in uploads:
            upload.title = item.get("title") or upload.filename
            upload.channel = channels[0] if channels else None
            upload.thread_ts = thread_ts
            upload.initial_comment = params.get("initial_comment")
            upload.completed = True
            self.uploads.append(upload)
            shared.append(self._file_json(upload))
        return {"files": shared}

    def _file_json(self, upload: Upload) -> JSONDict:
        kind = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else "binary"
        mimetype = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(
            kind, "application/octet-stream"
        )
        return {
            "id": upload.file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": upload.filename,
            "title": upload.title,
            "mimetype": mimetype,
            "filetype": kind,
            "user": BOT_USER_ID,
            "size": len(upload.data or b""),
            "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{upload.file_id}/{upload.filename}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{upload.file_id}/{upload.filename}",
            "alt_txt": upload.alt_txt,
            "shares": {},
            "channels": [upload.channel] if upload.channel else [],
        }

    def apps_connections_open(self, params: JSONDict) -> JSONDict:
        """apps.connections.open (app-level token): a one-use Socket Mode URL."""
        self._gate("apps.connections.open", None)
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={APP_ID}"}

    # upload URLs and response_urls

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        key = request.match_info["key"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = form.get("file") or next(iter(form.values()), None)
            data = part.file.read() if isinstance(part, web.FileField) else str(part or "").encode()
        else:
            data = await request.read()
        status, text = 200, f"OK - {len(data)}"
        with self._lock:
            file_id = self._upload_keys.get(key)
            try:
                self._take_injection("upload", None)
                if file_id is None:
                    status, text = 404, "Not Found"
                else:
                    self._files[file_id].data = data
            except SlackError as exc:
                status, text = exc.status, exc.error
            self.calls.append(
                Call(
                    "upload",
                    {"file_id": file_id, "size": len(data)},
                    dict(request.headers),
                    at,
                    status,
                    {"ok": status == 200, "body": text},
                    encoding="raw",
                )
            )
        return web.Response(status=status, text=text, content_type="text/plain")

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        try:
            payload = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        with self._lock:
            hook = self._hooks.get(key)
            if hook is None or not isinstance(payload, dict):
                return web.Response(status=404, text="no_active_hooks")
            self.responses.append(
                HookResponse(str(request.url), hook.kind, payload, time.monotonic())
            )
            self._apply_hook(hook, payload)
        return web.Response(text="ok", content_type="text/plain")

    def _apply_hook(self, hook: _Hook, payload: JSONDict) -> None:
        """What Slack does with a response_url message."""
        message = self.messages.get(hook.channel, {}).get(hook.message_ts or "")
        if message is not None and _truthy(payload.get("delete_original")):
            del self.messages[hook.channel][message.ts]
            return
        text = str(payload.get("text") or "")
        blocks = payload.get("blocks") if isinstance(payload.get("blocks"), list) else []
        if message is not None and _truthy(payload.get("replace_original")):
            message.edit(text, _with_ids(blocks, f"{message.ts}:{message.edits + 1}"))
            return
        ts = new_ts()
        thread_ts = payload.get("thread_ts")
        if payload.get("response_type") == "in_channel":
            posted = Message(hook.channel, ts, text, _with_ids(blocks, ts), thread_ts)
            self.messages.setdefault(hook.channel, {})[ts] = posted
        else:
            self.ephemeral.append(
                Ephemeral(hook.channel, hook.user, text, _with_ids(blocks, ts), thread_ts, ts)
            )


def _state_value(element: JSONDict, value: Any) -> JSONDict:
    """An input element's entry in view.state.values for a plain value."""
    kind = element.get("type")

    def option(wanted: Any) -> JSONDict:
        for found in element.get("options") or []:
            if found.get("value") == wanted:
                return copy.deepcopy(found)
        raise ValueError(f"{element.get('action_id')} has no option {wanted!r}")

    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": option(value) if value is not None else None}
    if kind in ("multi_static_select", "checkboxes"):
        return {"type": kind, "selected_options": [option(v) for v in value]}
    if kind in ("users_select", "conversations_select", "channels_select"):
        key = {"users_select": "selected_user", "channels_select": "selected_channel"}.get(
            kind, "selected_conversation"
        )
        return {"type": kind, key: value}
    if kind == "number_input":
        return {"type": kind, "value": str(value)}
    return {"type": kind, "value": value}


_Handler = Callable[[FakeSlack, JSONDict], JSONDict]

_METHODS: dict[str, _Handler] = {
    "auth.test": FakeSlack.auth_test,
    "chat.postMessage": FakeSlack.chat_post_message,
    "chat.update": FakeSlack.chat_update,
    "chat.delete": FakeSlack.chat_delete,
    "chat.postEphemeral": FakeSlack.chat_post_ephemeral,
    "views.open": FakeSlack.views_open,
    "views.push": FakeSlack.views_push,
    "views.update": FakeSlack.views_update,
    "views.publish": FakeSlack.views_publish,
    "users.info": FakeSlack.users_info,
    "conversations.open": FakeSlack.conversations_open,
    "files.getUploadURLExternal": FakeSlack.files_get_upload_url_external,
    "files.completeUploadExternal": FakeSlack.files_complete_upload_external,
    "apps.connections.open": FakeSlack.apps_connections_open,
}
