"""Consents take effect at once: a member who withdraws consent to be named is no longer named
in a digest built afterwards, nor in the open-data export of ideas."""

from __future__ import annotations

from sqlmodel import col, select

from bot.ideas import export_ideas
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from scheduled.digest import Digest, build_digest, week_bounds, week_of
from scheduled.render import to_markdown
from storage.database import transaction
from storage.models import Message, RoleName
from tests.conftest import Chat, onboarded, reply_text

ANSWER = "A quiet cycle route along the water, away from the lorries."


def thread_digest(engine, settings) -> Digest:
    with transaction(engine.database) as session:
        said = session.exec(select(Message).order_by(col(Message.id).desc())).first()
        assert said is not None
        start, end = week_bounds(week_of(said.created_at, settings.zone), settings.zone)
        return build_digest(session, find_sector(session, "mobility"), start, end, settings.zone)


def authors(digest: Digest) -> list[tuple[str, bool]]:
    return [(q.who, q.named) for t in digest.threads for q in t.representative]


def test_withdrawing_consent_unnames_the_member_in_the_next_digest(engine, settings) -> None:
    onboarded(engine.database, "cura", "mila")
    with transaction(engine.database) as session:
        cura = member_for(session, "test", "cura", "Cura")
        grant(session, cura, RoleName.CURATOR, find_sector(session, "mobility"))
    assert "linked" in reply_text(engine.handle(Chat("cura", "harbour").command("/link mobility")))
    opened = reply_text(
        engine.handle(Chat("cura", "harbour").command('/thread open mobility "Which route?"'))
    )
    assert "#1" in opened, opened
    mila = Chat("mila")
    assert "Saved" in reply_text(engine.handle(mila.command("/profile named on")))
    engine.handle(Chat("mila", "harbour").command(f"/reply 1 {ANSWER}"))

    named = thread_digest(engine, settings)
    assert authors(named) == [("Mila", True)]
    assert "Mila" in to_markdown(named, "en")

    said = reply_text(engine.handle(mila.command("/profile named off")))
    assert "(named): off" in said
    unnamed = thread_digest(engine, settings)
    assert authors(unnamed) == [("a member", False)]
    assert "Mila" not in to_markdown(unnamed, "en")
    assert unnamed.counts == named.counts


def test_withdrawing_export_consent_unnames_the_member_in_the_open_data(engine) -> None:
    onboarded(engine.database, "mila")
    mila = Chat("mila")
    engine.handle(mila.command("/profile export on"))
    engine.handle(mila.command("/profile organisation Harbour Lab"))
    engine.handle(mila.command("/idea"))
    for answer in ("Quiet cycle route", ANSWER, "mobility"):
        engine.handle(mila.message(answer))
    engine.handle(mila.command("/skip"))
    engine.handle(mila.command("/skip"))
    with transaction(engine.database) as session:
        (idea,) = export_ideas(session)
    assert idea["submitter"]["name"] == "Mila"
    assert idea["submitter"]["organisation"] == "Harbour Lab"

    engine.handle(mila.command("/profile export off"))
    with transaction(engine.database) as session:
        (idea,) = export_ideas(session)
    assert idea["submitter"] == {"name": None, "organisation": None, "actor_type": None}
    assert idea["title"] == "Quiet cycle route"
