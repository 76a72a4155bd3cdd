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


def refusal(ctx: Context, command: Command) -> list[Action] | None:
    """None when the member may run `command`; else the reply that says who may."""
    _, session, member = ctx._, ctx.session, ctx.member
    if command.needs is None:
        return None
    if command.needs is RoleName.CURATOR:
        found = (command.sector_of or named_sector)(ctx)
        if not isinstance(found, Sector):
            return found or [ctx.reply(_("Usage: {usage}").format(usage=_(command.usage)))]
        ctx.sector = sector = found
        allowed = may_curate(session, member, sector)
        who = _("a curator of {sector} or an administrator").format(sector=sector.slug)
    elif command.needs is RoleName.STAFF:
        allowed = is_admin(session, member) or has_role(session, member, RoleName.STAFF)
        who = _("city staff or an administrator")
    else:
        allowed = is_admin(session, member)
        who = _("an administrator")
    if allowed:
        return None
    text = _("Only {who} may use /{command}. Ask an administrator if you think you should.")
    return [ctx.reply(text.format(who=who, command=command.name))]
