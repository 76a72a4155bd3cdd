"""A digest as Markdown, as a standalone HTML page and as parts for a chat, in a reader's
language.

All show the same sections in the same order: the headline numbers against the previous
period, who took part (with the charts), the threads with their representative quotes and
themes, polls, ideas, the questions nobody answered, and a footer saying names appear only
with consent. Every word goes through the gettext catalogs; every text a member or curator
wrote is escaped (HTML), or backslash-escaped (Markdown, so a Markdown viewer shows it as text
and never as markup). The chat parts carry texts as written: each channel escapes its own way.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from adapters.charts import plot_png
from bot.i18n import translator
from bot.ideas import STATUS_LABELS
from bot.polls import percent
from scheduled.charts import (
    ChartData,
    actor_label,
    language_label,
    monospace,
    participation_charts,
    poll_charts,
)
from scheduled.digest import (
    Agreement,
    Digest,
    OpenPoll,
    PollDigest,
    Quote,
    ThreadDigest,
    Unanswered,
)
from storage.models import IdeaStatus

Gettext = Callable[[str], str]
QUOTE_MAX = 280  # longer messages are shortened in quotes: a digest points, the thread tells
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
BLOCK_START = re.compile(r"^([#>+-])")  # would start a heading, quote or list item


# --- words shared by both renderings -----------------------------------------------------------


def title(digest: Digest, _: Gettext) -> str:
    return _("Digest of {sector}: {period}").format(sector=digest.sector_name, period=digest.label)


def period_text(digest: Digest, _: Gettext) -> str:
    return _("{first} to {last}").format(
        first=f"{digest.first_day:%Y-%m-%d}", last=f"{digest.last_day:%Y-%m-%d}"
    )


def local_time(when: datetime, digest: Digest) -> str:
    return f"{when.astimezone(digest.zone):%Y-%m-%d %H:%M}"


def excerpt(text: str) -> str:
    """One line, at most QUOTE_MAX characters."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTE_MAX else line[: QUOTE_MAX - 1].rstrip() + "…"


def who(quote: Quote, _: Gettext) -> str:
    """A consenting member's name as written; anyone else's label in the reader's language."""
    return quote.who if quote.named else _(quote.who)


def status_label(value: str, _: Gettext) -> str:
    return _(STATUS_LABELS[IdeaStatus(value)])


def change_text(change: int | None) -> str:
    """ "+25%", "-10%", "±0%"; a dash when there is nothing to compare with."""
    if change is None:
        return "–"
    return "±0%" if change == 0 else f"{change:+d}%"


def headline_rows(digest: Digest, _: Gettext) -> list[tuple[str, int, int, str]]:
    """(what, this period, previous period, change) for each headline number."""
    previous = digest.previous
    return [
        (
            _("Messages"),
            digest.messages,
            previous.messages,
            change_text(digest.change["messages"]),
        ),
        (
            _("Active members"),
            digest.active_members,
            previous.active_members,
            change_text(digest.change["active_members"]),
        ),
        (
            _("New members"),
            digest.new_members,
            previous.new_members,
            change_text(digest.change["new_members"]),
        ),
    ]


def breakdown(counts: dict[str, int], label: Callable[[str, Gettext], str], _: Gettext) -> str:
    return ", ".join(f"{label(key, _)}: {count}" for key, count in counts.items()) or "–"


def thread_heading(thread: ThreadDigest, _: Gettext) -> str:
    return _("Thread #{id}: {question}").format(id=thread.id, question=excerpt(thread.question))


def thread_numbers(thread: ThreadDigest, _: Gettext) -> str:
    said = _("{replies} replies from {participants} participants").format(
        replies=thread.replies, participants=thread.participants
    )
    if thread.named:
        said += " " + _("(named with their consent: {names})").format(names=", ".join(thread.named))
    return said


def agreement_text(item: Agreement, _: Gettext) -> str:
    """'Text — resident: 42 agree, 3 disagree, 5 pass (93% agree)'."""
    votes = _("{agrees} agree, {disagrees} disagree, {passes} pass ({share}% agree)").format(
        agrees=item.agrees, disagrees=item.disagrees, passes=item.passes, share=item.share
    )
    return f"{excerpt(item.quote.text)} — {who(item.quote, _)}: {votes}"


