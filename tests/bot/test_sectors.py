"""Sectors as members meet them: listing, joining, leaving, and linking a channel."""

from __future__ import annotations

from sqlmodel import select

from bot.members import member_for
from bot.roles import grant
from bot.sectors import DEFAULT_OBJECTIVES, find_sector
from storage.database import transaction
from storage.models import Channel, Member, Membership, Message, RoleName
from tests.conftest import Chat, reply_text


def make_curator(database, user: str, sector: str = "mobility", platform: str = "test") -> None:
    with transaction(database) as session:
        member = member_for(session, platform, user, user.capitalize())
        grant(session, member, RoleName.CURATOR, find_sector(session, sector))


def test_sectors_lists_each_with_its_objective(engine) -> None:
    text = reply_text(engine.handle(Chat("anna").command("/sectors")))
    for slug, objective in DEFAULT_OBJECTIVES.items():
        assert slug in text
        assert objective in text


def test_join_then_sectors_marks_it_and_counts_the_member(engine, database) -> None:
    anna = Chat("anna")
    assert "Welcome to energy" in reply_text(engine.handle(anna.command("/join energy")))
    assert "already in energy" in reply_text(engine.handle(anna.command("/join energy")))
    listing = reply_text(engine.handle(anna.command("/sectors")))
    energy_line = next(line for line in listing.splitlines() if line.startswith("• energy"))
    assert "members: 1" in energy_line and "(joined)" in energy_line
    with transaction(database) as session:
        assert len(session.exec(select(Membership)).all()) == 1


def test_leave(engine, database) -> None:
    anna = Chat("anna")
    assert "not in energy" in reply_text(engine.handle(anna.command("/leave energy")))
    engine.handle(anna.command("/join energy"))
    assert "You left energy" in reply_text(engine.handle(anna.command("/leave energy")))
    with transaction(database) as session:
        assert session.exec(select(Membership)).all() == []


def test_join_an_unknown_sector_names_the_known_ones(engine) -> None:
    text = reply_text(engine.handle(Chat("anna").command("/join aviation")))
    assert "no sector aviation" in text
    assert "mobility" in text and "energy" in text


def test_join_without_a_sector_shows_usage(engine) -> None:
    assert "Usage: /join <sector>" in reply_text(engine.handle(Chat("anna").command("/join")))


def test_link_by_a_non_curator_is_refused_with_a_reason(engine, database) -> None:
    make_curator(database, "cura", "energy")  # curating energy does not make you curate mobility
    for user in ("mallory", "cura"):
        text = reply_text(engine.handle(Chat(user, chat="group-7").command("/link mobility")))
        assert "Only a curator of mobility or an administrator may use /link" in text
    with transaction(database) as session:
        assert session.exec(select(Channel)).all() == []


def test_a_curator_links_a_group_and_its_messages_are_heard_as_the_sector(engine, database) -> None:
    make_curator(database, "cura")
    text = reply_text(engine.handle(Chat("cura", chat="group-7").command("/link mobility")))
    assert "now linked to mobility" in text
    statement = "Wir brauchen mehr sichere Radwege zwischen den Vororten und dem Zentrum."
    engine.handle(Chat("bob", chat="group-7").message(statement))
    engine.handle(Chat("bob", chat="elsewhere").message("Not a linked chat, not kept."))
    with transaction(database) as session:
        message = session.exec(select(Message)).one()
        bob = session.exec(select(Member).where(Member.display_name == "Bob")).one()
        assert message.text == statement
        assert message.sector_id == find_sector(session, "mobility").id
        assert message.member_id == bob.id
        assert message.language == "de"


def test_a_topic_can_be_linked_apart_from_its_group(engine, database) -> None:
    make_curator(database, "cura")
    make_curator(database, "cura", "energy")
    engine.handle(Chat("cura", chat="forum").command("/link mobility"))
    topic = Chat("cura", chat="forum")
    topic_event = topic.command("/link energy")
    from dataclasses import replace

    engine.handle(replace(topic_event, thread_ref="topic-9"))
    posted = Chat("bob", chat="forum").message("Heat pumps for every social housing block.")
    engine.handle(replace(posted, thread_ref="topic-9"))
    engine.handle(Chat("bob", chat="forum").message("Bus lanes on the ring road now please."))
    with transaction(database) as session:
        sectors = {
            m.text[:4]: m.sector_id for m in session.exec(select(Message).order_by(Message.id))
        }
        assert sectors == {
            "Heat": find_sector(session, "energy").id,
            "Bus ": find_sector(session, "mobility").id,
        }


def test_relinking_moves_the_channel_and_linking_twice_says_so(engine, database) -> None:
    make_curator(database, "cura")
    make_curator(database, "cura", "energy")
    cura = Chat("cura", chat="group-7")
    engine.handle(cura.command("/link mobility"))
    assert "already linked" in reply_text(engine.handle(cura.command("/link mobility")))
    engine.handle(cura.command("/link energy"))
    with transaction(database) as session:
        channel = session.exec(select(Channel)).one()
        assert channel.sector_id == find_sector(session, "energy").id


def test_an_admin_may_link_any_sector(engine, database) -> None:
    with transaction(database) as session:
        grant(session, member_for(session, "test", "root", "Root"), RoleName.ADMIN, None)
    text = reply_text(engine.handle(Chat("root", chat="g").command("/link circular-economy")))
    assert "now linked to circular-economy" in text


def test_a_private_chat_cannot_be_linked(engine, database) -> None:
    make_curator(database, "cura")
    text = reply_text(engine.handle(Chat("cura").command("/link mobility")))
    assert "private chat cannot be linked" in text
