"""The rules are Unicode 14.0's (Python 3.11's) on every Python: 3.12 has Unicode 15.0 and 3.13 has 15.1.

The characters below are new in Unicode 15.0: U+1E030-U+1E06D (Cyrillic modifier letters, which NFKC maps
to Cyrillic letters from 15.0 on), U+31350 (CJK Extension H), U+11F50-U+11F59 (Kawi digits) and
U+1E4F0-U+1E4F9 (Nag Mundari digits). Unicode 14.0 left them unassigned: neither normalised nor word
characters nor digits, whatever the running Python's own Unicode database says.
"""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align.core import identity_key
from dedup.align.tfidf import _vectorizers, normalise_for_match
from dedup.align.worddiff import tokens, word_diff
from dedup.config import ShingleConfig
from dedup.io.records import parse_published
from dedup.normalize import normalize, tokenize
from dedup.resend import is_resend, title_words
from dedup.sentence_match import _facts
from dedup.shingle import shingle_texts

MODIFIER = "\U0001E030\U0001E031\U0001E032"   # NFKC gives "абв" from Unicode 15.0 on
EXT_H = "\U00031350"                         # a CJK ideograph from Unicode 15.0 on
KAWI = "\U00011F51\U00011F52"                # digits from Unicode 15.0 on
NAG_MUNDARI = "\U0001E4F1\U0001E4F2"         # digits from Unicode 15.0 on


def test_characters_new_in_unicode_15_are_neither_normalised_nor_words():
    assert normalize(f"{MODIFIER} ＡＢ") == f"{MODIFIER} ab"
    assert normalise_for_match(f"{MODIFIER}  “ＡＢ”") == f"{MODIFIER} \"ab\""
    assert tokenize(f"王{EXT_H} said {MODIFIER} and {KAWI} {NAG_MUNDARI}") == ["王", "said", "and"]
    text = "The linguist wrote the word as {} in her field notes on Tuesday"
    (with_new, without), _, _ = shingle_texts([text.format(MODIFIER), text.format("")], ShingleConfig(size=4))
    assert with_new.tolist() == without.tolist()
    analyzer = _vectorizers("word12", 2**10)[0].build_analyzer()
    assert analyzer(f"王{EXT_H} x{MODIFIER}") == ["王", "x", "王 x"]


def test_a_space_typed_next_to_a_character_new_in_unicode_15_keeps_the_sentence():
    # Unicode 14.0 has no word character there: the space changes no word, as a space before a comma would not.
    assert identity_key(f"王{EXT_H}出席了会议。") == identity_key(f"王 {EXT_H}出席了会议。")
    assert [t.strip() for t in tokens(f"王{EXT_H}x")] == ["王", EXT_H, "x"]
    # punctuation-like, one token each: the diff is the space alone, as for a space typed before a comma
    assert word_diff("Lee, won", "Lee , won") == [{"op": "=", "text": "Lee"}, {"op": "+", "text": " "},
                                                  {"op": "=", "text": ", won"}]
    assert word_diff(f"Lee{MODIFIER} won", f"Lee {MODIFIER} won") == [
        {"op": "=", "text": "Lee"}, {"op": "+", "text": " "}, {"op": "=", "text": f"{MODIFIER} won"}]


def test_digits_new_in_unicode_15_are_neither_figures_nor_resend_counts():
    assert _facts(f"Paid {KAWI} coins to Lee") == {"Paid", "Lee"}
    assert title_words(f"Nag Mundari {NAG_MUNDARI} vote") == ["nag", "mundari", "vote"]
    assert not is_resend(f"UPDATE {KAWI}- Markets rally")
    assert is_resend("UPDATE \u0663- Markets rally")   # Arabic-Indic three: a digit in Unicode 14.0


def test_a_date_in_digits_new_in_unicode_15_is_unreadable():
    kawi = "".join(chr(0x11F50 + int(c)) if c.isdigit() else c for c in "Fri, 27 Nov 2026 06:00:00 +0000")
    with pytest.raises(ValueError, match="unreadable date"):
        parse_published(kawi)
    assert parse_published("Fri, 27 Nov 2026 06:00:00 +0000").hour == 6


def test_invisible_unassigned_code_points_are_still_removed():
    # U+E0009 is a reserved default-ignorable code point: removed, so the accent composes with its letter.
    assert normalize("e\U000E0009\u0301") == "\u00e9"
    assert normalise_for_match("e\U000E0009\u0301\u00ad") == "\u00e9"


_MIXED = st.text(st.characters(exclude_categories=("Cs",))
                 | st.sampled_from(["\u0301", "\u0640", "\u00ad", "\U000E0009", "K", "ß", "ﬁ", "Ａ", "e", " ",
                                    MODIFIER[0], EXT_H, KAWI[0], "\u0cf3", "\U0001FAF7"]))


@settings(max_examples=500, deadline=None)
@given(_MIXED)
def test_the_shield_changes_nothing_that_unicode_14_assigned(text):
    """On Unicode 14.0 normalize() is plain NFKC and case folding for any text (Python 3.11's outputs
    stay); on a later version too, for text whose code points 14.0 assigned (Unicode's stability)."""
    from dedup._marks import UNICODE_VERSION
    from dedup.normalize import _KEPT_RUNS, _normalize

    if unicodedata.unidata_version != UNICODE_VERSION:
        text = _KEPT_RUNS.sub("", text)
    assert normalize(text) == (text.lower() if text.isascii() else _normalize(text))
