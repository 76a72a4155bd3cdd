"""`polder`: the composition root. It wires settings, database, engine, channels and jobs;
nothing else in `bot/` imports `adapters/` or `scheduled/`."""

from __future__ import annotations

import csv
import enum
import getpass
import io
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import click
import typer
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot import __version__, audit
from bot.config import Settings, SettingsError, load_settings
from bot.engine import Engine
from bot.members import MemberNotFound, find_member, identities_of
from bot.roles import RoleError, grant, revoke
from bot.sectors import SectorError, add_sector, all_sectors, ensure_sectors, find_sector
from storage import migrate
from storage.database import DatabaseURLError, open_engine, transaction
from storage.models import DigestSubscription, Identity, Member, Role, RoleName, Sector

if TYPE_CHECKING:
    from sqlmodel import Session

    from scheduled.polis import ImportResult, PolisExport
    from scheduled.runner import JobRunner

STOP_CHECK_SECONDS = 0.5  # how soon `polder scheduler` notices a stop signal
app = typer.Typer(
    help="Polder: a dialogue bot for a city's sector ecosystems, on Slack and Telegram.",
    no_args_is_help=True,
    add_completion=False,
)
sectors_app = typer.Typer(help="Add and list sectors.", no_args_is_help=True)
roles_app = typer.Typer(
    help="Grant and revoke roles (admin, staff, curator).", no_args_is_help=True
)
export_app = typer.Typer(help="Open data for the city's portal.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
digest_app = typer.Typer(
    help="Weekly digests for staff: subscriptions, and a preview.", no_args_is_help=True
)
app.add_typer(sectors_app, name="sectors")
app.add_typer(roles_app, name="roles")
app.add_typer(db_app, name="db")
app.add_typer(export_app, name="export")
app.add_typer(digest_app, name="digest")
import_app = typer.Typer(help="Import dialogue from elsewhere.", no_args_is_help=True)
app.add_typer(import_app, name="import")
members_app = typer.Typer(
    help="Members' data rights: a copy of their data, or forgetting them.", no_args_is_help=True
)
app.add_typer(members_app, name="members")


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"polder: {message}", err=True)
    raise typer.Exit(code)


def sector_or_fail(session: Session, slug: str, hint: str = "") -> Sector:
    """The sector named `slug`, or exit 2 listing the known ones (then `hint`)."""
    sector = find_sector(session, slug)
    if sector is None:
        known = ", ".join(s.slug for s in all_sectors(session))
        fail(f"there is no sector {slug!r}; sectors: {known}{hint}")
    return sector


