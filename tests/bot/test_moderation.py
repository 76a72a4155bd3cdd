"""Moderation: /report to the curators, /hide and /unhide, /mute and /unmute, flood control,
and the audit log (`polder audit`) that records what curators did."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine as DatabaseEngine
from sqlmodel import col, select

from bot.actions import Notify, Reply
from bot.config import Settings
from bot.engine import Engine
from bot.events import MessageEdited
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from scheduled.digest import build_digest
from scheduled.render import to_markdown
from storage.database import transaction
from storage.models import AuditEntry, Member, Message, Report, RoleName
from storage.types import utcnow
from tests.conftest import Chat, Run, onboarded, reply_text

GROUP = "group-a"


def make_curator(database: DatabaseEngine, user: str, sector: str, platform: str = "test") -> int:
    with transaction(database) as session:
        member = member_for(session, platform, user, user.capitalize())
        grant(session, member, RoleName.CURATOR, find_sector(session, sector))
        return int(member.id)  # type: ignore[arg-type]


def setup_group(engine: Engine, database: DatabaseEngine) -> Chat:
    """cura curates mobility and linked GROUP to it; ann, ben and mallory are members."""
    onboarded(database, "cura", "ann", "ben", "mallory")
    make_curator(database, "cura", "mobility")
    curator = Chat("cura", chat=GROUP)
    assert "linked to mobility" in reply_text(engine.handle(curator.command("/link mobility")))
    return curator


def say(engine: Engine, user: str, text: str, ident: str | None = None, **changes) -> list:
    """`user` writes `text` in GROUP; `ident` is the platform's id of the message."""
    event = replace(Chat(user, chat=GROUP).message(text), platform_message_id=ident, **changes)
    return engine.handle(event)


def message_id(database: DatabaseEngine, text: str) -> int:
    with transaction(database) as session:
        found = session.exec(select(Message.id).where(Message.text == text)).one()
    return int(found)


def member_id(database: DatabaseEngine, user: str) -> int:
    with transaction(database) as session:
        return int(member_for(session, "test", user, user.capitalize()).id)  # type: ignore[arg-type]


def stored_texts(database: DatabaseEngine) -> list[str]:
    with transaction(database) as session:
        return [t or "" for t in session.exec(select(Message.text).order_by(col(Message.id)))]


def audit_actions(database: DatabaseEngine) -> list[tuple[str, str, str]]:
    with transaction(database) as session:
        rows = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        return [(e.action, e.target, e.detail) for e in rows]


# --- /report ------------------------------------------------------------------------------------


def test_a_report_reaches_each_curator_privately_and_thanks_the_reporter(engine, database) -> None:
    setup_group(engine, database)
    kees = make_curator(database, "kees", "mobility", platform="other")  # no account on test
    make_curator(database, "erik", "energy")  # curates another sector: not told
    say(engine, "ann", "Everyone from the ring road is an idiot.", ident="tg-7")
    number = message_id(database, "Everyone from the ring road is an idiot.")
    ann = member_id(database, "ann")

    report = replace(Chat("ben", chat=GROUP).command("/report insults people"), reply_to="tg-7")
    actions = engine.handle(report)

    notices = {(a.platform, a.chat_id): a.text for a in actions if isinstance(a, Notify)}
    assert set(notices) == {("test", "cura"), ("other", "kees")}, kees
    for text in notices.values():
        assert f"Message #{number} in mobility was reported:" in text
        assert "“Everyone from the ring road is an idiot.”" in text
        assert f"Written by member #{ann}." in text
        assert "Reason: insults people" in text
        assert f"/hide {number} keeps it out of digests" in text
        assert f"/mute #{ann} 1d" in text
        assert "Ben" not in text  # who reported stays between the reporter and the log
    thanks = [a for a in actions if isinstance(a, Reply)]
    assert len(thanks) == 1 and thanks[0].chat_id == GROUP and thanks[0].to_user == "ben"
    assert f"Thank you: message #{number} is flagged to the curators of mobility" in thanks[0].text
    assert "Cura" not in thanks[0].text and "Kees" not in thanks[0].text

    again = engine.handle(Chat("ben").command(f"/report {number} still rude"))
    assert not [a for a in again if isinstance(a, Notify)]
    assert f"You already reported message #{number}" in reply_text(again)
    with transaction(database) as session:
        reports = session.exec(select(Report)).all()
        assert [(r.message_id, r.reason) for r in reports] == [(number, "insults people")]

    second = engine.handle(Chat("mallory").command(f"/report #{number}"))
    told = [a.text for a in second if isinstance(a, Notify)]
    assert len(told) == 2 and all("No reason was given." in t for t in told)
    assert all("Times reported: 2." in t for t in told)