def poll_line(poll: PollDigest, _: Gettext) -> str:
    named = _("Poll #{id}: {question}").format(id=poll.id, question=poll.question)
    return f"{named} — {_('Voters: {voters}').format(voters=poll.voters)}"


def option_lines(poll: PollDigest) -> list[tuple[str, int, int]]:
    """(option, votes, percent of voters)."""
    return [
        (option, count, percent(count, poll.voters))
        for option, count in zip(poll.options, poll.counts, strict=True)
    ]


def open_poll_line(poll: OpenPoll, digest: Digest, _: Gettext) -> str:
    named = _("Poll #{id}: {question}").format(id=poll.id, question=poll.question)
    closes = _("Closes {when}.").format(when=local_time(poll.closes_at, digest))
    return f"{named} — {closes} {_('Voters: {voters}').format(voters=poll.voters)}"


def unanswered_text(item: Unanswered, _: Gettext) -> str:
    """A thread without replies by its number and question; a message by its text."""
    if item.thread_id is None:
        return excerpt(item.question.text)
    return _("Thread #{id}: {question}").format(
        id=item.thread_id, question=excerpt(item.question.text)
    )


def consent_note(_: Gettext) -> str:
    return _("Members are named only if they consented to it; everyone else appears by actor type.")


# --- Markdown ----------------------------------------------------------------------------------


def md(text: str) -> str:
    """Member text as inline Markdown that shows as written, never as markup."""
    inline = MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return BLOCK_START.sub(r"\\\1", inline)


def to_markdown(digest: Digest, language: str) -> str:
    """The digest as a Markdown document in `language`."""
    _ = translator(language)
    parts = [
        md_header(digest, _),
        md_numbers(digest, _),
        md_people(digest, _),
        md_charts(digest, _),
        md_threads(digest, _),
        md_polls(digest, _),
        md_ideas(digest, _),
        md_unanswered(digest, _),
        "---\n\n" + md(consent_note(_)),
    ]
    return "\n\n".join(parts) + "\n"


def md_header(digest: Digest, _: Gettext) -> str:
    lines = [f"# {md(title(digest, _))}", "", f"_{period_text(digest, _)} ({digest.timezone})_"]
    if digest.objective:
        lines += ["", md(_("Objective: {objective}").format(objective=digest.objective))]
    return "\n".join(lines)


