"""Sectors: the city's permanent ecosystems. Listing them, joining and leaving, and linking a
channel to one so its conversation is heard as that sector's."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import audit
from bot.actions import Action
from bot.config import SLUG
from bot.context import Command, Context, Feature
from bot.events import ChatJoined, ChatLeft
from bot.i18n import N_
from storage import outbox
from storage.models import Channel, ChannelKind, Membership, RoleName, Sector

DEFAULT_OBJECTIVES = {
    "mobility": "Cleaner, safer and shared ways to move through the region: test new mobility "
    "services with the people who use them.",
    "energy": "A fossil-free energy system by 2040: local generation, storage and flexible "
    "demand, tried out in real neighbourhoods.",
    "circular-economy": "Keep materials in use: halve the use of new raw materials by 2030 "
    "through reuse, repair and shared resources.",
}


class SectorError(ValueError):
    """A sector cannot be created or found; the message says why."""


def all_sectors(session: Session) -> list[Sector]:
    return list(session.exec(select(Sector).order_by(Sector.slug)).all())


def find_sector(session: Session, slug: str) -> Sector | None:
    return session.exec(select(Sector).where(Sector.slug == slug.strip().lower())).first()


def add_sector(session: Session, slug: str, name: str = "", objective: str = "") -> Sector:
    typed, slug = slug, slug.strip().lower()
    if not SLUG.match(slug):
        raise SectorError(
            f"{typed!r} is not a sector slug: use lowercase letters, digits and hyphens, "
            "at most 40 characters (e.g. circular-economy)"
        )
    if find_sector(session, slug):
        raise SectorError(f"sector {slug} exists already")
    sector = Sector(
        slug=slug, name=name or slug.replace("-", " ").capitalize(), objective=objective
    )
    session.add(sector)
    session.flush()
    return sector


def ensure_sectors(session: Session, slugs: list[str]) -> list[Sector]:
    """Create the configured sectors that do not exist yet; returns the ones created."""
    created = []
    for slug in slugs:
        if find_sector(session, slug) is None:
            created.append(add_sector(session, slug, objective=DEFAULT_OBJECTIVES.get(slug, "")))
    return created


def unknown_sector(ctx: Context, slug: str) -> list[Action]:
    known = ", ".join(s.slug for s in all_sectors(ctx.session))
    return [
        ctx.reply(
            ctx._("There is no sector {slug}. Sectors: {known}.").format(slug=slug, known=known)
        )
    ]


def _sector_argument(ctx: Context, usage: str) -> Sector | list[Action]:
    """The one sector named in the arguments, or the reply that explains what is wrong."""
    if len(ctx.args) != 1:
        return [ctx.reply(ctx._("Usage: {usage}").format(usage=ctx._(usage)))]
    sector = find_sector(ctx.session, ctx.args[0])
    return sector if sector is not None else unknown_sector(ctx, ctx.args[0])


def list_sectors(ctx: Context) -> list[Action]:
    _, session = ctx._, ctx.session
    sectors = all_sectors(session)
    if not sectors:
        return [ctx.reply(_("No sectors yet. An administrator adds them with polder sectors add."))]
    counts = dict(
        session.exec(
            select(Membership.sector_id, func.count()).group_by(Membership.sector_id)
        ).all()
    )
    mine = set(
        session.exec(select(Membership.sector_id).where(Membership.member_id == ctx.member.id))
    )
    lines = [_("Sectors:")]
    for sector in sectors:
        joined = " " + _("(joined)") if sector.id in mine else ""
        lines.append(
            _("• {slug}: {name}, members: {count}{joined}").format(
                slug=sector.slug, name=sector.name, count=counts.get(sector.id, 0), joined=joined
            )
        )
        objective = sector.objective or _("no objective set yet")
        lines.append("  " + _("Objective: {objective}").format(objective=objective))
    lines.append(_("Join one with /join <sector>."))
    return [ctx.reply("\n".join(lines))]


def join(ctx: Context) -> list[Action]:
    found = _sector_argument(ctx, "/join <sector>")
    if not isinstance(found, Sector):
        return found
    _ = ctx._
    if ctx.session.get(Membership, (ctx.member.id, found.id)):
        return [ctx.reply(_("You are already in {slug}.").format(slug=found.slug))]
    ctx.session.add(Membership(member_id=ctx.member.id, sector_id=found.id))
    text = _("Welcome to {slug}!").format(slug=found.slug)
    if found.objective:
        text += "\n" + _("Objective: {objective}").format(objective=found.objective)
    return [ctx.reply(text)]


def leave(ctx: Context) -> list[Action]:
    found = _sector_argument(ctx, "/leave <sector>")
    if not isinstance(found, Sector):
        return found
    membership = ctx.session.get(Membership, (ctx.member.id, found.id))
    if membership is None:
        return [ctx.reply(ctx._("You are not in {slug}.").format(slug=found.slug))]
    ctx.session.delete(membership)
    return [ctx.reply(ctx._("You left {slug}.").format(slug=found.slug))]


def link(ctx: Context) -> list[Action]:
    """Link the chat (or forum topic) to the sector; the engine has checked the curator."""
    _, event, sector = ctx._, ctx.event, ctx.sector
    assert sector is not None
    if event.private:
        return [
            ctx.reply(
                _("A private chat cannot be linked: run /link in the sector's group channel.")
            )
        ]
    thread_id = event.thread_ref or ""
    channel = ctx.session.exec(
        select(Channel).where(
            Channel.platform == event.platform,
            Channel.chat_id == event.chat_id,
            Channel.thread_id == thread_id,
        )
    ).first()
    if channel is not None and channel.sector_id == sector.id:
        return [ctx.reply(_("This channel is already linked to {slug}.").format(slug=sector.slug))]
    if channel is None:
        channel = Channel(platform=event.platform, chat_id=event.chat_id, thread_id=thread_id)
    channel.sector_id = sector.id  # type: ignore[assignment]
    channel.kind = ChannelKind.SECTOR
    channel.linked_by = ctx.member.id
    ctx.session.add(channel)
    where = f"{event.platform}:{event.chat_id}" + (f" topic {thread_id}" if thread_id else "")
    audit.record(ctx.session, ctx.member, "channel.link", where, sector.slug)
    text = _("This channel is now linked to {slug}: what is said here is heard as {slug}.")
    return [ctx.reply(text.format(slug=sector.slug))]


def linked_channels(session: Session, sector: Sector) -> list[Channel]:
    return list(
        session.exec(
            select(Channel).where(Channel.sector_id == sector.id).order_by(col(Channel.id))
        ).all()
    )


def chat_left(ctx: Context) -> list[Action]:
    """Removed from a group: unlink it (and its topics) and send nothing more there."""
    event = ctx.event
    for channel in ctx.session.exec(
        select(Channel).where(Channel.platform == event.platform, Channel.chat_id == event.chat_id)
    ):
        ctx.session.delete(channel)
    outbox.drop_chat(ctx.session, event.platform, event.chat_id, "the bot left this chat")
    return []


def chat_joined(ctx: Context) -> list[Action]:
    """Added to a group: say what the bot is for and how a curator links the group."""
    text = ctx._(
        "Hello! I am Polder: I carry this group's dialogue to the city's sector ecosystems. "
        "A curator links the group to a sector with /link <sector>; /sectors lists them."
    )
    return [ctx.reply(text)]


FEATURE = Feature(
    name="sectors",
    events={ChatLeft: chat_left, ChatJoined: chat_joined},
    commands=[
        Command("sectors", list_sectors, N_("/sectors"), N_("the sectors and their objectives")),
        Command("join", join, N_("/join <sector>"), N_("join a sector's ecosystem")),
        Command("leave", leave, N_("/leave <sector>"), N_("leave a sector")),
        Command(
            "link",
            link,
            N_("/link <sector>"),
            N_("link this channel to a sector"),
            needs=RoleName.CURATOR,
        ),
    ],
)
