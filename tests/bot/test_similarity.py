"""Similar ideas and representative messages: what a member or a digest reader would notice."""

from __future__ import annotations

import csv
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.similarity import SIMILAR, TextIndex, grams, similar, words

POLIS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "polis"
AUSTRIA = "austria-climate.5twd2jsnkf.2022-08-08"
BIODIVERSITY = "scoop-hivemind.biodiversity"


def statements(conversation: str) -> list[tuple[int, str]]:
    """Every statement of a Polis conversation, moderated out or not, under its comment-id."""
    path = POLIS / conversation / "comments.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    with path.open(encoding="utf-8") as f:
        return [(int(row["comment-id"]), row["comment-body"]) for row in csv.DictReader(f)]


def all_statements() -> list[tuple[tuple[str, int], str]]:
    if not POLIS.is_dir():
        pytest.skip(f"{POLIS} is not here")
    conversations = sorted(p.name for p in POLIS.iterdir() if (p / "comments.csv").is_file())
    return [((c, key), text) for c in conversations for key, text in statements(c)]


# Pairs of different statements, by different wording, that a reader calls the same idea. In
# each pair the moderators accepted one and hid the other (moderated -1), perhaps as a repeat.
SAME_IDEAS = [
    # 167: "We need to find alternatives to using 1080 poison for pest control"
    # 32: "We should prioritise research and development into alternatives to 1080 poison"
    pytest.param(BIODIVERSITY, 167, 32, id="en-alternatives-to-1080-poison"),
    # 313: "The roles and responsibilities of various agencies needs to be clearer so public
    #       understand who is responsible for what"
    # 31: "Roles and responsibilities in the biodiversity system need to be better defined and
    #      communicated"
    pytest.param(BIODIVERSITY, 313, 31, id="en-clearer-roles"),
    # 203: "Threatened indigenous plants should be protected by stronger legal mechanisms"
    # 168: "Threatened Plants need legal protection"
    pytest.param(BIODIVERSITY, 203, 168, id="en-protect-threatened-plants"),
    # 94: "Verbot geplanter Obsoleszenz. Verpflichtende leichte Reparierbarkeit und (zB
    #      Akkutausch) u. Offenlegung von Schalt-, Bauplänen, u. Software"
    # 26: "Strengere Regeln gegen geplante Obsoleszenz, für Reparierbarkeit der Produkte."
    pytest.param(AUSTRIA, 94, 26, id="de-planned-obsolescence"),
    # 117: "Die Ideologisierung des wichtigen Themas "Klimaschutz" für politischen Missbrauch
    #       muss verhindert werden."
    # 118: "Der Klimaschutz darf nicht dem Missbrauch durch politisch-ideologische Demagogen zum
    #       Opfer fallen."
    pytest.param(AUSTRIA, 117, 118, id="de-no-ideological-misuse"),
]


@pytest.mark.parametrize(("conversation", "one", "other"), SAME_IDEAS)
def test_the_same_idea_in_other_words_ranks_first_among_its_whole_conversation(
    conversation: str, one: int, other: int
) -> None:
    texts = statements(conversation)
    index = TextIndex(texts)
    body = dict(texts)
    for query, expected in ((one, other), (other, one)):
        shown = index.similar_to(body[query], exclude={query})
        assert shown, f"{query} is shown nothing"
        assert shown[0][0] == expected, f"{query} is shown {shown} before {expected}"
        assert shown[0][1] >= SIMILAR


