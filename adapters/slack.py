"""The Slack channel: slack-bolt's async app receives events, the slash command, button presses
and modal submissions (over HTTP at /slack/events, or in Socket Mode), turns them into engine
events, and answers what Slack needs inside its 3 seconds; everything else is rendered as
Block Kit and delivered from the outbox at about one message a second per channel.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine as DatabaseEngine

from adapters.charts import chart_of, chart_table, poll_chart
from adapters.delivery import AsyncDeliverer, DeliveryError
from adapters.ratelimit import Limiter, Window
from adapters.text import split_to_fit
from bot.actions import (
    Action,
    Answer,
    Ask,
    FormErrors,
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
    CommandIssued,
    Event,
    FormSubmitted,
    MessageEdited,
    MessagePosted,
)
from bot.forms import FieldKind
from bot.i18n import translator
from bot.ideas import IDEA_FORM
from bot.language import normalise

log = logging.getLogger(__name__)

PLATFORM = "slack"
SECTION_LIMIT = 3000  # characters in one section block's text
BLOCKS_LIMIT = 50  # blocks in one message
HEADER_LIMIT = 150  # characters in a header block
FALLBACK_LIMIT = 3000  # the notification text we send (Slack takes more, but shows less)
ALT_LIMIT = 1000  # an uploaded image's alt text
GONE = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth"}
SKIPPED_SUBTYPES = {"bot_message", "message_deleted", "channel_join", "channel_leave"}


def escape(text: str) -> str:
    """Member-written text in mrkdwn: &, < and > escaped, so nothing becomes a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_length(char: str) -> int:
    """What one character of member text costs in mrkdwn, once escaped."""
    return len(escape(char))


def shortened(text: str, limit: int, cost: Callable[[str], int] = escaped_length) -> str:
    """`text` cut to cost at most `limit`, ending in "…" when cut; still raw."""
    if sum(map(cost, text)) <= limit:
        return text
    return split_to_fit(text, limit - 1, cost)[0] + "…"


def fallback(text: str) -> str:
    """A message's `text`, which notifications and screen readers use: escaped, shortened."""
    return escape(shortened(text, FALLBACK_LIMIT))


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def quoted(text: str) -> str:
    """Member text as a mrkdwn quote: "> " before each of its lines."""
    return "\n".join(f"> {line}" for line in escape(text).split("\n"))


def quote_cost(char: str) -> int:
    return escaped_length(char) + (2 if char == "\n" else 0)  # the next line's "> "


# A digest block's mrkdwn marks around its escaped text. Bold is dropped where the text holds a
# "*" itself: mrkdwn cannot escape one, and it would end the bold early.
DIGEST_MARKS: dict[str, tuple[str, str]] = {
    "heading": ("*", "*"),
    "subheading": ("*", "*"),
    "paragraph": ("", ""),
    "item": ("• ", ""),
    "table": ("```\n", "\n```"),
}


def digest_block(kind: str, text: str) -> list[dict[str, Any]]:
    """One digest block as Block Kit: sections of at most SECTION_LIMIT characters (a block
    longer than that in several), a note as context, a heading after a divider."""
    if kind == "quote":
        return [section(quoted(p)) for p in split_to_fit(text, SECTION_LIMIT - 2, quote_cost)]
    if kind == "note":
        return [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(p)}]}
            for p in split_to_fit(text, SECTION_LIMIT, escaped_length)
        ]
    opening, closing = DIGEST_MARKS.get(kind, ("", ""))
    if opening == "*" and "*" in text:
        opening = closing = ""
    budget = SECTION_LIMIT - len(opening + closing)
    blocks = [
        section(f"{opening}{escape(p)}{closing}")
        for p in split_to_fit(text, budget, escaped_length)
    ]
    return [{"type": "divider"}, *blocks] if kind == "heading" else blocks


def digest_blocks(part: PostDigest) -> list[dict[str, Any]]:
    """A digest part as Block Kit: its heading as a header, then its blocks in order."""
    heading = shortened(part.heading, HEADER_LIMIT, len)  # plain text: nothing to escape
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading}}
    ]
    previous = None
    for kind, text in part.blocks:
        if not text.strip():
            continue
        rendered = digest_block(kind, text)
        if not (kind == previous == "item" and _appended(blocks[-1], rendered)):
            blocks += rendered
        previous = kind
    return blocks


def _appended(last: dict[str, Any], rendered: list[dict[str, Any]]) -> bool:
    """Add a list item to the section of the item before it, when it fits there: a list reads
    as one, and takes fewer of a message's blocks."""
    if len(rendered) != 1:
        return False
    text = f"{last['text']['text']}\n{rendered[0]['text']['text']}"
    if len(text) > SECTION_LIMIT:
        return False
    last["text"]["text"] = text
    return True


