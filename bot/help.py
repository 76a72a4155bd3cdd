"""/help: every command the engine knows, with what it is for."""

from __future__ import annotations

from bot.actions import Action
from bot.context import Command, Context, Feature
from bot.i18n import N_


def show_help(ctx: Context) -> list[Action]:
    _ = ctx._
    lines = [_("Polder connects you with your city's sector ecosystems. Commands:")]
    for command in ctx.commands:
        lines.append(f"{_(command.usage)}: {_(command.summary)}")
    lines.append(
        _("Anything else you write in a sector's channel is heard as part of its dialogue.")
    )
    return [ctx.reply("\n".join(lines))]


FEATURE = Feature(
    name="help",
    commands=[
        Command("help", show_help, N_("/help"), N_("this list")),
        Command("start", show_help, N_("/start"), N_("a first hello, and this list")),
    ],
)