def md_numbers(digest: Digest, _: Gettext) -> str:
    lines = [
        f"## {_('In numbers')}",
        "",
        f"| | {_('This period')} | {_('Previous period')} | {_('Change')} |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in headline_rows(digest, _)]
    return "\n".join(lines)


def md_people(digest: Digest, _: Gettext) -> str:
    return "\n".join(
        [
            f"## {_('Who took part')}",
            "",
            f"- {_('Active members by actor type')}: "
            + md(breakdown(digest.by_actor_type, actor_label, _)),
            f"- {_('Messages by language')}: "
            + md(breakdown(digest.by_language, language_label, _)),
        ]
    )


def md_charts(digest: Digest, _: Gettext) -> str:
    """The participation charts as their data tables, each with its alt text."""
    lines = [f"## {_('Participation')}"]
    charts = participation_charts(digest, _)
    if not charts:
        lines += ["", _("Nothing in this period.")]
    for chart in charts:
        lines += ["", f"### {md(chart.title)}", "", f"_{md(chart.alt_text)}_", "", "```"]
        lines += [chart.table, "```"]
    return "\n".join(lines)


def md_threads(digest: Digest, _: Gettext) -> str:
    lines = [f"## {_('Threads')}"]
    if not digest.threads:
        lines += ["", _("Nothing in this period.")]
    for thread in digest.threads:
        lines += ["", f"### {md(thread_heading(thread, _))}", "", md(thread_numbers(thread, _))]
        if thread.themes:
            lines += ["", md(f"{_('Key themes:')} {', '.join(thread.themes)}")]
        for quote in thread.representative:
            lines += ["", f"> {md(excerpt(quote.text))}", f"> — {md(who(quote, _))}"]
        if thread.agreed:
            lines += ["", f"**{_('Most agreed with:')}**", ""]
            lines += [f"- {md(agreement_text(item, _))}" for item in thread.agreed]
    return "\n".join(lines)


def md_polls(digest: Digest, _: Gettext) -> str:
    lines = [f"## {_('Polls')}"]
    if not (digest.polls_closed or digest.polls_open):
        lines += ["", _("Nothing in this period.")]
    if digest.polls_closed:
        lines += ["", f"### {_('Closed in this period')}", ""]
    for poll in digest.polls_closed:
        lines.append(f"- {md(poll_line(poll, _))}")
        lines += [
            f"  - {md(option)}: {count} ({pct}%)" for option, count, pct in option_lines(poll)
        ]
    if digest.polls_open:
        lines += ["", f"### {_('Still open')}", ""]
        lines += [f"- {md(open_poll_line(poll, digest, _))}" for poll in digest.polls_open]
    return "\n".join(lines)


def md_ideas(digest: Digest, _: Gettext) -> str:
    lines = [f"## {_('Ideas')}"]
    if not (digest.ideas_new or digest.idea_changes):
        lines += ["", _("Nothing in this period.")]
    if digest.ideas_new:
        lines += ["", f"### {_('New ideas')}", ""]
        lines += [
            f"- `{idea.code}` {md(idea.title)} ({status_label(idea.status, _)})"
            for idea in digest.ideas_new
        ]
    if digest.idea_changes:
        lines += ["", f"### {_('Status changes')}", ""]
    for step in digest.idea_changes:
        moved = f"{status_label(step.status_from, _)} → {status_label(step.status_to, _)}"
        line = f"- `{step.code}` {md(step.title)}: {moved} ({local_time(step.at, digest)})"
        lines.append(line + (f" — {md(step.note)}" if step.note else ""))
    return "\n".join(lines)


def md_unanswered(digest: Digest, _: Gettext) -> str:
    lines = [f"## {_('Unanswered questions')}", ""]
    if not digest.unanswered:
        lines.append(_("Nothing in this period."))
    for item in digest.unanswered:
        asked = f"{who(item.question, _)}, {local_time(item.asked_at, digest)}"
        lines.append(f"- {md(unanswered_text(item, _))} ({md(asked)})")
    return "\n".join(lines)


# --- HTML --------------------------------------------------------------------------------------

STYLE = """
body{margin:0;background:#f4f5f7;color:#1d2330;font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main{max-width:46rem;margin:0 auto;padding:1rem 1.25rem 2rem;background:#fff}
h1{font-size:1.6rem;margin:.5rem 0 .25rem}h2{font-size:1.25rem;margin:2rem 0 .5rem;
border-bottom:2px solid #d8dce3;padding-bottom:.2rem}h3{font-size:1.05rem;margin:1.25rem 0 .25rem}
.muted{color:#5b6475}table{border-collapse:collapse;width:100%}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6eb;text-align:right}
th:first-child,td:first-child{text-align:left}
blockquote{margin:.6rem 0;padding:.4rem .8rem;border-left:4px solid #4a7bd0;background:#f6f8fc}
blockquote p{margin:0}blockquote footer{color:#5b6475;font-size:.9rem}
.themes span{display:inline-block;margin:0 .3rem .3rem 0;padding:0 .5rem;border-radius:1rem;
background:#e8eefb;font-size:.9rem}
.bar{height:.5rem;background:#4a7bd0;border-radius:.25rem}ul{padding-left:1.2rem}
figure{margin:1rem 0}figure img{max-width:100%;height:auto}
figcaption{font-weight:600;margin:.25rem 0}table.data{font-size:.9rem;margin-top:.5rem}
code{font-size:.95em}footer.consent{margin-top:2rem;font-size:.9rem;color:#5b6475}
@media print{body{background:#fff}main{max-width:none;padding:0}
h2,h3{break-after:avoid}article,blockquote,tr{break-inside:avoid}}
"""


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def to_html(digest: Digest, language: str, charts: bool = True) -> str:
    """The digest as one standalone HTML page (inline CSS, charts embedded as PNG data, nothing
    fetched) in `language`. Without `charts`, the charts' data tables only (no drawing)."""
    _ = translator(language)
    draw = figure if charts else None
    sections = [
        html_numbers(digest, _),
        html_people(digest, _),
        html_charts(digest, _, draw),
        html_threads(digest, _),
        html_polls(digest, _, draw),
        html_ideas(digest, _),
        html_unanswered(digest, _),
    ]
    objective = (
        f"<p>{esc(_('Objective: {objective}').format(objective=digest.objective))}</p>"
        if digest.objective
        else ""
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{esc(language)}">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title(digest, _))}</title>",
            f"<style>{STYLE}</style></head>",
            "<body><main>",
            f"<header><h1>{esc(title(digest, _))}</h1>",
            f'<p class="muted">{esc(period_text(digest, _))} ({esc(digest.timezone)})</p>',
            f"{objective}</header>",
            *sections,
            f'<footer class="consent">{esc(consent_note(_))}</footer>',
            "</main></body></html>",
            "",
        ]
    )


