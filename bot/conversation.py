"""Conversations that take several messages (onboarding questions, later the idea form).

The step a member is at is a row, not process memory, so a restart or another worker carries
on where they left off. One conversation per member at a time.
"""

from __future__ import annotations

from typing import Any

from bot.actions import Action, Ask, Toast
from bot.context import Command, Context, Feature
from bot.events import ButtonPressed
from bot.i18n import N_
from storage.models import ConversationState
from storage.types import utcnow


def start(ctx: Context, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
    """Begin (or restart) a conversation in the chat the event came from."""
    state = ctx.conversation or ctx.session.get(ConversationState, ctx.member.id)
    if state is None:
        state = ConversationState(member_id=ctx.member.id, flow=flow, platform="", chat_id="")
    state.flow, state.step, state.data = flow, step, dict(data or {})
    state.platform, state.chat_id = ctx.event.platform, ctx.event.chat_id
    state.updated_at = utcnow()
    ctx.session.add(state)
    ctx.conversation = state


def advance(ctx: Context, step: str, **data: Any) -> None:
    assert ctx.conversation is not None
    ctx.conversation.step = step
    ctx.conversation.data = {**ctx.conversation.data, **data}
    ctx.conversation.updated_at = utcnow()
    ctx.session.add(ctx.conversation)


def finish(ctx: Context) -> None:
    if ctx.conversation is not None:
        ctx.session.delete(ctx.conversation)
        ctx.conversation = None


def is_here(ctx: Context) -> bool:
    """Whether the member's conversation lives in the chat this event came from."""
    state = ctx.conversation
    return (
        state is not None
        and state.platform == ctx.event.platform
        and state.chat_id == ctx.event.chat_id
    )


def ask(
    ctx: Context, text: str, choices: list[tuple[str, str]] | None = None, hint: str = ""
) -> Ask:
    """A question in the member's language; `choices` are (value, translated label) pairs."""
    if hint:
        pass
    elif choices:
        hint = ctx._("Answer with a number or a word from the list, /skip or /cancel.")
    else:
        hint = ctx._("Write your answer, or /skip or /cancel.")
    return Ask(
        platform=ctx.event.platform,
        chat_id=ctx.event.chat_id,
        thread_ref=ctx.event.thread_ref,
        text=text,
        choices=[list(choice) for choice in choices or []],
        hint=hint,
    )


def pick(answer: str, choices: list[tuple[str, str]]) -> str | None:
    """The value of the choice an answer names: by number, value or label, any case."""
    said = answer.strip().lower().rstrip(".")
    if said.isdigit() and 1 <= int(said) <= len(choices):
        return choices[int(said) - 1][0]
    for value, label in choices:
        if said in (value.lower(), label.lower(), value.replace("_", " ")):
            return value
    return None


def cancel(ctx: Context) -> list[Action]:
    if ctx.conversation is None:
        return [ctx.reply(ctx._("There is nothing to cancel."))]
    finish(ctx)
    return [ctx.reply(ctx._("Stopped. Nothing more will be asked."))]


def skip(ctx: Context) -> list[Action]:
    state = ctx.conversation
    if state is None or state.flow not in ctx.flows:
        return [ctx.reply(ctx._("There is no question to skip."))]
    return ctx.flows[state.flow](ctx, None)


def answer_button(ctx: Context) -> list[Action]:
    """A press on a choice's button ('answer:<value>') answers the question asked."""
    event = ctx.event
    assert isinstance(event, ButtonPressed)
    state = ctx.conversation
    if state is None or not is_here(ctx) or state.flow not in ctx.flows:
        return [
            Toast(
                platform=event.platform,
                chat_id=event.chat_id,
                text=ctx._("That question is no longer open."),
            )
        ]
    return ctx.flows[state.flow](ctx, event.data.split(":", 1)[1])


FEATURE = Feature(
    name="conversation",
    buttons={"answer": answer_button},
    commands=[
        Command("skip", skip, N_("/skip"), N_("leave out the question asked")),
        Command("cancel", cancel, N_("/cancel"), N_("stop the questions in progress")),
    ],
)
