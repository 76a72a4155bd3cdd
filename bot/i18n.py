"""The bot's words in the member's language: gettext catalogs (`bot/locales/<lang>/LC_MESSAGES/
polder.po`), read straight from the .po text so a translator's edit needs no build step."""

from __future__ import annotations

import ast
import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "polder"
SOURCE_LANGUAGE = "en"


class CatalogTranslations(gettext.NullTranslations):
    """gettext translations from a parsed .po catalog; missing entries fall back to English."""

    def __init__(self, catalog: dict[str, str]) -> None:
        super().__init__()
        self.catalog = catalog

    def gettext(self, message: str) -> str:
        return self.catalog.get(message) or message


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (no plurals or contexts: Polder's catalogs use none).

    Fuzzy and untranslated entries are left out, so they fall back to English.
    """
    entries: list[dict[str, list[str] | bool]] = []
    entry: dict[str, list[str] | bool] = {}
    part: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        starts_entry = line.startswith("#") or line.startswith("msgid ")
        if starts_entry and "msgstr" in entry:
            entries.append(entry)
            entry, part = {}, None
        if line.startswith("#,") and "fuzzy" in line:
            entry["fuzzy"] = True
        elif line.startswith(("msgid ", "msgstr ")):
            keyword, _, literal = line.partition(" ")
            part = entry.setdefault(keyword, [])  # type: ignore[assignment]
            part.append(ast.literal_eval(literal))
        elif line.startswith('"') and part is not None:
            part.append(ast.literal_eval(line))
    entries.append(entry)
    catalog = {}
    for item in entries:
        msgid = "".join(item.get("msgid", []))  # type: ignore[arg-type]
        msgstr = "".join(item.get("msgstr", []))  # type: ignore[arg-type]
        if msgid and msgstr and not item.get("fuzzy"):
            catalog[msgid] = msgstr
    return catalog


def catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> list[str]:
    """English plus every language with a catalog."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [SOURCE_LANGUAGE, *[code for code in found if code != SOURCE_LANGUAGE]]


@lru_cache(maxsize=32)
def translations(language: str | None) -> gettext.NullTranslations:
    path = catalog_path(language or SOURCE_LANGUAGE)
    if language in (None, SOURCE_LANGUAGE) or not path.is_file():
        return gettext.NullTranslations()
    return CatalogTranslations(parse_po(path.read_text(encoding="utf-8")))


def translator(language: str | None) -> Callable[[str], str]:
    """`_` for a language; an unknown language or a missing entry falls back to English."""
    return translations(language).gettext


def N_(message: str) -> str:  # noqa: N802  (gettext's conventional name)
    """Marks a string for the catalogs where it is translated later, at use."""
    return message
