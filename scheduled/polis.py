"""Import a Polis export (compdemocracy.org/polis) as a sector's dialogue, and build a demo city
from several of them.

A Polis export is a folder with `comments.csv`, `votes.csv`, `participants-votes.csv` and
`summary.csv`. The conversation becomes one thread (its topic); each statement not moderated
out becomes a message of its author (an imported member with the identity
`polis:<conversation>:<author-id>`) at its original time, with its agree / disagree / pass
tally (the latest vote of each voter) in `statement_votes`. Messages are keyed
`polis:<conversation>:<comment-id>`, so a second import adds nothing (tallies are refreshed).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from sqlmodel import Session, col, select

from bot.language import detect
from storage.models import (
    DialogueThread,
    Identity,
    Member,
    Membership,
    Message,
    Sector,
    StatementVote,
    ThreadStatus,
)

PLATFORM = "polis"
MODERATED_OUT = -1
# The columns each file must have (summary.csv has no header: key,value rows, with a topic).
COLUMNS = {
    "comments.csv": ("timestamp", "comment-id", "author-id", "moderated", "comment-body"),
    "votes.csv": ("timestamp", "comment-id", "voter-id", "vote"),
    "participants-votes.csv": ("participant", "group-id", "n-comments", "n-votes"),
}
SUMMARY = "summary.csv"
EXTRA = "\x00extra"  # where csv puts the fields of a row beyond the header's
SAMPLE = Path(__file__).with_name("sample_polis")
ATTRIBUTION = (
    "Data gathered using the Polis software (compdemocracy.org/polis), sub-licensed under "
    "CC BY 4.0 with Attribution to The Computational Democracy Project."
)
MAX_QUESTION = 2000


class PolisFormatError(ValueError):
    """The folder is not a Polis export; the message names the file and what is missing."""


@dataclass(frozen=True)
class Statement:
    """One comment of the export."""

    comment_id: str
    author_id: str
    text: str
    at: datetime
    moderated: int


@dataclass(frozen=True)
class Tally:
    agrees: int = 0
    disagrees: int = 0
    passes: int = 0


@dataclass
class PolisExport:
    """A Polis export as read from its folder."""

    folder: Path
    conversation: str
    topic: str
    description: str
    statements: list[Statement]
    tallies: dict[str, Tally]

    @property
    def kept(self) -> list[Statement]:
        """The statements that were not moderated out, oldest first."""
        shown = [s for s in self.statements if s.moderated != MODERATED_OUT]
        return sorted(shown, key=lambda s: (s.at, _number(s.comment_id)))


@dataclass
class ImportResult:
    """What one import did: rows added, and what was already there."""

    sector: str
    thread_id: int
    statements: int = 0  # statements kept (not moderated out)
    moderated_out: int = 0
    messages_added: int = 0
    members_added: int = 0
    tallies_written: int = 0
    already_there: int = 0
    languages: Counter[str] = field(default_factory=Counter)


def _number(value: str) -> int:
    return int(value) if value.lstrip("-").isdigit() else 0


Row = tuple[int, dict[str, str]]  # a CSV row with the line it starts on


def _lines(path: Path) -> Iterator[str]:
    """The file's lines as text, failing on the first that is not UTF-8, by its number."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PolisFormatError(
                    f"{path}, line {number}: not UTF-8 text (byte {exc.start + 1} of the line)"
                ) from exc
            yield line.removeprefix("\ufeff") if number == 1 else line


def _rows(path: Path, required: Iterable[str]) -> list[Row]:
    """The rows of a CSV file with their line numbers, after checking it has the required
    columns and every row has as many fields as the header."""
    reader = csv.DictReader(_lines(path), restkey=EXTRA)
    try:
        header = reader.fieldnames or []
        missing = [name for name in required if name not in header]
        if missing:
            raise PolisFormatError(
                f"{path} is not a Polis export file: missing columns {', '.join(missing)}"
            )
        rows = []
        start = reader.line_num + 1
        for row in reader:
            if EXTRA in row or None in row.values():
                fields = (
                    len(header) + len(row.get(EXTRA, [])) - sum(v is None for v in row.values())
                )
                raise PolisFormatError(
                    f"{path}, line {start}: {fields} fields where the header has {len(header)}"
                )
            rows.append((start, row))
            start = reader.line_num + 1
        return rows
    except csv.Error as exc:
        raise PolisFormatError(f"{path}, line {reader.line_num}: {exc}") from exc