def test_unrelated_statements_are_rarely_called_similar() -> None:
    texts = statements(AUSTRIA)
    index = TextIndex(texts)
    matches = [len(index.similar_to(text, limit=len(texts), exclude={key})) for key, text in texts]
    pairs = len(texts) * (len(texts) - 1)
    assert sum(matches) / pairs < 0.01  # measured: 0.13%, verbatim repeats included
    assert sorted(matches)[len(matches) // 2] == 0  # most are shown nothing (measured: 63%)


KINDS = [
    "e-bikes",
    "repair-cafe",
    "district-heating",
    "solar-schools",
    "schoolyard-trees",
    "car-free-sunday",
    "free-transit",
]

# One sector's ideas per language, in the order of KINDS; then rephrasings of some, each with
# the idea it repeats; then titles alone; then an idea that is about something else.
IDEAS = {
    "en": [
        "Shared e-bikes at every metro station",
        "A repair café in every district, where volunteers fix broken appliances and clothes",
        "Extend district heating to the old town so homes can stop burning gas",
        "Solar panels on the roofs of all schools and sports halls",
        "More trees and greenery in schoolyards against heatwaves",
        "A car-free Sunday in the city centre once a month",
        "Free public transport for pensioners and students",
    ],
    "nl": [
        "Elektrische deelfietsen bij elk metrostation",
        "Een repaircafé in elke wijk, waar vrijwilligers kapotte apparaten en kleding repareren",
        "Stadsverwarming aanleggen in de oude binnenstad zodat huizen van het gas af kunnen",
        "Zonnepanelen op de daken van alle scholen en sporthallen",
        "Meer bomen en groen op schoolpleinen tegen hittegolven",
        "Een autovrije zondag in het centrum, één keer per maand",
        "Gratis openbaar vervoer voor ouderen en studenten",
    ],
    "fi": [
        "Sähköavusteisia kaupunkipyöriä jokaiselle metroasemalle",
        "Korjauskahvila jokaiseen kaupunginosaan, jossa vapaaehtoiset korjaavat rikkinäisiä "
        "laitteita ja vaatteita",
        "Kaukolämpöverkko laajennettava vanhaan kantakaupunkiin, jotta talot voivat luopua "
        "öljylämmityksestä",
        "Aurinkopaneelit kaikkien koulujen ja urheiluhallien katoille",
        "Lisää puita ja viheralueita koulujen pihoille helteiden varalle",
        "Autoton sunnuntai keskustassa kerran kuukaudessa",
        "Ilmainen joukkoliikenne eläkeläisille ja opiskelijoille",
    ],
    "sv": [
        "Elcyklar att hyra vid varje tunnelbanestation",
        "Ett reparationskafé i varje stadsdel där volontärer lagar trasiga apparater och kläder",
        "Bygg ut fjärrvärmen i gamla stan så att husen kan sluta elda med olja",
        "Solpaneler på taken till alla skolor och idrottshallar",
        "Fler träd och mer grönska på skolgårdarna mot värmeböljor",
        "En bilfri söndag i centrum en gång i månaden",
        "Gratis kollektivtrafik för pensionärer och studenter",
    ],
    "de": [
        "Leih-E-Bikes an jeder U-Bahn-Station",
        "Ein Reparaturcafé in jedem Viertel, in dem Freiwillige kaputte Geräte und Kleidung "
        "reparieren",
        "Fernwärme in der Altstadt ausbauen, damit die Häuser nicht mehr mit Gas heizen",
        "Solaranlagen auf den Dächern aller Schulen und Sporthallen",
        "Mehr Bäume und Grün auf Schulhöfen gegen die Hitze",
        "Ein autofreier Sonntag in der Innenstadt einmal im Monat",
        "Gratis Öffis für Pensionisten und Studierende",
    ],
}
REPHRASED = {
    "en": [
        ("Every metro station should have electric bikes you can share", "e-bikes"),
        ("Schools should get solar panels on their roofs", "solar-schools"),
    ],
    "nl": [
        ("Bij ieder metrostation zouden elektrische deelfietsen moeten staan", "e-bikes"),
        ("Repaircafés in alle wijken", "repair-cafe"),
        ("Scholen moeten zonnepanelen op het dak krijgen", "solar-schools"),
    ],
    "fi": [
        ("Metroasemille tarvitaan kaupunkipyöriä, joissa on sähköavustus", "e-bikes"),
        ("Korjauskahviloita kaikkiin kaupunginosiin", "repair-cafe"),
        ("Kouluihin pitää saada aurinkopaneeleja katolle", "solar-schools"),
    ],
    "sv": [
        ("Vid tunnelbanestationerna borde man kunna hyra elcyklar", "e-bikes"),
        ("Reparationskaféer i alla stadsdelar", "repair-cafe"),
        ("Skolorna borde få solpaneler på taken", "solar-schools"),
    ],
    "de": [
        ("An den U-Bahn-Stationen sollte man E-Bikes leihen können", "e-bikes"),
        ("Reparaturcafés in allen Vierteln", "repair-cafe"),
        ("Schulen sollen Solaranlagen aufs Dach bekommen", "solar-schools"),
    ],
}
TITLES = {
    "en": [("E-bikes", "e-bikes"), ("Repair café", "repair-cafe")],
    "nl": [("Deelfietsen", "e-bikes"), ("Repaircafé", "repair-cafe")],
    "fi": [("Kaupunkipyörät", "e-bikes"), ("Korjauskahvila", "repair-cafe")],
    "sv": [("Elcyklar", "e-bikes"), ("Reparationskafé", "repair-cafe")],
    "de": [("E-Bikes", "e-bikes"), ("Reparaturcafé", "repair-cafe")],
}
UNRELATED = {
    "en": "The library should open longer at weekends",
    "nl": "De bibliotheek moet in het weekend langer open zijn",
    "fi": "Kirjaston aukioloaikoja pitäisi pidentää viikonloppuisin",
    "sv": "Biblioteket borde ha längre öppettider på helgerna",
    "de": "Die Bücherei soll am Wochenende länger offen haben",
}
LANGUAGES = list(IDEAS)


def sector_ideas(language: str) -> list[tuple[str, str]]:
    return list(zip(KINDS, IDEAS[language], strict=True))


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_rephrased_idea_finds_its_original_first(language: str) -> None:
    index = TextIndex(sector_ideas(language))
    for query, original in REPHRASED[language] + TITLES[language]:
        shown = index.similar_to(query)
        assert shown, f"{query!r} is shown nothing"
        assert shown[0][0] == original, f"{query!r} is shown {shown}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unrelated_idea_is_shown_nothing(language: str) -> None:
    ideas = sector_ideas(language)
    assert similar(UNRELATED[language], ideas) == []
    closest = similar(UNRELATED[language], ideas, limit=1, min_score=0.0)
    assert not closest or closest[0][1] < SIMILAR / 2  # far below, not just below


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_same_idea_twice_scores_one(language: str) -> None:
    ideas = sector_ideas(language)
    text = IDEAS[language][2]
    assert similar(text.upper(), ideas, limit=1) == [("district-heating", pytest.approx(1.0))]


def test_at_most_three_ideas_are_shown_and_the_best_first() -> None:
    ideas = [
        ("a", "Shared e-bikes at the central station"),
        ("b", "Shared e-bikes at every metro station"),
        ("c", "Shared e-bikes at every metro station and tram stop"),
        ("d", "Shared e-bikes at every metro station in the city"),
        ("e", "Shared cargo bikes at every metro station"),
    ]
    shown = similar("Shared e-bikes at every metro station", ideas)
    assert len(shown) == 3
    assert shown[0] == ("b", pytest.approx(1.0))
    assert [score for _, score in shown] == sorted((score for _, score in shown), reverse=True)


BIKE_LANE_THREAD = [
    (1, "The new bike lane on Harbour Street is far too narrow for cargo bikes."),
    (2, "Cargo bikes and the bike lane on Harbour Street: can it be widened near the bridge?"),
    (3, "I cycle on Harbour Street every day; the bike lane ends abruptly at the bridge."),
    (4, "A wider bike lane on Harbour Street would make cycling with children safer."),
    (5, "Parked delivery vans block the Harbour Street bike lane every morning."),
    (6, "Does anyone know when the library reopens after the summer holidays?"),
    (7, "Painting the Harbour Street bike lane green would make it more visible to drivers."),
]


def test_representative_messages_leave_out_the_off_topic_one() -> None:
    index = TextIndex(BIKE_LANE_THREAD)
    representative = index.centroid_nearest(3)
    assert len(representative) == 3
    assert 6 not in [key for key, _ in representative]
    everyone = index.centroid_nearest(len(BIKE_LANE_THREAD))
    assert everyone[-1][0] == 6  # the least representative of all


def test_representative_statements_of_a_real_conversation_are_on_its_topic() -> None:
    texts = statements(BIODIVERSITY)
    body = dict(texts)
    representative = TextIndex(texts).centroid_nearest(5)
    assert len(representative) == 5
    for key, _ in representative:
        assert "biodivers" in body[key].casefold(), body[key]


def test_empty_and_wordless_texts_match_nothing_and_represent_nothing() -> None:
    empty: TextIndex[int] = TextIndex([])
    assert len(empty) == 0
    assert empty.similar_to("Shared e-bikes") == []
    assert empty.centroid_nearest() == []
    assert similar("Shared e-bikes", []) == []

    index = TextIndex([(1, ""), (2, "?!"), (3, "   "), (4, "Shared e-bikes at every station")])
    for query in ("", "?!", "   "):
        assert index.similar_to(query, min_score=0.0) == []
    assert index.similar_to("Shared e-bikes", min_score=0.0)[0][0] == 4
    assert [key for key, _ in index.similar_to("station", min_score=0.0)] == [4]
    assert index.centroid_nearest(10) == [(4, pytest.approx(1.0))]
    assert index.similar_to("Shared e-bikes", limit=0) == []


def test_short_words_and_letters_beyond_ascii_are_kept() -> None:
    assert grams("å") == Counter({" å ": 1})
    assert grams("ei") == Counter({" ei": 1, "ei ": 1, " ei ": 1})
    assert " ää" in grams("ääni")
    assert words("Fjärrvärme, Straße & Café!") == ["fjärrvärme", "strasse", "café"]
    assert similar("STRASSE", [("x", "Straße")]) == [("x", pytest.approx(1.0))]


def test_the_same_input_gives_the_same_order() -> None:
    ideas = sector_ideas("nl") + [("z-copy", IDEAS["nl"][0]), ("a-copy", IDEAS["nl"][0])]
    query = "Elektrische deelfietsen bij het station"
    first = TextIndex(ideas).similar_to(query, limit=10, min_score=0.0)
    assert TextIndex(ideas).similar_to(query, limit=10, min_score=0.0) == first
    assert TextIndex(list(reversed(ideas))).similar_to(query, limit=10, min_score=0.0) == first
    # equal scores are ordered by key
    assert [key for key, _ in first[:3]] == ["a-copy", "e-bikes", "z-copy"]
    assert TextIndex(ideas).centroid_nearest(10) == TextIndex(ideas).centroid_nearest(10)


def test_a_word_index_weighs_whole_words() -> None:
    index = TextIndex(
        [(1, "bike lane"), (2, "bike parking"), (3, "lane closure")],
        features=lambda text: Counter(words(text)),
    )
    assert index.similar_to("lane bike", limit=1) == [(1, pytest.approx(1.0))]
    assert set(index.centroid()) == {"bike", "lane", "parking", "closure"}


def test_an_index_of_every_polis_statement_is_built_and_queried() -> None:
    texts = all_statements()
    started = time.perf_counter()
    index = TextIndex(texts)
    built = time.perf_counter()
    for key, text in texts[::10]:
        index.similar_to(text, exclude={key})
    representative = index.centroid_nearest(5)
    done = time.perf_counter()
    queries = len(texts[::10])
    print(
        f"\n{len(texts)} statements indexed in {built - started:.2f}s; {queries} queries and a "
        f"centroid in {done - built:.2f}s ({(done - built) / queries * 1000:.1f} ms a query)"
    )
    assert len(index) == len(texts)
    assert len(representative) == 5


def test_representatives_pass_over_a_repost_of_one_already_picked() -> None:
    """A statement reposted with a prefix is nearest the centre twice; with `repeat` the
    second copy gives way to the next different statement."""
    point = "Products that harm the climate should cost clearly more than climate-friendly ones."
    texts = [
        (1, point),
        (2, "Climate council: " + point),
        (3, "Products harming the climate should cost more than the climate-friendly ones."),
        (4, "Repairable products should be the norm, and spare parts cheap."),
        (5, "Public transport should be free on weekends."),
    ]
    index = TextIndex(texts)
    plain = [key for key, _ in index.centroid_nearest(3)]
    distinct = [key for key, _ in index.centroid_nearest(3, repeat=0.8)]
    assert {1, 2} <= set(plain)  # without it, the repost takes a place
    assert len({1, 2} & set(distinct)) == 1 and len(distinct) == 3
