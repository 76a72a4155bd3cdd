"""Who may do what: enforced before any handler, refusals name the role that is needed."""

from __future__ import annotations

import re

from bot.engine import Engine
from bot.i18n import translator
from bot.members import member_for
from bot.roles import grant, has_role
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import RoleName
from tests.conftest import PROJECT, Chat, onboarded, reply_text


def make_admin(database, user: str = "root") -> None:
    with transaction(database) as session:
        grant(session, member_for(session, "test", user, user.capitalize()), RoleName.ADMIN, None)
    onboarded(database, user)


def test_every_refusal_names_the_role_needed(engine, database) -> None:
    onboarded(database, "mallory")
    chat = Chat("mallory", chat="group")
    link = reply_text(engine.handle(chat.command("/link energy")))
    assert "Only a curator of energy or an administrator may use /link" in link
    grant_ = reply_text(engine.handle(chat.command("/grant mallory admin")))
    assert "Only an administrator may use /grant" in grant_


def test_refusals_come_in_the_member_s_language(engine, database) -> None:
    onboarded(database, "mallory")
    chat = Chat("mallory", chat="group")
    engine.handle(chat.command("/lang nl"))
    text = reply_text(engine.handle(chat.command("/grant mallory admin")))
    expected = translator("nl")(
        "Only {who} may use /{command}. Ask an administrator if you think you should."
    ).format(who=translator("nl")("an administrator"), command="grant")
    assert text == expected
    assert not text.startswith("Only")


def test_an_admin_grants_and_revokes_in_chat(engine, database) -> None:
    make_admin(database)
    onboarded(database, "saskia")
    engine.handle(Chat("saskia").command("/whoami"))
    admin = Chat("root")
    said = reply_text(engine.handle(admin.command("/grant Saskia curator mobility")))
    assert "Saskia" in said and "is now curator (mobility)" in said
    engine.handle(Chat("saskia", chat="g").command("/link mobility"))
    with transaction(database) as session:
        saskia = member_for(session, "test", "saskia", "Saskia")
        assert has_role(session, saskia, RoleName.CURATOR, find_sector(session, "mobility"))
    said = reply_text(engine.handle(admin.command("/revoke test:saskia curator mobility")))
    assert "is no longer curator (mobility)" in said
    refused = reply_text(engine.handle(Chat("saskia", chat="g2").command("/link mobility")))
    assert "Only a curator of mobility" in refused


def test_grant_explains_each_mistake(engine, database) -> None:
    make_admin(database)
    admin = Chat("root")
    cases = {
        "/grant": "Usage: /grant <member> <role> [sector]",
        "/grant nobody staff": "I know no member nobody",
        "/grant root wizard": "There is no role wizard",
        "/grant root curator": "A curator looks after one sector",
        "/grant root staff mobility": "city-wide role",
        "/grant root curator aviation": "There is no sector aviation",
    }
    for line, expected in cases.items():
        assert expected in reply_text(engine.handle(admin.command(line))), line


def test_readme_role_table_matches_what_the_engine_enforces(database, settings) -> None:
    """The README's command table says who may run each command; it must not drift."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for name, who in re.findall(r"^\| `/(\w+(?: [a-z]+\b)?)[^|]*\| ([^|]+) \|", readme, re.M):
        rows.setdefault(name, who)  # a command's first row is its plain form
    words = {None: "everyone", RoleName.ADMIN: "admins", RoleName.STAFF: "staff"}
    for command in Engine(database, settings).commands.values():
        assert command.name in rows, f"/{command.name} is missing from the README's table"
        who = rows[command.name]
        if command.needs is RoleName.CURATOR:
            assert "curators" in who and "admins" in who, command.name
        else:
            assert words[command.needs] in who, command.name
