"""Which language a message is in, and which language a member is answered in.

langdetect is seeded so the same text always gets the same answer. It is noisy on short texts
(about 1 in 9 messages of five words or fewer is mislabelled; about 1 in 80 longer ones), so:
short messages take the member's language instead of a guess, and a detection changes a
member's language only when it is confident and agrees with their recent messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from storage.models import LanguageSource, Member

DetectorFactory.seed = 0

MIN_LETTERS = 20  # below this, langdetect is wrong too often to be worth asking
MIN_WORDS = 6  # messages of five words or fewer never change a member's language
CONFIDENT = 0.9  # a detection below this probability is not taken as a sign
RECENT = 3  # how many confident detections are remembered per member
AGREEING = 2  # of which this many must name a new language before it is adopted


@dataclass(frozen=True)
class Detection:
    language: str
    probability: float

    @property
    def confident(self) -> bool:
        return self.probability >= CONFIDENT


def is_short(text: str) -> bool:
    return sum(ch.isalpha() for ch in text) < MIN_LETTERS or len(text.split()) < MIN_WORDS


def detect(text: str) -> Detection | None:
    """The most likely language of `text`, or None when it has too few letters to tell."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return None
    return Detection(language=best.lang, probability=best.prob)


def normalise(code: str | None) -> str | None:
    """'nl-NL', 'en_US', 'FI' -> 'nl', 'en', 'fi'; None or '' -> None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].strip().lower()
    return base if base.isalpha() and 2 <= len(base) <= 3 else None


def message_language(member: Member, text: str, detection: Detection | None) -> str | None:
    """The language stored with a message: detected when long enough, else the member's."""
    if detection is not None and not is_short(text):
        return detection.language
    return member.language or (detection.language if detection else None)


def apply_hint(member: Member, hint: str | None) -> bool:
    """Take the platform's language setting, unless the member chose one with /lang."""
    code = normalise(hint)
    if code is None or member.language_source is LanguageSource.SET:
        return False
    if member.language == code and member.language_source is LanguageSource.HINT:
        return False
    member.language, member.language_source = code, LanguageSource.HINT
    return True


def learn_from_message(member: Member, text: str, detection: Detection | None) -> bool:
    """Let a message's language count towards the member's; True when it changed it."""
    if detection is None or is_short(text) or not detection.confident:
        return False
    recent = [code for code in member.recent_languages.split(",") if code]
    recent = (recent + [detection.language])[-RECENT:]
    member.recent_languages = ",".join(recent)
    if member.language_source in (LanguageSource.SET, LanguageSource.HINT):
        return False
    new = detection.language
    if member.language == new:
        return False
    if member.language is None or recent.count(new) >= AGREEING:
        member.language, member.language_source = new, LanguageSource.DETECTED
        return True
    return False


# Each language by its own name, as its speakers would look for it in a list.
LANGUAGE_NAMES = {
    "en": "English",
    "nl": "Nederlands",
    "fi": "suomi",
    "sv": "svenska",
    "de": "Deutsch",
    "fr": "français",
    "da": "dansk",
    "no": "norsk",
    "et": "eesti",
}


def language_name(code: str) -> str:
    """'Nederlands (nl)' for 'nl'; the bare code for a language without a listed name."""
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def reply_language(member: Member, supported: list[str]) -> str:
    """The member's language when the bot speaks it, else English."""
    return member.language if member.language in supported else "en"
