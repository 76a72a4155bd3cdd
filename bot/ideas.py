"""Ideas: a member's idea goes in through a short form (asked one field at a time, or as one
dialog), gets a short code, shows similar ideas and possible partners, and moves through the
pipeline (new, under review, to testbed, piloting, done, declined) with the submitter told."""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session, col, select

from bot import audit, conversation, language
from bot.access import allows, refuse
from bot.actions import Action, FormErrors, Notify
from bot.context import Command, Context, Feature
from bot.events import FormSubmitted
from bot.forms import FieldKind, Form, FormField, check, check_all
from bot.i18n import N_, translator
from bot.language import reply_language
from bot.profile import ACTOR_LABELS
from bot.sectors import all_sectors, find_sector, unknown_sector
from bot.similarity import similar
from storage.models import (
    ActorType,
    Idea,
    IdeaChange,
    IdeaStatus,
    Identity,
    Member,
    Membership,
    RoleName,
    Sector,
)
from storage.types import utcnow

FLOW = "idea"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud, typed on phones
CODE_LENGTH = 4
SIMILAR_SHOWN = 3
PARTNERS_SHOWN = 5

NEED_LABELS = {"testbed": N_("a testbed"), "funding": N_("funding"), "data": N_("data")}
STATUS_LABELS = {
    IdeaStatus.NEW: N_("new"),
    IdeaStatus.UNDER_REVIEW: N_("under review"),
    IdeaStatus.TO_TESTBED: N_("to testbed"),
    IdeaStatus.PILOTING: N_("piloting"),
    IdeaStatus.DONE: N_("done"),
    IdeaStatus.DECLINED: N_("declined"),
}
STATUS_WORDS = {"review": IdeaStatus.UNDER_REVIEW, "testbed": IdeaStatus.TO_TESTBED}


def sector_choices(ctx: Context) -> list[tuple[str, str]]:
    return [(s.slug, s.slug) for s in all_sectors(ctx.session)]


def partner_choices(ctx: Context) -> list[tuple[str, str]]:
    return [(actor.value, ctx._(label)) for actor, label in ACTOR_LABELS.items()]


def need_choices(ctx: Context) -> list[tuple[str, str]]:
    return [(value, ctx._(label)) for value, label in NEED_LABELS.items()]


IDEA_FORM = Form(
    name=FLOW,
    fields=[
        FormField("title", N_("What is your idea? Give it a short title."), max_length=120),
        FormField(
            "description",
            N_("Describe it: what would it change, for whom, and how would it work?"),
            min_length=20,
            max_length=4000,
        ),
        FormField(
            "sector", N_("Which sector is it for?"), FieldKind.CHOICE, choices=sector_choices
        ),
        FormField(
            "partners",
            N_("Which partners would it need?"),
            FieldKind.CHOICES,
            choices=partner_choices,
            optional=True,
        ),
        FormField(
            "needs",
            N_("What else would it need?"),
            FieldKind.CHOICES,
            choices=need_choices,
            optional=True,
        ),
    ],
)


# --- intake -----------------------------------------------------------------------------------


def question(ctx: Context, field: FormField) -> Action:
    choices = field.choices(ctx) if field.choices else None
    if field.kind is FieldKind.CHOICES:
        hint = ctx._("Give the numbers of all that apply, like 1 3; /skip for none; /cancel stops.")
    elif field.kind is FieldKind.CHOICE:
        hint = ctx._("Answer with a number or a word from the list; /cancel stops the form.")
    else:
        hint = ctx._("Write your answer; /cancel stops the form.")
    return conversation.ask(ctx, ctx._(field.question), choices, hint)


def start(ctx: Context) -> list[Action]:
    if not ctx.event.private:
        return [ctx.reply(ctx._("Ideas are filled in privately: write /idea to me directly."))]
    first = IDEA_FORM.fields[0]
    conversation.start(ctx, FLOW, first.name)
    intro = ctx._("A new idea! A few questions, one at a time; /cancel stops at any point.")
    return [ctx.reply(intro), question(ctx, first)]


def answer(ctx: Context, said: str | None) -> list[Action]:
    """The member's answer to the form's current field (None: /skip)."""
    assert ctx.conversation is not None
    field = IDEA_FORM.field(ctx.conversation.step)
    if said is None and not field.optional:
        return [
            ctx.reply(ctx._("This one is needed; /cancel stops the form.")),
            question(ctx, field),
        ]
    value, problem = ([], None) if said is None else check(ctx, field, said)
    if problem:
        return [ctx.reply(problem), question(ctx, field)]
    following = IDEA_FORM.after(field.name)
    if following is not None:
        conversation.advance(ctx, following.name, **{field.name: value})
        return [question(ctx, following)]
    values = {**ctx.conversation.data, field.name: value}
    conversation.finish(ctx)
    return submitted(ctx, values)


