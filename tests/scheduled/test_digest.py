"""The weekly digest: what it counts, whom it names, which messages it quotes, how it renders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest

from bot.config import Settings
from scheduled import digest as digest_module
from scheduled.digest import (
    Digest,
    build_digest,
    last_complete_week,
    latest_active_week,
    week_bounds,
)
from scheduled.render import to_html, to_markdown
from storage.models import (
    ActorType,
    Idea,
    IdeaChange,
    IdeaStatus,
    Poll,
    PollStatus,
    PollVote,
    StatementVote,
)
from tests.scheduled.seeding import WEEK, ZONE, Seed, local

# --- representative messages -------------------------------------------------------------------

# One point (more bike parking at the station) said eight ways, and four messages about
# something else; one outlier shares the word "parking" on purpose.
THREADS = {
    "en": (
        [
            "We need more bike parking at the central station.",
            "Please add more bicycle parking near the station.",
            "The station needs more places to park bikes.",
            "There is never enough bike parking at the station, we need more racks.",
            "More bicycle racks at the train station would help a lot.",
            "Could the city build extra bike parking by the station, please.",
            "Bike parking at the station is always full; add more spaces.",
            "I would love more secure bike parking next to the station.",
        ],
        [
            "I got a parking fine last week for my car, that is unfair.",
            "Does anyone know a good place for lunch near the town hall?",
            "The tram timetable changes in December.",
            "My neighbour's dog barks all night long.",
        ],
    ),
    "de": (
        [
            "Wir brauchen mehr Fahrradstellplätze am Bahnhof.",
            "Am Bahnhof fehlen Abstellplätze für Fahrräder.",
            "Bitte mehr Fahrradparkplätze direkt am Hauptbahnhof.",
            "Die Fahrradständer am Bahnhof sind immer voll, es braucht mehr davon.",
            "Mehr Platz zum Fahrradparken am Bahnhof wäre toll.",
            "Der Bahnhof braucht dringend zusätzliche Fahrradstellplätze.",
            "Ich wünsche mir mehr sichere Fahrradabstellplätze am Bahnhof.",
            "Es gibt zu wenige Stellplätze für Räder beim Bahnhof.",
        ],
        [
            "Ich habe einen Strafzettel fürs Falschparken bekommen, das ist ärgerlich.",
            "Weiß jemand, wo man in der Nähe des Rathauses gut zu Mittag essen kann?",
            "Der Straßenbahnfahrplan ändert sich im Dezember.",
            "Der Hund meines Nachbarn bellt die ganze Nacht.",
        ],
    ),
    "it": (
        [
            "Servono più parcheggi per biciclette alla stazione.",
            "Alla stazione mancano posti per parcheggiare la bici.",
            "Più rastrelliere per bici davanti alla stazione, per favore.",
            "I parcheggi bici della stazione sono sempre pieni, ne servono di più.",
            "Vorrei più posti bici sicuri vicino alla stazione ferroviaria.",
            "La stazione ha bisogno di nuovi parcheggi per le biciclette.",
            "Aggiungete parcheggi per bici alla stazione centrale.",
            "Non si trova mai posto per la bicicletta in stazione.",
        ],
        [
            "Ho preso una multa per divieto di sosta con la macchina, è ingiusto.",
            "Qualcuno conosce un buon posto per pranzare vicino al municipio?",
            "L'orario del tram cambia a dicembre.",
            "Il cane del mio vicino abbaia tutta la notte.",
        ],
    ),
}
THEME = {"en": "station", "de": "bahnhof", "it": "stazione"}


@pytest.mark.parametrize("language", ["en", "de", "it"])
def test_representative_messages_are_the_paraphrases_in_any_language(
    seed: Seed, settings: Settings, language: str
) -> None:
    paraphrases, outliers = THREADS[language]
    thread = seed.thread("What should change at the station?", local(0, 9))
    # outliers in between, so neither order nor position can pick the paraphrases
    texts = paraphrases[:3] + outliers[:2] + paraphrases[3:6] + outliers[2:] + paraphrases[6:]
    for n, text in enumerate(texts):
        author = seed.member(f"member {n}", actor=ActorType.RESIDENT)
        seed.say(author, text, local(1 + n % 5, 8 + n), thread, language=language)

    [digest_thread] = seed.digest().threads

    picks = [quote.text for quote in digest_thread.representative]
    assert len(picks) == 3 and set(picks) <= set(paraphrases), picks
    assert (digest_thread.replies, digest_thread.participants) == (12, 12)
    assert THEME[language] in digest_thread.themes
    if language != "en":
        assert language not in settings.languages  # not a language the bot is configured for


def test_a_busy_thread_is_read_from_an_even_sample_and_still_quotes_its_point(
    seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above THREAD_SAMPLE replies the quotes come from replies spread evenly over the week:
    the cost stops growing, the picks stay on the thread's point and stay the same."""
    monkeypatch.setattr(digest_module, "THREAD_SAMPLE", 8)
    paraphrases, outliers = THREADS["en"]
    thread = seed.thread("What should change at the station?", local(0, 9))
    texts = (paraphrases + outliers) * 2  # 24 replies, 8 of them read
    for n, text in enumerate(texts):
        seed.say(seed.member(f"m{n}"), text, local(n % 7, 8 + n % 10, n), thread)

    first, again = seed.digest().threads[0], seed.digest().threads[0]

    assert first.replies == 24  # every reply still counts
    assert first.representative == again.representative
    assert {q.text for q in first.representative} <= set(paraphrases)


