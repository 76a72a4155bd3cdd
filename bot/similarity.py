"""Which texts say nearly the same thing: TF-IDF over character n-grams, offline, any language.

Members should see existing ideas like the one they submit, so they can join forces, and
digests pick the messages that best represent a discussion. Both need a similarity that works
alike in English, Dutch, Finnish, Swedish and German without stemmers or stopword lists:
character n-grams (3 to 5 characters, taken within each word, like scikit-learn's ``char_wb``)
match "Ideologisierung"/"politisch-ideologische" or "metroasemalle"/"metroasemille" by their
shared pieces, and inverse document frequency makes what every text has ("the", "und", "och")
weigh little. Vectors are sparse dicts, L2-normalised, so cosine similarity is a dot product;
queries walk an inverted index and the centroid is one pass, both linear in the texts.

Why ``SIMILAR = 0.3``, measured on the eight Polis conversations in ``../shared/data/polis/``
(1432 statements, each conversation indexed on its own, all 222,633 pairs within them):

- any two statements: median 0.03, 95th percentile 0.12, 99th 0.20; 0.24% reach 0.3, and
  those include the conversations' verbatim reposts (0.95 to 1.0);
- 25 pairs a reader calls the same idea in other words: 0.37 to 0.81, median 0.50;
- between 0.3 and 0.4 pairs are mostly on the same specific topic; between 0.2 and 0.3 they
  mostly only share a theme ("housing affordability"); at 0.3, 42% of statements have a match.

Words that share no letters ("district"/"neighbourhood") are not matched: this is spelling,
not meaning. A short query against a long text scores lower than against a short one.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

MIN_N = 3  # shorter grams ("en", "er") occur in nearly every word of every language
MAX_N = 5  # longer grams add little beyond 5 and make vectors larger
SIMILAR = 0.3  # default min_score: see the figures above
LIMIT = 3  # a member is shown at most this many similar ideas
REPEAT_POOL = 5  # centroid_nearest with `repeat` looks this many times `limit` deep

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; anything else separates

Vector = dict[str, float]
Features = Callable[[str], Counter[str]]


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Ordered)


def words(text: str) -> list[str]:
    """The words of `text`, case-folded (so "Straße" meets "STRASSE"), punctuation dropped."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def grams(text: str) -> Counter[str]:
    """How often each 3- to 5-character piece occurs, with a space padding each word's ends.

    The padding makes a word's start and end features of their own (" rad" begins a word,
    "rad " ends one), which tells a compound's head from its modifier.
    """
    counts: Counter[str] = Counter()
    for word in words(text):
        padded = f" {word} "
        for n in range(MIN_N, MAX_N + 1):
            if len(padded) <= n:
                counts[padded] += 1  # a short word ("ei", "å") counts once, whole
                break
            counts.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return counts


def _normalised(weights: dict[str, float]) -> Vector:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {f: w / norm for f, w in weights.items()} if norm else {}


def _ranked(scores: Iterable[tuple[K, float]], limit: int) -> list[tuple[K, float]]:
    # a heap of `limit` keeps ranking linear in the number of texts; the key breaks ties
    return heapq.nsmallest(max(limit, 0), scores, key=lambda item: (-item[1], item[0]))


