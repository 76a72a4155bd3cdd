"""Members: first contact, several accounts, /whoami, and finding a member by reference."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.members import MemberNotFound, find_member, member_for
from bot.roles import RoleError, grant, has_role, revoke
from bot.sectors import find_sector
from storage.database import transaction
from storage.models import Identity, Member, RoleName
from tests.conftest import Chat, reply_text


def test_whoami_on_first_contact(engine) -> None:
    text = reply_text(engine.handle(Chat("aino").command("/whoami")))
    assert "You are Aino" in text
    assert "Accounts: test:aino" in text
    assert "Roles: none" in text


def test_whoami_shows_roles_and_sectors(engine, database) -> None:
    engine.handle(Chat("aino").command("/join energy"))
    with transaction(database) as session:
        aino = find_member(session, "test:aino")
        grant(session, aino, RoleName.CURATOR, find_sector(session, "energy"))
        grant(session, aino, RoleName.STAFF, None)
    text = reply_text(engine.handle(Chat("aino").command("/whoami")))
    assert "curator (energy)" in text and "staff" in text
    assert "Sectors: energy" in text


def test_one_member_with_two_platform_accounts(database) -> None:
    with transaction(database) as session:
        member = member_for(session, "telegram", "111", "Lars")
        session.add(Identity(member_id=member.id, platform="slack", platform_user_id="U9"))
    with transaction(database) as session:
        assert member_for(session, "slack", "U9", "Lars").id == member.id
        assert len(session.exec(select(Member)).all()) == 1


def test_a_renamed_account_keeps_its_member(database) -> None:
    with transaction(database) as session:
        first = member_for(session, "telegram", "111", "Lars")
    with transaction(database) as session:
        again = member_for(session, "telegram", "111", "Lars Virtanen")
        assert again.id == first.id and again.display_name == "Lars Virtanen"


def test_find_member_by_id_account_or_unique_name(database) -> None:
    with transaction(database) as session:
        a = member_for(session, "telegram", "1", "Sam")
        member_for(session, "slack", "U2", "Sam")
        c = member_for(session, "slack", "U3", "Noor")
        assert find_member(session, f"#{a.id}").id == a.id
        assert find_member(session, "slack:U3").id == c.id
        assert find_member(session, "Noor").id == c.id
        with pytest.raises(MemberNotFound, match="2 members are called 'Sam'"):
            find_member(session, "Sam")
        with pytest.raises(MemberNotFound, match="no member is called"):
            find_member(session, "Nobody")
        with pytest.raises(MemberNotFound, match="no member #999"):
            find_member(session, "#999")


def test_roles_are_scoped_rightly(database) -> None:
    with transaction(database) as session:
        m = member_for(session, "test", "x", "X")
        mobility = find_sector(session, "mobility")
        with pytest.raises(RoleError, match="name it"):
            grant(session, m, RoleName.CURATOR, None)
        with pytest.raises(RoleError, match="city-wide"):
            grant(session, m, RoleName.ADMIN, mobility)
        assert grant(session, m, RoleName.ADMIN, None) is True
        assert grant(session, m, RoleName.ADMIN, None) is False
        assert grant(session, m, RoleName.CURATOR, mobility) is True
        assert has_role(session, m, RoleName.CURATOR, mobility)
        assert not has_role(session, m, RoleName.CURATOR, find_sector(session, "energy"))
        assert revoke(session, m, RoleName.ADMIN, None) is True
        assert revoke(session, m, RoleName.ADMIN, None) is False
        assert has_role(session, m, RoleName.CURATOR, mobility)
