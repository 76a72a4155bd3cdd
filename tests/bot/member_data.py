"""A member with a row in every table that refers to members (made through the engine where a
member or curator would make it, directly otherwise), beside another member in the same
thread and poll: the input of the /mydata and /forget tests. Also the schema walk both use."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import select
from sqlmodel import SQLModel
from sqlmodel import select as model_select

from bot.engine import Engine
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import Idea, Member, Message, Poll, Report, RoleName
from tests.conftest import Chat, onboarded, reply_text

NAME, USER, ORGANISATION = "Zora Quint", "zq-4711", "Quintessence Mobility Lab"
OTHER_NAME, OTHER_USER = "Bob Brightwater", "bb-9922"
ROOM, STAFF_ROOM = "ring-road", "staff-room"
SAYS = [
    "A night bus along the whole ring road would change my evenings.",
    "Bike racks on every night bus, so the last mile is easy too.",
]
OTHER_SAYS = ["The harbour ferry should run every ten minutes at rush hour."]
IDEA_TITLE = "Night buses on the ring road"
IDEA_TEXT = "Buses every half hour between midnight and five, on the whole ring road."


class NamedChat(Chat):
    """A Chat whose events carry a full display name, as Telegram's first and last name."""

    def __init__(self, user: str, name: str, chat: str | None = None) -> None:
        super().__init__(user, chat)
        self.name = name

    def _common(self, key: str | None) -> dict[str, object]:
        return {**super()._common(key), "user_name": self.name}


@dataclass(frozen=True)
class Seeded:
    member_id: int
    other_id: int
    idea_code: str
    poll_id: int
    thread_id: int


def said(engine: Engine, event: Any, expect: str = "") -> str:
    text = reply_text(engine.handle(event))
    assert expect in text, text
    return text


def seed_member(engine: Engine) -> Seeded:
    """Zora: curator and staff, who links a room, opens a thread and a poll, answers and
    votes, submits an idea and moves another, subscribes a digest, hides and reports Bob's
    message, asks for her data and leaves a question open. Bob answers and votes beside her
    and looks at the thread (so the outbox holds a copy of her name and words for him)."""
    database = engine.database
    onboarded(database, USER, OTHER_USER)
    with transaction(database) as session:
        zora = member_for(session, "test", USER, NAME)
        mobility = find_sector(session, "mobility")
        grant(session, zora, RoleName.CURATOR, mobility)
        grant(session, zora, RoleName.STAFF, None)
    me, in_room = NamedChat(USER, NAME), NamedChat(USER, NAME, ROOM)
    bob, bob_in_room = NamedChat(OTHER_USER, OTHER_NAME), NamedChat(OTHER_USER, OTHER_NAME, ROOM)
    said(engine, in_room.command("/link mobility"), "linked to mobility")
    said(engine, me.command(f"/profile organisation {ORGANISATION}"), "Saved")
    said(engine, me.command("/profile named on"), "Saved")
    said(engine, me.command("/profile actor research"), "Saved")
    said(engine, me.command("/join mobility"))
    said(engine, bob.command("/join mobility"))
    opened = said(engine, in_room.command('/thread open mobility "Which night routes first?"'))
    thread_id = int(re.search(r"#(\d+)", opened).group(1))  # type: ignore[union-attr]
    said(engine, in_room.command(f"/reply {thread_id} {SAYS[0]}"))
    engine.handle(in_room.message(SAYS[1]))
    said(engine, bob_in_room.command(f"/reply {thread_id} {OTHER_SAYS[0]}"))
    said(engine, in_room.command('/poll mobility "Night bus first?" "Ring" "Harbour"'), "open")
    with transaction(database) as session:
        poll = session.exec(model_select(Poll)).one()
    said(engine, me.command(f"/vote {poll.id} 1"), "counted")
    said(engine, bob.command(f"/vote {poll.id} 2"), "counted")
    engine.handle(me.command("/idea"))
    for answer in (IDEA_TITLE, IDEA_TEXT, "mobility", "/skip", "/skip"):
        event = me.command(answer) if answer.startswith("/") else me.message(answer)
        engine.handle(event)
    with transaction(database) as session:
        idea = session.exec(model_select(Idea).where(Idea.title == IDEA_TITLE)).one()
        others = Idea(
            code="BOB1",
            sector_id=idea.sector_id,
            title="Harbour ferry",
            description="A ferry every ten minutes.",
            submitted_by=member_for(session, "test", OTHER_USER, OTHER_NAME).id,
        )
        session.add(others)
    said(engine, me.command("/idea BOB1 status under_review promising"), "is now")
    said(engine, NamedChat(USER, NAME, STAFF_ROOM).command("/digest subscribe mobility"))
    with transaction(database) as session:
        zora = member_for(session, "test", USER, NAME)
        bobs = session.exec(model_select(Message).where(Message.text == OTHER_SAYS[0])).one()
        bobs.hidden_by, bobs.hidden_at = zora.id, bobs.created_at
        session.add(bobs)
        session.add(Report(message_id=bobs.id, reported_by=zora.id, reason="off topic"))
        member_id, other_id = zora.id, member_for(session, "test", OTHER_USER, OTHER_NAME).id
    said(engine, bob.command(f"/thread show {thread_id}"), NAME)  # Bob's copy of her words
    said(engine, in_room.command("/whoami"), NAME)  # a reply in the room addressed to her
    said(engine, me.command("/mydata"), "Messages: 2")
    said(engine, me.command("/profile setup"))  # a conversation left open
    assert member_id is not None and other_id is not None and poll.id is not None
    return Seeded(member_id, other_id, idea.code, poll.id, thread_id)


def member_references() -> set[tuple[str, str]]:
    """Every (table, column) whose foreign key points at members.id, and the members row."""
    found = {("members", "id")}
    for table in SQLModel.metadata.tables.values():
        for key in table.foreign_keys:
            if key.column.table.name == "members" and key.column.name == "id":
                found.add((table.name, key.parent.name))
    return found


def rows_referring(database: DatabaseEngine, table: str, column: str, member_id: int) -> list[Any]:
    found = SQLModel.metadata.tables[table]
    with database.connect() as connection:
        return list(connection.execute(select(found).where(found.c[column] == member_id)))


def text_holding(database: DatabaseEngine, needles: list[str]) -> list[str]:
    """'table.column = value' for every text or JSON value, in any row of any table, that
    contains one of the needles (JSON as stored, and with its escapes undone)."""
    hits = []
    with database.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if isinstance(value, str):
                        shown = [value]
                    elif isinstance(value, dict | list):
                        shown = [json.dumps(value), json.dumps(value, ensure_ascii=False)]
                    else:
                        continue
                    if any(n in text for n in needles for text in shown):
                        hits.append(f"{table.name}.{column.name} = {shown[-1][:300]}")
    return hits


def member_row(database: DatabaseEngine, member_id: int) -> Member:
    with transaction(database) as session:
        found = session.get(Member, member_id)
        assert found is not None
        return found
