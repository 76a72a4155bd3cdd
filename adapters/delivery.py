"""Delivering the outbox: claim due entries of one platform, send each, record the outcome.

Each adapter brings its own `send`, which renders one action and returns the platform's
message id; a `DeliveryError` says whether and when to try again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import Engine

from bot.actions import Action
from storage import outbox

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed; `retry_after` None means it never will succeed (e.g. chat gone)."""

    def __init__(self, reason: str, retry_after: timedelta | None = timedelta(seconds=30)):
        super().__init__(reason)
        self.retry_after = retry_after


Send = Callable[[Action], str | None]


def deliver_due(
    database: Engine, platform: str, send: Send, chat_ids: Sequence[str] | None = None
) -> int:
    """Deliver what is due now; returns how many entries were delivered."""
    count = 0
    for entry in outbox.claim(database, platform, chat_ids):
        assert entry.id is not None
        action = Action.from_payload(
            entry.kind, entry.platform, entry.chat_id, entry.thread_ref, entry.payload
        )
        try:
            message_id = send(action)
        except DeliveryError as exc:
            log.warning("outbox %s: %s", entry.id, exc)
            outbox.failed(database, entry.id, str(exc), exc.retry_after)
            continue
        outbox.delivered(database, entry.id, message_id)
        count += 1
    return count