def code_block(text: str) -> str:
    return f"```\n{escape(text)}\n```"


def sections(text: str) -> list[dict[str, Any]]:
    """Section blocks of mrkdwn text, cut at line boundaries to Slack's 3000 characters."""
    pieces: list[str] = []
    current = ""
    for line in escape(text).split("\n"):
        while len(line) > SECTION_LIMIT:
            pieces += [current] if current else []
            current = ""
            pieces.append(line[:SECTION_LIMIT])
            line = line[SECTION_LIMIT:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_LIMIT:
            pieces.append(current)
            current = line
        else:
            current = candidate
    pieces += [current] if current or not pieces else []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p or " "}} for p in pieces]


def buttons(prefix: str, items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """One actions block: a button per (label, value)."""
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": f"{prefix}-{n}",
                "text": {"type": "plain_text", "text": label[:75] or "-"},
                "value": value[:2000],
            }
            for n, (label, value) in enumerate(items)
        ],
    }


def poll_blocks(poll: PostPoll) -> list[dict[str, Any]]:
    blocks = sections(poll.text)
    if not poll.closed:
        votes = [
            (f"{option} · {count}", f"vote:{poll.poll_id}:{n}")
            for n, (option, count) in enumerate(zip(poll.options, poll.counts, strict=True))
        ]
        blocks.append(buttons("vote", votes))
    return blocks


