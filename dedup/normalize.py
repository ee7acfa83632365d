"""Text normalisation and tokenisation (stateless).

Normalisation is Unicode NFKC plus case folding, with Arabic tatweel and
short-vowel marks removed (they are optional in Arabic and vary by outlet),
and the invisible formatting characters too (soft hyphens, zero-width
spaces and joiners, direction marks, variation selectors: Unicode's default
ignorable code points), which would otherwise cut a word in two.
Tokens are words in scripts written with spaces (Latin, Cyrillic, Greek,
Arabic, Hebrew, Devanagari...) and single characters in scripts written
without spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan),
so a shingle of ``k`` tokens is ``k`` words or ``k`` characters.

:func:`tokenize` is the reference; :func:`token_classes` states the same rule
as a code point table for the native tokenizer of :mod:`dedup.shingle`.

The rules are Unicode 14.0's on every Python (:mod:`dedup._marks`): word
characters and digits come from its tables (:class:`Unicode14Re`, in place of
``re``'s ``\\w`` and ``\\d``, which follow the running Python), and what 14.0
left unassigned is neither normalised nor case folded (:func:`unicode14`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property, lru_cache

import numpy as np

from dedup._marks import ASSIGNED_RANGES, DIGIT_RANGES, WORD_RANGES, covered
from dedup._marks import RANGES as MARK_RANGES

# Bits of :func:`token_classes`.
ALONE = np.uint8(1)  # a token by itself when it starts one (a character of a no-space script)
RUN = np.uint8(2)    # continues (or starts) a run of word characters and marks

# Scripts written without spaces between words: each character is a token.
_NO_SPACE_RANGES = [
    (0x0E00, 0x0EFF),    # Thai, Lao
    (0x0F00, 0x0FFF),    # Tibetan
    (0x1000, 0x109F),    # Myanmar
    (0x1780, 0x17FF),    # Khmer
    (0x2E80, 0x2FDF),    # CJK radicals
    (0x3005, 0x3007),    # 々 〆 〇
    (0x3040, 0x30FF),    # Hiragana, Katakana
    (0x31F0, 0x31FF),    # Katakana extensions
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
]


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" if a != b else re.escape(chr(a)) for a, b in ranges)


def _split(ranges: list[tuple[int, int]]) -> tuple[str, str]:
    """Character classes for the BMP and astral parts of ``ranges``.

    ``re`` matches a class limited to the BMP with a fast bitmap, so the two
    parts are kept apart.
    """
    bmp = [(a, min(b, 0xFFFF)) for a, b in ranges if a <= 0xFFFF]
    astral = [(max(a, 0x10000), b) for a, b in ranges if b > 0xFFFF]
    return _char_class(bmp), _char_class(astral)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def has_astral(text: str) -> bool:
    """True when ``text`` holds a character beyond the BMP (U+10000 and up)."""
    return not text.isascii() and _ASTRAL.search(text) is not None   # 4x faster than max(text)


_CLASSES = {"{w}": _split(WORD_RANGES), "{d}": _split(DIGIT_RANGES)}


class Unicode14Re:
    """A regular expression with Unicode 14.0's word characters and digits on every Python.

    ``template`` writes ``{w}`` and ``{d}`` inside a character class where ``re`` would take ``\\w``
    and ``\\d``: ``[{w}]+`` for ``\\w+``, ``[^{w}\\s]`` for ``[^\\w\\s]``. A class holding astral
    ranges checks each of them in turn for every BMP character it does not match (text with an astral
    character, such as an emoji, takes a few times longer), so text without astral characters (nearly
    all) takes a pattern whose classes stop at U+FFFF, as fast as ``\\w``.
    """

    def __init__(self, template: str, flags: int = 0):
        self._template, self._flags = template, flags

    def _compile(self, astral: bool) -> re.Pattern:
        pattern = self._template
        for name, (low, high) in _CLASSES.items():
            pattern = pattern.replace(name, low + high if astral else low)
        return re.compile(pattern, self._flags)

    @cached_property
    def bmp(self) -> re.Pattern:
        """The pattern for text without astral characters (compiled when first used: ~5 ms)."""
        return self._compile(False)

    @cached_property
    def full(self) -> re.Pattern:
        """The pattern for any text."""
        return self._compile(True)

    def pattern_for(self, text: str) -> re.Pattern:
        """The compiled pattern to apply to ``text``."""
        return self.full if has_astral(text) else self.bmp

    def findall(self, text: str) -> list:
        return self.pattern_for(text).findall(text)

    def search(self, text: str) -> re.Match | None:
        return self.pattern_for(text).search(text)

    def sub(self, repl, text: str) -> str:
        return self.pattern_for(text).sub(repl, text)


_NS, _NS_ASTRAL = _split(_NO_SPACE_RANGES)
_MK, _MK_ASTRAL = _split(MARK_RANGES)
# One character of a no-space script, or a run of other word characters and marks.
_TOKEN = Unicode14Re(rf"[{_NS}]|[{_NS_ASTRAL}]|(?:(?![{_NS}]|[{_NS_ASTRAL}])[{{w}}]|[{_MK}]|[{_MK_ASTRAL}])+")
# Text without marks, no-space or astral characters tokenises the same with plain \w+, much faster.
_SIMPLE = Unicode14Re("[{w}]+")   # used on text without astral characters only
_NEEDS_FULL_BMP = re.compile(rf"[{_NS}{_MK}]")
_ARABIC_MARKS = "\u0640\u064B-\u065F\u0670"
#: Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters a renderer shows as
#: nothing (U+00AD soft hyphen, U+200B-U+200F zero-width space, joiners and direction marks, U+2060
#: word joiner, U+FE00-U+FE0F variation selectors, U+FEFF, tags...), as a character class.
IGNORABLE = ("\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E"
             "\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8\U0001BCA0-\U0001BCA3"
             "\U0001D173-\U0001D17A\U000E0000-\U000E0FFF")
IGNORABLE_RE = re.compile(f"[{IGNORABLE}]")
#: What a text must not send to a terminal: control characters, line and paragraph separators, and the
#: bidirectional controls (they reorder the rest of the line: a title could show a reversed text).
TERMINAL_UNSAFE = "\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
#: What normalisation removes: Arabic tatweel and short-vowel marks (decoration and optional spelling aids),
#: and the invisible characters.
DROPPED_RE = re.compile(f"[{_ARABIC_MARKS}{IGNORABLE}]")


def _kept_as_they_are() -> list[tuple[int, int]]:
    """The code points Unicode 14.0 left unassigned, but for the invisible ones (:data:`IGNORABLE`: it
    reserves some), which normalisation removes whatever the version."""
    flags = covered(ASSIGNED_RANGES)
    for lo, hi in re.findall(r"(.)(?:-(.))?", IGNORABLE, re.DOTALL):
        flags[ord(lo):ord(hi or lo) + 1] = b"\x01" * (ord(hi or lo) - ord(lo) + 1)
    return [(m.start(), m.end() - 1) for m in re.finditer(b"\x00+", flags)]


_KEPT, _KEPT_ASTRAL = _split(_kept_as_they_are())
_KEPT_OR_ASTRAL = re.compile(f"[{_KEPT}\U00010000-\U0010ffff]")
_KEPT_RE, _KEPT_ASTRAL_RE = re.compile(f"[{_KEPT}]"), re.compile(f"[{_KEPT_ASTRAL}]")
_KEPT_RUNS = re.compile(f"([{_KEPT}{_KEPT_ASTRAL}]+)")


def new_since_unicode14(text: str) -> bool:
    """True if ``text`` holds a code point Unicode 14.0 left unassigned (an invisible one aside): one that
    Python 3.12 or later may take for a letter or a digit where 3.11 does not."""
    return not text.isascii() and bool(_KEPT_OR_ASTRAL.search(text)) and bool(
        _KEPT_RE.search(text) or _KEPT_ASTRAL_RE.search("".join(_ASTRAL.findall(text))))


def unicode14(function, text: str) -> str:
    """``function(text)`` as Unicode 14.0 has it, for a function that normalises or case folds
    (``str -> str``, one code point at a time or Unicode normalisation): applied to the runs of code
    points 14.0 assigned, what it left unassigned staying as it is (as on Python 3.11; but for the
    invisible ones, which the function gets). Unicode's stability policies make a character's
    normalisation and case folding final once it is assigned, and an unassigned code point changes
    nothing around it, so the result is 3.11's on any Python."""
    if not new_since_unicode14(text):
        return function(text)  # nearly always: one pass of a BMP class (an astral class is slow there)
    return "".join(part if i % 2 else function(part) for i, part in enumerate(_KEPT_RUNS.split(text)) if part)


