"""The core tables: sectors, members and their identities and roles, channels, messages,
handled events, the outbox and per-member conversation state.

Enums are stored as plain strings (non-native), so a new value never needs a type change.
All times are timezone-aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

# Named constraints, so later migrations (batch mode on SQLite) can find and drop them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def str_enum(enum_cls: type[enum.Enum]) -> Enum:
    """A non-native enum column storing the members' values, not their names."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ActorType(enum.StrEnum):
    """Who a member is in the ecosystem."""

    SOLUTION_PROVIDER = "solution_provider"
    SERVICE_PROVIDER = "service_provider"
    USER = "user"
    REGIONAL_OPERATOR = "regional_operator"
    RESEARCH = "research"
    RESIDENT = "resident"
    PUBLIC_SECTOR = "public_sector"


class LanguageSource(enum.StrEnum):
    """Where a member's language came from; earlier ones outrank later ones."""

    SET = "set"  # the member chose it with /lang
    HINT = "hint"  # the platform's language setting
    DETECTED = "detected"  # detected from their messages


class RoleName(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    CURATOR = "curator"


class ChannelKind(enum.StrEnum):
    SECTOR = "sector"
    STAFF = "staff"


class ThreadStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PollStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class IdeaStatus(enum.StrEnum):
    """The idea pipeline, in the order an idea usually moves through it."""

    NEW = "new"
    UNDER_REVIEW = "under_review"
    TO_TESTBED = "to_testbed"
    PILOTING = "piloting"
    DONE = "done"
    DECLINED = "declined"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Sector(SQLModel, table=True):
    __tablename__ = "sectors"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    objective: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    __tablename__ = "members"

    id: int | None = Field(default=None, primary_key=True)
    display_name: str = Field(max_length=200)
    language: str | None = Field(default=None, max_length=8)
    language_source: LanguageSource | None = Field(default=None, sa_type=str_enum(LanguageSource))
    # The last few confident detections, newest last ("nl,nl,de"): a change needs agreement.
    recent_languages: str = Field(default="", max_length=40)
    actor_type: ActorType | None = Field(default=None, sa_type=str_enum(ActorType))
    organisation: str | None = Field(default=None, max_length=200)
    consent_contact: bool = False
    consent_named: bool = False
    consent_export: bool = False
    # When the first-contact questions were answered or skipped; None: not offered yet.
    onboarded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Forgotten on request: the row stays, nameless, so counts already reported stay right.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A curator muted the member: nothing they write is taken in until then.
    muted_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When they were last told to slow down (flood control tells them once per window).
    slowed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Identity(SQLModel, table=True):
    """One platform account of a member; a member may have several."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", ondelete="CASCADE", index=True)
    platform: str = Field(max_length=20)
    platform_user_id: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Role(SQLModel, table=True):
    """admin and staff are city-wide (no sector); curator is per sector."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("member_id", "role", "sector_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", ondelete="CASCADE", index=True)
    role: RoleName = Field(sa_type=str_enum(RoleName))
    sector_id: int | None = Field(default=None, foreign_key="sectors.id", ondelete="CASCADE")
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    """A member who joined a sector's ecosystem."""

    __tablename__ = "memberships"

    member_id: int = Field(foreign_key="members.id", ondelete="CASCADE", primary_key=True)
    sector_id: int = Field(foreign_key="sectors.id", ondelete="CASCADE", primary_key=True)
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Channel(SQLModel, table=True):
    """A platform chat (and optionally a topic in it) linked to a sector.

    `thread_id` is '' for a whole chat, so the unique key works alike on both databases.
    """

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "thread_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=100)
    thread_id: str = Field(default="", max_length=100)
    title: str = Field(default="", max_length=200)
    sector_id: int = Field(foreign_key="sectors.id", ondelete="CASCADE", index=True)
    kind: ChannelKind = Field(default=ChannelKind.SECTOR, sa_type=str_enum(ChannelKind))
    linked_by: int | None = Field(default=None, foreign_key="members.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Message(SQLModel, table=True):
    """Something a member said in a channel; text and author can be erased, the row stays."""

    __tablename__ = "messages"
    __table_args__ = (
        # member_id last: who took part when (a digest's counts) is read from the index alone
        Index("ix_messages_sector_created", "sector_id", "created_at", "member_id"),
        Index("ix_messages_channel_created", "channel_id", "created_at"),
        Index("ix_messages_member_created", "member_id", "created_at"),
        Index("ix_messages_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    channel_id: int | None = Field(default=None, foreign_key="channels.id", ondelete="SET NULL")
    sector_id: int | None = Field(default=None, foreign_key="sectors.id", ondelete="SET NULL")
    member_id: int | None = Field(default=None, foreign_key="members.id", ondelete="SET NULL")
    thread_ref: str | None = Field(default=None, max_length=100)
    # The dialogue thread this message answers, whatever platform it came from.
    thread_id: int | None = Field(
        default=None, foreign_key="threads.id", ondelete="SET NULL", index=True
    )
    text: str | None = Field(default=None, sa_type=Text)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    platform_message_id: str | None = Field(default=None, max_length=100)
    # Hidden by a curator: kept out of digests, exports and summaries (still counted).
    hidden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_by: int | None = Field(default=None, foreign_key="members.id", ondelete="SET NULL")


class HandledEvent(SQLModel, table=True):
    """The idempotency key of every event the engine has handled: a second delivery is dropped."""

    __tablename__ = "handled_events"

    key: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=40)
    handled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxEntry(SQLModel, table=True):
    """An action decided by the engine, waiting to be (or already) delivered to a platform."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "platform", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=100)
    thread_ref: str | None = Field(default=None, max_length=100)
    kind: str = Field(max_length=40)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=str_enum(OutboxStatus))
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    platform_message_id: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, sa_type=Text)
    event_key: str | None = Field(default=None, max_length=200)
    # An edit of the message another entry posted (its platform id is known once delivered).
    edit_of: int | None = Field(default=None, foreign_key="outbox.id", ondelete="SET NULL")
    # Pending entries with the same key are merged: the newest payload replaces the older.
    coalesce_key: str | None = Field(default=None, max_length=100, index=True)
    # Not sent before that entry is delivered (or given up): the parts of a digest, in order.
    follows: int | None = Field(default=None, foreign_key="outbox.id", ondelete="SET NULL")


class ConversationState(SQLModel, table=True):
    """A member's half-finished conversation (e.g. a form), so any worker can carry it on."""

    __tablename__ = "conversation_states"

    member_id: int = Field(foreign_key="members.id", ondelete="CASCADE", primary_key=True)
    flow: str = Field(max_length=40)
    step: str = Field(default="", max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DialogueThread(SQLModel, table=True):
    """A question a curator puts to a sector, answered across all its channels."""

    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_sector_opened", "sector_id", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    sector_id: int = Field(foreign_key="sectors.id", ondelete="CASCADE")
    question: str = Field(sa_type=Text)
    status: ThreadStatus = Field(default=ThreadStatus.OPEN, sa_type=str_enum(ThreadStatus))
    language: str = Field(default="en", max_length=8)
    opened_by: int | None = Field(default=None, foreign_key="members.id", ondelete="SET NULL")
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Poll(SQLModel, table=True):
    """A question with options, open until its deadline.

    An anonymous poll keeps a salt while open, so a member's vote can be found to change it;
    at closing the salt and the votes go, and only `results` (totals) stay.
    """

    __tablename__ = "polls"
    __table_args__ = (
        Index("ix_polls_status_closes", "status", "closes_at"),
        Index("ix_polls_sector_created", "sector_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sector_id: int = Field(foreign_key="sectors.id", ondelete="CASCADE")
    question: str = Field(sa_type=Text)
    options: list[str] = Field(sa_column=Column(JSON, nullable=False))
    multi: bool = False
    anonymous: bool = False
    status: PollStatus = Field(default=PollStatus.OPEN, sa_type=str_enum(PollStatus))
    language: str = Field(default="en", max_length=8)
    created_by: int | None = Field(default=None, foreign_key="members.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    salt: str | None = Field(default=None, max_length=64)
    results: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class PollVote(SQLModel, table=True):
    """One option chosen by one voter: a multi-choice vote is several rows.

    `voter_key` is 'm<member id>' for a named poll, a salted hash for an anonymous one
    (whose rows carry no member id and are deleted when it closes).
    """

    __tablename__ = "poll_votes"
    __table_args__ = (
        UniqueConstraint("poll_id", "voter_key", "option"),
        Index("ix_poll_votes_poll_option", "poll_id", "option"),
    )

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="polls.id", ondelete="CASCADE")
    voter_key: str = Field(max_length=64)
    member_id: int | None = Field(
        default=None, foreign_key="members.id", ondelete="CASCADE", index=True
    )
    option: int
    voted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChannelPost(SQLModel, table=True):
    """A thread's question or a poll as posted to one channel; `outbox_id` is the entry that
    posts it, whose platform message id lets replies be matched and tallies be edited."""

    __tablename__ = "channel_posts"
    __table_args__ = (Index("ix_channel_posts_chat", "platform", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int | None = Field(
        default=None, foreign_key="threads.id", ondelete="CASCADE", index=True
    )
    poll_id: int | None = Field(
        default=None, foreign_key="polls.id", ondelete="CASCADE", index=True
    )
    channel_id: int | None = Field(default=None, foreign_key="channels.id", ondelete="SET NULL")
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=100)
    topic: str = Field(default="", max_length=100)
    outbox_id: int | None = Field(
        default=None, foreign_key="outbox.id", ondelete="SET NULL", index=True
    )


class Idea(SQLModel, table=True):
    """A member's idea for a sector, with what it needs, on its way through the pipeline."""

    __tablename__ = "ideas"
    __table_args__ = (
        Index("ix_ideas_sector_created", "sector_id", "created_at"),
        Index("ix_ideas_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True)  # the short id members type: /idea K7QX
    sector_id: int = Field(foreign_key="sectors.id", ondelete="CASCADE")
    title: str = Field(max_length=120)
    description: str = Field(sa_type=Text)
    partners: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=8)
    status: IdeaStatus = Field(default=IdeaStatus.NEW, sa_type=str_enum(IdeaStatus))
    submitted_by: int | None = Field(
        default=None, foreign_key="members.id", ondelete="SET NULL", index=True
    )
    platform: str = Field(default="", max_length=20)  # where the submitter hears back
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IdeaChange(SQLModel, table=True):
    """One step of an idea's history: who moved it where, when, and why."""

    __tablename__ = "idea_changes"
    __table_args__ = (Index("ix_idea_changes_idea_at", "idea_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int = Field(foreign_key="ideas.id", ondelete="CASCADE")
    status_from: IdeaStatus | None = Field(default=None, sa_type=str_enum(IdeaStatus))
    status_to: IdeaStatus = Field(sa_type=str_enum(IdeaStatus))
    note: str = Field(default="", sa_type=Text)
    changed_by: int | None = Field(
        default=None, foreign_key="members.id", ondelete="SET NULL", index=True
    )
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DigestSubscription(SQLModel, table=True):
    """A staff channel that gets a sector's digest (or every sector's, `sector_id` None) at
    the times its cron names, in `language`. `platform` 'folder' means files: `chat_id` is
    then the directory they are written to."""

    __tablename__ = "digest_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=1000)
    thread_ref: str | None = Field(default=None, max_length=100)
    sector_id: int | None = Field(default=None, foreign_key="sectors.id", ondelete="CASCADE")
    cron: str = Field(max_length=100)
    language: str = Field(default="en", max_length=8)
    active: bool = True
    created_by: int | None = Field(default=None, foreign_key="members.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DigestIssue(SQLModel, table=True):
    """One digest decided for a subscription, sector and week: the unique key is what makes
    it go out once, whichever scheduler gets there and however often. It is written in the
    transaction that queues the message (`outbox_id`) or writes the file (`path`)."""

    __tablename__ = "digest_issues"
    __table_args__ = (UniqueConstraint("subscription_id", "sector_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="digest_subscriptions.id", ondelete="CASCADE")
    sector_id: int = Field(foreign_key="sectors.id", ondelete="CASCADE", index=True)
    period: str = Field(max_length=10)  # the ISO week it covers: 2026-W47
    due_at: datetime = Field(sa_type=UTCDateTime)  # the cron time that made it due
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    outbox_id: int | None = Field(
        default=None, foreign_key="outbox.id", ondelete="SET NULL", index=True
    )
    path: str | None = Field(default=None, sa_type=Text)


class SchedulerLease(SQLModel, table=True):
    """Who runs the scheduled jobs, on SQLite (PostgreSQL uses an advisory lock instead):
    the holder renews `expires_at`, and once it passes anyone may take over."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=200)
    acquired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class StatementVote(SQLModel, table=True):
    """The agree / disagree / pass tally of an imported statement (a Polis comment)."""

    __tablename__ = "statement_votes"

    message_id: int = Field(foreign_key="messages.id", ondelete="CASCADE", primary_key=True)
    agrees: int = 0
    disagrees: int = 0
    passes: int = 0


class Report(SQLModel, table=True):
    """A member flagged a message to the sector's curators."""

    __tablename__ = "reports"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", ondelete="CASCADE", index=True)
    reported_by: int | None = Field(
        default=None, foreign_key="members.id", ondelete="SET NULL", index=True
    )
    reason: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what and when, for every curator, staff and admin action. `target` and
    `detail` name members by id, never by name, so a forgotten member leaves no name here."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(
        default=None, foreign_key="members.id", ondelete="SET NULL", index=True
    )
    action: str = Field(max_length=40)
    target: str = Field(default="", max_length=200)
    detail: str = Field(default="", sa_type=Text)
