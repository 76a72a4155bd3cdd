"""Delivering the outbox: claim due entries of one platform, send each, record the outcome.

Each adapter brings its own `send(action, edits)`, which renders one action and returns the
platform's message id; `edits` is the platform id of the message the action replaces (a tally
update), None for a new message. A `DeliveryError` says whether and when to try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from adapters.ratelimit import Limiter
from bot.actions import Action
from storage import outbox
from storage.database import transaction
from storage.models import Channel, OutboxEntry, OutboxStatus

log = logging.getLogger(__name__)

EDIT_WAIT = timedelta(seconds=2)  # an edit waits until the message it edits is posted
FOLLOW_WAIT = timedelta(seconds=1)  # a digest's part waits until the part before it is sent


class DeliveryError(Exception):
    """A send failed; `retry_after` None means it never will succeed (e.g. chat gone).

    `counts` False: the platform only asked to wait (a 429), so the try is not counted and
    the entry can never be given up for it. `gone`: the bot can no longer write to the chat
    (blocked, removed): it is unlinked and nothing more is sent there."""

    def __init__(
        self,
        reason: str,
        retry_after: timedelta | None = timedelta(seconds=30),
        counts: bool = True,
        gone: bool = False,
    ):
        super().__init__(reason)
        self.retry_after = retry_after
        self.counts = counts
        self.gone = gone


def record_failure(database: Engine, entry_id: int, error: DeliveryError) -> None:
    if not error.counts and error.retry_after is not None:
        outbox.postpone(database, entry_id, error.retry_after)
    else:
        outbox.failed(database, entry_id, str(error), error.retry_after)


Send = Callable[[Action, str | None], str | None]


def deliver_due(
    database: Engine, platform: str, send: Send, chat_ids: Sequence[str] | None = None
) -> int:
    """Deliver what is due now; returns how many entries were delivered."""
    count = 0
    for entry in outbox.claim(database, platform, chat_ids):
        assert entry.id is not None
        action = Action.from_payload(
            entry.kind,
            entry.platform,
            entry.chat_id,
            entry.thread_ref,
            entry.payload,
            entry.edit_of,
        )
        ready, edits = edit_target(database, entry)
        if not ready:
            continue
        try:
            message_id = send(action, edits)
        except DeliveryError as exc:
            log.warning("outbox %s: %s", entry.id, exc)
            record_failure(database, entry.id, exc)
            continue
        outbox.delivered(database, entry.id, message_id)
        count += 1
    return count


def as_action(entry: OutboxEntry) -> Action:
    return Action.from_payload(
        entry.kind, entry.platform, entry.chat_id, entry.thread_ref, entry.payload, entry.edit_of
    )


def edit_target(database: Engine, entry: OutboxEntry) -> tuple[bool, str | None]:
    """Whether an entry can go now, and the platform id of the message it edits.

    An entry that follows another waits until that one is delivered, or given up: the rest
    of a digest is still worth sending when one of its charts could not be."""
    assert entry.id is not None
    if entry.follows is not None:
        before = outbox.status_of(database, entry.follows)
        if before is not None and before[0] not in (OutboxStatus.DELIVERED, OutboxStatus.FAILED):
            outbox.postpone(database, entry.id, FOLLOW_WAIT)
            return False, None
    if entry.edit_of is None:
        return True, None
    target = outbox.status_of(database, entry.edit_of)
    if target is None or target[0] is OutboxStatus.FAILED:
        outbox.failed(database, entry.id, "the message to edit was never posted", None)
        return False, None
    if target[0] is not OutboxStatus.DELIVERED:
        outbox.postpone(database, entry.id, EDIT_WAIT)
        return False, None
    return True, target[1]


AsyncSend = Callable[[Action, str | None], Awaitable[str | None]]
IDLE_SECONDS = 0.25  # how often an idle deliverer looks at the outbox


class AsyncDeliverer:
    """Delivers one platform's outbox from an asyncio loop, at the pace its limiter allows.

    The database work runs in threads, so the loop stays free for the platform's requests."""

    def __init__(
        self,
        database: Engine,
        platform: str,
        send: AsyncSend,
        limiter: Limiter,
        group: Callable[[str], bool],
    ) -> None:
        self.database, self.platform, self.send = database, platform, send
        self.limiter, self.group = limiter, group
        self.next_window = IDLE_SECONDS  # seconds until the limiter has room again

    async def forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = await self.due()
            if not sent:  # nothing went: wait for news, or for the limiter's window to open
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(IDLE_SECONDS, self.next_window + 0.01))

    async def due(self, chat_ids: Sequence[str] | None = None) -> int:
        """Deliver what is due now; returns how many entries went out."""
        entries = await asyncio.to_thread(outbox.claim, self.database, self.platform, chat_ids, 100)
        count = 0
        held: list[int] = []  # over a limit: back in the queue until the window has room
        waits: list[float] = []
        for entry in entries:
            assert entry.id is not None
            wait = self.limiter.reserve(entry.chat_id, group=self.group(entry.chat_id))
            if wait > 0:
                held.append(entry.id)
                waits.append(wait)
                continue
            ready, edits = await asyncio.to_thread(edit_target, self.database, entry)
            if not ready:
                continue
            try:
                message_id = await self.send(as_action(entry), edits)
            except DeliveryError as exc:
                log.warning("%s outbox %s to %s: %s", self.platform, entry.id, entry.chat_id, exc)
                await asyncio.to_thread(record_failure, self.database, entry.id, exc)
                if exc.gone:
                    await asyncio.to_thread(
                        forget_chat, self.database, self.platform, entry.chat_id, str(exc)
                    )
                continue
            finally:  # the send took a while (a chart drawn, a file uploaded): pace from its end
                self.limiter.restamp(entry.chat_id, group=self.group(entry.chat_id))
            await asyncio.to_thread(outbox.delivered, self.database, entry.id, message_id)
            count += 1
        self.next_window = min(waits, default=IDLE_SECONDS)
        if held:
            await asyncio.to_thread(
                outbox.release, self.database, held, timedelta(seconds=self.next_window)
            )
        return count


def forget_chat(database: Engine, platform: str, chat_id: str, reason: str) -> None:
    """A chat that blocked or removed the bot: unlinked, and nothing more is sent there."""
    with transaction(database) as session:
        for channel in session.exec(
            select(Channel).where(Channel.platform == platform, Channel.chat_id == chat_id)
        ):
            session.delete(channel)
        outbox.drop_chat(session, platform, chat_id, reason)
