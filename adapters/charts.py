"""Charts as PNG images, for channels that show images: a closed poll's result, and the
charts of a digest (participation over time, languages, actor types).

Telegram sends them as photos, Slack uploads them, the console writes them to files and the
digest's HTML page embeds them; a channel that shows no images uses the data table. Every
chart keeps its alt text, so the image is never the only way to read it.

Drawing uses matplotlib's object-oriented API (a `Figure` on an Agg canvas) and never pyplot:
no display is needed on a server, nothing is registered globally, and several threads can draw
at once. The same input gives the same PNG bytes (no timestamp or version in the metadata).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from bot.actions import PollResult, PostChart
from bot.polls import percent

WIDTH_PX = 800  # fits a phone screen without being scaled down much
DPI = 100
BAR_COLOUR = "#0072B2"  # Okabe-Ito blue: one colour, readable with any colour vision
TEXT_COLOUR = "#222222"
AXIS_COLOUR = "#999999"
TITLE_SIZE = 15
LABEL_SIZE = 12
MARGIN_PX = 16
TITLE_PX = WIDTH_PX - 2 * MARGIN_PX
LABEL_PX = 290  # the option column: leaves most of the width to the bars
TITLE_LINES = 6  # a 300-character question plus "Poll #n: " fits
LABEL_LINES = 3  # a 100-character option fits; longer ones end in "…"
ROW_INCHES = 0.62  # per option: room for LABEL_LINES lines of LABEL_SIZE text
TITLE_LINE_INCHES = 0.27
MARGIN_INCHES = 0.55
HEADROOM = 1.4  # the x range beyond the longest bar, for its "12 (100%)" label
ELLIPSIS = " …"
COLUMNS_HEIGHT_INCHES = 3.6  # a time series: the same height whatever its length
TICKS_AT_MOST = 10  # a longer series labels every n-th column only


@dataclass(frozen=True)
class Chart:
    """A rendered chart with what a channel needs beside the image: alt text for screen
    readers (and for a channel that fails to upload), a title to caption it, a file name."""

    png: bytes
    alt_text: str
    title: str
    filename: str = "poll.png"


def bar_labels(counts: Sequence[int], voters: int) -> list[str]:
    """'3 (60%)' per option: the count and its share of voters, rounded as in the text result
    (shares of a multiple-choice poll may add up to more than 100%)."""
    return [f"{count} ({percent(count, voters)}%)" for count in counts]


def fit(text: str, width: Callable[[str], float], max_px: float, max_lines: int) -> list[str]:
    """`text` in lines no wider than `max_px` as `width` measures them, at most `max_lines`,
    the last ending in "…" when shortened: measured rather than counted in characters, so a
    title in capitals or a 100-letter word is not cut off at the edge of the image."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if width(candidate) <= max_px:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(current) > 1 and width(current) > max_px:  # a word longer than a line
            low, high = 1, len(current) - 1  # the longest prefix that fits, by bisection
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (
                    (middle, high) if width(current[:middle]) <= max_px else (low, middle - 1)
                )
            lines.append(current[:low])
            current = current[low:]
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and width(last + ELLIPSIS) > max_px:  # whole words first
            last = last.rsplit(" ", 1)[0] if " " in last else last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return lines or [""]


def measure(renderer: RendererAgg, size: float, weight: str = "normal") -> Callable[[str], float]:
    """The pixel width of a line of text as `renderer` draws it (never as mathtext)."""
    font = FontProperties(size=size, weight=weight)

    def width(text: str) -> float:
        return renderer.get_text_width_height_descent(text, font, ismath=False)[0]

    return width


def draw(title: str, options: Sequence[str], counts: Sequence[int], voters: int) -> Figure:
    """A poll's chart: each option's bar labelled with its count and share of voters."""
    if len(options) != len(counts):
        raise ValueError(f"{len(options)} options but {len(counts)} counts")
    return draw_bars(title, options, counts, bar_labels(counts, voters))


def draw_bars(
    title: str, options: Sequence[str], counts: Sequence[int], value_labels: Sequence[str]
) -> Figure:
    """Horizontal bars as a Figure on its own Agg canvas: options top to bottom in their given
    order, each bar labelled at its end. No x axis: the labels carry the numbers. Text is
    never read as mathtext, so "$5 or $10" shows as typed."""
    if len(options) != len(counts):
        raise ValueError(f"{len(options)} options but {len(counts)} counts")
    value_labels = list(value_labels) or [str(c) for c in counts]
    figure = Figure(figsize=(WIDTH_PX / DPI, 1), dpi=DPI)
    renderer = FigureCanvasAgg(figure).get_renderer()
    title_lines = fit(title, measure(renderer, TITLE_SIZE, "bold"), TITLE_PX, TITLE_LINES)
    label_width = measure(renderer, LABEL_SIZE)
    labels = ["\n".join(fit(o, label_width, LABEL_PX, LABEL_LINES)) for o in options]
    height = MARGIN_INCHES + len(title_lines) * TITLE_LINE_INCHES + len(options) * ROW_INCHES
    figure.set_size_inches(WIDTH_PX / DPI, height)
    figure.set_layout_engine("constrained", h_pad=0.1, w_pad=MARGIN_PX / DPI)
    text = {"color": TEXT_COLOUR, "parse_math": False}

    axes = figure.add_subplot()
    rows = list(range(len(options)))
    bars = axes.barh(rows, list(counts), height=0.6, color=BAR_COLOUR)
    axes.set_yticks(rows, labels, fontsize=LABEL_SIZE, **text)
    axes.tick_params(axis="y", length=0, pad=8)
    axes.bar_label(bars, labels=value_labels, padding=6, fontsize=LABEL_SIZE, **text)
    most = max(counts, default=0)
    axes.set_xlim(0, most * HEADROOM if most else 1)
    axes.set_ylim(len(options) - 0.5, -0.5)  # first option on top
    axes.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    axes.spines["left"].set_color(AXIS_COLOUR)
    _title(figure, title_lines)
    return figure


