"""Members: who is behind a platform account, created on first contact; and /whoami."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.actions import Action
from bot.context import Command, Context, Feature
from bot.i18n import N_
from bot.language import language_name
from bot.profile import ACTOR_LABELS
from bot.roles import ROLE_LABELS, roles_of
from storage.models import Identity, Member, Membership, Sector


class MemberNotFound(LookupError):
    """No member (or more than one) answers to a reference; the message says which."""


def member_for(session: Session, platform: str, user_id: str, name: str) -> Member:
    """The member behind a platform account; a first contact creates them."""
    row = session.exec(
        select(Member)
        .join(Identity, col(Identity.member_id) == Member.id)
        .where(Identity.platform == platform, Identity.platform_user_id == user_id)
    ).first()
    if row is not None:
        if name and row.display_name != name:
            row.display_name = name
            session.add(row)
        return row
    member = Member(display_name=name or user_id)
    session.add(member)
    session.flush()
    session.add(Identity(member_id=member.id, platform=platform, platform_user_id=user_id))
    session.flush()
    return member


def find_member(session: Session, ref: str) -> Member:
    """A member by `#id`, `platform:user-id`, or a display name that only one member has
    (exactly as written, else in any case)."""
    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdigit():
        member = session.get(Member, int(ref[1:]))
        if member is None:
            raise MemberNotFound(f"no member {ref}")
        return member
    if ":" in ref:
        platform, _, user_id = ref.partition(":")
        member = session.exec(
            select(Member)
            .join(Identity, col(Identity.member_id) == Member.id)
            .where(Identity.platform == platform, Identity.platform_user_id == user_id)
        ).first()
        if member is not None:
            return member
    matches = session.exec(select(Member).where(Member.display_name == ref)).all() or (
        session.exec(select(Member).where(func.lower(Member.display_name) == ref.lower())).all()
    )
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise MemberNotFound(f"no member is called {ref!r}")
    ids = ", ".join(f"#{m.id}" for m in matches)
    raise MemberNotFound(f"{len(matches)} members are called {ref!r} ({ids}): name one by #id")


def identities_of(session: Session, member: Member) -> list[Identity]:
    return list(
        session.exec(
            select(Identity).where(Identity.member_id == member.id).order_by(Identity.platform)
        ).all()
    )


def sectors_of(session: Session, member: Member) -> list[Sector]:
    return list(
        session.exec(
            select(Sector)
            .join(Membership, col(Membership.sector_id) == Sector.id)
            .where(Membership.member_id == member.id)
            .order_by(Sector.slug)
        ).all()
    )


def whoami(ctx: Context) -> list[Action]:
    _, member, session = ctx._, ctx.member, ctx.session
    unset = _("not set")
    accounts = ", ".join(
        f"{i.platform}:{i.platform_user_id}" for i in identities_of(session, member)
    )
    roles = [
        _(ROLE_LABELS[role]) + (f" ({sector.slug})" if sector else "")
        for role, sector in roles_of(session, member)
    ]
    sectors = [s.slug for s in sectors_of(session, member)]
    lines = [
        _("You are {name} (member #{id}).").format(name=member.display_name, id=member.id),
        _("Language: {language}").format(language=language_name(ctx.language)),
        _("Actor type: {actor}").format(
            actor=_(ACTOR_LABELS[member.actor_type]) if member.actor_type else unset
        ),
        _("Organisation: {organisation}").format(organisation=member.organisation or unset),
        _("Accounts: {accounts}").format(accounts=accounts),
        _("Roles: {roles}").format(roles=", ".join(roles) or _("none")),
        _("Sectors: {sectors}").format(sectors=", ".join(sectors) or _("none yet, try /sectors")),
    ]
    return [ctx.reply("\n".join(lines))]


FEATURE = Feature(
    name="members",
    commands=[Command("whoami", whoami, N_("/whoami"), N_("what Polder knows about you"))],
)