def test_an_even_sample_keeps_the_ends_and_the_spacing() -> None:
    assert digest_module.spread(list(range(10)), 4) == [0, 3, 6, 9]
    assert digest_module.spread(list(range(3)), 4) == [0, 1, 2]
    assert len(set(digest_module.spread(list(range(100_001)), 2000))) == 2000


def test_themes_prefer_a_recurring_pair_to_its_words(seed: Seed) -> None:
    paraphrases, outliers = THREADS["en"]
    thread = seed.thread("What should change at the station?", local(0, 9))
    for n, text in enumerate(paraphrases + outliers):
        seed.say(seed.member(f"m{n}"), text, local(2, n), thread)

    [digest_thread] = seed.digest().threads

    assert digest_thread.themes[:2] == ["station", "bike parking"]
    assert not {"bike", "parking", "the", "more"} & set(digest_thread.themes)


# --- consent -----------------------------------------------------------------------------------


def test_only_members_who_consented_are_named(seed: Seed) -> None:
    anna = seed.member("Anna Consenting", named=True, actor=ActorType.RESIDENT)
    boris = seed.member("Boris Private", named=False, actor=ActorType.RESEARCH)
    nobody = seed.member("Carla Unset", named=False, actor=None)
    thread = seed.thread("Where should the new bike racks go?", local(0, 9))
    seed.say(anna, "Bike racks at the station entrance, please.", local(1, 10), thread)
    seed.say(boris, "Bike racks along the station square would be best.", local(1, 11), thread)
    seed.say(nobody, "More bike racks near the station platforms.", local(1, 12), thread)
    seed.say(boris, "Who maintains the racks we already have?", local(2, 10), chat="other")

    digest = seed.digest()

    [digest_thread] = digest.threads
    assert digest_thread.named == ["Anna Consenting"]
    assert digest_thread.participants == 3
    shown = {q.text: (q.who, q.named) for q in digest_thread.representative}
    assert shown == {
        "Bike racks at the station entrance, please.": ("Anna Consenting", True),
        "Bike racks along the station square would be best.": ("research", False),
        "More bike racks near the station platforms.": ("a member", False),
    }
    [question] = digest.unanswered
    assert (question.question.who, question.question.named) == ("research", False)
    for rendered in (to_markdown(digest, "en"), to_html(digest, "en")):
        assert "Anna Consenting" in rendered
        assert "Boris Private" not in rendered and "Carla Unset" not in rendered
        assert "research" in rendered and "a member" in rendered
    dutch = to_html(digest, "nl")
    assert "Anna Consenting" in dutch and "Boris Private" not in dutch
    assert "onderzoek" in dutch  # the actor type in the reader's language


