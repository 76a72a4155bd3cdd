"""Delivering the outbox through an adapter's `send`."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from adapters.delivery import DeliveryError, deliver_due
from bot.actions import Action, Reply
from storage.database import transaction
from storage.models import OutboxEntry, OutboxStatus
from tests.conftest import Chat, onboarded


def test_replies_are_rendered_once_and_their_message_ids_recorded(engine, database) -> None:
    onboarded(database, "anna", "bert")
    engine.handle(Chat("anna").command("/join mobility"))
    engine.handle(Chat("bert").command("/join energy"))
    sent: list[Action] = []

    def send(action: Action, edits: str | None) -> str:
        sent.append(action)
        return f"m{len(sent)}"

    assert deliver_due(database, "test", send) == 2
    assert deliver_due(database, "test", send) == 0
    assert [a.chat_id for a in sent] == ["anna", "bert"]
    assert isinstance(sent[0], Reply) and "Welcome to mobility" in sent[0].text
    with transaction(database) as session:
        ids = [e.platform_message_id for e in session.exec(select(OutboxEntry))]
    assert ids == ["m1", "m2"]


def test_a_platform_refusal_is_kept_for_a_retry_not_lost(engine, database) -> None:
    onboarded(database, "anna")
    engine.handle(Chat("anna").command("/sectors"))

    def flooded(action: Action, edits: str | None) -> str:
        raise DeliveryError("429: retry after 0 s", retry_after=timedelta(0))

    assert deliver_due(database, "test", flooded) == 0
    with transaction(database) as session:
        entry = session.exec(select(OutboxEntry)).one()
    assert entry.status is OutboxStatus.PENDING and "429" in entry.last_error
    assert deliver_due(database, "test", lambda a, e: "ok") == 1


def test_a_chat_that_is_gone_is_given_up(engine, database) -> None:
    onboarded(database, "anna")
    engine.handle(Chat("anna").command("/sectors"))

    def gone(action: Action, edits: str | None) -> str:
        raise DeliveryError("403: bot was kicked", retry_after=None)

    deliver_due(database, "test", gone)
    with transaction(database) as session:
        assert session.exec(select(OutboxEntry)).one().status is OutboxStatus.FAILED
