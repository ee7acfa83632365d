"""The pipeline on Spark: the same stages, the same outputs; Spark decides where the data goes.

:func:`run_spark` is :func:`dedup.pipeline.run` with Spark moving the data
between the stage functions (see :mod:`dedup.spark.stages` for which local
function runs where). Its ``clusters`` and ``sentences`` tables equal the local
engine's row by row. What differs:

* tables are written as folders of Parquet part files
  (``clusters.parquet/part-00000.parquet``...), globally sorted in the local engine's
  order, so reading the folder gives the same rows in the same order (Hadoop's
  ``_SUCCESS`` and ``.crc`` files are removed: a folder holds its parts only); the
  parts are written on the executors by the local engine's Parquet writer, with
  the local schema and the same bytes on a rerun
  (:func:`~dedup.spark.outputs.write_table_folder`);
* ``summary.json`` has one more section, ``pipeline.spark`` (rounds of the
  connected components, largest component, shard counts);
* ``timings.json`` has a ``components`` stage, and each stage's time is that of
  materialising its output (Spark runs lazily);
* nightly state (``run(..., state_dir=...)``, :mod:`dedup.state`) is not
  supported yet: the Spark engine clusters one night's inputs.

What runs on the driver: listing the input files, the small results (rejects,
warnings, counts, the per-bucket IDF counts, the night's distinct outlets for
the re-send rule, alignment failures), the summary, and the HTML report, which
reads the written tables back.
"""

from __future__ import annotations

import math
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dedup.align import Furniture
from dedup.config import Config
from dedup.errors import InputError
from dedup.io.writers import (
    prepare_out_dir,
    write_frame_jsonl,
    write_json,
    writing_into,
)
from dedup.lsh import banding
from dedup.pipeline import (
    Timer,
    _peak_rss_mb,
    check_out_dir,
)
from dedup.report import write_report
from dedup.resend import proposers, resend_followers, with_own_texts
from dedup.schema import CLUSTERS, LINKS, SENTENCES
from dedup.spark import stages
from dedup.spark.components import connected_components
from dedup.spark.failures import spark_failures
from dedup.spark.outputs import (
    alignment_summary,
    hadoop_path,
    java_writes_into,
    summary_of,
    write_table_folder,
)
from dedup.spark.read import SparkRead, number_articles, read_stage
from dedup.spark.resend import resend_pairs
from dedup.spark.session import get_session, own_session
from dedup.spark.tables import read_table

#: Members (articles) per shard handed to one build_clusters / align_clusters call: whole
#: components and clusters are kept together, several small ones share a call.
SHARD_MEMBERS = 2000

_DISK = StorageLevel.MEMORY_AND_DISK
_CHECKPOINT_DIR = ".spark-checkpoints"


def _session(spark: SparkSession | None, master: str | None, quiet: bool) -> SparkSession:
    return get_session(master, quiet=quiet) if spark is None else own_session(spark)


class _Run:
    """One run's state: the session, the timer and the frames kept between stages."""

    def __init__(self, spark: SparkSession, config: Config, out: Path, log: Callable[[str], None] | None):
        self.spark, self.config, self.out, self.log = spark, config, out, log
        self.timer = Timer(log)
        self.parallelism = spark.sparkContext.defaultParallelism
        self.local = spark.sparkContext.master.startswith("local")

    def keep(self, frame: DataFrame) -> DataFrame:
        """Materialise a stage boundary: computed once, kept, and its lineage cut.

        Cutting the lineage keeps the plans small (a plan that embeds every
        upstream stage grows with each stage and, printed, exhausts the
        driver's heap) and, with a reliable checkpoint, lets a lost executor
        resume from the boundary instead of rerunning the Python stages before
        it. With a ``local[...]`` master there is one JVM, nothing to survive,
        so the boundary is a local checkpoint (kept by the block manager,
        spilled to disk if needed): one job instead of two, and no write.
        """
        if self.local:
            return frame.localCheckpoint(eager=True)
        cached = frame.persist(_DISK)
        kept = cached.checkpoint(eager=True)
        cached.unpersist()
        return kept

    def checkpoint(self, frame: DataFrame) -> DataFrame:
        return self.keep(frame)

    def stage(self, name: str, fn: Callable[[], Any]) -> Any:
        return self.timer.run(name, fn)

    def shards(self, members: int) -> int:
        return max(2 * self.parallelism, math.ceil(members / SHARD_MEMBERS))


