"""The pipeline: the only module that knows the order of the stages.

``files -> read -> shingle -> boilerplate -> minhash -> lsh -> verify ->
cluster -> align -> outputs (tables, summary, report)``. Each stage is a function over frames (see
:mod:`dedup.schema`); this module chains them, times them and writes the
outputs.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl

from dedup import __version__
from dedup.align import AlignResult, align_clusters
from dedup.boilerplate import remove_boilerplate
from dedup.cluster import build_clusters, verify
from dedup.config import Config
from dedup.errors import DedupError, InputError
from dedup.io import ReadResult, articles_from_frame, read_inputs
from dedup.io.writers import write_json, write_jsonl, write_table
from dedup.lsh import candidates as lsh_candidates
from dedup.minhash import signatures as minhash_signatures
from dedup.report import write_report
from dedup.shingle import shingle
from dedup.state import DEFAULT_RETENTION, DEFAULT_WINDOW, NightlyState
from dedup.state.report import history_notes, summary_for_report
from dedup.state.store import checkpoint


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


@dataclass
class Timer:
    """Wall time and peak RSS after each stage, for timings.json."""

    log: Callable[[str], None] | None = None
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
        self.stages[name] = {"seconds": round(seconds, 3), "peak_rss_mb": _peak_rss_mb()}
        if self.log:
            self.log(f"{name:<12} {seconds:8.2f}s")
        return result


@dataclass
class ClusterResult:
    """What :func:`cluster_frame` and :func:`run` return."""

    articles: pl.DataFrame          # ARTICLES
    rejects: pl.DataFrame           # REJECTS
    clusters: pl.DataFrame          # CLUSTERS
    pairs: pl.DataFrame             # PAIRS (verified candidates)
    sentences: pl.DataFrame         # SENTENCES
    links: pl.DataFrame             # LINKS
    alignment_failures: pl.DataFrame  # cluster_id, reason, message
    summary: dict[str, Any]
    timings: dict[str, dict[str, float]]


def _cluster_articles(read: ReadResult, config: Config, timer: Timer, state: NightlyState | None = None
                      ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict]:
    articles = read.articles
    sh = timer.run("shingle", shingle, articles, config=config.shingle)
    sh = timer.run("boilerplate", remove_boilerplate, sh, articles["outlet"],
                   min_docs=config.cluster.boilerplate_min_docs, min_run=config.cluster.boilerplate_min_run)
    sig = timer.run("minhash", minhash_signatures, sh, config=config.minhash)
    if state is not None:
        # Tonight's articles are clustered together with the stored ones they could match.
        prior_articles, prior_sh = timer.run("state_load", state.prior, articles, sh, sig)
        articles = pl.concat([articles, prior_articles])
        sh = pl.concat([sh, prior_sh])
        sig = pl.concat([sig, timer.run("minhash_prior", minhash_signatures, prior_sh, config=config.minhash)])
    too_short = sh["shingles"].list.len().to_numpy() < config.shingle.min_shingles
    cand, lsh_stats = timer.run("lsh", lsh_candidates, sig, config=config.minhash, exclude=too_short)
    sets = [np.asarray(s, dtype=np.uint32) for s in sh["shingles"].to_list()]
    pairs = timer.run("verify", verify, cand, sets, config=config.cluster, texts=articles["text"].to_list(),
                      align_config=config.align)
    clusters, cstats = timer.run("cluster", build_clusters, articles, sh, pairs,
                                 config=config.cluster, shingle_config=config.shingle)
    if state is not None:
        clusters = timer.run("stories", state.assign, clusters)
    stats = {
        "lsh": {"bands": lsh_stats.bands, "rows": lsh_stats.rows, "candidate_pairs": lsh_stats.candidates,
                "accepted_pairs": int(pairs["accepted"].sum()), "largest_bucket": lsh_stats.largest_bucket,
                "capped_buckets": lsh_stats.capped_buckets},
        "chaining_splits": cstats.splits,
        "boilerplate_shingles_removed": int(sh["n_boilerplate"].sum()),
    }
    return articles, clusters, pairs, stats


def _alignment_summary(aligned: AlignResult) -> dict[str, Any]:
    statuses = aligned.sentences.group_by("status").agg(pl.len()).sort("status")
    return {
        "sentences_by_status": dict(zip(statuses["status"].to_list(), statuses["len"].to_list())),
        "provenance_links": aligned.links.select("cluster_id", "first_article_id", "article_id").unique().height,
        "failed_clusters": aligned.failures.height,
        "failures": aligned.failures.sort("cluster_id").to_dicts(),
    }


def _summary(read: ReadResult, clusters: pl.DataFrame, stats: dict, config: Config) -> dict[str, Any]:
    multi = clusters.filter(pl.col("cluster_size") > 1)
    # With a state, clusters also hold the prior articles of the stories tonight touched.
    tonight = clusters.filter(pl.col("is_new")) if "is_new" in clusters.columns else clusters
    notes = Counter(n.split(":", 1)[0] for n in tonight["note"].drop_nulls().to_list())
    rejected = read.rejects.height
    summary = {
        "dedup_version": __version__,
        "inputs": {"files": read.files, "records": read.records, "skipped_files": read.skipped_files},
        "articles": {
            "read": read.records,
            "clustered": tonight.height,
            "rejected": rejected,
            "rejected_by_reason": dict(sorted(Counter(read.rejects["reason"].to_list()).items())),
            "warnings_by_reason": dict(sorted(read.warnings.items())),
            "singletons_by_reason": dict(sorted((k, v) for k, v in notes.items() if k != "split_from")),
        },
        "clusters": {
            "stories": multi["cluster_id"].n_unique(),
            "singletons": clusters.height - multi.height,
            "largest": int(clusters["cluster_size"].max() or 0),
            "duplicates": int((~multi["is_canonical"]).sum()),
        },
        "pipeline": stats,
        "parameters": config.to_dict(),
        "fingerprint": config.fingerprint(),
    }
    if summary["articles"]["read"] != summary["articles"]["clustered"] + rejected:
        raise DedupError("internal error: records read != clustered + rejected; please report this bug")
    return summary


def cluster_frame(frame: pl.DataFrame, *, config: Config = Config(), log: Callable[[str], None] | None = None
                  ) -> ClusterResult:
    """Cluster an in-memory frame of articles (any accepted column names)."""
    timer = Timer(log)
    read = timer.run("read", articles_from_frame, frame, config=config.read)
    return _finish(read, config, timer)


def _finish(read: ReadResult, config: Config, timer: Timer, state: NightlyState | None = None) -> ClusterResult:
    articles, clusters, pairs, stats = _cluster_articles(read, config, timer, state)
    aligned = timer.run("align", align_clusters, articles, clusters, config=config.align)
    summary = _summary(read, clusters, stats, config)
    summary["alignment"] = _alignment_summary(aligned)
    if state is not None:
        summary["history"] = state.history
    return ClusterResult(articles, read.rejects, clusters, pairs, aligned.sentences, aligned.links,
                         aligned.failures, summary, timer.stages)


def run(inputs: list[str | Path], out_dir: str | Path, *, config: Config = Config(),
        log: Callable[[str], None] | None = None, state_dir: str | Path | None = None,
        night: date | str | None = None, window: str | timedelta = DEFAULT_WINDOW,
        retention: str | timedelta = DEFAULT_RETENTION) -> ClusterResult:
    """Read ``inputs``, cluster, and write every output into ``out_dir``.

    With ``state_dir``, tonight's articles are also matched against the
    articles of the previous ``window`` stored there, stories keep their ids
    from night to night, and the state is updated after the outputs are
    written (see :mod:`dedup.state`; ``night`` defaults to the date of the
    newest article, ``retention`` bounds how long texts are kept).
    """
    if state_dir is None:
        return _run(inputs, Path(out_dir), config, Timer(log), None)
    with NightlyState(state_dir, config=config, night=night, window=window, retention=retention,
                      log=log) as state:
        return _run(inputs, Path(out_dir), config, Timer(log), state)


def _run(inputs: list[str | Path], out: Path, config: Config, timer: Timer, state: NightlyState | None
         ) -> ClusterResult:
    read = timer.run("read", read_inputs, list(inputs), config=config.read)
    if read.articles.height == 0 and read.records == 0:
        raise InputError("the inputs hold no records")
    if state is not None:
        state.start(read.articles)
        checkpoint("read")
    result = _finish(read, config, timer, state)
    if state is not None:
        checkpoint("clustered")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {out}: {exc.strerror}") from None
    timer.run("write", write_outputs, result, out, config)
    if state is not None:
        checkpoint("outputs_written")
        timer.run("commit", state.commit)
    write_json({"stages": timer.stages, "peak_rss_mb": _peak_rss_mb()}, out / "timings.json")
    return result


def write_outputs(result: ClusterResult, out: Path, config: Config) -> None:
    formats = config.output.formats
    write_table(result.clusters, out, "clusters", formats)
    write_table(result.sentences, out, "sentences", formats)
    write_table(result.links, out, "links", formats)
    write_jsonl(result.rejects.to_dicts(), out / "rejected.jsonl")
    write_json(result.summary, out / "summary.json")
    write_report(out, clusters=result.clusters, sentences=result.sentences, links=result.links,
                 summary=summary_for_report(result.summary), rejects=result.rejects,
                 notes=history_notes(result.summary))
