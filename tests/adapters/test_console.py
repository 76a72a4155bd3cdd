"""The console channel: `polder chat` as a member would use it, and the channel's own parts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlmodel import Session, col, select

from adapters.console import ConsoleChannel
from bot.engine import DEFAULT_FEATURES
from bot.events import CommandIssued, MessagePosted
from bot.sectors import DEFAULT_OBJECTIVES
from storage.database import open_engine, transaction
from storage.models import Channel, Identity, Message, OutboxEntry, OutboxStatus, Sector
from tests.conftest import Run, onboarded

PREFIX = "bot> "


@contextmanager
def session_on(database_url: str) -> Iterator[Session]:
    """A transaction on the database the subprocesses wrote to."""
    engine = open_engine(database_url)
    try:
        with transaction(engine) as session:
            yield session
    finally:
        engine.dispose()


def chat(polder: Run, name: str, *lines: str, room: str | None = None) -> list[str]:
    """What `polder chat` prints for piped lines; fails on an error exit or a traceback."""
    args = ["chat", "--as", name] + (["--room", room] if room else [])
    result = polder(*args, stdin="".join(line + "\n" for line in lines))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout.splitlines()


# --- polder chat, end to end -----------------------------------------------------------------


def test_a_newcomer_gets_help_sectors_joins_and_is_known(polder: Run) -> None:
    out = chat(polder, "newcomer", "/help", "/sectors", "/join mobility", "/whoami")

    assert out, "polder chat printed nothing"
    assert [line for line in out if not line.startswith(PREFIX)] == []
    text = "\n".join(out)

    # /help lists every command the engine answers, with what it is for.
    usages = [command.usage for feature in DEFAULT_FEATURES for command in feature.commands]
    assert {"/help", "/sectors", "/join <sector>", "/whoami", "/link <sector>"} <= set(usages)
    for feature in DEFAULT_FEATURES:
        for command in feature.commands:
            assert f"{PREFIX}{command.usage}: {command.summary}" in out

    # /sectors: the three default sectors, each with its objective, before anyone joined.
    sectors_at = text.index("bot> Sectors:")
    for slug, objective in DEFAULT_OBJECTIVES.items():
        listed = text.index(f"bot> • {slug}: ", sectors_at)
        assert text.index(f"bot>   Objective: {objective}", listed) > listed
    assert "(joined)" not in text

    # /join mobility, then /whoami naming the member and the sector, in that order.
    joined_at = text.index("bot> Welcome to mobility!", sectors_at)
    whoami_at = text.index("bot> You are newcomer (member #", joined_at)
    assert "bot> Accounts: console:newcomer" in out
    assert text.index("bot> Sectors: mobility", whoami_at) > whoami_at


def test_a_plain_message_in_a_room_linked_by_a_curator_is_heard_as_the_sector(
    polder: Run, database_url: str
) -> None:
    granted = polder("roles", "grant", "console:cura", "curator", "--sector", "mobility")
    assert granted.returncode == 0, granted.stderr
    assert "is now curator of mobility" in granted.stdout

    linked = chat(polder, "cura", "/link mobility", room="townhall")
    assert any(line.startswith("bot> This channel is now linked to mobility") for line in linked)

    said = "Shared e-bikes at every tram stop would get me out of the car."
    out = chat(polder, "bob", said, room="townhall")
    assert not any("only understand commands" in line for line in out)

    with session_on(database_url) as session:
        mobility = session.exec(select(Sector).where(Sector.slug == "mobility")).one()
        bob = session.exec(
            select(Identity).where(
                Identity.platform == "console", Identity.platform_user_id == "bob"
            )
        ).one()
        message = session.exec(select(Message)).one()
        channel = session.get(Channel, message.channel_id)
    assert message.text == said
    assert message.sector_id == mobility.id
    assert message.member_id == bob.member_id
    assert message.platform == "console"
    assert channel is not None and channel.chat_id == "#townhall"


def test_linking_a_room_is_refused_to_a_member_who_is_not_a_curator(
    polder: Run, database_url: str
) -> None:
    out = chat(polder, "mallory", "/link mobility", room="x")
    assert any(
        line.startswith("bot> Only a curator of mobility or an administrator may use /link")
        for line in out
    ), out
    with session_on(database_url) as session:
        assert session.exec(select(Channel)).all() == []


def test_polder_chat_refuses_a_blank_name(polder: Run) -> None:
    result = polder("chat", "--as", "   ", stdin="/help\n")
    assert result.returncode == 2
    assert "a console member needs a name" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_dutch_speaker_is_answered_in_dutch_and_lang_switches_to_finnish(polder: Run) -> None:
    """The language issue's done-when, as a member would type it."""
    from bot.i18n import translator
    from bot.language import language_name

    nl, fi = translator("nl"), translator("fi")
    you_are = "You are {name} (member #{id})."
    out = chat(
        polder,
        "newcomer",
        "/join mobility",
        "Hoe kunnen we meer deelfietsen krijgen in Amsterdam-Noord?",
        "/whoami",
        "/lang fi",
        "/sectors",
        "I would really like to see many more shared bicycles in the northern districts.",
        "/whoami",
    )
    text = "\n".join(out)
    whoamis = [line for line in out if line.startswith(PREFIX + nl(you_are).split("{")[0])]
    assert len(whoamis) == 1, text  # the first /whoami, in Dutch
    assert (PREFIX + nl("Sectors: {sectors}").format(sectors="mobility")) in out
    switched = fi("I will answer you in {language} from now on.")
    after_lang = text.split(switched.format(language=language_name("fi")))
    assert len(after_lang) == 2, text
    assert fi("Sectors:") in after_lang[1]
    assert after_lang[1].count(PREFIX + fi(you_are).split("{")[0]) == 1  # still Finnish
    assert "You are newcomer" not in text


