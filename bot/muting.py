"""/mute and /unmute: a curator stops a member's messages for a while (bot/intake.py holds
them back and tells the member once until when).

Who may: an administrator, or a curator of a sector the member takes part in (joined, or
wrote in). A mute is city-wide, since a member's messages are held back wherever they write,
so a curator of an unrelated sector may not mute someone they have never met. An
administrator cannot be muted (their role can be revoked first), nor can you mute yourself.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot import audit
from bot.actions import Action
from bot.audit import member_ref
from bot.context import Command, Context, Feature
from bot.i18n import N_
from bot.members import MemberNotFound, find_member
from bot.polls import parse_duration, shown_time
from bot.roles import is_admin
from storage.models import Member, Membership, Message, Role, RoleName

DEFAULT_MUTE = timedelta(days=1)
LONGEST_MUTE = timedelta(days=365)
MUTE_USAGE = N_("/mute <member> [duration]")
UNMUTE_USAGE = N_("/unmute <member>")


def parse_mute(text: str) -> timedelta | None:
    """'30m', '2h', '1d', '2w' -> a timedelta from a minute to a year; None otherwise."""
    length = parse_duration(text)
    return length if length is not None and timedelta(minutes=1) <= length <= LONGEST_MUTE else None


def sectors_taking_part(ctx: Context, member: Member) -> set[int]:
    """The sectors the member joined or wrote in."""
    joined = ctx.session.exec(
        select(Membership.sector_id).where(Membership.member_id == member.id)
    ).all()
    wrote = ctx.session.exec(
        select(Message.sector_id)
        .where(Message.member_id == member.id, col(Message.sector_id).is_not(None))
        .distinct()
    ).all()
    return {int(s) for s in [*joined, *wrote] if s is not None}


def may_mute(ctx: Context, member: Member) -> bool:
    if is_admin(ctx.session, ctx.member):
        return True
    curated = ctx.session.exec(
        select(Role.sector_id).where(Role.member_id == ctx.member.id, Role.role == RoleName.CURATOR)
    ).all()
    return bool({int(s) for s in curated if s is not None} & sectors_taking_part(ctx, member))


def whom(ctx: Context, usage: str, most_args: int, muting: bool) -> Member | list[Action]:
    """The member the first argument names, if the caller may (un)mute them; else the reply."""
    _ = ctx._
    if not 1 <= len(ctx.args) <= most_args:
        return [ctx.reply(_("Usage: {usage}").format(usage=_(usage)))]
    ref = ctx.args[0].lstrip("@")
    try:
        member = find_member(ctx.session, ref)
    except MemberNotFound:
        text = _("I know no member {ref}. Name them by #number (see /whoami) or platform:id.")
        return [ctx.reply(text.format(ref=ref))]
    if member.id == ctx.member.id:
        return [ctx.reply(_("You cannot mute or unmute yourself."))]
    if muting and is_admin(ctx.session, member):
        text = _("{name} is an administrator and cannot be muted.")
        return [ctx.reply(text.format(name=name_of(member)))]
    if not may_mute(ctx, member):
        text = _(
            "Only a curator of a sector member #{id} takes part in, or an administrator, "
            "may mute or unmute them."
        )
        return [ctx.reply(text.format(id=member.id))]
    return member


def name_of(member: Member) -> str:
    return f"{member.display_name} (#{member.id})"


def mute(ctx: Context) -> list[Action]:
    _ = ctx._
    found = whom(ctx, MUTE_USAGE, 2, muting=True)
    if isinstance(found, list):
        return found
    member = found
    length = DEFAULT_MUTE
    if len(ctx.args) == 2:
        parsed = parse_mute(ctx.args[1])
        if parsed is None:
            text = _(
                "{duration} is not a duration I can read: write minutes, hours, days or "
                "weeks, such as 30m, 2h, 1d or 2w (at most a year)."
            )
            return [ctx.reply(text.format(duration=ctx.args[1]))]
        length = parsed
    member.muted_until = ctx.event.at + length
    member.slowed_at = None  # so the member is told, once, at their next message
    ctx.session.add(member)
    until = shown_time(member.muted_until, ctx.settings.zone)
    audit.record(ctx.session, ctx.member, "member.mute", member_ref(member), f"until {until}")
    text = _("{name} is muted until {until}: nothing they write is taken in until then.")
    return [ctx.reply(text.format(name=name_of(member), until=until))]


def unmute(ctx: Context) -> list[Action]:
    _ = ctx._
    found = whom(ctx, UNMUTE_USAGE, 1, muting=False)
    if isinstance(found, list):
        return found
    member = found
    if member.muted_until is None or member.muted_until <= ctx.event.at:
        return [ctx.reply(_("{name} is not muted.").format(name=name_of(member)))]
    member.muted_until = member.slowed_at = None
    ctx.session.add(member)
    audit.record(ctx.session, ctx.member, "member.unmute", member_ref(member))
    return [ctx.reply(_("{name} is no longer muted.").format(name=name_of(member)))]


FEATURE = Feature(
    name="muting",
    commands=[
        Command(
            "mute",
            mute,
            MUTE_USAGE,
            N_("hold back a member's messages for a while (default a day)"),
            needs=RoleName.CURATOR,
            sector_of=lambda ctx: None,
        ),
        Command(
            "unmute",
            unmute,
            UNMUTE_USAGE,
            N_("let a muted member's messages in again"),
            needs=RoleName.CURATOR,
            sector_of=lambda ctx: None,
        ),
    ],
)
