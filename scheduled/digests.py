"""Digest jobs: which subscriptions are due, and sending each digest exactly once.

What is due is worked out from the rows at every sweep, never kept in a job store: for each
active subscription, the first time its cron names in the current week (in POLDER_TIMEZONE),
or else in the week before, that is past and not before the subscription was made. That
time makes the week before it due. A digest covers one ISO week, so however often a cron
fires in a week, the week before goes out once, at the first of them; a runner that was down
sends the latest one it missed when it comes back, not every one.

Exactly once: a `digest_issues` row, unique per subscription, sector and week, is inserted
(ON CONFLICT DO NOTHING) in the transaction that queues the message in the outbox or writes
the file. Whoever inserts it sends; anyone else finds it there. A crash while sending repeats
at most the one outbox message in flight, never the digest.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine as DatabaseEngine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.actions import Action, PostChart, PostDigest
from bot.config import Settings
from bot.cron import CronError, next_time, read_cron
from bot.digests import FOLDER, destination
from bot.outgoing import enqueue
from scheduled.charts import ChartData
from scheduled.digest import (
    Digest,
    build_digest,
    last_complete_week,
    latest_active_week,
    week_bounds,
    week_of,
)
from scheduled.render import Part, to_html, to_parts
from storage.database import transaction
from storage.models import DigestIssue, DigestSubscription, Sector
from storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    """One digest to send: a subscription's sector for a week, made due at `due_at`."""

    subscription_id: int
    sector_id: int
    period: str
    due_at: datetime


def due_period(
    trigger: CronTrigger, since: datetime, zone: ZoneInfo, now: datetime
) -> tuple[str, datetime] | None:
    """The week a schedule makes due at `now`, and the time that made it due; None when
    no time of this week or the last has come yet (counting only from `since`)."""
    for week in (week_of(now, zone), last_complete_week(now, zone)):
        start, end = week_bounds(week, zone)
        fired = next_time(trigger, max(start, since))
        if fired is not None and fired <= now and fired < end:
            return last_complete_week(fired, zone), fired
    return None


def due(session: Session, zone: ZoneInfo, now: datetime) -> list[Due]:
    """Every digest due at `now` and not sent yet, oldest subscription first."""
    sectors = [int(i) for i in session.exec(select(Sector.id).order_by(col(Sector.id))) if i]
    found: list[Due] = []
    active = select(DigestSubscription).where(col(DigestSubscription.active).is_(True))
    for subscription in session.exec(active.order_by(col(DigestSubscription.id))):
        try:
            trigger = read_cron(subscription.cron, zone)
        except CronError as exc:  # only a row written by hand gets here
            log.warning("subscription #%s has an unreadable cron: %s", subscription.id, exc)
            continue
        made_due = due_period(trigger, subscription.created_at, zone, now)
        if made_due is None:
            continue
        period, due_at = made_due
        sent = set(
            session.exec(
                select(DigestIssue.sector_id).where(
                    DigestIssue.subscription_id == subscription.id, DigestIssue.period == period
                )
            )
        )
        wanted = [subscription.sector_id] if subscription.sector_id else sectors
        found += [
            Due(int(subscription.id), sector_id, period, due_at)  # type: ignore[arg-type]
            for sector_id in wanted
            if sector_id not in sent
        ]
    return found


class Failures(dict[Due, datetime]):
    """Digests that failed, with when to try again: a folder that cannot be written is
    retried every minute, not at every sweep, so the log says it once a minute."""

    RETRY_AFTER = timedelta(minutes=1)

    def waiting(self, item: Due, now: datetime) -> bool:
        return item in self and now < self[item]


