"""A sector's digest for a period as plain data: what was said and by whom (by name only with
consent), what was decided, what moved and what is still waiting for an answer.

Data first, so every rendering (Markdown and HTML here; Slack, Telegram and charts later) shows
the same facts. Counts are SQL aggregates over `ix_messages_sector_created`; the period's
messages are read once, with their authors, and threads, themes and unanswered questions are
worked out from that one read, linear in the messages and never one query per message.

Who is shown: a member's display name only when `members.consent_named` is on; anyone else as
their actor type ("resident"), or "a member" when they gave none. Texts erased by retention
(NULL) still count as messages but are never quoted, mined for themes or listed; so do messages
a curator hid, which are read without their text and answer no question.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from itertools import pairwise
from typing import Any, TypeVar

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from bot.i18n import N_
from bot.polls import tally
from bot.profile import ACTOR_LABELS
from bot.similarity import TextIndex, words
from storage.models import (
    ActorType,
    DialogueThread,
    Idea,
    IdeaChange,
    Member,
    Membership,
    Message,
    Poll,
    PollVote,
    Sector,
    StatementVote,
)

T = TypeVar("T")
ACTIVITY_WEEKS = 8  # how far back the participation charts look
REPRESENTATIVE = 3  # quotes per thread
REPEATED = 0.8  # a quote this similar (cosine) to one already picked repeats it: passed over
THEMES = 3  # key phrases per thread
AGREED = 3  # statements most agreed with, per thread (imported Polis votes)
MIN_VOTES = 5  # agree + disagree votes a statement needs before its agreement is shown
# A thread's quotes and themes are picked from at most this many of its replies, spread evenly
# over the week, and the sector's phrase rarities from at most PHRASE_SAMPLE of its messages:
# a busier thread's centre hardly moves, and its cost (time and memory) stops growing.
THREAD_SAMPLE = 2000
PHRASE_SAMPLE = 20000
UNKNOWN = "unknown"  # the by_actor_type / by_language key of members and messages without one
A_MEMBER = N_("a member")  # who a member is when they are not named and gave no actor type
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
QUESTION_MARKS = ("?", "？", "¿")  # ASCII, full-width (CJK) and Spanish opening marks


# --- the value ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """Something a member said, with the author as the digest may show them.

    `who` is the display name when `named` (the member consented), else an English label
    (an actor type, or "a member") that renderers pass through the catalogs.
    """

    text: str
    who: str
    named: bool = False


@dataclass(frozen=True)
class Agreement:
    """A statement with the votes it drew (a Polis comment's agree / disagree / pass)."""

    quote: Quote
    agrees: int
    disagrees: int
    passes: int

    @property
    def share(self) -> int:
        """Percent agreeing, of those who agreed or disagreed."""
        decided = self.agrees + self.disagrees
        return round(100 * self.agrees / decided) if decided else 0


@dataclass(frozen=True)
class ThreadDigest:
    """A thread that had replies in the period; counts are of the period's replies only."""

    id: int
    question: str
    replies: int
    participants: int
    named: list[str]  # the participants who consented to be named, by display name
    representative: list[Quote]
    themes: list[str]
    agreed: list[Agreement] = field(default_factory=list)  # most agreed with, where voted on


@dataclass(frozen=True)
class PollDigest:
    """A poll closed in the period, with its final tally."""

    id: int
    question: str
    options: list[str]
    counts: list[int]
    voters: int
    closed_at: datetime


@dataclass(frozen=True)
class OpenPoll:
    """A poll still open at the end of the period."""

    id: int
    question: str
    closes_at: datetime
    voters: int


@dataclass(frozen=True)
class IdeaDigest:
    """An idea submitted in the period; `status` is an `IdeaStatus` value, as it is now."""

    code: str
    title: str
    status: str


@dataclass(frozen=True)
class IdeaStep:
    """A curator moved an idea along the pipeline (`IdeaStatus` values)."""

    code: str
    title: str
    status_from: str
    status_to: str
    note: str
    at: datetime


@dataclass(frozen=True)
class Unanswered:
    """A question nobody answered in the period: a thread without replies (`thread_id` set)
    or a member's message ending in a question mark."""

    question: Quote
    asked_at: datetime
    thread_id: int | None = None


@dataclass(frozen=True)
class Counts:
    """The headline numbers of one period.

    `by_actor_type`: active members per `ActorType` value; `by_language`: messages per
    language code; both with `UNKNOWN` for those without one.
    """

    messages: int
    active_members: int
    new_members: int
    by_actor_type: dict[str, int]
    by_language: dict[str, int]


@dataclass(frozen=True)
class Activity:
    """Participation in one stretch of time: a local day, or a week of seven of them."""

    label: str  # "2026-11-16" for a day, "2026-W47" for a week
    messages: int
    members: int


@dataclass(frozen=True)
class Digest:
    """Everything a digest of one sector and period says, ready for any rendering.

    The period is [start, end) in aware UTC; `first_day`/`last_day` are its local dates and
    `zone` the city's zone, which renderers show times in. `previous` holds the same counts
    for the period of equal length just before, and `change` the percentage change of
    messages, active_members and new_members (None when the previous period had none).
    """

    sector_slug: str
    sector_name: str
    objective: str
    start: datetime
    end: datetime
    label: str
    first_day: date
    last_day: date
    zone: tzinfo
    messages: int
    active_members: int
    new_members: int
    by_actor_type: dict[str, int]
    by_language: dict[str, int]
    previous: Counts
    change: dict[str, int | None]
    threads: list[ThreadDigest]
    polls_closed: list[PollDigest]
    polls_open: list[OpenPoll]
    ideas_new: list[IdeaDigest]
    idea_changes: list[IdeaStep]
    unanswered: list[Unanswered]
    # The ACTIVITY_WEEKS weeks that end with the period's last day, per day and per week.
    days: list[Activity]
    weeks: list[Activity]

    @property
    def timezone(self) -> str:
        """The zone's name as readers know it: "Europe/Amsterdam", or "UTC+01:00"."""
        return getattr(self.zone, "key", None) or str(self.zone)

    @property
    def counts(self) -> Counts:
        """This period's numbers in the shape of `previous`, for comparing the two."""
        return Counts(
            self.messages,
            self.active_members,
            self.new_members,
            self.by_actor_type,
            self.by_language,
        )


# --- weeks -------------------------------------------------------------------------------------


def week_bounds(week: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of an ISO week like "2026-W47": Monday 00:00 to the next Monday 00:00 in the
    city's zone, as UTC (a DST week is 167 or 169 hours long)."""
    match = WEEK.match(week.strip())
    if match is None:
        raise ValueError(f"{week!r} is not an ISO week such as 2026-W47")
    monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    start = datetime.combine(monday, time(), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def week_of(when: datetime, zone: tzinfo) -> str:
    """The ISO week ("2026-W47") a moment falls in, in the city's zone."""
    year, week, _day = when.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(now: datetime, zone: tzinfo) -> str:
    """The week before the one `now` is in: what a Monday-morning digest is about."""
    return week_of(now - timedelta(days=7), zone)


def latest_active_week(session: Session, sector: Sector, zone: tzinfo) -> str | None:
    """The week of the sector's latest message, or None when it has none."""
    latest = session.exec(
        select(func.max(Message.created_at)).where(Message.sector_id == sector.id)
    ).one()
    return None if latest is None else week_of(latest, zone)


def inferred_zone(start: datetime) -> tzinfo:
    """The fixed UTC offset at which `start` is a midnight: periods begin at local midnight, so
    a caller that passes no zone still gets the right local dates and week label."""
    clock = start.astimezone(UTC)
    since_midnight = timedelta(hours=clock.hour, minutes=clock.minute, seconds=clock.second)
    if not since_midnight:
        return UTC
    ahead = timedelta(days=1) - since_midnight  # 23:00 UTC is midnight at UTC+01:00
    return timezone(ahead if ahead <= timedelta(hours=14) else -since_midnight)


def period_label(start: datetime, end: datetime, zone: tzinfo) -> tuple[str, date, date]:
    """("2026-W47", Monday, Sunday) for a week, else ("2026-11-01 – 2026-11-30", first, last)."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    week = week_of(start + (end - start) / 2, zone)
    if (start, end) == week_bounds(week, zone):
        return week, first, last
    return f"{first:%Y-%m-%d} – {last:%Y-%m-%d}", first, last


# --- who may be named --------------------------------------------------------------------------


def shown_as(name: str | None, consented: bool | None, actor: ActorType | str | None) -> Quote:
    """How a member appears: their name only with consent, else their actor type."""
    if consented and name:
        return Quote("", name, named=True)
    if actor:
        return Quote("", ACTOR_LABELS[ActorType(actor)])
    return Quote("", A_MEMBER)


def quoted(text: str, author: Quote) -> Quote:
    return Quote(text.strip(), author.who, author.named)


# --- counts ------------------------------------------------------------------------------------


def in_period(column: Any, start: datetime, end: datetime) -> Any:
    return (column >= start) & (column < end)


def count_period(session: Session, sector: Sector, start: datetime, end: datetime) -> Counts:
    """Headline numbers: aggregates only, on the (sector_id, created_at) index."""
    of_sector = (Message.sector_id == sector.id) & in_period(Message.created_at, start, end)
    messages, active = session.exec(
        select(func.count(), func.count(func.distinct(Message.member_id))).where(of_sector)
    ).one()
    joined = session.exec(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.sector_id == sector.id,
            in_period(Membership.joined_at, start, end),
        )
    ).one()
    languages = session.exec(
        select(Message.language, func.count()).where(of_sector).group_by(Message.language)
    ).all()
    actors = session.exec(
        select(Member.actor_type, func.count(func.distinct(Message.member_id)))
        .join(Member, col(Member.id) == Message.member_id)
        .where(of_sector)
        .group_by(Member.actor_type)
    ).all()
    return Counts(
        messages=int(messages),
        active_members=int(active),
        new_members=int(joined),
        by_actor_type=tallied((str(a) if a else UNKNOWN, n) for a, n in actors),
        by_language=tallied((code or UNKNOWN, n) for code, n in languages),
    )


def tallied(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Largest first, then by key: the order renderings list them in."""
    merged: Counter[str] = Counter()
    for key, count in pairs:
        merged[key] += int(count)
    return dict(sorted(merged.items(), key=lambda item: (-item[1], item[0])))


def change(now: int, before: int) -> int | None:
    """Percentage change; None when there is nothing to compare with."""
    return round(100 * (now - before) / before) if before else None


def activity(
    session: Session, sector: Sector, last_day: date, zone: tzinfo
) -> tuple[list[Activity], list[Activity]]:
    """Messages and distinct members per local day and per week over the ACTIVITY_WEEKS weeks
    ending with `last_day`: two grouped queries on the (sector_id, created_at) index, each
    message placed in its day by comparing it with the days' local midnights (as UTC), which
    is right across a DST change on both databases."""
    first = last_day - timedelta(days=7 * ACTIVITY_WEEKS - 1)
    dates = [first + timedelta(days=n) for n in range(7 * ACTIVITY_WEEKS + 1)]
    bounds = [datetime.combine(d, time(), tzinfo=zone).astimezone(UTC) for d in dates]
    weekly = bounds[::7]

    def buckets(edges: list[datetime]) -> dict[int, tuple[int, int]]:
        bucket = case(
            *[(col(Message.created_at) < edge, n) for n, edge in enumerate(edges[1:])]
        ).label("bucket")
        rows = session.exec(
            select(bucket, func.count(), func.count(func.distinct(Message.member_id)))
            .where(
                Message.sector_id == sector.id, in_period(Message.created_at, edges[0], edges[-1])
            )
            .group_by(bucket)
        ).all()
        return {int(n): (int(messages), int(members)) for n, messages, members in rows}

    per_day, per_week = buckets(bounds), buckets(weekly)
    days = [Activity(f"{d:%Y-%m-%d}", *per_day.get(n, (0, 0))) for n, d in enumerate(dates[:-1])]
    weeks = [
        Activity(
            week_of(edge, zone) if _is_monday(edge, zone) else f"{dates[7 * n]:%Y-%m-%d}",
            *per_week.get(n, (0, 0)),
        )
        for n, edge in enumerate(weekly[:-1])
    ]
    return days, weeks


def _is_monday(moment: datetime, zone: tzinfo) -> bool:
    return moment.astimezone(zone).isoweekday() == 1


# --- the period's messages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Said:
    """One message of the period, with what the digest may know of its author."""

    id: int
    thread_id: int | None
    channel_id: int | None
    member_id: int | None
    text: str | None  # None when erased, or hidden by a curator
    at: datetime
    author: Quote
    hidden: bool = False


def period_messages(session: Session, sector: Sector, start: datetime, end: datetime) -> list[Said]:
    """Every message of the sector in the period, oldest first, in one query."""
    rows = session.exec(
        select(
            Message.id,
            Message.thread_id,
            Message.channel_id,
            Message.member_id,
            Message.text,
            Message.created_at,
            Member.display_name,
            Member.consent_named,
            Member.actor_type,
            Message.hidden_at,
        )
        .outerjoin(Member, col(Member.id) == Message.member_id)
        .where(Message.sector_id == sector.id, in_period(Message.created_at, start, end))
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    return [
        Said(
            int(mid),
            thread,
            channel,
            member,
            None if hidden else text,
            at,
            shown_as(name, consent, actor),
            hidden is not None,
        )
        for mid, thread, channel, member, text, at, name, consent, actor, hidden in rows
    ]


def has_text(said: Said) -> bool:
    return bool(said.text and said.text.strip())


# --- themes ------------------------------------------------------------------------------------

# Function words of the languages a city region is likely to write in; only words of three or
# more letters are candidates anyway, so the short ones ("de", "en", "ja") need no listing.
FUNCTION_WORDS = {
    "en": "the and for are but not you your our with this that these those there their they "
    "them have has had was were been being will would should could can may might must shall "
    "from into onto about than then also just very more most much many some any all what which "
    "who whom when where why how its out off over under again only own same too yes please "
    "thanks thank get got one two here like need needs want make",
    "nl": "een het van voor met niet ook maar dat die deze dit wat wie waar hoe zijn was waren "
    "wordt worden kan kunnen moet moeten zou zouden heb hebben heeft naar bij uit over nog wel "
    "geen meer veel alle ons onze jullie hun graag dan als door nodig mij mijn wij zij",
    "de": "der die das den dem des ein eine einen einem einer und oder aber nicht auch noch nur "
    "sich mit von für auf aus bei nach über unter ist sind war waren wird werden kann können "
    "muss müssen soll sollte sollten wir ihr sie uns unser mehr viel sehr bitte dass wie was wer "
    "brauchen braucht ich mir mich dich dir man zum zur beim vom kein keine keinen keinem "
    "keiner keines jede jeder jedes jeden diese dieser dieses diesen alle allen weniger",
    "fi": "että tai sekä kuin mutta myös vain nyt sitten tämä tuo nämä joka mikä kun jos niin "
    "olla oli ovat olisi ole voi pitää pitäisi meidän teidän heidän lisää paljon kiitos "
    "tarvitaan tarvitsee minä minun sinä",
    "sv": "och att det som för med inte men också bara den detta dessa vad vem var hur när där "
    "har hade kan kunde ska skulle måste vara blir vill våra vår mer mycket tack från till "
    "behöver behövs jag mig min vi",
    "it": "che chi per con non anche solo questo questa questi quello sono era essere stato molto "
    "più come dove quando perché abbiamo hanno deve devono dovrebbe grazie una uno gli delle "
    "della dello degli alla alle nel nella sul sulla serve servono mio mia",
    "fr": "les des une pour avec pas mais aussi que qui quoi dans sur par plus très est sont être "
    "avons vous nous leur cette ces merci moi mon",
    "es": "los las una unos para con pero también que quien como donde cuando muy más está son ser",
}
STOPWORDS = frozenset(word for text in FUNCTION_WORDS.values() for word in text.split())
MIN_LETTERS = 3


def content_word(word: str) -> bool:
    return len(word) >= MIN_LETTERS and not word.isdigit() and word not in STOPWORDS


def phrases(text: str) -> Counter[str]:
    """Candidate key phrases of a text: its content words, and pairs of adjacent ones."""
    kept = [word if content_word(word) else "" for word in words(text)]
    found = Counter(word for word in kept if word)
    found.update(f"{a} {b}" for a, b in pairwise(kept) if a and b)
    return found


def themes(index: TextIndex[int], texts: Sequence[str], limit: int = THEMES) -> list[str]:
    """A thread's key phrases: the heaviest phrases of its TF-IDF centroid, where rarity is
    measured against all the sector's messages of the period (`index`).

    A phrase must recur in two of the thread's messages (unless it has only one). Phrases do not
    repeat each other's words: a pair replaces a single word it contains when it occurs in at
    least half as many messages ("bike parking" for "parking"), and is dropped otherwise.
    """
    weight: Counter[str] = Counter()
    support: Counter[str] = Counter()
    for text in texts:
        vector = index.vector(text)
        weight.update(vector)
        support.update(vector.keys())
    needed = min(2, len(texts))
    ranked = sorted(
        (p for p in weight if support[p] >= needed),
        key=lambda p: (-round(weight[p], 9), -p.count(" "), p),
    )
    chosen: list[str] = []
    for phrase in ranked:
        clashes = [c for c in chosen if set(c.split()) & set(phrase.split())]
        if not clashes:
            if len(chosen) < limit:
                chosen.append(phrase)
        elif " " in phrase and all(
            " " not in c and 2 * support[phrase] >= support[c] for c in clashes
        ):
            chosen[chosen.index(clashes[0])] = phrase
            chosen = [c for c in chosen if c not in clashes[1:]]
    return chosen


# --- threads -----------------------------------------------------------------------------------


def spread(items: Sequence[T], most: int) -> list[T]:
    """At most `most` of `items`, evenly spaced (first and last kept): a sample that is the
    same every time for the same rows, so a digest built twice says the same."""
    if len(items) <= most:
        return list(items)
    step = (len(items) - 1) / (most - 1)
    return [items[round(n * step)] for n in range(most)]


def representative(said: Sequence[Said], limit: int = REPRESENTATIVE) -> list[Quote]:
    """The messages closest to the thread's centre (character n-gram TF-IDF centroid): any
    language, offline, linear in the messages (at most THREAD_SAMPLE of them)."""
    by_id = {s.id: s for s in spread([s for s in said if has_text(s)], THREAD_SAMPLE)}
    index = TextIndex([(key, s.text or "") for key, s in by_id.items()])
    return [
        quoted(by_id[key].text or "", by_id[key].author)
        for key, _ in index.centroid_nearest(limit, repeat=REPEATED)
    ]


def thread_digests(
    session: Session, sector: Sector, said: Sequence[Said], sector_index: TextIndex[int]
) -> list[ThreadDigest]:
    """Each thread with replies in the period, busiest first."""
    replies: dict[int, list[Said]] = {}
    for s in said:
        if s.thread_id is not None:
            replies.setdefault(s.thread_id, []).append(s)
    if not replies:
        return []
    threads = session.exec(
        select(DialogueThread).where(
            DialogueThread.sector_id == sector.id, col(DialogueThread.id).in_(list(replies))
        )
    ).all()
    votes = statement_votes(session, sector, said)
    digests = [thread_digest(t, replies[int(t.id)], sector_index, votes) for t in threads]  # type: ignore[arg-type]
    return sorted(digests, key=lambda d: (-d.replies, d.id))


def statement_votes(
    session: Session, sector: Sector, said: Sequence[Said]
) -> dict[int, tuple[int, int, int]]:
    """Agree / disagree / pass of the period's statements that have them, by message id: one
    query, bounded by the period's first and last message."""
    if not said:
        return {}
    rows = session.exec(
        select(
            StatementVote.message_id,
            StatementVote.agrees,
            StatementVote.disagrees,
            StatementVote.passes,
        )
        .join(Message, col(Message.id) == StatementVote.message_id)
        .where(
            Message.sector_id == sector.id,
            Message.created_at >= said[0].at,
            Message.created_at <= said[-1].at,
        )
    ).all()
    return {int(m): (int(a), int(d), int(p)) for m, a, d, p in rows}


def most_agreed(
    said: Sequence[Said], votes: dict[int, tuple[int, int, int]], limit: int = AGREED
) -> list[Agreement]:
    """The statements most agreed with, among those with at least MIN_VOTES decided votes.
    Ranked by the agreeing share with one vote added each way (Laplace), so 220 of 223 comes
    before 47 of 47: many votes are surer than few."""
    found = [
        Agreement(quoted(s.text or "", s.author), *votes[s.id])
        for s in said
        if s.id in votes and has_text(s) and sum(votes[s.id][:2]) >= MIN_VOTES
    ]
    found.sort(key=lambda a: (-(a.agrees + 1) / (a.agrees + a.disagrees + 2), a.quote.text))
    return found[:limit]


def thread_digest(
    thread: DialogueThread,
    said: list[Said],
    sector_index: TextIndex[int],
    votes: dict[int, tuple[int, int, int]] | None = None,
) -> ThreadDigest:
    members = {s.member_id: s.author for s in said if s.member_id is not None}
    return ThreadDigest(
        id=int(thread.id),  # type: ignore[arg-type]
        question=thread.question,
        replies=len(said),
        participants=len(members),
        # named for what the digest may show: not for a hidden or erased message alone
        named=sorted({s.author.who for s in said if s.author.named and has_text(s)}),
        representative=representative(said),
        themes=themes(
            sector_index,
            [s.text or "" for s in spread([s for s in said if has_text(s)], THREAD_SAMPLE)],
        ),
        agreed=most_agreed(said, votes or {}),
    )


def phrase_index(said: Sequence[Said]) -> TextIndex[int]:
    """The sector's messages of the period by key phrase: what themes are measured against."""
    texts = spread([s for s in said if has_text(s)], PHRASE_SAMPLE)
    return TextIndex([(s.id, s.text or "") for s in texts], features=phrases)


# --- unanswered questions ----------------------------------------------------------------------


def is_question(text: str | None) -> bool:
    return bool(text) and text.rstrip().endswith(QUESTION_MARKS)  # type: ignore[union-attr]


def unanswered_messages(said: Sequence[Said]) -> list[Unanswered]:
    """Member messages ending in a question mark after which nobody else wrote in the same
    channel (or, for a message without a channel, the same thread) before the period ended.

    Deliberately simple: any later message by another member counts as an answer, and a
    question asked just before the period ends has had little time. One backward pass.
    """
    later_authors: dict[tuple[str, int | None], set[int | None]] = {}
    found: list[Unanswered] = []
    for s in reversed(said):
        if s.hidden:
            continue  # what a curator hid neither asks nor answers
        place = ("channel", s.channel_id) if s.channel_id is not None else ("thread", s.thread_id)
        seen = later_authors.setdefault(place, set())
        if place[1] is not None and is_question(s.text) and not (seen - {s.member_id}):
            found.append(Unanswered(quoted(s.text or "", s.author), s.at))
        if len(seen) < 2:  # two distinct later authors answer anyone; no need to keep more
            seen.add(s.member_id)
    return found[::-1]


def unreplied_threads(
    session: Session, sector: Sector, start: datetime, end: datetime, said: Sequence[Said]
) -> list[Unanswered]:
    """Threads opened in the period that got no reply in it."""
    answered = {s.thread_id for s in said if s.thread_id is not None}
    rows = session.exec(
        select(DialogueThread, Member.display_name, Member.consent_named, Member.actor_type)
        .outerjoin(Member, col(Member.id) == DialogueThread.opened_by)
        .where(
            DialogueThread.sector_id == sector.id, in_period(DialogueThread.opened_at, start, end)
        )
        .order_by(col(DialogueThread.opened_at), col(DialogueThread.id))
    ).all()
    return [
        Unanswered(
            quoted(thread.question, shown_as(name, consent, actor)), thread.opened_at, thread.id
        )
        for thread, name, consent, actor in rows
        if thread.id not in answered
    ]


# --- polls and ideas ---------------------------------------------------------------------------


def closed_polls(
    session: Session, sector: Sector, start: datetime, end: datetime
) -> list[PollDigest]:
    polls = session.exec(
        select(Poll)
        .where(Poll.sector_id == sector.id, in_period(col(Poll.closed_at), start, end))
        .order_by(col(Poll.closed_at), col(Poll.id))
    ).all()
    digests = []
    for poll in polls:  # a handful a week; closed polls carry their totals in `results`
        counts = tally(session, poll)
        digests.append(
            PollDigest(
                int(poll.id),  # type: ignore[arg-type]
                poll.question,
                list(poll.options),
                counts.counts,
                counts.voters,
                poll.closed_at,  # type: ignore[arg-type]
            )
        )
    return digests


def open_polls(session: Session, sector: Sector, end: datetime) -> list[OpenPoll]:
    """Polls open when the period ended, with the voters up to then (one grouped query); when
    the votes are gone (an anonymous poll closed since), its final count."""
    polls = session.exec(
        select(Poll)
        .where(
            Poll.sector_id == sector.id,
            Poll.created_at < end,
            col(Poll.closed_at).is_(None) | (col(Poll.closed_at) >= end),
        )
        .order_by(col(Poll.closes_at), col(Poll.id))
    ).all()
    if not polls:
        return []
    voters = dict(
        session.exec(
            select(PollVote.poll_id, func.count(func.distinct(PollVote.voter_key)))
            .where(col(PollVote.poll_id).in_([p.id for p in polls]), PollVote.voted_at < end)
            .group_by(PollVote.poll_id)
        ).all()
    )
    return [
        OpenPoll(
            int(p.id),  # type: ignore[arg-type]
            p.question,
            p.closes_at,
            int(voters.get(p.id) or (p.results or {}).get("voters", 0)),
        )
        for p in polls
    ]


def new_ideas(session: Session, sector: Sector, start: datetime, end: datetime) -> list[IdeaDigest]:
    ideas = session.exec(
        select(Idea)
        .where(Idea.sector_id == sector.id, in_period(Idea.created_at, start, end))
        .order_by(col(Idea.created_at), col(Idea.id))
    ).all()
    return [IdeaDigest(i.code, i.title, str(i.status)) for i in ideas]


def idea_steps(session: Session, sector: Sector, start: datetime, end: datetime) -> list[IdeaStep]:
    """Status changes in the period; an idea's first entry (no `status_from`) is its submission,
    listed under new ideas instead."""
    rows = session.exec(
        select(IdeaChange, Idea.code, Idea.title)
        .join(Idea, col(Idea.id) == IdeaChange.idea_id)
        .where(
            Idea.sector_id == sector.id,
            col(IdeaChange.status_from).is_not(None),
            in_period(IdeaChange.changed_at, start, end),
        )
        .order_by(col(IdeaChange.changed_at), col(IdeaChange.id))
    ).all()
    return [
        IdeaStep(code, title, str(c.status_from), str(c.status_to), c.note, c.changed_at)
        for c, code, title in rows
    ]


# --- the digest --------------------------------------------------------------------------------


def build_digest(
    session: Session,
    sector: Sector,
    start: datetime,
    end: datetime,
    zone: tzinfo | None = None,
) -> Digest:
    """The digest of `sector` for [start, end) (aware datetimes).

    `zone` is the city's (`settings.zone`): it gives the local dates, the week label and the
    zone renderers show times in. Without it, the fixed offset at which `start` is a midnight.
    """
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValueError("a digest's period needs aware datetimes, start before end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    zone = zone or inferred_zone(start)
    now = count_period(session, sector, start, end)
    before = count_period(session, sector, start - (end - start), start)
    said = period_messages(session, sector, start, end)
    label, first_day, last_day = period_label(start, end, zone)
    days, weeks = activity(session, sector, last_day, zone)
    return Digest(
        sector_slug=sector.slug,
        sector_name=sector.name,
        objective=sector.objective,
        start=start,
        end=end,
        label=label,
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        messages=now.messages,
        active_members=now.active_members,
        new_members=now.new_members,
        by_actor_type=now.by_actor_type,
        by_language=now.by_language,
        previous=before,
        change={
            "messages": change(now.messages, before.messages),
            "active_members": change(now.active_members, before.active_members),
            "new_members": change(now.new_members, before.new_members),
        },
        threads=thread_digests(session, sector, said, phrase_index(said)),
        polls_closed=closed_polls(session, sector, start, end),
        polls_open=open_polls(session, sector, end),
        ideas_new=new_ideas(session, sector, start, end),
        idea_changes=idea_steps(session, sector, start, end),
        unanswered=unreplied_threads(session, sector, start, end, said) + unanswered_messages(said),
        days=days,
        weeks=weeks,
    )