def test_a_member_whose_only_reply_is_hidden_is_not_named(seed: Seed) -> None:
    """They still count as a participant, but a hidden message names nobody."""
    anna = seed.member("Anna Consenting", named=True)
    bert = seed.member("Bert Consenting", named=True)
    thread = seed.thread("Where should the new bike racks go?", local(0, 9))
    seed.say(anna, "At the station, please.", local(1), thread)
    spam = seed.say(bert, "Buy cheap watches here!", local(2), thread)
    spam.hidden_at = local(3)
    seed.session.add(spam)
    seed.session.flush()

    (digest_thread,) = seed.digest().threads

    assert (digest_thread.replies, digest_thread.participants) == (2, 2)
    assert digest_thread.named == ["Anna Consenting"]
    assert "Bert Consenting" not in to_markdown(seed.digest(), "en")


# --- counts, polls, ideas, unanswered ----------------------------------------------------------


def test_counts_by_language_and_actor_type_against_the_previous_week(seed: Seed) -> None:
    ada = seed.member("Ada", actor=ActorType.RESIDENT, joined=local(1, week=-1))
    ben = seed.member("Ben", actor=ActorType.RESEARCH, joined=local(0, 0, 5))
    cem = seed.member("Cem", joined=local(6, 23, 30))  # Sunday 23:30: still this week
    seed.member("Dee", joined=local(0, 0, 30, week=1))  # Monday 00:30: next week
    seed.say(ada, "Last week's first message.", local(1, week=-1))
    seed.say(ada, "Late on Sunday, the week before.", local(6, 23, 30, week=-1))
    seed.say(ada, "Good morning, mobility!", local(0, 8))
    seed.say(ada, "Sunday night, still this week.", local(6, 23, 30))
    seed.say(ben, "Goedemorgen allemaal.", local(1), language="nl")
    seed.say(ben, "Wie komt er donderdag?", local(2), language="nl")
    seed.say(cem, "Guten Abend zusammen.", local(3), language="de")
    seed.say(None, None, local(4), language=None)  # erased by retention: counted, never shown
    seed.say(ada, "Monday just after midnight: next week.", local(0, 0, 30, week=1))

    digest = seed.digest()

    assert (digest.label, digest.first_day.isoformat(), digest.last_day.isoformat()) == (
        "2026-W47",
        "2026-11-16",
        "2026-11-22",
    )
    assert (digest.messages, digest.active_members, digest.new_members) == (6, 3, 2)
    assert digest.by_language == {"en": 2, "nl": 2, "de": 1, "unknown": 1}
    assert digest.by_actor_type == {"research": 1, "resident": 1, "unknown": 1}
    previous = digest.previous
    assert (previous.messages, previous.active_members, previous.new_members) == (2, 1, 1)
    assert previous.by_language == {"en": 2}
    assert digest.change == {"messages": 200, "active_members": 200, "new_members": 100}
    assert digest.counts.messages == 6
    quoted = [q.question.text for q in digest.unanswered]
    assert quoted == []  # Ben's question was followed by Cem in the same channel


def test_a_quiet_week_has_no_change_to_show(seed: Seed) -> None:
    digest = seed.digest()
    assert (digest.messages, digest.active_members, digest.new_members) == (0, 0, 0)
    assert digest.change == {"messages": None, "active_members": None, "new_members": None}
    assert digest.threads == digest.unanswered == digest.polls_closed == []
    assert "## Threads" in to_markdown(digest, "en")


