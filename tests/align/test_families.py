"""Added-sentence families: the screened grouping equals the all-pairs one, and what it computes exactly grows
with the matches, not with the square of the sentences; so do the provenance links' cosines."""

from __future__ import annotations

import numpy as np
import polars as pl
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align import AlignConfig, align_clusters, families, fit_idf
from dedup.align.families import (
    _all_pairs,
    _components,
    exact_dots,
    first_same,
    group_similar,
    group_stories,
    provenance,
    row_cosine,
)
from dedup.align.tfidf import IdfModel, l2_normalise
from tests.align.test_align import STORY, articles_and_clusters


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


@settings(max_examples=150, deadline=None)
@given(sentence_sets(), st.sampled_from([0.3, 0.52, 0.8, 1.0]), st.integers(1, 5), st.integers(1, 8),
       st.integers(1, 4), st.randoms(use_true_random=False))
def test_first_same_is_the_first_earlier_row_at_the_threshold(texts, threshold, small, block, run, rng):
    vectors = unit_rows(texts)
    rows = list(range(len(texts)))
    rng.shuffle(rows)
    expected = [next(j for j in range(i + 1) if j == i or row_cosine(vectors, rows[i], rows[j]) >= threshold)
                for i in range(len(rows))]
    got = first_same(vectors, np.array(rows, dtype=np.int64), threshold, small=small, block=block, run=run)
    assert got.tolist() == expected


def every_earlier_carrier(carried, outlet, unit, threshold):
    """provenance as it was first written: each carrier compared with every earlier one, key by key."""
    rows = []
    for family in sorted(carried):
        keys, evidence = {}, {}
        for rank, key, furniture in carried[family]:
            keys.setdefault(rank, []).append(key)
            if not furniture:
                evidence.setdefault(rank, []).append(key)
        ranks = sorted(keys)
        for k, later in enumerate(ranks[1:], start=1):
            own = evidence.get(later)
            if not own:
                continue
            for first in ranks[:k]:
                held = set(keys[first])
                n = sum(key in held or any(row_cosine(unit, key, other) >= threshold for other in held)
                        for key in own)
                if n:
                    if outlet(first) is None or outlet(first) != outlet(later):
                        rows.append((family, first, later, n))
                    break
    return rows


@settings(max_examples=150, deadline=None)
@given(sentence_sets(), st.sampled_from([0.52, 0.8, 1.0]), st.integers(1, 12), st.randoms(use_true_random=False))
def test_provenance_gives_the_links_of_comparing_every_earlier_carrier(texts, threshold, n_ranks, rng):
    vectors = unit_rows(texts)
    outlets = [rng.choice(["A", "B", "C", None]) for _ in range(n_ranks)]
    carried: dict[int, list] = {}
    for key in range(len(texts)):                    # each key in one family, carried by one or more ranks
        family = rng.randrange(3)
        for rank in rng.sample(range(n_ranks), rng.randint(1, n_ranks)):
            carried.setdefault(family, []).append((rank, key, rng.random() < 0.2))
    for rows in carried.values():
        rng.shuffle(rows)
    expected = every_earlier_carrier(carried, outlets.__getitem__, vectors, threshold)
    assert provenance(carried, outlets.__getitem__, vectors, threshold) == expected


SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "da", "gor", "lin", "mar", "tes", "qua", "bel"]


def bylines(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A wire story carried by ``n - 1`` outlets, each adding its own byline: lines alike (one added family at
    600 carriers), a few the same as another."""
    rng = np.random.default_rng(5)
    members = [("a0", "Wire", STORY, 0)]
    for k in range(1, n):
        desk = " ".join("".join(rng.choice(SYLLABLES, 2)).capitalize() for _ in range(2))
        line = f"Reporting by the staff of the {desk} Courier news desk for this edition, with local correspondents."
        members.append((f"a{k}", f"Outlet{k}", [*STORY, line], 1))
    return articles_and_clusters({"c": members})


def test_provenance_computes_a_few_cosines_per_carrier(monkeypatch):
    """Each carrier of an added family was compared with every earlier one: ~n**2 / 2 cosines (177,597 for
    these 599 bylines, against 2,438 now)."""
    computed = []

    def counting(indptr, indices, data, left, right):
        computed[-1] += len(left)
        return real(indptr, indices, data, left, right)

    real = families._row_dots
    monkeypatch.setattr(families, "_row_dots", counting)
    idf = fit_idf(*bylines(600))
    for n in (300, 600):
        computed.append(0)
        result = align_clusters(*bylines(n), config=AlignConfig(workers=1), idf=idf)
        assert computed[-1] < 8 * n
    added = result.sentences.filter(pl.col("status") == "added")
    assert added.height == 599 and added["family_id"].n_unique() == 1
    assert result.links.height == 8
