"""Forms declared once as data: each field's type, choices and validation. A conversational
channel asks one field at a time; a channel with dialogs (a Slack modal) shows them all at
once; either way the engine checks every answer with the same rules."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.context import Context
from bot.conversation import pick

Choices = Callable[[Context], list[tuple[str, str]]]  # (value, label in the member's language)


class FieldKind(enum.StrEnum):
    TEXT = "text"
    CHOICE = "choice"  # exactly one of the choices
    CHOICES = "choices"  # any number of the choices, none included


@dataclass(frozen=True)
class FormField:
    name: str
    question: str  # an English msgid, asked in the member's language
    kind: FieldKind = FieldKind.TEXT
    min_length: int = 1
    max_length: int = 2000
    choices: Choices | None = None
    optional: bool = False


@dataclass(frozen=True)
class Form:
    name: str
    fields: Sequence[FormField]

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)

    def after(self, name: str) -> FormField | None:
        names = [f.name for f in self.fields]
        index = names.index(name) + 1
        return self.fields[index] if index < len(names) else None


NONE_WORDS = {"-", "none", "no", "nothing"}
LIST_SEPARATOR = re.compile(r"\s*[,;]\s*")


def check(ctx: Context, field: FormField, answer: Any) -> tuple[Any, str | None]:
    """(the value to keep, None) or (None, why the answer cannot be kept), for one field.

    Text answers come as typed; a dialog may already send a value or a list of values."""
    _ = ctx._
    if field.kind is FieldKind.TEXT:
        text = str(answer or "").strip()
        if len(text) < field.min_length:
            if field.min_length <= 1:
                return None, _("This cannot be empty.")
            return None, _("Please write at least {n} characters.").format(n=field.min_length)
        if len(text) > field.max_length:
            reason = _("That is too long: at most {n} characters, and this has {length}.")
            return None, reason.format(n=field.max_length, length=len(text))
        return text, None
    assert field.choices is not None
    choices = field.choices(ctx)
    if field.kind is FieldKind.CHOICE:
        value = pick(str(answer or ""), choices)
        if value is None:
            return None, _("That is not one of the choices.")
        return value, None
    values = answer if isinstance(answer, list) else _split(str(answer or ""))
    nothing = NONE_WORDS | {_("none").lower(), _("no").lower()}  # typed in any language
    if not values or (len(values) == 1 and str(values[0]).lower() in nothing):
        return [], None
    picked = [pick(str(v), choices) for v in values]
    if None in picked:
        return None, _("That is not one of the choices: give their numbers, like 1 3.")
    return sorted(set(picked), key=[v for v, _label in choices].index), None


def check_all(
    ctx: Context, form: Form, values: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A whole submitted dialog: (the values to keep, field -> reason for each bad one)."""
    kept: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in form.fields:
        value, problem = check(ctx, field, values.get(field.name))
        if problem and field.optional and values.get(field.name) in (None, "", []):
            value, problem = ([] if field.kind is FieldKind.CHOICES else None), None
        if problem:
            errors[field.name] = problem
        else:
            kept[field.name] = value
    return kept, errors


def _split(text: str) -> list[str]:
    """'1 3', '1, 3' or 'research, public sector': commas win, so labels may have spaces."""
    text = text.strip()
    parts = LIST_SEPARATOR.split(text) if LIST_SEPARATOR.search(text) else text.split()
    return [part for part in parts if part]
