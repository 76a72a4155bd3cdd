"""Moderating the dialogue's messages: anyone may /report one to the sector's curators, who
may /hide it (kept out of digests, exports and summaries, though it still counts in the
totals, so reported numbers do not jump) and /unhide it.

A message is named by its number (`/hide 12`, as the curators' notice gives it) or, where the
platform has replies (Telegram), by replying to it with the command.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from bot import audit
from bot.actions import Action
from bot.context import Command, Context, Feature
from bot.i18n import N_, translator
from bot.language import reply_language
from bot.threads import shorten
from storage.models import Channel, Identity, Member, Message, Report, Role, RoleName, Sector
from storage.types import utcnow

REASON_MAX = 500
EXCERPT = 200
NO_MESSAGE = N_("There is no message {ref} in a sector's dialogue.")
REPORT_USAGE = N_("/report <message> [reason]")
HIDE_USAGE = N_("/hide <message> [reason]")
UNHIDE_USAGE = N_("/unhide <message>")


# --- which message ------------------------------------------------------------------------------


def replied_message(ctx: Context) -> Message | None:
    """The stored message the command replies to, in this chat (platform ids are per chat)."""
    event = ctx.event
    if not event.reply_to:
        return None
    return ctx.session.exec(
        select(Message)
        .join(Channel, col(Channel.id) == Message.channel_id)
        .where(
            Message.platform == event.platform,
            Message.platform_message_id == event.reply_to,
            Channel.platform == event.platform,
            Channel.chat_id == event.chat_id,
        )
    ).first()


def target(ctx: Context) -> tuple[Message, list[str]] | list[Action]:
    """The message a command is about, and the arguments after it; or the reply that says
    why there is none ([] for "no message named": the caller shows the usage).

    A reply names the message even in a forum topic, where Telegram makes every message a
    reply to the topic's first one: that one is not a stored message, so the number counts."""
    replied = replied_message(ctx)
    if replied is not None:
        return replied, ctx.args
    if not ctx.args:
        return []
    ref = ctx.args[0]
    number = ref.lstrip("#")
    message = ctx.session.get(Message, int(number)) if number.isdigit() else None
    if message is None or message.sector_id is None:
        return [ctx.reply(ctx._(NO_MESSAGE).format(ref=ref))]
    return message, ctx.args[1:]


def message_sector(ctx: Context) -> Sector | list[Action]:
    """For /hide and /unhide: the sector of the message, whose curators may act on it."""
    found = target(ctx)
    if isinstance(found, list):
        return found
    sector = ctx.session.get(Sector, found[0].sector_id)
    assert sector is not None  # a message without a sector is not found
    return sector


def usage(ctx: Context, text: str) -> list[Action]:
    return [ctx.reply(ctx._("Usage: {usage}").format(usage=ctx._(text)))]


def excerpt(message: Message) -> str:
    return shorten(" ".join((message.text or "").split()), EXCERPT)


# --- /report ------------------------------------------------------------------------------------


def report(ctx: Context) -> list[Action]:
    """Flag a message to its sector's curators; the reporter is thanked, curators stay unnamed."""
    _ = ctx._
    found = target(ctx)
    if not isinstance(found, tuple):
        return found or usage(ctx, REPORT_USAGE)
    message, words = found
    reason = " ".join(words).strip()
    if len(reason) > REASON_MAX:
        text = _("A reason can be at most {n} characters; this one has {length}.")
        return [ctx.reply(text.format(n=REASON_MAX, length=len(reason)))]
    sector = ctx.session.get(Sector, message.sector_id)
    assert sector is not None
    if message.hidden_at is not None:
        text = _("Message #{id} is already hidden by a curator. Thank you for looking out.")
        return [ctx.reply(text.format(id=message.id))]
    already = ctx.session.exec(
        select(Report.id).where(
            Report.message_id == message.id, Report.reported_by == ctx.member.id
        )
    ).first()
    if already is not None:
        text = _("You already reported message #{id}; the curators of {sector} have it. Thank you.")
        return [ctx.reply(text.format(id=message.id, sector=sector.slug))]
    ctx.session.add(Report(message_id=message.id, reported_by=ctx.member.id, reason=reason))
    ctx.session.flush()
    notices = notify_curators(ctx, message, sector, reason)
    text = _(
        "Thank you: message #{id} is flagged to the curators of {sector}. "
        "They decide whether it stays in the dialogue."
    )
    return [*notices, ctx.reply(text.format(id=message.id, sector=sector.slug))]


