"""A digest part and its charts as each channel shows them: Telegram HTML (read back with the
fake server's parser, which refuses what Telegram refuses), Slack Block Kit, console lines.
Member text full of markup characters must show as written, and no limit may be crossed."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleChannel
from adapters.ratelimit import Limiter, Window
from adapters.slack import (
    BLOCKS_LIMIT,
    FALLBACK_LIMIT,
    SECTION_LIMIT,
    SlackChannel,
    digest_blocks,
)
from adapters.slack import split_to_fit as slack_split
from adapters.telegram import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    TelegramChannel,
    block_html,
    chart_caption,
    digest_html,
    split_to_fit,
    units,
)
from bot.actions import PostChart, PostDigest
from bot.config import Settings
from bot.engine import Engine
from tests.adapters.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.adapters.fake_telegram import FakeTelegram, parse_html
from tests.adapters.test_telegram import telegram_settings

RISKY = "<script>alert('x')</script> & *bold* _it_ `code` &amp; > quote"
GERMAN = "Wir brauchen mehr Fahrradstellplätze am Bahnhof."
EVERY_KIND = [
    ["note", "2026-11-23 to 2026-11-29 (Europe/Amsterdam)"],
    ["heading", "Threads"],
    ["subheading", "Thread #1: Is *this* <the> question?"],
    ["paragraph", RISKY],
    ["quote", f"{GERMAN}\n— resident"],
    ["item", "Poll #1: Which street first? — Voters: 4"],
    ["item", "Idea K7QX Bikes <b>everywhere</b> (new)"],
    ["table", "Ring            3  75%\nHarbour <east>  1  25%"],
    ["note", "Members are named only if they consented to it."],
]
HEADING = "Digest of Mobility & Co: 2026-W48"


def part(blocks: list[list[str]], heading: str = HEADING, **where: Any) -> PostDigest:
    return PostDigest(
        platform=where.pop("platform", "telegram"),
        chat_id=where.pop("chat_id", "-100123"),
        sector="mobility",
        period="2026-W48",
        part=1,
        parts=1,
        heading=heading,
        blocks=blocks,
        **where,
    )


def chart(
    table: str, alt_text: str = "Poll #1: Which street first? Ring 3, Harbour 1.", **where: Any
) -> PostChart:
    return PostChart(
        platform=where.pop("platform", "telegram"),
        chat_id=where.pop("chat_id", "-100123"),
        title="Poll #1: Which street first?",
        style="bars",
        labels=["Ring", "Harbour <east>"],
        values=[3, 1],
        value_labels=["3 (75%)", "1 (25%)"],
        alt_text=alt_text,
        table=table,
        filename="mobility-2026-W48-poll-1.png",
        **where,
    )


def huge_blocks() -> list[list[str]]:
    """A part at the renderer's limits (40 blocks), every block long and full of characters
    that grow when escaped, every kind and some lines."""
    kinds = ["heading", "paragraph", "quote", "item", "table", "note", "subheading", "item"]
    line = "<a & b> " * 40 + "\n"
    return [
        [kind, f"{kind} {n} <&>" if kind in ("heading", "subheading") else (line * 10)[: 2990 - n]]
        for n, kind in ((n, kinds[n % len(kinds)]) for n in range(40))
    ]


def shown(html: str) -> tuple[str, list[dict[str, Any]]]:
    """What a member sees of an HTML message: its text and entities, or a 400 as Telegram."""
    return parse_html(html, strict=True)


def entity_text(text: str, entity: dict[str, Any]) -> str:
    units16 = text.encode("utf-16-le")
    begin, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
    return units16[begin:end].decode("utf-16-le")


# --- Telegram ----------------------------------------------------------------------------------


@pytest.mark.parametrize("split", [split_to_fit, slack_split], ids=["telegram", "slack"])
def test_split_to_fit_prefers_line_breaks_then_spaces_and_keeps_every_character(
    split: Callable[[str, int, Callable[[str], int]], list[str]],
) -> None:
    assert split("a" * 10 + "\n" + "b" * 10, 15, len) == ["a" * 10, "b" * 10]
    assert split("aaaa bbbb cccc", 10, len) == ["aaaa bbbb", "cccc"]
    assert split("x" * 25, 10, len) == ["x" * 10, "x" * 10, "x" * 5]
    assert split("short", 10, len) == ["short"]
    assert split("aaa\n", 3, len) == ["aaa"]  # no empty piece after a final line break
    # An emoji is two units to Telegram: five fit in ten.
    assert split_to_fit("🚲" * 6, 10, units) == ["🚲" * 5, "🚲"]


def test_a_block_longer_than_a_message_is_cut_as_text_before_escaping() -> None:
    raw = "<&>" * 3000 + "tail"  # 9004 characters, more than 26000 once escaped
    pieces = block_html("paragraph", raw)
    assert len(pieces) > 6
    assert all(units(p) <= TEXT_LIMIT for p in pieces)
    assert "".join(shown(p)[0] for p in pieces) == raw  # nothing lost, no escape cut in half

    quote = "\n".join(f"line {n} <with> & more" for n in range(400)) + "\n— resident"
    pieces = block_html("quote", quote)
    assert len(pieces) > 1
    for piece in pieces:
        assert units(piece) <= TEXT_LIMIT
        text, entities = shown(piece)  # every piece a whole blockquote
        assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
            ("blockquote", 0, units(text))
        ]
    assert "\n".join(shown(p)[0] for p in pieces) == quote  # cut at line breaks


def test_every_block_kind_shows_in_telegram_html_with_member_text_as_written() -> None:
    [message] = digest_html(HEADING, EVERY_KIND)
    text, entities = shown(message)
    kinds = {(e["type"], entity_text(text, e)) for e in entities}

    assert text.startswith(f"{HEADING}\n2026-11-23 to 2026-11-29")
    assert ("bold", HEADING) in kinds and ("bold", "Threads") in kinds
    assert ("bold", "Thread #1: Is *this* <the> question?") in kinds
    assert ("italic", "Thread #1: Is *this* <the> question?") in kinds
    assert ("italic", "Members are named only if they consented to it.") in kinds
    assert ("blockquote", f"{GERMAN}\n— resident") in kinds
    assert ("pre", "Ring            3  75%\nHarbour <east>  1  25%") in kinds
    assert f"question?\n{RISKY}\n\n{GERMAN}" in text  # as typed: no tag, no bold, no code
    assert "• Poll #1: Which street first? — Voters: 4\n• Idea K7QX Bikes <b>everywhere</b>" in text
    assert {e["type"] for e in entities} == {"bold", "italic", "blockquote", "pre"}


def test_a_huge_part_is_split_within_telegrams_limit_headings_with_what_they_head() -> None:
    blocks = huge_blocks()
    messages = digest_html(HEADING, blocks)

    assert len(messages) > 10
    assert all(units(m) <= TEXT_LIMIT for m in messages)
    assert not any(m.endswith("</b>") for m in messages)  # no heading left at a message's end
    seen = "".join(shown(m)[0] for m in messages)  # each parses as Telegram would
    compact = re.sub(r"[\s•]", "", seen)
    assert compact.startswith(re.sub(r"\s", "", HEADING))
    position = 0
    for _kind, raw in blocks:  # every block, whole and in order
        position = compact.index(re.sub(r"\s", "", raw), position)


def test_a_chart_caption_holds_alt_text_and_table_or_leaves_the_table_to_a_message() -> None:
    caption, rest = chart_caption("Ring 3 & Harbour 1.", "Ring     3\nHarbour <east>  1")
    text, entities = shown(caption)
    assert rest == [] and text == "Ring 3 & Harbour 1.\nRing     3\nHarbour <east>  1"
    assert [e["type"] for e in entities] == ["pre"]

    table = "\n".join(f"Option {n} <{'x' * 60}>  {n}  {n}%" for n in range(30))
    alt = "A poll & its options: " + "<option> & " * 300
    caption, rest = chart_caption(alt, table)
    assert units(caption) <= CAPTION_LIMIT and caption.endswith("…")
    assert alt.startswith(shown(caption)[0][:-1])
    assert rest and all(units(m) <= TEXT_LIMIT for m in rest)
    assert "\n".join(shown(m)[0] for m in rest) == table
    assert all(shown(m)[1][0]["type"] == "pre" for m in rest)


@pytest.fixture
def telegram(database, settings: Settings) -> Iterator[tuple[TelegramChannel, FakeTelegram]]:
    with FakeTelegram() as tg:
        configured = telegram_settings(settings, tg)
        unpaced = Limiter(Window(10_000, 1), None, Window(10_000, 1))
        channel = TelegramChannel(Engine(database, configured), database, configured, unpaced)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(channel.start())
        channel.loop = loop  # type: ignore[attr-defined]
        yield channel, tg
        loop.run_until_complete(channel.stop())
        loop.close()


def test_telegram_takes_a_huge_part_and_a_long_chart_in_a_topic(
    telegram: tuple[TelegramChannel, FakeTelegram],
) -> None:
    """What the fake server accepts, Telegram accepts: HTML, lengths, the topic."""
    channel, tg = telegram
    loop = channel.loop  # type: ignore[attr-defined]
    huge = part(huge_blocks(), thread_ref="77")
    table = "\n".join(f"Option {n} <{'x' * 60}>  {n}" for n in range(30))
    long_chart = chart(table, thread_ref="77")
    first = loop.run_until_complete(channel.send(huge, None))
    loop.run_until_complete(channel.send(long_chart, None))

    sent = tg.sent(-100123)
    assert all(c.ok for c in tg.calls if c.method in ("sendMessage", "sendPhoto"))
    assert first == str(sent[0].result["message_id"])
    assert all(c.params["message_thread_id"] == 77 for c in sent)
    photos = [c for c in sent if c.method == "sendPhoto"]
    assert len(photos) == 1 and photos[0].files["photo"].startswith(b"\x89PNG")
    messages = tg.shown(-100123)
    photo = next(n for n, m in enumerate(messages) if m.photo is not None)
    assert messages[photo].text == long_chart.alt_text  # no room for the table there
    assert "\n".join(m.text or "" for m in messages[photo + 1 :]) == table  # it follows


# --- Slack -------------------------------------------------------------------------------------


def texts_of(blocks: list[dict[str, Any]]) -> list[str]:
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", [])]
    return found


def test_every_block_kind_as_block_kit_with_member_text_escaped() -> None:
    blocks = digest_blocks(part(EVERY_KIND, platform="slack"))

    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": HEADING}}
    assert [b["type"] for b in blocks] == [
        "header", "context", "divider", "section", "section", "section", "section", "section",
        "section", "context",
    ]  # fmt: skip
    assert texts_of(blocks)[1:] == [
        "2026-11-23 to 2026-11-29 (Europe/Amsterdam)",
        "*Threads*",
        "Thread #1: Is *this* &lt;the&gt; question?",  # its own "*" would end a bold early
        "&lt;script&gt;alert('x')&lt;/script&gt; &amp; *bold* _it_ `code` &amp;amp; &gt; quote",
        f"> {GERMAN}\n> — resident",
        "• Poll #1: Which street first? — Voters: 4\n"
        "• Idea K7QX Bikes &lt;b&gt;everywhere&lt;/b&gt; (new)",
        "```\nRing            3  75%\nHarbour &lt;east&gt;  1  25%\n```",
        "Members are named only if they consented to it.",
    ]
    assert all(b["text"]["type"] == "mrkdwn" for b in blocks if b["type"] == "section")
    assert "<" not in json.dumps(blocks[1:])  # no link, mention or tag can come of member text


def test_a_huge_part_keeps_slacks_limits() -> None:
    long_heading = "Digest of " + "Mobility & Co " * 20
    blocks = digest_blocks(part(huge_blocks(), heading=long_heading, platform="slack"))

    header = blocks[0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    sections = texts_of(blocks)[1:]
    assert all(0 < len(t) <= SECTION_LIMIT for t in sections)
    assert len(blocks) > BLOCKS_LIMIT  # posted as more than one message (see below)
    for text in sections:  # an escape is never cut in half
        assert "&" not in text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")


@pytest.fixture
def slack(database, settings: Settings) -> Iterator[tuple[SlackChannel, FakeSlack]]:
    with FakeSlack() as fs:
        configured = settings.model_copy(
            update={
                "slack_bot_token": BOT_TOKEN,
                "slack_signing_secret": SIGNING_SECRET,
                "slack_api_url": fs.base_url,
            }
        )
        unpaced = Limiter(Window(10_000, 1), None, Window(10_000, 1))
        channel = SlackChannel(Engine(database, configured), database, configured, unpaced)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(channel.start())
        channel.loop = loop  # type: ignore[attr-defined]
        yield channel, fs
        loop.close()


def test_slack_takes_a_huge_part_and_a_chart_in_a_thread(
    slack: tuple[SlackChannel, FakeSlack],
) -> None:
    """What the fake server accepts (block types, 50 blocks, 3000 characters), Slack does."""
    channel, fs = slack
    loop = channel.loop  # type: ignore[attr-defined]
    thread = "1700000000.000100"
    huge = part(huge_blocks(), platform="slack", chat_id="C0STAFF", thread_ref=thread)
    loop.run_until_complete(channel.send(huge, None))
    posts = fs.posted("C0STAFF")
    assert len(posts) == -(-len(digest_blocks(huge)) // BLOCKS_LIMIT) >= 2
    assert all(c.params["thread_ts"] == thread for c in posts)
    fallback = posts[0].params["text"]
    assert len(fallback) <= FALLBACK_LIMIT and fallback.startswith(HEADING.replace("&", "&amp;"))

    alt = "Poll #1: " + "an option & another, " * 80  # longer than Slack's 1000
    loop.run_until_complete(
        channel.send(chart("Ring  3\nHarbour <east>  1", alt, platform="slack",
                           chat_id="C0STAFF", thread_ref=thread), None)
    )  # fmt: skip
    [upload] = fs.uploads
    assert upload.data is not None and upload.data.startswith(b"\x89PNG")
    assert (upload.channel, upload.thread_ts) == ("C0STAFF", thread)
    assert upload.title == "Poll #1: Which street first?"
    assert upload.alt_txt is not None and len(upload.alt_txt) <= 1000
    assert alt.startswith(upload.alt_txt[:-1]) and upload.alt_txt.endswith("…")
    assert upload.initial_comment == "```\nRing  3\nHarbour &lt;east&gt;  1\n```"


# --- console -----------------------------------------------------------------------------------


def test_the_console_prints_a_part_as_plain_text_and_a_chart_with_its_table(
    engine: Engine, database, tmp_path: Path
) -> None:
    out = io.StringIO()
    console = ConsoleChannel(engine, database, "staff", out=out, charts=tmp_path)
    console.send(part(EVERY_KIND, platform="console"))
    console.send(chart("Ring            3  75%\nHarbour <east>  1  25%", platform="console"))

    lines = out.getvalue().splitlines()
    assert all(line.startswith("bot> ") for line in lines)
    printed = "\n".join(line[5:] for line in lines)
    assert printed.startswith(f"{HEADING}\n\n2026-11-23 to 2026-11-29")
    assert f"\n{RISKY}\n" in printed and f"> {GERMAN}\n> — resident" in printed
    png = tmp_path / "mobility-2026-W48-poll-1.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert printed.endswith(
        "Poll #1: Which street first?\n"
        f"[{png}] Poll #1: Which street first? Ring 3, Harbour 1.\n"
        "Ring            3  75%\nHarbour <east>  1  25%"
    )

    bare = io.StringIO()
    ConsoleChannel(engine, database, "staff", out=bare).send(chart("Ring  3", platform="console"))
    assert bare.getvalue().splitlines() == [
        "bot> Poll #1: Which street first?",
        "bot> Poll #1: Which street first? Ring 3, Harbour 1.",
        "bot> Ring  3",
    ]
