"""Importing Polis exports (`polder import polis`) and the demo city (`polder demo`)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import func
from sqlmodel import col, select

from bot.sectors import find_sector
from scheduled.polis import SAMPLE, import_export, read_export
from storage.database import transaction
from storage.models import (
    DialogueThread,
    Identity,
    Member,
    Membership,
    Message,
    StatementVote,
)
from tests.scheduled.conftest import POLDER

POLIS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "polis"
BREXIT = POLIS / "brexit-consensus"
CYCLING = SAMPLE / "city-cycling"
needs_brexit = pytest.mark.skipif(not BREXIT.is_dir(), reason="no ../shared/data/polis here")


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def counts(database: DatabaseEngine, slug: str) -> dict[str, int]:
    """How many rows the import touches, for the sector `slug`."""
    with transaction(database) as session:
        sector = find_sector(session, slug)
        assert sector is not None

        def count(query: object) -> int:
            return int(session.exec(query).one())  # type: ignore[call-overload]

        return {
            "messages": count(
                select(func.count()).select_from(Message).where(Message.sector_id == sector.id)
            ),
            "threads": count(
                select(func.count())
                .select_from(DialogueThread)
                .where(DialogueThread.sector_id == sector.id)
            ),
            "members": count(select(func.count()).select_from(Member)),
            "identities": count(
                select(func.count()).select_from(Identity).where(Identity.platform == "polis")
            ),
            "memberships": count(
                select(func.count())
                .select_from(Membership)
                .where(Membership.sector_id == sector.id)
            ),
            "tallies": count(select(func.count()).select_from(StatementVote)),
        }


def import_into(database: DatabaseEngine, folder: Path, slug: str) -> None:
    export = read_export(folder)
    with transaction(database) as session:
        sector = find_sector(session, slug)
        assert sector is not None
        import_export(session, sector, export)


def hand_count(votes: list[dict[str, str]], comment: str) -> tuple[int, int, int]:
    """Agree, disagree, pass of one comment: each voter's latest vote, counted by hand."""
    latest: dict[str, tuple[int, int]] = {}
    for row in votes:
        if row["comment-id"] != comment:
            continue
        when = int(row["timestamp"])
        if row["voter-id"] not in latest or when >= latest[row["voter-id"]][0]:
            latest[row["voter-id"]] = (when, int(row["vote"]))
    values = [vote for _when, vote in latest.values()]
    return values.count(1), values.count(-1), values.count(0)


@needs_brexit
def test_a_real_conversation_becomes_one_thread_of_the_sector(database: DatabaseEngine) -> None:
    import_into(database, BREXIT, "energy")
    comments = csv_rows(BREXIT / "comments.csv")
    kept = [row for row in comments if row["moderated"] != "-1"]
    found = counts(database, "energy")
    assert found["messages"] == len(kept)
    assert found["threads"] == 1
    assert found["members"] == found["identities"] == len({row["author-id"] for row in kept})
    assert found["memberships"] == found["members"]
    assert found["tallies"] == len(kept)

    with transaction(database) as session:
        thread = session.exec(select(DialogueThread)).one()
        assert thread.question == "Can there be consensus on Brexit?"
        stored = {
            m.platform_message_id: m
            for m in session.exec(select(Message).where(Message.thread_id == thread.id)).all()
        }
        assert len(stored) == len(kept)
        for row in kept:
            message = stored[f"polis:7wmvbjcjhp:{row['comment-id']}"]
            assert message.text == row["comment-body"].strip()
            assert message.created_at == datetime.fromtimestamp(int(row["timestamp"]) / 1000, UTC)
        assert {m.language for m in stored.values()} <= {"en", None}
        authors = session.exec(
            select(func.count(func.distinct(Message.member_id))).where(
                Message.thread_id == thread.id
            )
        ).one()
        assert authors == len({row["author-id"] for row in kept})

        votes = csv_rows(BREXIT / "votes.csv")
        for comment in ("0", "36"):
            message = stored[f"polis:7wmvbjcjhp:{comment}"]
            tally = session.get(StatementVote, message.id)
            assert tally is not None
            assert (tally.agrees, tally.disagrees, tally.passes) == hand_count(votes, comment)


