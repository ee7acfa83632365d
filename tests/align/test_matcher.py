"""The order-aware matcher on hand-made similarity matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align.matcher import Link, _join_arrays, align, join_scores

KW = dict(align_threshold=0.5, reorder_window=1, moved_threshold=0.9)


def test_monotone_alignment_prefers_the_larger_ordered_set():
    sim = np.array([[0.9, 0.0, 0.0],
                    [0.0, 0.0, 0.6],    # would cross (2, 1); the best ordered set is (0,0)+(2,2)
                    [0.0, 0.7, 0.8]])
    links = align(sim, None, **KW)
    # 0.9 + 0.8 beats 0.9 + 0.7
    assert [(link.version, link.canonical) for link in links] == [((0,), (0,)), ((2,), (2,))]


def test_below_threshold_never_matches():
    assert align(np.array([[0.49]]), None, **KW) == []


def test_moved_sentence_needs_strong_evidence_far_away():
    sim = np.zeros((6, 6))
    for k in range(5):
        sim[k + 1, k] = 1.0          # version sentences 1..5 = canonical 0..4
    sim[0, 5] = 0.95                 # version sentence 0 = canonical 5, moved to the top
    links = align(sim, None, **KW)
    assert Link((0,), (5,), 0.95, moved=True) in links
    sim[0, 5] = 0.6                  # weak and far from where the order puts it: not a match
    assert all(link.version != (0,) for link in align(sim, None, **KW))


def test_split_and_merge_moves():
    # version 0 and 1 are two halves of canonical 0 (each alone 0.6, joined 0.95)
    sim = np.array([[0.6, 0.0], [0.6, 0.0], [0.0, 1.0]])
    norms = np.ones(3)
    joins = join_scores(sim, norms, np.ones(2), np.zeros(2), np.zeros(1), align_threshold=0.5, join_gain=0.1)
    links = align(sim, joins, **KW)
    assert links[0].version == (0, 1) and links[0].canonical == (0,)
    assert links[0].similarity > 0.8
    assert links[1] == Link((2,), (1,), 1.0)


def test_a_moved_sentence_can_also_be_split():
    # version 0+1 = canonical 4 split in two and moved to the top; version 2..5 = canonical 0..3
    sim = np.zeros((6, 5))
    for k in range(4):
        sim[k + 2, k] = 1.0
    sim[0, 4] = sim[1, 4] = 0.7                  # joined: 1.4 / sqrt(2) = 0.99 >= moved_threshold
    joins = join_scores(sim, np.ones(6), np.ones(5), np.zeros(5), np.zeros(4), align_threshold=0.5, join_gain=0.05,
                        join_threshold=0.7)
    links = align(sim, joins, **KW)
    assert links[0].version == (0, 1) and links[0].canonical == (4,) and links[0].moved
    assert links[0].similarity == pytest.approx(1.4 / np.sqrt(2))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(0, 7), st.integers(0, 7), st.integers(0, 2**31))
def test_batched_join_arrays_equal_join_scores_bit_for_bit(b, m, n, seed):
    # the compiled batch (zero rows included: padding, zero norms give 0/0 and no join) against numpy
    rng = np.random.default_rng(seed)
    sim = np.where(rng.random((b, m, n)) < 0.5, rng.uniform(0.2, 1.0, (b, m, n)), 0.0)
    v_norm = np.where(rng.random((b, m)) < 0.8, rng.uniform(0.5, 3, (b, m)), 0.0)
    v_adj = rng.uniform(0, 1, (b, max(m - 1, 0)))
    c_norm, c_adj = rng.uniform(0.5, 3, n), rng.uniform(0, 1, max(n - 1, 0))
    kw = {"align_threshold": 0.5, "join_gain": 0.05, "join_threshold": 0.6}
    merge, split = _join_arrays(sim, v_norm, c_norm, v_adj, c_adj, **kw)
    for r in range(b):
        want = join_scores(sim[r], v_norm[r], c_norm, v_adj[r], c_adj, **kw)
        assert merge[r].tobytes() == want.merge.tobytes() and merge[r].shape == want.merge.shape
        assert split[r].tobytes() == want.split.tobytes() and split[r].shape == want.split.shape
