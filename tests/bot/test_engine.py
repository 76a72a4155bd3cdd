"""The engine's contract: each event handled once, in one transaction, answers via the outbox."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import replace

from sqlalchemy import func
from sqlmodel import select

from bot.actions import Reply
from bot.context import Command, Feature
from bot.engine import DEFAULT_FEATURES, Engine
from storage.database import transaction
from storage.models import HandledEvent, Member, Message, OutboxEntry
from tests.conftest import PROJECT, Chat, onboarded, reply_text


def count(database, model) -> int:
    with transaction(database) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def linked_room(engine, curator_name: str = "cura") -> Chat:
    """A group chat linked to mobility by a curator (granted directly in the database)."""
    from bot.members import member_for
    from bot.roles import grant
    from bot.sectors import find_sector
    from storage.models import RoleName

    with transaction(engine.database) as session:
        curator = member_for(session, "test", curator_name, curator_name)
        grant(session, curator, RoleName.CURATOR, find_sector(session, "mobility"))
    engine.handle(Chat(curator_name, chat="room-1").command("/link mobility"))
    return Chat("member", chat="room-1")


def test_a_reply_is_written_to_the_outbox_in_the_same_transaction(engine, database) -> None:
    onboarded(database, "anna")
    actions = engine.handle(Chat("anna").command("/sectors"))
    assert len(actions) == 1 and isinstance(actions[0], Reply)
    with transaction(database) as session:
        entry = session.exec(select(OutboxEntry)).one()
    assert entry.kind == "Reply" and entry.chat_id == "anna"
    assert "mobility" in entry.payload["text"]


def test_the_same_event_twice_stores_one_row_and_one_reply(engine, database) -> None:
    room = linked_room(engine)
    event = room.message("Shared e-bikes at every station of the ring line, please!")
    first = engine.handle(event)
    second = engine.handle(event)
    assert second == []
    assert count(database, Message) == 1
    assert first == []  # a plain message in a group gets no reply


def test_the_same_command_twice_replies_once(engine, database) -> None:
    onboarded(database, "anna")
    event = Chat("anna").command("/join mobility")
    assert "Welcome to mobility" in reply_text(engine.handle(event))
    assert engine.handle(event) == []
    assert count(database, OutboxEntry) == 1


def test_the_same_event_at_once_from_two_threads_is_handled_once(
    engine, database, settings
) -> None:
    room = linked_room(engine)
    # A second Engine: separate workers share nothing but the database.
    other = Engine(database, settings)
    for n in range(5):
        event = room.message(f"Idea {n}: car-free Sundays on the inner ring, every month.")
        command = Chat(f"racer{n}", chat="group-2").command("/join energy")
        results: list[list] = []
        barrier = threading.Barrier(4)

        def work(worker, ev, barrier=barrier, results=results):
            barrier.wait()
            results.append(worker.handle(ev))

        threads = [
            threading.Thread(target=work, args=(w, e))
            for w in (engine, other)
            for e in (event, command)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert count(database, Message) == 5
    with transaction(database) as session:
        replies = session.exec(select(OutboxEntry).where(OutboxEntry.chat_id == "group-2")).all()
    assert len(replies) == 5


def test_handled_keys_survive_a_restart(database_url, database) -> None:
    """A new OS process (a restarted bot) still knows what the last one handled."""
    script = f"""
import sys
sys.path.insert(0, {str(PROJECT)!r})
from bot.config import Settings
from bot.engine import Engine
from storage.database import open_engine
from tests.conftest import Chat
url = sys.argv[1]
engine = Engine(open_engine(url), Settings(database_url=url, _env_file=None))
event = Chat("ruth", chat="g").command("/join energy", key="telegram:update:4242")
print(len(engine.handle(event)))
"""
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, database_url],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["1", "0"]
    assert count(database, OutboxEntry) == 1
    with transaction(database) as session:
        assert session.get(HandledEvent, "telegram:update:4242") is not None


def test_an_unknown_command_gets_a_pointer_to_help(engine) -> None:
    text = reply_text(engine.handle(Chat("anna").command("/frobnicate")))
    assert "/frobnicate" in text and "/help" in text


def test_unclosed_quotes_get_a_clear_answer(engine) -> None:
    text = reply_text(engine.handle(Chat("anna").command('/join "mobility')))
    assert "could not read" in text and "quotation" in text


def test_a_private_message_that_is_no_command_points_to_help(engine, database) -> None:
    text = reply_text(engine.handle(Chat("anna").message("hello?")))
    assert "/help" in text
    assert count(database, Message) == 0  # not a sector's dialogue, so not kept


def test_a_failing_feature_keeps_nothing_and_apologises(database, settings) -> None:
    def broken(ctx):
        ctx.session.add(Member(display_name="half-done"))
        ctx.session.flush()
        raise RuntimeError("bug")

    features = (*DEFAULT_FEATURES, Feature("broken", [Command("boom", broken, "/boom", "x")]))
    engine = Engine(database, settings, features)
    event = Chat("anna").command("/boom")
    text = reply_text(engine.handle(event))
    assert "went wrong" in text
    with transaction(database) as session:
        names = [m.display_name for m in session.exec(select(Member))]
        assert "half-done" not in names
        assert session.get(HandledEvent, event.key).kind == "failed:CommandIssued"
    assert engine.handle(event) == []  # the platform's retry does not repeat the apology
    assert count(database, OutboxEntry) == 1


def test_two_features_cannot_claim_one_command(database, settings) -> None:
    import pytest

    clash = Feature("clash", [Command("help", lambda ctx: [], "/help", "x")])
    with pytest.raises(ValueError, match="/help"):
        Engine(database, settings, (*DEFAULT_FEATURES, clash))


def test_first_contact_creates_one_member_even_when_two_messages_race(engine, database) -> None:
    chat = Chat("newbie")
    events = [replace(chat.command("/whoami"), key=f"race:{n}") for n in range(4)]
    threads = [threading.Thread(target=engine.handle, args=(e,)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with transaction(database) as session:
        assert len(session.exec(select(Member).where(Member.display_name == "Newbie")).all()) == 1
    with transaction(database) as session:
        kinds = sorted(e.kind for e in session.exec(select(OutboxEntry)))
    # four answers, and the first-contact questions offered once, not once per racer
    assert kinds == ["Ask", "Reply", "Reply", "Reply", "Reply", "Reply"]
