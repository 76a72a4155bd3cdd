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

from bot import help as help_feature
from bot import members, sectors
from bot.actions import Action, Reply
from bot.config import Settings
from bot.context import Command, Context, Feature
from bot.events import ArgumentError, CommandIssued, Event, MessagePosted
from bot.language import detect
from storage.database import transaction
from storage.models import Channel, HandledEvent, Message, OutboxEntry

log = logging.getLogger(__name__)

DEFAULT_FEATURES: tuple[Feature, ...] = (help_feature.FEATURE, members.FEATURE, sectors.FEATURE)
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
        for feature in self.features:
            for command in feature.commands:
                if command.name in self.commands:
                    raise ValueError(f"two features answer /{command.name}")
                self.commands[command.name] = command

    def handle(self, event: Event) -> list[Action]:
        """Handle one event exactly once; returns the actions it led to ([] for a repeat)."""
        for attempt in range(1, RETRIES + 1):
            try:
                return self._handle_once(event)
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

    def _handle_once(self, event: Event) -> list[Action]:
        with transaction(self.database) as session:
            session.add(HandledEvent(key=event.key, kind=event.kind, handled_at=event.at))
            try:
                session.flush()
            except IntegrityError:
                raise _AlreadyHandled from None
            member = members.member_for(session, event.platform, event.user_id, event.user_name)
            channel = self._channel(session, event)
            ctx = Context(
                session, self.settings, event, member, channel, commands=self.commands_list
            )
            actions = self._route(ctx)
            self._to_outbox(session, event, actions)
            return actions

    @property
    def commands_list(self) -> list[Command]:
        return list(self.commands.values())

    def _route(self, ctx: Context) -> list[Action]:
        event = ctx.event
        if isinstance(event, CommandIssued):
            command = self.commands.get(event.command)
            if command is None:
                text = ctx._("I do not know /{name}. /help lists what I can do.")
                return [ctx.reply(text.format(name=event.command))]
            try:
                ctx.args = event.arguments()
            except ArgumentError as exc:
                return [ctx.reply(ctx._("I could not read that: {reason}.").format(reason=exc))]
            return command.handler(ctx)
        if isinstance(event, MessagePosted):
            if ctx.channel is not None:
                self._store_message(ctx, event)
            actions: list[Action] = []
            for feature in self.features:
                if feature.on_message is not None:
                    actions += feature.on_message(ctx)
            if not actions and event.private:
                actions.append(ctx.reply(ctx._("I only understand commands here: try /help.")))
            return actions
        return []

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
    def _store_message(ctx: Context, event: MessagePosted) -> None:
        detection = detect(event.text)
        assert ctx.channel is not None
        ctx.session.add(
            Message(
                platform=event.platform,
                channel_id=ctx.channel.id,
                sector_id=ctx.channel.sector_id,
                member_id=ctx.member.id,
                thread_ref=event.thread_ref,
                text=event.text,
                language=detection.language if detection else None,
                created_at=event.at,
                platform_message_id=event.platform_message_id,
            )
        )

    @staticmethod
    def _to_outbox(session: Session, event: Event, actions: list[Action]) -> None:
        for action in actions:
            session.add(
                OutboxEntry(
                    platform=action.platform,
                    chat_id=action.chat_id,
                    thread_ref=action.thread_ref,
                    kind=action.kind,
                    payload=action.to_payload(),
                    event_key=event.key,
                )
            )

    def _apologise(self, event: Event) -> list[Action]:
        """A handler failed: nothing it did is kept, but the member is not left in silence.

        The key is recorded as failed so a platform's retry does not repeat the apology.
        """
        reply = Reply(
            platform=event.platform,
            chat_id=event.chat_id,
            thread_ref=event.thread_ref,
            text="Sorry, something went wrong on our side. The team can see what happened.",
        )
        try:
            with transaction(self.database) as session:
                session.add(HandledEvent(key=event.key, kind=f"failed:{event.kind}"))
                self._to_outbox(session, event, [reply])
        except IntegrityError:
            return []
        return [reply]


class _AlreadyHandled(Exception):
    pass
