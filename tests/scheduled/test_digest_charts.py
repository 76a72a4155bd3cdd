"""A digest's charts and its parts for a chat: what they count, how they read without the
image, how the parts fit a message, and that the HTML page embeds every chart."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from bot.actions import PostChart, PostDigest
from bot.i18n import translator
from scheduled.charts import digest_charts, participation_charts
from scheduled.render import PART_BLOCKS, PART_CHARS, Part, to_html, to_markdown, to_parts
from storage.models import ActorType, Poll, PollStatus
from tests.scheduled.seeding import Seed, local

PNG = b"\x89PNG\r\n\x1a\n"


def lively(seed: Seed) -> None:
    """Eight weeks of dialogue: more each week, a German voice, a late-night message that
    belongs to the next local day, and a poll closed in the digest's week."""
    anna = seed.member("Anna", actor=ActorType.RESIDENT)
    jan = seed.member("Jan", actor=ActorType.SOLUTION_PROVIDER)
    lena = seed.member("Lena")
    thread = seed.thread("Where should the new bike lanes go?", local(0, 9, week=-7))
    for week in range(-7, 1):
        for n in range(week + 8):  # 1 message in the oldest week, 8 in the digest's week
            seed.say(anna, f"Bike lanes on street {week}-{n}", local(n % 7, 10, week=week), thread)
    seed.say(lena, "Mehr Fahrradstellplätze am Bahnhof, bitte.", local(1, 11), thread, "de")
    seed.say(jan, "Night owl note", local(2, 23, 30), thread)  # 22:30 UTC, Wednesday in Amsterdam
    seed.session.add(
        Poll(
            sector_id=seed.sector.id,
            question="Which street first?",
            options=["Ring", "Harbour"],
            created_at=local(0),
            closes_at=local(4),
            closed_at=local(4),
            status=PollStatus.CLOSED,
            results={"counts": [3, 1], "voters": 4},
        )
    )


def test_activity_covers_eight_local_weeks_by_day_and_by_week(seed: Seed) -> None:
    lively(seed)
    digest = seed.digest()

    assert len(digest.days) == 56 and len(digest.weeks) == 8
    assert digest.days[0].label == "2026-09-28" and digest.days[-1].label == "2026-11-22"
    assert [w.label for w in digest.weeks] == [f"2026-W{n}" for n in range(40, 48)]
    # The oldest week has 1 message, each later week one more; the digest's week adds 2.
    assert [w.messages for w in digest.weeks] == [1, 2, 3, 4, 5, 6, 7, 10]
    assert [w.members for w in digest.weeks] == [1] * 7 + [3]
    assert sum(d.messages for d in digest.days) == sum(w.messages for w in digest.weeks)
    wednesday = next(d for d in digest.days if d.label == "2026-11-18")
    assert wednesday.messages == 2  # "street 0-2" and the night owl's 23:30 local
    assert digest.weeks[-1].messages == digest.messages


def test_activity_days_follow_the_city_clock_across_the_dst_change(seed: Seed) -> None:
    """Summer time ended on 25 October 2026: a message at 00:30 local on the 26th (23:30 UTC
    on the 25th) is counted on the 26th, and 23:30 local on the 24th (21:30 UTC) on the 24th."""
    anna = seed.member("Anna")
    monday = local(0, 0, 30, week=-3)  # Monday 26 October 00:30 CET
    seed.say(anna, "just after midnight", monday)
    seed.say(anna, "late on Saturday", monday - timedelta(hours=26))  # 24th 23:30 CEST
    days = {d.label: d.messages for d in seed.digest().days}
    assert days["2026-10-26"] == 1 and days["2026-10-24"] == 1 and days["2026-10-25"] == 0


def test_each_chart_says_in_words_and_in_a_table_what_the_image_shows(seed: Seed) -> None:
    lively(seed)
    charts = {c.filename.rsplit("-", 1)[-1]: c for c in digest_charts(seed.digest(), str)}

    assert sorted(charts) == ["1.png", "actors.png", "days.png", "languages.png", "weeks.png"]
    days = charts["days.png"]
    assert days.style == "columns" and sum(days.values) == 38 and len(days.labels) == 56
    assert "38 in all, the most on 2026-11-18 (2)" not in days.alt_text  # 2026-11-16 has 2 too
    assert "from 2026-09-28 to 2026-11-22: 38 in all" in days.alt_text
    assert days.rows[0][1:4] == ["Mon", "Tue", "Wed"] and days.rows[-1][0] == "2026-11-16"
    assert days.rows[-1][-1] == "10"  # the week's total, as in the numbers
    weeks = charts["weeks.png"]
    assert weeks.values == [1] * 7 + [3] and "2026-W47: 3" in weeks.alt_text
    languages = charts["languages.png"]
    assert languages.labels == ["English (en)", "Deutsch (de)"]
    assert languages.value_labels == ["9 (90%)", "1 (10%)"]
    actors = charts["actors.png"]
    assert set(actors.labels) == {"resident", "solution provider", "not given"}
    poll = charts["1.png"]
    assert poll.value_labels == ["3 (75%)", "1 (25%)"] and "Voters: 4" in poll.alt_text
    assert poll.rows[1] == ["Ring", "3", "75%"]
    for chart in charts.values():
        table = chart.table.splitlines()
        assert len({len(line.rstrip()) for line in table[1:]}) >= 1 and len(table) == len(
            chart.rows
        )