# --- ConsoleChannel.translate ------------------------------------------------------------------


def test_translate_ignores_empty_lines(engine, database) -> None:
    channel = ConsoleChannel(engine, database, "anna", out=io.StringIO())
    assert channel.translate("") is None
    assert channel.translate("\n") is None
    assert channel.translate("   \r\n") is None


def test_translate_in_a_private_chat(engine, database) -> None:
    channel = ConsoleChannel(engine, database, "anna", out=io.StringIO())

    command = channel.translate("/join mobility\n")
    assert isinstance(command, CommandIssued)
    assert (command.command, command.argument_text) == ("join", "mobility")
    assert (command.platform, command.user_id, command.user_name) == ("console", "anna", "anna")
    assert command.chat_id == "anna" and command.private is True

    message = channel.translate("Bikes on the night buses, please\n")
    assert isinstance(message, MessagePosted)
    assert message.text == "Bikes on the night buses, please"
    assert message.chat_id == "anna" and message.private is True


def test_translate_in_a_room(engine, database) -> None:
    channel = ConsoleChannel(engine, database, "anna", room="#townhall", out=io.StringIO())
    message = channel.translate("Hello room")
    assert isinstance(message, MessagePosted)
    assert message.chat_id == "#townhall" and message.private is False
    assert message.user_id == "anna"


def test_the_same_line_typed_twice_is_two_events(engine, database) -> None:
    """Each typed line is new: the engine must not drop a repeated /sectors as a duplicate."""
    channel = ConsoleChannel(engine, database, "anna", out=io.StringIO())
    first, second = channel.translate("/sectors"), channel.translate("/sectors")
    assert first is not None and second is not None
    assert first.key != second.key


def test_a_blank_name_is_refused(engine, database) -> None:
    with pytest.raises(ValueError, match="name"):
        ConsoleChannel(engine, database, "  ", out=io.StringIO())


@pytest.mark.parametrize("room", [" ", "#", " # "])
def test_a_blank_room_is_refused_rather_than_made_of_the_private_chat(
    engine, database, room
) -> None:
    """A blank room would share the member's private chat id: /link there would leak it."""
    with pytest.raises(ValueError, match="room needs a name"):
        ConsoleChannel(engine, database, "anna", room=room, out=io.StringIO())


# --- ConsoleChannel.deliver --------------------------------------------------------------------


def test_deliver_prints_this_chats_reply_once_and_marks_it_delivered(engine, database) -> None:
    onboarded(database, "anna", "bert", platform="console")
    out = io.StringIO()
    anna = ConsoleChannel(engine, database, "anna", out=out)
    bert = ConsoleChannel(engine, database, "bert", out=io.StringIO())
    engine.handle(anna.translate("/join mobility"))
    engine.handle(bert.translate("/join energy"))

    assert anna.deliver() == 1
    assert out.getvalue() == (
        f"bot> Welcome to mobility!\nbot> Objective: {DEFAULT_OBJECTIVES['mobility']}\n"
    )
    with transaction(database) as session:
        entries = {
            e.chat_id: e for e in session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id)))
        }
    assert entries["anna"].status == OutboxStatus.DELIVERED
    assert entries["anna"].delivered_at is not None
    assert entries["bert"].status == OutboxStatus.PENDING  # someone else's private reply

    assert anna.deliver() == 0
    assert out.getvalue().count("Welcome to mobility!") == 1
    assert "energy" not in out.getvalue()


def test_a_poll_result_prints_its_table_and_saves_its_chart(engine, database, tmp_path) -> None:
    from bot.members import member_for
    from bot.roles import grant
    from bot.sectors import find_sector
    from storage.models import RoleName

    with transaction(database) as session:
        cura = member_for(session, "console", "cura", "cura")
        grant(session, cura, RoleName.CURATOR, find_sector(session, "mobility"))
    onboarded(database, "cura", "ann", platform="console")
    out = io.StringIO()
    room = ConsoleChannel(engine, database, "cura", room="town", out=out, charts=tmp_path)
    for line in ("/link mobility", '/poll mobility "Which first?" "E-bikes" "Buses"'):
        room.say(line)
    ConsoleChannel(engine, database, "ann", out=io.StringIO()).say("/vote 1 2")
    out.seek(0)
    out.truncate(0)
    room.say("/poll close 1")
    printed = out.getvalue().splitlines()
    assert any(line.startswith(PREFIX + "Buses") and "1 (100%)" in line for line in printed)
    chart = tmp_path / "poll-1.png"
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert any(f"[{chart}]" in line and "Buses: 1" in line for line in printed)
