"""Digest subscriptions: staff choose which staff channel gets a sector's weekly digest (or
every sector's), and when. `/digest subscribe`, `list` and `unsubscribe` in chat; the same
rules serve `polder digest` on the command line. Sending is the scheduler's job
(`scheduled/digests.py`): this module only keeps the rows it works from."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot import audit
from bot.actions import Action
from bot.context import Command, Context, Feature
from bot.cron import DEFAULT_CRON, CronError, next_time, normal, read_cron
from bot.i18n import N_
from bot.polls import shown_time
from bot.sectors import find_sector, unknown_sector
from storage.models import DigestIssue, DigestSubscription, RoleName, Sector
from storage.types import utcnow

FOLDER = "folder"  # the platform of a subscription whose digests are files in a directory
ALL = "all"
SUBSCRIBE_USAGE = N_("/digest subscribe <sector|all> [cron]")
UNSUBSCRIBE_USAGE = N_("/digest unsubscribe <id>")
NO_SUBSCRIPTION = N_("There is no subscription {ref}. /digest list shows them.")


def subscribe(
    session: Session,
    zone: ZoneInfo,
    *,
    platform: str,
    chat_id: str,
    thread_ref: str | None,
    sector: Sector | None,
    cron: str = "",
    language: str = "en",
    created_by: int | None = None,
) -> tuple[DigestSubscription, bool]:
    """Subscribe a channel (or folder) to `sector`'s digest, None: every sector's. The same
    channel and sector again changes the schedule of the one subscription instead of adding
    a second. Returns it, and whether it is new; a CronError when the schedule is wrong."""
    cron = normal(cron) or DEFAULT_CRON
    read_cron(cron, zone)
    query = select(DigestSubscription).where(
        col(DigestSubscription.active).is_(True),
        DigestSubscription.platform == platform,
        DigestSubscription.chat_id == chat_id,
        col(DigestSubscription.thread_ref).is_(None)
        if thread_ref is None
        else DigestSubscription.thread_ref == thread_ref,
        col(DigestSubscription.sector_id).is_(None)
        if sector is None
        else DigestSubscription.sector_id == sector.id,
    )
    found = session.exec(query).first()
    if found is not None:
        found.cron, found.language = cron, language
        session.add(found)
        return found, False
    subscription = DigestSubscription(
        platform=platform,
        chat_id=chat_id,
        thread_ref=thread_ref,
        sector_id=sector.id if sector else None,
        cron=cron,
        language=language,
        created_by=created_by,
    )
    session.add(subscription)
    session.flush()
    return subscription, True


def subscriptions(session: Session) -> list[tuple[DigestSubscription, Sector | None]]:
    """The active subscriptions with their sector (None: every sector), oldest first."""
    rows = session.exec(
        select(DigestSubscription, Sector)
        .join(Sector, col(Sector.id) == DigestSubscription.sector_id, isouter=True)
        .where(col(DigestSubscription.active).is_(True))
        .order_by(col(DigestSubscription.id))
    ).all()
    return [(subscription, sector) for subscription, sector in rows]


def cancel(session: Session, ref: str) -> DigestSubscription | None:
    """Stop the active subscription `#12` or `12` names; None when there is none. The row
    stays (inactive), with the digests it brought."""
    number = ref.lstrip("#")
    found = session.get(DigestSubscription, int(number)) if number.isdigit() else None
    if found is None or not found.active:
        return None
    found.active = False
    session.add(found)
    return found


def next_digest(
    subscription: DigestSubscription, zone: ZoneInfo, now: datetime | None = None
) -> datetime | None:
    return next_time(read_cron(subscription.cron, zone), now or utcnow())


def last_period(session: Session, subscription: DigestSubscription) -> str | None:
    """The newest week a digest went out for on this subscription."""
    return session.exec(
        select(DigestIssue.period)
        .where(DigestIssue.subscription_id == subscription.id)
        .order_by(col(DigestIssue.period).desc())
    ).first()


def destination(subscription: DigestSubscription) -> str:
    """Where a subscription's digests go, as the command line shows it."""
    if subscription.platform == FOLDER:
        return f"{FOLDER}:{subscription.chat_id}"
    topic = f" (topic {subscription.thread_ref})" if subscription.thread_ref else ""
    return f"{subscription.platform}:{subscription.chat_id}{topic}"


def _what(ctx: Context, sector: Sector | None) -> str:
    if sector is None:
        return ctx._("every sector's digest")
    return ctx._("the {sector} digest").format(sector=sector.slug)


def _where(ctx: Context, subscription: DigestSubscription) -> str:
    event = ctx.event
    here = (event.platform, event.chat_id, event.thread_ref)
    if (subscription.platform, subscription.chat_id, subscription.thread_ref) == here:
        return ctx._("this chat")
    if subscription.platform == FOLDER:
        return ctx._("the folder {path}").format(path=subscription.chat_id)
    return destination(subscription)


