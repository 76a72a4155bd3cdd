"""Polls: launched by a curator, voted on from any channel, tallied in coalesced edits,
closed once with the result posted to every channel."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from adapters.delivery import deliver_due
from bot.actions import Action, PollResult, PostPoll, UpdatePoll
from bot.members import member_for
from bot.polls import close_due, parse_duration, remind_due
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import OutboxEntry, Poll, PollStatus, PollVote, RoleName
from storage.types import utcnow
from tests.conftest import Chat, onboarded, reply_text

LAUNCH = '/poll mobility "Which first?" "E-bikes" "Cargo bikes" "Scooters"'


@pytest.fixture
def curator(engine, database) -> Chat:
    """A curator of mobility who linked a group on two platforms."""
    with transaction(database) as session:
        mobility = find_sector(session, "mobility")
        for platform in ("test", "other"):
            grant(
                session, member_for(session, platform, "cura", "Cura"), RoleName.CURATOR, mobility
            )
    onboarded(database, "cura")
    onboarded(database, "cura", platform="other")
    engine.handle(Chat("cura", chat="group-a").command("/link mobility"))
    engine.handle(Chat("cura", chat="group-b", platform="other").command("/link mobility"))
    return Chat("cura", chat="group-a")


def voter(database, name: str, platform: str = "test") -> Chat:
    onboarded(database, name, platform=platform)
    return Chat(name, platform=platform)


def poll(database, poll_id: int = 1) -> Poll:
    with transaction(database) as session:
        return session.get(Poll, poll_id)


def votes(database) -> list[PollVote]:
    with transaction(database) as session:
        return list(session.exec(select(PollVote).order_by(PollVote.id)))


def test_a_poll_is_posted_to_every_channel_of_the_sector(engine, curator) -> None:
    actions = engine.handle(curator.command(LAUNCH + " --for 2h"))
    posts = [a for a in actions if isinstance(a, PostPoll)]
    assert sorted((p.platform, p.chat_id) for p in posts) == [
        ("other", "group-b"),
        ("test", "group-a"),
    ]
    assert posts[0].options == ["E-bikes", "Cargo bikes", "Scooters"]
    assert "Vote with /vote 1 <number>." in posts[0].text
    assert "Poll #1 is open in mobility, posted to 2 channels" in reply_text(actions)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ('"Only one?" "Yes"', "needs 2 to 10 options; this one has 1"),
        ('"Too many?" ' + " ".join(f'"o{n}"' for n in range(11)), "this one has 11"),
        ('"' + "q" * 301 + '" "a" "b"', "1 to 300 characters; it has 301"),
        ('"Q?" "a" "' + "b" * 101 + '"', "Option 2 must have 1 to 100 characters; it has 101"),
        ('"Q?" "a" "b" --closes 2020-01-01T10:00', "deadline must be in the future"),
        ('"Q?" "a" "b" --for soon', "soon is not a duration"),
        ('"Q?" "a" "b" --closes tomorrow', "tomorrow is not a date and time"),
        ('"Q?" "a" "b" --for', "--for needs a value"),
        ('"Q?" "a" "b" --secret', "There is no option --secret"),
        ('"Q?" "a" "A"', "Two options are the same"),
    ],
)
def test_bad_polls_get_the_exact_reason(engine, curator, database, arguments, reason) -> None:
    text = reply_text(engine.handle(curator.command(f"/poll mobility {arguments}")))
    assert reason in text
    assert "Usage: /poll <sector>" in text
    assert poll(database) is None


def test_unknown_sector_and_non_curators_are_refused(engine, curator, database) -> None:
    assert "There is no sector aviation" in reply_text(
        engine.handle(curator.command('/poll aviation "Q?" "a" "b"'))
    )
    ann = voter(database, "ann")
    assert "Only a curator of mobility or an administrator may use /poll" in reply_text(
        engine.handle(ann.command(LAUNCH))
    )


def test_a_deadline_without_a_zone_is_in_the_city_s_zone(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH + " --closes '2027-01-15 12:00'"))
    assert poll(database).closes_at == datetime(2027, 1, 15, 11, 0, tzinfo=UTC)  # Amsterdam: +1


def test_an_unquoted_date_and_time_is_one_deadline(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH + " --closes 2027-01-15 12:30 --multi"))
    made = poll(database)
    assert made.options == ["E-bikes", "Cargo bikes", "Scooters"]  # 12:30 is no option
    assert made.closes_at == datetime(2027, 1, 15, 11, 30, tzinfo=UTC) and made.multi


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("3 days") is None
    assert parse_duration("99999999999d") is None  # beyond any calendar: refused, no crash


def test_one_vote_per_member_changeable_from_any_channel(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH))
    ann = voter(database, "ann")
    assert "counted: Cargo bikes" in reply_text(engine.handle(ann.command("/vote 1 2")))
    assert "changed: E-bikes" in reply_text(
        engine.handle(Chat("ann", chat="group-a").command("/vote 1 1"))
    )
    assert [(v.option, v.member_id is not None) for v in votes(database)] == [(0, True)]
    assert "takes one option" in reply_text(engine.handle(ann.command("/vote 1 1 2")))
    assert "from 1 to 3" in reply_text(engine.handle(ann.command("/vote 1 4")))
    assert "There is no poll 7" in reply_text(engine.handle(ann.command("/vote 7 1")))
    assert "Usage: /vote" in reply_text(engine.handle(ann.command("/vote 1 first")))


def test_a_vote_handled_twice_counts_once_and_two_platforms_both_count(
    engine, curator, database
) -> None:
    engine.handle(curator.command(LAUNCH + " --multi"))
    ann = voter(database, "ann")
    event = ann.command("/vote 1 1 3")
    engine.handle(event)
    engine.handle(event)
    engine.handle(voter(database, "ben", platform="other").command("/vote 1 3"))
    shown = reply_text(engine.handle(ann.command("/poll show 1")))
    assert "1. E-bikes: 1 (50%)" in shown and "3. Scooters: 2 (100%)" in shown
    assert "Voters: 2" in shown


def test_a_vote_on_a_closed_poll_is_refused_politely(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH))
    engine.handle(curator.command("/poll close 1"))
    text = reply_text(engine.handle(voter(database, "ann").command("/vote 1 1")))
    assert "poll #1 is closed" in text
    assert votes(database) == []


def test_closing_posts_the_result_once_to_every_channel(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH))
    for name, option in (("ann", 1), ("ben", 1), ("cleo", 2)):
        engine.handle(voter(database, name).command(f"/vote 1 {option}"))
    closing = engine.handle(curator.command("/poll close 1"))
    results = [a for a in closing if isinstance(a, PollResult)]
    assert sorted(r.chat_id for r in results) == ["group-a", "group-b"]
    assert results[0].counts == [2, 1, 0] and results[0].voters == 3
    assert "E-bikes" in results[0].text and "2 (67%)" in results[0].text
    assert "Turnout: 3 voters" in results[0].text
    assert "already closed" in reply_text(engine.handle(curator.command("/poll close 1")))
    with transaction(database) as session:
        assert close_due(session, engine.settings.zone, utcnow() + timedelta(days=9)) == []
        kinds = [e.kind for e in session.exec(select(OutboxEntry))]
    assert kinds.count("PollResult") == 2


def test_a_deadline_passed_is_closed_by_the_job_once(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH + " --for 1h"))
    later = utcnow() + timedelta(hours=2)
    with transaction(database) as session:
        first = close_due(session, engine.settings.zone, later)
        second = close_due(session, engine.settings.zone, later)
    assert len([a for a in first if isinstance(a, PollResult)]) == 2 and second == []
    assert poll(database).status is PollStatus.CLOSED


def test_an_anonymous_poll_forgets_who_voted_when_it_closes(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH + " --anonymous"))
    engine.handle(voter(database, "ann").command("/vote 1 2"))
    engine.handle(voter(database, "ann").command("/vote 1 3"))  # still changeable
    engine.handle(voter(database, "ben").command("/vote 1 3"))
    open_votes = votes(database)
    assert [v.option for v in open_votes] == [2, 2]
    assert all(v.member_id is None and not v.voter_key.startswith("m") for v in open_votes)
    text = reply_text(engine.handle(curator.command("/poll show 1 --voters")))
    assert text.lower().count("anonymous: nobody can see who voted what") == 1
    assert "Ann" not in text
    engine.handle(curator.command("/poll close 1"))
    assert votes(database) == []
    closed = poll(database)
    assert closed.salt is None and closed.results == {"counts": [0, 0, 2], "voters": 2}
    assert "3. Scooters: 2 (100%)" in reply_text(engine.handle(curator.command("/poll show 1")))


def test_curators_see_the_voters_of_a_named_poll_and_others_do_not(
    engine, curator, database
) -> None:
    engine.handle(curator.command(LAUNCH))
    ann = voter(database, "ann")
    engine.handle(ann.command("/vote 1 2"))
    assert "- Ann: Cargo bikes" in reply_text(
        engine.handle(curator.command("/poll show 1 --voters"))
    )
    refused = reply_text(engine.handle(ann.command("/poll show 1 --voters")))
    assert "Only a curator of mobility or an administrator may see who voted" in refused


def test_fifty_votes_in_a_second_make_a_handful_of_edits_and_the_last_shows_fifty(
    engine, curator, database
) -> None:
    engine.handle(curator.command(LAUNCH))
    edits: dict[str, list[UpdatePoll]] = {"group-a": [], "group-b": []}
    stop = threading.Event()

    def send(action: Action, edited: str | None) -> str:
        if isinstance(action, UpdatePoll):
            assert edited is not None  # an edit of the posted message, not a new one
            edits[action.chat_id].append(action)
        return f"{action.chat_id}-{time.monotonic_ns()}"

    def deliverer() -> None:  # as a running bot would: delivering all the while
        while not stop.is_set():
            for platform in ("test", "other"):
                deliver_due(database, platform, send)
            time.sleep(0.1)

    running = threading.Thread(target=deliverer)
    running.start()
    for n in range(50):
        onboarded(database, f"v{n}")
    started = time.monotonic()
    for n in range(50):
        engine.handle(Chat(f"v{n}").command(f"/vote 1 {n % 3 + 1}"))
    burst = time.monotonic() - started
    time.sleep(4)  # the coalescing window, and a little
    stop.set()
    running.join()
    for chat, updates in edits.items():
        assert 1 <= len(updates) <= 5, (chat, len(updates), burst)
        assert updates[-1].voters == 50 and sum(updates[-1].counts) == 50


def test_a_reminder_goes_out_once_for_polls_longer_than_a_day(engine, curator, database) -> None:
    engine.handle(curator.command(LAUNCH + " --for 3d"))
    engine.handle(curator.command('/poll mobility "Short?" "a" "b" --for 2h'))
    soon = utcnow() + timedelta(days=3) - timedelta(minutes=30)
    with transaction(database) as session:
        first = remind_due(session, engine.settings.zone, soon)
        again = remind_due(session, engine.settings.zone, soon)
    assert sorted(a.chat_id for a in first) == ["group-a", "group-b"]
    assert "Poll #1 closes in 1 hour: Which first?" in first[0].text
    assert again == []
    with transaction(database) as session:
        early = remind_due(session, engine.settings.zone, utcnow() + timedelta(minutes=90))
    assert early == []  # poll 2 runs only two hours: no reminder


def test_refusals_come_in_the_member_s_language(engine, curator, database) -> None:
    from bot.i18n import translator

    ann = voter(database, "ann")
    engine.handle(ann.command("/lang nl"))
    refused = reply_text(engine.handle(ann.command("/vote 5 1")))
    assert refused == translator("nl")("There is no poll {ref}. /poll list shows them.").format(
        ref="5"
    )
    assert not refused.startswith("There is")
    engine.handle(curator.command("/lang nl"))
    bad = reply_text(engine.handle(curator.command('/poll mobility "Q?" "a"')))
    assert (
        translator("nl")("A poll needs 2 to 10 options; this one has {count}.").format(count=1)
        in bad
    )
    assert "A poll needs" not in bad


def test_two_engines_close_a_due_poll_once(engine, curator, database, settings) -> None:
    engine.handle(curator.command(LAUNCH + " --for 1h"))
    later = utcnow() + timedelta(hours=2)
    results: list[list[Action]] = []

    def job() -> None:
        with transaction(database) as session:
            results.append(close_due(session, settings.zone, later))

    threads = [threading.Thread(target=job) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len([a for a in r if isinstance(a, PollResult)]) for r in results) == [0, 0, 2]


def test_a_redelivered_vote_is_one_vote_whatever_else_differs(engine, curator) -> None:
    """A vote arriving with a platform hint is still one vote (the key decides, not the text)."""
    engine.handle(curator.command(LAUNCH))
    event = Chat("zed").command("/vote 1 1")
    engine.handle(event)
    assert engine.handle(replace(event, language_hint="fi")) == []


def test_closing_a_poll_of_a_sector_without_channels_says_it_closed(engine, database) -> None:
    with transaction(database) as session:
        eva = member_for(session, "test", "eva", "Eva")
        grant(session, eva, RoleName.CURATOR, find_sector(session, "energy"))
    onboarded(database, "eva")
    eva = Chat("eva")
    engine.handle(eva.command('/poll energy "Heat pumps?" "yes" "no"'))
    assert "Poll #1 is closed; the result is posted" in reply_text(
        engine.handle(eva.command("/poll close 1"))
    )
    assert "already closed" in reply_text(engine.handle(eva.command("/poll close 1")))