def submit_dialog(ctx: Context) -> list[Action]:
    """The whole form from a dialog: errors go back to it, a valid idea is taken in."""
    event = ctx.event
    assert isinstance(event, FormSubmitted)
    values, errors = check_all(ctx, IDEA_FORM, dict(event.values))
    if errors:
        return [
            FormErrors(platform=event.platform, chat_id=event.chat_id, form=FLOW, errors=errors)
        ]
    return submitted(ctx, values)


def new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.exec(select(Idea.id).where(Idea.code == code)).first() is None:
            return code


def submitted(ctx: Context, values: dict[str, Any]) -> list[Action]:
    _, session = ctx._, ctx.session
    sector = find_sector(session, values["sector"])
    if sector is None:  # removed while the form was being filled in
        return unknown_sector(ctx, values["sector"])
    detected = language.detect(f"{values['title']}. {values['description']}")
    idea = Idea(
        code=new_code(session),
        sector_id=sector.id,
        title=values["title"],
        description=values["description"],
        partners=list(values.get("partners") or []),
        needs=list(values.get("needs") or []),
        language=detected.language if detected else ctx.member.language,
        submitted_by=ctx.member.id,
        platform=ctx.event.platform,
    )
    session.add(idea)
    session.flush()
    session.add(IdeaChange(idea_id=idea.id, status_to=IdeaStatus.NEW, changed_by=ctx.member.id))
    lines = [
        _('Thank you! Your idea {code} is in: "{title}" for {sector}.').format(
            code=idea.code, title=idea.title, sector=sector.slug
        ),
        _("Curators of {sector} will look at it, and I will tell you when it moves.").format(
            sector=sector.slug
        ),
    ]
    lines += similar_lines(ctx, idea)
    lines += partner_lines(ctx, idea)
    return [ctx.reply("\n".join(lines))]


def similar_lines(ctx: Context, idea: Idea) -> list[str]:
    """Up to three ideas of the same sector (and language) that look like this one."""
    others = ctx.session.exec(
        select(Idea).where(Idea.sector_id == idea.sector_id, col(Idea.id) != idea.id)
    ).all()
    same_language = [o for o in others if o.language in (idea.language, None)]
    candidates = [(o.code, f"{o.title}. {o.description}") for o in same_language]
    found = similar(f"{idea.title}. {idea.description}", candidates, limit=SIMILAR_SHOWN)
    if not found:
        return []
    titles = {o.code: o.title for o in others}
    lines = [ctx._("Ideas that look similar; perhaps join forces:")]
    lines += [f"- {code}: {titles[code]}" for code, _score in found]
    return lines


def partner_lines(ctx: Context, idea: Idea) -> list[str]:
    """Members of the sector of each partner type the idea needs, who agreed to be contacted."""
    lines: list[str] = []
    for actor in idea.partners:
        people = ctx.session.exec(
            select(Member)
            .join(Membership, col(Membership.member_id) == Member.id)
            .where(
                Membership.sector_id == idea.sector_id,
                Member.actor_type == ActorType(actor),
                col(Member.consent_contact).is_(True),
                col(Member.id) != ctx.member.id,
            )
            .order_by(Member.display_name)
            .limit(PARTNERS_SHOWN)
        ).all()
        if people:
            names = ", ".join(
                p.display_name + (f" ({p.organisation})" if p.organisation else "") for p in people
            )
            label = ctx._(ACTOR_LABELS[ActorType(actor)])
            lines.append(
                ctx._("Possible partners, {actor}: {names}").format(actor=label, names=names)
            )
    return lines


# --- the pipeline -----------------------------------------------------------------------------


def find_idea(session: Session, ref: str) -> Idea | None:
    return session.exec(select(Idea).where(Idea.code == ref.strip().lstrip("#").upper())).first()


def idea_command(ctx: Context) -> list[Action]:
    """/idea: a new idea; /idea <code>: its details; /idea <code> status <status> [note]."""
    if not ctx.args:
        return start(ctx)
    idea = find_idea(ctx.session, ctx.args[0])
    if idea is None:
        return [ctx.reply(ctx._("There is no idea {ref}.").format(ref=ctx.args[0]))]
    sector = ctx.session.get(Sector, idea.sector_id)
    assert sector is not None
    if len(ctx.args) == 1:
        return [ctx.reply(details(ctx, idea, sector))]
    if ctx.args[1].lower() != "status" or len(ctx.args) < 3:
        usage = ctx._("/idea <code> status <status> [note]")
        return [ctx.reply(ctx._("Usage: {usage}").format(usage=usage))]
    if not allows(ctx, RoleName.CURATOR, sector):
        return [refuse(ctx, "idea status", RoleName.CURATOR, sector)]
    return change_status(ctx, idea, sector, ctx.args[2], " ".join(ctx.args[3:]).strip())


