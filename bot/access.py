"""Who may run which command, enforced in one place before any handler runs.

A command declares the role it needs; the refusal names that role, in the member's language.
"""

from __future__ import annotations

from bot.actions import Action
from bot.context import Command, Context
from bot.roles import has_role, is_admin, may_curate
from bot.sectors import find_sector, unknown_sector
from storage.models import RoleName, Sector


def named_sector(ctx: Context) -> Sector | list[Action]:
    """The sector the first argument names; [] (usage) when there is none."""
    if not ctx.args:
        return []
    sector = find_sector(ctx.session, ctx.args[0])
    return sector if sector is not None else unknown_sector(ctx, ctx.args[0])


def allows(ctx: Context, role: RoleName, sector: Sector | None = None) -> bool:
    """Whether the member holds `role` (for curator: of `sector`); admins hold every role."""
    if is_admin(ctx.session, ctx.member):
        return True
    if role is RoleName.CURATOR:
        return sector is not None and may_curate(ctx.session, ctx.member, sector)
    return role is RoleName.STAFF and has_role(ctx.session, ctx.member, RoleName.STAFF)


def who_may(ctx: Context, role: RoleName, sector: Sector | None = None) -> str:
    """'a curator of mobility or an administrator', in the member's language."""
    _ = ctx._
    if role is RoleName.CURATOR:
        if sector is None:
            return _("a curator or an administrator")
        return _("a curator of {sector} or an administrator").format(sector=sector.slug)
    if role is RoleName.STAFF:
        return _("city staff or an administrator")
    return _("an administrator")


def refuse(ctx: Context, command: str, role: RoleName, sector: Sector | None = None) -> Action:
    """The reply to someone who lacks the role a command needs: it names that role."""
    text = ctx._("Only {who} may use /{command}. Ask an administrator if you think you should.")
    return ctx.reply(text.format(who=who_may(ctx, role, sector), command=command))


def refusal(ctx: Context, command: Command) -> list[Action] | None:
    """None when the member may run `command`; else the reply that says who may."""
    _ = ctx._
    if command.needs is None:
        return None
    sector = None
    if command.needs is RoleName.CURATOR:
        found = (command.sector_of or named_sector)(ctx)
        if found is None:  # the command spans every sector the member curates
            if is_admin(ctx.session, ctx.member) or curates_any(ctx):
                return None
            return [refuse(ctx, command.name, command.needs)]
        if not isinstance(found, Sector):
            return found or [ctx.reply(_("Usage: {usage}").format(usage=_(command.usage)))]
        ctx.sector = sector = found
    if allows(ctx, command.needs, sector):
        return None
    return [refuse(ctx, command.name, command.needs, sector)]


def curates_any(ctx: Context) -> bool:
    return has_role(ctx.session, ctx.member, RoleName.CURATOR)
