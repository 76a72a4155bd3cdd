"""Who a member is in the ecosystem: actor type, organisation, the three consents, and the
language they are answered in. Asked once on first private contact (skippable), shown and
changed with /profile and /lang."""

from __future__ import annotations

from collections.abc import Callable

from bot import conversation
from bot.actions import Action
from bot.context import Command, Context, Feature
from bot.i18n import N_
from bot.language import language_name, normalise
from storage.models import ActorType, LanguageSource, Member
from storage.types import utcnow

FLOW = "onboarding"
ORGANISATION_MAX = 200

ACTOR_LABELS: dict[ActorType, str] = {
    ActorType.SOLUTION_PROVIDER: N_("solution provider"),
    ActorType.SERVICE_PROVIDER: N_("service provider"),
    ActorType.USER: N_("user"),
    ActorType.REGIONAL_OPERATOR: N_("regional operator"),
    ActorType.RESEARCH: N_("research"),
    ActorType.RESIDENT: N_("resident"),
    ActorType.PUBLIC_SECTOR: N_("public sector"),
}

# consent name in commands -> (Member attribute, what saying yes allows)
CONSENTS: dict[str, tuple[str, str]] = {
    "contact": ("consent_contact", N_("Other members may contact me")),
    "named": ("consent_named", N_("My name may appear in digests")),
    "export": ("consent_export", N_("My name may appear in open-data exports")),
}
CONSENT_QUESTIONS = {
    "contact": N_(
        "May other members of your sectors contact you, for example to team up on an idea?"
    ),
    "named": N_(
        "May we name you in the weekly digests city staff read? "
        "Otherwise you are counted by actor type only."
    ),
    "export": N_("May your name appear in the open-data exports of ideas?"),
}
STEPS = ["actor_type", "organisation", "contact", "named", "export"]
YES, NO = "yes", "no"


def actor_choices(ctx: Context) -> list[tuple[str, str]]:
    return [(actor.value, ctx._(label)) for actor, label in ACTOR_LABELS.items()]


def yes_no(ctx: Context) -> list[tuple[str, str]]:
    return [(YES, ctx._("yes")), (NO, ctx._("no"))]


def on_off(ctx: Context, value: bool) -> str:
    return ctx._("on") if value else ctx._("off")


def question(ctx: Context, step: str) -> Action:
    _ = ctx._
    if step == "actor_type":
        return conversation.ask(ctx, _("Who are you in the ecosystem?"), actor_choices(ctx))
    if step == "organisation":
        return conversation.ask(ctx, _("Which organisation are you with?"))
    return conversation.ask(ctx, _(CONSENT_QUESTIONS[step]), yes_no(ctx))


def offer_onboarding(ctx: Context) -> list[Action]:
    """After a member's first private event: a welcome and the first question, once."""
    member, event = ctx.member, ctx.event
    if not event.private or member.onboarded_at is not None or ctx.conversation is not None:
        return []
    member.onboarded_at = utcnow()
    ctx.session.add(member)
    conversation.start(ctx, FLOW, STEPS[0])
    intro = ctx._(
        "Welcome to Polder! A few optional questions help the city see who takes part. "
        "Everything stays off unless you say yes; /profile changes it any time."
    )
    return [ctx.reply(intro), question(ctx, STEPS[0])]


def answer(ctx: Context, said: str | None) -> list[Action]:
    """The member's answer to the current onboarding question (None: /skip)."""
    assert ctx.conversation is not None
    step = ctx.conversation.step
    if said is not None:
        problem = store_answer(ctx, ctx.member, step, said)
        if problem:
            return [ctx.reply(problem), question(ctx, step)]
    following = STEPS[STEPS.index(step) + 1 :] if step in STEPS else []
    if following:
        conversation.advance(ctx, following[0])
        return [question(ctx, following[0])]
    conversation.finish(ctx)
    return [ctx.reply(ctx._("Thank you! This is your profile now:") + "\n" + summary(ctx))]


def store_answer(ctx: Context, member: Member, step: str, said: str) -> str | None:
    """Keep an answer; the reason it cannot be kept otherwise."""
    _ = ctx._
    if step == "actor_type":
        value = conversation.pick(said, actor_choices(ctx))
        if value is None:
            return _("That is not one of the choices.")
        member.actor_type = ActorType(value)
    elif step == "organisation":
        name = said.strip()
        if len(name) > ORGANISATION_MAX:
            return _("That is too long: at most {n} characters.").format(n=ORGANISATION_MAX)
        member.organisation = name or None
    else:
        value = conversation.pick(said, yes_no(ctx))
        if value is None:
            return _("Please answer yes or no.")
        setattr(member, CONSENTS[step][0], value == YES)
    ctx.session.add(member)
    return None


