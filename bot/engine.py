"""The engine: one event in, a list of actions out, in one database transaction.

1. record the event's idempotency key, and drop an event already handled;
2. store what it carries (the member, a message in a linked channel);
3. route it to the feature that answers it;
4. write the resulting actions to the outbox, in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot import (
    access,
    admin,
    conversation,
    digests,
    ideas,
    intake,
    language,
    members,
    moderation,
    muting,
    polls,
    privacy,
    profile,
    sectors,
    threads,
)
from bot import help as help_feature
from bot.actions import Action, Reply
from bot.config import Settings
from bot.context import AnswerHandler, Command, Context, Feature, Handler
from bot.events import (
    ArgumentError,
    ButtonPressed,
    CommandIssued,
    Event,
    FormSubmitted,
    MessageEdited,
    MessagePosted,
)
from bot.forms import Form, FormField
from bot.i18n import N_, translator
from bot.outgoing import enqueue
from storage.database import transaction
from storage.handled import record_handled
from storage.models import Channel, ConversationState, Message

log = logging.getLogger(__name__)

DEFAULT_FEATURES: tuple[Feature, ...] = (
    help_feature.FEATURE,
    members.FEATURE,
    profile.FEATURE,
    sectors.FEATURE,
    threads.FEATURE,
    polls.FEATURE,
    ideas.FEATURE,
    admin.FEATURE,
    digests.FEATURE,
    moderation.FEATURE,
    muting.FEATURE,
    privacy.FEATURE,
    conversation.FEATURE,
)
APOLOGY = N_("Sorry, something went wrong on our side. The team can see what happened.")
RETRIES = 3  # a transaction that lost a race (e.g. two first contacts of one member) is rerun


class Engine:
    def __init__(
        self,
        database: DatabaseEngine,
        settings: Settings,
        features: Sequence[Feature] = DEFAULT_FEATURES,
    ) -> None:
        self.database = database
        self.settings = settings
        self.features = tuple(features)
        self.commands: dict[str, Command] = {}
        self.flows: dict[str, AnswerHandler] = {}
        self.forms: dict[str, Handler] = {}
        self.buttons: dict[str, Handler] = {}
        self.events: dict[type, list[Handler]] = {}
        for feature in self.features:
            for command in feature.commands:
                if command.name in self.commands:
                    raise ValueError(f"two features answer /{command.name}")
                self.commands[command.name] = command
            for flow, handler in feature.flows.items():
                if flow in self.flows:
                    raise ValueError(f"two features lead the conversation {flow!r}")
                self.flows[flow] = handler
            self.forms.update(feature.forms)
            self.buttons.update(feature.buttons)
            for kind, handler in feature.events.items():
                self.events.setdefault(kind, []).append(handler)

    def handle(self, event: Event) -> list[Action]:
        """Handle one event exactly once; returns the actions it led to ([] for a repeat)."""
        # Detection is CPU work that needs only the text: done before the transaction, so
        # SQLite's write lock is not held through it.
        detection = language.detect(event.text) if isinstance(event, MessagePosted) else None
        for attempt in range(1, RETRIES + 1):
            try:
                return self._handle_once(event, detection)
            except _AlreadyHandled:
                return []
            except (IntegrityError, OperationalError) as exc:
                if attempt == RETRIES:
                    raise
                log.info("retrying %s after %s", event.key, type(exc).__name__)
            except Exception:
                log.exception("failed to handle %s", event.key)
                return self._apologise(event)
        raise AssertionError("unreachable")

    def _handle_once(self, event: Event, detection: language.Detection | None) -> list[Action]:
        with transaction(self.database) as session:
            if not record_handled(session, event.key, event.kind, event.at):
                raise _AlreadyHandled
            member = members.member_for(session, event.platform, event.user_id, event.user_name)
            language.apply_hint(member, event.language_hint)
            ctx = Context(
                session,
                self.settings,
                event,
                member,
                self._channel(session, event),
                commands=self.commands_list,
                conversation=session.get(ConversationState, member.id),
                flows=self.flows,
            )
            if isinstance(event, MessagePosted | MessageEdited) and ctx.channel is not None:
                held = intake.held_back(ctx)  # muted or flooding: not stored, not routed
                if held is not None:
                    enqueue(session, held, event.key)
                    return held
            if isinstance(event, MessagePosted):
                self._take_in(ctx, event, detection)
            actions = self._route(ctx)
            for feature in self.features:
                if feature.after_event is not None:
                    actions += feature.after_event(ctx)
            enqueue(session, actions, event.key)
            return actions

    def describe_form(
        self, event: Event, form: Form
    ) -> list[tuple[FormField, str, list[tuple[str, str]]]]:
        """A form's fields as the member should see them in a dialog: (field, question in
        their language, choices). Read-only: nothing is recorded."""
        with transaction(self.database) as session:
            member = members.member_for(session, event.platform, event.user_id, event.user_name)
            language.apply_hint(member, event.language_hint)
            ctx = Context(session, self.settings, event, member, None)
            described = [
                (f, ctx._(f.question), f.choices(ctx) if f.choices else []) for f in form.fields
            ]
            session.rollback()  # a first contact is made for real when the form comes back
        return described

    @property
    def commands_list(self) -> list[Command]:
        return list(self.commands.values())

    def _route(self, ctx: Context) -> list[Action]:
        event = ctx.event
        if isinstance(event, CommandIssued):
            try:
                ctx.args = event.arguments()
            except ArgumentError:
                text = ctx._("I could not read that: a quotation mark is not closed.")
                return [ctx.reply(text)]
            command = self._command(event.command, ctx.args)
            if command is None:
                text = ctx._("There is no command /{name}. /help lists what I can do.")
                return [ctx.reply(text.format(name=event.command))]
            if " " in command.name:
                ctx.args = ctx.args[1:]  # the subcommand's own arguments
            return access.refusal(ctx, command) or command.handler(ctx)
        if isinstance(event, MessagePosted):
            state = ctx.conversation
            if event.private and conversation.is_here(ctx) and state.flow in self.flows:
                return self.flows[state.flow](ctx, event.text)
            actions: list[Action] = []
            for feature in self.features:
                if feature.on_message is not None:
                    actions += feature.on_message(ctx)
            if not actions and event.private:
                actions.append(ctx.reply(ctx._("I only understand commands here: try /help.")))
            return actions
        if isinstance(event, FormSubmitted) and event.form in self.forms:
            return self.forms[event.form](ctx)
        if isinstance(event, ButtonPressed):
            handler = self.buttons.get(event.data.split(":", 1)[0])
            return handler(ctx) if handler else []
        if isinstance(event, MessageEdited):
            self._take_in_edit(ctx, event)
            return []
        return [action for handler in self.events.get(type(event), []) for action in handler(ctx)]

    def _command(self, name: str, args: list[str]) -> Command | None:
        """`/thread open ...` is the command 'thread open' when there is one, else 'thread'."""
        if args and (sub := self.commands.get(f"{name} {args[0].lower()}")):
            return sub
        return self.commands.get(name)

    @staticmethod
    def _channel(session: Session, event: Event) -> Channel | None:
        """The linked channel the event happened in: the topic's own link, else the chat's."""
        candidates = [event.thread_ref, ""] if event.thread_ref else [""]
        rows = session.exec(
            select(Channel).where(
                Channel.platform == event.platform,
                Channel.chat_id == event.chat_id,
                Channel.thread_id.in_(candidates),  # type: ignore[attr-defined]
            )
        ).all()
        return max(rows, key=lambda c: c.thread_id != "", default=None)

    @staticmethod
    def _take_in_edit(ctx: Context, event: MessageEdited) -> None:
        """The stored text follows a member's edit (of their own message only)."""
        message = ctx.session.exec(
            select(Message).where(
                Message.platform == event.platform,
                Message.platform_message_id == event.platform_message_id,
                Message.member_id == ctx.member.id,
            )
        ).first()
        if message is None:
            return
        detection = language.detect(event.text)
        message.text = event.text
        message.language = language.message_language(ctx.member, event.text, detection)
        ctx.session.add(message)

    @staticmethod
    def _take_in(ctx: Context, event: MessagePosted, detection: language.Detection | None) -> None:
        """Learn the member's language from the message; keep it if the channel is linked."""
        if language.learn_from_message(ctx.member, event.text, detection):
            ctx.session.add(ctx.member)
        if ctx.channel is None:
            return
        ctx.message = Message(
            platform=event.platform,
            channel_id=ctx.channel.id,
            sector_id=ctx.channel.sector_id,
            member_id=ctx.member.id,
            thread_ref=event.thread_ref,
            text=event.text,
            language=language.message_language(ctx.member, event.text, detection),
            created_at=event.at,
            platform_message_id=event.platform_message_id,
        )
        ctx.session.add(ctx.message)

    def _apologise(self, event: Event) -> list[Action]:
        """A handler failed: nothing it did is kept, but the member is not left in silence.

        The key is recorded as failed so a platform's retry does not repeat the apology.
        """
        reply = Reply(
            platform=event.platform,
            chat_id=event.chat_id,
            thread_ref=event.thread_ref,
            text=translator(language.normalise(event.language_hint))(APOLOGY),
        )
        with transaction(self.database) as session:
            if not record_handled(session, event.key, f"failed:{event.kind}", event.at):
                return []
            enqueue(session, [reply], event.key)
        return [reply]


class _AlreadyHandled(Exception):
    pass
