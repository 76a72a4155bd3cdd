"""Ideas: the form, similar ideas, possible partners, the pipeline, and the open-data export."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from bot.actions import Ask, FormErrors, Notify
from bot.events import FormSubmitted
from bot.i18n import translator
from bot.ideas import IDEA_FORM, export_ideas
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import ActorType, Idea, IdeaChange, IdeaStatus, Membership, RoleName
from tests.conftest import Chat, onboarded, reply_text

CARGO = [
    "Shared cargo bikes for shops",
    "Local shops in the north share a fleet of electric cargo bikes for their deliveries.",
    "mobility",
]


def submit(engine, chat: Chat, answers: list[str]) -> str:
    """Fill in the idea form as a member would; returns the bot's last words."""
    engine.handle(chat.command("/idea"))
    said = ""
    for answer in answers:
        event = chat.command(answer) if answer.startswith("/") else chat.message(answer)
        said = reply_text(engine.handle(event))
    return said


def ideas(database) -> list[Idea]:
    with transaction(database) as session:
        return list(session.exec(select(Idea).order_by(Idea.id)))


def test_every_field_is_asked_in_turn_and_a_bad_answer_again(engine, database) -> None:
    onboarded(database, "sam")
    sam = Chat("sam")
    asked = [a.text for a in engine.handle(sam.command("/idea")) if isinstance(a, Ask)]
    answers = [
        ("x" * 121, "at most 120 characters"),
        (CARGO[0], None),
        ("too short", "at least 20 characters"),
        (CARGO[1], None),
        ("aviation", "not one of the choices"),
        ("3", None),  # mobility, by its number
        ("1, research", None),
        ("testbed data", None),
    ]
    for answer, problem in answers:
        actions = engine.handle(sam.message(answer))
        if problem:
            assert problem in reply_text(actions)
        asked += [a.text for a in actions if isinstance(a, Ask)]
    # each field asked once, and the three refused answers asked again
    questions = [f.question for f in IDEA_FORM.fields]
    assert [q for q in asked if q in questions] == [
        questions[0],
        questions[0],
        questions[1],
        questions[1],
        questions[2],
        questions[2],
        questions[3],
        questions[4],
    ]
    [idea] = ideas(database)
    assert (idea.title, idea.description) == (CARGO[0], CARGO[1])
    assert idea.partners == ["solution_provider", "research"] and idea.needs == ["testbed", "data"]
    assert idea.status is IdeaStatus.NEW and len(idea.code) == 4


def test_a_confirmation_gives_the_short_id(engine, database) -> None:
    onboarded(database, "sam")
    said = submit(engine, Chat("sam"), [*CARGO, "/skip", "/skip"])
    [idea] = ideas(database)
    assert f"Your idea {idea.code} is in" in said
    with transaction(database) as session:
        [change] = session.exec(select(IdeaChange)).all()
    assert change.status_to is IdeaStatus.NEW and change.status_from is None


def test_a_needed_field_cannot_be_skipped_and_cancel_abandons(engine, database) -> None:
    onboarded(database, "sam")
    sam = Chat("sam")
    engine.handle(sam.command("/idea"))
    assert "This one is needed" in reply_text(engine.handle(sam.command("/skip")))
    assert "Stopped" in reply_text(engine.handle(sam.command("/cancel")))
    assert "only understand commands" in reply_text(engine.handle(sam.message("A title")))
    assert ideas(database) == []


def test_ideas_are_filled_in_privately(engine, database) -> None:
    onboarded(database, "sam")
    said = reply_text(engine.handle(Chat("sam", chat="group").command("/idea")))
    assert "privately" in said


def test_similar_ideas_of_the_same_sector_are_shown(engine, database) -> None:
    onboarded(database, "sam", "ada", "bo")
    submit(
        engine,
        Chat("ada"),
        [
            "Cargo bike sharing for local shops",
            "Shops in the north district share electric cargo bikes for their deliveries.",
            "mobility",
            "/skip",
            "/skip",
        ],
    )
    submit(
        engine,
        Chat("bo"),
        [
            "Solar roofs on schools",
            "Put solar panels on every school roof and share the power with the neighbours.",
            "energy",
            "/skip",
            "/skip",
        ],
    )
    said = submit(engine, Chat("sam"), [*CARGO, "/skip", "/skip"])
    first = ideas(database)[0]
    assert "look similar" in said and f"{first.code}: Cargo bike sharing" in said
    assert "Solar roofs" not in said  # another sector


def test_partners_are_suggested_only_when_they_agreed_to_be_contacted(engine, database) -> None:
    with transaction(database) as session:
        mobility, energy = find_sector(session, "mobility"), find_sector(session, "energy")
        for name, actor, consent, sector in [
            ("Rita", ActorType.RESEARCH, True, mobility),
            ("Quinn", ActorType.RESEARCH, False, mobility),  # did not consent
            ("Pia", ActorType.RESEARCH, True, energy),  # another sector
            ("Otto", ActorType.RESIDENT, True, mobility),  # not a type the idea needs
        ]:
            member = member_for(session, "test", name.lower(), name)
            member.actor_type, member.consent_contact = actor, consent
            member.organisation = "TU Delft" if name == "Rita" else None
            session.add(member)
            session.add(Membership(member_id=member.id, sector_id=sector.id))
    onboarded(database, "sam")
    said = submit(engine, Chat("sam"), [*CARGO, "research", "/skip"])
    assert "Possible partners, research: Rita (TU Delft)" in said
    for hidden in ("Quinn", "Pia", "Otto"):
        assert hidden not in said


