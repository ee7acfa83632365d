"""Syndication quality benchmark: textbook datasketch baseline vs ``dedup``.

Builds (or reads) a labelled corpus from ``syndication.py``, clusters it with
(a) ``baseline_datasketch.run_baseline`` and (b) ``dedup.cluster_frame`` with
the default ``Config()``, and prints:

* pairwise precision / recall / F1, ARI, wall time and articles/s per system;
* recall by edit type: for copies carrying each operation (trim_tail,
  stitched, ...), recall over gold pairs involving such a copy, and the share
  of those copies that sit in the same predicted cluster as their wire original;
* false merges: predicted pairs involving a press release (all false: each
  release is its own story), releases not left alone, same-company release
  pairs, false pairs between two articles of the same outlet (shared
  footers), and stitched copies whose two source stories were merged;
* sentence level (dedup only; ``--no-align`` skips scoring it): word-level P/R/F1 of
  "added" material and of "dropped" base sentences, over copies whose
  predicted cluster's canonical is their gold wire original (coverage shown).

Every article is scored exactly once: the corpus's articles and gold must list
the same ids, a system listing an article twice is an error, and the report
prints per system the gold articles missing from its output (scored as
singletons) and its output ids not in the gold (not scored).

Usage::

    python benchmarks/bench_quality.py                      # build 3000 stories, seed 7
    python benchmarks/bench_quality.py --holdout            # odd-NEWID corpus
    python benchmarks/bench_quality.py --corpus /tmp/synd.jsonl --json out.json
    python benchmarks/bench_quality.py --corpus /tmp/synd.jsonl --no-dedup \
        --baseline-threshold 0.5 --baseline-k 1               # datasketch's docs example settings

Exits 0 with a "skipped" message when the Reuters data are absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import polars as pl

from benchmarks.baseline_datasketch import run_baseline
from benchmarks.metrics import (WordCounts, cluster_scores, joined_with_anchor, pair_counts,
                                pairs_involving, span_word_counts)
from benchmarks.syndication import (GOLD_COLUMNS, PUBLIC_COLUMNS, ReutersNotFound,
                                    build_corpus, read_corpus)

OPS = ["trim_tail", "drop_middle", "insert_padding", "copy_edit", "update", "stitched",
       "footer", "byline", "dateline", "reflow", "new_headline"]
CONTENT_OPS = {"trim_tail", "drop_middle", "insert_padding", "copy_edit", "update", "stitched"}


def _c2(n: pl.Expr) -> pl.Expr:
    return (n * (n - 1) // 2).sum()


def evaluate(gold: pl.DataFrame, clusters: pl.DataFrame) -> dict:
    """Scores of ``clusters`` (article_id, cluster_id) against ``gold`` (all
    gold columns + outlet).

    Every gold article is scored exactly once: an ``article_id`` listed twice
    in ``clusters`` raises ``ValueError``; gold articles missing from
    ``clusters`` are scored as singletons (counted in ``missing``); rows whose
    ``article_id`` is not in the gold are not scored (counted in
    ``not_in_gold``)."""
    dup = clusters.filter(pl.col("article_id").is_duplicated())["article_id"].unique().sort()
    if dup.len():
        raise ValueError(f"{dup.len()} article_id(s) listed more than once in the system's "
                         f"output, e.g. {dup.head(5).to_list()}")
    not_in_gold = clusters.height - clusters.join(gold.select("id"), left_on="article_id",
                                                  right_on="id", how="semi").height
    j = gold.join(clusters.select("article_id", "cluster_id"), left_on="id",
                  right_on="article_id", how="left")
    missing = int(j["cluster_id"].null_count())
    j = j.with_columns(pred=pl.coalesce("cluster_id", pl.lit("missing:") + pl.col("id")))
    pred, g = j["pred"].to_list(), j["gold_story"].to_list()
    out = cluster_scores(pred, g)
    out["missing"] = missing
    out["not_in_gold"] = not_in_gold
    role = j["gold_role"].to_numpy()
    joined = joined_with_anchor(pred, g, role == "wire")
    ops = j["edits"].to_list()
    by_op = {}
    for op in OPS + ["no_content_edit"]:
        if op == "no_content_edit":
            m = np.array([r == "copy" and not (set(e) & CONTENT_OPS) for r, e in zip(role, ops)])
        else:
            m = np.array([op in e for e in ops])
        c = pairs_involving(pred, g, m)
        by_op[op] = {"copies": int(m.sum()), "pair_recall": c.prf()[1],
                     "joined_wire": float(joined[m].mean()) if m.any() else float("nan")}
    out["by_op"] = by_op
    pr = role == "press_release"
    prc = pairs_involving(pred, g, pr)
    sizes = j.group_by("pred").len()
    prj = j.filter(pl.col("gold_role") == "press_release").join(sizes, on="pred")
    pr_only = j.filter(pl.col("gold_role") == "press_release")
    same_outlet_pairs = j.group_by("pred", "outlet").len().select(_c2(pl.col("len"))).item()
    same_outlet_true = j.group_by("pred", "outlet", "gold_story").len().select(
        _c2(pl.col("len"))).item()
    wire_pred = dict(j.filter(pl.col("gold_role") == "wire").select("gold_story", "pred").iter_rows())
    st = j.filter(pl.col("gold_partner").is_not_null())
    out["false_merges"] = {
        "press_release_false_pairs": prc.pred_pairs - prc.tp,
        "press_releases_not_alone": int((prj["len"] > 1).sum()),
        "press_releases": int(pr.sum()),
        "pr_pr_false_pairs": pair_counts(pr_only["pred"].to_list(),
                                         pr_only["gold_story"].to_list()).fp,
        "same_outlet_false_pairs": int(same_outlet_pairs - same_outlet_true),
        "false_pairs_total": out["fp"],
        "stitched_copies": st.height,
        # a pair counts only when both wire originals were scored (absent == absent is no merge)
        "stitched_stories_merged": sum((pa := wire_pred.get(a)) is not None and pa == wire_pred.get(b)
                                       for a, b in st.select("gold_story", "gold_partner").iter_rows()),
    }
    return out


def sentence_eval(gold: pl.DataFrame, texts: dict[str, str], clusters: pl.DataFrame,
                  sentences: pl.DataFrame) -> dict:
    """Word-level added/dropped scores over copies whose predicted canonical
    is their gold wire original."""
    wire = dict(gold.filter(pl.col("gold_role") == "wire").select("gold_story", "id").iter_rows())
    canon = clusters.filter(pl.col("is_canonical")).select("cluster_id", canon="article_id")
    cop = (gold.filter(pl.col("gold_role") == "copy")
           .join(clusters.select("article_id", "cluster_id"), left_on="id", right_on="article_id")
           .join(canon, on="cluster_id"))
    spans = {}
    for status in ("added", "dropped"):
        s = sentences.filter(pl.col("status") == status).group_by("article_id").agg(
            pl.concat_list("char_start", "char_end").alias("spans"))
        spans[status] = dict(s.iter_rows())
    added, dropped, n = WordCounts(), WordCounts(), 0
    for r in cop.iter_rows(named=True):
        wid = wire.get(r["gold_story"])
        if r["canon"] != wid:
            continue
        n += 1
        added += span_word_counts(texts[r["id"]], spans["added"].get(r["id"], []),
                                  r["gold_added_spans"])
        dropped += span_word_counts(texts[wid], spans["dropped"].get(r["id"], []),
                                    r["gold_dropped_spans"])
    return {"copies_evaluated": n, "copies_total": int((gold["gold_role"] == "copy").sum()),
            "added": {"precision": added.precision, "recall": added.recall, "f1": added.f1},
            "dropped": {"precision": dropped.precision, "recall": dropped.recall,
                        "f1": dropped.f1}}


def run_dedup(articles: pl.DataFrame, gold: pl.DataFrame, config, cluster_frame,
              align: bool = True) -> dict:
    """Cluster (and align) with the library; scores + timings.

    ``seconds`` is the whole ``cluster_frame`` call; when the library aligns
    inside it (``ClusterResult.sentences``, stage ``align``), that stage is
    reported separately as ``align_seconds`` and excluded from ``seconds`` and
    ``articles_per_s`` so the clustering numbers compare with the baseline."""
    t0 = time.perf_counter()
    out = cluster_frame(articles, config=config)
    secs = time.perf_counter() - t0
    align_secs = float(out.timings.get("align", {}).get("seconds", 0.0))
    sentences = getattr(out, "sentences", None)
    if align and sentences is None:  # older library: separate alignment call
        from dedup.align import align_clusters

        t1 = time.perf_counter()
        sentences = align_clusters(out.articles, out.clusters).sentences
        align_secs = time.perf_counter() - t1
    cluster_secs = secs - float(out.timings.get("align", {}).get("seconds", 0.0))
    r = evaluate(gold, out.clusters) | {
        "rejects": out.rejects.height, "seconds": cluster_secs, "articles_per_s": articles.height / cluster_secs,
        "cluster_frame_seconds": secs, "align_seconds": align_secs, "timings": out.timings}
    if align:
        texts = dict(articles.select("id", "text").iter_rows())
        r["sentences"] = sentence_eval(gold, texts, out.clusters, sentences)
    return r


def _print_report(corpus: dict, results: dict) -> None:
    print(f"\ncorpus: {corpus}")
    hdr = f"{'system':<20}{'P':>8}{'R':>8}{'F1':>8}{'ARI':>8}{'clusters':>10}{'wall s':>9}{'art/s':>9}"
    print(hdr + "\n" + "-" * len(hdr))
    print("(wall s / art/s: clustering only; dedup's in-pipeline alignment is listed below)")
    for name, r in results.items():
        print(f"{name:<20}{r['precision']:8.4f}{r['recall']:8.4f}{r['f1']:8.4f}{r['ari']:8.4f}"
              f"{r['pred_clusters']:10d}{r['seconds']:9.1f}{r['articles_per_s']:9.0f}")
    for name, r in results.items():
        rejects = f"; rejected by the pipeline {r['rejects']}" if "rejects" in r else ""
        print(f"{name}: gold articles missing from the output {r['missing']} (scored as singletons); "
              f"output ids not in the gold {r['not_in_gold']} (not scored){rejects}")
    names = list(results)
    print("\nrecall by edit type (pair recall on pairs involving such a copy / "
          "share of such copies clustered with their wire original)")
    print(f"{'edit':<18}{'copies':>8}" + "".join(f"{n[:18]:>22}" for n in names))
    for op in OPS + ["no_content_edit"]:
        row = results[names[0]]["by_op"][op]
        cells = "".join(f"{results[n]['by_op'][op]['pair_recall']:10.3f} /{results[n]['by_op'][op]['joined_wire']:8.3f}  "
                        for n in names)
        print(f"{op:<18}{row['copies']:>8}  {cells}")
    print("\nfalse merges")
    for key in results[names[0]]["false_merges"]:
        print(f"  {key:<28}" + "".join(f"{results[n]['false_merges'][key]:>12}" for n in names))
    for name, r in results.items():
        if "sentences" in r:
            s = r["sentences"]
            print(f"\nsentence level ({name}): {s['copies_evaluated']}/{s['copies_total']} copies "
                  f"evaluated (canonical = gold wire); align {r.get('align_seconds', 0):.1f}s")
            for k in ("added", "dropped"):
                print(f"  {k:<8} word P={s[k]['precision']:.4f} R={s[k]['recall']:.4f} "
                      f"F1={s[k]['f1']:.4f}")


def _check_ids(articles: pl.DataFrame, gold: pl.DataFrame) -> None:
    """Raise unless the corpus's articles and its gold list the same ids, each once."""
    for name, df in (("articles", articles), ("gold", gold)):
        dup = df.filter(pl.col("id").is_duplicated())["id"].unique().sort()
        if dup.len():
            raise SystemExit(f"corpus {name}: {dup.len()} id(s) listed more than once, e.g. {dup.head(5).to_list()}")
    only_a = articles.join(gold, on="id", how="anti")["id"]
    only_g = gold.join(articles, on="id", how="anti")["id"]
    if only_a.len() or only_g.len():
        raise SystemExit(f"corpus articles and gold differ: {only_a.len()} article(s) without gold "
                         f"(e.g. {only_a.head(3).to_list()}), {only_g.len()} gold row(s) without an "
                         f"article (e.g. {only_g.head(3).to_list()})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-stories", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--holdout", action="store_true")
    ap.add_argument("--corpus", type=Path, help="read a corpus written by syndication.py build")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--baseline-threshold", type=float, default=0.8,
                    help="the baseline's MinHashLSH threshold (default 0.8; datasketch's docs example: 0.5)")
    ap.add_argument("--baseline-k", type=int, default=5,
                    help="the baseline's shingle length in words (default 5; 1 = sets of words, as in "
                         "datasketch's docs example)")
    ap.add_argument("--no-dedup", action="store_true")
    ap.add_argument("--no-align", action="store_true", help="skip the sentence-level evaluation")
    ap.add_argument("--json", type=Path, help="also write all numbers here")
    a = ap.parse_args(argv)
    if a.corpus:
        articles, gold = read_corpus(a.corpus)
        corpus = {"path": str(a.corpus)}
    else:
        try:
            df = build_corpus(a.n_stories, a.seed, a.holdout, verbose=True)
        except ReutersNotFound as e:
            print(f"skipped: {e}")
            return 0
        articles, gold = df.select(PUBLIC_COLUMNS), df.select(GOLD_COLUMNS)
        corpus = {"n_stories": a.n_stories, "seed": a.seed, "holdout": a.holdout}
    _check_ids(articles, gold)
    gold = gold.join(articles.select("id", "outlet"), on="id")
    corpus |= {"articles": articles.height, "gold_stories": gold["gold_story"].n_unique(),
               "copies": int((gold["gold_role"] == "copy").sum()),
               "press_releases": int((gold["gold_role"] == "press_release").sum())}
    results = {}
    if not a.no_baseline:
        res = run_baseline(articles, threshold=a.baseline_threshold, k=a.baseline_k)
        name = f"datasketch-{a.baseline_threshold:g}" + ("" if a.baseline_k == 5 else f"-k{a.baseline_k}")
        results[name] = evaluate(gold, res.clusters) | {
            "seconds": res.seconds, "articles_per_s": res.articles_per_s, "timings": res.timings}
    if not a.no_dedup:
        try:
            from dedup import Config, cluster_frame
        except ImportError as e:
            print(f"dedup not importable ({e}); only the baseline is measured", file=sys.stderr)
        else:
            try:
                results["dedup (defaults)"] = run_dedup(articles, gold, Config(), cluster_frame,
                                                        align=not a.no_align)
            except Exception:  # the library is under development: report, keep the baseline
                traceback.print_exc()
                print("dedup failed (traceback above); only the baseline is reported",
                      file=sys.stderr)
    _print_report(corpus, results)
    if a.json:
        a.json.write_text(json.dumps({"corpus": corpus, "results": results}, indent=2,
                                     default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
