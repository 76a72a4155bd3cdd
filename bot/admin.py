"""/grant and /revoke: an administrator hands out roles from the chat."""

from __future__ import annotations

from bot.actions import Action
from bot.context import Command, Context, Feature
from bot.i18n import N_
from bot.members import MemberNotFound, find_member
from bot.roles import ROLE_LABELS, RoleError, grant, revoke
from bot.sectors import find_sector, unknown_sector
from storage.models import RoleName


def _change(ctx: Context, usage: str, giving: bool) -> list[Action]:
    _ = ctx._
    if len(ctx.args) not in (2, 3):
        return [ctx.reply(_("Usage: {usage}").format(usage=_(usage)))]
    ref, role_word = ctx.args[0].lstrip("@"), ctx.args[1].lower()
    try:
        role = RoleName(role_word)
    except ValueError:
        text = _("There is no role {role}. Roles: admin, staff, curator.")
        return [ctx.reply(text.format(role=role_word))]
    sector = None
    if len(ctx.args) == 3:
        sector = find_sector(ctx.session, ctx.args[2])
        if sector is None:
            return unknown_sector(ctx, ctx.args[2])
    try:
        member = find_member(ctx.session, ref)
    except MemberNotFound:
        text = _("I know no member {ref}. Name them by #number (see /whoami) or platform:id.")
        return [ctx.reply(text.format(ref=ref))]
    try:
        changed = (
            grant(ctx.session, member, role, sector, by=ctx.member)
            if giving
            else revoke(ctx.session, member, role, sector, by=ctx.member)
        )
    except RoleError:
        if role is RoleName.CURATOR:
            return [ctx.reply(_("A curator looks after one sector: say which one."))]
        text = _("{role} is a city-wide role: it takes no sector.")
        return [ctx.reply(text.format(role=_(ROLE_LABELS[role])))]
    label = _(ROLE_LABELS[role]) + (f" ({sector.slug})" if sector else "")
    name = f"{member.display_name} (#{member.id})"
    if giving:
        text = _("{name} is now {role}.") if changed else _("{name} was already {role}.")
    else:
        text = _("{name} is no longer {role}.") if changed else _("{name} was not {role}.")
    return [ctx.reply(text.format(name=name, role=label))]


def grant_role(ctx: Context) -> list[Action]:
    return _change(ctx, "/grant <member> <role> [sector]", giving=True)


def revoke_role(ctx: Context) -> list[Action]:
    return _change(ctx, "/revoke <member> <role> [sector]", giving=False)


FEATURE = Feature(
    name="admin",
    commands=[
        Command(
            "grant",
            grant_role,
            N_("/grant <member> <role> [sector]"),
            N_("give a member a role"),
            needs=RoleName.ADMIN,
        ),
        Command(
            "revoke",
            revoke_role,
            N_("/revoke <member> <role> [sector]"),
            N_("take a role back"),
            needs=RoleName.ADMIN,
        ),
    ],
)