def html_section(key: str, heading: str, body: list[str], _: Gettext) -> str:
    inner = body or [f'<p class="muted">{esc(_("Nothing in this period."))}</p>']
    return "\n".join([f'<section id="{key}"><h2>{esc(heading)}</h2>', *inner, "</section>"])


def html_numbers(digest: Digest, _: Gettext) -> str:
    head = "".join(
        f"<th>{esc(t)}</th>" for t in ("", _("This period"), _("Previous period"), _("Change"))
    )
    rows = [
        f"<tr><td>{esc(a)}</td><td>{b}</td><td>{c}</td><td>{esc(d)}</td></tr>"
        for a, b, c, d in headline_rows(digest, _)
    ]
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return html_section("numbers", _("In numbers"), [table], _)


def html_people(digest: Digest, _: Gettext) -> str:
    items = [
        (_("Active members by actor type"), breakdown(digest.by_actor_type, actor_label, _)),
        (_("Messages by language"), breakdown(digest.by_language, language_label, _)),
    ]
    lines = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in items)
    return html_section("people", _("Who took part"), [f"<ul>{lines}</ul>"], _)


Draw = Callable[[ChartData], str] | None


def figure(chart: ChartData) -> str:
    """The chart's image, embedded, with its alt text and title."""
    data = base64.b64encode(plot_png(chart)).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" alt="{esc(chart.alt_text)}" width="800">'
        f"<figcaption>{esc(chart.title)}</figcaption>"
    )


