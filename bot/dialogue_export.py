"""A sector's dialogue as open data, for the city's portal (`polder export messages`).

Left out: messages a curator hid, and texts erased by retention or on a member's request
(nothing is left to publish). Authors are named, with their organisation, only when they
consented to open-data exports; anyone else appears by actor type alone, or not at all.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Member, Message, Sector

CSV_COLUMNS = [
    "id",
    "sector",
    "thread",
    "created_at",
    "language",
    "text",
    "author_name",
    "author_organisation",
    "author_actor_type",
]


def export_messages(session: Session, sector: Sector) -> list[dict[str, Any]]:
    """The sector's published messages, oldest first, in one query."""
    rows = session.exec(
        select(Message, Member)
        .outerjoin(Member, col(Member.id) == Message.member_id)
        .where(
            Message.sector_id == sector.id,
            col(Message.hidden_at).is_(None),
            col(Message.text).is_not(None),
        )
        .order_by(col(Message.created_at), col(Message.id))
    ).all()
    return [
        {
            "id": message.id,
            "sector": sector.slug,
            "thread": message.thread_id,
            "created_at": message.created_at.isoformat(),
            "language": message.language,
            "text": message.text,
            "author": public_author(author),
        }
        for message, author in rows
    ]


def public_author(member: Member | None) -> dict[str, str | None]:
    """What open data may say of an author: name and organisation only with their consent."""
    if member is None or member.erased_at is not None:
        return {"name": None, "organisation": None, "actor_type": None}
    actor = member.actor_type.value if member.actor_type else None
    if not member.consent_export:
        return {"name": None, "organisation": None, "actor_type": actor}
    return {"name": member.display_name, "organisation": member.organisation, "actor_type": actor}


def as_json(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, ensure_ascii=False, indent=2) + "\n"


def as_csv(messages: list[dict[str, Any]]) -> str:
    """One row per message; the author's fields in their own columns."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for message in messages:
        author = message["author"]
        writer.writerow(
            {
                **{k: message[k] for k in CSV_COLUMNS[:6]},
                "thread": message["thread"] if message["thread"] is not None else "",
                "language": message["language"] or "",
                "author_name": author["name"] or "",
                "author_organisation": author["organisation"] or "",
                "author_actor_type": author["actor_type"] or "",
            }
        )
    return buffer.getvalue()