# -- stages -------------------------------------------------------------------------------------------


def _shingle(run: _Run, articles: DataFrame) -> DataFrame:
    return articles.select("doc", "outlet", "text").mapInArrow(stages.shingle_fn(run.config), stages.SHINGLE_DDL)


def _resent(run: _Run, shingled: DataFrame, articles: DataFrame, resends: DataFrame | None) -> DataFrame | None:
    """The docs that re-send an item of their outlet (:func:`dedup.resend.resend_followers`), as a broadcast
    frame; None if none. The re-send pairs are few: they and their two shingle sets are decided on the driver."""
    if resends is None or run.config.cluster.boilerplate_min_docs == 0:
        return None
    sets, ids = shingled.select("doc", "shingles"), articles.select("doc", "article_id", "outlet", "title", "published")
    rows = (resends.join(sets.select(F.col("doc").alias("left"), F.col("shingles").alias("left_set")), "left")
            .join(sets.select(F.col("doc").alias("right"), F.col("shingles").alias("right_set")), "right")
            .join(ids.select(*(F.col(c).alias(f"left_{c}") for c in ("outlet", "title", "published")),
                             F.col("doc").alias("left"), F.col("article_id").alias("left_id")), "left")
            .join(ids.select(*(F.col(c).alias(f"right_{c}") for c in ("outlet", "title", "published")),
                             F.col("doc").alias("right"), F.col("article_id").alias("right_id")), "right")
            .collect())
    if not rows:
        return None
    of = {side: {r[side]: r for r in rows} for side in ("left", "right")}
    ids_of, titles, published = ({d: r[f"{side}_{c}"] for side in of for d, r in of[side].items()}
                                 for c in ("id", "title", "published"))
    left, right = [r["left"] for r in rows], [r["right"] for r in rows]
    followers = resend_followers(left, right, [np.array(r["left_set"], dtype=np.int64) for r in rows],
                                 [np.array(r["right_set"], dtype=np.int64) for r in rows], ids_of,
                                 config=run.config.cluster, proposers=proposers(left, right, titles, published))
    # as dedup.signing.resent_rows: an unchanged RPT- of its item is a copy of its text (a shingle set here)
    followers = with_own_texts(followers, {r[side]: (r[f"{side}_outlet"], tuple(r[f"{side}_set"]))
                                           for r in rows for side in ("left", "right")})
    return F.broadcast(run.spark.createDataFrame([(d,) for d in followers], "doc long")) if followers else None


def _boilerplate(run: _Run, shingled: DataFrame, resent: DataFrame | None = None) -> DataFrame:
    """Per-outlet document frequency by a Spark aggregation, then per-article removal of frequent runs.

    As :func:`dedup.boilerplate.remove_boilerplate`: shingles are counted over
    each outlet's distinct texts (one row per outlet and ``text`` key; the
    texts of the ``resent`` docs, an outlet's re-sends of an item, not at all), and every
    article, copy or not, is stripped.
    """
    cc = run.config.cluster
    if cc.boilerplate_min_docs == 0:
        return shingled.select("doc", "shingles", F.lit(0).cast("long").alias("n_boilerplate"))
    exploded = (shingled.where(F.col("outlet").isNotNull())
                .select("doc", "outlet", F.explode("shingles").alias("h")))
    counted = shingled.where(F.col("outlet").isNotNull())
    if resent is not None:   # a re-sent text counts in none of its rows (an unmarked copy of an update too)
        resent_texts = counted.join(resent, "doc", "left_semi").select("outlet", "text").distinct()
        counted = counted.join(F.broadcast(resent_texts), ["outlet", "text"], "left_anti")
    texts = (counted.select("outlet", "text", "shingles")
             .dropDuplicates(["outlet", "text"]).select("outlet", F.explode("shingles").alias("h")))
    common = (texts.groupBy("outlet", "h").count().where(F.col("count") >= cc.boilerplate_min_docs)
              .select("outlet", "h"))
    frequent = (exploded.join(common, ["outlet", "h"], "left_semi")
                .groupBy("doc").agg(F.collect_list("h").alias("frequent")))
    return (shingled.join(frequent, "doc", "left").select("doc", "shingles", "sequence", "frequent")
            .mapInArrow(stages.boilerplate_fn(cc.boilerplate_min_run), stages.BOILERPLATE_DDL))


