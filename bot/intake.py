"""Whether what a member writes is taken into a sector's dialogue: not while a curator has
muted them, and not beyond the flood limit (POLDER_FLOOD_MESSAGES within
POLDER_FLOOD_SECONDS, counted from the stored messages so every process sees the same count).

It covers the dialogue: messages in linked channels, their edits, and /reply answers. Commands
and private chats with the bot are still answered, so a muted member can still see their
profile and use their data rights.

A held-back member is told why once, not once per message: `members.slowed_at` records when.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from bot.actions import Action
from bot.context import Context
from bot.events import MessageEdited
from bot.polls import shown_time
from storage.models import Member, Message


def held_back(ctx: Context) -> list[Action] | None:
    """None: take the member's words in. Otherwise they are not stored nor routed, and this
    is the answer instead: a polite note the first time, nothing after that."""
    member, now = ctx.member, ctx.event.at
    if is_muted(member, now):
        if member.slowed_at is not None:  # told since this mute began (/mute clears it)
            return []
        return [_told(ctx, now, _muted_text(ctx))]
    if isinstance(ctx.event, MessageEdited):
        return None  # an edit adds no message: it cannot flood
    if not flooding(ctx, now):
        return None
    window = timedelta(seconds=ctx.settings.flood_seconds)
    if member.slowed_at is not None and member.slowed_at > now - window:
        return []
    text = ctx._(
        "Please slow down: you sent more than {count} messages within {seconds} seconds. "
        "What you send over that limit is not taken into the dialogue; "
        "write again in a little while."
    ).format(count=ctx.settings.flood_messages, seconds=ctx.settings.flood_seconds)
    return [_told(ctx, now, text)]


def is_muted(member: Member, now: datetime) -> bool:
    return member.muted_until is not None and member.muted_until > now


def flooding(ctx: Context, now: datetime) -> bool:
    """Whether the member already has `flood_messages` messages in the window before `now`
    (one count on `ix_messages_member_created`)."""
    since = now - timedelta(seconds=ctx.settings.flood_seconds)
    recent = ctx.session.exec(
        select(func.count(col(Message.id))).where(
            Message.member_id == ctx.member.id, Message.created_at > since
        )
    ).one()
    return int(recent) >= ctx.settings.flood_messages


def _muted_text(ctx: Context) -> str:
    until = ctx.member.muted_until
    assert until is not None
    text = ctx._(
        "A curator has muted you until {until}: what you write is not taken into the dialogue "
        "until then. Commands such as /help still work."
    )
    return text.format(until=shown_time(until, ctx.settings.zone))


def _told(ctx: Context, now: datetime, text: str) -> Action:
    ctx.member.slowed_at = now
    ctx.session.add(ctx.member)
    return ctx.reply(text)
