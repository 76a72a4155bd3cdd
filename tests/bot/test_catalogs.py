"""Every word the bot says exists in Dutch, Finnish and Swedish, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.catalogs import source_messages
from bot.config import SettingsError, load_settings
from bot.i18n import available_languages, catalog_path, parse_po, translator

TRANSLATED = ["nl", "fi", "sv"]
# Entries a translation may leave as in English: command names and words that are the same.
COMMANDS = {"/help", "/start", "/whoami", "/sectors", "/skip", "/cancel", "/ideas mine", "data"}
COMMANDS |= {"/mydata", "/forget"}
COMMANDS |= {"/digest", "/digest list"}
SAME_AS_ENGLISH = {
    "nl": COMMANDS
    | {"curator", "open", "/join <sector>", "/leave <sector>", "/link <sector>"}
    | {"/thread list [sector]", "/poll list [sector]", "/ideas [sector] [status]"}
    | {"Sector: {sector}. Status: {status}.", "Week"},
    "fi": COMMANDS,
    "sv": COMMANDS | {"Organisation: {organisation}"},
}


def placeholders(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


@pytest.fixture(scope="module")
def messages() -> dict[str, str]:
    found = source_messages()
    assert "Sectors:" in found and "Who are you in the ecosystem?" in found  # extraction works
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language: str, messages: dict[str, str]) -> None:
    catalog = parse_po(catalog_path(language).read_text(encoding="utf-8"))
    missing = [m for m in messages if not catalog.get(m)]
    assert missing == [], f"{language}: run python -m bot.catalogs and translate {missing}"
    untranslated = [m for m in messages if catalog[m] == m and m not in SAME_AS_ENGLISH[language]]
    assert untranslated == [], f"{language}: still in English: {untranslated}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders(language: str, messages: dict[str, str]) -> None:
    catalog = parse_po(catalog_path(language).read_text(encoding="utf-8"))
    wrong = [m for m in messages if placeholders(catalog.get(m, m)) != placeholders(m)]
    assert wrong == [], f"{language}: placeholders differ in {wrong}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalogs_hold_nothing_the_code_no_longer_says(
    language: str, messages: dict[str, str]
) -> None:
    catalog = parse_po(catalog_path(language).read_text(encoding="utf-8"))
    assert sorted(set(catalog) - set(messages)) == []


def test_a_translation_is_used_and_a_missing_one_falls_back_to_english() -> None:
    assert translator("nl")("Sectors:") != "Sectors:"
    assert translator("nl")("a message nobody wrote") == "a message nobody wrote"
    assert translator("xx")("Sectors:") == "Sectors:"


def test_configured_languages_need_a_catalog() -> None:
    assert set(TRANSLATED) <= set(available_languages())
    with pytest.raises(SettingsError, match="POLDER_LANGUAGES: no catalog for de"):
        load_settings(languages="en,de", _env_file=None)


def test_parse_po_reads_continued_lines_and_skips_fuzzy_entries() -> None:
    text = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Language: nl\\n"',
            "",
            'msgid "one"',
            'msgstr "een"',
            "",
            "#, fuzzy",
            'msgid "two"',
            'msgstr "twee?"',
            "",
            'msgid ""',
            '"thr"',
            '"ee"',
            'msgstr "dr"',
            '"ie \\"x\\""',
            "",
            'msgid "four"',
            'msgstr ""',
        ]
    )
    assert parse_po(text) == {"one": "een", "three": 'drie "x"'}