class TextIndex(Generic[K]):
    """Texts under their keys, each feature weighted by how rare it is among these texts.

    Build one per comparable collection (the ideas of one sector, the messages of one thread):
    rarity is relative to it. Keys should be unique; they break ties between equal scores.
    `features` defaults to character n-grams; ``lambda t: Counter(words(t))`` gives a word
    index, whose centroid's heaviest features are a discussion's themes.
    """

    def __init__(self, texts: Sequence[tuple[K, str]], features: Features = grams) -> None:
        self._features = features
        counted = [(key, features(text)) for key, text in texts]
        document_frequency: Counter[str] = Counter()
        for _, counts in counted:
            document_frequency.update(counts.keys())
        size = len(counted)
        # scikit-learn's smooth idf: as if one more text held every feature, so none weighs 0
        self._idf = {f: math.log((1 + size) / (1 + df)) + 1 for f, df in document_frequency.items()}
        # a query feature no indexed text has is as rare as can be; it stays in the query's
        # norm, so a query mostly about something else scores low instead of on its overlap
        self._unseen_idf = math.log(1 + size) + 1
        self._keys = [key for key, _ in counted]
        self._vectors = [self._weigh(counts) for _, counts in counted]
        self._postings: dict[str, list[tuple[int, float]]] | None = None  # on first query

    def _inverted(self) -> dict[str, list[tuple[int, float]]]:
        """Feature -> (position, weight) of the texts that have it; built on the first query
        only, since a digest asks just for the centroid and would pay for it in memory."""
        if self._postings is None:
            self._postings = {}
            for position, vector in enumerate(self._vectors):
                for f, w in vector.items():
                    self._postings.setdefault(f, []).append((position, w))
        return self._postings

    def __len__(self) -> int:
        return len(self._keys)

    def _weigh(self, counts: Counter[str]) -> Vector:
        # sublinear tf: a piece repeated within one text is evidence, but not linearly so
        return _normalised(
            {f: (1 + math.log(c)) * self._idf.get(f, self._unseen_idf) for f, c in counts.items()}
        )

    def vector(self, text: str) -> Vector:
        """`text` as a unit vector weighted by this index's rarities (empty if it has no words)."""
        return self._weigh(self._features(text))

    def similar_to(
        self,
        text: str,
        limit: int = LIMIT,
        min_score: float = SIMILAR,
        exclude: Collection[K] = (),
    ) -> list[tuple[K, float]]:
        """Up to `limit` keys of the texts most like `text`, best first, with cosine scores.

        Texts scoring below `min_score` are left out, and so are the keys in `exclude` (the
        idea being submitted, when it is already stored).
        """
        scores: dict[int, float] = {}
        postings = self._inverted()
        for f, w in self.vector(text).items():
            for position, weight in postings.get(f, ()):
                scores[position] = scores.get(position, 0.0) + w * weight
        return _ranked(
            (
                (self._keys[position], score)
                for position, score in scores.items()
                if score >= min_score and self._keys[position] not in exclude
            ),
            limit,
        )

    def centroid(self) -> Vector:
        """The unit-length mean of all texts' vectors: what the collection is about overall."""
        total: dict[str, float] = {}
        for vector in self._vectors:
            for f, w in vector.items():
                total[f] = total.get(f, 0.0) + w
        return _normalised(total)

    def centroid_nearest(
        self, limit: int = LIMIT, repeat: float | None = None
    ) -> list[tuple[K, float]]:
        """Up to `limit` keys of the texts closest to the centroid: the most representative.

        Scores are cosines with the centroid. A text without words represents nothing and is
        never returned. With `repeat`, a text at least that similar to one already picked is
        passed over (a statement reposted with a prefix says nothing new), among the
        REPEAT_POOL * `limit` closest.
        """
        centroid = self.centroid()
        position = {key: n for n, key in enumerate(self._keys)}
        ranked = _ranked(
            (
                (key, sum(w * centroid[f] for f, w in vector.items()))
                for key, vector in zip(self._keys, self._vectors, strict=True)
                if vector
            ),
            limit if repeat is None else limit * REPEAT_POOL,
        )
        picked: list[tuple[K, float]] = []
        for key, score in ranked:
            vector = self._vectors[position[key]]
            if repeat is not None and any(
                _dot(vector, self._vectors[position[other]]) >= repeat for other, _ in picked
            ):
                continue
            picked.append((key, score))
            if len(picked) == limit:
                break
        return picked


def _dot(a: Vector, b: Vector) -> float:
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b.get(f, 0.0) for f, w in a.items())


def similar(
    query: str,
    candidates: Sequence[tuple[K, str]],
    limit: int = LIMIT,
    min_score: float = SIMILAR,
) -> list[tuple[K, float]]:
    """Up to `limit` keys of the candidates most like `query`, best first (a one-off index)."""
    return TextIndex(candidates).similar_to(query, limit=limit, min_score=min_score)
