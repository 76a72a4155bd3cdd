"""Which language a member is answered in, and why a noisy detection does not change it."""

from __future__ import annotations

import csv
from dataclasses import replace

import pytest
from sqlmodel import select

from bot.i18n import translator
from bot.language import (
    Detection,
    apply_hint,
    detect,
    learn_from_message,
    normalise,
    reply_language,
)
from storage.database import transaction
from storage.models import LanguageSource, Member, Message
from tests.conftest import POLIS, Chat, onboarded, reply_text

AUSTRIA = POLIS / "austria-climate.5twd2jsnkf.2022-08-08" / "comments.csv"

LONG_GERMAN = [
    "Wir brauchen mehr sichere Radwege zwischen den Vororten und dem Stadtzentrum.",
    "Der öffentliche Verkehr sollte am Wochenende viel häufiger und günstiger fahren.",
    "Carsharing in jedem Wohnviertel würde vielen Familien das zweite Auto ersparen.",
]


def polis_statements(path=AUSTRIA) -> list[str]:
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    with path.open(encoding="utf-8") as f:
        return [row["comment-body"] for row in csv.DictReader(f)]


def whoami(engine, chat: Chat) -> str:
    return reply_text(engine.handle(chat.command("/whoami")))


def member(database, name: str) -> Member:
    with transaction(database) as session:
        return session.exec(select(Member).where(Member.display_name == name)).one()


def test_normalise_platform_codes() -> None:
    assert [normalise(c) for c in ("nl-NL", "en_US", "FI", "", None, "x1")] == [
        "nl",
        "en",
        "fi",
        None,
        None,
        None,
    ]


def test_detection_repeats_and_refuses_tiny_texts() -> None:
    text = "Hoe kunnen we meer deelfietsen krijgen in Amsterdam-Noord?"
    assert detect(text) == detect(text)
    assert detect(text).language == "nl"
    assert detect("ok!") is None


def test_a_first_confident_message_sets_the_language_and_replies_follow(engine, database) -> None:
    onboarded(database, "newcomer")
    chat = Chat("newcomer")
    assert "You are Newcomer" in whoami(engine, chat)  # no language yet: English
    engine.handle(chat.message("Hoe kunnen we meer deelfietsen krijgen in Amsterdam-Noord?"))
    dutch = translator("nl")("You are {name} (member #{id}).").split("{")[0]
    assert dutch != "You are "
    assert whoami(engine, chat).startswith(dutch)
    assert member(database, "Newcomer").language_source is LanguageSource.DETECTED


def test_lang_outranks_everything_after_it(engine, database) -> None:
    onboarded(database, "aino")
    chat = Chat("aino")
    engine.handle(chat.message("Hoe kunnen we meer deelfietsen krijgen in Amsterdam-Noord?"))
    engine.handle(chat.command("/lang fi"))
    for n in range(3):
        engine.handle(
            chat.message(f"I would really like to see many more shared bikes in district {n}.")
        )
    telegram_hint = replace(chat.command("/whoami"), language_hint="en-GB")
    finnish = translator("fi")("You are {name} (member #{id}).").split("{")[0]
    assert reply_text(engine.handle(telegram_hint)).startswith(finnish)
    assert member(database, "Aino").language == "fi"


def test_the_platform_hint_outranks_detection(engine, database) -> None:
    onboarded(database, "lars")
    chat = Chat("lars")
    engine.handle(replace(chat.command("/sectors"), language_hint="sv-SE"))
    for text in LONG_GERMAN:
        engine.handle(chat.message(text))
    assert member(database, "Lars").language == "sv"
    assert member(database, "Lars").language_source is LanguageSource.HINT


def test_an_unsupported_language_is_kept_but_answered_in_english(engine, database) -> None:
    onboarded(database, "jonas")
    chat = Chat("jonas")
    engine.handle(chat.message(LONG_GERMAN[0]))
    assert member(database, "Jonas").language == "de"
    assert whoami(engine, chat).startswith("You are Jonas")


def test_lang_refuses_a_language_it_does_not_speak(engine) -> None:
    text = reply_text(engine.handle(Chat("x").command("/lang de")))
    assert "I do not speak de yet" in text
    assert "English (en), Nederlands (nl), suomi (fi), svenska (sv)" in text


def test_short_messages_never_change_a_language() -> None:
    person = Member(display_name="P", language="de", language_source=LanguageSource.DETECTED)
    for _ in range(5):
        assert not learn_from_message(person, "Kampagne gegen Greenwashing.", Detection("nl", 1.0))
    assert person.language == "de"


def test_one_confident_detection_alone_does_not_flip_it() -> None:
    person = Member(display_name="P", language="de", language_source=LanguageSource.DETECTED)
    text = "a long enough message of more than six words in some language"
    assert not learn_from_message(person, text, Detection("nl", 0.99))
    assert person.language == "de"
    assert learn_from_message(person, text, Detection("nl", 0.99))  # it agrees now: 2 of 3
    assert person.language == "nl"


def test_a_hint_does_not_override_a_chosen_language() -> None:
    person = Member(display_name="P", language="fi", language_source=LanguageSource.SET)
    assert not apply_hint(person, "en-US")
    assert person.language == "fi"


def test_reply_language_falls_back_to_english() -> None:
    assert reply_language(Member(display_name="P", language="de"), ["en", "nl"]) == "en"
    assert reply_language(Member(display_name="P", language="nl"), ["en", "nl"]) == "nl"
    assert reply_language(Member(display_name="P"), ["en", "nl"]) == "en"


def test_real_german_statements_mistaken_for_dutch_do_not_flip_a_german_speaker(
    engine, database
) -> None:
    """Real Polis statements (Austrian climate council) that langdetect calls Dutch, or any
    other non-German language, must leave a German speaker German."""
    statements = polis_statements()
    misread = [t for t in statements if (d := detect(t)) and d.language != "de"]
    as_dutch = [t for t in misread if detect(t).language == "nl" and not detect(t).confident]
    assert as_dutch, "expected at least one German statement that langdetect calls Dutch"
    onboarded(database, "greta")
    chat = Chat("greta")
    german = [t for t in statements if (d := detect(t)) and d.language == "de" and d.confident]
    for text in german[:3]:
        engine.handle(chat.message(text))
    assert member(database, "Greta").language == "de"
    for text in misread:
        engine.handle(chat.message(text))
        assert member(database, "Greta").language == "de", text


def test_every_stored_message_gets_a_language_short_ones_the_members(engine, database) -> None:
    from bot.members import member_for
    from bot.roles import grant
    from bot.sectors import find_sector
    from storage.models import RoleName

    with transaction(database) as session:
        curator = member_for(session, "test", "cura", "Cura")
        grant(session, curator, RoleName.CURATOR, find_sector(session, "mobility"))
    engine.handle(Chat("cura", chat="room").command("/link mobility"))
    room = Chat("greta", chat="room")
    engine.handle(room.message(LONG_GERMAN[0]))
    engine.handle(room.message("Ja, genau!"))  # too short to detect: takes Greta's language
    with transaction(database) as session:
        languages = [m.language for m in session.exec(select(Message).order_by(Message.id))]
    assert languages == ["de", "de"]
