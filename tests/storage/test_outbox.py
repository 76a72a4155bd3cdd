"""The outbox: claimed once, delivered once, retried after failure, re-sent after a crash."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import select

from storage import outbox
from storage.database import transaction
from storage.models import OutboxEntry, OutboxStatus
from storage.types import utcnow


def add_entries(database, n: int, platform: str = "test", chat: str = "c") -> list[int]:
    with transaction(database) as session:
        rows = [
            OutboxEntry(platform=platform, chat_id=chat, kind="Reply", payload={"text": str(i)})
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def statuses(database) -> list[str]:
    with transaction(database) as session:
        return [e.status.value for e in session.exec(select(OutboxEntry).order_by(OutboxEntry.id))]


def test_claim_takes_due_entries_oldest_first_and_only_of_its_platform(database) -> None:
    ids = add_entries(database, 3)
    add_entries(database, 2, platform="other")
    claimed = outbox.claim(database, "test")
    assert [e.id for e in claimed] == ids
    assert outbox.claim(database, "test") == []  # leased, not handed out twice


def test_claim_can_be_limited_to_chats(database) -> None:
    add_entries(database, 2, chat="a")
    add_entries(database, 1, chat="b")
    assert [e.payload["text"] for e in outbox.claim(database, "test", ["b"])] == ["0"]


def test_delivered_records_the_platform_message_id(database) -> None:
    [entry_id] = add_entries(database, 1)
    outbox.claim(database, "test")
    outbox.delivered(database, entry_id, "msg-77")
    with transaction(database) as session:
        entry = session.get(OutboxEntry, entry_id)
    assert entry.status is OutboxStatus.DELIVERED
    assert entry.platform_message_id == "msg-77"
    assert entry.delivered_at is not None
    assert outbox.claim(database, "test") == []


def test_a_failure_is_retried_later_and_given_up_when_hopeless(database) -> None:
    first, second = add_entries(database, 2)
    outbox.claim(database, "test")
    outbox.failed(database, first, "429 Too Many Requests", timedelta(seconds=0))
    outbox.failed(database, second, "chat not found", None)
    assert statuses(database) == ["pending", "failed"]
    again = outbox.claim(database, "test")
    assert [e.id for e in again] == [first] and again[0].attempts == 2


def test_a_crashed_deliverer_s_lease_expires_and_the_entry_is_sent_again(database) -> None:
    [entry_id] = add_entries(database, 1)
    outbox.claim(database, "test")  # ... and the process dies before recording the send
    with transaction(database) as session:
        entry = session.get(OutboxEntry, entry_id)
        entry.not_before = utcnow() - timedelta(seconds=1)  # the lease has run out
        session.add(entry)
    assert [e.id for e in outbox.claim(database, "test")] == [entry_id]


def test_concurrent_deliverers_never_claim_the_same_entry(database) -> None:
    add_entries(database, 60)
    claims: list[list[int]] = []
    barrier = threading.Barrier(4)

    def deliverer() -> None:
        barrier.wait()
        mine: list[int] = []
        while batch := outbox.claim(database, "test", limit=5):
            mine += [e.id for e in batch]
        claims.append(mine)

    threads = [threading.Thread(target=deliverer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for c in claims for i in c]
    assert len(every) == 60 and len(set(every)) == 60
    assert outbox.pending_count(database, "test") == 60  # all leased, none delivered yet
