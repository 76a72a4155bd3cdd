"""Upgrading keeps what members already had: rows written under an older schema survive."""

from __future__ import annotations

from sqlalchemy import text

from storage import migrate
from storage.database import transaction


def test_members_written_before_0002_survive_it_with_defaults(bare_database) -> None:
    migrate.upgrade(bare_database, "0001")
    with transaction(bare_database) as session:
        session.connection().execute(
            text(
                "INSERT INTO members (display_name, language, consent_contact, consent_named, "
                "consent_export, created_at) VALUES ('Eeva', 'fi', true, false, false, "
                "'2026-01-05 09:00:00+00:00')"
            )
        )
    applied = migrate.upgrade(bare_database)
    assert applied and applied[0] == "0002"
    with transaction(bare_database) as session:
        row = (
            session.connection()
            .execute(
                text(
                    "SELECT display_name, language, language_source, recent_languages, "
                    "onboarded_at, consent_contact FROM members"
                )
            )
            .one()
        )
    assert tuple(row) == ("Eeva", "fi", None, "", None, True)
