"""The charts of a digest, as data: what each shows, its alt text and its data table.

Numbers only, no drawing: Telegram, Slack, the console and the HTML page draw them from this
(`adapters.charts.plot_png`), and every one of them can show the table instead. The charts:
messages per day and active members per week over the last eight weeks, the period's
messages by language, its active members by actor type, and each poll closed in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.i18n import N_
from bot.language import language_name
from bot.polls import percent
from bot.profile import ACTOR_LABELS
from scheduled.digest import UNKNOWN, Activity, Digest, PollDigest
from storage.models import ActorType

Gettext = Callable[[str], str]
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


@dataclass(frozen=True)
class ChartData:
    """One chart: the fields of a `PostChart` without its destination."""

    title: str
    style: str  # "bars" or "columns"
    labels: list[str]
    values: list[int]
    value_labels: list[str]
    alt_text: str
    rows: list[list[str]]  # the data table, header row first
    filename: str

    @property
    def table(self) -> str:
        """The data table as aligned monospace text."""
        return monospace(self.rows)


def actor_label(key: str, _: Gettext) -> str:
    return _("not given") if key == UNKNOWN else _(ACTOR_LABELS[ActorType(key)])


def language_label(code: str, _: Gettext) -> str:
    return _("unknown") if code == UNKNOWN else language_name(code)


def monospace(rows: Sequence[Sequence[str]]) -> str:
    """Rows as aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if n == 0 else cell.rjust(width)
            for n, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def shares(values: Sequence[int], whole: int) -> list[str]:
    """'12 (40%)' per value."""
    return [f"{value} ({percent(value, whole)}%)" for value in values]


def digest_charts(digest: Digest, _: Gettext) -> list[ChartData]:
    """The digest's charts in reading order."""
    return participation_charts(digest, _) + poll_charts(digest, _)


def participation_charts(digest: Digest, _: Gettext) -> list[ChartData]:
    """Who took part and when, leaving out any chart with nothing to show."""
    charts = [per_day(digest, _), per_week(digest, _), by_language(digest, _)]
    charts.append(by_actor_type(digest, _))
    return [chart for chart in charts if chart is not None]


def poll_charts(digest: Digest, _: Gettext) -> list[ChartData]:
    """One chart per poll closed in the period."""
    return [poll_chart(digest, poll, _) for poll in digest.polls_closed]


def per_day(digest: Digest, _: Gettext) -> ChartData | None:
    """Messages per day: a column each, and a table with a row per week, a column per weekday."""
    days = digest.days
    if not any(d.messages for d in days):
        return None
    busiest = max(days, key=lambda d: d.messages)
    rows = [["", *[_(w) for w in WEEKDAYS], _("Total")]]
    for n in range(0, len(days), 7):
        week = days[n : n + 7]
        rows.append([week[0].label, *[str(d.messages) for d in week], str(total(week))])
    return ChartData(
        title=_("Messages per day, last {weeks} weeks").format(weeks=len(days) // 7),
        style="columns",
        labels=[short_date(d.label) for d in days],
        values=[d.messages for d in days],
        value_labels=[],
        alt_text=_(
            "Messages per day from {first} to {last}: {total} in all, the most on {busiest} "
            "({most})."
        ).format(
            first=days[0].label,
            last=days[-1].label,
            total=total(days),
            busiest=busiest.label,
            most=busiest.messages,
        ),
        rows=rows,
        filename=f"{digest.sector_slug}-{digest.label}-days.png",
    )


def per_week(digest: Digest, _: Gettext) -> ChartData | None:
    """Active members per week, with the week's messages in the table."""
    weeks = digest.weeks
    if not any(w.messages for w in weeks):
        return None
    described = ", ".join(f"{w.label}: {w.members}" for w in weeks)
    rows = [[_("Week"), _("Active members"), _("Messages")]]
    rows += [[w.label, str(w.members), str(w.messages)] for w in weeks]
    return ChartData(
        title=_("Active members per week"),
        style="columns",
        labels=[w.label for w in weeks],
        values=[w.members for w in weeks],
        value_labels=[str(w.members) for w in weeks],
        alt_text=_("Active members per week, oldest first: {weeks}.").format(weeks=described),
        rows=rows,
        filename=f"{digest.sector_slug}-{digest.label}-weeks.png",
    )


def by_language(digest: Digest, _: Gettext) -> ChartData | None:
    return breakdown_chart(
        digest,
        digest.by_language,
        lambda key: language_label(key, _),
        _("Messages by language"),
        _("Language"),
        _("Messages"),
        "languages",
        _,
    )


def by_actor_type(digest: Digest, _: Gettext) -> ChartData | None:
    return breakdown_chart(
        digest,
        digest.by_actor_type,
        lambda key: actor_label(key, _),
        _("Active members by actor type"),
        _("Actor type"),
        _("Active members"),
        "actors",
        _,
    )


def breakdown_chart(
    digest: Digest,
    counts: dict[str, int],
    label: Callable[[str], str],
    title: str,
    key_heading: str,
    count_heading: str,
    name: str,
    _: Gettext,
) -> ChartData | None:
    """Bars for a breakdown of the period (largest first), each with its count and share."""
    if not counts:
        return None
    labels = [label(key) for key in counts]
    values = list(counts.values())
    whole = sum(values)
    described = ", ".join(f"{k} {s}" for k, s in zip(labels, shares(values, whole), strict=True))
    rows = [[key_heading, count_heading, "%"]]
    rows += [[k, str(v), f"{percent(v, whole)}%"] for k, v in zip(labels, values, strict=True)]
    return ChartData(
        title=f"{title} ({digest.label})",
        style="bars",
        labels=labels,
        values=values,
        value_labels=shares(values, whole),
        alt_text=f"{title}: {described}.",
        rows=rows,
        filename=f"{digest.sector_slug}-{digest.label}-{name}.png",
    )


def poll_chart(digest: Digest, poll: PollDigest, _: Gettext) -> ChartData:
    """A closed poll's options with their votes and share of voters."""
    title = _("Poll #{id}: {question}").format(id=poll.id, question=poll.question)
    labelled = shares(poll.counts, poll.voters)
    described = "; ".join(f"{o}: {s}" for o, s in zip(poll.options, labelled, strict=True))
    rows = [[_("Option"), _("Votes"), "%"]]
    rows += [
        [option, str(count), f"{percent(count, poll.voters)}%"]
        for option, count in zip(poll.options, poll.counts, strict=True)
    ]
    voters = _("Voters: {voters}").format(voters=poll.voters)
    return ChartData(
        title=title,
        style="bars",
        labels=list(poll.options),
        values=list(poll.counts),
        value_labels=labelled,
        alt_text=f"{title.rstrip('.')} — {voters}. {described}.",
        rows=rows,
        filename=f"{digest.sector_slug}-{digest.label}-poll-{poll.id}.png",
    )


def total(stretch: Sequence[Activity]) -> int:
    return sum(a.messages for a in stretch)


def short_date(label: str) -> str:
    """'11-16' for 2026-11-16: the year is in the title's weeks, the axis has little room."""
    return f"{date.fromisoformat(label):%m-%d}"
