"""Everything Polder holds about one member, as plain data: /mydata sends it to them as a JSON
file, and `polder members export` writes it for an administrator answering a request by mail.

Every column that refers to a member (a foreign key to `members.id`) has its section here:
COVERS names it, and a test walks the schema so that a new reference cannot be left out.
Rows are exported as the member may see them: their own words and votes, never another
member's name or words (a thread's other replies, a poll's other voters, a message they hid).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.audit import member_ref
from storage.models import (
    AuditEntry,
    Channel,
    ConversationState,
    DialogueThread,
    DigestSubscription,
    Idea,
    IdeaChange,
    Identity,
    Member,
    Membership,
    Message,
    OutboxEntry,
    Poll,
    PollVote,
    Report,
    Role,
    Sector,
)
from storage.types import utcnow

FORMAT = "polder-member-data/1"
FILES_KIND = "SendFile"  # earlier exports are not exported again (each would hold the last)

# (table, column referring to members.id) -> the section of the export holding those rows.
COVERS: dict[tuple[str, str], str] = {
    ("members", "id"): "member",
    ("identities", "member_id"): "accounts",
    ("roles", "member_id"): "roles",
    ("memberships", "member_id"): "sectors",
    ("messages", "member_id"): "messages",
    ("messages", "hidden_by"): "messages_you_hid",
    ("conversation_states", "member_id"): "conversation",
    ("channels", "linked_by"): "channels_you_linked",
    ("threads", "opened_by"): "threads_you_opened",
    ("polls", "created_by"): "polls_you_created",
    ("poll_votes", "member_id"): "votes",
    ("ideas", "submitted_by"): "ideas",
    ("idea_changes", "changed_by"): "idea_changes_you_made",
    ("digest_subscriptions", "created_by"): "digest_subscriptions_you_made",
    ("reports", "reported_by"): "reports_you_filed",
    ("audit_log", "actor_id"): "your_actions",
}


def when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_member(session: Session, member: Member, now: datetime | None = None) -> dict[str, Any]:
    """The member's data, section by section (see COVERS), ready for `json.dumps`."""
    slugs = {s.id: s.slug for s in session.exec(select(Sector))}
    accounts = list(session.exec(select(Identity).where(Identity.member_id == member.id)))
    return {
        "format": FORMAT,
        "generated_at": when(now or utcnow()),
        "member": profile(member),
        "consents": consents(member),
        "accounts": [
            {
                "id": i.id,
                "platform": i.platform,
                "user_id": i.platform_user_id,
                "since": when(i.created_at),
            }
            for i in accounts
        ],
        "roles": [
            {
                "id": r.id,
                "role": r.role.value,
                "sector": slugs.get(r.sector_id),
                "since": when(r.granted_at),
            }
            for r in session.exec(select(Role).where(Role.member_id == member.id))
        ],
        "sectors": [
            {"sector": slugs.get(m.sector_id), "joined_at": when(m.joined_at)}
            for m in session.exec(select(Membership).where(Membership.member_id == member.id))
        ],
        "messages": messages(session, member, slugs),
        "messages_you_hid": [
            {"id": m.id, "hidden_at": when(m.hidden_at)}  # another member's words: not the text
            for m in session.exec(select(Message).where(Message.hidden_by == member.id))
        ],
        "conversation": [
            {"flow": c.flow, "step": c.step, "answers": c.data, "updated_at": when(c.updated_at)}
            for c in session.exec(
                select(ConversationState).where(ConversationState.member_id == member.id)
            )
        ],
        "channels_you_linked": [
            {
                "id": c.id,
                "platform": c.platform,
                "chat": c.chat_id,
                "title": c.title,
                "sector": slugs.get(c.sector_id),
                "linked_at": when(c.created_at),
            }
            for c in session.exec(select(Channel).where(Channel.linked_by == member.id))
        ],
        "threads_you_opened": [
            {
                "id": t.id,
                "sector": slugs.get(t.sector_id),
                "question": t.question,
                "status": t.status.value,
                "opened_at": when(t.opened_at),
                "closed_at": when(t.closed_at),
            }
            for t in session.exec(
                select(DialogueThread).where(DialogueThread.opened_by == member.id)
            )
        ],
        "polls_you_created": [
            {
                "id": p.id,
                "sector": slugs.get(p.sector_id),
                "question": p.question,
                "options": list(p.options),
                "anonymous": p.anonymous,
                "status": p.status.value,
                "created_at": when(p.created_at),
                "closes_at": when(p.closes_at),
            }
            for p in session.exec(select(Poll).where(Poll.created_by == member.id))
        ],
        "votes": votes(session, member),
        "ideas": ideas(session, member, slugs),
        "idea_changes_you_made": idea_changes_made(session, member),
        "digest_subscriptions_you_made": [
            {
                "id": d.id,
                "sector": slugs.get(d.sector_id) if d.sector_id else "all",
                "platform": d.platform,
                "chat": d.chat_id,
                "cron": d.cron,
                "language": d.language,
                "active": d.active,
                "created_at": when(d.created_at),
            }
            for d in session.exec(
                select(DigestSubscription).where(DigestSubscription.created_by == member.id)
            )
        ],
        "reports_you_filed": [
            {"id": r.id, "message": r.message_id, "reason": r.reason, "at": when(r.created_at)}
            for r in session.exec(select(Report).where(Report.reported_by == member.id))
        ],
        "your_actions": [
            {
                "id": a.id,
                "action": a.action,
                "target": a.target,
                "detail": a.detail,
                "at": when(a.at),
            }
            for a in session.exec(
                select(AuditEntry)
                .where(AuditEntry.actor_id == member.id)
                .order_by(col(AuditEntry.at))
            )
        ],
        "about_you": [  # what curators and administrators did concerning the member
            {"id": a.id, "action": a.action, "detail": a.detail, "at": when(a.at)}
            for a in session.exec(
                select(AuditEntry)
                .where(AuditEntry.target == member_ref(member))
                .order_by(col(AuditEntry.at))
            )
        ],
        "messages_to_you": messages_to(session, accounts),
    }


