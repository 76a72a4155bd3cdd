"""Who may run which command, enforced in one place before any handler runs.

A command declares the role it needs; the refusal names that role, in the member's language.
"""

from __future__ import annotations

from bot.actions import Action
from bot.context import Command, Context
from bot.roles import has_role, is_admin, may_curate
from bot.sectors import find_sector, unknown_sector
from storage.models import RoleName


def refusal(ctx: Context, command: Command) -> list[Action] | None:
    """None when the member may run `command`; else the reply that says who may."""
    _, session, member = ctx._, ctx.session, ctx.member
    if command.needs is None:
        return None
    if command.needs is RoleName.CURATOR:
        if not ctx.args:
            return [ctx.reply(_("Usage: {usage}").format(usage=_(command.usage)))]
        sector = find_sector(session, ctx.args[0])
        if sector is None:
            return unknown_sector(ctx, ctx.args[0])
        ctx.sector = sector
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
