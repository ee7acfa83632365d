"""Cost (and planted-truth quality) of the sentence alignment.

1. **Synthetic clusters** of 50 to 300 versions of one 40-sentence story,
   generated with known truth: each version drops sentences (and sometimes
   its last third), lightly edits some (1-3 words changed), adds its own
   sentences and sometimes a paragraph shared with other outlets, splits or
   merges a few sentences and sometimes moves a paragraph. Reported: wall
   time of ``fit_idf`` + ``align_clusters`` (it must grow linearly with the
   number of versions), sentence status accuracy, and word-level
   precision/recall/F1 of ``added`` (a word counts as added if its sentence is
   marked added) and of ``dropped`` canonical words.
2. **A real night** (``--corpus FILE``): the corpus is read and clustered
   once (or its clusters taken from ``--clusters OUT/clusters.parquet`` of a
   ``dedup cluster`` run), then ``align_clusters`` runs ``--repeats`` times
   with each ``--workers`` setting, back to back; reported: median wall and
   CPU seconds (this process and its workers) per setting, and whether every
   run gave frames identical to the first.
3. **Reuters-21578** (``--reuters``): the whole corpus clustered with the
   default config (the stages of ``cluster_frame`` up to and including
   ``cluster``, without its alignment), then aligned (``fit_idf`` +
   ``align_clusters``, timed apart); reported: clusters, rows, seconds, and
   the slowest cluster. Read at run time from the eval-data folder
   (``DEDUP_EVAL_DATA``), skipped when absent.

Run::

    python benchmarks/bench_align_speed.py               # synthetic only (~1 min on 1 core)
    python benchmarks/bench_align_speed.py --reuters     # plus the Reuters corpus
    python benchmarks/bench_align_speed.py --sizes '' --corpus /tmp/synd.jsonl \
        --clusters /tmp/base-out/clusters.parquet --workers 1,2 --repeats 3
    # instructions of the alignment alone (a noisy machine cannot move them); the real python, not a shim:
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \
        "$(python -c 'import sys; print(sys.executable)')" benchmarks/bench_align_speed.py --sizes '' \
        --corpus /tmp/scale/corpus-20000 --clusters /tmp/scale/out-20000/clusters.parquet \
        --stories 300 --workers 1 --repeats 1 --callgrind      # "Collected : N" in valgrind's summary
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from dedup.align import AlignConfig, align_cluster, align_clusters, fit_idf
from dedup.schema import ARTICLES, CLUSTERS

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Story:
    """A pseudo-language with Zipf-distributed words, so IDF behaves as in real text."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        syll = ["ka", "to", "ri", "men", "sal", "ver", "do", "lin", "ga", "por", "te", "mu", "shi", "an", "bel", "or"]
        words = set()
        while len(words) < 3000:
            words.add("".join(self.rng.choice(syll) for _ in range(self.rng.randint(2, 4))))
        self.words = sorted(words)
        self.rng.shuffle(self.words)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]

    def sentence(self) -> str:
        n = self.rng.randint(12, 28)
        words = self.rng.choices(self.words, self.weights, k=n)
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(n), str(self.rng.randint(2, 9999)))
        return " ".join(words).capitalize() + "."

    def edit(self, sentence: str) -> str:
        words = sentence[:-1].split()
        for _ in range(self.rng.randint(1, 3)):
            k = self.rng.randrange(len(words))
            action = self.rng.random()
            if action < 0.4:
                words[k] = self.rng.choices(self.words, self.weights)[0]
            elif action < 0.7 and len(words) > 8:
                del words[k]
            else:
                words.insert(k, self.rng.choices(self.words, self.weights)[0])
        return " ".join(words).capitalize() + "."


