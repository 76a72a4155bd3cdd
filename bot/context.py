"""What a feature handler gets: the event, who sent it, where, the open transaction, and a way
to answer in the member's language. Also the shape of a command and of a feature."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.actions import Action, Answer, Notify, Reply
from bot.config import Settings
from bot.events import Event
from bot.i18n import translator
from bot.language import reply_language
from storage.models import (
    Channel,
    ConversationState,
    Identity,
    Member,
    Message,
    RoleName,
    Sector,
)


@dataclass
class Context:
    session: Session
    settings: Settings
    event: Event
    member: Member
    channel: Channel | None
    args: list[str] = field(default_factory=list)
    commands: Sequence[Command] = ()
    # The sector a curator's command acts on, resolved (and checked) by the engine.
    sector: Sector | None = None
    # The member's conversation in progress (a form, onboarding), if any.
    conversation: ConversationState | None = None
    flows: dict[str, AnswerHandler] = field(default_factory=dict)
    # The message the engine stored for this event, if any (features may annotate it).
    message: Message | None = None

    @property
    def language(self) -> str:
        """The language the bot answers this member in."""
        return reply_language(self.member, self.settings.languages)

    def _(self, message: str) -> str:
        """`message` in the member's language."""
        return translator(self.language)(message)

    def reply(self, text: str) -> Reply | Answer:
        """An answer in the chat and thread the event came from (inside the request, for an
        event that is answered there)."""
        if self.event.in_request:
            return Answer(platform=self.event.platform, chat_id=self.event.chat_id, text=text)
        return Reply(
            platform=self.event.platform,
            chat_id=self.event.chat_id,
            thread_ref=self.event.thread_ref,
            text=text,
            to_user=None if self.event.private else self.event.user_id,
        )

    def notify(self, identity: Identity, text: str) -> Notify:
        """A private message to a member on one of their platforms."""
        return Notify(platform=identity.platform, chat_id=identity.platform_user_id, text=text)


Handler = Callable[[Context], list[Action]]


@dataclass(frozen=True)
class Command:
    """A chat command (`name` may be 'thread open': a subcommand). `usage` and `summary` are
    English msgids, shown by /help.

    `needs` is the role the engine checks before the handler runs: admin, staff (or admin),
    or curator (of the command's sector, or admin).
    """

    name: str
    handler: Handler
    usage: str
    summary: str
    needs: RoleName | None = None
    # For a curator's command: the sector it acts on (default: the one its first argument
    # names), the reply that says why there is none, or None for "any sector they curate".
    sector_of: Callable[[Context], Sector | list[Action] | None] | None = None


AnswerHandler = Callable[[Context, str | None], list[Action]]


@dataclass(frozen=True)
class Feature:
    """A module of the engine: the commands it answers, what it does with plain messages
    (after the engine stored them), the conversations it leads (flow name -> handler of the
    member's next answer, None for /skip), the dialogs it takes whole, the buttons it drew,
    the other events it answers, and what it adds after any event."""

    name: str
    commands: Sequence[Command] = ()
    on_message: Handler | None = None
    flows: dict[str, AnswerHandler] = field(default_factory=dict)
    forms: dict[str, Handler] = field(default_factory=dict)  # a whole dialog, by form name
    buttons: dict[str, Handler] = field(default_factory=dict)  # by the prefix of their data
    events: dict[type, Handler] = field(default_factory=dict)  # other events, by their type
    after_event: Handler | None = None