def test_report_explains_what_is_wrong(engine, database) -> None:
    setup_group(engine, database)
    say(engine, "ann", "A plain remark about buses.")
    number = message_id(database, "A plain remark about buses.")
    ben = Chat("ben")
    cases = {
        "/report": "Usage: /report <message> [reason]",
        "/report 999": "There is no message 999 in a sector's dialogue.",
        "/report buses": "There is no message buses",
        f"/report {number} " + "x" * 501: "A reason can be at most 500 characters",
    }
    for line, expected in cases.items():
        assert expected in reply_text(engine.handle(ben.command(line))), line
    # A reply to something that is not a stored message (a forum topic's first post) does not
    # name a message; the number still does.
    stray = replace(ben.command(f"/report {number} off topic"), reply_to="not-a-message")
    assert "is flagged to the curators" in reply_text(engine.handle(stray))


def test_without_curators_the_admins_hear_of_a_report(engine, database) -> None:
    onboarded(database, "root", "ann", "ben")
    with transaction(database) as session:
        grant(session, member_for(session, "test", "root", "Root"), RoleName.ADMIN, None)
    engine.handle(Chat("root", chat="energy-group").command("/link energy"))
    engine.handle(Chat("ann", chat="energy-group").message("Solar panels for every school."))
    number = message_id(database, "Solar panels for every school.")
    actions = engine.handle(Chat("ben").command(f"/report {number} spam"))
    assert [(a.chat_id, "in energy" in a.text) for a in actions if isinstance(a, Notify)] == [
        ("root", True)
    ]


# --- who may moderate ---------------------------------------------------------------------------


def test_moderation_commands_are_refused_to_non_curators_naming_the_role(engine, database) -> None:
    setup_group(engine, database)
    say(engine, "ann", "Buses should run all night.")
    number = message_id(database, "Buses should run all night.")
    ann = member_id(database, "ann")
    mallory = Chat("mallory", chat=GROUP)
    refusals = {
        f"/hide {number}": "Only a curator of mobility or an administrator may use /hide",
        f"/unhide {number}": "Only a curator of mobility or an administrator may use /unhide",
        f"/mute #{ann}": "Only a curator or an administrator may use /mute",
        f"/unmute #{ann}": "Only a curator or an administrator may use /unmute",
    }
    for line, expected in refusals.items():
        assert expected in reply_text(engine.handle(mallory.command(line))), line
    # a curator of another sector may not act on mobility's messages or members either
    make_curator(database, "erik", "energy")
    erik = Chat("erik")
    said = reply_text(engine.handle(erik.command(f"/hide {number}")))
    assert "Only a curator of mobility or an administrator may use /hide" in said
    said = reply_text(engine.handle(erik.command(f"/mute #{ann}")))
    assert f"Only a curator of a sector member #{ann} takes part in" in said
    with transaction(database) as session:
        ann_row = session.get(Member, ann)
        assert ann_row is not None and ann_row.muted_until is None
        assert session.get(Message, number).hidden_at is None  # type: ignore[union-attr]
    assert not [a for a in audit_actions(database) if a[0].startswith(("message.", "member."))]


# --- /hide and /unhide --------------------------------------------------------------------------


def test_a_curator_hides_by_reply_or_number_and_unhides(engine, database) -> None:
    curator = setup_group(engine, database)
    say(engine, "ann", "Cheap watches at www.example.test", ident="tg-9")
    number = message_id(database, "Cheap watches at www.example.test")

    said = reply_text(engine.handle(replace(curator.command("/hide spam"), reply_to="tg-9")))
    assert f"Message #{number} is hidden" in said
    assert f"Message #{number} was already hidden." in reply_text(
        engine.handle(Chat("cura").command(f"/hide {number}"))
    )
    cura = member_id(database, "cura")
    with transaction(database) as session:
        message = session.get(Message, number)
        assert message is not None and message.hidden_at is not None
        assert message.hidden_by == cura
    said = reply_text(engine.handle(Chat("ben").command(f"/report {number}")))
    assert f"Message #{number} is already hidden" in said

    said = reply_text(engine.handle(Chat("cura").command(f"/unhide #{number}")))
    assert f"Message #{number} is shown again" in said
    assert "is not hidden" in reply_text(engine.handle(Chat("cura").command(f"/unhide {number}")))
    assert "Usage: /hide <message> [reason]" in reply_text(
        engine.handle(Chat("cura").command("/hide"))
    )
    assert audit_actions(database)[-2:] == [
        ("message.hide", f"message #{number}", "mobility: spam"),
        ("message.unhide", f"message #{number}", "mobility"),
    ]


