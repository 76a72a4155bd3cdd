"""Which language a message is in (langdetect, seeded so the same text gives the same answer).

Detection is unreliable on short texts, so they get no language rather than a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

DetectorFactory.seed = 0

MIN_LETTERS = 20  # below this, langdetect is wrong too often to be worth asking


@dataclass(frozen=True)
class Detection:
    language: str
    probability: float


def detect(text: str) -> Detection | None:
    """The most likely language of `text`, or None when it is too short to tell."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < MIN_LETTERS:
        return None
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return None
    return Detection(language=best.lang, probability=best.prob)
