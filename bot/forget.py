"""Forgetting a member on request: their personal data goes, the counts already reported stay.

The `members` row stays as a nameless tombstone (`erased_at` set, `actor_type` kept as the
only, aggregate, category), and their messages and poll votes keep pointing at it, so a
week's digest counts the same messages, active members, actor types and languages before
and after. Everything else that refers to them is deleted or unlinked, as POLICY says for
each column that refers to a member; a test walks the schema so none can be forgotten.

Their platform accounts are deleted, so if they write again they start as a new member.
What the outbox holds for them goes too, and copies of their name, organisation, accounts
and words in what it still holds for others (a digest quoting them, a list naming them) are
blanked. Files outside the database (digests written to a folder) are not searched.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, SQLModel, col, select

from bot import audit
from bot.audit import member_ref
from storage.models import (
    DigestSubscription,
    HandledEvent,
    Identity,
    Member,
    Message,
    OutboxEntry,
)
from storage.types import utcnow

ERASED = "[erased]"
MIN_TEXT = 12  # shorter message texts ("yes", "ok") are not hunted down in others' copies
MIN_WORD = 2  # nor one-letter names
OUTBOX_BATCH = 500


class Policy(enum.StrEnum):
    DELETE = "delete"  # the rows go
    UNLINK = "unlink"  # the column becomes NULL; the row stays, nobody's
    KEEP = "keep"  # the row keeps pointing at the nameless tombstone, for the counts


# Every column that refers to members.id (but the members row itself) and what forgetting
# does to the rows that point at the member.
POLICY: dict[tuple[str, str], Policy] = {
    ("identities", "member_id"): Policy.DELETE,
    ("roles", "member_id"): Policy.DELETE,
    ("conversation_states", "member_id"): Policy.DELETE,
    ("memberships", "member_id"): Policy.KEEP,  # the digests' new members per week
    ("messages", "member_id"): Policy.KEEP,  # texts erased; the count and languages stay
    ("poll_votes", "member_id"): Policy.KEEP,  # a named poll's tally stays right
    ("audit_log", "actor_id"): Policy.KEEP,  # names members by number only
    ("messages", "hidden_by"): Policy.UNLINK,
    ("channels", "linked_by"): Policy.UNLINK,
    ("threads", "opened_by"): Policy.UNLINK,
    ("polls", "created_by"): Policy.UNLINK,
    ("ideas", "submitted_by"): Policy.UNLINK,  # the idea stays, nobody's
    ("idea_changes", "changed_by"): Policy.UNLINK,
    ("digest_subscriptions", "created_by"): Policy.UNLINK,
    ("reports", "reported_by"): Policy.UNLINK,
}


@dataclass
class Forgotten:
    """What forgetting a member did, for the reply and the command line."""

    member_id: int
    accounts: int = 0
    messages: int = 0
    outbox: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # deleted or unlinked, by table

    def describe(self) -> str:
        """'accounts: 2, message texts: 12, ideas: 1, ...', for the administrator."""
        parts = [f"accounts: {self.accounts}", f"message texts: {self.messages}"]
        parts += [f"{table}: {n}" for table, n in sorted(self.rows.items()) if n]
        parts.append(f"outbox entries: {self.outbox}")
        return ", ".join(parts)


def forget_member(
    session: Session,
    member: Member,
    actor: Member | None,
    how: str,
    now: datetime | None = None,
) -> Forgotten:
    """Erase `member`'s personal data in the caller's transaction, and log it (`actor` None:
    the command line). `how` says who asked, for the audit log: never a name."""
    assert member.id is not None
    session.flush()  # rows the caller deleted or changed first (e.g. the conversation)
    accounts = list(session.exec(select(Identity).where(Identity.member_id == member.id)))
    texts = [
        text
        for text in session.exec(
            select(Message.text).where(
                Message.member_id == member.id, col(Message.text).is_not(None)
            )
        )
        if text and len(text.strip()) >= MIN_TEXT
    ]
    result = Forgotten(member.id, accounts=len(accounts))
    result.outbox = _clear_outbox(session, member, accounts, texts)
    _drop_handled_events(session, accounts)
    result.messages = _erase_messages(session, member)
    for (table_name, column_name), policy in POLICY.items():
        table = SQLModel.metadata.tables[table_name]
        column = table.c[column_name]
        if policy is Policy.DELETE:
            done = session.exec(delete(table).where(column == member.id))
        elif policy is Policy.UNLINK:
            done = session.exec(
                update(table).where(column == member.id).values({column_name: None})
            )
        else:
            continue
        result.rows[table_name] = result.rows.get(table_name, 0) + done.rowcount
    result.rows.pop("identities", None)  # counted as accounts
    _tombstone(member, now or utcnow())
    session.add(member)
    audit.record(session, actor, "member.forget", member_ref(member), how)
    session.flush()
    session.expire_all()  # bulk statements above bypassed the objects the session holds
    return result


def _erase_messages(session: Session, member: Member) -> int:
    """Texts and platform message ids go; the rows stay the member's, for the counts."""
    done = session.exec(
        update(Message)
        .where(col(Message.member_id) == member.id)
        .values(text=None, platform_message_id=None)
    )
    return int(done.rowcount)


