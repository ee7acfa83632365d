"""Text normalisation and tokenisation (stateless).

Normalisation is Unicode NFKC plus case folding, with Arabic tatweel and
short-vowel marks removed (they are optional in Arabic and vary by outlet).
Tokens are words in scripts written with spaces (Latin, Cyrillic, Greek,
Arabic, Hebrew, Devanagari...) and single characters in scripts written
without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar), so a
shingle of ``k`` tokens is ``k`` words or ``k`` characters.
"""

from __future__ import annotations

import unicodedata

import regex

_NO_SPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}"
# One character of a no-space script, or a run of other word characters
# (regex's \w includes combining marks, so Devanagari and Arabic words stay whole).
_TOKEN = regex.compile(rf"[{_NO_SPACE}]|[^\W{_NO_SPACE}]+", regex.V1)
_ARABIC_MARKS = regex.compile(r"[\u0640\u064B-\u065F\u0670]")


def normalize(text: str) -> str:
    """NFKC, case folding, Arabic tatweel/harakat removed. Idempotent."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ARABIC_MARKS.sub("", text)
    # Case folding can produce sequences that NFKC composes differently.
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[str]:
    """Tokens of the normalised text (see module doc)."""
    return _TOKEN.findall(normalize(text))