def html_table(rows: list[list[str]]) -> str:
    head = "".join(f'<th scope="col">{esc(cell)}</th>' for cell in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows[1:]
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def html_chart(chart: ChartData, draw: Draw) -> str:
    """A chart beside its data table: the image where drawn, else its title and alt text."""
    shown = draw(chart) if draw else f"<figcaption>{esc(chart.title)}</figcaption>"
    if not draw:
        shown += f'<p class="muted">{esc(chart.alt_text)}</p>'
    return f"<figure>{shown}{html_table(chart.rows)}</figure>"


def html_charts(digest: Digest, _: Gettext, draw: Draw) -> str:
    body = [html_chart(chart, draw) for chart in participation_charts(digest, _)]
    return html_section("participation", _("Participation"), body, _)


def html_quote(quote: Quote, _: Gettext) -> str:
    return (
        f"<blockquote><p>{esc(excerpt(quote.text))}</p>"
        f"<footer>— {esc(who(quote, _))}</footer></blockquote>"
    )


def html_thread(thread: ThreadDigest, _: Gettext) -> str:
    parts = [
        f"<article><h3>{esc(thread_heading(thread, _))}</h3>",
        f'<p class="muted">{esc(thread_numbers(thread, _))}</p>',
    ]
    if thread.themes:
        chips = "".join(f"<span>{esc(t)}</span>" for t in thread.themes)
        parts.append(f'<p class="themes">{esc(_("Key themes:"))} {chips}</p>')
    parts += [html_quote(q, _) for q in thread.representative]
    if thread.agreed:
        items = "".join(f"<li>{esc(agreement_text(a, _))}</li>" for a in thread.agreed)
        parts.append(f"<p><strong>{esc(_('Most agreed with:'))}</strong></p><ul>{items}</ul>")
    return "\n".join([*parts, "</article>"])


def html_threads(digest: Digest, _: Gettext) -> str:
    return html_section("threads", _("Threads"), [html_thread(t, _) for t in digest.threads], _)


def html_poll(poll: PollDigest, _: Gettext) -> str:
    rows = "".join(
        f'<tr><td>{esc(option)}<div class="bar" style="width:{pct}%"></div></td>'
        f"<td>{count}</td><td>{pct}%</td></tr>"
        for option, count, pct in option_lines(poll)
    )
    return f"<p><strong>{esc(poll_line(poll, _))}</strong></p><table><tbody>{rows}</tbody></table>"


def html_polls(digest: Digest, _: Gettext, draw: Draw) -> str:
    body = []
    if digest.polls_closed:
        body.append(f"<h3>{esc(_('Closed in this period'))}</h3>")
        for poll, chart in zip(digest.polls_closed, poll_charts(digest, _), strict=True):
            body.append(html_poll(poll, _) + (f"<figure>{draw(chart)}</figure>" if draw else ""))
    if digest.polls_open:
        items = "".join(f"<li>{esc(open_poll_line(p, digest, _))}</li>" for p in digest.polls_open)
        body.append(f"<h3>{esc(_('Still open'))}</h3><ul>{items}</ul>")
    return html_section("polls", _("Polls"), body, _)


def html_ideas(digest: Digest, _: Gettext) -> str:
    body = []
    if digest.ideas_new:
        items = "".join(
            f"<li><code>{esc(i.code)}</code> {esc(i.title)} ({esc(status_label(i.status, _))})</li>"
            for i in digest.ideas_new
        )
        body.append(f"<h3>{esc(_('New ideas'))}</h3><ul>{items}</ul>")
    if digest.idea_changes:
        items = "".join(
            f"<li><code>{esc(s.code)}</code> {esc(s.title)}: "
            f"{esc(status_label(s.status_from, _))} → {esc(status_label(s.status_to, _))} "
            f"({esc(local_time(s.at, digest))})" + (f" — {esc(s.note)}" if s.note else "") + "</li>"
            for s in digest.idea_changes
        )
        body.append(f"<h3>{esc(_('Status changes'))}</h3><ul>{items}</ul>")
    return html_section("ideas", _("Ideas"), body, _)


def html_unanswered(digest: Digest, _: Gettext) -> str:
    items = []
    for item in digest.unanswered:
        asked = f"{who(item.question, _)}, {local_time(item.asked_at, digest)}"
        text = unanswered_text(item, _)
        items.append(f'<li>{esc(text)} <span class="muted">({esc(asked)})</span></li>')
    body = [f"<ul>{''.join(items)}</ul>"] if items else []
    return html_section("unanswered", _("Unanswered questions"), body, _)


# --- parts for a chat --------------------------------------------------------------------------

PART_CHARS = 3000  # a part's text at most (a Slack section holds 3000, a Telegram message 4096)
PART_BLOCKS = 40  # a part's blocks at most (a Slack message holds 50)


@dataclass(frozen=True)
class Part:
    """One message of a digest in a chat: a heading and [kind, text] blocks (`PostDigest`),
    text part `number` of `of`."""

    heading: str
    blocks: list[list[str]]
    number: int = 1
    of: int = 1


def to_parts(digest: Digest, language: str) -> list[Part | ChartData]:
    """The digest as a chat shows it, in order: the numbers, the participation charts, the
    threads and polls, the poll charts, then ideas and open questions. Text is packed into
    parts of at most PART_CHARS characters and PART_BLOCKS blocks, so every part fits one
    message on any platform; each part after the first is headed "title (2/5)"."""
    _ = translator(language)
    segments: list[list[list[str]] | list[ChartData]] = [
        overview_blocks(digest, _),
        participation_charts(digest, _),
        thread_blocks(digest, _) + poll_blocks(digest, _),
        poll_charts(digest, _),
        idea_blocks(digest, _) + unanswered_blocks(digest, _) + [["note", consent_note(_)]],
    ]
    packed: list[list[list[str]] | ChartData] = []
    for segment in segments:
        if segment and isinstance(segment[0], ChartData):
            packed += segment  # type: ignore[arg-type]
        else:
            packed += pack(segment)  # type: ignore[arg-type]
    texts = sum(1 for item in packed if not isinstance(item, ChartData))
    heading, parts, number = title(digest, _), [], 0
    for item in packed:
        if isinstance(item, ChartData):
            parts.append(item)
            continue
        number += 1
        shown = heading if number == 1 else f"{heading} ({number}/{texts})"
        parts.append(Part(shown, item, number, texts))
    return parts


def pack(blocks: Iterable[list[str]]) -> list[list[list[str]]]:
    """Blocks in runs within the part budget; a heading never ends a run (it goes with what
    follows it), and a single block longer than the budget is cut to it."""
    runs: list[list[list[str]]] = [[]]
    size = 0
    for kind, text in blocks:
        text = text if len(text) <= PART_CHARS else text[: PART_CHARS - 1] + "…"
        run = runs[-1]
        if run and (size + len(text) > PART_CHARS or len(run) >= PART_BLOCKS):
            carried = []
            while run and run[-1][0] in ("heading", "subheading"):
                carried.insert(0, run.pop())
            runs.append(carried)
            size = sum(len(t) for _k, t in carried)
        runs[-1].append([kind, text])
        size += len(text)
    return [run for run in runs if run]


def overview_blocks(digest: Digest, _: Gettext) -> list[list[str]]:
    blocks = [["note", f"{period_text(digest, _)} ({digest.timezone})"]]
    if digest.objective:
        blocks.append(["paragraph", _("Objective: {objective}").format(objective=digest.objective)])
    rows = [["", _("This period"), _("Previous period"), _("Change")]]
    rows += [[a, str(b), str(c), d] for a, b, c, d in headline_rows(digest, _)]
    return blocks + [
        ["heading", _("In numbers")],
        ["table", monospace(rows)],
        ["heading", _("Who took part")],
        [
            "item",
            f"{_('Active members by actor type')}: "
            + breakdown(digest.by_actor_type, actor_label, _),
        ],
        [
            "item",
            f"{_('Messages by language')}: " + breakdown(digest.by_language, language_label, _),
        ],
    ]


def nothing(_: Gettext) -> list[str]:
    return ["note", _("Nothing in this period.")]


def thread_blocks(digest: Digest, _: Gettext) -> list[list[str]]:
    blocks = [["heading", _("Threads")]]
    if not digest.threads:
        blocks.append(nothing(_))
    for thread in digest.threads:
        blocks += [["subheading", thread_heading(thread, _)], ["note", thread_numbers(thread, _)]]
        if thread.themes:
            blocks.append(["paragraph", f"{_('Key themes:')} {', '.join(thread.themes)}"])
        blocks += [["quote", f"{excerpt(q.text)}\n— {who(q, _)}"] for q in thread.representative]
        if thread.agreed:
            blocks.append(["paragraph", _("Most agreed with:")])
            blocks += [["item", agreement_text(a, _)] for a in thread.agreed]
    return blocks


def poll_blocks(digest: Digest, _: Gettext) -> list[list[str]]:
    blocks = [["heading", _("Polls")]]
    if not (digest.polls_closed or digest.polls_open):
        blocks.append(nothing(_))
    if digest.polls_closed:
        blocks.append(["subheading", _("Closed in this period")])
    for poll in digest.polls_closed:
        rows = [[o, str(c), f"{p}%"] for o, c, p in option_lines(poll)]
        blocks += [["item", poll_line(poll, _)], ["table", monospace(rows)]]
    if digest.polls_open:
        blocks.append(["subheading", _("Still open")])
        blocks += [["item", open_poll_line(poll, digest, _)] for poll in digest.polls_open]
    return blocks


def idea_blocks(digest: Digest, _: Gettext) -> list[list[str]]:
    blocks = [["heading", _("Ideas")]]
    if not (digest.ideas_new or digest.idea_changes):
        blocks.append(nothing(_))
    if digest.ideas_new:
        blocks.append(["subheading", _("New ideas")])
        blocks += [
            ["item", f"{idea.code} {idea.title} ({status_label(idea.status, _)})"]
            for idea in digest.ideas_new
        ]
    if digest.idea_changes:
        blocks.append(["subheading", _("Status changes")])
    for step in digest.idea_changes:
        moved = f"{status_label(step.status_from, _)} → {status_label(step.status_to, _)}"
        line = f"{step.code} {step.title}: {moved} ({local_time(step.at, digest)})"
        blocks.append(["item", line + (f" — {step.note}" if step.note else "")])
    return blocks


def unanswered_blocks(digest: Digest, _: Gettext) -> list[list[str]]:
    blocks = [["heading", _("Unanswered questions")]]
    if not digest.unanswered:
        blocks.append(nothing(_))
    for item in digest.unanswered:
        asked = f"{who(item.question, _)}, {local_time(item.asked_at, digest)}"
        blocks.append(["item", f"{unanswered_text(item, _)} ({asked})"])
    return blocks
