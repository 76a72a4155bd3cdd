"""Dialogue threads: a curator puts a question to a sector; it is posted to every channel
linked to the sector, and answers from any platform are kept against the thread."""

from __future__ import annotations

from functools import partial

from sqlalchemy import func
from sqlmodel import col, select

from bot import audit, intake, language
from bot.access import named_sector
from bot.actions import Action, PostThread, Reply
from bot.context import Command, Context, Feature
from bot.i18n import N_, translator
from bot.posts import by_number, post_everywhere, posts_of, sector_by_number, where
from bot.sectors import find_sector, unknown_sector
from storage.models import (
    ChannelPost,
    DialogueThread,
    Member,
    Message,
    OutboxEntry,
    RoleName,
    Sector,
    ThreadStatus,
)
from storage.types import utcnow

QUESTION_MAX = 1000
OBJECTIVE_MAX = 1000
SHOWN_REPLIES = 5


NO_THREAD = N_("There is no thread {ref}. /thread list shows them.")


def find_thread(ctx: Context, ref: str) -> DialogueThread | list[Action]:
    return by_number(ctx, DialogueThread, ref, NO_THREAD)


def open_thread(ctx: Context) -> list[Action]:
    _, sector = ctx._, ctx.sector
    assert sector is not None
    question = " ".join(ctx.args[1:]).strip()
    if not question:
        usage = _("/thread open <sector> <question>")
        return [ctx.reply(_("Usage: {usage}").format(usage=usage))]
    if len(question) > QUESTION_MAX:
        text = _("A question can be at most {n} characters; this one has {length}.")
        return [ctx.reply(text.format(n=QUESTION_MAX, length=len(question)))]
    thread = DialogueThread(
        sector_id=sector.id, question=question, language=ctx.language, opened_by=ctx.member.id
    )
    ctx.session.add(thread)
    ctx.session.flush()
    posts = post_to_channels(ctx, thread, sector)
    audit.record(ctx.session, ctx.member, "thread.open", f"thread #{thread.id}", sector.slug)
    text = _("Thread #{id} is open in {sector} and posted to {count} channels.")
    said = text.format(id=thread.id, sector=sector.slug, count=len(posts))
    if not posts:
        said += "\n" + _("No channel is linked to {sector} yet: link one with /link.").format(
            sector=sector.slug
        )
    return [*posts, ctx.reply(said)]


def post_to_channels(ctx: Context, thread: DialogueThread, sector: Sector) -> list[Action]:
    _ = translator(thread.language)
    make = partial(
        PostThread,
        thread_id=thread.id,
        sector=sector.slug,
        text=_("Thread #{id} in {sector}: {question}").format(
            id=thread.id, sector=sector.slug, question=thread.question
        ),
        reply_hint=_("Reply to this message to answer."),
        command_hint=_("Answer with /reply {id} <your answer>.").format(id=thread.id),
    )
    return post_everywhere(ctx.session, sector, make, thread_id=thread.id)


def reply_count(ctx: Context, thread: DialogueThread) -> tuple[int, int]:
    """(replies, participants) of a thread."""
    row = ctx.session.exec(
        select(func.count(col(Message.id)), func.count(func.distinct(Message.member_id))).where(
            Message.thread_id == thread.id
        )
    ).one()
    return int(row[0]), int(row[1])


def list_threads(ctx: Context) -> list[Action]:
    _ = ctx._
    query = select(DialogueThread, Sector).join(Sector, col(Sector.id) == DialogueThread.sector_id)
    if ctx.args:
        sector = find_sector(ctx.session, ctx.args[0])
        if sector is None:
            return unknown_sector(ctx, ctx.args[0])
        query = query.where(DialogueThread.sector_id == sector.id)
    rows = ctx.session.exec(query.order_by(col(DialogueThread.id).desc()).limit(20)).all()
    if not rows:
        return [ctx.reply(_("No threads yet."))]
    lines = [_("Threads (newest first):")]
    for thread, sector in rows:
        replies, _people = reply_count(ctx, thread)
        status = _("open") if thread.status is ThreadStatus.OPEN else _("closed")
        lines.append(
            _("#{id} {sector}, {status}, {replies} replies: {question}").format(
                id=thread.id,
                sector=sector.slug,
                status=status,
                replies=replies,
                question=shorten(thread.question),
            )
        )
    return [ctx.reply("\n".join(lines))]


def show_thread(ctx: Context) -> list[Action]:
    _ = ctx._
    if len(ctx.args) != 1:
        return [ctx.reply(_("Usage: {usage}").format(usage=_("/thread show <id>")))]
    found = find_thread(ctx, ctx.args[0])
    if isinstance(found, list):
        return found
    thread = found
    sector = ctx.session.get(Sector, thread.sector_id)
    assert sector is not None
    replies, people = reply_count(ctx, thread)
    status = _("open") if thread.status is ThreadStatus.OPEN else _("closed")
    lines = [
        _("Thread #{id} in {sector} ({status}): {question}").format(
            id=thread.id, sector=sector.slug, status=status, question=thread.question
        ),
        _("Replies: {replies}, participants: {people}").format(replies=replies, people=people),
    ]
    latest = ctx.session.exec(
        select(Message, Member)
        .join(Member, col(Member.id) == Message.member_id, isouter=True)
        .where(
            Message.thread_id == thread.id,
            col(Message.text).is_not(None),
            col(Message.hidden_at).is_(None),  # hidden by a curator: counted, not shown
        )
        .order_by(col(Message.created_at).desc())
        .limit(SHOWN_REPLIES)
    ).all()
    for message, author in reversed(latest):
        name = author.display_name if author else _("a former member")
        lines.append(f"- #{message.id} {name}: {shorten(message.text or '', 200)}")  # for /report
    return [ctx.reply("\n".join(lines))]


