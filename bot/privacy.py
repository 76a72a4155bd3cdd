"""Members' data rights in chat: /mydata sends a member everything Polder holds about them,
/forget erases it after they confirm. Both happen in a private chat (or Slack's answer only
they see), so nobody else learns what is asked or what comes back."""

from __future__ import annotations

from bot import conversation
from bot.actions import Action, Farewell, SendFile
from bot.context import Command, Context, Feature
from bot.forget import forget_member
from bot.i18n import N_
from bot.mydata import counts, export_member, to_json
from bot.profile import CONSENTS, NO, YES, on_off, yes_no

FLOW = "forget"
CONFIRM = "confirm"


def file_name(member_id: int | None, ctx: Context) -> str:
    return f"polder-member-{member_id}-{ctx.event.at:%Y%m%d-%H%M%S}.json"


def my_data(ctx: Context) -> list[Action]:
    """/mydata: the JSON file in the member's private chat, and a short summary."""
    _, event = ctx._, ctx.event
    if not (event.private or event.in_request):
        return [ctx.reply(_("Your data is only sent privately: write /mydata to me directly."))]
    data = export_member(ctx.session, ctx.member, now=event.at)
    found = counts(data)
    lines = [
        _(
            "Everything Polder holds about you (member #{id}) is in the file I am sending you."
        ).format(id=ctx.member.id),
        _("Messages: {n}").format(n=found["messages"]),
        _("Ideas: {n}").format(n=found["ideas"]),
        _("Poll votes: {n}").format(n=found["votes"]),
        _("Consents:"),
    ]
    for key, (attribute, meaning) in CONSENTS.items():
        lines.append(f"- {_(meaning)} ({key}): {on_off(ctx, getattr(ctx.member, attribute))}")
    lines.append(_("/profile changes your consents; /forget erases your data."))
    document = SendFile(
        platform=event.platform,
        chat_id=event.user_id,  # the private chat, as for Notify
        filename=file_name(ctx.member.id, ctx),
        content=to_json(data),
        caption=_("Your data in Polder, as JSON."),
    )
    return [ctx.reply("\n".join(lines)), document]


def ask_to_forget(ctx: Context) -> list[Action]:
    """/forget: what it erases and what stays, then a yes/no question."""
    _ = ctx._
    if not ctx.event.private:
        return [ctx.reply(_("This is done privately: write /forget to me directly."))]
    conversation.start(ctx, FLOW, CONFIRM)
    explain = _(
        "Forgetting you erases your name, organisation, language and consents, your accounts, "
        "the texts of your messages, your roles and your name on your ideas. Your ideas stay "
        "(without your name), and so do the counts the digests show. This cannot be undone; "
        "if you write again later, you start as a new member. /mydata first gives you a copy."
    )
    return [ctx.reply(explain), conversation.ask(ctx, _("Forget you now?"), yes_no(ctx))]


def confirm(ctx: Context, said: str | None) -> list[Action]:
    """The answer to /forget's question (None: /skip, which erases nothing)."""
    _ = ctx._
    value = conversation.pick(said, yes_no(ctx)) if said is not None else NO
    if value is None:
        return [
            ctx.reply(_("Please answer yes or no.")),
            conversation.ask(ctx, _("Forget you now?"), yes_no(ctx)),
        ]
    conversation.finish(ctx)
    if value != YES:
        return [ctx.reply(_("Nothing was erased."))]
    event = ctx.event
    # Worded before the erasure, which takes the member's language with the rest.
    goodbye = _("Done: Polder has forgotten you. Goodbye, and thank you for taking part.")
    forget_member(ctx.session, ctx.member, ctx.member, f"asked in chat ({event.platform})")
    return [
        Farewell(
            platform=event.platform,
            chat_id=event.chat_id,
            thread_ref=event.thread_ref,
            text=goodbye,
        )
    ]


FEATURE = Feature(
    name="privacy",
    commands=[
        Command(
            "mydata",
            my_data,
            N_("/mydata"),
            N_("everything Polder holds about you, as a file in a private chat"),
        ),
        Command("forget", ask_to_forget, N_("/forget"), N_("erase your personal data")),
    ],
    flows={FLOW: confirm},
)
