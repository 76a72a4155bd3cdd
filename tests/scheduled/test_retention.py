"""Retention: messages older than POLDER_RETENTION_DAYS lose text and author in batches, once a
day, and the digests of those weeks still count them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlmodel import col, select

from bot.actions import Farewell, Reply, SendFile
from bot.outgoing import enqueue
from bot.sectors import find_sector
from scheduled.digest import Digest
from scheduled.retention import Retention, erase_expired
from scheduled.runner import JobRunner
from storage import outbox
from storage.database import transaction
from storage.models import ActorType, Message, OutboxEntry
from storage.types import utcnow
from tests.scheduled.seeding import WEEK, Seed, local

DAYS = 730


def messages(database) -> list[Message]:
    with transaction(database) as session:
        return list(session.exec(select(Message).order_by(col(Message.id))))


@contextmanager
def seeding(database) -> Iterator[Seed]:
    """Rows of mobility, written in a transaction of their own (the job opens its own)."""
    with transaction(database) as session:
        yield Seed(session, find_sector(session, "mobility"))


def digest(database, week: str = WEEK) -> Digest:
    with seeding(database) as seed:
        return seed.digest(week)


def seed_two_years(database) -> None:
    """Three messages in WEEK, and one a year later."""
    with seeding(database) as seed:
        ann = seed.member("Ann", named=True, actor=ActorType.RESIDENT)
        bob = seed.member("Bob", actor=ActorType.RESEARCH)
        seed.say(ann, "An old message about the ring road.", local(1))
        seed.say(bob, "Another old one, about the harbour.", local(2), language="nl")
        seed.say(ann, "A third old one.", local(3))
        seed.say(bob, "A message from a year later.", local(2, week=52))


def test_old_messages_lose_text_and_author_and_still_count(database) -> None:
    seed_two_years(database)
    before = digest(database)
    now = local(3) + timedelta(days=DAYS, hours=1)  # the first three are past retention

    erased = erase_expired(database, DAYS, now)

    assert erased.messages == 3 and erased.done
    old, recent = messages(database)[:3], messages(database)[3]
    assert all(m.text is None and m.member_id is None for m in old)
    assert [m.language for m in old] == ["en", "nl", "en"]  # counted by language still
    assert recent.text == "A message from a year later." and recent.member_id is not None
    after = digest(database)
    assert after.messages == before.messages == 3
    assert after.by_language == before.by_language
    assert after.threads == [] and after.unanswered == []  # nothing left to quote
    assert erase_expired(database, DAYS, now).messages == 0  # idempotent


def test_imported_open_data_keeps_its_texts(database) -> None:
    """Polis statements keep their original, years-old dates: published open data, not
    personal data Polder collected, so retention leaves them as they are."""
    from scheduled.polis import SAMPLE, import_export, read_export

    with transaction(database) as session:
        import_export(
            session, find_sector(session, "mobility"), read_export(SAMPLE / "city-cycling")
        )
    seed_two_years(database)
    now = local(3, week=52) + timedelta(days=DAYS * 3)  # everything is past retention

    erased = erase_expired(database, DAYS, now)

    assert erased.messages == 4  # the members' own messages only
    imported = [m for m in messages(database) if m.platform == "polis"]
    assert len(imported) == 20 and all(m.text and m.member_id for m in imported)


def test_a_message_just_inside_retention_is_kept(database) -> None:
    seed_two_years(database)
    now = local(2) + timedelta(days=DAYS)  # the second message is exactly DAYS old
    assert erase_expired(database, DAYS, now).messages == 1
    assert [m.text is None for m in messages(database)] == [True, False, False, False]


def test_a_large_backlog_goes_in_batches_across_runs(database) -> None:
    with seeding(database) as seed:
        who = seed.member("Ann")
        for n in range(7):
            seed.say(who, f"old message {n}", local(0, minute=n))
    now = local(0) + timedelta(days=DAYS + 1)
    first = erase_expired(database, DAYS, now, batch=2, max_batches=2)
    assert (first.messages, first.done) == (4, False)
    second = erase_expired(database, DAYS, now, batch=2, max_batches=2)
    assert (second.messages, second.done) == (3, True)
    assert all(m.text is None for m in messages(database))


def test_the_job_runs_daily_and_purges_delivered_files_and_goodbyes(
    database, settings, caplog
) -> None:
    seed_two_years(database)
    where = {"platform": "test", "chat_id": "ann"}
    with transaction(database) as session:
        enqueue(
            session,
            [
                SendFile(**where, filename="data.json", content="{}", caption="Your data"),
                Farewell(**where, text="Goodbye"),
                Reply(**where, text="an ordinary reply"),
            ],
        )
    (sent, _goodbye, _reply) = outbox.claim(database, "test")
    assert sent.id is not None
    outbox.delivered(database, sent.id, "1")
    job = Retention()
    start = local(3) + timedelta(days=DAYS, hours=1)

    with caplog.at_level(logging.INFO, logger="scheduled.retention"):
        ran = job.run_due(database, settings, start)
    assert ran is not None and ran.messages == 3 and ran.outbox == 1
    assert "erased the text and author of 3 message(s) older than 730 days" in caplog.text
    with transaction(database) as session:
        kinds = [e.kind for e in session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id)))]
    assert kinds == ["Farewell", "Reply"]  # the goodbye is not sent yet: it stays

    assert job.run_due(database, settings, start + timedelta(hours=23)) is None
    later = job.run_due(database, settings, start + timedelta(days=1))
    assert later is not None and later.messages == 0


def test_the_job_runner_erases_expired_messages_as_it_starts(database, settings) -> None:
    with seeding(database) as seed:
        ann = seed.member("Ann")
        seed.say(ann, "Said long ago.", utcnow() - timedelta(days=DAYS + 3))
        seed.say(ann, "Said last week.", utcnow() - timedelta(days=7))
    with JobRunner(database, settings, sweep_seconds=60):
        pass
    assert [m.text for m in messages(database)] == [None, "Said last week."]