def close_thread(ctx: Context) -> list[Action]:
    _ = ctx._
    found = find_thread(ctx, ctx.args[0])
    if isinstance(found, list):
        return found
    thread = found
    if thread.status is ThreadStatus.CLOSED:
        return [ctx.reply(_("Thread #{id} was already closed.").format(id=thread.id))]
    thread.status, thread.closed_at = ThreadStatus.CLOSED, utcnow()
    ctx.session.add(thread)
    audit.record(ctx.session, ctx.member, "thread.close", f"thread #{thread.id}")
    said = translator(thread.language)("Thread #{id} is closed. Thank you for your answers.")
    notices: list[Action] = [
        Reply(**where(post), text=said.format(id=thread.id))
        for post in posts_of(ctx.session, thread_id=thread.id)
    ]
    return [*notices, ctx.reply(_("Thread #{id} is closed.").format(id=thread.id))]


def reply_to_thread(ctx: Context) -> list[Action]:
    """/reply <id> <text>: answering a thread where the platform has no threads (console)."""
    _ = ctx._
    if len(ctx.args) < 2:
        return [ctx.reply(_("Usage: {usage}").format(usage=_("/reply <thread> <your answer>")))]
    found = find_thread(ctx, ctx.args[0])
    if isinstance(found, list):
        return found
    if found.status is ThreadStatus.CLOSED:
        return [closed_reply(ctx, found)]
    held = intake.held_back(ctx)  # muted or flooding: the answer is not taken in
    if held is not None:
        return held
    text = " ".join(ctx.args[1:])
    detection = language.detect(text)
    language.learn_from_message(ctx.member, text, detection)
    ctx.session.add(
        Message(
            platform=ctx.event.platform,
            channel_id=ctx.channel.id if ctx.channel else None,
            sector_id=found.sector_id,
            member_id=ctx.member.id,
            thread_id=found.id,
            text=text,
            language=language.message_language(ctx.member, text, detection),
            created_at=ctx.event.at,
        )
    )
    return [ctx.reply(_("Thank you: your answer to thread #{id} is in.").format(id=found.id))]


def closed_reply(ctx: Context, thread: DialogueThread) -> Action:
    text = ctx._("Thread #{id} is closed and takes no more answers.")
    return ctx.reply(text.format(id=thread.id))


def attach_reply(ctx: Context) -> list[Action]:
    """A platform reply to a thread's posted question is kept against that thread."""
    event, message = ctx.event, ctx.message
    answered = event.reply_to or event.thread_ref
    if message is None or not answered:
        return []
    thread = ctx.session.exec(
        select(DialogueThread)
        .join(ChannelPost, col(ChannelPost.thread_id) == DialogueThread.id)
        .join(OutboxEntry, col(OutboxEntry.id) == ChannelPost.outbox_id)
        .where(
            ChannelPost.platform == event.platform,
            ChannelPost.chat_id == event.chat_id,
            OutboxEntry.platform_message_id == answered,
        )
    ).first()
    if thread is None:
        return []
    if thread.status is ThreadStatus.CLOSED:
        return [closed_reply(ctx, thread)]
    message.thread_id = thread.id
    ctx.session.add(message)
    return []


def set_objective(ctx: Context) -> list[Action]:
    _, sector = ctx._, ctx.sector
    assert sector is not None
    text = " ".join(ctx.args[1:]).strip()
    if not text:
        return [ctx.reply(_("Usage: {usage}").format(usage=_("/objective <sector> <text>")))]
    if len(text) > OBJECTIVE_MAX:
        limit = _("An objective can be at most {n} characters; this one has {length}.")
        return [ctx.reply(limit.format(n=OBJECTIVE_MAX, length=len(text)))]
    sector.objective = text
    ctx.session.add(sector)
    audit.record(ctx.session, ctx.member, "sector.objective", f"sector {sector.slug}", text)
    return [
        ctx.reply(
            _("The objective of {sector} is now: {objective}").format(
                sector=sector.slug, objective=text
            )
        )
    ]


def shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


FEATURE = Feature(
    name="threads",
    commands=[
        Command(
            "thread open",
            open_thread,
            N_("/thread open <sector> <question>"),
            N_("put a question to a sector's channels"),
            needs=RoleName.CURATOR,
            sector_of=named_sector,
        ),
        Command(
            "thread list", list_threads, N_("/thread list [sector]"), N_("the dialogue threads")
        ),
        Command(
            "thread show", show_thread, N_("/thread show <id>"), N_("a thread and its answers")
        ),
        Command(
            "thread close",
            close_thread,
            N_("/thread close <id>"),
            N_("close a thread"),
            needs=RoleName.CURATOR,
            sector_of=sector_by_number(DialogueThread, NO_THREAD),
        ),
        Command(
            "reply", reply_to_thread, N_("/reply <thread> <your answer>"), N_("answer a thread")
        ),
        Command(
            "objective",
            set_objective,
            N_("/objective <sector> <text>"),
            N_("set what a sector's dialogue is for"),
            needs=RoleName.CURATOR,
        ),
    ],
    on_message=attach_reply,
)