def parse_status(ctx: Context, word: str) -> IdeaStatus | None:
    said = word.strip().lower().replace("-", "_")
    for status, label in STATUS_LABELS.items():
        if said in (status.value, ctx._(label).lower().replace(" ", "_")):
            return status
    return STATUS_WORDS.get(said)


def change_status(ctx: Context, idea: Idea, sector: Sector, word: str, note: str) -> list[Action]:
    _ = ctx._
    status = parse_status(ctx, word)
    if status is None:
        known = ", ".join(s.value for s in IdeaStatus)
        return [
            ctx.reply(
                _("There is no status {word}. Statuses: {known}.").format(word=word, known=known)
            )
        ]
    if status is idea.status:
        return [
            ctx.reply(
                _("Idea {code} is already {status}.").format(
                    code=idea.code, status=_(STATUS_LABELS[status])
                )
            )
        ]
    ctx.session.add(
        IdeaChange(
            idea_id=idea.id,
            status_from=idea.status,
            status_to=status,
            note=note,
            changed_by=ctx.member.id,
            changed_at=ctx.event.at,
        )
    )
    audit.record(
        ctx.session,
        ctx.member,
        "idea.status",
        f"idea {idea.code}",
        f"{idea.status.value} -> {status.value}" + (f": {note}" if note else ""),
    )
    idea.status, idea.updated_at = status, utcnow()
    ctx.session.add(idea)
    said = _("Idea {code} is now {status}.").format(code=idea.code, status=_(STATUS_LABELS[status]))
    return [*notify_submitter(ctx, idea, note), ctx.reply(said)]


def notify_submitter(ctx: Context, idea: Idea, note: str) -> list[Action]:
    """Tell the submitter, in their language, on the platform they submitted from."""
    submitter = ctx.session.get(Member, idea.submitted_by) if idea.submitted_by else None
    if submitter is None:
        return []
    identities = ctx.session.exec(select(Identity).where(Identity.member_id == submitter.id)).all()
    identity = next((i for i in identities if i.platform == idea.platform), None)
    identity = identity or next(iter(identities), None)
    if identity is None:
        return []
    _ = translator(reply_language(submitter, ctx.settings.languages))
    text = _('Your idea {code} "{title}" is now: {status}.').format(
        code=idea.code, title=idea.title, status=_(STATUS_LABELS[idea.status])
    )
    if note:
        text += "\n" + _("Note from the curator: {note}").format(note=note)
    return [Notify(platform=identity.platform, chat_id=identity.platform_user_id, text=text)]


def details(ctx: Context, idea: Idea, sector: Sector) -> str:
    _ = ctx._
    curating = allows(ctx, RoleName.CURATOR, sector)
    lines = [
        f"{idea.code}: {idea.title}",
        _("Sector: {sector}. Status: {status}.").format(
            sector=sector.slug, status=_(STATUS_LABELS[idea.status])
        ),
        idea.description,
    ]
    if idea.partners:
        partners = ", ".join(_(ACTOR_LABELS[ActorType(a)]) for a in idea.partners)
        lines.append(_("Partners needed: {partners}").format(partners=partners))
    if idea.needs:
        lines.append(
            _("Also needs: {needs}").format(needs=", ".join(_(NEED_LABELS[n]) for n in idea.needs))
        )
    if curating or idea.submitted_by == ctx.member.id:
        submitter = ctx.session.get(Member, idea.submitted_by) if idea.submitted_by else None
        if submitter is not None and curating:
            who = submitter.display_name + (
                f" ({submitter.organisation})" if submitter.organisation else ""
            )
            lines.append(_("Submitted by {who}.").format(who=who))
    lines.append(_("History:"))
    changes = ctx.session.exec(
        select(IdeaChange)
        .where(IdeaChange.idea_id == idea.id)
        .order_by(col(IdeaChange.changed_at), col(IdeaChange.id))
    ).all()
    zone = ctx.settings.zone
    for change in changes:
        when = f"{change.changed_at.astimezone(zone):%Y-%m-%d %H:%M}"
        line = f"- {when}: {_(STATUS_LABELS[change.status_to])}"
        if change.note:
            line += f" ({change.note})"
        lines.append(line)
    return "\n".join(lines)


def ideas_filter(ctx: Context) -> tuple[Sector | None, IdeaStatus | None] | list[Action]:
    """The sector and status `/ideas` names, in either order; the reply for a stray word."""
    sector: Sector | None = None
    status: IdeaStatus | None = None
    for word in ctx.args:
        if (found := find_sector(ctx.session, word)) is not None:
            sector = found
        elif (parsed := parse_status(ctx, word)) is not None:
            status = parsed
        else:
            text = ctx._("{word} is neither a sector nor a status. Statuses: {known}.")
            known = ", ".join(s.value for s in IdeaStatus)
            return [ctx.reply(text.format(word=word, known=known))]
    return sector, status