def test_polls_closed_in_the_period_and_still_open(seed: Seed) -> None:
    voter = [seed.member(f"voter {n}") for n in range(3)]

    def poll(question: str, created: datetime, closes: datetime, **rest: object) -> Poll:
        row = Poll(
            sector_id=seed.sector.id,
            question=question,
            options=["Ring", "Harbour"],
            created_at=created,
            closes_at=closes,
            **rest,
        )
        seed.session.add(row)
        seed.session.flush()
        return row

    closed = dict(status=PollStatus.CLOSED)
    poll("Old?", local(0, week=-2), local(2, week=-1), closed_at=local(2, week=-1), **closed)
    poll(
        "Which street first?",
        local(0, week=-1),
        local(3),
        closed_at=local(3),
        results={"counts": [3, 1], "voters": 4},
        **closed,
    )
    running = poll("Which colour?", local(1), local(2, week=1))
    poll("Too new?", local(1, week=1), local(3, week=1))
    for n, when in enumerate([local(2), local(3), local(1, week=1)]):
        vote = PollVote(
            poll_id=running.id,
            voter_key=f"m{voter[n].id}",
            member_id=voter[n].id,
            option=n % 2,
            voted_at=when,
        )
        seed.session.add(vote)

    digest = seed.digest()

    [result] = digest.polls_closed
    assert (result.question, result.options, result.counts, result.voters) == (
        "Which street first?",
        ["Ring", "Harbour"],
        [3, 1],
        4,
    )
    [still] = digest.polls_open
    assert (still.question, still.closes_at, still.voters) == ("Which colour?", local(2, week=1), 2)
    markdown = to_markdown(digest, "en")
    assert "Ring: 3 (75%)" in markdown and "Which colour?" in markdown


def test_new_ideas_and_status_changes(seed: Seed) -> None:
    curator = seed.member("Cura")

    def idea(code: str, title: str, created: datetime, status: IdeaStatus) -> Idea:
        row = Idea(
            code=code,
            sector_id=seed.sector.id,
            title=title,
            description="...",
            status=status,
            created_at=created,
        )
        seed.session.add(row)
        seed.session.flush()
        seed.session.add(IdeaChange(idea_id=row.id, status_to=IdeaStatus.NEW, changed_at=created))
        return row

    def move(row: Idea, old: IdeaStatus, new: IdeaStatus, when: datetime, note: str = "") -> None:
        step = IdeaChange(
            idea_id=row.id,
            status_from=old,
            status_to=new,
            note=note,
            changed_by=curator.id,
            changed_at=when,
        )
        seed.session.add(step)

    fresh = idea("K7QX", "Cargo bike library", local(1), IdeaStatus.UNDER_REVIEW)
    older = idea("B2RT", "Night buses", local(2, week=-1), IdeaStatus.TO_TESTBED)
    move(fresh, IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW, local(3), "Good fit for the testbed")
    move(older, IdeaStatus.NEW, IdeaStatus.TO_TESTBED, local(2))
    move(older, IdeaStatus.NEW, IdeaStatus.UNDER_REVIEW, local(3, week=-1))  # last week

    digest = seed.digest()

    assert [(i.code, i.title, i.status) for i in digest.ideas_new] == [
        ("K7QX", "Cargo bike library", "under_review")
    ]
    assert [(s.code, s.status_from, s.status_to, s.note) for s in digest.idea_changes] == [
        ("B2RT", "new", "to_testbed", ""),
        ("K7QX", "new", "under_review", "Good fit for the testbed"),
    ]
    markdown = to_markdown(digest, "en")
    assert "`K7QX` Cargo bike library (under review)" in markdown
    assert "new → to testbed" in markdown


