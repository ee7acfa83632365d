"""Word diffs rebuild both sentences, and the numba matching is difflib's."""

from __future__ import annotations

import difflib
import random
import time

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align.rows import word_diff_series
from dedup.align.worddiff import opcodes, split_diff, tokens, word_diff
from dedup.schema import WORD_DIFF


def side(diff, skip):
    return "".join(d["text"] for d in diff if d["op"] != skip)


def test_substitution_insertion_deletion():
    canonical = "LONDON (Reuters) - Two people died, police said."
    version = "Three people died, local police said on Tuesday."
    diff = word_diff(canonical, version)
    assert [(d["op"], d["text"].strip()) for d in diff] == [
        ("-", "LONDON (Reuters) - Two"), ("+", "Three"), ("=", "people died,"), ("+", "local"),
        ("=", "police said"), ("+", "on Tuesday"), ("=", "."),
    ]
    assert side(diff, "-") == version
    assert side(diff, "+") == canonical


def test_identical_sentence_is_one_equal_op():
    assert word_diff("Prices rose 2.5% in U.S. trade.", "Prices rose 2.5% in U.S. trade.") == [
        {"op": "=", "text": "Prices rose 2.5% in U.S. trade."}]


def test_numbers_are_single_tokens():
    assert [t.strip() for t in tokens("It cost $1,200.50 on 3.5%.")] == ["It", "cost", "$", "1,200.50", "on", "3.5",
                                                                          "%", "."]


def test_split_sentence_diff_is_cut_between_the_parts():
    canonical = "The Met Office said gusts reached 90 mph at the Needles on the Isle of Wight."
    parts = ["The Met Office said gusts reached 90 mph.", "They were measured at the Needles on the Isle of Wight."]
    first, second = split_diff(canonical, parts)
    assert side(first, "-") == parts[0]
    assert side(second, "-") == parts[1]
    assert ("+", "They were measured") in [(d["op"], d["text"].strip()) for d in second]


_word = st.sampled_from(["the", "The", "storm", "hit", "U.S.", "3.5", "said", ",", ".", "\"", "police", "on",
                         "Tuesday", "-", "(Reuters)", "’s", "10,000"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_word, min_size=1, max_size=25), st.lists(_word, min_size=1, max_size=25),
       st.sampled_from([" ", "\n", "  "]))
def test_diff_rebuilds_both_sentences_exactly(a, b, sep):
    canonical, version = " ".join(a), sep.join(b)
    diff = word_diff(canonical, version)
    assert side(diff, "-") == version
    assert side(diff, "+") == canonical
    assert all(d["op"] in "=+-" and d["text"] for d in diff)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "the", ",", "."]), max_size=30),
       st.lists(st.sampled_from(["a", "b", "c", "the", ",", ".", "d"]), max_size=30))
def test_opcodes_are_difflibs(a, b):
    assert opcodes(a, b) == difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def test_opcodes_are_difflibs_on_long_repetitive_sentences():
    rng = random.Random(4)
    words = "the of and to a in said on for that".split()
    for _ in range(200):
        a = rng.choices(words, k=rng.randint(0, 300))     # over 200 tokens: difflib's autojunk would apply
        b = [w if rng.random() < 0.8 else rng.choice(words) for w in a] + rng.choices(words, k=rng.randint(0, 5))
        assert opcodes(a, b) == difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "the", ",", "."]), max_size=40),
       st.lists(st.sampled_from(["a", "b", "c", "the", ",", ".", "d"]), max_size=40), st.integers(0, 200))
def test_opcodes_over_their_budget_still_spell_both_sides(a, b, steps):
    """Whatever the budget, the opcodes cover both lists in order and their equal runs are equal."""
    ops = opcodes(a, b, steps=steps)
    starts = [(i1, j1) for _, i1, _, j1, _ in ops] + [(len(a), len(b))]
    assert starts == [(0, 0)] + [(i2, j2) for _, _, i2, _, j2 in ops]
    assert all(a[i1:i2] == b[j1:j2] for tag, i1, i2, j1, j2 in ops if tag == "equal")


def test_a_huge_edited_sentence_is_diffed_in_bounded_time():
    """A text with no sentence punctuation is one sentence: 160,000 words with scattered edits took ~7 s of
    matching (the square of the length where words recur); past the budget the diff is coarser, still exact."""
    rng = random.Random(1)
    vocab = ["".join(rng.choices("bcdfghklmnprstvz", k=rng.randint(2, 8))) for _ in range(5000)]
    a = rng.choices(vocab, [1 / (r + 1) for r in range(len(vocab))], k=160_000)
    b = list(a)
    for i in rng.sample(range(len(b)), len(b) // 50):
        b[i] = rng.choice(vocab)
    b[-1] = "changed"
    canonical, version = " ".join(a), " ".join(b)
    start = time.process_time()
    diff = word_diff(canonical, version)
    assert time.process_time() - start < 2.0
    assert side(diff, "-") == version and side(diff, "+") == canonical
    assert diff[0]["op"] == "=" and diff[-1]["op"] == "+" and diff[-1]["text"].endswith(" changed")


@pytest.mark.parametrize("diffs", [
    [],
    [None],
    [[]],
    [None, [], [{"op": "=", "text": "rose"}, {"op": "-", "text": "5%"}, {"op": "+", "text": "6%"}], None],
    [[{"op": "=", "text": "\u65e5\u672c"}], [{"op": "+", "text": ""}]],
])
def test_word_diff_column_equals_polars_own_conversion(diffs):
    got = word_diff_series(diffs)
    want = pl.Series("word_diff", diffs, dtype=WORD_DIFF)
    assert got.dtype == want.dtype and got.null_count() == want.null_count()
    assert got.to_list() == want.to_list()