def run_due(
    database: DatabaseEngine,
    settings: Settings,
    now: datetime | None = None,
    failures: Failures | None = None,
) -> int:
    """One sweep: send every digest that is due, each in its own transaction, so one that
    fails is tried again later and holds up no other. Returns how many it sent."""
    now = now or utcnow()
    failures = Failures() if failures is None else failures
    with transaction(database) as session:
        todo = [
            item for item in due(session, settings.zone, now) if not failures.waiting(item, now)
        ]
    sent = 0
    for item in todo:
        try:
            with transaction(database) as session:
                sent += send(session, item, settings.zone)
            failures.pop(item, None)
        except Exception as exc:  # a folder that cannot be written, a digest that fails
            failures[item] = now + Failures.RETRY_AFTER
            log.error(
                "digest of sector #%s for %s (subscription #%s) not sent, retrying in a minute: %s",
                item.sector_id,
                item.period,
                item.subscription_id,
                exc,
                exc_info=not isinstance(exc, OSError),  # the traceback of a bug, not of a disk
            )
    return sent


def send(session: Session, item: Due, zone: ZoneInfo) -> bool:
    """Claim the digest by its unique row and send it, in the caller's transaction; False
    when it was sent already."""
    issue_id = claim(session, item)
    if issue_id is None:
        return False
    subscription = session.get(DigestSubscription, item.subscription_id)
    sector = session.get(Sector, item.sector_id)
    issue = session.get(DigestIssue, issue_id)
    assert subscription is not None and sector is not None and issue is not None
    start, end = week_bounds(item.period, zone)
    digest = build_digest(session, sector, start, end, zone)
    if subscription.platform == FOLDER:
        html = to_html(digest, subscription.language)
        issue.path = str(write_file(Path(subscription.chat_id), file_name(sector, item), html))
    else:
        parts = to_parts(digest, subscription.language)
        actions = digest_actions(subscription, sector.slug, item.period, parts)
        entries = enqueue(session, actions, in_order=True)
        session.flush()
        issue.outbox_id = entries[0].id
    session.add(issue)
    log.info(
        "digest of %s for %s sent to %s (subscription #%s)",
        sector.slug,
        item.period,
        destination(subscription),
        subscription.id,
    )
    return True


def digest_actions(
    subscription: DigestSubscription,
    sector: str,
    period: str,
    parts: list[Part | ChartData],
) -> list[Action]:
    """The outbox actions of a digest's parts and charts, for the subscribed chat."""
    where = {
        "platform": subscription.platform,
        "chat_id": subscription.chat_id,
        "thread_ref": subscription.thread_ref,
    }
    actions: list[Action] = []
    for item in parts:
        if isinstance(item, Part):
            actions.append(
                PostDigest(
                    **where,
                    sector=sector,
                    period=period,
                    part=item.number,
                    parts=item.of,
                    heading=item.heading,
                    blocks=item.blocks,
                )
            )
        else:
            fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
            del fields["rows"]
            actions.append(PostChart(**where, **fields, table=item.table))
    return actions


def claim(session: Session, item: Due) -> int | None:
    """Insert the digest's row; its id, or None when it is there already. On PostgreSQL a
    concurrent insert of the same row waits for the other transaction, then finds it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(DigestIssue)
        .values(
            subscription_id=item.subscription_id,
            sector_id=item.sector_id,
            period=item.period,
            due_at=item.due_at,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "sector_id", "period"])
        .returning(DigestIssue.id)
    )
    row = session.execute(statement).first()
    return None if row is None else int(row[0])


def file_name(sector: Sector, item: Due) -> str:
    return f"{sector.slug}-{item.period}.html"


def write_file(folder: Path, name: str, text: str) -> Path:
    """Write `name` in `folder` whole or not at all: a temporary file renamed into place, so
    a reader (or a crash) never sees half a digest, and writing it again replaces it."""
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        target = folder / name
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def preview(
    session: Session, sector: Sector, zone: ZoneInfo, week: str | None, now: datetime | None = None
) -> Digest:
    """The digest of `week`; without one, of the last complete week, or of the latest week
    with activity when that one is empty (a quiet sector still shows something to look at).
    A ValueError when `week` is not an ISO week such as 2026-W47."""
    if week is None:
        week = last_complete_week(now or utcnow(), zone)
        digest = build_digest(session, sector, *week_bounds(week, zone), zone)
        active = latest_active_week(session, sector, zone)
        if digest.messages or active is None or active == week:
            return digest
        week = active
    return build_digest(session, sector, *week_bounds(week, zone), zone)
