"""The `polder` command as an administrator runs it: the installed script, in a subprocess."""

from __future__ import annotations

import subprocess

import pytest
from sqlmodel import select

from bot import __version__
from bot.sectors import DEFAULT_OBJECTIVES
from storage import migrate
from storage.database import open_engine, transaction
from storage.models import Member
from tests.conftest import Run


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str]) -> str:
    """The error text of a command that must fail as a user error: exit 2, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("polder: ")
    return result.stderr


def test_version(polder: Run) -> None:
    assert ok(polder("--version")).strip() == f"polder {__version__}"


def test_an_added_sector_is_listed_with_its_objective(polder: Run) -> None:
    objective = "Affordable, healthy homes: co-design renovation with the people who live there."
    assert ok(polder("sectors", "add", "housing", "--objective", objective)) == (
        "added sector housing (Housing)\n"
    )
    listed = ok(polder("sectors", "list")).splitlines()
    assert f"housing\tHousing\t{objective}" in listed
    for slug, default_objective in DEFAULT_OBJECTIVES.items():
        assert any(
            line.startswith(f"{slug}\t") and line.endswith(f"\t{default_objective}")
            for line in listed
        ), listed


def test_a_bad_or_taken_sector_slug_is_refused(polder: Run) -> None:
    error = refused(polder("sectors", "add", "Bad Sector"))
    assert "not a sector slug" in error
    assert "lowercase letters, digits and hyphens" in error

    assert "exists already" in refused(polder("sectors", "add", "mobility"))
    listed = ok(polder("sectors", "list"))
    assert "bad" not in listed.lower()
    assert listed.count("mobility\t") == 1


def test_grant_list_and_revoke_a_role_granted_ahead_of_time(polder: Run) -> None:
    assert ok(polder("roles", "list")) == ""

    granted = ok(polder("roles", "grant", "console:alice", "curator", "--sector", "mobility"))
    assert granted.startswith("alice (#") and granted.endswith(" is now curator of mobility\n")
    again = ok(polder("roles", "grant", "console:alice", "curator", "--sector", "mobility"))
    assert again.endswith(" already was curator of mobility\n")

    listed = ok(polder("roles", "list")).splitlines()
    assert len(listed) == 1
    role, sector, member, accounts = listed[0].split("\t")
    assert (role, sector, accounts) == ("curator", "mobility", "console:alice")
    assert member.endswith(" alice")

    # Once granted, the plain display name finds her too.
    revoked = ok(polder("roles", "revoke", "alice", "curator", "--sector", "mobility"))
    assert revoked.endswith(" is no longer curator of mobility\n")
    assert ok(polder("roles", "list")) == ""


def test_wrong_role_grants_are_refused_with_a_reason(polder: Run, database_url: str) -> None:
    nobody = refused(polder("roles", "grant", "nobody", "admin"))
    assert "no member is called 'nobody'" in nobody
    assert "console:alice" in nobody  # says how to grant ahead of time

    assert "a curator curates one sector" in refused(
        polder("roles", "grant", "console:alice", "curator")
    )
    assert "city-wide role" in refused(
        polder("roles", "grant", "console:alice", "staff", "--sector", "energy")
    )
    unknown = refused(polder("roles", "grant", "console:alice", "wizard"))
    assert "unknown role 'wizard'" in unknown
    assert "admin, staff, curator" in unknown

    # Nothing of the refused grants was kept: no roles, and no member alice half-created.
    assert ok(polder("roles", "list")) == ""
    engine = open_engine(database_url)
    try:
        with transaction(engine) as session:
            assert session.exec(select(Member)).all() == []
    finally:
        engine.dispose()


def test_db_upgrade_then_up_to_date_and_current(polder: Run) -> None:
    head = migrate.head_revision()
    assert head
    assert ok(polder("db", "current")) == f"database: empty; polder: {head}\n"
    upgraded = ok(polder("db", "upgrade"))
    assert upgraded.startswith(f"database upgraded to {head}"), upgraded
    assert head in upgraded.partition("(applied ")[2]
    assert ok(polder("db", "upgrade")) == f"database is up to date (revision {head})\n"
    assert ok(polder("db", "current")) == f"database: {head}; polder: {head}\n"


def test_a_wrong_setting_is_named_without_a_traceback(polder: Run) -> None:
    result = polder("sectors", "list", POLDER_TIMEZONE="Mars/Base")
    error = refused(result)
    assert "POLDER_TIMEZONE" in error and "Mars/Base" in error
    assert "IANA time zone" in error
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("url", "reason"),
    [("mysql://x", "unsupported database 'mysql'"), ("nonsense", "is not a database URL")],
)
def test_an_unusable_database_url_is_named(polder: Run, url: str, reason: str) -> None:
    error = refused(polder("sectors", "list", POLDER_DATABASE_URL=url))
    assert "POLDER_DATABASE_URL" in error
    assert reason in error