class SlackChannel:
    """Translates Slack requests into engine events and renders actions with the Web API."""

    def __init__(
        self,
        engine: Engine,
        database: DatabaseEngine,
        settings: Settings,
        limiter: Limiter | None = None,
    ) -> None:
        assert settings.slack_bot_token, "POLDER_SLACK_BOT_TOKEN is not set"
        self.engine, self.database, self.settings = engine, database, settings
        self.client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret or "socket-mode",
            # Each listener acks itself after the engine decided (well within 3 seconds), so a
            # modal's errors and a slash command's answer travel in Slack's own request.
            process_before_response=True,
        )
        self.limiter = limiter or Limiter(Window(1, 1.0), None, Window(40, 1.0))
        self.deliverer = AsyncDeliverer(
            database, PLATFORM, self.send, self.limiter, group=lambda _chat: False
        )
        self.bot_user: str | None = None
        self.locales: dict[str, str | None] = {}
        self._listen()

    async def start(self) -> None:
        who = await self.client.auth_test()
        self.bot_user = who.get("user_id")

    # --- requests in --------------------------------------------------------------------

    def _listen(self) -> None:
        self.app.command(re.compile(r"^/"))(self.on_command)
        self.app.event("message")(self.on_message)
        self.app.event("app_mention")(self.on_message)
        self.app.action(re.compile(r"^(vote|answer)-\d+$"))(self.on_button)
        self.app.view(IDEA_FORM.name)(self.on_view)

    async def hint(self, user_id: str) -> str | None:
        """The member's Slack locale (users.info), asked once per user and process."""
        if user_id not in self.locales:
            try:
                found = await self.client.users_info(user=user_id, include_locale=True)
                self.locales[user_id] = normalise((found.get("user") or {}).get("locale"))
            except SlackApiError:
                self.locales[user_id] = None
        return self.locales[user_id]

    async def handle(self, event: Event) -> list[Action]:
        return await asyncio.to_thread(self.engine.handle, event)

    async def on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """`/polder join mobility`: the answer is ephemeral, inside the request."""
        name, _, rest = (body.get("text") or "help").strip().partition(" ")
        user, channel = body["user_id"], body["channel_id"]
        event_kw = dict(
            platform=PLATFORM,
            user_id=user,
            user_name=body.get("user_name") or user,
            chat_id=channel,
            private=channel.startswith("D"),
            language_hint=await self.hint(user),
        )
        if name.lower() == "idea" and not rest.strip():
            await ack()
            await self.open_idea_form(body["trigger_id"], event_kw)
            return
        event = CommandIssued(
            key=f"{PLATFORM}:command:{body['trigger_id']}",
            command=name.lower() or "help",
            argument_text=rest.strip(),
            in_request=True,
            **event_kw,  # type: ignore[arg-type]
        )
        actions = await self.handle(event)
        answer = "\n".join(a.text for a in actions if isinstance(a, Answer))
        await ack(text=escape(answer) if answer else None)

    async def open_idea_form(self, trigger_id: str, event_kw: dict[str, Any]) -> None:
        """The idea form as a modal, opened while the trigger is fresh."""
        probe = CommandIssued(key="form", command="idea", **event_kw)
        fields = await asyncio.to_thread(self.engine.describe_form, probe, IDEA_FORM)
        _ = translator(normalise(event_kw.get("language_hint")))
        blocks = []
        for field, question, choices in fields:
            if field.kind is FieldKind.TEXT:
                element: dict[str, Any] = {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "max_length": field.max_length,
                    "multiline": field.max_length > 200,
                }
            else:
                element = {
                    "type": "static_select"
                    if field.kind is FieldKind.CHOICE
                    else "multi_static_select",
                    "action_id": "value",
                    "options": [
                        {"text": {"type": "plain_text", "text": label[:75]}, "value": value}
                        for value, label in choices
                    ],
                }
            blocks.append(
                {
                    "type": "input",
                    "block_id": field.name,
                    "optional": field.optional,
                    "label": {"type": "plain_text", "text": question[:2000]},
                    "element": element,
                }
            )
        view = {
            "type": "modal",
            "callback_id": IDEA_FORM.name,
            "title": {"type": "plain_text", "text": _("A new idea")[:24]},
            "submit": {"type": "plain_text", "text": _("Submit")[:24]},
            "close": {"type": "plain_text", "text": _("Cancel")[:24]},
            "private_metadata": event_kw["chat_id"],
            "blocks": blocks,
        }
        await self.client.views_open(trigger_id=trigger_id, view=view)

    async def on_view(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The modal came back: its errors go back on its fields; an idea goes in."""
        user = body["user"]["id"]
        values: dict[str, Any] = {}
        for block_id, inputs in (view.get("state") or {}).get("values", {}).items():
            given = inputs.get("value") or next(iter(inputs.values()), {})
            if "selected_options" in given:
                values[block_id] = [o["value"] for o in given["selected_options"] or []]
            elif "selected_option" in given:
                values[block_id] = (given["selected_option"] or {}).get("value")
            else:
                values[block_id] = given.get("value")
        # A resubmission after errors is the same view with other values: a new event; the
        # same values again (a redelivered envelope) are the same event.
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
        event = FormSubmitted(
            key=f"{PLATFORM}:view:{view['id']}:{digest}",
            platform=PLATFORM,
            user_id=user,
            user_name=body["user"].get("name") or user,
            chat_id=user,  # the confirmation comes as a direct message
            private=True,
            language_hint=await self.hint(user),
            form=view.get("callback_id") or IDEA_FORM.name,
            values=values,
        )
        actions = await self.handle(event)
        errors = next((a.errors for a in actions if isinstance(a, FormErrors)), None)
        if errors:
            await ack(response_action="errors", errors=errors)
        else:
            await ack()

    async def on_message(self, event: dict[str, Any], ack: AsyncAck) -> None:
        """A message in a channel the app is in; an @-mention of the same post is the same
        message (one key for both), and the bot's own messages are not heard."""
        await ack()
        translated = self.translate_message(event)
        if translated is not None:
            await self.handle(translated)

    def translate_message(self, event: dict[str, Any]) -> Event | None:
        subtype = event.get("subtype")
        if event.get("bot_id") or subtype in SKIPPED_SUBTYPES:
            return None
        channel = event.get("channel") or ""
        if subtype == "message_changed":
            changed = event.get("message") or {}
            if changed.get("bot_id") or not changed.get("user"):
                return None
            return MessageEdited(
                key=f"{PLATFORM}:edit:{channel}:{changed.get('ts')}:{event.get('event_ts')}",
                platform=PLATFORM,
                user_id=changed["user"],
                user_name=changed["user"],
                chat_id=channel,
                platform_message_id=changed.get("ts") or "",
                text=changed.get("text") or "",
            )
        user, text, ts = event.get("user"), event.get("text") or "", event.get("ts") or ""
        if not user or user == self.bot_user or not text:
            return None
        if self.bot_user:
            text = text.replace(f"<@{self.bot_user}>", "").strip()
        thread = event.get("thread_ts")
        return MessagePosted(
            key=f"{PLATFORM}:message:{channel}:{ts}",
            platform=PLATFORM,
            user_id=user,
            user_name=user,
            chat_id=channel,
            thread_ref=thread,
            reply_to=thread if thread and thread != ts else None,
            private=event.get("channel_type") == "im",
            text=text,
            platform_message_id=ts,
        )

    async def on_button(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A vote or a choice pressed: acked at once; its short answer is an ephemeral note."""
        await ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or user
        message_ts = (body.get("container") or {}).get("message_ts") or ""
        event = ButtonPressed(
            key=f"{PLATFORM}:action:{message_ts}:{action.get('action_ts')}:{user}",
            platform=PLATFORM,
            user_id=user,
            user_name=body["user"].get("name") or user,
            chat_id=channel,
            private=channel.startswith("D"),
            language_hint=await self.hint(user),
            data=action.get("value") or "",
            platform_message_id=message_ts,
        )
        for toast in (a for a in await self.handle(event) if isinstance(a, Toast)):
            try:
                await self.client.chat_postEphemeral(
                    channel=channel, user=user, text=escape(toast.text)
                )
            except SlackApiError as exc:
                log.warning("could not answer a button press: %s", exc.response.get("error"))

    # --- actions out --------------------------------------------------------------------

    async def deliver_forever(self, stop: asyncio.Event) -> None:
        await self.deliverer.forever(stop)

    async def deliver_due(self, chat_ids: Sequence[str] | None = None) -> int:
        return await self.deliverer.due(chat_ids)

    async def send(self, action: Action, edits: str | None) -> str | None:
        try:
            return await self._render(action, edits)
        except SlackApiError as exc:
            error = exc.response.get("error") or "unknown"
            if exc.response.status_code == 429:
                seconds = int(exc.response.headers.get("Retry-After", "1") or 1)
                raise DeliveryError(
                    f"429 retry after {seconds}s", timedelta(seconds=seconds), counts=False
                ) from exc
            if error in GONE:
                raise DeliveryError(error, retry_after=None, gone=True) from exc
            if error == "message_not_found":
                raise DeliveryError(error, retry_after=None) from exc
            raise DeliveryError(error, timedelta(seconds=10)) from exc

    async def _render(self, action: Action, edits: str | None) -> str | None:
        channel, thread = action.chat_id, action.thread_ref
        if isinstance(action, UpdatePoll):
            if edits is None:
                return None
            await self.client.chat_update(
                channel=channel, ts=edits, text=action.text[:3000], blocks=poll_blocks(action)
            )
            return edits
        if isinstance(action, PostPoll):
            return await self._post(channel, thread, action.text, poll_blocks(action))
        if isinstance(action, PostThread):
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(action.text)}*"}},
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": escape(action.reply_hint)}],
                },
            ]
            return await self._post(channel, thread, action.text, blocks)
        if isinstance(action, PollResult):
            first = await self._post(channel, thread, action.text, sections(f"```{action.text}```"))
            chart = await asyncio.to_thread(poll_chart, action)
            await self.client.files_upload_v2(
                channel=channel,
                file=chart.png,
                filename=chart.filename,
                title=chart.title,
                alt_txt=chart.alt_text[:1000],
                initial_comment=chart_table(action),
                thread_ts=thread,
            )
            return first
        if isinstance(action, Ask):
            blocks = sections(action.text + (f"\n_{action.hint}_" if action.hint else ""))
            if action.choices:
                blocks.append(
                    buttons("answer", [(label, f"answer:{v}") for v, label in action.choices])
                )
            return await self._post(channel, thread, action.text, blocks)
        if isinstance(action, PostDigest):
            return await self._post(channel, thread, action.plain_text(), digest_blocks(action))
        if isinstance(action, PostChart):
            return await self._chart(channel, thread, action)
        if isinstance(action, SendFile):
            return await self._send_file(action)
        if isinstance(action, Reply | Notify):
            return await self._post(channel, thread, action.text, sections(action.text))
        log.info("slack does not render %s", action.kind)
        return None

    async def _send_file(self, action: SendFile) -> str | None:
        """A file for a member (`chat_id` is their user id), uploaded to the app's direct
        message with them, which conversations.open gives (it needs the im:write scope)."""
        opened = await self.client.conversations_open(users=action.chat_id)
        uploaded = await self.client.files_upload_v2(
            channel=opened["channel"]["id"],
            content=action.content,
            filename=action.filename,
            title=action.filename,
            initial_comment=escape(action.caption),
        )
        files = uploaded.get("files") or [{}]
        return files[0].get("id")

    async def _chart(self, channel: str, thread: str | None, action: PostChart) -> str | None:
        """The chart uploaded as an image with its alt text, its data table as the comment
        that comes with it; the id of the file."""
        chart = await asyncio.to_thread(chart_of, action)
        uploaded = await self.client.files_upload_v2(
            channel=channel,
            file=chart.png,
            filename=chart.filename,
            title=chart.title,
            alt_txt=shortened(chart.alt_text, ALT_LIMIT, len),
            initial_comment=code_block(action.table),
            thread_ts=thread,
        )
        files = uploaded.get("files") or [{}]
        return files[0].get("id")

    async def _post(
        self, channel: str, thread: str | None, text: str, blocks: list[dict[str, Any]]
    ) -> str:
        """chat.postMessage, in as many messages as Slack's block limit needs; the first ts."""
        first: str | None = None
        for start in range(0, len(blocks), BLOCKS_LIMIT):
            sent = await self.client.chat_postMessage(
                channel=channel,
                text=fallback(text),
                blocks=blocks[start : start + BLOCKS_LIMIT],
                thread_ts=thread,
            )
            first = first or sent.get("ts")
        assert first is not None
        return first