def settings() -> Settings:
    try:
        loaded = load_settings()
    except SettingsError as exc:
        fail(f"a setting is wrong:\n{exc}")
    logging.basicConfig(
        level=loaded.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # These libraries log request URLs (at INFO or DEBUG), and Telegram's URLs carry the bot
    # token: nothing secret is ever logged, whatever POLDER_LOG_LEVEL says.
    for chatty in ("httpx", "httpcore", "telegram", "hpack", "slack_sdk", "slack_bolt"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return loaded


def database(config: Settings, *, upgrade: bool = True) -> DatabaseEngine:
    """The database, migrated to the current schema and holding the default sectors."""
    engine, _ = _open_database(config, upgrade)
    return engine


def _open_database(config: Settings, upgrade: bool) -> tuple[DatabaseEngine, list[str]]:
    try:
        engine = open_engine(config.database_url)
    except DatabaseURLError as exc:
        fail(f"POLDER_DATABASE_URL: {exc}")
    if not upgrade:
        return engine, []
    try:
        applied = migrate.upgrade(engine)
    except Exception as exc:  # the driver's own error text says what the server said
        fail(f"cannot open the database {engine.url.render_as_string()}: {exc}")
    for attempt in range(3):
        # Two processes starting at once may both create a default sector: one wins.
        try:
            with transaction(engine) as session:
                ensure_sectors(session, config.default_sectors)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    return engine, applied


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"polder {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    pass


@app.command()
def run(
    name: Annotated[
        str | None, typer.Option("--as", help="Your name in the console channel.")
    ] = None,
) -> None:
    """Start every configured channel; with none configured, the console channel."""
    config = settings()
    db = database(config)
    if config.telegram_token or config.slack_bot_token:
        import asyncio

        from adapters.serve import serve

        if config.telegram_token:
            mode = "webhook" if config.telegram_webhook else "long polling"
            typer.echo(f"Starting the Telegram channel ({mode}).")
        if config.slack_bot_token:
            mode = "Socket Mode" if config.slack_app_token else "HTTP at /slack/events"
            typer.echo(f"Starting the Slack channel ({mode}).")
        typer.echo("Ctrl-C stops them.")
        with _job_runner(config, db):
            asyncio.run(serve(Engine(db, config), db, config))
        return
    typer.echo("No Slack or Telegram settings found: starting the console channel.")
    with _job_runner(config, db):  # closes polls at their deadline while the console runs
        _chat(config, db, name or _local_name(), room=None)


@app.command()
def scheduler() -> None:
    """Run the scheduled jobs alone (polls closed at their deadline, reminders, digests) until
    Ctrl-C or SIGTERM. `polder run` runs them too; of several runners on one database, one
    runs the jobs and the others stand by to take over."""
    config = settings()
    runner = _job_runner(config, database(config))
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    runner.start()
    typer.echo(
        "Scheduler running: polls close at their deadline, digests go out on their schedule. "
        "Ctrl-C stops it."
    )
    try:
        while not stop.wait(STOP_CHECK_SECONDS):
            pass
    finally:
        runner.stop()
    typer.echo("Scheduler stopped.")


def _job_runner(config: Settings, db: DatabaseEngine) -> JobRunner:
    from scheduled.runner import JobRunner

    # APScheduler logs every run of every job at INFO: the sweep would fill the terminal.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return JobRunner(db, config)


@app.command()
def chat(
    name: Annotated[str, typer.Option("--as", help="Who you are: one name per member.")],
    room: Annotated[
        str | None,
        typer.Option(help="A shared room (like a group chat) instead of a private chat."),
    ] = None,
    charts: Annotated[
        Path | None,
        typer.Option(help="A folder to save poll and digest charts in, as PNG images."),
    ] = None,
) -> None:
    """Talk to the bot in this terminal. Piped input: one message per line, then exit."""
    config = settings()
    _chat(config, database(config), name, room, charts)


def _chat(
    config: Settings, db: DatabaseEngine, name: str, room: str | None, charts: Path | None = None
) -> None:
    from adapters.console import ConsoleChannel

    try:
        channel = ConsoleChannel(Engine(db, config), db, name, room, charts=charts)
    except ValueError as exc:
        fail(str(exc))
    if sys.stdin.isatty():
        channel.run_interactive()
    else:
        channel.run_script(sys.stdin)


def _local_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "you"


@sectors_app.command("list")
def sectors_list() -> None:
    """List the sectors with their objectives."""
    config = settings()
    with transaction(database(config)) as session:
        for sector in all_sectors(session):
            typer.echo(f"{sector.slug}\t{sector.name}\t{sector.objective or '-'}")


@sectors_app.command("add")
def sectors_add(
    slug: Annotated[str, typer.Argument(help="Short name, e.g. housing or circular-economy.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    objective: Annotated[str, typer.Option(help="What the dialogue in this sector is for.")] = "",
) -> None:
    """Add a sector."""
    config = settings()
    try:
        with transaction(database(config)) as session:
            sector = add_sector(session, slug, name, objective)
            audit.record(session, None, "sector.add", sector.slug, sector.name)
    except SectorError as exc:
        fail(str(exc))
    typer.echo(f"added sector {sector.slug} ({sector.name})")


def _role_target(
    session: object, member_ref: str, role: str, sector_slug: str | None, create: bool
) -> tuple[Member, RoleName, Sector | None]:
    from sqlmodel import Session

    assert isinstance(session, Session)
    try:
        role_name = RoleName(role.lower())
    except ValueError:
        fail(f"unknown role {role!r}: use one of {', '.join(r.value for r in RoleName)}")
    sector = None
    if sector_slug:
        sector = sector_or_fail(session, sector_slug)
    try:
        member = find_member(session, member_ref)
    except MemberNotFound as exc:
        platform, sep, user_id = member_ref.partition(":")
        if not create:
            fail(str(exc))
        if not (sep and platform and user_id):
            fail(
                f"{exc}. A member exists once they have written to the bot; or name a platform "
                "account, e.g. telegram:123456789 or console:alice, to grant ahead of time."
            )
        member = Member(display_name=user_id)
        session.add(member)
        session.flush()
        session.add(Identity(member_id=member.id, platform=platform, platform_user_id=user_id))
    return member, role_name, sector


@roles_app.command("grant")
def roles_grant(
    member: Annotated[str, typer.Argument(help="#id, platform:user-id, or display name.")],
    role: Annotated[str, typer.Argument(help="admin, staff or curator.")],
    sector: Annotated[str | None, typer.Option(help="The sector, for curator.")] = None,
) -> None:
    """Grant a role to a member."""
    config = settings()
    with transaction(database(config)) as session:
        target, role_name, where = _role_target(session, member, role, sector, create=True)
        try:
            added = grant(session, target, role_name, where)
        except RoleError as exc:
            fail(str(exc))
        scope = f" of {where.slug}" if where else ""
        who = f"{target.display_name} (#{target.id})"
        verb = "is now" if added else "already was"
        typer.echo(f"{who} {verb} {role_name.value}{scope}")


@roles_app.command("revoke")
def roles_revoke(
    member: Annotated[str, typer.Argument(help="#id, platform:user-id, or display name.")],
    role: Annotated[str, typer.Argument(help="admin, staff or curator.")],
    sector: Annotated[str | None, typer.Option(help="The sector, for curator.")] = None,
) -> None:
    """Revoke a role from a member."""
    config = settings()
    with transaction(database(config)) as session:
        target, role_name, where = _role_target(session, member, role, sector, create=False)
        try:
            removed = revoke(session, target, role_name, where)
        except RoleError as exc:
            fail(str(exc))
        scope = f" of {where.slug}" if where else ""
        who = f"{target.display_name} (#{target.id})"
        verb = "is no longer" if removed else "was not"
        typer.echo(f"{who} {verb} {role_name.value}{scope}")


@roles_app.command("list")
def roles_list() -> None:
    """Everyone who holds a role."""
    config = settings()
    with transaction(database(config)) as session:
        rows = session.exec(
            select(Role, Member, Sector)
            .join(Member, Role.member_id == Member.id)
            .join(Sector, Role.sector_id == Sector.id, isouter=True)
            .order_by(Role.role, Member.display_name)
        ).all()
        for role, member, sector in rows:
            accounts = ",".join(
                f"{i.platform}:{i.platform_user_id}" for i in identities_of(session, member)
            )
            scope = sector.slug if sector else "-"
            typer.echo(
                f"{role.role.value}\t{scope}\t#{member.id} {member.display_name}\t{accounts}"
            )


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"


@export_app.command("ideas")
def export_ideas_command(
    export_format: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")],
    sector: Annotated[str | None, typer.Option(help="Only this sector's ideas.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout).")] = None,
) -> None:
    """Every idea with its status history; names only of members who consented to exports."""
    from bot.ideas import export_ideas

    config = settings()
    with transaction(database(config)) as session:
        where = None
        if sector:
            where = sector_or_fail(session, sector)
        ideas = export_ideas(session, where)
    text = ideas_json(ideas) if export_format is ExportFormat.JSON else ideas_csv(ideas)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(ideas)} ideas written to {out}", err=True)


def ideas_json(ideas: list[dict[str, Any]]) -> str:
    return json.dumps(ideas, ensure_ascii=False, indent=2) + "\n"


def ideas_csv(ideas: list[dict[str, Any]]) -> str:
    """One row per idea; lists joined with ';', the history as JSON in its own column."""
    buffer = io.StringIO()
    columns = [
        "code",
        "sector",
        "title",
        "description",
        "status",
        "partners_needed",
        "needs",
        "language",
        "submitted_at",
        "submitter_name",
        "submitter_organisation",
        "submitter_actor_type",
        "history",
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for idea in ideas:
        person = idea["submitter"]
        writer.writerow(
            {
                **{k: idea[k] for k in ("code", "sector", "title", "description", "status")},
                "partners_needed": ";".join(idea["partners_needed"]),
                "needs": ";".join(idea["needs"]),
                "language": idea["language"] or "",
                "submitted_at": idea["submitted_at"],
                "submitter_name": person["name"] or "",
                "submitter_organisation": person["organisation"] or "",
                "submitter_actor_type": person["actor_type"] or "",
                "history": json.dumps(idea["history"], ensure_ascii=False),
            }
        )
    return buffer.getvalue()


@export_app.command("messages")
def export_messages_command(
    sector: Annotated[str, typer.Option(help="The sector whose dialogue is exported.")],
    export_format: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = (
        ExportFormat.CSV
    ),
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout).")] = None,
) -> None:
    """A sector's dialogue, without hidden messages; names only of members who consented."""
    from bot.dialogue_export import as_csv, as_json, export_messages

    config = settings()
    with transaction(database(config)) as session:
        where = sector_or_fail(session, sector)
        messages = export_messages(session, where)
    text = as_json(messages) if export_format is ExportFormat.JSON else as_csv(messages)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(messages)} messages of {where.slug} written to {out}", err=True)


@app.command("audit")
def audit_log(
    since: Annotated[
        str | None, typer.Option(help="From this day on: YYYY-MM-DD, in POLDER_TIMEZONE.")
    ] = None,
    action: Annotated[
        str | None, typer.Option(help="Only actions that start with this: role, message.hide.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 100,
) -> None:
    """Who did what and when, newest first: every curator, staff and admin action."""
    from datetime import UTC, date, datetime, time

    from bot.audit import entries

    config = settings()
    start = None
    if since is not None:
        try:
            start = datetime.combine(date.fromisoformat(since), time(), tzinfo=config.zone)
        except ValueError:
            fail(f"--since {since!r}: use a date such as 2026-11-16")
    with transaction(database(config)) as session:
        found = entries(session, start.astimezone(UTC) if start else None, action, limit)
        actors = {
            m.id: m
            for m in session.exec(
                select(Member).where(
                    Member.id.in_(sorted({e.actor_id for e in found if e.actor_id}))  # type: ignore[union-attr]
                )
            )
        }
        for entry in found:
            actor = actors.get(entry.actor_id) if entry.actor_id else None
            if actor is None:
                who = "command line"
            elif actor.erased_at is not None:
                who = f"(forgotten #{actor.id})"
            else:
                who = f"{actor.display_name} (#{actor.id})"
            at = entry.at.astimezone(config.zone)
            fields = [f"{at:%Y-%m-%d %H:%M:%S %Z}", who, entry.action, entry.target, entry.detail]
            typer.echo("\t".join(" ".join(f.split()) or "-" for f in fields))
    if not found:
        typer.echo("no audit entries" + (" match" if since or action else " yet"), err=True)


PLATFORMS = ("telegram", "slack", "console")


@digest_app.command("subscribe")
def digest_subscribe(
    sector: Annotated[str, typer.Argument(help="A sector's slug, or all.")],
    cron: Annotated[
        str,
        typer.Argument(
            help="When, in POLDER_TIMEZONE: minute hour day month weekday, quoted. "
            "Default: '0 8 * * 1', Mondays at 08:00."
        ),
    ] = "",
    channel: Annotated[
        str | None,
        typer.Option(help="A staff channel: telegram:CHAT_ID, slack:CHANNEL_ID or console:#room."),
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="A forum topic (Telegram) or thread in the channel.")
    ] = None,
    folder: Annotated[
        Path | None, typer.Option(help="A folder to write each digest to, as an HTML file.")
    ] = None,
    language: Annotated[str, typer.Option(help="The digest's language.")] = "en",
) -> None:
    """Send a sector's weekly digest (or every sector's) to a staff channel or a folder."""
    from bot.cron import CronError
    from bot.digests import ALL, FOLDER, subscribe

    config = settings()
    if (channel is None) == (folder is None):
        fail("say where the digests go: --channel PLATFORM:CHAT or --folder DIR (one of them)")
    if language not in config.languages:
        fail(f"--language: use one of {', '.join(config.languages)}")
    if folder is not None:
        platform, chat_id, topic = FOLDER, str(folder.expanduser().resolve()), None
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot use the folder {folder}: {exc}")
    else:
        assert channel is not None
        platform, _, chat_id = channel.partition(":")
        if platform not in PLATFORMS or not chat_id:
            fail(f"--channel {channel!r}: use telegram:CHAT_ID, slack:CHANNEL_ID or console:#room")
    with transaction(database(config)) as session:
        where = None
        if sector.lower() != ALL:
            where = sector_or_fail(session, sector, ", or all")
        try:
            subscription, created = subscribe(
                session,
                config.zone,
                platform=platform,
                chat_id=chat_id,
                thread_ref=topic,
                sector=where,
                cron=cron,
                language=language,
            )
        except CronError as exc:
            fail(str(exc))
        line = _subscription_line(config, subscription, where)
        audit.record(session, None, "digest.subscribe", f"subscription #{subscription.id}", line)
    verb = "subscribed" if created else "changed"
    typer.echo(f"{verb} #{subscription.id}: {line}")


def _subscription_line(
    config: Settings, subscription: DigestSubscription, sector: Sector | None
) -> str:
    """'mobility to console:#staff at '0 8 * * 1', next 2026-11-30 08:00 (Europe/...)'."""
    from bot.digests import ALL, destination, next_digest
    from bot.polls import shown_time

    when = next_digest(subscription, config.zone)
    shown = shown_time(when, config.zone) if when else "-"
    what = sector.slug if sector else ALL
    return f"{what} to {destination(subscription)} at '{subscription.cron}', next {shown}"


@digest_app.command("list")
def digest_list() -> None:
    """The digest subscriptions: sector, where to, schedule, next and last digest."""
    from bot.digests import last_period, subscriptions

    config = settings()
    with transaction(database(config)) as session:
        for subscription, sector in subscriptions(session):
            line = _subscription_line(config, subscription, sector)
            last = last_period(session, subscription)
            typer.echo(f"#{subscription.id}\t{line}" + (f", last for {last}" if last else ""))


@digest_app.command("unsubscribe")
def digest_unsubscribe(
    subscription_id: Annotated[str, typer.Argument(metavar="ID", help="#id, as listed.")],
) -> None:
    """Stop a digest subscription."""
    from bot.digests import cancel, destination

    config = settings()
    with transaction(database(config)) as session:
        subscription = cancel(session, subscription_id)
        if subscription is None:
            fail(f"there is no subscription {subscription_id}; polder digest list shows them")
        audit.record(session, None, "digest.unsubscribe", f"subscription #{subscription.id}")
        typer.echo(f"unsubscribed #{subscription.id} ({destination(subscription)})")


@digest_app.command("preview")
def digest_preview(
    sector: Annotated[str, typer.Option(help="The sector.")],
    week: Annotated[
        str | None,
        typer.Option(
            help="An ISO week such as 2026-W47. Default: the last complete week, or the "
            "latest week with activity when that one is empty."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write to this file: HTML for .html, else Markdown (default: stdout)."),
    ] = None,
    language: Annotated[str, typer.Option(help="The digest's language.")] = "en",
) -> None:
    """Show a sector's digest without sending it."""
    from scheduled.digests import preview
    from scheduled.render import to_html, to_markdown

    config = settings()
    if language not in config.languages:
        fail(f"--language: use one of {', '.join(config.languages)}")
    with transaction(database(config)) as session:
        where = sector_or_fail(session, sector)
        try:
            digest = preview(session, where, config.zone, week)
        except ValueError as exc:
            fail(f"--week {week!r}: {exc}; use an ISO week such as 2026-W47")
    as_html = out is not None and out.suffix.lower() in (".html", ".htm")
    text = to_html(digest, language) if as_html else to_markdown(digest, language)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"digest of {where.slug} for {digest.label} written to {out}", err=True)


MEMBER_HELP = "#id, platform:user-id, or display name."


def _member_or_fail(session: Session, ref: str) -> Member:
    try:
        return find_member(session, ref)
    except MemberNotFound as exc:
        fail(f"{exc}; name a member as #12, telegram:123456789 or a display name")


@members_app.command("export")
def members_export(
    member: Annotated[str, typer.Argument(help=MEMBER_HELP)],
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout).")] = None,
) -> None:
    """Everything Polder holds about a member, as JSON: for a request that came by mail."""
    from bot.mydata import counts, export_member, to_json

    config = settings()
    with transaction(database(config)) as session:
        target = _member_or_fail(session, member)
        data = export_member(session, target)
    text = to_json(data)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc}")
    found = counts(data)
    typer.echo(
        f"member #{target.id}: {found['messages']} messages, {found['ideas']} ideas, "
        f"{found['votes']} votes written to {out}",
        err=True,
    )


def _confirmed(question: str) -> bool:
    """A yes from the person at the terminal; no answer (end of input) is a no."""
    try:
        return typer.confirm(question, default=False)
    except (typer.Abort, click.exceptions.Abort):
        typer.echo("", err=True)
        return False


@members_app.command("forget")
def members_forget(
    member: Annotated[str, typer.Argument(help=MEMBER_HELP)],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a member's personal data (as /forget does), for a request that came by mail."""
    from bot.forget import forget_member

    config = settings()
    db = database(config)
    with transaction(db) as session:
        target = _member_or_fail(session, member)
        accounts = ", ".join(
            f"{i.platform}:{i.platform_user_id}" for i in identities_of(session, target)
        )
    if target.erased_at is not None:
        typer.echo(f"member #{target.id} was already forgotten ({target.erased_at:%Y-%m-%d})")
        return
    # Asked outside any transaction: a database lock is never held while a person reads.
    who = f"member #{target.id}, {target.display_name} ({accounts or 'no accounts'})"
    if not yes and not _confirmed(f"Forget {who}? This cannot be undone"):
        typer.echo("Nothing was erased.", err=True)
        raise typer.Exit(1)
    with transaction(db) as session:
        again = session.get(Member, target.id)
        assert again is not None
        result = forget_member(session, again, None, "by an administrator (command line)")
    typer.echo(f"member #{target.id} forgotten; erased or unlinked: {result.describe()}")


@import_app.command("polis")
def import_polis(
    folder: Annotated[Path, typer.Argument(help="A Polis export folder (comments.csv, ...).")],
    sector: Annotated[str, typer.Option(help="The sector whose dialogue it becomes.")],
) -> None:
    """Load a Polis conversation as a sector's dialogue: one thread, its statements and votes."""
    from scheduled.polis import PolisFormatError, read_export

    try:
        export = read_export(folder)
    except PolisFormatError as exc:
        fail(str(exc))
    config = settings()
    with transaction(database(config)) as session:
        where = sector_or_fail(session, sector, " (polder sectors add makes one)")
        result = _import_with_progress(session, where, export)
    typer.echo(
        f"{where.slug}: thread #{result.thread_id} {export.topic!r}: "
        f"{result.messages_added} statements added, {result.already_there} already there, "
        f"{result.moderated_out} moderated out left out; {result.members_added} members added"
    )


def _import_with_progress(session: Session, sector: Sector, export: PolisExport) -> ImportResult:
    """Import one export with a progress bar on stderr."""
    from scheduled.polis import import_export

    with typer.progressbar(
        length=len(export.kept), label=f"{export.folder.name} -> {sector.slug}", file=sys.stderr
    ) as bar:
        return import_export(session, sector, export, progress=bar.update)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the digests are written.")] = Path("polder-demo"),
    polis: Annotated[
        Path | None,
        typer.Option(
            help="Polis export folders to use (default: ../shared/data/polis/ when present, "
            "else the sample shipped with Polder)."
        ),
    ] = None,
    language: Annotated[str, typer.Option(help="The digests' language.")] = "en",
) -> None:
    """Build a demo city from Polis conversations and write each sector's digest as HTML."""
    from scheduled.digest import build_digest, week_bounds
    from scheduled.polis import (
        ATTRIBUTION,
        SAMPLE,
        PolisFormatError,
        busiest_week,
        default_source,
        demo_sector,
        export_folders,
        read_export,
    )
    from scheduled.render import to_html

    config = settings()
    if language not in config.languages:
        fail(f"--language: use one of {', '.join(config.languages)}")
    source = polis or default_source(Path(__file__).resolve().parents[1])
    if not source.is_dir() or not export_folders(source):
        fail(f"{source} holds no Polis export folders (with comments.csv, votes.csv, ...)")
    try:
        exports = [read_export(folder) for folder in export_folders(source)]
    except PolisFormatError as exc:
        fail(str(exc))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot use the folder {out}: {exc}")
    typer.echo(f"demo city from {source}", err=True)
    db = database(config)
    written: list[Path] = []
    for export in exports:
        plan = demo_sector(export.folder, export.topic)
        with transaction(db) as session:
            where = find_sector(session, plan.slug) or add_sector(
                session, plan.slug, plan.name, plan.objective
            )
            _import_with_progress(session, where, export)
            week = busiest_week(session, where, config.zone)
            if week is None:
                continue
            start, end = week_bounds(week, config.zone)
            digest = build_digest(session, where, start, end, config.zone)
            path = out / f"{where.slug}-{week}.html"
        path.write_text(to_html(digest, language), encoding="utf-8")
        written.append(path)
    if source.resolve() == SAMPLE.resolve():
        typer.echo("The sample shipped with Polder: invented statements, in the Polis format.")
    else:
        typer.echo(ATTRIBUTION)
    typer.echo(f"{len(written)} digests written to {out.resolve()}:")
    for path in written:
        typer.echo(f"  {path}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the current schema (also done at every start)."""
    engine, applied = _open_database(settings(), upgrade=True)
    revision = migrate.current_revision(engine)
    if applied:
        typer.echo(f"database upgraded to {revision} (applied {', '.join(applied)})")
    else:
        typer.echo(f"database is up to date (revision {revision})")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database, and the newest one Polder knows."""
    config = settings()
    db = database(config, upgrade=False)
    typer.echo(
        f"database: {migrate.current_revision(db) or 'empty'}; polder: {migrate.head_revision()}"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