def test_unanswered_questions(seed: Seed) -> None:
    ada = seed.member("Ada", actor=ActorType.RESIDENT)
    ben = seed.member("Ben", actor=ActorType.USER)
    seed.thread("How do you get to the harbour?", local(0, week=-1))
    silent = seed.thread("What would make you leave the car at home?", local(1, 9))
    answered = seed.thread("Which bus line needs more trips?", local(1, 10))
    seed.say(ada, "Line 12, every morning.", local(1, 11), answered)
    seed.say(ada, "Is the ferry running in winter?", local(2, 9))  # Ben answers below
    seed.say(ben, "Yes, every hour.", local(2, 10))
    seed.say(ben, "Can we get a bike lane on Dijkstraat?", local(3, 9))
    seed.say(ben, "It is dangerous now.", local(3, 9, 5))  # his own follow-up: no answer
    seed.say(ada, "Where can I charge an e-bike?", local(4), chat="other")
    seed.say(ada, "Anyone?  ", local(4, 13), chat="other")
    seed.say(ben, "Too late to be answered this week?", local(0, 9, week=1))

    digest = seed.digest()

    listed = [(u.thread_id, u.question.text, u.question.who) for u in digest.unanswered]
    assert listed == [
        (silent.id, "What would make you leave the car at home?", "a member"),
        (None, "Can we get a bike lane on Dijkstraat?", "user"),
        (None, "Where can I charge an e-bike?", "resident"),
        (None, "Anyone?", "resident"),
    ]
    markdown = to_markdown(digest, "en")
    assert f"Thread #{silent.id}: What would make you leave the car at home?" in markdown


def test_an_erased_reply_counts_but_is_never_quoted(seed: Seed) -> None:
    thread = seed.thread("Shared scooters: yes or no?", local(0, 9))
    seed.say(None, None, local(1), thread)
    seed.say(seed.member("Eve"), "Yes, but with parking zones.", local(2), thread)

    [digest_thread] = seed.digest().threads

    assert (digest_thread.replies, digest_thread.participants) == (2, 1)
    assert [q.text for q in digest_thread.representative] == ["Yes, but with parking zones."]


# --- weeks -------------------------------------------------------------------------------------


def test_weeks_are_iso_weeks_in_the_city_zone(seed: Seed) -> None:
    start, end = week_bounds(WEEK, ZONE)
    assert (start, end) == (
        datetime(2026, 11, 15, 23, tzinfo=UTC),
        datetime(2026, 11, 22, 23, tzinfo=UTC),
    )
    spring_start, spring_end = week_bounds("2026-W13", ZONE)  # clocks go forward on 29 March
    assert spring_end - spring_start == timedelta(hours=167)
    assert last_complete_week(local(0, 0, 30, week=1), ZONE) == "2026-W47"
    assert last_complete_week(local(6, 23, 30), ZONE) == "2026-W46"
    with pytest.raises(ValueError):
        week_bounds("2026-47", ZONE)
    assert latest_active_week(seed.session, seed.sector, ZONE) is None
    seed.say(seed.member("Ada"), "Sunday night.", local(6, 23, 30))
    assert latest_active_week(seed.session, seed.sector, ZONE) == "2026-W47"
    seed.say(seed.member("Ben"), "Monday, early.", local(0, 0, 30, week=1))
    assert latest_active_week(seed.session, seed.sector, ZONE) == "2026-W48"


def test_a_digest_built_without_a_zone_still_knows_its_week(seed: Seed) -> None:
    start, end = week_bounds(WEEK, ZONE)
    digest = build_digest(seed.session, seed.sector, start, end)
    assert (digest.label, digest.first_day, digest.last_day, digest.timezone) == (
        "2026-W47",
        date(2026, 11, 16),
        date(2026, 11, 22),
        "UTC+01:00",
    )
    november = (datetime(2026, 11, 1, tzinfo=ZONE), datetime(2026, 12, 1, tzinfo=ZONE))
    month = build_digest(seed.session, seed.sector, *november, zone=ZONE)
    assert (month.label, month.timezone) == ("2026-11-01 – 2026-11-30", "Europe/Amsterdam")


# --- renderings --------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link"}


