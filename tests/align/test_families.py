"""Added-sentence families: the screened grouping equals the all-pairs one, and what it computes exactly grows
with the matches, not with the square of the sentences."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align.families import (
    _all_pairs,
    _components,
    exact_dots,
    group_similar,
    group_stories,
)
from dedup.align.tfidf import IdfModel, l2_normalise


def all_pairs_grouping(vectors: sp.csr_matrix, threshold: float) -> np.ndarray:
    """The grouping before screening: every pair's cosine from the full sparse product."""
    return _components(vectors.shape[0], *_all_pairs(sp.csr_matrix(vectors), threshold, 1 << 30))


def unit_rows(texts: list[str], features: str = "char35") -> sp.csr_matrix:
    rows = l2_normalise(IdfModel(features=features).fit(texts).weights(texts))
    cols, inverse = np.unique(rows.indices, return_inverse=True)     # as core._compact: only used buckets
    out = sp.csr_matrix((rows.data, inverse.astype(np.int32), rows.indptr), shape=(rows.shape[0], max(len(cols), 1)))
    out.sort_indices()
    return out


WORDS = ["tax", "vote", "mayor", "river", "flood", "council", "budget", "school", "police", "storm", "the", "a",
         "said", "on", "in", "new", "plan", "city", "state", "5", "12"]


@st.composite
def sentence_sets(draw):
    base = draw(st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=10), min_size=1, max_size=30))
    texts = [" ".join(words) for words in base]
    for _ in range(draw(st.integers(0, 10))):      # near-copies, so that some pairs join
        words = draw(st.sampled_from(base))[:]
        if words:
            words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(WORDS))
        texts.append(" ".join(words))
    return texts


@settings(max_examples=150, deadline=None)
@given(sentence_sets(), st.sampled_from([0.3, 0.52, 0.8, 1.0]), st.integers(1, 8), st.integers(1, 64),
       st.sampled_from(["char35", "word12"]))
def test_screened_grouping_equals_all_pairs(texts, threshold, block, groups, features):
    vectors = unit_rows(texts, features)
    expected = all_pairs_grouping(vectors, threshold)
    assert np.array_equal(group_similar(vectors, threshold, block=block, groups=groups), expected)


@settings(max_examples=100, deadline=None)
@given(sentence_sets(), st.lists(st.integers(1, 9), min_size=1, max_size=8), st.sampled_from([0.3, 0.52, 0.8]),
       st.integers(1, 16))
def test_stories_grouped_together_get_each_storys_own_labels(texts, cuts, threshold, block):
    """group_stories over consecutive stories equals group_similar story by story, label for label: the
    stories share hashed columns here (the renaming keeps them apart) and a product block may cut a story."""
    hashed = l2_normalise(IdfModel(features="char35").fit(texts).weights(texts))
    hashed.sort_indices()
    sizes, at = [], 0
    for cut in cuts:
        if at < len(texts):
            sizes.append(min(cut, len(texts) - at))
            at += sizes[-1]
    rows = hashed[:at]
    expected, lo = [], 0
    for size in sizes:
        story = rows[lo:lo + size]
        cols, inverse = np.unique(story.indices, return_inverse=True)    # as core._compact
        compact = sp.csr_matrix((story.data, inverse.astype(np.int32), story.indptr),
                                shape=(size, max(len(cols), 1)))
        compact.sort_indices()
        expected.extend(group_similar(compact, threshold).tolist())
        lo += size
    assert group_stories(rows, np.array(sizes), threshold, block=block).tolist() == expected


def test_exact_dots_are_the_products_entries_bit_for_bit():
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS, rng.integers(1, 14))) for _ in range(300)]
    vectors = unit_rows(texts)
    full = (vectors @ vectors.T).tocoo()
    dots = exact_dots(vectors, full.row.astype(np.int64), full.col.astype(np.int64), chunk=997)
    assert np.array_equal(dots, full.data)          # not approximately: the very same float64 values


def unrelated_story(n: int, seed: int = 7) -> list[str]:
    """``n`` versions, each adding two sentences of its own random words; every tenth pair of versions shares one
    (in two wordings)."""
    rng = np.random.default_rng(seed)

    def words(k: int) -> list[str]:
        return ["".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), 7)) for _ in range(k)]

    texts = []
    for v in range(n):
        texts.extend(" ".join(words(12)) for _ in range(2))
        if v % 10 == 0:
            shared = words(12)
            texts.append(" ".join(shared))
        elif v % 10 == 1:
            texts.append(" ".join([*shared, "on", "monday"]))
    return list(dict.fromkeys(texts))


def test_exactly_computed_pairs_grow_linearly_with_the_versions():
    verified = {}
    for n in (200, 400, 800):
        vectors = unit_rows(unrelated_story(n))
        stats: dict[str, int] = {}
        labels = group_similar(vectors, 0.52, block=256, stats=stats)
        assert np.array_equal(labels, all_pairs_grouping(vectors, 0.52))
        assert stats["joined"] == n // 10                 # the shared sentences do join
        verified[n] = stats["verified"]
        assert stats["screened"] == vectors.shape[0] * (vectors.shape[0] - 1) // 2
    # the cheap screen sees every pair; the exact computation only a number that grows ~linearly
    assert verified[800] <= 2.5 * max(verified[400], 1) and verified[400] <= 2.5 * max(verified[200], 1)
    assert verified[800] < 0.01 * 800 * 2 * 799