def normalize(text: str) -> str:
    """NFKC, case folding, Arabic tatweel/harakat and invisible characters removed (Unicode 14.0's,
    :func:`unicode14`). Idempotent."""
    if text.isascii():
        return text.lower()  # the same result, about 20x faster
    return unicode14(_normalize, text)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = DROPPED_RE.sub("", text)
    # Case folding can produce sequences that NFKC composes differently.
    return unicodedata.normalize("NFKC", text)


def tokenize(text: str) -> list[str]:
    """Tokens of the normalised text (see module doc)."""
    text = normalize(text)
    full = _NEEDS_FULL_BMP.search(text) or has_astral(text)
    return _TOKEN.findall(text) if full else _SIMPLE.bmp.findall(text)


@lru_cache(maxsize=1)
def token_classes() -> np.ndarray:
    """The tokenizer's rule as a uint8 table indexed by code point (read-only).

    A token is one ``ALONE`` character, or a maximal run of ``RUN``
    characters; a character that has both bits is a token by itself when a
    token starts on it and extends a run otherwise (as in :data:`_TOKEN`,
    whose first alternative wins at the start of a match). ``RUN`` is
    ``re``'s ``\\w`` outside the no-space scripts, plus the combining marks.
    """
    table = np.zeros(0x110000, dtype=np.uint8)
    for lo, hi in WORD_RANGES:
        table[lo:hi + 1] = RUN
    for lo, hi in _NO_SPACE_RANGES:
        table[lo:hi + 1] = ALONE
    for lo, hi in MARK_RANGES:
        table[lo:hi + 1] |= RUN
    table.flags.writeable = False
    return table