def profile(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "display_name": member.display_name,
        "actor_type": member.actor_type.value if member.actor_type else None,
        "organisation": member.organisation,
        "language": member.language,
        "language_source": member.language_source.value if member.language_source else None,
        "recent_languages": member.recent_languages,
        "created_at": when(member.created_at),
        "onboarded_at": when(member.onboarded_at),
        "muted_until": when(member.muted_until),
        "erased_at": when(member.erased_at),
    }


def consents(member: Member) -> dict[str, bool]:
    return {
        "contact": member.consent_contact,
        "named": member.consent_named,
        "export": member.consent_export,
    }


def messages(
    session: Session, member: Member, slugs: dict[int | None, str]
) -> list[dict[str, Any]]:
    """What the member said in sector channels, oldest first (only theirs: a thread they
    answered appears by its id, not with the others' replies)."""
    rows = session.exec(
        select(Message)
        .where(Message.member_id == member.id)
        .order_by(col(Message.created_at), col(Message.id))
    )
    return [
        {
            "id": m.id,
            "sector": slugs.get(m.sector_id),
            "platform": m.platform,
            "thread": m.thread_id,
            "text": m.text,
            "language": m.language,
            "at": when(m.created_at),
            "hidden": m.hidden_at is not None,
        }
        for m in rows
    ]


def votes(session: Session, member: Member) -> list[dict[str, Any]]:
    """The member's own votes of named polls (an anonymous poll's votes carry no member)."""
    rows = session.exec(
        select(PollVote, Poll)
        .join(Poll, col(Poll.id) == PollVote.poll_id)
        .where(PollVote.member_id == member.id)
        .order_by(col(PollVote.voted_at), col(PollVote.id))
    )
    return [
        {
            "id": vote.id,
            "poll": poll.id,
            "question": poll.question,
            "option": poll.options[vote.option] if vote.option < len(poll.options) else None,
            "at": when(vote.voted_at),
        }
        for vote, poll in rows
    ]


def ideas(session: Session, member: Member, slugs: dict[int | None, str]) -> list[dict[str, Any]]:
    """The member's ideas with their history (what happened, not which curator did it)."""
    found = []
    for idea in session.exec(
        select(Idea).where(Idea.submitted_by == member.id).order_by(col(Idea.created_at))
    ):
        history = session.exec(
            select(IdeaChange)
            .where(IdeaChange.idea_id == idea.id)
            .order_by(col(IdeaChange.changed_at), col(IdeaChange.id))
        )
        found.append(
            {
                "id": idea.id,
                "code": idea.code,
                "sector": slugs.get(idea.sector_id),
                "title": idea.title,
                "description": idea.description,
                "partners_needed": list(idea.partners),
                "needs": list(idea.needs),
                "language": idea.language,
                "status": idea.status.value,
                "submitted_at": when(idea.created_at),
                "history": [
                    {
                        "from": c.status_from.value if c.status_from else None,
                        "to": c.status_to.value,
                        "note": c.note,
                        "at": when(c.changed_at),
                    }
                    for c in history
                ],
            }
        )
    return found


def idea_changes_made(session: Session, member: Member) -> list[dict[str, Any]]:
    """Status changes the member made as a curator."""
    rows = session.exec(
        select(IdeaChange, Idea.code)
        .join(Idea, col(Idea.id) == IdeaChange.idea_id)
        .where(IdeaChange.changed_by == member.id)
        .order_by(col(IdeaChange.changed_at), col(IdeaChange.id))
    )
    return [
        {
            "id": change.id,
            "idea": code,
            "from": change.status_from.value if change.status_from else None,
            "to": change.status_to.value,
            "note": change.note,
            "at": when(change.changed_at),
        }
        for change, code in rows
    ]


def messages_to(session: Session, accounts: list[Identity]) -> list[dict[str, Any]]:
    """What the bot sent (or is about to send) to the member privately: when and what kind,
    not the texts, which may name others (a curator's list of voters, possible partners)."""
    found = []
    for account in accounts:
        rows = session.exec(
            select(OutboxEntry)
            .where(
                OutboxEntry.platform == account.platform,
                OutboxEntry.chat_id == account.platform_user_id,
                OutboxEntry.kind != FILES_KIND,
            )
            .order_by(col(OutboxEntry.id))
        )
        found += [
            {
                "platform": e.platform,
                "kind": e.kind,
                "status": e.status.value,
                "at": when(e.created_at),
                "delivered_at": when(e.delivered_at),
            }
            for e in rows
        ]
    return found


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def counts(data: dict[str, Any]) -> dict[str, int]:
    """The headline numbers of an export, for the short summary beside the file."""
    return {
        "messages": len(data["messages"]),
        "ideas": len(data["ideas"]),
        "votes": len(data["votes"]),
    }
