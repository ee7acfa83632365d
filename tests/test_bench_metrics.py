"""benchmarks/metrics.py: pair counts, ARI and cluster counts over labels that are any hashables.

Labels name the same cluster only when they are equal (as dict keys), never because their ``str()``
is: ``1`` and ``"1"`` are two clusters. Cross-checked against brute-force pair counting and
``sklearn.metrics.adjusted_rand_score`` on small random labelings.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from benchmarks.metrics import (
    ari,
    cluster_scores,
    joined_with_anchor,
    pair_counts,
    pairs_involving,
)


def _brute(pred, gold, mask=None):
    """(tp, pred_pairs, gold_pairs) by enumerating pairs (with a mask: pairs with a masked member)."""
    tp = pp = gp = 0
    for i, j in itertools.combinations(range(len(pred)), 2):
        if mask is not None and not (mask[i] or mask[j]):
            continue
        same_p, same_g = pred[i] == pred[j], gold[i] == gold[j]
        tp += same_p and same_g
        pp += same_p
        gp += same_g
    return tp, pp, gp


def _mixed(codes):
    """Labels of distinct clusters whose str() collide: code 2m -> m (an int), 2m + 1 -> str(m)."""
    return [c // 2 if c % 2 == 0 else str(c // 2) for c in codes]


def test_labels_equal_as_strings_are_different_clusters():
    pred, gold = [1, "1", 2, 2], ["a", "b", "c", "c"]
    c = pair_counts(pred, gold)
    assert (c.tp, c.pred_pairs, c.gold_pairs) == _brute(pred, gold) == (1, 1, 1)
    assert ari(pred, gold) == pytest.approx(1.0)
    s = cluster_scores(pred, gold)
    assert (s["pred_clusters"], s["gold_clusters"], s["f1"]) == (3, 3, 1.0)


def test_none_is_refused_as_a_label():
    with pytest.raises(ValueError, match="None is not a cluster label"):
        pair_counts(["k", None, None], ["a", "b", "c"])
    with pytest.raises(ValueError, match="None is not a cluster label"):
        ari(["k", "k", "j"], ["a", None, "b"])


@pytest.mark.parametrize("kind", ["int", "str", "mixed"])
def test_counts_and_ari_match_brute_force_and_sklearn(kind):
    rng = random.Random(f"metrics-{kind}")
    for trial in range(120):
        n = rng.randint(1, 25)
        kp, kg = rng.randint(1, n), rng.randint(1, n)   # kp == 1: one cluster; kp == n: mostly singletons
        cp = [rng.randrange(kp) for _ in range(n)]
        cg = [rng.randrange(kg) for _ in range(n)]
        if trial == 0:
            cp = list(range(n))                          # all singletons
        to = {"int": list, "str": lambda c: [f"c{x}" for x in c], "mixed": _mixed}[kind]
        pred, gold = to(cp), to(cg)
        mask = [rng.random() < 0.3 for _ in range(n)]
        c = pair_counts(pred, gold)
        assert (c.tp, c.pred_pairs, c.gold_pairs) == _brute(cp, cg)
        m = pairs_involving(pred, gold, mask)
        assert (m.tp, m.pred_pairs, m.gold_pairs) == _brute(cp, cg, mask)
        assert ari(pred, gold) == pytest.approx(adjusted_rand_score(cg, cp))
        s = cluster_scores(pred, gold)
        assert (s["pred_clusters"], s["gold_clusters"]) == (len(set(cp)), len(set(cg)))


def test_joined_with_anchor_keeps_colliding_labels_apart():
    # gold clusters 0 and "0" (anchors at 0 and 2); predicted clusters 5 and "5"
    pred, gold = [5, 5, "5", 5], [0, 0, "0", "0"]
    anchor = [True, False, True, False]
    assert joined_with_anchor(pred, gold, anchor).tolist() == [True, True, True, False]
    assert isinstance(joined_with_anchor(pred, gold, anchor), np.ndarray)
