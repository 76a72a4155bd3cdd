"""/mydata: a member gets every row that refers to them, and nobody else's data.

The schema is walked: every foreign key to members.id must have its section in the export
(`bot.mydata.COVERS`), and the seeded member has a row behind each of them that must show up
in it. A new table that refers to members fails here until the export covers it."""

from __future__ import annotations

import json

from bot.actions import SendFile
from bot.mydata import COVERS, export_member, to_json
from storage.database import transaction
from storage.models import Member
from tests.bot.member_data import (
    IDEA_TITLE,
    NAME,
    ORGANISATION,
    OTHER_NAME,
    OTHER_SAYS,
    OTHER_USER,
    SAYS,
    USER,
    NamedChat,
    member_references,
    rows_referring,
    seed_member,
)
from tests.conftest import Chat, onboarded, reply_text


def export_of(database, member_id: int) -> dict:
    with transaction(database) as session:
        member = session.get(Member, member_id)
        assert member is not None
        return json.loads(to_json(export_member(session, member)))


def test_the_export_covers_every_column_that_refers_to_a_member() -> None:
    walked = member_references()
    assert set(COVERS) == walked, (
        f"not exported: {sorted(walked - set(COVERS))}; "
        f"no such reference: {sorted(set(COVERS) - walked)}"
    )


def test_every_row_that_refers_to_the_member_is_in_their_export(engine, database) -> None:
    seeded = seed_member(engine)
    data = export_of(database, seeded.member_id)
    assert data["member"]["id"] == seeded.member_id
    assert data["member"]["display_name"] == NAME
    assert data["member"]["organisation"] == ORGANISATION
    assert data["consents"] == {"contact": False, "named": True, "export": False}
    for table, column in sorted(member_references() - {("members", "id")}):
        rows = rows_referring(database, table, column, seeded.member_id)
        assert rows, f"the seed has no {table} row referring to the member by {column}"
        section = data[COVERS[(table, column)]]
        if "id" in rows[0]._fields:
            exported = {entry["id"] for entry in section}
            missing = {row.id for row in rows} - exported
            assert not missing, f"{table} rows {missing} ({column}) are not in the export"
        else:
            assert len(section) == len(rows), f"{table}: {len(rows)} rows, {len(section)} exported"
    assert [m["text"] for m in data["messages"]] == SAYS
    assert [v["option"] for v in data["votes"]] == ["Ring"]
    (idea,) = data["ideas"]
    assert idea["title"] == IDEA_TITLE
    assert [step["to"] for step in idea["history"]] == ["new"]
    assert {a["user_id"] for a in data["accounts"]} == {USER}
    assert {r["role"] for r in data["roles"]} == {"curator", "staff"}
    assert any(entry["action"] == "role.grant" for entry in data["about_you"])


def test_the_export_holds_no_other_member_s_data(engine, database) -> None:
    seeded = seed_member(engine)
    text = to_json(export_of(database, seeded.member_id))
    for other in (OTHER_NAME, OTHER_USER, *OTHER_SAYS):
        assert other not in text, f"{other!r} is in Zora's export"
    assert len(json.loads(text)["votes"]) == 1  # hers; Bob voted in the same poll


def test_mydata_sends_the_file_privately_with_a_summary(engine, database) -> None:
    seeded = seed_member(engine)
    actions = engine.handle(NamedChat(USER, NAME).command("/mydata"))
    (document,) = [a for a in actions if isinstance(a, SendFile)]
    assert document.chat_id == USER
    assert document.filename.endswith(".json") and f"member-{seeded.member_id}" in document.filename
    sent = json.loads(document.content)
    assert [m["text"] for m in sent["messages"]] == SAYS
    summary = reply_text([a for a in actions if not isinstance(a, SendFile)])
    assert "Messages: 2" in summary
    assert "Ideas: 1" in summary
    assert "Poll votes: 1" in summary
    assert "My name may appear in digests (named): on" in summary
    assert "(contact): off" in summary


def test_mydata_in_a_group_is_refused_and_sends_nothing(engine, database) -> None:
    onboarded(database, "ann")
    actions = engine.handle(Chat("ann", "some-group").command("/mydata"))
    assert not [a for a in actions if isinstance(a, SendFile)]
    assert "write /mydata to me directly" in reply_text(actions)
