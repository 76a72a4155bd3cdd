"""Writing actions to the outbox, in the transaction that decided them.

Shared by the engine (actions of an event) and by scheduled jobs (a poll closing), so both
honour the same delivery hints: coalescing, delays, edits, and the post an entry delivers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import Session, select

from bot.actions import Action
from storage.models import ChannelPost, OutboxEntry, OutboxStatus
from storage.types import utcnow


def enqueue(
    session: Session,
    actions: Iterable[Action],
    event_key: str | None = None,
    in_order: bool = False,
) -> list[OutboxEntry]:
    """Add the actions to the outbox; returns the entries added (not those merged into a
    waiting one), so a caller can remember which entry delivers what.

    `in_order`: each entry waits for the one before it to be delivered (the parts of a
    digest), where otherwise a part that must be retried would be overtaken by the next."""
    now = utcnow()
    added: list[OutboxEntry] = []
    for action in actions:
        if action.IN_REQUEST:
            continue
        if action.coalesce_key and _merge_into_pending(session, action):
            continue
        entry = OutboxEntry(
            platform=action.platform,
            chat_id=action.chat_id,
            thread_ref=action.thread_ref,
            kind=action.kind,
            payload=action.to_payload(),
            event_key=event_key,
            not_before=now + timedelta(seconds=action.delay_seconds),
            edit_of=action.edit_of,
            coalesce_key=action.coalesce_key,
        )
        if in_order and added:
            session.flush()
            entry.follows = added[-1].id
        session.add(entry)
        added.append(entry)
        if action.post_id is not None:
            session.flush()
            post = session.get(ChannelPost, action.post_id)
            if post is not None:
                post.outbox_id = entry.id
                session.add(post)
    return added


def _merge_into_pending(session: Session, action: Action) -> bool:
    """Give a waiting entry with the same key this newer payload; False when none waits.

    An entry already claimed for sending is left alone: the new one follows it."""
    pending = session.exec(
        select(OutboxEntry).where(
            OutboxEntry.coalesce_key == action.coalesce_key,
            OutboxEntry.status == OutboxStatus.PENDING,
        )
    ).first()
    if pending is None:
        return False
    pending.payload = action.to_payload()
    session.add(pending)
    return True
