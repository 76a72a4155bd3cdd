"""Who may do what: admin and staff city-wide, curator per sector."""

from __future__ import annotations

from sqlmodel import Session, select

from bot import audit
from bot.audit import member_ref
from bot.i18n import N_
from storage.models import Member, Role, RoleName, Sector

ROLE_LABELS = {
    RoleName.ADMIN: N_("admin"),
    RoleName.STAFF: N_("staff"),
    RoleName.CURATOR: N_("curator"),
}


class RoleError(ValueError):
    """A role cannot be granted as asked; the message says why."""


def has_role(
    session: Session, member: Member, role: RoleName, sector: Sector | None = None
) -> bool:
    query = select(Role.id).where(Role.member_id == member.id, Role.role == role)
    if sector is not None:
        query = query.where(Role.sector_id == sector.id)
    return session.exec(query).first() is not None


def is_admin(session: Session, member: Member) -> bool:
    return has_role(session, member, RoleName.ADMIN)


def may_curate(session: Session, member: Member, sector: Sector) -> bool:
    """Curators of the sector, and admins, curate it."""
    return is_admin(session, member) or has_role(session, member, RoleName.CURATOR, sector)


def roles_of(session: Session, member: Member) -> list[tuple[RoleName, Sector | None]]:
    rows = session.exec(
        select(Role, Sector)
        .join(Sector, Role.sector_id == Sector.id, isouter=True)
        .where(Role.member_id == member.id)
        .order_by(Role.role, Sector.slug)
    ).all()
    return [(role.role, sector) for role, sector in rows]


def _role_rows(
    session: Session, member: Member, role: RoleName, sector: Sector | None
) -> list[Role]:
    query = select(Role).where(Role.member_id == member.id, Role.role == role)
    if sector is None:
        query = query.where(Role.sector_id.is_(None))  # type: ignore[union-attr]
    else:
        query = query.where(Role.sector_id == sector.id)
    return list(session.exec(query).all())


def grant(
    session: Session,
    member: Member,
    role: RoleName,
    sector: Sector | None,
    by: Member | None = None,
) -> bool:
    """Grant a role, logged in the audit as done `by` (None: the command line); False when
    the member already had it."""
    _check_scope(role, sector)
    if _role_rows(session, member, role, sector):
        return False
    session.add(Role(member_id=member.id, role=role, sector_id=sector.id if sector else None))
    audit.record(session, by, "role.grant", member_ref(member), _scoped(role, sector))
    session.flush()
    return True


def revoke(
    session: Session,
    member: Member,
    role: RoleName,
    sector: Sector | None,
    by: Member | None = None,
) -> bool:
    """Revoke a role, logged in the audit; False when the member did not have it."""
    _check_scope(role, sector)
    rows = _role_rows(session, member, role, sector)
    for row in rows:
        session.delete(row)
    if rows:
        audit.record(session, by, "role.revoke", member_ref(member), _scoped(role, sector))
    session.flush()
    return bool(rows)


def _scoped(role: RoleName, sector: Sector | None) -> str:
    return f"{role.value} of {sector.slug}" if sector else role.value


def _check_scope(role: RoleName, sector: Sector | None) -> None:
    if role is RoleName.CURATOR and sector is None:
        raise RoleError("a curator curates one sector: name it")
    if role is not RoleName.CURATOR and sector is not None:
        raise RoleError(f"{role.value} is a city-wide role: it takes no sector")