def notify_curators(ctx: Context, message: Message, sector: Sector, reason: str) -> list[Action]:
    """A private notice to each curator of the sector (the admins when it has none), in their
    language, on the platform of the report when they have an account there."""
    reports = ctx.session.exec(
        select(func.count(col(Report.id))).where(Report.message_id == message.id)
    ).one()
    notices: list[Action] = []
    for person in moderators(ctx, sector):
        if person.id == ctx.member.id:
            continue
        identity = private_chat(ctx, person)
        if identity is None:
            continue
        _ = translator(reply_language(person, ctx.settings.languages))
        lines = [
            _("Message #{id} in {sector} was reported:").format(id=message.id, sector=sector.slug),
            f"“{excerpt(message)}”" if message.text else _("(its text was erased)"),
        ]
        if message.member_id is not None:
            lines.append(_("Written by member #{member}.").format(member=message.member_id))
        lines.append(
            _("Reason: {reason}").format(reason=reason) if reason else _("No reason was given.")
        )
        if int(reports) > 1:
            lines.append(_("Times reported: {count}.").format(count=int(reports)))
        lines.append(
            _("/hide {id} keeps it out of digests, exports and summaries.").format(id=message.id)
        )
        if message.member_id is not None:
            lines.append(
                _("/mute #{member} 1d stops its author for a day.").format(member=message.member_id)
            )
        notices.append(ctx.notify(identity, "\n".join(lines)))
    return notices


def moderators(ctx: Context, sector: Sector) -> list[Member]:
    """The sector's curators; the administrators when it has none, so a report is never lost."""
    for role, sector_id in ((RoleName.CURATOR, sector.id), (RoleName.ADMIN, None)):
        query = select(Member).join(Role, col(Role.member_id) == Member.id).where(Role.role == role)
        if sector_id is not None:
            query = query.where(Role.sector_id == sector_id)
        people = {m.id: m for m in ctx.session.exec(query.order_by(col(Member.id)))}
        if people:
            return list(people.values())
    return []


def private_chat(ctx: Context, person: Member) -> Identity | None:
    """The member's account on the platform the event came from, else their first one."""
    identities = ctx.session.exec(
        select(Identity).where(Identity.member_id == person.id).order_by(col(Identity.id))
    ).all()
    here = [i for i in identities if i.platform == ctx.event.platform]
    return (here or list(identities) or [None])[0]


# --- /hide and /unhide --------------------------------------------------------------------------


def hide(ctx: Context) -> list[Action]:
    """Keep a message out of digests, exports and summaries; the engine checked the curator."""
    _, sector = ctx._, ctx.sector
    assert sector is not None
    found = target(ctx)
    if not isinstance(found, tuple):
        return found or usage(ctx, HIDE_USAGE)
    message, words = found
    reason = " ".join(words).strip()[:REASON_MAX]
    if message.hidden_at is not None:
        return [ctx.reply(_("Message #{id} was already hidden.").format(id=message.id))]
    message.hidden_at, message.hidden_by = utcnow(), ctx.member.id
    ctx.session.add(message)
    detail = sector.slug + (f": {reason}" if reason else "")
    audit.record(ctx.session, ctx.member, "message.hide", f"message #{message.id}", detail)
    text = _(
        "Message #{id} is hidden: it stays out of digests, exports and summaries, and still "
        "counts in the totals. /unhide {id} brings it back."
    )
    return [ctx.reply(text.format(id=message.id))]


def unhide(ctx: Context) -> list[Action]:
    _, sector = ctx._, ctx.sector
    assert sector is not None
    found = target(ctx)
    if not isinstance(found, tuple):
        return found or usage(ctx, UNHIDE_USAGE)
    message, _words = found
    if message.hidden_at is None:
        return [ctx.reply(_("Message #{id} is not hidden.").format(id=message.id))]
    message.hidden_at = message.hidden_by = None
    ctx.session.add(message)
    audit.record(ctx.session, ctx.member, "message.unhide", f"message #{message.id}", sector.slug)
    text = _("Message #{id} is shown again in digests, exports and summaries.")
    return [ctx.reply(text.format(id=message.id))]


FEATURE = Feature(
    name="moderation",
    commands=[
        Command("report", report, REPORT_USAGE, N_("flag a message to the sector's curators")),
        Command(
            "hide",
            hide,
            HIDE_USAGE,
            N_("keep a message out of digests, exports and summaries"),
            needs=RoleName.CURATOR,
            sector_of=message_sector,
        ),
        Command(
            "unhide",
            unhide,
            UNHIDE_USAGE,
            N_("show a hidden message again"),
            needs=RoleName.CURATOR,
            sector_of=message_sector,
        ),
    ],
)