def _integer(path: Path, line: int, row: dict[str, str], column: str, empty: int = 0) -> int:
    value = (row[column] or "").strip()
    if not value:
        return empty
    try:
        return int(value)
    except ValueError:
        raise PolisFormatError(
            f"{path}, line {line}: {column} is {value!r}, not a whole number"
        ) from None


def check_folder(folder: Path) -> None:
    """Raise PolisFormatError unless `folder` has the four files of a Polis export."""
    if not folder.is_dir():
        raise PolisFormatError(f"{folder} is not a folder")
    names = [*COLUMNS, SUMMARY]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise PolisFormatError(
            f"{folder} is not a Polis export: missing {', '.join(missing)} "
            f"(an export has {', '.join(names)})"
        )


def read_summary(path: Path) -> dict[str, str]:
    """summary.csv's key,value rows; it must name the topic."""
    try:
        summary = {row[0]: row[1] for row in csv.reader(_lines(path)) if len(row) >= 2}
    except csv.Error as exc:
        raise PolisFormatError(f"{path} cannot be read as CSV: {exc}") from exc
    if not summary.get("topic", "").strip():
        raise PolisFormatError(f"{path} is not a Polis summary: it has no 'topic,...' row")
    return summary


def conversation_id(summary: dict[str, str], folder: Path) -> str:
    """The conversation's Polis id (the end of its url), else the folder's name."""
    url = summary.get("url", "").rstrip("/")
    tail = url.rsplit("/", 1)[-1] if url else ""
    return (tail if re.fullmatch(r"[\w.-]{1,40}", tail) else folder.name)[:40]


def latest_tallies(path: Path) -> dict[str, Tally]:
    """Agree / disagree / pass per comment id: the latest vote of each voter counts."""
    latest: dict[tuple[str, str], tuple[int, int]] = {}
    for line, row in _rows(path, COLUMNS["votes.csv"]):
        key = (row["comment-id"], row["voter-id"])
        when = _integer(path, line, row, "timestamp")
        vote = _integer(path, line, row, "vote")
        if key not in latest or when >= latest[key][0]:
            latest[key] = (when, vote)
    counts: dict[str, list[int]] = {}
    for (comment, _voter), (_when, vote) in latest.items():
        tally = counts.setdefault(comment, [0, 0, 0])
        tally[0 if vote > 0 else 1 if vote < 0 else 2] += 1
    return {comment: Tally(*numbers) for comment, numbers in counts.items()}


def read_export(folder: Path) -> PolisExport:
    """Read and check a Polis export folder."""
    check_folder(folder)
    summary = read_summary(folder / SUMMARY)
    _rows(folder / "participants-votes.csv", COLUMNS["participants-votes.csv"])
    statements = []
    comments = folder / "comments.csv"
    for line, row in _rows(comments, COLUMNS["comments.csv"]):
        stamp = _integer(comments, line, row, "timestamp", empty=-1)
        if stamp < 0:
            raise PolisFormatError(f"{comments}, line {line}: the timestamp is missing")
        at = datetime.fromtimestamp(stamp / 1000, UTC)
        moderated = _integer(comments, line, row, "moderated")
        statements.append(
            Statement(
                comment_id=row["comment-id"].strip(),
                author_id=row["author-id"].strip(),
                text=(row["comment-body"] or "").strip(),
                at=at,
                moderated=moderated,
            )
        )
    tallies = latest_tallies(folder / "votes.csv")
    return PolisExport(
        folder=folder,
        conversation=conversation_id(summary, folder),
        topic=summary["topic"].strip(),
        description=summary.get("conversation-description", "").strip(),
        statements=statements,
        tallies=tallies,
    )


def statement_language(text: str, fallback: str | None) -> str | None:
    """A confident detection, else the conversation's usual language."""
    found = detect(text)
    return found.language if found is not None and found.confident else fallback


