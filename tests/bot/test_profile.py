"""First-contact questions and /profile: who a member is, and what they consented to."""

from __future__ import annotations

from sqlmodel import select

from bot.actions import Ask
from bot.engine import Engine
from storage.database import transaction
from storage.models import ActorType, ConversationState, Member
from tests.conftest import Chat, onboarded, reply_text


def member(database, name: str) -> Member:
    with transaction(database) as session:
        return session.exec(select(Member).where(Member.display_name == name)).one()


def asks(actions) -> list[Ask]:
    return [a for a in actions if isinstance(a, Ask)]


def test_first_private_contact_offers_the_questions_once(engine, database) -> None:
    chat = Chat("rosa")
    first = engine.handle(chat.command("/sectors"))
    [question] = asks(first)
    assert question.text == "Who are you in the ecosystem?"
    assert [value for value, _ in question.choices] == [a.value for a in ActorType]
    assert "/skip" in question.hint
    engine.handle(chat.command("/cancel"))
    assert asks(engine.handle(chat.command("/sectors"))) == []


def test_first_contact_in_a_group_asks_nothing_there(engine) -> None:
    assert asks(engine.handle(Chat("rosa", chat="group").command("/sectors"))) == []
    assert len(asks(engine.handle(Chat("rosa").command("/sectors")))) == 1  # asked privately


def test_answering_every_question(engine, database) -> None:
    chat = Chat("rosa")
    engine.handle(chat.command("/start"))
    steps = [
        ("research", "Which organisation"),
        ("University of Amsterdam", "contact you"),
        ("yes", "name you in the weekly digests"),
        ("2", "open-data exports"),
    ]
    for answer, next_question in steps:
        [question] = asks(engine.handle(chat.message(answer)))
        assert next_question in question.text
    done = reply_text(engine.handle(chat.message("no")))
    assert "Thank you" in done and "University of Amsterdam" in done
    rosa = member(database, "Rosa")
    assert rosa.actor_type is ActorType.RESEARCH
    assert rosa.organisation == "University of Amsterdam"
    assert (rosa.consent_contact, rosa.consent_named, rosa.consent_export) == (True, False, False)
    with transaction(database) as session:
        assert session.exec(select(ConversationState)).all() == []


def test_skipping_keeps_the_defaults_and_a_bad_answer_is_asked_again(engine, database) -> None:
    chat = Chat("rosa")
    engine.handle(chat.command("/start"))
    again = engine.handle(chat.message("astronaut"))
    assert "not one of the choices" in reply_text(again)
    assert asks(again)[0].text == "Who are you in the ecosystem?"
    for _ in range(5):
        engine.handle(chat.command("/skip"))
    rosa = member(database, "Rosa")
    assert rosa.actor_type is None and rosa.organisation is None
    assert not (rosa.consent_contact or rosa.consent_named or rosa.consent_export)
    assert "no question to skip" in reply_text(engine.handle(chat.command("/skip")))


def test_a_restarted_worker_carries_on_with_the_questions(database, settings) -> None:
    chat = Chat("rosa")
    Engine(database, settings).handle(chat.command("/start"))
    Engine(database, settings).handle(chat.message("6"))
    [question] = asks(Engine(database, settings).handle(chat.message("-")))
    assert "contact you" in question.text
    assert member(database, "Rosa").actor_type is ActorType.RESIDENT


def test_profile_shows_and_changes_fields(engine, database) -> None:
    onboarded(database, "rosa")
    chat = Chat("rosa")
    shown = reply_text(engine.handle(chat.command("/profile")))
    assert "Actor type: not set" in shown and "/profile setup" in shown
    assert "My name may appear in digests (named): off" in shown
    engine.handle(chat.command("/profile actor regional operator"))
    engine.handle(chat.command('/profile organisation "Port of Helsinki"'))
    text = reply_text(engine.handle(chat.command("/profile named on")))
    assert "My name may appear in digests (named): on" in text
    rosa = member(database, "Rosa")
    assert rosa.actor_type is ActorType.REGIONAL_OPERATOR
    assert rosa.organisation == "Port of Helsinki"
    assert rosa.consent_named and not rosa.consent_contact


def test_profile_refuses_bad_values_clearly(engine, database) -> None:
    onboarded(database, "rosa")
    chat = Chat("rosa")
    assert "Choose one of:" in reply_text(engine.handle(chat.command("/profile actor wizard")))
    assert "Usage: /profile named on|off" in reply_text(
        engine.handle(chat.command("/profile named maybe"))
    )
    assert "profile field colour" in reply_text(engine.handle(chat.command("/profile colour")))
    too_long = "x" * 201
    assert "at most 200" in reply_text(
        engine.handle(chat.command(f"/profile organisation {too_long}"))
    )
    assert member(database, "Rosa").organisation is None


def test_profile_setup_asks_the_questions_again(engine, database) -> None:
    onboarded(database, "rosa")
    [question] = asks(engine.handle(Chat("rosa").command("/profile setup")))
    assert question.text == "Who are you in the ecosystem?"
