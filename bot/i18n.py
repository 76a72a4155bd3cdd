"""The bot's words in the member's language (gettext catalogs in `bot/locales/`)."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "polder"
DEFAULT_LANGUAGE = "en"


@lru_cache(maxsize=32)
def translator(language: str | None) -> Callable[[str], str]:
    """`_` for a language; an unknown language or missing entry falls back to English."""
    translation = gettext.translation(
        DOMAIN, localedir=LOCALES, languages=[language or DEFAULT_LANGUAGE], fallback=True
    )
    return translation.gettext


def N_(message: str) -> str:  # noqa: N802  (gettext's conventional name)
    """Marks a string for the catalogs where it is translated later, at use."""
    return message