def _tombstone(member: Member, now: datetime) -> None:
    member.display_name = ""
    member.organisation = None
    member.language = None
    member.language_source = None
    member.recent_languages = ""
    member.consent_contact = member.consent_named = member.consent_export = False
    member.muted_until = member.slowed_at = None
    member.erased_at = now
    # Nothing can reach the tombstone any more; this keeps the first-contact questions from
    # being offered to it by the event that erased it.
    member.onboarded_at = member.onboarded_at or now


def _clear_outbox(
    session: Session, member: Member, accounts: list[Identity], texts: list[str]
) -> int:
    """Delete what the outbox holds for the member (in their private chats, digests sent
    there, replies to them in groups), and blank their name, organisation, accounts and words
    in what it holds for others.
    Returns how many entries were deleted."""
    deleted = 0
    for account in accounts:
        mine = (OutboxEntry.platform == account.platform) & (
            OutboxEntry.chat_id == account.platform_user_id
        )
        deleted += int(session.exec(delete(OutboxEntry).where(mine)).rowcount)
        session.exec(
            delete(DigestSubscription).where(
                DigestSubscription.platform == account.platform,
                DigestSubscription.chat_id == account.platform_user_id,
            )
        )
    users = {(a.platform, a.platform_user_id) for a in accounts}
    words = [
        member.display_name,
        member.organisation or "",
        *(a.platform_user_id for a in accounts),
    ]
    blank = _blanking(words, texts)
    last = 0
    while True:
        batch = list(
            session.exec(
                select(OutboxEntry)
                .where(col(OutboxEntry.id) > last)
                .order_by(col(OutboxEntry.id))
                .limit(OUTBOX_BATCH)
            )
        )
        if not batch:
            return deleted
        for entry in batch:
            if (entry.platform, entry.payload.get("to_user")) in users:  # a reply to them
                session.delete(entry)
                deleted += 1
                continue
            payload = _blanked(entry.payload, blank)
            if payload != entry.payload:
                entry.payload = payload
                session.add(entry)
        session.flush()
        last = batch[-1].id or last
        for entry in batch:  # a large outbox is read in batches, not held whole
            if entry in session:
                session.expunge(entry)


def _blanking(words: Iterable[str], texts: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for the member's name, organisation and accounts (as whole words, longest
    first) and for what they wrote."""
    kept = sorted({w.strip() for w in words if len(w.strip()) >= MIN_WORD}, key=len, reverse=True)
    said = [re.escape(t) for t in sorted(set(texts), key=len, reverse=True)]
    parts = [rf"(?<!\w)(?:{'|'.join(map(re.escape, kept))})(?!\w)"] if kept else []
    parts += said
    return re.compile("|".join(parts)) if parts else None


def _blanked(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """`value` (a payload's JSON) with every match of `pattern` in its strings blanked."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_blanked(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _blanked(item, pattern) for key, item in value.items()}
    return value


def _drop_handled_events(session: Session, accounts: list[Identity]) -> None:
    """Slack's button keys end in the user id: those records of handled events go (they
    only stop a retry from repeating an event, minutes after it)."""
    for account in accounts:
        session.exec(
            delete(HandledEvent).where(
                col(HandledEvent.key).startswith(f"{account.platform}:", autoescape=True),
                col(HandledEvent.key).endswith(f":{account.platform_user_id}", autoescape=True),
            )
        )
