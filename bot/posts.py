"""What threads and polls share: being posted to every channel linked to a sector, being
answered where they were posted, and being found by their number."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from bot.actions import Action
from bot.context import Context
from bot.sectors import linked_channels
from storage.models import ChannelPost, Sector

Row = TypeVar("Row", bound=SQLModel)


def post_everywhere(
    session: Session, sector: Sector, make: Callable[..., Action], **owner: int | None
) -> list[Action]:
    """One post per channel linked to `sector`: a row that remembers where it went (`owner`
    is thread_id= or poll_id=), and the action `make` builds to deliver it."""
    actions = []
    for channel in linked_channels(session, sector):
        post = ChannelPost(
            channel_id=channel.id,
            platform=channel.platform,
            chat_id=channel.chat_id,
            topic=channel.thread_id,
            **owner,
        )
        session.add(post)
        session.flush()
        actions.append(make(**where(post), post_id=post.id))
    return actions


def posts_of(session: Session, **owner: int | None) -> list[ChannelPost]:
    """Where a thread or poll was posted (thread_id= or poll_id=)."""
    query = select(ChannelPost).order_by(col(ChannelPost.id))
    for name, value in owner.items():
        query = query.where(getattr(ChannelPost, name) == value)
    return list(session.exec(query))


def where(post: ChannelPost) -> dict[str, Any]:
    """The destination of an action that goes where `post` went."""
    return {"platform": post.platform, "chat_id": post.chat_id, "thread_ref": post.topic or None}


def by_number(ctx: Context, model: type[Row], ref: str, missing: str) -> Row | list[Action]:
    """The row `#12` or `12` names, or the reply (`missing`, a msgid with {ref}) saying none."""
    number = ref.lstrip("#")
    row = ctx.session.get(model, int(number)) if number.isdigit() else None
    if row is None:
        return [ctx.reply(ctx._(missing).format(ref=ref))]
    return row


def sector_by_number(model: type[Row], missing: str) -> Callable[[Context], Sector | list[Action]]:
    """For a curator's command on a numbered thread or poll: the sector it belongs to."""

    def resolve(ctx: Context) -> Sector | list[Action]:
        if not ctx.args:
            return []
        found = by_number(ctx, model, ctx.args[0], missing)
        if isinstance(found, list):
            return found
        sector = ctx.session.get(Sector, found.sector_id)  # type: ignore[attr-defined]
        assert sector is not None
        return sector

    return resolve
