"""Delivering the outbox: claim due entries of one platform, send each, record the outcome.

Each adapter brings its own `send(action, edits)`, which renders one action and returns the
platform's message id; `edits` is the platform id of the message the action replaces (a tally
update), None for a new message. A `DeliveryError` says whether and when to try again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import Engine

from bot.actions import Action
from storage import outbox
from storage.models import OutboxEntry, OutboxStatus

log = logging.getLogger(__name__)

EDIT_WAIT = timedelta(seconds=2)  # an edit waits until the message it edits is posted


class DeliveryError(Exception):
    """A send failed; `retry_after` None means it never will succeed (e.g. chat gone).

    `counts` False: the platform only asked to wait (a 429), so the try is not counted and
    the entry can never be given up for it."""

    def __init__(
        self,
        reason: str,
        retry_after: timedelta | None = timedelta(seconds=30),
        counts: bool = True,
    ):
        super().__init__(reason)
        self.retry_after = retry_after
        self.counts = counts


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
    """Whether an entry can go now, and the platform id of the message it edits."""
    assert entry.id is not None
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
