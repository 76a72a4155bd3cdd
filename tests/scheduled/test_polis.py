"""Importing Polis exports (`polder import polis`) and the demo city (`polder demo`)."""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy import func
from sqlmodel import col, select

from bot.language import detect
from bot.sectors import find_sector
from scheduled.polis import SAMPLE, PolisFormatError, import_export, read_export
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


def broken_copy(tmp_path: Path, name: str, line: int, change: Callable[[bytes], bytes]) -> Path:
    """The sample export with line `line` (1-based) of `name` changed."""
    folder = tmp_path / "export"
    shutil.copytree(CYCLING, folder)
    lines = (folder / name).read_bytes().splitlines(keepends=True)
    lines[line - 1] = change(lines[line - 1])
    (folder / name).write_bytes(b"".join(lines))
    return folder


@pytest.mark.parametrize(
    ("name", "line", "change", "said"),
    [
        ("votes.csv", 3, lambda b: b.rsplit(b",", 1)[0] + b",yes\n", "vote is 'yes'"),
        (
            "comments.csv",
            2,
            lambda b: b.rstrip() + b",surplus\n",
            "9 fields where the header has 8",
        ),
        ("comments.csv", 4, lambda b: b.rstrip() + b" \xff\n", "not UTF-8 text"),
        ("comments.csv", 5, lambda b: b"," + b.split(b",", 1)[1], "the timestamp is missing"),
        ("votes.csv", 7, lambda b: b.split(b",")[0] + b"\n", "1 fields where the header has 5"),
    ],
)
def test_a_broken_csv_is_named_by_file_and_line(
    tmp_path: Path, name: str, line: int, change: Callable[[bytes], bytes], said: str
) -> None:
    folder = broken_copy(tmp_path, name, line, change)
    with pytest.raises(PolisFormatError) as raised:
        read_export(folder)
    assert str(raised.value).startswith(f"{folder / name}, line {line}: ")
    assert said in str(raised.value)


def test_lines_are_counted_in_the_file_even_across_a_statement_of_several_lines(
    tmp_path: Path,
) -> None:
    """A quoted statement spanning two lines: the broken row after it is still on line 5."""
    folder = broken_copy(tmp_path, "comments.csv", 2, lambda b: b.rstrip() + b"\n")
    path = folder / "comments.csv"
    lines = path.read_text().splitlines(keepends=True)
    head, body = lines[2].rsplit(",", 1)
    lines[2] = f'{head},"{body.strip()}\nand a second line."\n'
    lines[3] = "soon," + lines[3].split(",", 1)[1]
    path.write_text("".join(lines))
    with pytest.raises(PolisFormatError, match=r"comments.csv, line 5: timestamp is 'soon'"):
        read_export(folder)


def test_the_command_names_the_broken_line_and_imports_nothing(
    database: DatabaseEngine, polder_env: dict[str, str], tmp_path: Path
) -> None:
    folder = broken_copy(tmp_path, "votes.csv", 3, lambda b: b.rsplit(b",", 1)[0] + b",yes\n")
    done = polder(polder_env, tmp_path, "import", "polis", str(folder), "--sector", "mobility")
    assert done.returncode == 2
    assert f"{folder / 'votes.csv'}, line 3: vote is 'yes', not a whole number" in done.stderr
    assert "Traceback" not in done.stderr
    assert counts(database, "mobility")["messages"] == 0


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
    german = next(out.glob("climate-*.html")).read_text()  # the Klimarat conversation
    assert "Messages by language: Deutsch (de):" in german
    quotes = re.findall(r"<blockquote><p>(.*?)</p>", german)
    assert len(quotes) == 3 and all(
        getattr(detect(html.unescape(q)), "language", None) == "de" for q in quotes
    )
    images = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', german)
    assert len(images) == 4 and "Deutsch (de)" in images[2]