def test_a_hidden_message_is_left_out_of_the_digest_but_still_counted(engine, database) -> None:
    curator = setup_group(engine, database)
    engine.handle(Chat("cura").command("/thread open mobility How should the ring road change?"))
    answers = [
        "Protected bike lanes along the whole ring road.",
        "Bike lanes on the ring road and fewer car lanes.",
        "BUY CHEAP WATCHES NOW at the ring road bike lanes shop",
    ]
    for user, text in zip(("ann", "ben", "mallory"), answers, strict=True):
        engine.handle(Chat(user).command(f"/reply 1 {text}"))
    say(engine, "mallory", "Who sells CHEAP WATCHES near the station?")
    say(engine, "ann", "Is the ring road closed on Sunday?")
    spam = message_id(database, answers[2])
    question = message_id(database, "Who sells CHEAP WATCHES near the station?")

    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(hours=1)
    with transaction(database) as session:
        before = build_digest(session, find_sector(session, "mobility"), start, end)  # type: ignore[arg-type]
    assert "WATCHES" in to_markdown(before, "en")  # the digest does quote these when visible

    for number in (spam, question):
        engine.handle(curator.command(f"/hide {number}"))
    with transaction(database) as session:
        digest = build_digest(session, find_sector(session, "mobility"), start, end)  # type: ignore[arg-type]
    text = to_markdown(digest, "en")
    assert "WATCHES" not in text and "watches" not in text.lower()
    assert digest.messages == before.messages == 5  # counted all the same
    [thread] = digest.threads
    assert thread.replies == 3 and thread.participants == 3
    assert all("WATCHES" not in q.text for q in thread.representative)
    assert not any("watches" in theme for theme in thread.themes)
    unanswered = [u.question.text for u in digest.unanswered]
    assert "Is the ring road closed on Sunday?" in unanswered  # the hidden one answers nothing
    assert not any("WATCHES" in u for u in unanswered)

    shown = reply_text(engine.handle(Chat("ben").command("/thread show 1")))
    assert "Replies: 3, participants: 3" in shown and "WATCHES" not in shown
    first = message_id(database, answers[0])
    assert f"- #{first} Ann: {answers[0]}" in shown  # the number /report and /hide take


# --- /export messages ----------------------------------------------------------------------------


def test_export_messages_leaves_out_hidden_ones_and_names_only_with_consent(
    engine, database, polder: Run
) -> None:
    setup_group(engine, database)
    with transaction(database) as session:
        ann = member_for(session, "test", "ann", "Ann")
        ann.consent_export, ann.organisation = True, "Fietsersbond"
        session.add(ann)
    engine.handle(Chat("ben").command("/profile actor resident"))
    say(engine, "ann", "A tram line to the harbour, please.")
    say(engine, "ben", "More benches at bus stops.")
    say(engine, "mallory", "Spam spam spam, visit my shop.")
    engine.handle(
        Chat("cura").command(f"/hide {message_id(database, 'Spam spam spam, visit my shop.')}")
    )

    result = polder("export", "messages", "--sector", "mobility", "--format", "json")
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert [m["text"] for m in exported] == [
        "A tram line to the harbour, please.",
        "More benches at bus stops.",
    ]
    assert exported[0]["author"] == {
        "name": "Ann",
        "organisation": "Fietsersbond",
        "actor_type": None,
    }
    assert exported[1]["author"] == {"name": None, "organisation": None, "actor_type": "resident"}
    assert all(m["sector"] == "mobility" for m in exported)

    as_csv = polder("export", "messages", "--sector", "mobility")
    assert as_csv.returncode == 0, as_csv.stderr
    lines = as_csv.stdout.splitlines()
    assert lines[0] == (
        "id,sector,thread,created_at,language,text,author_name,author_organisation,"
        "author_actor_type"
    )
    assert len(lines) == 3 and "Spam" not in as_csv.stdout and "Ben" not in as_csv.stdout
    assert lines[2].endswith(",More benches at bus stops.,,,resident")

    wrong = polder("export", "messages", "--sector", "aviation")
    assert wrong.returncode == 2 and "there is no sector 'aviation'" in wrong.stderr


# --- /mute and /unmute ---------------------------------------------------------------------------


