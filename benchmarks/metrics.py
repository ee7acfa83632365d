"""Clustering and sentence-diff metrics for the syndication benchmark.

Clustering (labels are any hashables except ``None``, one per article, aligned by
position; two labels name the same cluster when they are equal as dict keys, so
``1`` and ``"1"`` are two clusters; ``None`` raises ``ValueError``: give articles
without a cluster a label of their own first):

* ``pair_counts(pred, gold) -> PairCounts`` -- co-clustered pair counts from
  the contingency table (sum of C(n, 2) over cells), never O(n^2) pairs.
* ``pairwise_prf(pred, gold) -> dict`` -- precision/recall/F1 over pairs
  (+ tp/fp/fn).  Precision is 1.0 when no pairs are predicted, recall is 1.0
  when gold has no pairs.
* ``ari(pred, gold)`` -- ``sklearn.metrics.adjusted_rand_score``.
* ``cluster_scores(pred, gold) -> dict`` -- all of the above in one dict.
* ``pairs_involving(pred, gold, mask) -> PairCounts`` -- the same counts
  restricted to pairs with at least one article where ``mask`` is True
  (per cell: C(n,2) - C(n - m, 2)); used for "recall on pairs involving
  tail-trimmed copies" and "false merges involving press releases".
* ``joined_with_anchor(pred, gold, anchor) -> np.ndarray[bool]`` -- per article,
  whether it shares its predicted cluster with the anchor article (e.g. the
  wire original) of its gold cluster.

Sentence level (word-level P/R/F1; a "word" is a ``\\w+`` token, and a word is
inside a span set when its middle character is):

* ``span_word_counts(text, pred_spans, gold_spans) -> WordCounts`` -- for the
  "added" material of a copy: spans are [start, end) char offsets in the
  copy's text.  For "dropped" material pass the base (canonical) text and
  the char spans of predicted / gold dropped base sentences
  (``gold_dropped_spans``); ``spans_from_indices`` converts sentence indices.
* ``WordCounts`` -- tp/fp/fn with ``precision``/``recall``/``f1``; add
  instances together to micro-average over a corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
import polars as pl

__all__ = ["PairCounts", "pair_counts", "pairwise_prf", "ari", "cluster_scores",
           "pairs_involving", "joined_with_anchor", "WordCounts", "word_spans",
           "span_word_counts", "spans_from_indices", "prf"]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """(precision, recall, f1); empty denominators count as perfect."""
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@dataclass(frozen=True)
class PairCounts:
    """tp = pairs together in both; pred/gold = pairs together in each."""

    tp: int
    pred_pairs: int
    gold_pairs: int

    @property
    def fp(self) -> int:
        return self.pred_pairs - self.tp

    @property
    def fn(self) -> int:
        return self.gold_pairs - self.tp

    def prf(self) -> tuple[float, float, float]:
        return prf(self.tp, self.fp, self.fn)


def _codes(labels: Sequence[Hashable]) -> np.ndarray:
    """Integer codes of ``labels`` by Python equality (first seen = 0, 1, ...)."""
    codes: dict = {}
    out = np.fromiter((codes.setdefault(x, len(codes)) for x in labels), np.int64, len(labels))
    if None in codes:
        raise ValueError("None is not a cluster label: label articles without a cluster first "
                         "(e.g. each with its own id)")
    return out


def _frame(pred: Sequence[Hashable], gold: Sequence[Hashable], mask=None) -> pl.DataFrame:
    if len(pred) != len(gold):
        raise ValueError(f"pred has {len(pred)} labels, gold {len(gold)}")
    d = {"p": pl.Series(_codes(pred)), "g": pl.Series(_codes(gold))}
    d["m"] = pl.Series(np.zeros(len(pred), bool) if mask is None else np.asarray(mask, bool))
    return pl.DataFrame(d)


def _c2(col: str) -> pl.Expr:
    return (pl.col(col) * (pl.col(col) - 1) // 2).sum()


def _counts(df: pl.DataFrame, involving: bool) -> PairCounts:
    def total(keys: list[str]) -> int:
        t = df.group_by(keys).agg(n=pl.len(), m=pl.col("m").sum().cast(pl.Int64))
        if involving:  # pairs with >= 1 masked member = all pairs - unmasked pairs
            t = t.with_columns(u=pl.col("n") - pl.col("m"))
            return int(t.select(_c2("n") - _c2("u")).item())
        return int(t.select(_c2("n")).item())

    return PairCounts(tp=total(["p", "g"]), pred_pairs=total(["p"]), gold_pairs=total(["g"]))


def pair_counts(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> PairCounts:
    """Pair counts over all articles."""
    return _counts(_frame(pred, gold), involving=False)


def pairs_involving(pred: Sequence[Hashable], gold: Sequence[Hashable], mask) -> PairCounts:
    """Pair counts over pairs with at least one member where ``mask`` is True."""
    return _counts(_frame(pred, gold, mask), involving=True)


def pairwise_prf(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> dict:
    c = pair_counts(pred, gold)
    p, r, f = c.prf()
    return {"precision": p, "recall": r, "f1": f, "tp": c.tp, "fp": c.fp, "fn": c.fn}


def ari(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(_codes(gold), _codes(pred)))


def cluster_scores(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> dict:
    """Pairwise P/R/F1, ARI and cluster counts."""
    out = pairwise_prf(pred, gold)
    out["ari"] = ari(pred, gold)
    out["pred_clusters"] = len(np.unique(_codes(pred)))
    out["gold_clusters"] = len(np.unique(_codes(gold)))
    return out


def joined_with_anchor(pred: Sequence[Hashable], gold: Sequence[Hashable],
                       anchor) -> np.ndarray:
    """Per article: is it in the same predicted cluster as its gold cluster's
    anchor (exactly one anchor per gold cluster expected; clusters without an
    anchor give False)?  Anchors themselves give True."""
    df = _frame(pred, gold, anchor)
    anchors = df.filter(pl.col("m")).unique("g", keep="first").select("g", ap="p")
    j = df.with_row_index("i").join(anchors, on="g", how="left").sort("i")
    return (j["ap"] == j["p"]).fill_null(False).to_numpy()


# ---------------------------------------------------------------- word level
_WORD = re.compile(r"\w+")


@dataclass
class WordCounts:
    """Word-level true/false positives and false negatives (micro-averaged)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: "WordCounts") -> "WordCounts":
        return WordCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return prf(self.tp, self.fp, self.fn)[0]

    @property
    def recall(self) -> float:
        return prf(self.tp, self.fp, self.fn)[1]

    @property
    def f1(self) -> float:
        return prf(self.tp, self.fp, self.fn)[2]


def word_spans(text: str) -> np.ndarray:
    """(n, 2) array of [start, end) offsets of the ``\\w+`` words in ``text``."""
    s = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    return np.asarray(s, dtype=np.int64).reshape(-1, 2)


def _covered(points: np.ndarray, spans) -> np.ndarray:
    spans = sorted((int(a), int(b)) for a, b in spans if b > a)
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    if not merged:
        return np.zeros(len(points), bool)
    st = np.array([a for a, _ in merged])
    en = np.array([b for _, b in merged])
    idx = np.searchsorted(st, points, side="right") - 1
    return (idx >= 0) & (points < en[np.clip(idx, 0, None)])


def span_word_counts(text: str, pred_spans, gold_spans) -> WordCounts:
    """Word-level counts of predicted vs gold char-span sets over ``text``."""
    w = word_spans(text)
    mid = (w[:, 0] + w[:, 1] - 1) // 2
    p, g = _covered(mid, pred_spans), _covered(mid, gold_spans)
    return WordCounts(int((p & g).sum()), int((p & ~g).sum()), int((~p & g).sum()))


def spans_from_indices(indices, sentence_spans) -> list[list[int]]:
    """Char spans of the sentences with the given indices."""
    return [list(sentence_spans[i]) for i in indices]