def _thread(session: Session, sector: Sector, export: PolisExport, keys: set[str]) -> int | None:
    """The thread an earlier import of this conversation made, if any."""
    if keys:
        found = session.exec(
            select(Message.thread_id).where(
                col(Message.platform_message_id).in_(list(keys)), Message.sector_id == sector.id
            )
        ).first()
        if found is not None:
            return found
    return session.exec(
        select(DialogueThread.id).where(
            DialogueThread.sector_id == sector.id, DialogueThread.question == question(export)
        )
    ).first()


def question(export: PolisExport) -> str:
    """The thread's question: the conversation's topic."""
    return export.topic[:MAX_QUESTION]


def import_export(
    session: Session,
    sector: Sector,
    export: PolisExport,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `export` into `sector` (idempotent); `progress(n)` after every n statements."""
    assert sector.id is not None
    kept = export.kept
    prefix = f"{PLATFORM}:{export.conversation}:"
    keys = {prefix + s.comment_id: s for s in kept}
    existing = dict(
        session.exec(
            select(Message.platform_message_id, Message.id).where(
                Message.platform == PLATFORM,
                col(Message.platform_message_id).startswith(prefix, autoescape=True),
            )
        ).all()
    )
    guess = Counter(
        d.language for s in kept[:30] if (d := detect(s.text)) is not None and d.confident
    ).most_common(1)
    usual = guess[0][0] if guess else None
    thread_id = _thread(session, sector, export, set(existing) & set(keys))
    if thread_id is None:
        first = kept[0].at if kept else None
        thread = DialogueThread(
            sector_id=sector.id,
            question=question(export),
            status=ThreadStatus.CLOSED,
            language=usual or "en",
        )
        if first is not None:
            thread.opened_at, thread.closed_at = first, kept[-1].at
        session.add(thread)
        session.flush()
        assert thread.id is not None
        thread_id = thread.id
    result = ImportResult(
        sector=sector.slug,
        thread_id=thread_id,
        statements=len(kept),
        moderated_out=len(export.statements) - len(kept),
    )
    members = _members(session, sector, export, kept, result)
    added: dict[str, Message] = {}
    for statement in kept:
        key = prefix + statement.comment_id
        if key in existing:
            result.already_there += 1
        else:
            language = statement_language(statement.text, usual)
            message = Message(
                platform=PLATFORM,
                sector_id=sector.id,
                member_id=members[statement.author_id],
                thread_id=thread_id,
                text=statement.text,
                language=language,
                created_at=statement.at,
                platform_message_id=key,
            )
            session.add(message)
            added[key] = message
            result.languages[language or "unknown"] += 1
        if progress is not None:
            progress(1)
    session.flush()
    result.messages_added = len(added)
    ids = {**existing, **{key: m.id for key, m in added.items()}}
    _write_tallies(session, export, keys, ids, result)
    return result


def _members(
    session: Session,
    sector: Sector,
    export: PolisExport,
    kept: list[Statement],
    result: ImportResult,
) -> dict[str, int]:
    """member id per author id: existing imported members, or new ones (with a membership
    from their first statement's time)."""
    first: dict[str, datetime] = {}
    for statement in kept:
        first.setdefault(statement.author_id, statement.at)
    prefix = f"{export.conversation}:"
    known = dict(
        session.exec(
            select(Identity.platform_user_id, Identity.member_id).where(
                Identity.platform == PLATFORM,
                col(Identity.platform_user_id).startswith(prefix, autoescape=True),
            )
        ).all()
    )
    members: dict[str, int] = {}
    for author, since in first.items():
        member_id = known.get(prefix + author)
        if member_id is None:
            member = Member(display_name=f"Polis participant {author}", created_at=since)
            session.add(member)
            session.flush()
            assert member.id is not None
            member_id = member.id
            session.add(
                Identity(member_id=member_id, platform=PLATFORM, platform_user_id=prefix + author)
            )
            result.members_added += 1
        members[author] = member_id
    joined = set(
        session.exec(
            select(Membership.member_id).where(
                Membership.sector_id == sector.id,
                col(Membership.member_id).in_(list(members.values())),
            )
        ).all()
    )
    for author, member_id in members.items():
        if member_id not in joined:
            session.add(
                Membership(member_id=member_id, sector_id=sector.id, joined_at=first[author])
            )
    session.flush()
    return members


def _write_tallies(
    session: Session,
    export: PolisExport,
    keys: dict[str, Statement],
    ids: dict[str, int | None],
    result: ImportResult,
) -> None:
    """Write (or refresh) each imported statement's tally."""
    message_ids = [i for i in ids.values() if i is not None]
    stored = {
        v.message_id: v
        for v in session.exec(
            select(StatementVote).where(col(StatementVote.message_id).in_(message_ids))
        ).all()
    }
    for key, statement in keys.items():
        message_id = ids.get(key)
        if message_id is None:
            continue
        tally = export.tallies.get(statement.comment_id, Tally())
        row = stored.get(message_id) or StatementVote(message_id=message_id)
        if (row.agrees, row.disagrees, row.passes) != (
            tally.agrees,
            tally.disagrees,
            tally.passes,
        ) or message_id not in stored:
            row.agrees, row.disagrees, row.passes = tally.agrees, tally.disagrees, tally.passes
            session.add(row)
            result.tallies_written += 1
    session.flush()


# --- the demo city -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSector:
    slug: str
    name: str
    objective: str


# The eight conversations of ../shared/data/polis/, as sectors of a demo city.
DEMO_SECTORS = {
    "austria-climate.5twd2jsnkf.2022-08-08": DemoSector(
        "climate", "Climate", "Production and consumption on the way to climate neutrality"
    ),
    "scoop-hivemind.affordable-housing": DemoSector(
        "affordable-housing", "Affordable housing", "How to make housing affordable"
    ),
    "scoop-hivemind.biodiversity": DemoSector(
        "biodiversity", "Biodiversity", "Protecting and restoring biodiversity"
    ),
    "scoop-hivemind.freshwater": DemoSector("water", "Water", "Freshwater quality"),
    "scoop-hivemind.ubi": DemoSector("income", "Income", "A universal basic income?"),
    "brexit-consensus": DemoSector("brexit", "Brexit", "Is there consensus on Brexit?"),
    "15-per-hour-seattle": DemoSector("wages", "Wages", "How a $15 minimum wage affects the city"),
    "canadian-electoral-reform": DemoSector(
        "electoral-reform", "Electoral reform", "How elections should work"
    ),
    "city-cycling": DemoSector("cycling", "Cycling", "Safer, easier cycling across the city"),
}


def demo_sector(folder: Path, topic: str) -> DemoSector:
    """The sector a conversation folder becomes: a known one, else a slug from its name."""
    known = DEMO_SECTORS.get(folder.name)
    if known is not None:
        return known
    slug = re.sub(r"[^a-z0-9]+", "-", folder.name.lower()).strip("-")[:40].strip("-") or "polis"
    return DemoSector(slug, topic[:100], topic)


def export_folders(root: Path) -> list[Path]:
    """The Polis export folders directly under `root` (or `root` itself when it is one)."""
    if (root / "comments.csv").is_file():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "comments.csv").is_file())


def default_source(project: Path | None = None) -> Path:
    """`../shared/data/polis/` next to the working folder or the project, else the sample."""
    candidates = [Path.cwd().parent / "shared" / "data" / "polis"]
    if project is not None:
        candidates.append(project.parent / "shared" / "data" / "polis")
    for candidate in candidates:
        if candidate.is_dir() and export_folders(candidate):
            return candidate
    return SAMPLE


def busiest_week(session: Session, sector: Sector, zone: tzinfo) -> str | None:
    """The ISO week with most of the sector's messages (the latest of equals), or None."""
    from scheduled.digest import week_of

    times = session.exec(select(Message.created_at).where(Message.sector_id == sector.id)).all()
    weeks = Counter(week_of(at, zone) for at in times)
    if not weeks:
        return None
    return max(weeks, key=lambda week: (weeks[week], week))
