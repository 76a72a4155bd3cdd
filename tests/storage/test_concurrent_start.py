"""Several Polder processes starting at once on a new database: all come up, one schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from bot.sectors import DEFAULT_OBJECTIVES
from storage import migrate
from storage.database import open_engine, transaction
from storage.models import Sector


def test_processes_starting_together_migrate_once_and_seed_once(database_url, tmp_path) -> None:
    polder = Path(sys.executable).with_name("polder")
    env = {**os.environ, "POLDER_DATABASE_URL": database_url}
    starts = [
        subprocess.Popen(
            [str(polder), "db", "upgrade"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in starts]
    assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
    said = sorted(out.split(" (")[0] for _, out, _ in outcomes)
    head = migrate.head_revision()
    assert said == ["database is up to date"] * 2 + [f"database upgraded to {head}"]
    engine = open_engine(database_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        with transaction(engine) as session:
            slugs = sorted(s.slug for s in session.exec(select(Sector)))
        assert slugs == sorted(DEFAULT_OBJECTIVES)
    finally:
        engine.dispose()
