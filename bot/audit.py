"""The audit log: every curator, staff and admin action, with who, what and when.

Written in the transaction of the action it records, so an action that rolls back leaves no
entry and one that happened always has one. Members appear by id (`member #12`), never by
name: the log outlives a member who asks to be forgotten, and must not keep their name.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import AuditEntry, Member


def member_ref(member: Member | int | None) -> str:
    """How the log names a member: 'member #12'."""
    number = member.id if isinstance(member, Member) else member
    return f"member #{number}" if number is not None else "nobody"


def record(
    session: Session, actor: Member | None, action: str, target: str = "", detail: str = ""
) -> AuditEntry:
    """Log `action` (a short verb like "role.grant", "message.hide") by `actor` (None: the
    command line or a scheduled job) on `target`, in the caller's transaction."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target=target[:200],
        detail=detail,
    )
    session.add(entry)
    return entry


def entries(
    session: Session,
    since: datetime | None = None,
    action: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries first, at most `limit`; `action` matches a prefix ("role")."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if action:
        query = query.where(col(AuditEntry.action).startswith(action))
    return list(session.exec(query.limit(limit)).all())
