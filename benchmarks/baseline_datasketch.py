"""Textbook datasketch MinHash-LSH near-duplicate clustering (the baseline).

The datasketch API used the way its docs show (MinHash, MinHashLSH insert and
query), with near-duplicate settings chosen by this project, not by those docs,
and not tuned on the benchmark:

1. ``text.lower().split()`` (whitespace tokens), 5-word shingles joined by a
   space, utf-8 encoded; a text with fewer than 5 words is one shingle;
2. one ``datasketch.MinHash(num_perm=128)`` per article, ``update_batch``;
3. ``MinHashLSH(threshold=0.8, num_perm=128)``: insert every article, then
   query every article;
4. union-find over the query results -> connected components = clusters.

datasketch's own MinHashLSH example (its docs' LSH page,
``examples/lsh_examples.py``) hashes *sets of words* (``k=1`` here) at
``threshold=0.5``; ``MinHashLSH``'s default threshold is 0.9.  The published
baseline score depends strongly on these choices: ``run_baseline(threshold=,
k=)`` and ``bench_quality.py --baseline-threshold / --baseline-k`` run the
other settings (benchmarks/README.md §1 has the measured sensitivity).

The title is not used.  API::

    res = run_baseline(articles)          # polars frame with id, text
    res.clusters                          # polars: article_id, cluster_id (str)
    res.seconds, res.articles_per_s, res.timings   # wall time, per stage

CLI: ``python benchmarks/baseline_datasketch.py /tmp/synd.jsonl [--threshold T] [--k K]``
clusters a corpus written by ``syndication.py`` and prints scores against its gold.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl
from datasketch import MinHash, MinHashLSH


@dataclass
class BaselineResult:
    clusters: pl.DataFrame  # article_id, cluster_id; one row per input article
    seconds: float
    articles_per_s: float
    timings: dict[str, float] = field(default_factory=dict)


def shingles(text: str, k: int = 5) -> list[bytes]:
    """Lower-cased whitespace-token k-shingles, utf-8 encoded (deduplicated)."""
    w = text.lower().split()
    if len(w) < k:
        return [" ".join(w).encode("utf-8")]
    return list({" ".join(w[i:i + k]).encode("utf-8") for i in range(len(w) - k + 1)})


def run_baseline(articles: pl.DataFrame, threshold: float = 0.8, num_perm: int = 128,
                 k: int = 5) -> BaselineResult:
    """Cluster ``articles`` (columns ``id``, ``text``) with MinHash-LSH over
    k-word shingles (``k=1``: the set of words)."""
    ids = articles["id"].to_list()
    texts = articles["text"].to_list()
    t0 = time.perf_counter()
    sigs = []
    for text in texts:
        m = MinHash(num_perm=num_perm)
        m.update_batch(shingles(text, k))
        sigs.append(m)
    t1 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for key, m in zip(ids, sigs):
        lsh.insert(key, m)
    t2 = time.perf_counter()
    pos = {key: i for i, key in enumerate(ids)}
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(sigs):
        for key in lsh.query(m):
            a, b = find(i), find(pos[key])
            if a != b:
                parent[max(a, b)] = min(a, b)
    t3 = time.perf_counter()
    labels = [ids[find(i)] for i in range(len(ids))]
    t4 = time.perf_counter()
    total = t4 - t0
    return BaselineResult(
        clusters=pl.DataFrame({"article_id": ids, "cluster_id": labels}),
        seconds=total, articles_per_s=len(ids) / total if total else float("inf"),
        timings={"minhash": t1 - t0, "lsh_insert": t2 - t1, "query_unionfind": t3 - t2})


def main(argv: list[str] | None = None) -> int:
    import argparse

    from benchmarks.metrics import cluster_scores
    from benchmarks.syndication import read_corpus

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", help="a corpus written by syndication.py build")
    ap.add_argument("--threshold", type=float, default=0.8, help="MinHashLSH threshold (default 0.8)")
    ap.add_argument("--k", type=int, default=5, help="shingle length in words (default 5; 1 = sets of words)")
    a = ap.parse_args(argv)
    articles, gold = read_corpus(a.corpus)
    res = run_baseline(articles, threshold=a.threshold, k=a.k)
    g = articles.select("id").join(gold.select("id", "gold_story"), on="id", how="left")
    pred = g.join(res.clusters, left_on="id", right_on="article_id", how="left")
    s = cluster_scores(pred["cluster_id"].to_list(), pred["gold_story"].to_list())
    print(f"{len(articles)} articles  P={s['precision']:.4f} R={s['recall']:.4f} "
          f"F1={s['f1']:.4f} ARI={s['ari']:.4f}  {res.seconds:.1f}s "
          f"({res.articles_per_s:.0f} articles/s)  {res.timings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
