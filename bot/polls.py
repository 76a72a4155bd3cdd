"""Polls: a curator asks a sector to choose; members vote from any channel until the deadline;
the tally on every posted copy follows (coalesced), and the result goes to every channel.

Closing and reminding are idempotent: whoever runs them, however often, a poll closes once
and its result is posted once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import chain
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, delete, select

from bot import audit
from bot.access import allows, named_sector, who_may
from bot.actions import Action, PollResult, PostPoll, Reply, Toast, UpdatePoll
from bot.context import Command, Context, Feature
from bot.events import ButtonPressed
from bot.i18n import N_, translator
from bot.posts import by_number, post_everywhere, posts_of, sector_by_number, where
from bot.sectors import find_sector, unknown_sector
from storage.models import (
    Member,
    Membership,
    Poll,
    PollStatus,
    PollVote,
    RoleName,
    Sector,
)
from storage.types import utcnow

QUESTION_MAX = 300
OPTION_MAX = 100
MIN_OPTIONS, MAX_OPTIONS = 2, 10
DEFAULT_LENGTH = timedelta(days=3)
LONGEST = timedelta(days=366)
TALLY_SECONDS = 3.0  # votes within this window become one edit per posted copy
REMIND_BEFORE = timedelta(hours=1)
REMIND_IF_LONGER_THAN = timedelta(days=1)
CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class PollInputError(ValueError):
    """Why a /poll command cannot be carried out (already in the member's language)."""


@dataclass(frozen=True)
class PollRequest:
    question: str
    options: list[str]
    multi: bool
    anonymous: bool
    closes_at: datetime


@dataclass(frozen=True)
class Tally:
    counts: list[int]
    voters: int


# --- reading /poll ----------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta | None:
    """'90s', '15m', '12h', '3d', '2w' -> a timedelta; None when not a duration."""
    match = DURATION.match(text.strip().lower())
    if not match:
        return None
    try:
        return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:  # "99999999999d": no duration a calendar can hold
        return None


def parse_deadline(text: str, zone: ZoneInfo) -> datetime | None:
    """'2026-12-01 18:00', '2026-12-01T18:00+01:00', '2026-12-01': aware; None when unreadable.
    A time without a zone is in the city's zone (POLDER_TIMEZONE)."""
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def read_request(
    args: list[str], _: Callable[[str], str], zone: ZoneInfo, now: datetime
) -> PollRequest:
    """The poll that `/poll <sector> "Q" "A" "B" ... [flags]` asks for (sector already taken)."""
    words: list[str] = []
    multi = anonymous = False
    closes_at: datetime | None = None
    rest = iter(args)
    for word in rest:
        flag = word.lower()
        if flag == "--closes" and (date := next(rest, None)) is not None:
            # '--closes 2026-12-01 18:00' unquoted: the time is the next word, not an option
            time_of_day = next(rest, None)
            if time_of_day is not None and not CLOCK.match(time_of_day):
                rest = chain([time_of_day], rest)
                time_of_day = None
            rest = chain([" ".join(filter(None, [date, time_of_day]))], rest)
        if flag == "--multi":
            multi = True
        elif flag == "--anonymous":
            anonymous = True
        elif flag in ("--closes", "--for"):
            value = next(rest, None)
            if value is None:
                raise PollInputError(_("{flag} needs a value.").format(flag=flag))
            if flag == "--for":
                length = parse_duration(value)
                if length is None or length <= timedelta(0):
                    raise PollInputError(
                        _("{value} is not a duration: write 90s, 30m, 12h, 3d or 2w.").format(
                            value=value
                        )
                    )
                closes_at = now + length
            else:
                closes_at = parse_deadline(value, zone)
                if closes_at is None:
                    raise PollInputError(
                        _("{value} is not a date and time: write 2026-12-01 18:00.").format(
                            value=value
                        )
                    )
        elif flag.startswith("--"):
            raise PollInputError(_("There is no option {flag} for /poll.").format(flag=word))
        else:
            words.append(word.strip())
    if not words:
        raise PollInputError(_("The poll needs a question and 2 to 10 options."))
    question, options = words[0], words[1:]
    if not question or len(question) > QUESTION_MAX:
        text = _("The question must have 1 to {n} characters; it has {length}.")
        raise PollInputError(text.format(n=QUESTION_MAX, length=len(question)))
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        text = _("A poll needs 2 to 10 options; this one has {count}.")
        raise PollInputError(text.format(count=len(options)))
    for number, option in enumerate(options, 1):
        if not option or len(option) > OPTION_MAX:
            text = _("Option {number} must have 1 to {n} characters; it has {length}.")
            raise PollInputError(text.format(number=number, n=OPTION_MAX, length=len(option)))
    if len({o.lower() for o in options}) != len(options):
        raise PollInputError(_("Two options are the same."))
    closes_at = closes_at or now + DEFAULT_LENGTH
    if closes_at <= now:
        raise PollInputError(_("The deadline must be in the future."))
    if closes_at - now > LONGEST:
        raise PollInputError(_("The deadline can be at most a year away."))
    return PollRequest(question, options, multi, anonymous, closes_at)


# --- tallies and texts ------------------------------------------------------------------------


def tally(session: Session, poll: Poll) -> Tally:
    if poll.results is not None:
        return Tally(list(poll.results["counts"]), int(poll.results["voters"]))
    rows = session.exec(
        select(PollVote.option, func.count())
        .where(PollVote.poll_id == poll.id)
        .group_by(PollVote.option)
    ).all()
    counts = [0] * len(poll.options)
    for option, count in rows:
        counts[option] = int(count)
    voters = session.exec(
        select(func.count(func.distinct(PollVote.voter_key))).where(PollVote.poll_id == poll.id)
    ).one()
    return Tally(counts, int(voters))


def percent(count: int, voters: int) -> int:
    return round(100 * count / voters) if voters else 0


def shown_time(when: datetime, zone: ZoneInfo) -> str:
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def poll_text(poll: Poll, sector: Sector, counts: Tally, zone: ZoneInfo) -> str:
    _ = translator(poll.language)
    lines = [
        _("Poll #{id} in {sector}: {question}").format(
            id=poll.id, sector=sector.slug, question=poll.question
        )
    ]
    for number, (option, count) in enumerate(zip(poll.options, counts.counts, strict=True), 1):
        lines.append(f"{number}. {option}: {count} ({percent(count, counts.voters)}%)")
    lines.append(_("Voters: {voters}").format(voters=counts.voters))
    if poll.status is PollStatus.CLOSED:
        lines.append(_("This poll is closed."))
    else:
        lines.append(_("Closes {when}.").format(when=shown_time(poll.closes_at, zone)))
        if poll.multi:
            lines.append(_("You may choose several options."))
        if poll.anonymous:
            lines.append(_("Anonymous: nobody can see who voted what."))
    return "\n".join(lines)


def vote_hint(poll: Poll) -> str:
    _ = translator(poll.language)
    if poll.multi:
        return _("Vote with /vote {id} <number> [number ...].").format(id=poll.id)
    return _("Vote with /vote {id} <number>.").format(id=poll.id)


def tally_updates(
    session: Session, poll: Poll, sector: Sector, zone: ZoneInfo, delay: float
) -> list[Action]:
    """One coalesced edit per posted copy: a burst of votes becomes one edit each."""
    counts = tally(session, poll)
    text = poll_text(poll, sector, counts, zone) + "\n" + vote_hint(poll)
    if poll.status is PollStatus.CLOSED:
        text = poll_text(poll, sector, counts, zone)
    return [
        UpdatePoll(
            **where(post),
            edit_of=post.outbox_id,
            coalesce_key=f"poll-tally:{post.id}",
            delay_seconds=delay,
            poll_id=poll.id,  # type: ignore[arg-type]
            text=text,
            options=list(poll.options),
            counts=counts.counts,
            voters=counts.voters,
            closed=poll.status is PollStatus.CLOSED,
        )
        for post in posts_of(session, poll_id=poll.id)
        if post.outbox_id is not None
    ]


# --- commands ---------------------------------------------------------------------------------


def launch_poll(ctx: Context) -> list[Action]:
    _, sector, zone = ctx._, ctx.sector, ctx.settings.zone
    assert sector is not None
    try:
        request = read_request(ctx.args[1:], _, zone, utcnow())
    except PollInputError as exc:
        return [ctx.reply(str(exc) + "\n" + _("Usage: {usage}").format(usage=_(POLL_USAGE)))]
    poll = Poll(
        sector_id=sector.id,
        question=request.question,
        options=request.options,
        multi=request.multi,
        anonymous=request.anonymous,
        language=ctx.language,
        created_by=ctx.member.id,
        closes_at=request.closes_at,
        salt=secrets.token_hex(16) if request.anonymous else None,
    )
    ctx.session.add(poll)
    ctx.session.flush()
    empty = Tally([0] * len(poll.options), 0)
    text = poll_text(poll, sector, empty, zone) + "\n" + vote_hint(poll)
    make = partial(
        PostPoll,
        poll_id=poll.id,
        text=text,
        options=list(poll.options),
        counts=empty.counts,
        voters=0,
    )
    posts = post_everywhere(ctx.session, sector, make, poll_id=poll.id)
    audit.record(ctx.session, ctx.member, "poll.open", f"poll #{poll.id}", sector.slug)
    said = _(
        "Poll #{id} is open in {sector}, posted to {count} channels; it closes {when}."
    ).format(
        id=poll.id, sector=sector.slug, count=len(posts), when=shown_time(poll.closes_at, zone)
    )
    if not posts:
        said += "\n" + _("No channel is linked to {sector} yet: link one with /link.").format(
            sector=sector.slug
        )
    return [*posts, ctx.reply(said)]


NO_POLL = N_("There is no poll {ref}. /poll list shows them.")


def find_poll(ctx: Context, ref: str) -> Poll | list[Action]:
    return by_number(ctx, Poll, ref, NO_POLL)


def voter_key(poll: Poll, member: Member) -> str:
    """Who voted, as little as is needed: an anonymous poll keeps only a salted hash, enough
    to find and change a member's vote while it is open, and useless once the salt is gone."""
    if not poll.anonymous:
        return f"m{member.id}"
    assert poll.salt is not None
    return hmac.new(poll.salt.encode(), str(member.id).encode(), hashlib.sha256).hexdigest()[:40]


def locked_open_poll(ctx: Context, poll_id: int) -> Poll | str:
    """The poll, its row locked (PostgreSQL) so a vote cannot slip in while it is being
    closed; or why it takes no votes."""
    poll = ctx.session.exec(
        select(Poll)
        .where(col(Poll.id) == poll_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if poll.status is PollStatus.CLOSED or poll.closes_at <= utcnow():
        return ctx._("Sorry, poll #{id} is closed: votes are no longer counted.").format(id=poll.id)
    return poll


def current_choice(ctx: Context, poll: Poll) -> list[int]:
    """The option numbers (from 1) the member has chosen in a poll so far."""
    rows = ctx.session.exec(
        select(PollVote.option).where(
            PollVote.poll_id == poll.id, PollVote.voter_key == voter_key(poll, ctx.member)
        )
    ).all()
    return sorted(option + 1 for option in rows)


def cast(ctx: Context, poll: Poll, chosen: list[int]) -> tuple[str, list[Action]]:
    """Record the member's choice (replacing any earlier one): what to tell them, and the
    coalesced tally edits of every posted copy."""
    _ = ctx._
    key = voter_key(poll, ctx.member)
    earlier = ctx.session.exec(
        select(PollVote).where(PollVote.poll_id == poll.id, PollVote.voter_key == key)
    ).all()
    for row in earlier:
        ctx.session.delete(row)
    ctx.session.flush()
    for number in chosen:
        ctx.session.add(
            PollVote(
                poll_id=poll.id,
                voter_key=key,
                option=number - 1,
                member_id=None if poll.anonymous else ctx.member.id,
                voted_at=ctx.event.at,
            )
        )
    ctx.session.flush()
    picked = ", ".join(poll.options[n - 1] for n in chosen) or "-"
    text = (
        _("Your vote on poll #{id} is changed: {options}.")
        if earlier
        else _("Your vote on poll #{id} is counted: {options}.")
    )
    sector = ctx.session.get(Sector, poll.sector_id)
    assert sector is not None
    updates = tally_updates(ctx.session, poll, sector, ctx.settings.zone, TALLY_SECONDS)
    return text.format(id=poll.id, options=picked), updates


def vote(ctx: Context) -> list[Action]:
    _ = ctx._
    usage = _("Usage: {usage}").format(usage=_("/vote <poll> <number> [number ...]"))
    if len(ctx.args) < 2:
        return [ctx.reply(usage)]
    found = find_poll(ctx, ctx.args[0])
    if isinstance(found, list):
        return found
    poll = locked_open_poll(ctx, found.id)  # type: ignore[arg-type]
    if isinstance(poll, str):
        return [ctx.reply(poll)]
    try:
        chosen = sorted({int(word) for word in ctx.args[1:]})
    except ValueError:
        return [ctx.reply(usage)]
    if any(not 1 <= n <= len(poll.options) for n in chosen):
        text = _("Choose option numbers from 1 to {n}.")
        return [ctx.reply(text.format(n=len(poll.options)))]
    if len(chosen) > 1 and not poll.multi:
        return [ctx.reply(_("This poll takes one option: choose one number."))]
    said, updates = cast(ctx, poll, chosen)
    return [*updates, ctx.reply(said)]


def vote_button(ctx: Context) -> list[Action]:
    """A press on an option's button ('vote:<poll>:<option>'): that option chosen, or (in a
    poll with several choices) switched on or off. The answer is a short toast."""
    event = ctx.event
    assert isinstance(event, ButtonPressed)
    try:
        _kind, poll_ref, option_ref = event.data.split(":")
        poll_id, number = int(poll_ref), int(option_ref) + 1
    except ValueError:
        return []
    if ctx.session.get(Poll, poll_id) is None:
        return [
            Toast(platform=event.platform, chat_id=event.chat_id, text=ctx._("This poll is gone."))
        ]
    poll = locked_open_poll(ctx, poll_id)
    if isinstance(poll, str):
        return [Toast(platform=event.platform, chat_id=event.chat_id, text=poll)]
    if not 1 <= number <= len(poll.options):
        return []
    chosen = [number]
    if poll.multi:
        chosen = sorted(set(current_choice(ctx, poll)) ^ {number})
    said, updates = cast(ctx, poll, chosen)
    return [*updates, Toast(platform=event.platform, chat_id=event.chat_id, text=said)]


def close_early(ctx: Context) -> list[Action]:
    found = find_poll(ctx, ctx.args[0])
    if isinstance(found, list):
        return found
    actions = close_poll(ctx.session, found, ctx.settings.zone)
    if actions is None:
        return [ctx.reply(ctx._("Poll #{id} was already closed.").format(id=found.id))]
    audit.record(ctx.session, ctx.member, "poll.close", f"poll #{found.id}")
    return [
        *actions,
        ctx.reply(ctx._("Poll #{id} is closed; the result is posted.").format(id=found.id)),
    ]


def show_poll(ctx: Context) -> list[Action]:
    _ = ctx._
    args = [a for a in ctx.args if a.lower() != "--voters"]
    if len(args) != 1:
        return [ctx.reply(_("Usage: {usage}").format(usage=_("/poll show <id> [--voters]")))]
    found = find_poll(ctx, args[0])
    if isinstance(found, list):
        return found
    poll = found
    sector = ctx.session.get(Sector, poll.sector_id)
    assert sector is not None
    text = poll_text(poll, sector, tally(ctx.session, poll), ctx.settings.zone)
    if len(args) == len(ctx.args):
        return [ctx.reply(text)]
    if not allows(ctx, RoleName.CURATOR, sector):
        who = who_may(ctx, RoleName.CURATOR, sector)
        return [ctx.reply(_("Only {who} may see who voted.").format(who=who))]
    if poll.anonymous:  # an open poll's text says so already
        notice = _("This poll is anonymous: nobody can see who voted what.")
        return [ctx.reply(text if poll.status is PollStatus.OPEN else text + "\n" + notice)]
    rows = ctx.session.exec(
        select(PollVote, Member)
        .join(Member, col(Member.id) == PollVote.member_id)
        .where(PollVote.poll_id == poll.id)
        .order_by(Member.display_name, PollVote.option)
    ).all()
    lines = [text, _("Voters:")]
    lines += [
        f"- {member.display_name or _('a former member')}: {poll.options[row.option]}"
        for row, member in rows  # a forgotten member's vote still counts, nameless
    ]
    return [ctx.reply("\n".join(lines))]


def list_polls(ctx: Context) -> list[Action]:
    _ = ctx._
    query = select(Poll, Sector).join(Sector, col(Sector.id) == Poll.sector_id)
    if ctx.args:
        sector = find_sector(ctx.session, ctx.args[0])
        if sector is None:
            return unknown_sector(ctx, ctx.args[0])
        query = query.where(Poll.sector_id == sector.id)
    rows = ctx.session.exec(query.order_by(col(Poll.id).desc()).limit(20)).all()
    if not rows:
        return [ctx.reply(_("No polls yet."))]
    lines = [_("Polls (newest first):")]
    for poll, sector in rows:
        state = (
            _("open until {when}").format(when=shown_time(poll.closes_at, ctx.settings.zone))
            if poll.status is PollStatus.OPEN
            else _("closed")
        )
        lines.append(f"#{poll.id} {sector.slug}, {state}: {poll.question}")
    return [ctx.reply("\n".join(lines))]


# --- closing and reminding (also run by the scheduler) ----------------------------------------


def close_poll(
    session: Session, poll: Poll, zone: ZoneInfo, now: datetime | None = None
) -> list[Action] | None:
    """Close a poll once: the caller that flips it from open gets the result actions (none
    when the sector has no channel), any other caller (another worker, a second run of the
    job) gets None."""
    won = session.exec(
        update(Poll)
        .where(col(Poll.id) == poll.id, col(Poll.status) == PollStatus.OPEN)
        .values(status=PollStatus.CLOSED, closed_at=now or utcnow())
        .returning(col(Poll.id))
    ).first()
    if won is None:
        return None
    session.refresh(poll)
    counts = tally(session, poll)
    poll.results = {"counts": counts.counts, "voters": counts.voters}
    if poll.anonymous:  # reduced to totals: nobody can see who voted what
        session.exec(delete(PollVote).where(col(PollVote.poll_id) == poll.id))
        poll.salt = None
    session.add(poll)
    sector = session.get(Sector, poll.sector_id)
    assert sector is not None
    members = session.exec(select(func.count()).where(Membership.sector_id == sector.id)).one()
    result = result_actions(session, poll, sector, counts, int(members))
    return [*tally_updates(session, poll, sector, zone, 0), *result]


def result_actions(
    session: Session, poll: Poll, sector: Sector, counts: Tally, members: int
) -> list[Action]:
    _ = translator(poll.language)
    width = max(len(o) for o in poll.options)
    most = max(counts.counts) or 1
    lines = [
        _("Result of poll #{id} in {sector}: {question}").format(
            id=poll.id, sector=sector.slug, question=poll.question
        )
    ]
    for option, count in zip(poll.options, counts.counts, strict=True):
        bar = "█" * round(20 * count / most)
        lines.append(f"{option.ljust(width)}  {bar} {count} ({percent(count, counts.voters)}%)")
    turnout = _("Turnout: {voters} voters").format(voters=counts.voters)
    if members:
        turnout += " " + _("({share}% of the {members} members of {sector})").format(
            share=percent(counts.voters, members), members=members, sector=sector.slug
        )
    lines.append(turnout)
    alt = _("Bar chart of the votes: {summary}.").format(
        summary="; ".join(f"{o}: {c}" for o, c in zip(poll.options, counts.counts, strict=True))
    )
    return [
        PollResult(
            **where(post),
            poll_id=poll.id,
            text="\n".join(lines),
            question=poll.question,  # type: ignore[arg-type]
            options=list(poll.options),
            counts=counts.counts,
            voters=counts.voters,
            chart_title=_("Poll #{id}: {question}").format(id=poll.id, question=poll.question),
            alt_text=alt,
        )
        for post in posts_of(session, poll_id=poll.id)
    ]


def close_due(session: Session, zone: ZoneInfo, now: datetime) -> list[Action]:
    """Close every open poll whose deadline has passed."""
    due = session.exec(
        select(Poll)
        .where(Poll.status == PollStatus.OPEN, Poll.closes_at <= now)
        .order_by(col(Poll.id))  # every worker locks rows in the same order: no deadlock
    ).all()
    return [action for poll in due for action in close_poll(session, poll, zone, now) or []]


def remind_due(session: Session, zone: ZoneInfo, now: datetime) -> list[Action]:
    """'Closes in 1 hour', once, for open polls that run longer than a day."""
    due = session.exec(
        select(Poll)
        .where(
            Poll.status == PollStatus.OPEN,
            col(Poll.reminded_at).is_(None),
            Poll.closes_at <= now + REMIND_BEFORE,
            Poll.closes_at > now,
        )
        .order_by(col(Poll.id))
    ).all()
    actions: list[Action] = []
    for poll in due:
        if poll.closes_at - poll.created_at <= REMIND_IF_LONGER_THAN:
            continue
        won = session.exec(
            update(Poll)
            .where(col(Poll.id) == poll.id, col(Poll.reminded_at).is_(None))
            .values(reminded_at=now)
            .returning(col(Poll.id))
        ).first()
        if won is None:
            continue
        _ = translator(poll.language)
        text = (
            _("Poll #{id} closes in 1 hour: {question}").format(id=poll.id, question=poll.question)
            + "\n"
            + vote_hint(poll)
        )
        actions += [Reply(**where(post), text=text) for post in posts_of(session, poll_id=poll.id)]
    return actions


def deadlines(session: Session) -> list[tuple[int, datetime, datetime | None]]:
    """(poll id, closes at, remind at or None) of every open poll: what the scheduler plans."""
    rows = session.exec(select(Poll).where(Poll.status == PollStatus.OPEN)).all()
    plan = []
    for poll in rows:
        remind = None
        if poll.reminded_at is None and poll.closes_at - poll.created_at > REMIND_IF_LONGER_THAN:
            remind = poll.closes_at - REMIND_BEFORE
        plan.append((int(poll.id), poll.closes_at, remind))  # type: ignore[arg-type]
    return plan


POLL_USAGE = N_(
    '/poll <sector> "Question?" "Option 1" "Option 2" ... [--multi] [--anonymous] '
    "[--closes <date time>] [--for <90s|12h|3d>]"
)

FEATURE = Feature(
    name="polls",
    commands=[
        Command(
            "poll",
            launch_poll,
            POLL_USAGE,
            N_("launch a poll in a sector"),
            needs=RoleName.CURATOR,
            sector_of=named_sector,
        ),
        Command(
            "poll close",
            close_early,
            N_("/poll close <id>"),
            N_("close a poll now"),
            needs=RoleName.CURATOR,
            sector_of=sector_by_number(Poll, NO_POLL),
        ),
        Command(
            "poll show", show_poll, N_("/poll show <id> [--voters]"), N_("a poll and its tally")
        ),
        Command("poll list", list_polls, N_("/poll list [sector]"), N_("the polls")),
        Command("vote", vote, N_("/vote <poll> <number> [number ...]"), N_("vote in a poll")),
    ],
    buttons={"vote": vote_button},
)
