"""Dialogue threads: posted to every linked channel of a sector, answered from anywhere."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from adapters.delivery import deliver_due
from bot.actions import Action, PostThread
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import ChannelPost, DialogueThread, Message, RoleName, ThreadStatus
from tests.conftest import Chat, onboarded, reply_text


def setup_sector(engine, database) -> tuple[Chat, Chat]:
    """A curator of mobility who linked a group on two platforms."""
    with transaction(database) as session:
        mobility = find_sector(session, "mobility")
        for platform in ("test", "other"):
            grant(
                session, member_for(session, platform, "cura", "Cura"), RoleName.CURATOR, mobility
            )
    onboarded(database, "cura")
    onboarded(database, "cura", platform="other")
    here = Chat("cura", chat="group-a")
    there = Chat("cura", chat="group-b", platform="other")
    engine.handle(here.command("/link mobility"))
    engine.handle(there.command("/link mobility"))
    return here, there


def deliver_everything(database) -> dict[str, str]:
    """Deliver all due entries on both platforms; chat -> platform message id of its post."""
    ids: dict[str, str] = {}

    def send(action: Action, edits: str | None) -> str:
        ident = f"{action.platform}-msg-{len(ids) + 1}"
        if isinstance(action, PostThread):
            ids[action.chat_id] = ident
        return ident

    for platform in ("test", "other"):
        deliver_due(database, platform, send)
    return ids


def test_a_thread_is_posted_to_every_linked_channel_on_every_platform(engine, database) -> None:
    here, _there = setup_sector(engine, database)
    actions = engine.handle(here.command("/thread open mobility How do we get more shared bikes?"))
    posts = [a for a in actions if isinstance(a, PostThread)]
    assert sorted((p.platform, p.chat_id) for p in posts) == [
        ("other", "group-b"),
        ("test", "group-a"),
    ]
    assert all("How do we get more shared bikes?" in p.text for p in posts)
    assert "posted to 2 channels" in reply_text(actions)
    with transaction(database) as session:
        assert all(p.outbox_id for p in session.exec(select(ChannelPost)))


def test_replies_from_any_platform_are_kept_against_the_thread(engine, database) -> None:
    here, _there = setup_sector(engine, database)
    engine.handle(here.command("/thread open mobility Where do you miss a bike lane?"))
    roots = deliver_everything(database)
    answers = [
        replace(
            Chat("ann", chat="group-a").message("Along the canal to the station."),
            thread_ref=roots["group-a"],
        ),
        replace(
            Chat("ben", chat="group-b", platform="other").message(
                "Between the ferry and the market."
            ),
            thread_ref=roots["group-b"],
        ),
        Chat("ann", chat="group-a").message("Unrelated chat in the group, not in the thread."),
    ]
    for event in answers:
        engine.handle(event)
    onboarded(database, "cleo")
    engine.handle(Chat("cleo").command("/reply 1 Near the school on the dike road, please."))
    with transaction(database) as session:
        threaded = session.exec(select(Message).where(Message.thread_id == 1)).all()
        assert len(threaded) == 3
        assert {m.platform for m in threaded} == {"test", "other"}
    shown = reply_text(engine.handle(Chat("cleo").command("/thread show 1")))
    assert "Replies: 3, participants: 3" in shown
    assert "Cleo: Near the school on the dike road, please." in shown


def test_a_closed_thread_takes_no_more_answers_and_says_so(engine, database) -> None:
    here, _ = setup_sector(engine, database)
    engine.handle(here.command("/thread open mobility Where do you miss a bike lane?"))
    roots = deliver_everything(database)
    closing = engine.handle(here.command("/thread close 1"))
    assert "Thread #1 is closed" in reply_text(closing)
    late = replace(
        Chat("ann", chat="group-a").message("One more idea for it!"), thread_ref=roots["group-a"]
    )
    assert "closed and takes no more answers" in reply_text(engine.handle(late))
    onboarded(database, "cleo")
    assert "closed and takes no more answers" in reply_text(
        engine.handle(Chat("cleo").command("/reply 1 And another"))
    )
    with transaction(database) as session:
        assert session.exec(select(Message).where(Message.thread_id == 1)).all() == []
        assert session.get(DialogueThread, 1).status is ThreadStatus.CLOSED
    assert "already closed" in reply_text(engine.handle(here.command("/thread close 1")))


def test_only_the_sector_s_curators_open_and_close_threads(engine, database) -> None:
    here, _ = setup_sector(engine, database)
    engine.handle(here.command("/thread open mobility A question?"))
    onboarded(database, "mallory")
    mallory = Chat("mallory", chat="group-a")
    assert "Only a curator of mobility" in reply_text(
        engine.handle(mallory.command("/thread open mobility Mine?"))
    )
    assert "Only a curator of mobility" in reply_text(
        engine.handle(mallory.command("/thread close 1"))
    )
    assert "There is no thread 9" in reply_text(engine.handle(mallory.command("/thread close 9")))
    with transaction(database) as session:
        assert len(session.exec(select(DialogueThread)).all()) == 1


def test_open_explains_bad_input(engine, database) -> None:
    here, _ = setup_sector(engine, database)
    assert "Usage: /thread open <sector> <question>" in reply_text(
        engine.handle(here.command("/thread open mobility"))
    )
    assert "There is no sector aviation" in reply_text(
        engine.handle(here.command("/thread open aviation Why?"))
    )
    long_question = "why " * 300
    assert "at most 1000 characters" in reply_text(
        engine.handle(here.command(f"/thread open mobility {long_question}"))
    )


def test_a_thread_in_a_sector_without_channels_warns_the_curator(engine, database) -> None:
    with transaction(database) as session:
        grant(
            session,
            member_for(session, "test", "eva", "Eva"),
            RoleName.CURATOR,
            find_sector(session, "energy"),
        )
    onboarded(database, "eva")
    text = reply_text(engine.handle(Chat("eva").command("/thread open energy Heat pumps?")))
    assert "posted to 0 channels" in text and "No channel is linked to energy" in text


def test_thread_list(engine, database) -> None:
    here, _ = setup_sector(engine, database)
    engine.handle(here.command("/thread open mobility First question?"))
    engine.handle(here.command("/thread open mobility Second question?"))
    engine.handle(here.command("/thread close 1"))
    listing = reply_text(engine.handle(here.command("/thread list mobility")))
    lines = listing.splitlines()
    assert lines[1].startswith("#2 mobility, open") and lines[2].startswith("#1 mobility, closed")
    assert "No threads yet" in reply_text(engine.handle(here.command("/thread list energy")))


def test_objective_is_set_by_a_curator_and_shown_to_joiners(engine, database) -> None:
    here, _ = setup_sector(engine, database)
    engine.handle(here.command("/objective mobility Half of all trips by bike or transit by 2030."))
    onboarded(database, "ann")
    joined = reply_text(engine.handle(Chat("ann").command("/join mobility")))
    assert "Half of all trips by bike or transit by 2030." in joined
    assert "Half of all trips" in reply_text(engine.handle(Chat("ann").command("/sectors")))
    refused = reply_text(engine.handle(Chat("ann").command("/objective mobility Mine")))
    assert "Only a curator of mobility" in refused