def _lsh(run: _Run, keys: DataFrame) -> tuple[DataFrame, dict[str, int]]:
    """Band buckets -> candidate pairs: all pairs in a bucket of up to max_bucket, a chain above."""
    cap = run.config.minhash.max_bucket
    sizes = run.keep(keys.groupBy("band", "key").agg(F.count("*").alias("n")).where(F.col("n") >= 2))
    row = sizes.agg(F.max("n").alias("largest"), F.sum((F.col("n") > cap).cast("long")).alias("capped")).first()
    stats = {"largest_bucket": int(row["largest"] or 0), "capped_buckets": int(row["capped"] or 0)}
    members = keys.join(sizes, ["band", "key"])
    small = (members.where(F.col("n") <= cap).groupBy("band", "key")
             .agg(F.array_sort(F.collect_list("doc")).alias("members")).select("members")
             .mapInArrow(stages.bucket_pairs_fn(cap), stages.PAIRS_DDL))
    # A capped bucket (a story carried by thousands, a paragraph shared by thousands) is chained in
    # doc order: linear, never quadratic, and spilled by the window operator if it is huge.
    chain = Window.partitionBy("band", "key").orderBy("doc")
    big = (members.where(F.col("n") > cap)
           .select(F.col("doc").alias("left"), F.lead("doc").over(chain).alias("right"))
           .where(F.col("right").isNotNull()))
    return small.unionByName(big).distinct(), stats


def _broadcast_idf(run: _Run, counts: DataFrame):
    """Sum per-partition (bucket, df) rows on the cluster, build the model on the driver, broadcast its counts."""
    table = counts.groupBy("bucket").agg(F.sum("df").alias("df")).toArrow()
    frame = pl.from_arrow(table) if table.num_rows else pl.DataFrame(schema={"bucket": pl.Int64, "df": pl.Int64})
    model = stages.idf_model(frame, run.config)
    nz = model.df_.nonzero()[0]
    buckets = np.concatenate([[-1], nz]).astype(np.int64)
    df = np.concatenate([[model.n_docs_], model.df_[nz]]).astype(np.int64)
    return run.spark.sparkContext.broadcast((buckets, df)), uuid.uuid4().hex


def _verify(run: _Run, candidates: DataFrame, resends: DataFrame | None, sets: DataFrame,
            articles: DataFrame) -> DataFrame:
    """Accepted pairs (left, right, containment, resend): exact shingle containment, then the sentence second opinion.

    As :func:`dedup.cluster.verify` with ``texts`` and ``resends``: the
    re-send pairs join the candidates flagged ``resend`` and are accepted at
    ``resend_min_containment``; pairs still below ``threshold`` but at least
    ``rescue_min_containment`` (and ``min_overlap``) are accepted when their
    sentence containment reaches ``sentence_threshold``, with an IDF fitted
    on the distinct sentences of every article in such a pair.
    """
    cc = run.config.cluster
    if resends is None:
        candidates = candidates.withColumn("resend", F.lit(False))
    else:
        candidates = (candidates.join(resends.withColumn("resend", F.lit(True)), ["left", "right"], "full_outer")
                      .fillna(False, subset=["resend"]))
    left = sets.select(F.col("doc").alias("left"), F.col("shingles").alias("left_set"))
    right = sets.select(F.col("doc").alias("right"), F.col("shingles").alias("right_set"))
    pairs = run.keep(candidates.join(left, "left").join(right, "right")
                     .select("left", "right", "resend", "left_set", "right_set")
                     .mapInArrow(stages.verify_fn(run.config), stages.VERIFY_DDL))
    accepted = pairs.where(F.col("accepted")).select(*stages.EDGE_COLUMNS)
    if cc.sentence_threshold <= 0:
        return accepted
    border = run.keep(pairs.where((F.col("overlap") >= cc.min_overlap) & ~F.col("accepted")
                                  & (F.col("containment") >= cc.rescue_min_containment))
                      .select("left", "right", "containment", "resend"))
    if border.limit(1).count() == 0:
        return accepted
    texts = articles.select("doc", "text")
    docs = (border.select(F.col("left").alias("doc")).unionByName(border.select(F.col("right").alias("doc")))
            .distinct().join(texts, "doc"))
    sentences = docs.select("text").mapInArrow(stages.sentence_texts_fn(run.config), stages.SENTENCE_TEXTS_DDL)
    counts = sentences.distinct().mapInArrow(stages.idf_counts_fn(run.config), stages.IDF_DDL)
    broadcast, token = _broadcast_idf(run, counts)
    shares = (border.join(texts.select(F.col("doc").alias("left"), F.col("text").alias("left_text")), "left")
              .join(texts.select(F.col("doc").alias("right"), F.col("text").alias("right_text")), "right")
              .select("left", "right", "left_text", "right_text")
              .mapInArrow(stages.share_fn(run.config, broadcast, token), stages.SHARE_DDL))
    # The decision dedup.cluster.verify makes for a borderline pair, restated: it is inline there, with no
    # function of dedup.cluster to call on a column (verify itself would fit its IDF on one batch's texts).
    agree = F.col("facts_agree") >= cc.rescue_min_facts
    rescued = (shares.where((F.col("sentence_share") >= cc.sentence_threshold) & agree)
               .join(border, ["left", "right"]).select(*stages.EDGE_COLUMNS))
    return accepted.unionByName(rescued)