def test_a_muted_member_is_told_once_and_nothing_they_write_is_taken_in(engine, database) -> None:
    setup_group(engine, database)
    engine.handle(Chat("cura").command("/thread open mobility Where do you cycle?"))
    say(engine, "ann", "First I was heard.", ident="tg-1")
    ann = member_id(database, "ann")
    cura = Chat("cura")

    said = reply_text(engine.handle(cura.command(f"/mute #{ann} 2h")))
    assert f"Ann (#{ann}) is muted until" in said
    with transaction(database) as session:
        muted = session.get(Member, ann)
        assert muted is not None and muted.muted_until is not None
        assert timedelta(minutes=119) < muted.muted_until - utcnow() <= timedelta(hours=2)

    first = say(engine, "ann", "Am I still heard?")
    assert len(first) == 1 and first[0].to_user == "ann"
    assert "A curator has muted you until" in first[0].text
    assert say(engine, "ann", "Hello?") == []  # told once, not once per message
    assert engine.handle(Chat("ann").command("/reply 1 Along the canal.")) == []
    edit = MessageEdited(
        key="edit-1",
        platform="test",
        user_id="ann",
        user_name="Ann",
        chat_id=GROUP,
        platform_message_id="tg-1",
        text="Edited while muted.",
    )
    engine.handle(edit)
    assert "Ann" in reply_text(engine.handle(Chat("ann").command("/whoami")))  # commands work
    assert stored_texts(database) == ["First I was heard."]

    assert f"Ann (#{ann}) is no longer muted." in reply_text(
        engine.handle(cura.command("/unmute ann"))
    )
    assert "is not muted" in reply_text(engine.handle(cura.command(f"/unmute #{ann}")))
    assert say(engine, "ann", "Heard again.") == []
    assert stored_texts(database) == ["First I was heard.", "Heard again."]
    assert [a[:2] for a in audit_actions(database) if a[0].startswith("member.")] == [
        ("member.mute", f"member #{ann}"),
        ("member.unmute", f"member #{ann}"),
    ]


def test_a_mute_lasts_a_day_by_default_and_ends_by_itself(engine, database) -> None:
    setup_group(engine, database)
    ben = member_id(database, "ben")
    engine.handle(Chat("ben").command("/join mobility"))  # takes part: cura may mute him
    said = reply_text(engine.handle(Chat("cura").command(f"/mute #{ben}")))
    assert f"Ben (#{ben}) is muted until" in said
    with transaction(database) as session:
        until = session.get(Member, ben).muted_until  # type: ignore[union-attr]
    assert until is not None and timedelta(hours=23) < until - utcnow() <= timedelta(days=1)
    assert say(engine, "ben", "Muted now.")  # told
    assert say(engine, "ben", "A day later.", at=until + timedelta(seconds=1)) == []
    assert stored_texts(database) == ["A day later."]


def test_mute_explains_each_mistake(engine, database) -> None:
    setup_group(engine, database)
    with transaction(database) as session:
        grant(session, member_for(session, "test", "root", "Root"), RoleName.ADMIN, None)
    ben = member_id(database, "ben")
    engine.handle(Chat("ben").command("/join mobility"))
    cura = Chat("cura")
    cases = {
        "/mute": "Usage: /mute <member> [duration]",
        f"/mute #{ben} 2h extra": "Usage: /mute <member> [duration]",
        f"/mute #{ben} soon": "soon is not a duration I can read: write minutes, hours, days",
        f"/mute #{ben} 0m": "0m is not a duration",
        f"/mute #{ben} 400d": "(at most a year)",
        "/mute nobody": "I know no member nobody",
        "/mute cura": "You cannot mute or unmute yourself.",
        "/unmute": "Usage: /unmute <member>",
    }
    for line, expected in cases.items():
        assert expected in reply_text(engine.handle(cura.command(line))), line
    assert "is an administrator and cannot be muted" in reply_text(
        engine.handle(cura.command("/mute root"))
    )
    assert not [a for a in audit_actions(database) if a[0].startswith("member.")]


# --- flood control ------------------------------------------------------------------------------


