"""Shared fixtures: a fresh, migrated database per test.

SQLite by default (a real file); when POLDER_TEST_DATABASE_URL points at PostgreSQL, each test
gets its own schema in that database, dropped afterwards.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.engine import Engine
from bot.events import CommandIssued, MessagePosted
from bot.sectors import ensure_sectors
from storage import migrate
from storage.database import open_engine, transaction

PROJECT = Path(__file__).resolve().parents[1]
POLIS = PROJECT.parent / "shared" / "data" / "polis"


def on_postgres() -> bool:
    return bool(os.environ.get("POLDER_TEST_DATABASE_URL"))


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    base = os.environ.get("POLDER_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'polder.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def bare_database(database_url: str) -> Iterator[DatabaseEngine]:
    """An empty database: no schema yet."""
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def database(bare_database: DatabaseEngine, settings: Settings) -> DatabaseEngine:
    """A migrated database with the default sectors, as `polder run` leaves it."""
    migrate.upgrade(bare_database)
    with transaction(bare_database) as session:
        ensure_sectors(session, settings.default_sectors)
    return bare_database


@pytest.fixture
def engine(database: DatabaseEngine, settings: Settings) -> Engine:
    return Engine(database, settings)


_keys = itertools.count(1)


class Chat:
    """Builds events as one member in one chat would send them (platform 'test')."""

    def __init__(self, user: str, chat: str | None = None, platform: str = "test") -> None:
        self.user = user
        self.chat = chat or user
        self.platform = platform

    def _common(self, key: str | None) -> dict[str, object]:
        return dict(
            key=key or f"{self.platform}:{next(_keys)}:{uuid.uuid4().hex[:8]}",
            platform=self.platform,
            user_id=self.user,
            user_name=self.user.capitalize(),
            chat_id=self.chat,
            private=self.chat == self.user,
        )

    def command(self, line: str, key: str | None = None) -> CommandIssued:
        name, _, rest = line.lstrip("/").partition(" ")
        return CommandIssued(command=name, argument_text=rest, **self._common(key))  # type: ignore[arg-type]

    def message(self, text: str, key: str | None = None) -> MessagePosted:
        return MessagePosted(text=text, **self._common(key))  # type: ignore[arg-type]


def reply_text(actions: list) -> str:
    return "\n".join(getattr(a, "text", "") for a in actions)


def onboarded(database: DatabaseEngine, *users: str, platform: str = "test") -> None:
    """Members who already answered (or skipped) the first-contact questions, so a test of
    something else sees only the replies it is about."""
    from bot.members import member_for
    from storage.types import utcnow

    with transaction(database) as session:
        for user in users:
            member = member_for(session, platform, user, user.capitalize())
            member.onboarded_at = utcnow()
            session.add(member)


POLDER = Path(sys.executable).with_name("polder")
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def polder(database_url: str, tmp_path: Path) -> Run:
    """Runs the installed `polder` script on the test's database, in an empty folder: `stdin`
    is what is typed (nothing by default), keywords are more environment variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
    base["POLDER_DATABASE_URL"] = database_url

    def run(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(POLDER), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**base, **env},
            timeout=120,
        )

    return run