def _clusters(run: _Run, articles: DataFrame, sets: DataFrame, accepted: DataFrame, component: DataFrame,
              n_members: int) -> tuple[DataFrame, DataFrame]:
    """CLUSTERS rows: build_clusters on shards of whole components, and on batches of unmatched articles."""
    members = (articles.select("doc", "article_id", "outlet", "title", "published", "url", "source_file",
                               "source_record", F.length("text").alias("length"))
               .join(sets.select("doc", "shingles", "n_boilerplate"), "doc"))
    n_shards = run.shards(n_members)
    shard = F.pmod(F.xxhash64("component"), F.lit(n_shards)).alias("shard")
    member_rows = (members.join(component, "doc")
                   .select(shard, F.lit("member").alias("kind"), *stages.MEMBER_COLUMNS))
    edge_rows = (accepted.join(component.withColumnRenamed("doc", "left"), "left")
                 .select(shard, F.lit("edge").alias("kind"), *stages.EDGE_COLUMNS))
    rows = member_rows.unionByName(edge_rows, allowMissingColumns=True)
    sharded = rows.groupBy("shard").applyInArrow(stages.clusters_fn(run.config), stages.SHARD_DDL)
    singles = (members.join(component, "doc", "left_anti").select(*stages.MEMBER_COLUMNS)
               .mapInArrow(stages.singletons_fn(run.config), stages.CLUSTERS_DDL))
    return sharded, singles


def _align(run: _Run, articles: DataFrame, clusters: DataFrame) -> tuple[DataFrame, int]:
    """IDF and furniture over the night's distinct sentences (summed per partition), then align_clusters
    per shard."""
    cfg = run.config
    multi = (clusters.where(F.col("cluster_size") >= 2)
             .select("cluster_id", "article_id", "outlet", "published", "is_canonical", "cluster_size")
             .join(articles.select("article_id", "text"), "article_id"))
    multi = run.keep(multi)
    n_members = multi.count()
    keys = multi.select("article_id", "text").mapInArrow(stages.sentence_keys_fn(cfg), stages.SENTENCE_KEYS_DDL)
    if cfg.align.furniture_min_stories:   # read twice (the IDF, the furniture): split once
        keys = run.keep(keys)
    # fit_idf keeps the first text of each identity key in (article id, sentence) order.
    distinct = keys.groupBy("key").agg(F.min_by("text", F.struct("article_id", "pos")).alias("text"))
    broadcast, token = _broadcast_idf(run, distinct.select("text").mapInArrow(stages.idf_counts_fn(cfg),
                                                                             stages.IDF_DDL))
    furniture = _furniture(keys, multi, cfg.align.furniture_min_stories)
    n_shards = run.shards(n_members)
    aligned = (multi.withColumn("shard", F.pmod(F.xxhash64("cluster_id"), F.lit(n_shards)))
               .groupBy("shard").applyInArrow(stages.align_fn(cfg, broadcast, token, furniture), stages.ALIGN_DDL))
    return aligned, n_shards


def _furniture(keys: DataFrame, multi: DataFrame, min_stories: int) -> Furniture:
    """Each outlet's furniture over the night, as the local engine finds it (``furniture_min_stories`` in
    :class:`dedup.config.AlignConfig`): the (outlet, identity key) pairs printed in that many stories."""
    if not min_stories:
        return frozenset()
    own = (keys.select("key", "article_id")
           .join(multi.where(F.col("outlet").isNotNull()).select("article_id", "outlet", "cluster_id"), "article_id")
           .groupBy("outlet", "key").agg(F.countDistinct("cluster_id").alias("n"))
           .where(F.col("n") >= min_stories).select("outlet", "key")).collect()
    outlets = Counter(row["key"] for row in own)
    # a stock line (the furniture of two outlets or more) is furniture for every outlet: (None, key)
    return frozenset((None if outlets[row["key"]] >= 2 else row["outlet"], row["key"]) for row in own)


