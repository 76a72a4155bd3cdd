"""/digest subscribe, list and unsubscribe for staff; the schedule's rules; `polder digest`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import col, select

from bot.cron import CronError, next_time, read_cron, weekdays
from bot.engine import Engine
from bot.i18n import translator
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import DigestSubscription, Message, OutboxEntry, RoleName
from tests.conftest import Chat, Run, onboarded, reply_text

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def make_staff(
    database: DatabaseEngine, user: str = "sam", role: RoleName = RoleName.STAFF
) -> None:
    onboarded(database, user)
    with transaction(database) as session:
        grant(session, member_for(session, "test", user, user.capitalize()), role, None)


def said(engine: Engine, chat: Chat, line: str) -> str:
    return reply_text(engine.handle(chat.command(line)))


def rows(database: DatabaseEngine) -> list[DigestSubscription]:
    with transaction(database) as session:
        query = select(DigestSubscription).order_by(col(DigestSubscription.id))
        return list(session.exec(query).all())


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("/digest", "digest"),
        ("/digest subscribe mobility", "digest subscribe"),
        ("/digest list", "digest list"),
        ("/digest unsubscribe 1", "digest unsubscribe"),
    ],
)
def test_digest_commands_are_refused_to_members_who_are_not_staff(
    engine: Engine, database: DatabaseEngine, line: str, command: str
) -> None:
    onboarded(database, "mallory")
    text = said(engine, Chat("mallory", chat="town"), line)
    assert text == (
        f"Only city staff or an administrator may use /{command}. "
        "Ask an administrator if you think you should."
    )
    assert rows(database) == []


def test_staff_subscribe_the_channel_they_write_in_with_the_default_schedule(
    engine: Engine, database: DatabaseEngine
) -> None:
    make_staff(database)
    text = said(engine, Chat("sam", chat="staff-room"), "/digest subscribe mobility")
    assert (
        "Subscription #1: the mobility digest comes to this chat on the schedule 0 8 * * 1" in text
    )
    assert "(Europe/Amsterdam)" in text and "covers the week before" in text
    (row,) = rows(database)
    assert (row.platform, row.chat_id, row.thread_ref) == ("test", "staff-room", None)
    assert (row.cron, row.language, row.active) == ("0 8 * * 1", "en", True)
    with transaction(database) as session:
        mobility = find_sector(session, "mobility")
        sam = member_for(session, "test", "sam", "Sam")
    assert mobility is not None and row.sector_id == mobility.id
    assert row.created_by == sam.id


def test_every_sector_with_a_schedule_and_again_changes_the_schedule(
    engine: Engine, database: DatabaseEngine
) -> None:
    make_staff(database, "root", RoleName.ADMIN)  # admins may too
    chat = Chat("root", chat="staff-room")
    first = said(engine, chat, "/digest subscribe all 30 7 * * mon-fri")
    assert "Subscription #1: every sector's digest comes to this chat" in first
    again = said(engine, chat, '/digest subscribe ALL "0 9 * * 5"')
    assert "Subscription #1 already brings every sector's digest here" in again
    assert "its schedule is now 0 9 * * 5" in again
    (row,) = rows(database)
    assert row.sector_id is None and row.cron == "0 9 * * 5"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/digest subscribe", "Usage: /digest subscribe <sector|all> [cron]"),
        ("/digest subscribe aviation", "There is no sector aviation. Sectors:"),
        ("/digest subscribe mobility 0 8 * *", "A schedule has five fields: minute, hour,"),
        (
            "/digest subscribe mobility 0 8 * * 8",
            "In the schedule 0 8 * * 8, the day of the week 8 is not valid: use 0-7 or sun-sat",
        ),
        (
            "/digest subscribe mobility 60 8 * * 1",
            "In the schedule 60 8 * * 1, the minute 60 is not valid: use 0-59",
        ),
        ("/digest subscribe mobility 0 8 30 2 *", "The schedule 0 8 30 2 * never comes round"),
        ("/digest unsubscribe", "Usage: /digest unsubscribe <id>"),
        ("/digest unsubscribe 7", "There is no subscription 7. /digest list shows them."),
    ],
)
def test_mistakes_are_explained(
    engine: Engine, database: DatabaseEngine, line: str, expected: str
) -> None:
    make_staff(database)
    assert expected in said(engine, Chat("sam", chat="staff-room"), line)
    assert rows(database) == []


def test_a_schedule_error_comes_in_the_member_s_language(
    engine: Engine, database: DatabaseEngine
) -> None:
    make_staff(database)
    chat = Chat("sam", chat="staff-room")
    said(engine, chat, "/lang nl")
    text = said(engine, chat, "/digest subscribe mobility 0 25 * * 1")
    _ = translator("nl")
    wanted = _(
        "In the schedule {cron}, the {field} {value} is not valid: use {allowed}, a list (1,3), "
        "a range (1-5), a step (*/2) or *."
    ).format(cron="0 25 * * 1", field=_("hour"), value="25", allowed="0-23")
    assert text == wanted and "uur" in text


def test_list_and_unsubscribe(engine: Engine, database: DatabaseEngine) -> None:
    make_staff(database)
    here, there = Chat("sam", chat="staff-room"), Chat("sam", chat="board")
    assert "No digest subscriptions yet" in said(engine, here, "/digest list")
    said(engine, here, "/digest subscribe mobility")
    said(engine, there, "/digest subscribe all 0 9 * * fri")

    listed = said(engine, here, "/digest list").splitlines()
    assert listed[0] == "Digest subscriptions:"
    assert listed[1].startswith("#1: the mobility digest to this chat on the schedule 0 8 * * 1")
    assert listed[2].startswith("#2: every sector's digest to test:board on the schedule")

    gone = said(engine, here, "/digest unsubscribe #2")
    assert (
        gone == "Subscription #2 is cancelled: every sector's digest no longer comes to test:board."
    )
    assert "There is no subscription 2" in said(engine, here, "/digest unsubscribe 2")
    assert [r.active for r in rows(database)] == [True, False]
    assert "#2" not in said(engine, here, "/digest list")
    assert "/digest subscribe <sector|all> [cron]" in said(engine, here, "/digest")


def test_crontab_weekdays_are_read_the_crontab_way() -> None:
    """APScheduler 3 counts weekdays from Monday = 0; crontab from Sunday = 0."""
    assert weekdays("1") == "mon" and weekdays("0") == weekdays("7") == "sun"
    assert weekdays("1-5") == "mon,tue,wed,thu,fri"
    assert weekdays("fri-sun") == "fri,sat,sun" and weekdays("sun-tue") == "mon,tue,sun"
    assert weekdays("*/2") == "tue,thu,sat,sun" and weekdays("0-7") == "*"
    friday = datetime(2026, 11, 27, 12, tzinfo=AMSTERDAM)
    monday = next_time(read_cron("0 8 * * 1", AMSTERDAM), friday)
    assert monday == datetime(2026, 11, 30, 8, tzinfo=AMSTERDAM)
    sunday = next_time(read_cron("0 8 * * 0", AMSTERDAM), friday)
    assert sunday == datetime(2026, 11, 29, 8, tzinfo=AMSTERDAM)
    seconds = next_time(read_cron("15 0 8 * * *", AMSTERDAM), friday)
    assert seconds == datetime(2026, 11, 28, 8, 0, 15, tzinfo=AMSTERDAM)
    with pytest.raises(CronError, match="the day of the week 1-9 is not valid"):
        read_cron("0 8 * * 1-9", AMSTERDAM)


# --- polder digest -----------------------------------------------------------------------------


def test_polder_digest_subscribe_list_and_unsubscribe(polder: Run, tmp_path: Path) -> None:
    made = polder("digest", "subscribe", "energy", "0 7 * * 1", "--channel", "telegram:-100123")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("subscribed #1: energy to telegram:-100123 at '0 7 * * 1'")
    made = polder("digest", "subscribe", "all", "--folder", "out", "--language", "fi")
    assert made.returncode == 0, made.stderr
    assert f"subscribed #2: all to folder:{tmp_path / 'out'} at '0 8 * * 1'" in made.stdout
    assert (tmp_path / "out").is_dir()

    for args, reason in [
        (("mobility",), "--channel PLATFORM:CHAT or --folder DIR"),
        (("mobility", "0 8 * * 9", "--channel", "slack:C1"), "the day of the week 9"),
    ]:
        wrong = polder("digest", "subscribe", *args)
        assert wrong.returncode == 2 and "Traceback" not in wrong.stderr, wrong.stderr
        assert reason in wrong.stderr, wrong.stderr

    listed = polder("digest", "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["#1", "#2"]
    assert polder("digest", "unsubscribe", "1").stdout.startswith("unsubscribed #1")
    assert [line.split("\t")[0] for line in polder("digest", "list").stdout.splitlines()] == ["#2"]


def test_polder_digest_preview_falls_back_to_the_latest_active_week(
    polder: Run, database: DatabaseEngine, tmp_path: Path
) -> None:
    with transaction(database) as session:
        energy = find_sector(session, "energy")
        assert energy is not None
        session.add(
            Message(
                platform="test",
                sector_id=energy.id,
                text="Batteries in the school basement?",
                created_at=datetime(2026, 3, 4, 12, tzinfo=UTC),  # in week 10
            )
        )

    quiet = polder("digest", "preview", "--sector", "energy")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.startswith("# Digest of Energy: 2026-W10")

    page = tmp_path / "mobility.html"
    chosen = polder(
        "digest", "preview", "--sector", "mobility", "--week", "2026-W47", "--out", str(page)
    )
    assert chosen.returncode == 0, chosen.stderr
    assert "<title>Digest of Mobility: 2026-W47</title>" in page.read_text(encoding="utf-8")

    wrong = polder("digest", "preview", "--sector", "mobility", "--week", "last")
    assert wrong.returncode == 2 and "--week 'last'" in wrong.stderr, wrong.stderr
    with transaction(database) as session:
        assert session.exec(select(OutboxEntry)).first() is None  # shown, never sent
