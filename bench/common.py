"""What the benchmarks share: the Polis input, throwaway databases and the printed provenance.

Every benchmark prints the machine and the exact command that made its figures, and runs on a
database it makes and removes itself (a SQLite file in a temp dir, or a fresh schema in a
PostgreSQL database), so figures can be reproduced and nothing is left behind.
"""

from __future__ import annotations

import csv
import os
import platform
import random
import shlex
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.database import open_engine

PROJECT = Path(__file__).resolve().parents[1]
POLIS = PROJECT.parent / "shared" / "data" / "polis"
SAMPLE_POLIS = PROJECT / "scheduled" / "sample_polis"  # same layout, shipped with Polder
ENV_URL = "POLDER_BENCH_DATABASE_URL"


# --- input -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    author: str  # platform user id, unique across conversations: "<conversation>:<author-id>"
    text: str

    @property
    def conversation(self) -> str:
        return self.author.split(":", 1)[0]


def polis_root() -> Path:
    """The shared Polis exports when they are there, else the sample that ships with Polder."""
    return POLIS if any(POLIS.glob("*/comments.csv")) else SAMPLE_POLIS


def load_statements(root: Path, seed: int) -> list[Statement]:
    """All Polis statements, shuffled so English and German conversations mix."""
    statements = []
    for path in sorted(root.glob("*/comments.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                body = row["comment-body"].strip()
                if body:
                    statements.append(Statement(f"{path.parent.name}:{row['author-id']}", body))
    if not statements:
        raise SystemExit(f"no Polis statements under {root}")
    random.Random(seed).shuffle(statements)
    return statements


# --- databases ---------------------------------------------------------------------------------


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="polder-bench-") as folder:
        yield f"sqlite:///{Path(folder) / 'polder.db'}"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    """A URL to a fresh schema in `base`'s database, dropped on the way out."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = open_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def server_version(database: DatabaseEngine) -> str:
    if database.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}, file in a temp dir"
    with database.connect() as conn:
        return f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar_one()}"


# --- provenance --------------------------------------------------------------------------------


def masked(arg: str) -> str:
    """A command-line argument with any database password hidden."""
    if "://" not in arg:
        return arg
    try:
        return make_url(arg).render_as_string(hide_password=True)
    except Exception:
        return arg


def command_line() -> str:
    """The command that is making the figures, as it was typed (passwords hidden)."""
    return shlex.join(masked(a) for a in sys.orig_argv)


def machine() -> str:
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}"
    )