class TagChecker(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def busy_week(seed: Seed) -> Digest:
    anna = seed.member("Anna Consenting", named=True, actor=ActorType.RESIDENT)
    thread = seed.thread("More bike parking?", local(0, 9))
    seed.say(anna, "<script>alert('x')</script> & more bike parking, please", local(1), thread)
    seed.say(anna, "More bike parking at the station", local(2), thread)
    seed.session.add(
        Idea(
            code="K7QX",
            sector_id=seed.sector.id,
            title="Bikes <b>everywhere</b>",
            description="...",
            created_at=local(3),
        )
    )
    return seed.digest()


def test_the_html_page_is_standalone_well_formed_and_escapes_member_text(seed: Seed) -> None:
    page = to_html(busy_week(seed), "en")

    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.open == []
    assert checker.seen[:3] == ["html", "head", "meta"] and "title" in checker.seen
    assert "script" not in checker.seen and "b" not in checker.seen
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<script>alert('x')</script> & more bike parking, please" in "".join(checker.text)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    order = [page.index(f'<section id="{s}">') for s in SECTIONS]
    assert order == sorted(order)
    assert "named only if they consented" in page


SECTIONS = ["numbers", "people", "participation", "threads", "polls", "ideas", "unanswered"]


def test_the_markdown_has_every_section_in_order_and_shows_member_text_as_text(
    seed: Seed,
) -> None:
    markdown = to_markdown(busy_week(seed), "en")

    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == [
        "## In numbers",
        "## Who took part",
        "## Participation",
        "## Threads",
        "## Polls",
        "## Ideas",
        "## Unanswered questions",
    ]
    assert markdown.startswith("# Digest of Mobility: 2026-W47")
    assert "| Messages | 2 | 0 | – |" in markdown
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert "\\<b\\>everywhere\\</b\\>" in markdown
    assert "named only if they consented" in markdown


def test_the_renderings_speak_the_readers_language(seed: Seed) -> None:
    digest = busy_week(seed)
    for language in ("nl", "fi", "sv"):
        markdown = to_markdown(digest, language)
        assert "## In numbers" not in markdown and "## Threads" not in markdown, language
        assert "Anna Consenting" in markdown


def test_function_words_are_no_themes_in_any_language() -> None:
    """Words like "keine" (seen as a theme of the real Austrian climate council digest) say
    nothing about what a thread is about."""
    from scheduled.digest import content_word

    for word in ("keine", "jeder", "diese", "the", "niet", "että", "och", "perché"):
        assert not content_word(word), word
    for word in ("fahrrad", "klimarat", "bike", "fietspad", "pyörä", "cykel"):
        assert content_word(word), word


def test_imported_statements_show_the_ones_most_agreed_with(seed: Seed) -> None:
    """Polis votes: highest share agreeing first, ties by more votes, and too few votes to
    tell (fewer than 5 agree or disagree) left out."""
    resident = seed.member("Imported", actor=ActorType.RESIDENT)
    thread = seed.thread("What should the city do first?", local(0, 9))
    tallies = {
        "Plant trees on every street.": (10, 0, 4),
        "Close the ring road on Sundays.": (3, 0, 0),  # too few votes
        "More benches in the parks.": (8, 2, 1),
        "Cheaper public transport.": (20, 5, 2),
    }
    for n, (text, (agrees, disagrees, passes)) in enumerate(tallies.items()):
        message = seed.say(resident, text, local(1, 10 + n), thread)
        seed.session.add(
            StatementVote(message_id=message.id, agrees=agrees, disagrees=disagrees, passes=passes)
        )
    seed.session.flush()

    (digest_thread,) = seed.digest().threads
    assert [(a.quote.text, a.share) for a in digest_thread.agreed] == [
        ("Plant trees on every street.", 100),
        ("Cheaper public transport.", 80),
        ("More benches in the parks.", 80),
    ]
    markdown = to_markdown(seed.digest(), "en")
    assert (
        "- Plant trees on every street. — resident: 10 agree, 0 disagree, 4 pass (100% agree)"
        in (markdown)
    )
    assert "**Most agreed with:**" in markdown
    assert "Most agreed with:" in to_html(seed.digest(), "en", charts=False)
