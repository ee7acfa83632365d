"""Verification: vectorised overlaps and batched sentence shares against their per-pair definitions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup.cluster import FlatSets, _overlaps, verify
from dedup.config import AlignConfig, ClusterConfig
from dedup.schema import CANDIDATES
from dedup.sentence_match import SentenceMatcher
from tests.conftest import make_story


def _random_sets(seed: int, n: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32)    # shared hashes: real overlaps
    sets = []
    for _ in range(n):
        mine = np.concatenate([rng.choice(pool, rng.integers(0, 120)),
                               rng.integers(0, 2**32, rng.integers(0, 40), dtype=np.uint64).astype(np.uint32)])
        sets.append(np.unique(mine))
    return sets


@pytest.mark.parametrize("seed", range(5))
def test_overlaps_are_the_exact_intersection_sizes(seed):
    sets = _random_sets(seed)
    rng = np.random.default_rng(100 + seed)
    left, right = rng.integers(0, len(sets), 500), rng.integers(0, len(sets), 500)
    got = _overlaps(FlatSets.from_list(sets), left, right)
    assert got.tolist() == [len(set(sets[i].tolist()) & set(sets[j].tolist())) for i, j in zip(left, right)]


def test_flat_sets_from_a_list_and_from_a_column_agree():
    sets = _random_sets(7, n=10) + [np.empty(0, np.uint32)]
    a = FlatSets.from_list(sets)
    b = FlatSets.from_series(pl.Series(sets, dtype=pl.List(pl.UInt32)))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.offsets, b.offsets)
    assert len(a) == len(sets) and all(np.array_equal(a[i], s) for i, s in enumerate(sets))


def _texts(n_stories: int = 6) -> list[str]:
    """Stories, their trimmed, reordered and partly rewritten copies, and unrelated ones."""
    out = []
    for s in range(n_stories):
        story = make_story(500 + s, 10)
        out.append(" ".join(story))
        out.append(" ".join(story[:4]))
        out.append(" ".join(story[5:] + story[:2]))
        out.append(" ".join(x.replace("the", "a") for x in story[:7]) + " " + " ".join(make_story(700 + s, 3)))
    return out


def test_batched_shares_equal_each_pair_measured_on_its_own():
    texts = _texts()
    matcher = SentenceMatcher(AlignConfig()).fit(dict(enumerate(texts)))
    left, right = np.triu_indices(len(texts), 1)
    got = matcher.shares(left, right)
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist())):
        vi, vj = matcher.vectors_[i], matcher.vectors_[j]
        if vi.shape[0] > vj.shape[0]:
            vi, vj = vj, vi
        best = (vi @ vj.T).max(axis=1).toarray().ravel()
        assert got[k] == np.count_nonzero(best >= AlignConfig().align_threshold) / vi.shape[0]   # bit for bit
    assert matcher.share(0, 1) == got[0]
    assert (got > 0.9).sum() >= 6 and (got < 0.1).sum() >= 100


def test_a_given_idf_is_used_as_it_is():
    texts = dict(enumerate(_texts(2)))
    night = SentenceMatcher(AlignConfig()).fit(dict(enumerate(_texts(6)))).idf_
    matcher = SentenceMatcher(AlignConfig()).fit(texts, idf=night)
    assert matcher.idf_ is night
    assert (matcher.vectors_[0] != night.transform(matcher.sentences_[0])).nnz == 0


def test_verify_takes_a_list_of_sets_or_flat_sets_alike():
    sets = _random_sets(3, n=40)
    rng = np.random.default_rng(3)
    pairs = np.unique(np.sort(rng.integers(0, 40, (300, 2)), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    cand = pl.DataFrame({"left": pairs[:, 0], "right": pairs[:, 1]}, schema=CANDIDATES)
    config = ClusterConfig(min_overlap=2)
    a = verify(cand, sets, config=config)
    b = verify(cand, FlatSets.from_list(sets), config=config)
    assert_frame_equal(a, b)
    assert a["overlap"].to_list() == [len(set(sets[i].tolist()) & set(sets[j].tolist())) for i, j in pairs.tolist()]
