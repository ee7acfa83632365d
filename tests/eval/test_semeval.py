"""SemEval-2022 task 8: English article pairs judged dissimilar are never merged.

The corpus is every English article of the subset's pairs (train and test
files; texts are truncated by the subset's makers). Pairs with Overall >= 2.5
(1 = very similar ... 4 = very dissimilar) must end in different clusters;
the merge rate of every Overall band is reported.
"""

from __future__ import annotations

import polars as pl
import pytest

from dedup import cluster_frame

from .loaders import cluster_of, describe_pair, eval_config, load_semeval, record, require

pytestmark = pytest.mark.evaldata

BANDS = ((1.0, 1.5), (1.5, 2.5), (2.5, 3.5), (3.5, 4.01))


@pytest.fixture(scope="module")
def semeval():
    articles, pairs = load_semeval(require("semeval2022-task8-subset"))
    config = eval_config()
    result = cluster_frame(articles, config=config)
    cluster = cluster_of(result)
    pairs = pairs.unique(["a", "b"], keep="first")
    merged = [cluster[a] == cluster[b] for a, b in zip(pairs["a"].to_list(), pairs["b"].to_list())]
    pairs = pairs.with_columns(merged=pl.Series(merged, dtype=pl.Boolean))

    by_band = {}
    for lo, hi in BANDS:
        band = pairs.filter((pairs["overall"] >= lo) & (pairs["overall"] < hi))
        by_band[f"[{lo},{min(hi, 4.0)}{']' if hi > 4 else ')'}"] = {
            "pairs": band.height, "merged": int(band["merged"].sum()),
            "rate": round(float(band["merged"].mean() or 0.0), 4)}
    bad = pairs.filter((pairs["overall"] >= 2.5) & pairs["merged"])
    n_multi = result.clusters.filter(result.clusters["cluster_size"] > 1)["cluster_id"].n_unique()
    record("semeval", articles=result.clusters.height, clusters=n_multi, en_en_pairs=pairs.height,
           dissimilar_pairs=int((pairs["overall"] >= 2.5).sum()), violations=bad.height, by_overall=by_band,
           violating_pairs=[f"{r['a']}_{r['b']} (Overall {r['overall']:.2f})" for r in bad.to_dicts()])

    return pairs, bad, result, config


def test_dissimilar_english_pairs_are_rarely_merged(semeval):
    pairs, bad, _, _ = semeval
    assert bad.height <= 0.01 * int((pairs["overall"] >= 2.5).sum())


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known gap: two pairs merge with the defaults. 1543560406/1543583268 (Overall 3.33): both scraped texts are "
    "the same paywall sign-up form (containment 0.93, a verbatim run of 113 word 4-shingles) under two different "
    "titles. The subset has no URL, outlet or date column and only these two pages carry the form, so neither the "
    "per-outlet boilerplate filter (which needs an outlet and 4 of its pages) nor any text rule can tell it from a "
    "copy. 1484011141/1484931264 (Overall 3.0): a digest that reproduces the truncated lead of the other article "
    "(containment 0.56, run of 85), i.e. real text reuse that the annotators judged on the full articles. "
    "See benchmarks/README.md."))
def test_dissimilar_english_pairs_are_never_merged(semeval):
    _, bad, result, config = semeval
    assert bad.height == 0, f"{bad.height} pairs with Overall >= 2.5 merged:\n" + "\n".join(
        f"Overall {r['overall']}: " + describe_pair(result, config, r["a"], r["b"]) for r in bad.to_dicts())
