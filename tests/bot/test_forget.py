"""/forget: after a yes, no row of any table holds the member's name, accounts or words (the
whole schema is scanned), the week's digest counts stay the same, and if they write again
they are a new member."""

from __future__ import annotations

from sqlmodel import col, select

from bot.actions import Ask, Farewell
from bot.forget import POLICY
from bot.members import member_for
from bot.roles import grant
from bot.sectors import find_sector
from scheduled.digest import Digest, build_digest, week_bounds, week_of
from scheduled.render import to_markdown
from scheduled.retention import purge_one_member_entries
from storage import outbox
from storage.database import transaction
from storage.models import AuditEntry, Idea, IdeaChange, Message, PollVote, RoleName
from tests.bot.member_data import (
    IDEA_TITLE,
    NAME,
    ORGANISATION,
    OTHER_NAME,
    OTHER_SAYS,
    SAYS,
    USER,
    NamedChat,
    member_references,
    member_row,
    rows_referring,
    seed_member,
    text_holding,
)
from tests.conftest import Chat, onboarded, reply_text

ZONE_NAME = "Europe/Amsterdam"


def digest_now(database, settings) -> Digest:
    """The mobility digest of the week the seeded messages fall in."""
    with transaction(database) as session:
        first = session.exec(select(Message).order_by(col(Message.id))).first()
        assert first is not None
        start, end = week_bounds(week_of(first.created_at, settings.zone), settings.zone)
        mobility = find_sector(session, "mobility")
        return build_digest(session, mobility, start, end, settings.zone)


def deliver_everything(database) -> None:
    """What the channels do: every pending entry sent and marked delivered."""
    for entry in outbox.claim(database, "test", limit=10_000):
        assert entry.id is not None
        outbox.delivered(database, entry.id, f"sent-{entry.id}")


def forget_in_chat(engine) -> list:
    me = NamedChat(USER, NAME)
    asked = engine.handle(me.command("/forget"))
    question = [a for a in asked if isinstance(a, Ask)]
    assert question and [v for v, _label in question[0].choices] == ["yes", "no"]
    assert "cannot be undone" in reply_text(asked)
    return engine.handle(me.message("yes"))


def test_every_column_that_refers_to_a_member_has_a_policy() -> None:
    walked = member_references() - {("members", "id")}
    assert set(POLICY) == walked, (
        f"no policy: {sorted(walked - set(POLICY))}; no such column: {sorted(set(POLICY) - walked)}"
    )


def test_forgetting_leaves_no_name_account_or_words_and_the_digest_counts(
    engine, database, settings
) -> None:
    seeded = seed_member(engine)
    before = digest_now(database, settings)
    assert before.messages == 3 and before.active_members == 2
    assert NAME in to_markdown(before, "en")  # she consented to be named
    needles = [NAME, USER, ORGANISATION, *SAYS]
    assert text_holding(database, needles)  # the scan finds her before

    done = forget_in_chat(engine)

    (farewell,) = done
    assert isinstance(farewell, Farewell) and "forgotten you" in farewell.text
    deliver_everything(database)
    assert purge_one_member_entries(database) >= 1  # the goodbye and the /mydata file
    assert text_holding(database, needles) == []
    after = digest_now(database, settings)
    assert after.counts == before.counts
    assert after.previous == before.previous
    assert NAME not in to_markdown(after, "en")
    assert not any(SAYS[0] in q.text for t in after.threads for q in t.representative)
    tombstone = member_row(database, seeded.member_id)
    assert tombstone.erased_at is not None
    assert tombstone.display_name == "" and tombstone.organisation is None
    assert tombstone.actor_type == "research"  # the aggregate category stays
    assert not tombstone.consent_named
    for (table, column), policy in POLICY.items():
        left = rows_referring(database, table, column, seeded.member_id)
        assert bool(left) == (policy == "keep"), f"{table}.{column} ({policy}): {left}"


def test_the_rest_of_the_sector_stays_whole(engine, database) -> None:
    seeded = seed_member(engine)
    forget_in_chat(engine)
    with transaction(database) as session:
        idea = session.exec(select(Idea).where(Idea.title == IDEA_TITLE)).one()
        assert idea.submitted_by is None
        history = session.exec(select(IdeaChange).where(IdeaChange.idea_id == idea.id)).all()
        assert history and all(c.changed_by is None for c in history)
        bobs = session.exec(select(Message).where(Message.text == OTHER_SAYS[0])).one()
        assert bobs.member_id == seeded.other_id  # Bob's words are Bob's
        votes = session.exec(select(PollVote).where(PollVote.poll_id == seeded.poll_id)).all()
        assert len(votes) == 2  # the tally stays
        logged = session.exec(select(AuditEntry).where(AuditEntry.action == "member.forget")).one()
    assert logged.target == f"member #{seeded.member_id}"
    assert logged.actor_id == seeded.member_id
    assert NAME not in logged.detail and USER not in logged.detail
    bob = NamedChat("bb-9922", OTHER_NAME)
    assert f"{OTHER_NAME} (member #{seeded.other_id})" in reply_text(
        engine.handle(bob.command("/whoami"))
    )
    with transaction(database) as session:
        grant(session, member_for(session, "test", "bb-9922", OTHER_NAME), RoleName.ADMIN, None)
    voters = reply_text(engine.handle(bob.command(f"/poll show {seeded.poll_id} --voters")))
    assert "- a former member: Ring" in voters and f"- {OTHER_NAME}: Harbour" in voters


def test_a_forgotten_member_who_writes_again_is_a_new_member(engine, database) -> None:
    seeded = seed_member(engine)
    forget_in_chat(engine)
    again = engine.handle(NamedChat(USER, NAME).command("/whoami"))
    text = reply_text(again)
    assert f"(member #{seeded.member_id})" not in text
    assert "Roles: none" in text and "Sectors: none yet" in text
    assert "Welcome to Polder!" in text  # the first-contact questions, as for anyone new
    assert member_row(database, seeded.member_id).display_name == ""


def test_no_or_skip_erases_nothing(engine, database) -> None:
    onboarded(database, "ann")
    ann = Chat("ann")
    engine.handle(ann.command("/forget"))
    assert "Please answer yes or no" in reply_text(engine.handle(ann.message("perhaps")))
    assert "Nothing was erased" in reply_text(engine.handle(ann.message("no")))
    engine.handle(ann.command("/forget"))
    assert "Nothing was erased" in reply_text(engine.handle(ann.command("/skip")))
    assert "You are Ann" in reply_text(engine.handle(ann.command("/whoami")))


def test_forget_is_asked_privately(engine, database) -> None:
    onboarded(database, "ann")
    said = reply_text(engine.handle(Chat("ann", "a-group").command("/forget")))
    assert "write /forget to me directly" in said
    assert "You are Ann" in reply_text(engine.handle(Chat("ann").command("/whoami")))