def test_a_flooding_member_is_slowed_down_once_per_window(database, settings: Settings) -> None:
    engine = Engine(
        database, settings.model_copy(update={"flood_messages": 3, "flood_seconds": 60})
    )
    setup_group(engine, database)
    start = utcnow()

    def at(seconds: float) -> list:
        return say(engine, "ann", f"message at {seconds}s", at=start + timedelta(seconds=seconds))

    assert [at(s) for s in (0, 1, 2)] == [[], [], []]
    slowed = at(3)
    assert len(slowed) == 1 and slowed[0].to_user == "ann"
    assert "Please slow down: you sent more than 3 messages within 60 seconds" in slowed[0].text
    assert "not taken into the dialogue" in slowed[0].text
    assert at(4) == [] and at(30) == [] and at(59) == []  # told once in the window
    assert say(engine, "ben", "Ben is not slowed by Ann.") == []
    # the window slides: as the first messages leave it, there is room again
    assert [at(s) for s in (60.5, 61.5, 62.5)] == [[], [], []]
    told_again = at(63)  # flooding again, a whole window after the first notice
    assert len(told_again) == 1 and "Please slow down" in told_again[0].text
    assert [t for t in stored_texts(database) if t.startswith("message at")] == [
        "message at 0s",
        "message at 1s",
        "message at 2s",
        "message at 60.5s",
        "message at 61.5s",
        "message at 62.5s",
    ]
    # a /reply answer counts, and is held back, alike
    engine.handle(Chat("cura").command("/thread open mobility Anything else?"))
    answer = replace(Chat("ann").command("/reply 1 one more"), at=start + timedelta(seconds=64))
    assert engine.handle(answer) == []
    assert "one more" not in stored_texts(database)


# --- polder audit --------------------------------------------------------------------------------


def test_polder_audit_lists_who_did_what_newest_first(engine, database, polder: Run) -> None:
    setup_group(engine, database)
    cura = Chat("cura")
    say(engine, "ann", "Something to hide.")
    number = message_id(database, "Something to hide.")
    ann = member_id(database, "ann")
    engine.handle(cura.command("/thread open mobility What next?"))
    engine.handle(cura.command("/thread close 1"))
    engine.handle(cura.command('/poll mobility "Which first?" "Ring" "Harbour"'))
    engine.handle(cura.command("/poll close 1"))
    engine.handle(cura.command("/objective mobility Fewer cars, more life."))
    engine.handle(cura.command(f"/hide {number}"))
    engine.handle(cura.command(f"/mute #{ann} 30m"))
    granted = polder("roles", "grant", "test:ben", "staff")
    assert granted.returncode == 0, granted.stderr
    with transaction(database) as session:  # the curator asked to be forgotten
        curator = member_for(session, "test", "cura", "Cura")
        curator.erased_at = utcnow()
        session.add(curator)
        cura_id = curator.id

    result = polder("audit")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [r[2] for r in rows] == [
        "role.grant",
        "member.mute",
        "message.hide",
        "sector.objective",
        "poll.close",
        "poll.open",
        "thread.close",
        "thread.open",
        "channel.link",
        "role.grant",
    ]
    assert rows[0][1:] == [
        "command line",
        "role.grant",
        f"member #{member_id(database, 'ben')}",
        "staff",
    ]
    assert rows[1][1] == f"(forgotten #{cura_id})"
    assert rows[2][1:] == [
        f"(forgotten #{cura_id})",
        "message.hide",
        f"message #{number}",
        "mobility",
    ]
    assert rows[1][3] == f"member #{ann}" and rows[1][4].startswith("until ")
    assert rows[0][0].endswith(("CET", "CEST"))  # shown in POLDER_TIMEZONE

    only = polder("audit", "--action", "message", "--limit", "5")
    assert [line.split("\t")[2] for line in only.stdout.splitlines()] == ["message.hide"]
    assert len(polder("audit", "--limit", "2").stdout.splitlines()) == 2
    later = polder("audit", "--since", "2999-01-01")
    assert later.returncode == 0 and later.stdout == "" and "no audit entries" in later.stderr
    bad = polder("audit", "--since", "last week")
    assert bad.returncode == 2 and "--since 'last week': use a date such as" in bad.stderr


def test_command_line_changes_are_audited_too(polder: Run) -> None:
    assert polder("sectors", "add", "housing", "--name", "Housing").returncode == 0
    made = polder("digest", "subscribe", "housing", "--channel", "console:#staff")
    assert made.returncode == 0, made.stderr
    assert polder("digest", "unsubscribe", "1").returncode == 0

    rows = [line.split("\t") for line in polder("audit").stdout.splitlines()]
    assert [r[1:4] for r in rows] == [
        ["command line", "digest.unsubscribe", "subscription #1"],
        ["command line", "digest.subscribe", "subscription #1"],
        ["command line", "sector.add", "housing"],
    ]
    assert rows[1][4].startswith("housing to console:#staff at '0 8 * * 1'")