def _next(ctx: Context, subscription: DigestSubscription) -> str:
    when = next_digest(subscription, ctx.settings.zone)
    return shown_time(when, ctx.settings.zone) if when else "-"


def digest_help(ctx: Context) -> list[Action]:
    _ = ctx._
    lines = [_("Digests for staff channels:")]
    for command in ctx.commands:
        if command.name.startswith("digest "):
            lines.append(f"{_(command.usage)}: {_(command.summary)}")
    return [ctx.reply("\n".join(lines))]


def subscribe_here(ctx: Context) -> list[Action]:
    """/digest subscribe <sector|all> [cron]: this chat (and topic) gets the digest."""
    _ = ctx._
    if not ctx.args:
        return [ctx.reply(_("Usage: {usage}").format(usage=_(SUBSCRIBE_USAGE)))]
    sector = None
    if ctx.args[0].lower() != ALL:
        sector = find_sector(ctx.session, ctx.args[0])
        if sector is None:
            return unknown_sector(ctx, ctx.args[0])
    event = ctx.event
    try:
        subscription, created = subscribe(
            ctx.session,
            ctx.settings.zone,
            platform=event.platform,
            chat_id=event.chat_id,
            thread_ref=event.thread_ref,
            sector=sector,
            cron=" ".join(ctx.args[1:]),
            language=ctx.language,
            created_by=ctx.member.id,
        )
    except CronError as error:
        return [ctx.reply(error.say(_))]
    scope = sector.slug if sector else ALL
    where = f"{event.platform}:{event.chat_id}" + (
        f" topic {event.thread_ref}" if event.thread_ref else ""
    )
    audit.record(
        ctx.session,
        ctx.member,
        "digest.subscribe",
        f"subscription #{subscription.id}",
        f"{scope} to {where} on {subscription.cron}",
    )
    if created:
        text = _("Subscription #{id}: {what} comes to this chat on the schedule {cron}.")
    else:
        text = _("Subscription #{id} already brings {what} here; its schedule is now {cron}.")
    lines = [
        text.format(id=subscription.id, what=_what(ctx, sector), cron=subscription.cron),
        _("The next one: {when}. Each digest covers the week before it is sent.").format(
            when=_next(ctx, subscription)
        ),
    ]
    return [ctx.reply("\n".join(lines))]


def list_subscriptions(ctx: Context) -> list[Action]:
    _ = ctx._
    rows = subscriptions(ctx.session)
    if not rows:
        text = _("No digest subscriptions yet. {usage} adds one.")
        return [ctx.reply(text.format(usage=_(SUBSCRIBE_USAGE)))]
    lines = [_("Digest subscriptions:")]
    for subscription, sector in rows:
        line = _("#{id}: {what} to {where} on the schedule {cron}, next {when}").format(
            id=subscription.id,
            what=_what(ctx, sector),
            where=_where(ctx, subscription),
            cron=subscription.cron,
            when=_next(ctx, subscription),
        )
        period = last_period(ctx.session, subscription)
        if period:
            line += "; " + _("last for {period}").format(period=period)
        lines.append(line)
    return [ctx.reply("\n".join(lines))]


def unsubscribe_here(ctx: Context) -> list[Action]:
    _ = ctx._
    if len(ctx.args) != 1:
        return [ctx.reply(_("Usage: {usage}").format(usage=_(UNSUBSCRIBE_USAGE)))]
    subscription = cancel(ctx.session, ctx.args[0])
    if subscription is None:
        return [ctx.reply(_(NO_SUBSCRIPTION).format(ref=ctx.args[0]))]
    sector = ctx.session.get(Sector, subscription.sector_id) if subscription.sector_id else None
    audit.record(ctx.session, ctx.member, "digest.unsubscribe", f"subscription #{subscription.id}")
    text = _("Subscription #{id} is cancelled: {what} no longer comes to {where}.")
    return [
        ctx.reply(
            text.format(
                id=subscription.id, what=_what(ctx, sector), where=_where(ctx, subscription)
            )
        )
    ]


FEATURE = Feature(
    name="digests",
    commands=[
        Command(
            "digest",
            digest_help,
            N_("/digest"),
            N_("weekly digests for staff channels"),
            needs=RoleName.STAFF,
        ),
        Command(
            "digest subscribe",
            subscribe_here,
            SUBSCRIBE_USAGE,
            N_(
                "send a sector's weekly digest (or every sector's) to this chat; the cron "
                "is minute hour day month weekday, by default 0 8 * * 1 (Mondays at 08:00)"
            ),
            needs=RoleName.STAFF,
        ),
        Command(
            "digest list",
            list_subscriptions,
            N_("/digest list"),
            N_("the digest subscriptions"),
            needs=RoleName.STAFF,
        ),
        Command(
            "digest unsubscribe",
            unsubscribe_here,
            UNSUBSCRIBE_USAGE,
            N_("stop a digest subscription"),
            needs=RoleName.STAFF,
        ),
    ],
)