# -- the run ------------------------------------------------------------------------------------------


def run_spark(inputs: list[str | Path], out_dir: str | Path, *, config: Config = Config(),
              spark: SparkSession | None = None, master: str | None = None,
              log: Callable[[str], None] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Read ``inputs``, cluster and align on Spark, write every output into ``out_dir``; return the summary.

    ``spark``: the session to run in (default: the active one, else one
    started with ``master``, ``local[*]`` if not given). ``inputs``: local
    files and folders, or URIs Spark can read (``hdfs://``, ``s3a://``...).
    ``out_dir``: a folder the driver and the executors can both write (any
    folder with a ``local[...]`` master, a shared mount on a cluster).
    ``quiet``: a session started here logs Spark's errors only (see
    :func:`dedup.spark.session.get_session`). Spark failing the run once it has
    started (its context stopped, executors lost) is an :class:`~dedup.errors.EngineError`
    (:mod:`dedup.spark.failures`).
    """
    check_out_dir(inputs, out_dir)
    session = _session(spark, master, quiet)
    out = Path(out_dir)
    with spark_failures(session.sparkContext):   # a context stopped, executors lost: one line, as at start
        run = _Run(session, config, out, log)
        # As locally, --out is made once the inputs are found: a missing input leaves no folder behind
        read = run.timer.piece("read", _read, run, inputs)
        prepare_out_dir(out)   # an earlier run's outputs go: a run that stops part-way leaves no timings.json
        with _checkpoint_dir(run):
            return _execute(run, read)


@contextmanager
def _checkpoint_dir(run: _Run) -> Iterator[None]:
    """Where the reliable checkpoints of :meth:`_Run.keep` go (not with ``local[...]``, which needs none): a
    folder of this run's own in the context's checkpoint folder, or in ``OUT/.spark-checkpoints`` without one,
    deleted after the run; then the context's setting is restored, so that the caller's own ``checkpoint()``
    calls neither write into ``--out`` (which the next run clears) nor find a run's files left behind."""
    if run.local:
        yield
        return
    sc, jvm = run.spark.sparkContext, run.spark.sparkContext._jvm
    previous = sc.getCheckpointDir()
    sc.setCheckpointDir(previous or hadoop_path(run.out / _CHECKPOINT_DIR))   # Spark makes a <uuid> folder in it
    mine = jvm.org.apache.hadoop.fs.Path(sc.getCheckpointDir())
    try:
        yield
    finally:
        mine.getFileSystem(sc._jsc.hadoopConfiguration()).delete(mine, True)
        # setCheckpointDir cannot unset it, nor set a folder without making a new one in it: Scala's setter
        getattr(sc._jsc.sc(), "checkpointDir_$eq")(jvm.scala.Option.apply(previous))
        if previous is None:
            shutil.rmtree(run.out / _CHECKPOINT_DIR, ignore_errors=True)


def _read(run: _Run, inputs: list[str | Path]) -> SparkRead:
    read = read_stage(run.spark, list(inputs), run.config.read, out=run.out)
    if read.records == 0:
        raise InputError("the inputs hold no records")
    return read


def _execute(run: _Run, read: SparkRead) -> dict[str, Any]:
    cfg, out = run.config, run.out

    def number():
        articles, rejects = number_articles(run.spark, read, cfg.read, run.keep)
        return rejects, articles, articles.count()
    rejects, articles, n_articles = run.timer.piece("read", number)   # the second piece of the read stage
    run.timer.report("read")

    shingled = run.stage("shingle", lambda: run.keep(_shingle(run, articles)))

    def resend_stage():   # before the boilerplate: an outlet's re-sends of an item count once there
        resends = resend_pairs(run.spark, articles, cfg.cluster)
        return None if resends is None else run.keep(resends)
    resends = run.stage("resend", resend_stage)
    resent = _resent(run, shingled, articles, resends)
    sets = run.stage("boilerplate", lambda: run.keep(_boilerplate(run, shingled, resent)
                                                       .withColumn("n_shingles", F.size("shingles"))))
    removed = sets.agg(F.sum("n_boilerplate")).first()[0] or 0

    eligible = sets.where(F.col("n_shingles") >= cfg.shingle.min_shingles).select("doc", "shingles")
    keys = run.stage("minhash", lambda: run.keep(eligible.mapInArrow(stages.bands_fn(cfg), stages.BANDS_DDL)))

    def lsh_stage():
        candidates, lsh_stats = _lsh(run, keys)
        candidates = run.keep(candidates)
        return candidates, lsh_stats, candidates.count()
    candidates, lsh_stats, n_candidates = run.stage("lsh", lsh_stage)

    def verify_stage():
        accepted = run.keep(_verify(run, candidates, resends, sets, articles))
        return accepted, accepted.count()
    accepted, n_accepted = run.stage("verify", verify_stage)

    def components_stage():
        component, rounds = connected_components(accepted, checkpoint=run.checkpoint, log=run.log)
        return run.keep(component), rounds
    component, rounds = run.stage("components", components_stage)
    sizes = component.groupBy("component").count().agg(F.count("*").alias("n"), F.max("count").alias("largest"),
                                                        F.sum("count").alias("members")).first()
    n_members = int(sizes["members"] or 0)

    def cluster_stage():
        sharded, singles = _clusters(run, articles, sets, accepted, component, n_members)
        sharded = run.keep(sharded)
        splits = sharded.agg(F.sum("_splits")).first()[0] or 0
        clusters = run.keep(sharded.drop("_splits").unionByName(singles))
        clusters.count()
        return clusters, int(splits)
    clusters, splits = run.stage("cluster", cluster_stage)
    bands, rows = banding(cfg.minhash)
    stats = {
        "lsh": {"bands": bands, "rows": rows, "candidate_pairs": n_candidates, "accepted_pairs": n_accepted,
                "largest_bucket": lsh_stats["largest_bucket"], "capped_buckets": lsh_stats["capped_buckets"]},
        "resend_pairs": 0 if resends is None else resends.count(),
        "chaining_splits": splits,
        "boilerplate_shingles_removed": int(removed),
    }

    def align_stage():
        aligned, shards = _align(run, articles, clusters)
        aligned = run.keep(aligned)
        aligned.count()
        return aligned, shards
    aligned, align_shards = run.stage("align", align_stage)
    sentences = aligned.where(F.col("kind") == "sentence").select(*SENTENCES.names())
    links = aligned.where(F.col("kind") == "link").select(*LINKS.names())
    failures = pl.from_arrow(aligned.where(F.col("kind") == "failure")
                             .select("cluster_id", "reason", "message").toArrow())
    failures = failures.sort("cluster_id") if failures.height else \
        pl.DataFrame(schema={"cluster_id": pl.String, "reason": pl.String, "message": pl.String})

    summary = summary_of(read, rejects, clusters, stats, cfg)
    summary["alignment"] = alignment_summary(sentences, links, failures)
    summary["pipeline"]["spark"] = {
        "spark_version": run.spark.version,
        "master": run.spark.sparkContext.master,
        "default_parallelism": run.parallelism,
        "articles": n_articles,
        "components": int(sizes["n"] or 0),
        "component_members": n_members,
        "largest_component": int(sizes["largest"] or 0),
        "component_rounds": rounds,
        "cluster_shards": run.shards(n_members),
        "align_shards": align_shards,
        "max_bucket": cfg.minhash.max_bucket,
    }

    def write_stage():
        formats = cfg.output.formats
        order = [F.col("cluster_size").desc(), F.col("cluster_id").asc(), F.col("is_canonical").desc(),
                 F.col("published").asc_nulls_last(), F.col("article_id").asc()]
        write_table_folder(clusters.select(*CLUSTERS.names()).orderBy(*order), out, "clusters", formats)
        write_table_folder(sentences.orderBy("cluster_id", "article_id", F.col("status") == "dropped", "position"),
               out, "sentences", formats)
        write_table_folder(links.orderBy("cluster_id", "family_id", "article_id", "first_article_id", "n_sentences"),
               out, "links", formats)
        write_frame_jsonl(rejects, out / "rejected.jsonl")
        write_json(summary, out / "summary.json")
        write_report(out, clusters=read_table(out, "clusters"), sentences=read_table(out, "sentences"),
                     links=read_table(out, "links"), summary=summary, rejects=rejects,
                     max_articles=cfg.output.report_articles)
    with writing_into(out), java_writes_into(out):
        run.stage("write", write_stage)
        write_json({"stages": run.timer.stages, "peak_rss_mb": _peak_rss_mb()}, out / "timings.json")
    return summary

