"""Rows of one sector written straight through the storage models, at explicit times: the
digest tests' input (the `seed` fixture is in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from scheduled.digest import Digest, build_digest, week_bounds
from storage.models import (
    ActorType,
    Channel,
    DialogueThread,
    Member,
    Membership,
    Message,
    Sector,
)

ZONE = ZoneInfo("Europe/Amsterdam")
WEEK = "2026-W47"  # Monday 16 to Sunday 22 November 2026, CET (UTC+1)


def local(day: int, hour: int = 12, minute: int = 0, week: int = 0) -> datetime:
    """A wall-clock time in Amsterdam, `day` 0 being Monday of WEEK (+ `week` weeks), as UTC."""
    monday = datetime(2026, 11, 16, tzinfo=ZONE) + timedelta(weeks=week)
    return (monday + timedelta(days=day, hours=hour, minutes=minute)).astimezone(UTC)


@dataclass
class Seed:
    """Rows of one sector written straight through the storage models, at explicit times."""

    session: Session
    sector: Sector
    channels: dict[str, Channel] = field(default_factory=dict)

    def member(
        self,
        name: str,
        named: bool = False,
        actor: ActorType | None = None,
        joined: datetime | None = None,
    ) -> Member:
        member = Member(display_name=name, consent_named=named, actor_type=actor, language="en")
        self.session.add(member)
        self.session.flush()
        if joined is not None:
            self.session.add(
                Membership(member_id=member.id, sector_id=self.sector.id, joined_at=joined)
            )
        return member

    def channel(self, chat: str = "group") -> Channel:
        if chat not in self.channels:
            self.channels[chat] = Channel(platform="test", chat_id=chat, sector_id=self.sector.id)
            self.session.add(self.channels[chat])
            self.session.flush()
        return self.channels[chat]

    def thread(self, question: str, opened: datetime, by: Member | None = None) -> DialogueThread:
        thread = DialogueThread(
            sector_id=self.sector.id,
            question=question,
            opened_at=opened,
            opened_by=by.id if by else None,
        )
        self.session.add(thread)
        self.session.flush()
        return thread

    def say(
        self,
        who: Member | None,
        text: str | None,
        when: datetime,
        thread: DialogueThread | None = None,
        language: str | None = "en",
        chat: str = "group",
    ) -> Message:
        message = Message(
            platform="test",
            channel_id=self.channel(chat).id,
            sector_id=self.sector.id,
            member_id=who.id if who else None,
            thread_id=thread.id if thread else None,
            text=text,
            language=language,
            created_at=when,
        )
        self.session.add(message)
        self.session.flush()
        return message

    def digest(self, week: str = WEEK) -> Digest:
        start, end = week_bounds(week, ZONE)
        return build_digest(self.session, self.sector, start, end, zone=ZONE)