def synthetic_cluster(n_articles: int, seed: int = 1, n_sentences: int = 40):
    """ARTICLES and CLUSTERS frames of one cluster, plus the truth per version."""
    story = Story(seed)
    rng = story.rng
    canonical = [story.sentence() for _ in range(n_sentences)]
    shared = [[story.sentence() for _ in range(3)] for _ in range(4)]     # paragraphs copied between outlets
    arts, truth = [("wire", canonical)], {}
    for k in range(1, n_articles):
        out: list[tuple[str, str, int | None]] = []   # (text, status, canonical index)
        last = n_sentences if rng.random() > 0.15 else 2 * n_sentences // 3
        for c, sentence in enumerate(canonical[:last]):
            r = rng.random()
            if r < 0.06:
                continue                                            # dropped
            if r < 0.16:
                out.append((story.edit(sentence), "edited", c))
            elif r < 0.18 and len(sentence.split()) > 14:           # split in two
                words = sentence[:-1].split()
                half = rng.randint(len(words) // 4, 3 * len(words) // 4)
                out.append((" ".join(words[:half]) + ".", "edited", c))
                out.append((" ".join(words[half:]).capitalize() + ".", "edited", c))
            else:
                out.append((sentence, "kept", c))
            if rng.random() < 0.04:
                out.append((story.sentence(), "added", None))
        if rng.random() < 0.3:
            at = rng.randrange(len(out) + 1)
            out[at:at] = [(s, "added", None) for s in shared[rng.randrange(len(shared))]]
        if rng.random() < 0.05 and len(out) > 10:                   # move a paragraph
            block = out[3:6]
            del out[3:6]
            out[len(out) - 2:len(out) - 2] = block
        arts.append((f"v{k:04d}", [s for s, _, _ in out]))
        truth[f"v{k:04d}"] = out
    rows_a, rows_c = [], []
    for k, (aid, sents) in enumerate(arts):
        when = T0 + timedelta(minutes=k)
        rows_a.append({"article_id": aid, "outlet": f"outlet{k}", "title": "t", "text": " ".join(sents),
                       "published": when, "url": None, "source_file": "synthetic", "source_record": k + 1})
        rows_c.append({"article_id": aid, "outlet": f"outlet{k}", "title": "t", "published": when, "url": None,
                       "cluster_id": "story", "cluster_size": n_articles, "n_outlets": n_articles,
                       "is_canonical": k == 0, "canonical_id": "wire", "similarity": 1.0, "jaccard": 1.0,
                       "n_shingles": 100, "n_boilerplate": 0, "note": None})
    return pl.DataFrame(rows_a, schema=ARTICLES), pl.DataFrame(rows_c, schema=CLUSTERS), canonical, truth


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def score(sentences: pl.DataFrame, canonical: list[str], truth: dict) -> dict[str, float]:
    right = total = 0
    add = [0, 0, 0]
    drop = [0, 0, 0]
    by_article = {aid: group for (aid,), group in sentences.group_by(["article_id"])}
    for aid, gold in truth.items():
        rows = by_article[aid].sort("position")
        own = rows.filter(pl.col("status") != "dropped")
        if own.height != len(gold):
            raise SystemExit(f"{aid}: splitter gave {own.height} sentences, generator {len(gold)}")
        for (text, status, _c), pred in zip(gold, own["status"].to_list()):
            words = len(text.split())
            total += 1
            right += (pred == status)
            if pred == "added" and status == "added":
                add[0] += words
            elif pred == "added":
                add[1] += words
            elif status == "added":
                add[2] += words
        gold_dropped = set(range(len(canonical))) - {c for _, _, c in gold if c is not None}
        pred_dropped = set(rows.filter(pl.col("status") == "dropped")["canonical_position"].to_list())
        for c in range(len(canonical)):
            words = len(canonical[c].split())
            if c in gold_dropped and c in pred_dropped:
                drop[0] += words
            elif c in pred_dropped:
                drop[1] += words
            elif c in gold_dropped:
                drop[2] += words
    return {"status_acc": right / total, "added": _prf(*add), "dropped": _prf(*drop)}


def synthetic(sizes: list[int]) -> None:
    config = AlignConfig()
    print(f"{'versions':>8} {'sentences':>9} {'idf s':>6} {'align s':>7} {'ms/version':>10} {'status acc':>10} "
          f"{'added P/R/F1':>17} {'dropped P/R/F1':>17}")
    for n in sizes:
        articles, clusters, canonical, truth = synthetic_cluster(n)
        t0 = time.perf_counter()
        idf = fit_idf(articles, clusters, config=config)
        t1 = time.perf_counter()
        result = align_clusters(articles, clusters, config=config, idf=idf)
        t2 = time.perf_counter()
        assert result.failures.is_empty(), result.failures
        s = score(result.sentences, canonical, truth)
        n_rows = result.sentences.filter(pl.col("status") != "dropped").height
        print(f"{n - 1:8d} {n_rows:9d} {t1 - t0:6.2f} {t2 - t1:7.2f} {1000 * (t2 - t1) / (n - 1):10.1f} "
              f"{s['status_acc']:10.3f} {'%.3f/%.3f/%.3f' % s['added']:>17} {'%.3f/%.3f/%.3f' % s['dropped']:>17}")


def reuters() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reuters import load_reuters_frame, reuters_available  # the lead's loader, same folder

    from dedup.config import Config
    from dedup.io import articles_from_frame
    from dedup.pipeline import Timer, _cluster_articles

    if not reuters_available():
        print("Reuters-21578 not found (set DEDUP_EVAL_DATA); skipped")
        return
    frame = load_reuters_frame().select(
        pl.col("newid").cast(pl.String).alias("id"), pl.col("date").alias("published"), "title",
        pl.col("body").alias("text"), pl.lit("Reuters").alias("outlet"))
    # cluster_frame's stages without its alignment (cluster_frame = these + align_clusters): the
    # clustering is timed alone, and the alignment below is the run's only one
    t0 = time.perf_counter()
    cfg = Config()
    timer = Timer()
    read = timer.run("read", articles_from_frame, frame, config=cfg.read)
    articles, clusters, _pairs, _stats = _cluster_articles(read, cfg, timer)
    t1 = time.perf_counter()
    config = cfg.align
    idf = fit_idf(articles, clusters, config=config)
    t2 = time.perf_counter()
    result = align_clusters(articles, clusters, config=config, idf=idf)
    t3 = time.perf_counter()
    multi = clusters.filter(pl.col("cluster_size") >= 2)
    print(f"Reuters: {frame.height} articles, clustering {t1 - t0:.1f}s (no alignment); "
          f"{multi['cluster_id'].n_unique()} clusters "
          f"of >= 2 ({multi.height} articles, largest {multi['cluster_size'].max()})")
    counts = dict(result.sentences.group_by("status").len().iter_rows())
    print(f"align: idf fit {t2 - t1:.1f}s ({idf.n_docs_} distinct sentences), align {t3 - t2:.1f}s, "
          f"{result.sentences.height} rows {counts}, {result.links.height} links, {result.failures.height} failures")
    # the slowest single cluster
    texts = articles.select("article_id", "text")
    slowest = (0.0, None, 0)
    for (cid,), group in multi.group_by(["cluster_id"]):
        g = group.join(texts, on="article_id").select("cluster_id", "article_id", "outlet", "published",
                                                       "is_canonical", "text")
        s = time.perf_counter()
        align_cluster(g, idf=idf, config=config)
        took = time.perf_counter() - s
        if took > slowest[0]:
            slowest = (took, cid, g.height)
    print(f"slowest cluster: {slowest[1]} ({slowest[2]} articles) {slowest[0] * 1000:.0f} ms")


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def night(corpus: str, clusters_path: str | None, workers: list[int], repeats: int, *,
          stories: int | None = None, callgrind: bool = False) -> None:
    from polars.testing import assert_frame_equal

    from dedup.io import read_inputs

    articles = read_inputs([corpus]).articles
    if clusters_path:
        clusters = pl.read_parquet(clusters_path)
    else:
        from dedup.pipeline import cluster_frame
        clusters = cluster_frame(articles).clusters
    if stories:                                  # the first stories by cluster id, and their articles only
        keep = clusters.filter(pl.col("cluster_size") >= 2).select("cluster_id").unique().sort("cluster_id").head(stories)
        clusters = clusters.join(keep, on="cluster_id", how="semi")
        articles = articles.join(clusters.select("article_id"), on="article_id", how="semi")
    if callgrind:                                # numba's cached kernels loaded before counting starts
        align_clusters(articles, clusters.filter(pl.col("cluster_id") == clusters["cluster_id"].min()),
                       config=AlignConfig(workers=1))
    multi = clusters.filter(pl.col("cluster_size") >= 2)
    print(f"{corpus}: {articles.height} articles, {multi['cluster_id'].n_unique()} clusters of >= 2 "
          f"({multi.height} articles, largest {multi['cluster_size'].max()})")
    first = None
    times: dict[int, list[tuple[float, float]]] = {w: [] for w in workers}
    for _ in range(repeats):
        for w in workers:                      # settings interleaved, so background load hits them alike
            t, c = time.perf_counter(), _cpu_seconds()
            _callgrind("on", callgrind)
            result = align_clusters(articles, clusters, config=AlignConfig(workers=w))
            _callgrind("off", callgrind)
            times[w].append((time.perf_counter() - t, _cpu_seconds() - c))
            if first is None:
                first = result
            for a, b in ((first.sentences, result.sentences), (first.links, result.links),
                         (first.failures, result.failures)):
                assert_frame_equal(a, b, check_exact=True)
    print(f"{'workers':>7} {'wall s (median)':>15} {'cpu s (median)':>14}  runs (wall)")
    for w, runs in times.items():
        walls = sorted(r[0] for r in runs)
        cpus = sorted(r[1] for r in runs)
        print(f"{w:7d} {walls[len(walls) // 2]:15.1f} {cpus[len(cpus) // 2]:14.1f}  "
              f"{', '.join(f'{r[0]:.1f}' for r in runs)}")
    print(f"identical frames in all {repeats * len(workers)} runs: {first.sentences.height} sentence rows, "
          f"{first.links.height} links, {first.failures.height} failures")


def _callgrind(state: str, active: bool) -> None:
    """Switch valgrind's callgrind instrumentation of this process on or off (``--callgrind``)."""
    if active:
        import os
        import subprocess

        subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50,100,200,300", help="articles per synthetic cluster ('' to skip)")
    ap.add_argument("--reuters", action="store_true", help="also time the whole Reuters-21578 corpus")
    ap.add_argument("--corpus", help="also time align_clusters on this corpus (any input dedup reads)")
    ap.add_argument("--clusters", help="with --corpus: clusters.parquet of a dedup cluster run on it")
    ap.add_argument("--workers", default="1,2", help="with --corpus: AlignConfig.workers settings to compare")
    ap.add_argument("--repeats", type=int, default=3, help="with --corpus: runs per setting (medians)")
    ap.add_argument("--stories", type=int, help="with --corpus: only the first N stories of two or more by cluster id")
    ap.add_argument("--callgrind", action="store_true",
                    help="with --corpus, under valgrind --tool=callgrind --instr-atstart=no: count only the "
                         "align_clusters calls (instruction counts do not move with the machine's load)")
    args = ap.parse_args()
    if args.sizes:
        synthetic([int(x) for x in args.sizes.split(",")])
    if args.corpus:
        night(args.corpus, args.clusters, [int(w) for w in args.workers.split(",")], args.repeats,
              stories=args.stories, callgrind=args.callgrind)
    if args.reuters:
        reuters()


if __name__ == "__main__":
    main()