def test_a_quiet_sector_has_no_charts_to_draw(seed: Seed) -> None:
    digest = seed.digest()
    assert participation_charts(digest, str) == []
    assert "Nothing in this period." in to_markdown(digest, "en").split("## Participation")[1]


def test_charts_speak_the_readers_language(seed: Seed) -> None:
    lively(seed)
    _ = translator("nl")
    titles = [c.title for c in participation_charts(seed.digest(), _)]
    assert titles[0] == _("Messages per day, last {weeks} weeks").format(weeks=8)
    assert titles[0] != "Messages per day, last 8 weeks"


def test_the_html_page_embeds_every_chart_beside_its_table(seed: Seed) -> None:
    lively(seed)
    digest = seed.digest()
    page = to_html(digest, "en")

    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', page)
    assert len(images) == 5
    for data, alt in images:
        assert base64.b64decode(data).startswith(PNG) and alt
    assert page.count('<table class="data">') == 4  # the poll's table is its own
    assert "Messages per day from 2026-09-28 to 2026-11-22" in page
    without = to_html(digest, "en", charts=False)
    assert "<img" not in without and without.count('<table class="data">') == 4


def test_the_markdown_gives_each_chart_s_data_as_a_table(seed: Seed) -> None:
    lively(seed)
    markdown = to_markdown(seed.digest(), "en")
    participation = markdown.split("## Participation")[1].split("## Threads")[0]
    assert participation.count("```") == 8  # four tables
    assert "### Messages by language (2026-W47)" in participation
    assert re.search(r"^2026-W47 +3 +10$", participation, re.MULTILINE)


def test_chat_parts_fit_one_message_and_come_in_reading_order(seed: Seed) -> None:
    lively(seed)
    anna = seed.member("Anna Verbose", actor=ActorType.RESIDENT)
    for n in range(40):  # forty busy threads: far more than one message holds
        thread = seed.thread(f"Question {n}: " + "why? " * 30, local(0, 8))
        for m in range(3):
            seed.say(anna, f"Answer {m} to {n}: " + "long words " * 25, local(1 + m, 9), thread)

    parts = to_parts(seed.digest(), "en")

    texts = [p for p in parts if isinstance(p, Part)]
    assert len(texts) >= 4
    assert texts[0].heading == "Digest of Mobility: 2026-W47"
    assert [t.heading for t in texts[1:]] == [
        f"Digest of Mobility: 2026-W47 ({n}/{len(texts)})" for n in range(2, len(texts) + 1)
    ]
    for part in texts:
        assert sum(len(text) for _kind, text in part.blocks) <= PART_CHARS
        assert len(part.blocks) <= PART_BLOCKS
        assert part.blocks[-1][0] not in ("heading", "subheading")
    blocks = [b for p in texts for b in p.blocks]
    assert sum(1 for kind, _t in blocks if kind == "subheading" and "Question" in _t) == 40
    kinds = [type(p).__name__ for p in parts]
    assert kinds[:5] == ["Part", "ChartData", "ChartData", "ChartData", "ChartData"]
    poll_chart = kinds.index("ChartData", 5)
    assert any(k == "Part" for k in kinds[5:poll_chart])  # threads and polls before the chart
    assert kinds[-1] == "Part" and blocks[-1] == [
        "note",
        "Members are named only if they consented to it; everyone else appears by actor type.",
    ]


def test_a_subscribed_chat_gets_the_parts_and_charts_chained_in_order(seed: Seed) -> None:
    from scheduled.digests import digest_actions
    from storage.models import DigestSubscription

    lively(seed)
    subscription = DigestSubscription(platform="telegram", chat_id="-100", cron="0 8 * * 1")
    digest = seed.digest()
    actions = digest_actions(subscription, "mobility", "2026-W47", to_parts(digest, "en"))

    parts = [a for a in actions if isinstance(a, PostDigest)]
    charts = [a for a in actions if isinstance(a, PostChart)]
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert {p.parts for p in parts} == {len(parts)} and len(charts) == 5
    assert all((a.platform, a.chat_id) == ("telegram", "-100") for a in actions)
    assert charts[-1].table.splitlines() == [
        "Option   Votes    %",
        "Ring         3  75%",
        "Harbour      1  25%",
    ]
    assert "Deutsch" in charts[2].alt_text