def ideas_sector(ctx: Context) -> Sector | list[Action] | None:
    """For the access check of /ideas: the sector named, or None for all one curates."""
    found = ideas_filter(ctx)
    return found if isinstance(found, list) else found[0]


def list_ideas(ctx: Context) -> list[Action]:
    """/ideas [sector] [status], for curators: their sectors' ideas (an admin's: all)."""
    _, session = ctx._, ctx.session
    found = ideas_filter(ctx)
    if isinstance(found, list):
        return found
    sector, status = found
    sectors = (
        [sector]
        if sector
        else [s for s in all_sectors(session) if allows(ctx, RoleName.CURATOR, s)]
    )
    query = (
        select(Idea, Sector)
        .join(Sector, col(Sector.id) == Idea.sector_id)
        .where(col(Idea.sector_id).in_([s.id for s in sectors]))
    )
    if status is not None:
        query = query.where(Idea.status == status)
    rows = session.exec(query.order_by(col(Idea.created_at).desc()).limit(30)).all()
    if not rows:
        return [ctx.reply(_("No ideas here yet."))]
    lines = [_("Ideas (newest first):")]
    lines += [f"{i.code} {s.slug}, {_(STATUS_LABELS[i.status])}: {i.title}" for i, s in rows]
    return [ctx.reply("\n".join(lines))]


def my_ideas(ctx: Context) -> list[Action]:
    _ = ctx._
    rows = ctx.session.exec(
        select(Idea, Sector)
        .join(Sector, col(Sector.id) == Idea.sector_id)
        .where(Idea.submitted_by == ctx.member.id)
        .order_by(col(Idea.created_at).desc())
    ).all()
    if not rows:
        return [ctx.reply(_("You have no ideas in yet: /idea starts one."))]
    lines = [_("Your ideas:")]
    lines += [f"{i.code} {s.slug}, {_(STATUS_LABELS[i.status])}: {i.title}" for i, s in rows]
    return [ctx.reply("\n".join(lines))]


FEATURE = Feature(
    name="ideas",
    commands=[
        Command(
            "idea",
            idea_command,
            N_("/idea [code] [status <status> [note]]"),
            N_("submit an idea, or see one (curators move it on)"),
        ),
        Command(
            "ideas",
            list_ideas,
            N_("/ideas [sector] [status]"),
            N_("the ideas of the sectors you curate"),
            needs=RoleName.CURATOR,
            sector_of=ideas_sector,
        ),
        Command("ideas mine", my_ideas, N_("/ideas mine"), N_("your ideas and where they are")),
    ],
    flows={FLOW: answer},
    forms={FLOW: submit_dialog},
)


# --- open data --------------------------------------------------------------------------------


def export_ideas(session: Session, sector: Sector | None = None) -> list[dict[str, Any]]:
    """Every idea with its status history, for the city's open-data portal.

    Names and organisations appear only for members who consented to open-data exports;
    everyone else is described by actor type alone."""
    query = select(Idea, Sector).join(Sector, col(Sector.id) == Idea.sector_id)
    if sector is not None:
        query = query.where(Idea.sector_id == sector.id)
    rows = session.exec(query.order_by(col(Idea.created_at), col(Idea.id))).all()
    people = {m.id: m for m in session.exec(select(Member))}
    ideas = []
    for idea, idea_sector in rows:
        changes = session.exec(
            select(IdeaChange)
            .where(IdeaChange.idea_id == idea.id)
            .order_by(col(IdeaChange.changed_at), col(IdeaChange.id))
        ).all()
        ideas.append(
            {
                "code": idea.code,
                "sector": idea_sector.slug,
                "title": idea.title,
                "description": idea.description,
                "status": idea.status.value,
                "partners_needed": list(idea.partners),
                "needs": list(idea.needs),
                "language": idea.language,
                "submitted_at": idea.created_at.isoformat(),
                "submitter": _public_person(people.get(idea.submitted_by)),
                "history": [
                    {
                        "status": change.status_to.value,
                        "from": change.status_from.value if change.status_from else None,
                        "at": change.changed_at.isoformat(),
                        "note": change.note,
                        "by": _public_person(people.get(change.changed_by)),
                    }
                    for change in changes
                ],
            }
        )
    return ideas


def _public_person(member: Member | None) -> dict[str, str | None]:
    if member is None:
        return {"name": None, "organisation": None, "actor_type": None}
    actor = member.actor_type.value if member.actor_type else None
    if not member.consent_export:
        return {"name": None, "organisation": None, "actor_type": actor}
    return {"name": member.display_name, "organisation": member.organisation, "actor_type": actor}
