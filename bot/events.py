"""What happened on a platform, in platform-neutral terms.

Every event carries who (platform + platform user id), where (chat, optional thread) and an
idempotency key that is the same each time the platform delivers the same update.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import datetime

from storage.types import utcnow


@dataclass(frozen=True, kw_only=True)
class Event:
    key: str
    platform: str
    user_id: str
    user_name: str
    chat_id: str
    thread_ref: str | None = None  # a topic of the chat (Telegram forum topic), if any
    reply_to: str | None = None  # the platform id of the message this one answers, if any
    private: bool = False
    # Answers to this member go back inside the platform's request (a Slack slash command's
    # ephemeral reply) rather than through the outbox.
    in_request: bool = False
    language_hint: str | None = None
    at: datetime = field(default_factory=utcnow)

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class MessagePosted(Event):
    """A plain message (not a command) in a chat the bot can read."""

    text: str
    platform_message_id: str | None = None


class ArgumentError(ValueError):
    """A command's arguments cannot be split (e.g. an unclosed quote)."""


@dataclass(frozen=True, kw_only=True)
class CommandIssued(Event):
    """`/name arguments...`, whatever the platform's way of writing it."""

    command: str
    argument_text: str = ""
    platform_message_id: str | None = None

    def arguments(self) -> list[str]:
        """The arguments split like a shell would, so "quoted phrases" stay whole."""
        try:
            return shlex.split(self.argument_text)
        except ValueError as exc:
            raise ArgumentError(str(exc)) from exc


def parse_command(text: str) -> tuple[str, str] | None:
    """('join', 'mobility') for '/join mobility'; None when the text is not a command."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    name, _, rest = stripped[1:].partition(" ")
    name = name.strip().lower()
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        return None
    return name, rest.strip()


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(Event):
    """A whole form sent at once from a dialog (a Slack modal): field name -> value(s)."""

    form: str
    values: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class ButtonPressed(Event):
    """A press on a button the bot drew: `data` says what it stands for ('vote:12:0')."""

    data: str
    platform_message_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class MessageEdited(Event):
    """A member edited a message: the stored text follows."""

    platform_message_id: str
    text: str


@dataclass(frozen=True, kw_only=True)
class ChatJoined(Event):
    """The bot was added to a group."""


@dataclass(frozen=True, kw_only=True)
class ChatLeft(Event):
    """The bot was removed from a group: it is unlinked and nothing more is sent there."""