def summary(ctx: Context) -> str:
    _, member = ctx._, ctx.member
    unset = _("not set")
    actor = _(ACTOR_LABELS[member.actor_type]) if member.actor_type else unset
    lines = [
        _("Actor type: {actor}").format(actor=actor),
        _("Organisation: {organisation}").format(organisation=member.organisation or unset),
    ]
    for key, (attribute, meaning) in CONSENTS.items():
        state = on_off(ctx, getattr(member, attribute))
        lines.append(f"{_(meaning)} ({key}): {state}")
    lines.append(language_line(ctx))
    return "\n".join(lines)


def language_line(ctx: Context) -> str:
    _, member = ctx._, ctx.member
    sources = {
        LanguageSource.SET: _("you chose it"),
        LanguageSource.HINT: _("from your app's settings"),
        LanguageSource.DETECTED: _("detected from your messages"),
    }
    source = sources[member.language_source] if member.language_source else _("not known yet")
    return _("Language: {language}, {source}").format(
        language=language_name(ctx.language), source=source
    )


def show_profile(ctx: Context) -> list[Action]:
    _ = ctx._
    if not ctx.args:
        how = _(
            "Change it with /profile actor <type>, /profile organisation <name>, "
            "/profile contact|named|export on|off, or /profile setup for the questions."
        )
        return [ctx.reply(summary(ctx) + "\n" + how)]
    field, values = ctx.args[0].lower(), ctx.args[1:]
    setters: dict[str, Callable[[Context, list[str]], list[Action]]] = {
        "setup": restart_onboarding,
        "actor": set_actor,
        "organisation": set_organisation,
        "organization": set_organisation,
    }
    if field in setters:
        return setters[field](ctx, values)
    if field in CONSENTS:
        return set_consent(ctx, field, values)
    return [ctx.reply(_("I do not know the profile field {field}.").format(field=field))]


def restart_onboarding(ctx: Context, _values: list[str]) -> list[Action]:
    conversation.start(ctx, FLOW, STEPS[0])
    return [question(ctx, STEPS[0])]


def set_actor(ctx: Context, values: list[str]) -> list[Action]:
    problem = store_answer(ctx, ctx.member, "actor_type", " ".join(values)) if values else ""
    if problem is not None:
        choices = ", ".join(label for _, label in actor_choices(ctx))
        return [ctx.reply(ctx._("Choose one of: {choices}.").format(choices=choices))]
    return [ctx.reply(ctx._("Saved.") + "\n" + summary(ctx))]


def set_organisation(ctx: Context, values: list[str]) -> list[Action]:
    problem = store_answer(ctx, ctx.member, "organisation", " ".join(values))
    if problem:
        return [ctx.reply(problem)]
    return [ctx.reply(ctx._("Saved.") + "\n" + summary(ctx))]


def set_consent(ctx: Context, key: str, values: list[str]) -> list[Action]:
    _ = ctx._
    choices = [("on", _("on")), ("off", _("off")), ("on", _("yes")), ("off", _("no"))]
    value = conversation.pick(values[0], choices) if len(values) == 1 else None
    if value is None:
        return [ctx.reply(_("Usage: /profile {key} on|off").format(key=key))]
    setattr(ctx.member, CONSENTS[key][0], value == "on")
    ctx.session.add(ctx.member)
    return [ctx.reply(_("Saved.") + "\n" + summary(ctx))]


def set_language(ctx: Context) -> list[Action]:
    _, member, supported = ctx._, ctx.member, ctx.settings.languages
    names = ", ".join(language_name(code) for code in supported)
    if not ctx.args:
        how = _(
            "I speak: {languages}. Change it with /lang <code>, "
            "or /lang auto to follow the language you write in."
        )
        return [ctx.reply(language_line(ctx) + "\n" + how.format(languages=names))]
    wanted = ctx.args[0].lower()
    if wanted == "auto":
        member.language_source = LanguageSource.DETECTED if member.language else None
        ctx.session.add(member)
        return [ctx.reply(_("I will follow the language you write in."))]
    code = normalise(wanted)
    if code not in supported:
        text = _("I do not speak {code} yet. I speak: {languages}.")
        return [ctx.reply(text.format(code=wanted, languages=names))]
    member.language, member.language_source = code, LanguageSource.SET
    ctx.session.add(member)
    text = ctx._("I will answer you in {language} from now on.")
    return [ctx.reply(text.format(language=language_name(code)))]


FEATURE = Feature(
    name="profile",
    commands=[
        Command(
            "profile", show_profile, N_("/profile [field value]"), N_("your profile and consents")
        ),
        Command("lang", set_language, N_("/lang <code>"), N_("the language I answer you in")),
    ],
    flows={FLOW: answer},
    after_event=offer_onboarding,
)