@needs_brexit
def test_importing_twice_adds_nothing(database: DatabaseEngine) -> None:
    import_into(database, BREXIT, "energy")
    once = counts(database, "energy")
    import_into(database, BREXIT, "energy")
    assert counts(database, "energy") == once


def test_moderated_out_statements_are_left_out(database: DatabaseEngine) -> None:
    import_into(database, CYCLING, "mobility")
    comments = csv_rows(CYCLING / "comments.csv")
    out = [row for row in comments if row["moderated"] == "-1"]
    assert out, "the sample has a moderated-out statement"
    with transaction(database) as session:
        texts = set(session.exec(select(Message.text).where(col(Message.text).is_not(None))))
    assert len(texts) == len(comments) - len(out)
    assert not {row["comment-body"] for row in out} & texts


def test_a_changed_vote_counts_once(database: DatabaseEngine) -> None:
    votes = csv_rows(CYCLING / "votes.csv")
    pairs = [(row["comment-id"], row["voter-id"]) for row in votes]
    changed = next(pair for pair in pairs if pairs.count(pair) > 1)
    import_into(database, CYCLING, "mobility")
    with transaction(database) as session:
        message = session.exec(
            select(Message).where(Message.platform_message_id == f"polis:city-cycling:{changed[0]}")
        ).one()
        tally = session.get(StatementVote, message.id)
    assert tally is not None
    assert (tally.agrees, tally.disagrees, tally.passes) == hand_count(votes, changed[0])


def polder(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(POLDER), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_command_imports_and_says_what_it_did(
    database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    first = polder(polder_env, tmp_path, "import", "polis", str(CYCLING), "--sector", "mobility")
    assert first.returncode == 0, first.stderr
    assert "20 statements added" in first.stdout
    assert "1 moderated out left out" in first.stdout
    again = polder(polder_env, tmp_path, "import", "polis", str(CYCLING), "--sector", "mobility")
    assert again.returncode == 0, again.stderr
    assert "0 statements added, 20 already there" in again.stdout
    assert "0 members added" in again.stdout
    assert counts(database, "mobility")["messages"] == 20


def test_a_folder_without_votes_is_refused(
    database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(CYCLING, folder)
    (folder / "votes.csv").unlink()
    done = polder(polder_env, tmp_path, "import", "polis", str(folder), "--sector", "mobility")
    assert done.returncode == 2
    assert "missing votes.csv" in done.stderr
    assert "Traceback" not in done.stderr
    assert counts(database, "mobility")["messages"] == 0


def test_wrong_columns_are_named(
    database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    shutil.copytree(CYCLING, folder)
    lines = (folder / "comments.csv").read_text().splitlines()
    lines[0] = "timestamp,datetime,id,author,agrees,disagrees,moderated,comment-body"
    (folder / "comments.csv").write_text("\n".join(lines) + "\n")
    done = polder(polder_env, tmp_path, "import", "polis", str(folder), "--sector", "mobility")
    assert done.returncode == 2
    assert "comments.csv" in done.stderr
    assert "missing columns comment-id, author-id" in done.stderr


def test_demo_writes_each_sectors_digest(
    database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    done = polder(polder_env, tmp_path, "demo", "--out", str(out), "--polis", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    pages = sorted(out.glob("*.html"))
    assert [p.name for p in pages] == ["cycling-2026-W41.html"]
    assert str(pages[0]) in done.stdout
    html = pages[0].read_text()
    assert "Cycling in our city" in html
    assert "invented statements" in done.stdout
    again = polder(polder_env, tmp_path, "demo", "--out", str(out), "--polis", str(SAMPLE))
    assert again.returncode == 0, again.stderr
    assert counts(database, "cycling")["messages"] == 20


@needs_brexit
def test_demo_uses_the_shared_conversations(
    database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    done = polder(polder_env, tmp_path, "demo", "--out", str(out))
    assert done.returncode == 0, done.stderr
    slugs = {page.name.rsplit("-", 2)[0] for page in out.glob("*.html")}
    assert slugs == {
        "climate",
        "affordable-housing",
        "biodiversity",
        "water",
        "income",
        "brexit",
        "wages",
        "electoral-reform",
    }
    assert "Attribution to The Computational Democracy Project" in done.stdout