def _title(figure: Figure, lines: Sequence[str]) -> None:
    figure.suptitle(
        "\n".join(lines),
        x=MARGIN_PX / WIDTH_PX,
        ha="left",
        fontsize=TITLE_SIZE,
        fontweight="bold",
        color=TEXT_COLOUR,
        parse_math=False,
    )


def draw_columns(
    title: str, labels: Sequence[str], values: Sequence[int], value_labels: Sequence[str]
) -> Figure:
    """A time series as columns, oldest on the left, on a light count axis. A long series
    (56 days) labels every n-th column (its weeks' first days); a short one labels each
    column and prints its value on top."""
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels but {len(values)} values")
    figure = Figure(figsize=(WIDTH_PX / DPI, COLUMNS_HEIGHT_INCHES), dpi=DPI)
    renderer = FigureCanvasAgg(figure).get_renderer()
    title_lines = fit(title, measure(renderer, TITLE_SIZE, "bold"), TITLE_PX, 2)
    figure.set_layout_engine("constrained", h_pad=0.1, w_pad=MARGIN_PX / DPI)
    axes = figure.add_subplot()
    positions = list(range(len(values)))
    bars = axes.bar(positions, list(values), width=0.75, color=BAR_COLOUR)
    step = max(1, -(-len(labels) // TICKS_AT_MOST))
    if step > 1:
        step = 7 if len(labels) % 7 == 0 and len(labels) // 7 <= TICKS_AT_MOST else step
    ticks = positions[::step]
    axes.set_xticks(ticks, [labels[i] for i in ticks], fontsize=LABEL_SIZE - 2, color=TEXT_COLOUR)
    if step == 1 and value_labels:
        axes.bar_label(bars, labels=list(value_labels), padding=3, fontsize=LABEL_SIZE - 1)
    most = max(values, default=0)
    axes.set_ylim(0, most * 1.15 if most else 1)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.tick_params(axis="both", colors=AXIS_COLOUR, labelcolor=TEXT_COLOUR)
    axes.grid(axis="y", color="#e3e6eb", linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(AXIS_COLOUR)
    _title(figure, title_lines)
    return figure


class Plot(Protocol):
    """What a chart is drawn from: a `PostChart`, or a digest chart before it is sent."""

    title: str
    style: str
    labels: list[str]
    values: list[int]
    value_labels: list[str]


def plot_png(plot: Plot) -> bytes:
    """A chart's PNG, drawn in its style."""
    if plot.style == "columns":
        return png_bytes(draw_columns(plot.title, plot.labels, plot.values, plot.value_labels))
    return png_bytes(draw_bars(plot.title, plot.labels, plot.values, plot.value_labels))


def chart_of(action: PostChart) -> Chart:
    """A digest chart's image with its alt text and title, as a channel sends it."""
    return Chart(
        png=plot_png(action), alt_text=action.alt_text, title=action.title, filename=action.filename
    )


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG, at its exact size (no tight bbox: WIDTH_PX stays WIDTH_PX) and
    without the Software entry, so the same chart gives the same bytes."""
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return out.getvalue()


def chart_png(title: str, options: Sequence[str], counts: Sequence[int], voters: int) -> bytes:
    """A horizontal bar chart of a poll's counts, as PNG bytes."""
    return png_bytes(draw(title, options, counts, voters))


def poll_chart(result: PollResult) -> Chart:
    """The result's chart with its alt text and title, for a channel that shows images."""
    title = result.chart_title or result.question
    png = chart_png(title, result.options, result.counts, result.voters)
    return Chart(
        png=png, alt_text=result.alt_text, title=title, filename=f"poll-{result.poll_id}.png"
    )


def chart_table(result: PollResult) -> str:
    """The chart's data as plain text, one option a line with its count and percentage, in
    columns (for monospace rendering): the same numbers for a channel without images."""
    counts = [str(c) for c in result.counts]
    shares = [f"{percent(c, result.voters)}%" for c in result.counts]
    width = max((len(o) for o in result.options), default=0)
    count_width = max((len(c) for c in counts), default=0)
    share_width = max((len(s) for s in shares), default=0)
    return "\n".join(
        f"{option.ljust(width)}  {count.rjust(count_width)}  {share.rjust(share_width)}"
        for option, count, share in zip(result.options, counts, shares, strict=True)
    )
