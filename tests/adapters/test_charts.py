"""The poll result chart as a member sees it: a readable PNG of the right size, bars labelled
with counts and shares, nothing cut off, the same bytes each time, safe to draw in threads."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from adapters.charts import (
    BAR_COLOUR,
    LABEL_LINES,
    WIDTH_PX,
    Chart,
    bar_labels,
    chart_png,
    chart_table,
    draw,
    fit,
    poll_chart,
)
from bot.actions import PollResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def result(
    options: list[str],
    counts: list[int],
    voters: int,
    title: str = "Poll #7: Where should the new benches go?",
) -> PollResult:
    return PollResult(
        platform="console",
        chat_id="#square",
        poll_id=7,
        text="(the text result)",
        question="Where should the new benches go?",
        options=options,
        counts=counts,
        voters=voters,
        chart_title=title,
        alt_text="Bar chart of the votes: " + ", ".join(options),
    )


def image(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def bar_pixels(png: bytes) -> int:
    """How many pixels have the bar colour."""
    rgb = np.round(image(png)[:, :, :3] * 255).astype(int)
    colour = [int(BAR_COLOUR[i : i + 2], 16) for i in (1, 3, 5)]
    return int((np.abs(rgb - colour).sum(axis=2) <= 6).sum())


def texts(figure: Figure) -> list[Text]:
    """Every visible text drawn on the figure, after a draw so positions are final."""
    figure.canvas.draw()
    found = figure.findobj(lambda a: isinstance(a, Text) and a.get_visible() and a.get_text())
    return [t for t in found if isinstance(t, Text)]


SMALL = result(["Market square", "Park", "Station"], [3, 2, 0], 5)


def test_the_chart_is_a_png_800_pixels_wide() -> None:
    png = chart_png("Poll #1: Benches?", ["Yes", "No"], [3, 1], 4)
    assert png.startswith(PNG_SIGNATURE)
    pixels = image(png)
    height, width = pixels.shape[:2]
    assert width == WIDTH_PX
    assert 150 < height < width  # landscape for a short poll: fits a phone screen
    assert bar_pixels(png) > 0


def test_the_chart_grows_taller_with_more_options() -> None:
    two = image(chart_png("Poll #1: Q?", ["A", "B"], [1, 2], 3))
    ten = image(chart_png("Poll #1: Q?", [f"Option {n}" for n in range(10)], [1] * 10, 10))
    assert ten.shape[1] == two.shape[1] == WIDTH_PX
    assert ten.shape[0] > two.shape[0] + 300


def test_a_long_title_makes_the_chart_taller_not_wider() -> None:
    short = image(chart_png("Poll #1: Q?", ["A", "B"], [1, 2], 3))
    long = image(chart_png("Poll #1: " + "Why not here? " * 21, ["A", "B"], [1, 2], 3))
    assert long.shape[1] == WIDTH_PX
    assert long.shape[0] > short.shape[0]


def test_labels_show_count_and_share_of_voters() -> None:
    assert bar_labels([3, 2, 0], 5) == ["3 (60%)", "2 (40%)", "0 (0%)"]
    # several choices each: shares of voters, not of votes
    assert bar_labels([4, 3], 4) == ["4 (100%)", "3 (75%)"]


def test_the_figure_has_each_option_with_its_bar_label_top_to_bottom() -> None:
    figure = draw(SMALL.chart_title, SMALL.options, SMALL.counts, SMALL.voters)
    shown = texts(figure)
    by_text = {t.get_text(): t for t in shown}
    assert SMALL.chart_title in by_text
    for label in ["3 (60%)", "2 (40%)", "0 (0%)"]:
        assert label in by_text
    heights = [by_text[o].get_window_extent().y0 for o in SMALL.options]
    assert heights == sorted(heights, reverse=True)  # first option on top (y grows upwards)


def test_a_poll_without_voters_renders_empty_bars() -> None:
    zero = result(["Market square", "Park"], [0, 0], 0)
    figure = draw(zero.chart_title, zero.options, zero.counts, zero.voters)
    assert [t.get_text() for t in texts(figure)].count("0 (0%)") == 2
    png = poll_chart(zero).png
    assert png.startswith(PNG_SIGNATURE)
    assert bar_pixels(png) == 0


def test_ten_options_of_100_characters_fit_inside_the_image() -> None:
    options = [f"{n} " + "the long way round the old harbour " * 3 for n in range(9)]
    options = [o[:100] for o in options] + ["x" * 100]  # and one word without spaces
    counts = [1000, 0, 7, 33, 250, 1, 2, 3, 4, 999]
    title = "Poll #12345: " + "Which of these should the city do first? " * 7
    figure = draw(title[:309], options, counts, 1234)
    bounds = figure.bbox
    for text in texts(figure):
        box = text.get_window_extent()
        assert bounds.x0 - 1 <= box.x0 and box.x1 <= bounds.x1 + 1, text.get_text()
        assert bounds.y0 - 1 <= box.y0 and box.y1 <= bounds.y1 + 1, text.get_text()
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert len(labels) == 10
    assert all(label.count("\n") < LABEL_LINES for label in labels)
    assert labels[-1].replace("\n", "").replace(" …", "").strip("x") == ""
    png = png_of(figure)
    assert image(png).shape[1] == WIDTH_PX


def png_of(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def test_dollar_signs_show_as_typed() -> None:
    figure = draw("Poll #3: Fee?", ["$5 or $10", "50% off_"], [1, 1], 2)
    shown = [t.get_text() for t in texts(figure)]
    assert "$5 or $10" in shown
    assert "50% off_" in shown


def test_wrapping_breaks_at_words_and_shortens_what_does_not_fit() -> None:
    def width(text: str) -> float:
        return 10.0 * len(text)  # 10 pixels a character

    assert fit("one two three", width, 80, 3) == ["one two", "three"]
    assert fit("a" * 25, width, 100, 3) == ["a" * 10, "a" * 10, "a" * 5]
    assert fit("one two three four five six", width, 80, 2) == ["one two", "three …"]
    assert all(width(line) <= 80 for line in fit("w" * 100, width, 80, 3))
    assert fit("", width, 80, 3) == [""]


def test_the_same_result_gives_the_same_bytes() -> None:
    first, second = poll_chart(SMALL).png, poll_chart(SMALL).png
    assert first == second
    assert b"matplotlib" not in first.lower()  # no version stamp in the metadata


def test_the_chart_keeps_its_alt_text_and_title() -> None:
    chart = poll_chart(SMALL)
    assert isinstance(chart, Chart)
    assert chart.alt_text == SMALL.alt_text
    assert chart.title == SMALL.chart_title
    assert chart.filename == "poll-7.png"


def test_options_and_counts_must_match() -> None:
    with pytest.raises(ValueError):
        chart_png("Poll #1: Q?", ["A", "B"], [1], 1)


def test_the_table_lists_each_option_with_count_and_percent() -> None:
    table = chart_table(SMALL).splitlines()
    assert len(table) == 3
    for line, option, count, share in zip(
        table, SMALL.options, ["3", "2", "0"], ["60%", "40%", "0%"], strict=True
    ):
        assert line.startswith(option)
        assert line.split()[-2:] == [count, share]
    assert len({len(line) for line in table}) == 1  # columns line up in monospace


def test_the_table_of_a_poll_without_voters_shows_zero_percent() -> None:
    table = chart_table(result(["Yes", "No"], [0, 0], 0))
    assert table.splitlines() == ["Yes  0  0%", "No   0  0%"]


def test_charts_drawn_in_threads_at_once_are_the_same_as_one_by_one() -> None:
    polls = [
        result([f"Option {n}" for n in range(k)], list(range(k)), k * 2, f"Poll #{k}: Q{k}?")
        for k in range(2, 11)
    ] * 2
    alone = [poll_chart(p).png for p in polls]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda p: poll_chart(p).png, polls))
    assert together == alone


def test_drawing_needs_no_display_and_no_pyplot() -> None:
    script = (
        "import sys\n"
        "from adapters.charts import chart_png\n"
        "png = chart_png('Poll #1: Q?', ['A', 'B'], [1, 0], 1)\n"
        "assert png.startswith(b'\\x89PNG')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
