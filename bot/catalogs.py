"""Keeping the translation catalogs in step with the code.

`python -m bot.catalogs` adds every new msgid of `bot/`, `adapters/` and `scheduled/` to each
`bot/locales/*/.../polder.po` (with an empty msgstr, for a translator) and drops msgids the
code no longer uses. The test
suite uses `source_messages()` to fail on any missing or untranslated entry.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from bot.i18n import LOCALES, available_languages, catalog_path, parse_po

# The packages whose words members see: the engine, the channels' own notes, the digests.
SOURCES = tuple(Path(__file__).parent.parent / name for name in ("bot", "adapters", "scheduled"))
# ctx._("..."), _("..."), N_("...") and translator(language)("...") mark a message
MARKERS = {"_", "N_"}


def source_messages(roots: tuple[Path, ...] = SOURCES) -> dict[str, str]:
    """msgid -> 'file:line' of its first use, for every marked string under `root`."""
    found: dict[str, str] = {}
    paths = sorted(path for root in roots for path in root.rglob("*.py"))
    for path in paths:
        root = next(r for r in roots if r in path.parents)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            if isinstance(func, ast.Call):  # translator(language)("...")
                func = func.func
                name = "_" if getattr(func, "id", None) == "translator" else None
            else:
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            first = node.args[0]
            if name in MARKERS and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.setdefault(first.value, f"{path.relative_to(root.parent)}:{node.lineno}")
    return found


def po_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render_po(language: str, messages: dict[str, str], translated: dict[str, str]) -> str:
    lines = [
        f"# Polder's messages in {language}.",
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {language}\\n"',
        "",
    ]
    for msgid, where in messages.items():
        lines += [
            f"#: {where}",
            f"msgid {po_quote(msgid)}",
            f"msgstr {po_quote(translated.get(msgid, ''))}",
            "",
        ]
    return "\n".join(lines)


def update(languages: list[str]) -> dict[str, int]:
    """Rewrite each catalog with the code's msgids; returns how many lack a translation."""
    messages = source_messages()
    missing: dict[str, int] = {}
    for language in languages:
        path = catalog_path(language)
        old = parse_po(path.read_text(encoding="utf-8")) if path.is_file() else {}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_po(language, messages, old), encoding="utf-8")
        missing[language] = sum(1 for m in messages if not old.get(m))
    return missing


if __name__ == "__main__":
    wanted = sys.argv[1:] or [code for code in available_languages() if code != "en"]
    for code, count in update(wanted).items():
        print(f"{LOCALES / code}: {count} messages to translate")