@pytest.fixture
def curated(engine, database) -> tuple[Chat, Chat, str]:
    """Sam (who reads Dutch) submitted an idea; Cura curates mobility."""
    with transaction(database) as session:
        grant(
            session,
            member_for(session, "test", "cura", "Cura"),
            RoleName.CURATOR,
            find_sector(session, "mobility"),
        )
    onboarded(database, "cura", "sam")
    sam, cura = Chat("sam"), Chat("cura")
    engine.handle(sam.command("/lang nl"))
    submit(engine, sam, [*CARGO, "/skip", "/skip"])
    return sam, cura, ideas(database)[0].code


def test_a_status_change_reaches_the_submitter_in_their_language(engine, database, curated) -> None:
    _sam, cura, code = curated
    actions = engine.handle(cura.command(f"/idea {code} status to_testbed Let us try it in Noord."))
    [notice] = [a for a in actions if isinstance(a, Notify)]
    nl = translator("nl")
    assert notice.chat_id == "sam"
    assert nl("Note from the curator: {note}").format(note="Let us try it in Noord.") in notice.text
    assert nl("to testbed") in notice.text and nl("to testbed") != "to testbed"
    assert f"Idea {code} is now to testbed" in reply_text(actions)
    with transaction(database) as session:
        history = session.exec(select(IdeaChange).order_by(IdeaChange.id)).all()
        cura_id = member_for(session, "test", "cura", "Cura").id
    assert [(h.status_from, h.status_to) for h in history] == [
        (None, IdeaStatus.NEW),
        (IdeaStatus.NEW, IdeaStatus.TO_TESTBED),
    ]
    assert history[1].changed_by == cura_id and history[1].note == "Let us try it in Noord."


def test_a_member_who_is_not_a_curator_cannot_change_a_status(engine, database, curated) -> None:
    sam, _cura, code = curated
    onboarded(database, "mallory")
    for chat in (Chat("mallory"), sam):
        refused = reply_text(engine.handle(chat.command(f"/idea {code} status done")))
        assert "/idea status" in refused
    assert ideas(database)[0].status is IdeaStatus.NEW


def test_details_history_and_lists(engine, database, curated) -> None:
    sam, cura, code = curated
    engine.handle(cura.command(f"/idea {code} status review"))
    shown = reply_text(engine.handle(cura.command(f"/idea {code}")))
    assert CARGO[1] in shown and "Submitted by Sam" in shown
    history = shown.split("History:")[1]
    assert history.index(": new") < history.index(": under review")
    assert f"{code} mobility, under review" in reply_text(
        engine.handle(cura.command("/ideas mobility review"))
    )
    assert "No ideas here yet" in reply_text(
        engine.handle(cura.command("/ideas mobility declined"))
    )
    mine = reply_text(engine.handle(sam.command("/ideas mine")))
    assert code in mine and CARGO[0] in mine
    assert "Submitted by" not in reply_text(engine.handle(sam.command(f"/idea {code}")))
    refused = reply_text(engine.handle(sam.command("/ideas")))  # Sam reads Dutch
    assert "/ideas" in refused and CARGO[0] not in refused
    assert "There is no idea ZZZZ" in reply_text(engine.handle(cura.command("/idea ZZZZ")))
    assert "There is no status flying" in reply_text(
        engine.handle(cura.command(f"/idea {code} status flying"))
    )


def test_a_dialog_submission_is_checked_field_by_field(engine, database) -> None:
    onboarded(database, "sam")
    base = Chat("sam")._common(None)
    bad = FormSubmitted(
        form="idea",
        values={"title": "", "description": "short", "sector": "moon", "partners": ["research"]},
        **base,
    )
    [errors] = engine.handle(bad)
    assert isinstance(errors, FormErrors)
    assert set(errors.errors) == {"title", "description", "sector"}
    good = FormSubmitted(
        form="idea",
        values={
            "title": CARGO[0],
            "description": CARGO[1],
            "sector": "mobility",
            "needs": ["data"],
        },
        **Chat("sam")._common(None),
    )
    assert "Your idea" in reply_text(engine.handle(good))
    assert ideas(database)[0].needs == ["data"]


def test_the_export_names_only_those_who_consented(engine, database, curated) -> None:
    _sam, cura, code = curated
    engine.handle(cura.command(f"/idea {code} status review Nice"))
    with transaction(database) as session:
        [idea] = export_ideas(session)
    assert idea["code"] == code and idea["submitter"]["name"] is None
    assert [h["status"] for h in idea["history"]] == ["new", "under_review"]
    assert idea["history"][1]["note"] == "Nice" and idea["history"][1]["by"]["name"] is None
    engine.handle(Chat("sam").command("/profile export on"))
    with transaction(database) as session:
        [idea] = export_ideas(session)
        assert export_ideas(session, find_sector(session, "energy")) == []
    assert idea["submitter"]["name"] == "Sam"


def test_polder_export_writes_csv_and_json(
    engine, database, database_url, curated, tmp_path
) -> None:
    _sam, _cura, code = curated
    polder = Path(sys.executable).with_name("polder")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
    env["POLDER_DATABASE_URL"] = database_url

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(polder), "export", "ideas", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )

    as_json = json.loads(run("--format", "json").stdout)
    assert [i["code"] for i in as_json] == [code]
    as_csv = run("--format", "csv", "--sector", "mobility").stdout.splitlines()
    assert as_csv[0].startswith("code,sector,title") and as_csv[1].startswith(f"{code},mobility,")
    written = run("--format", "json", "--out", str(tmp_path / "ideas.json"))
    assert "1 ideas written" in written.stderr
    assert json.loads((tmp_path / "ideas.json").read_text())[0]["code"] == code
    wrong = run("--format", "json", "--sector", "aviation")
    assert wrong.returncode == 2 and "no sector 'aviation'" in wrong.stderr
