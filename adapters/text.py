"""Cutting text to a platform's limits before it is escaped, so an escape ("&amp;") or a tag
is never cut in half: shared by the Telegram and Slack renderings, each with its own cost of a
character (UTF-16 units once escaped for Telegram, escaped characters for Slack)."""

from __future__ import annotations

from collections.abc import Callable

Cost = Callable[[str], int]


def split_to_fit(text: str, budget: int, cost: Cost) -> list[str]:
    """`text` in pieces costing at most `budget` each (the sum of `cost` per character)."""
    pieces: list[str] = []
    while True:
        piece, text = take(text, budget, cost)
        pieces.append(piece)
        if not text:
            return pieces


def take(text: str, budget: int, cost: Cost) -> tuple[str, str]:
    """The first piece of `text` costing at most `budget`, and the rest. The piece ends at a
    line break, else at a space, in the second half of its room (that one character is
    dropped), else exactly where the room ends; it holds at least one character."""
    end = room(text, budget, cost)
    if end >= len(text):
        return text, ""
    low = max(1, end // 2)
    cut = max(text.rfind("\n", low, end + 1), 0) or max(text.rfind(" ", low, end + 1), 0)
    return (text[:cut], text[cut + 1 :]) if cut else (text[:end], text[end:])


def room(text: str, budget: int, cost: Cost) -> int:
    """How many leading characters of `text` fit in `budget`; at least one, so a split ends."""
    used = 0
    for count, char in enumerate(text):
        used += cost(char)
        if used > budget:
            return max(count, 1)
    return len(text)
