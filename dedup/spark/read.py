"""The read stage on Spark: the local readers, run on the executors, each file read whole by one task.

Every file goes through the very code the local engine uses
(:func:`dedup.io.read_source`: :func:`dedup.io.readers.read_file` and
:class:`dedup.io.records.RecordMapper`, with the same rejects for unusable
files), so articles, rejects with their file and line, and warnings are the
same. Spark only decides where each file is read (the files are spread over
at most four tasks per core, or Spark's file splits for URIs):

* local paths (or a shared mount on a cluster) are listed on the driver with
  :func:`dedup.io.inputs.find_inputs`, which gives the local engine's file
  order, skipped files and folders (the run's own output folder among them)
  and ``unreadable_file`` rejects; each executor then opens its files itself
  (streamed, with the size and decompression limits);
* URIs with a scheme (``hdfs://``, ``s3a://``, ``gs://``, ``file://``...) are
  listed and fetched by Spark's ``binaryFile`` source; each file's bytes are
  spilled to a temporary file on the executor and read by the same readers.

Duplicate ids are resolved across files with a window, as
:meth:`dedup.io._Collector.finish` does: the earliest published record keeps
the id (undated last), then the first in file and record order.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlparse

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dedup.config import ReadConfig
from dedup.errors import InputError, RejectedRecord
from dedup.io import _Collector, is_uri, read_source
from dedup.io.inputs import SUFFIXES, find_inputs, supported
from dedup.io.records import Reject
from dedup.io.streams import Limits, Source, display_path
from dedup.schema import REJECTS, conform

#: One row per article, reject, warning count or per-file record count.
READ_ROWS = pa.schema([
    ("kind", pa.string()),              # article | reject | warning | records
    ("article_id", pa.string()), ("outlet", pa.string()), ("title", pa.string()), ("text", pa.string()),
    ("published", pa.timestamp("us", tz="UTC")), ("url", pa.string()),
    ("source_file", pa.string()), ("source_record", pa.int64()),
    ("reason", pa.string()), ("message", pa.string()), ("n", pa.int64()),
])
READ_DDL = ("kind string, article_id string, outlet string, title string, text string, published timestamp, "
            "url string, source_file string, source_record long, reason string, message string, n long")

ARTICLE_COLUMNS = ["article_id", "outlet", "title", "text", "published", "url", "source_file", "source_record"]


@dataclass
class SparkRead:
    """What the read stage gives the engine: the articles stay in Spark, the rest is small."""

    articles: DataFrame                  # ARTICLES columns, duplicate ids not yet resolved
    rejects: list[dict]                  # REJECTS rows but duplicate ids (see number_articles)
    files: int = 0
    records: int = 0
    skipped_files: list[str] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)
    cache: DataFrame | None = None      # the persisted read rows; unpersist once the articles are kept


class _NamedSource(Source):
    """A Source read from a local spill file but named by its original URI."""

    def __init__(self, path: Path, display: str, **kwargs):
        super().__init__(path, **kwargs)
        self.display = display

    @property
    def name(self) -> str:
        return self.display


def read_one(source: Source, config: ReadConfig) -> _Collector:
    """Read one file into a fresh collector, as :func:`dedup.io.read_inputs` reads each of its files."""
    # strict is decided on the driver; Spark runs tasks on every core, so a task forks no workers
    collector = _Collector(replace(config, strict=False, workers=1))
    read_source(source, collector)
    return collector


def _rows(collector: _Collector, name: str) -> pa.RecordBatch:
    cols: dict[str, list] = {f.name: [] for f in READ_ROWS}

    def put(**values):
        for key in cols:
            cols[key].append(values.get(key))

    for row in collector.frame().iter_rows(named=True):
        put(kind="article", **row)
    for rej in collector.rejects:
        put(kind="reject", article_id=rej["article_id"], source_file=rej["file"], source_record=rej["record"],
            reason=rej["reason"], message=rej["message"])
    for reason, n in collector.warnings.items():
        put(kind="warning", reason=reason, n=n)
    put(kind="records", source_file=name, n=collector.records)
    return pa.RecordBatch.from_pydict(cols, schema=READ_ROWS)


def _read_paths(config: ReadConfig):
    limits = Limits.from_config(config)
    encoding = None if config.encoding == "auto" else config.encoding

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path in batch.column("path").to_pylist():
                source = Source(Path(path), limits, encoding=encoding)
                yield _rows(read_one(source, config), source.name)
    return run


def _read_blobs(config: ReadConfig):
    limits = Limits.from_config(config)
    encoding = None if config.encoding == "auto" else config.encoding

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for uri, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                name = Path(urlparse(uri).path).name
                with tempfile.TemporaryDirectory(prefix="dedup-read-") as tmp:
                    spill = Path(tmp) / name
                    spill.write_bytes(content)
                    source = _NamedSource(spill, uri, limits=limits, encoding=encoding)
                    collector = read_one(source, config)
                yield _rows(collector, uri)
    return run


def read_stage(spark: SparkSession, inputs: list[str | Path], config: ReadConfig,
               out: str | Path | None = None) -> SparkRead:
    """Files and folders (local paths or Spark URIs) -> articles DataFrame and the read counts.

    ``out``: the run's output folder, not read if it lies in an input folder (as locally)."""
    if not inputs:
        raise InputError("no input given; pass files or folders, e.g. dedup cluster corpus/")
    local = [i for i in inputs if not is_uri(i)]
    remote = [str(i) for i in inputs if is_uri(i)]
    parts: list[DataFrame] = []
    skipped: list[str] = []
    unreadable: list[dict] = []
    files = 0
    if local:
        found = find_inputs(local, out=out)
        unreadable = [{"file": display_path(path), "record": None, "article_id": None, "reason": "unreadable_file",
                       "message": message} for path, message in found.unreadable]
        explicit = {Path(p) for p in local if Path(p).is_file()}
        chosen, passed = [], list(found.skipped)
        for path in found.files:
            if path not in explicit and not supported(path):
                passed.append((path, display_path(path)))
            else:
                chosen.append(str(path))
        skipped += [entry for _, entry in sorted(passed, key=lambda s: s[0])]
        files += len(chosen)
        if chosen:
            slices = max(1, min(len(chosen), 4 * spark.sparkContext.defaultParallelism))
            listing = spark.createDataFrame([(p,) for p in chosen], "path string").repartition(slices)
            parts.append(listing.mapInArrow(_read_paths(config), READ_DDL))
    if remote:
        blobs = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(remote)
        names = [r.path for r in blobs.select("path").collect()]
        explicit = {str(i) for i in remote}
        keep = [n for n in names if n in explicit or supported(Path(urlparse(n).path))]
        skipped += sorted(set(names) - set(keep))
        files += len(keep)
        if keep:
            blobs = blobs.where(F.col("path").isin(keep)).select("path", "content")
            parts.append(blobs.mapInArrow(_read_blobs(config), READ_DDL))
    if files == 0:
        unread = "".join(f"; {r['file']}: {r['message']}" for r in unreadable[:1])
        raise InputError(f"no readable input files in {', '.join(map(str, inputs))} "
                         f"(supported: {' '.join(sorted(SUFFIXES))}, optionally .gz/.bz2/.xz/.zst){unread}")
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.unionByName(part)
    rows = rows.persist()
    small = rows.where(F.col("kind") != "article").drop("text").toArrow()
    small = pl.from_arrow(small) if small.num_rows else pl.DataFrame(schema={"kind": pl.String})
    records = int(small.filter(pl.col("kind") == "records")["n"].sum()) if small.height else 0
    records += len(unreadable)   # each an unreadable_file reject of one record, as locally
    warnings: Counter = Counter()
    for reason, n in small.filter(pl.col("kind") == "warning").select("reason", "n").iter_rows():
        warnings[reason] += n
    rejects = unreadable + [dict(zip(("file", "record", "article_id", "reason", "message"), r)) for r in
                            small.filter(pl.col("kind") == "reject")
                            .select("source_file", "source_record", "article_id", "reason", "message").iter_rows()]

    articles = rows.where(F.col("kind") == "article").select(*ARTICLE_COLUMNS)
    return SparkRead(articles, rejects, files=files, records=records, skipped_files=skipped, warnings=warnings,
                     cache=rows)


def number_articles(spark: SparkSession, read: SparkRead, config: ReadConfig,
                    keep: Callable[[DataFrame], DataFrame]) -> tuple[DataFrame, pl.DataFrame]:
    """Distinct ids and their ``doc`` numbers, with one shuffle of the articles; and the final REJECTS.

    The articles are range-partitioned by id: every copy of a duplicated id
    lands in one partition, where a window keeps the earliest published one
    (as :meth:`dedup.io._Collector.finish`), and the partitions, sorted, hold
    the ids in order, so ``doc`` (the row number in id order, as the local
    engine numbers articles) is the partition's offset plus the row's index
    in it. Ties of time go to the longest text, then by the text's SHA-256,
    then file and record order, as locally. ``keep`` materialises the ranked
    rows so that the numbering is computed on fixed partitions.
    """
    n_parts = max(2 * spark.sparkContext.defaultParallelism, read.records // 20_000)
    far = F.lit(datetime.max.replace(tzinfo=timezone.utc).replace(tzinfo=None)).cast("timestamp")
    text = F.coalesce("text", F.lit(""))
    order = Window.partitionBy("article_id").orderBy(F.coalesce("published", far), F.length(text).desc(),
                                                     F.sha2(text, 256), "source_file",
                                                     F.coalesce("source_record", F.lit(0)))
    ranked = keep(read.articles.repartitionByRange(n_parts, "article_id")
                  .withColumn("_rank", F.row_number().over(order))
                  .withColumn("_first_file", F.first("source_file").over(order))
                  .withColumn("_first_record", F.first("source_record").over(order))
                  .sortWithinPartitions("article_id"))
    if read.cache is not None:
        read.cache.unpersist()
    rejects = list(read.rejects)
    duplicates = (ranked.where(F.col("_rank") > 1)
                  .select("article_id", "source_file", "source_record", "_first_file", "_first_record")
                  .collect())
    for d in sorted(duplicates, key=lambda r: (r.source_file, r.source_record or 0)):
        where = f"{d._first_file}:{d._first_record}" if d._first_record is not None else d._first_file
        rejects.append(Reject(d.source_file, d.source_record, "duplicate_id",
                              f"id {d.article_id!r} already used by {where}", d.article_id).as_row())
    if config.strict and rejects:
        first = min(rejects, key=lambda r: (r["reason"] == "duplicate_id", r["file"], r["record"] or 0))
        raise RejectedRecord(first["file"], first["record"], first["reason"], first["message"])
    frame = (pl.DataFrame(rejects, schema=REJECTS, orient="row") if rejects else pl.DataFrame(schema=REJECTS))
    frame = conform(frame, REJECTS, "read").sort(["file", "record", "reason"], nulls_last=False)

    tagged = (ranked.where(F.col("_rank") == 1)
              .select(*ARTICLE_COLUMNS, F.spark_partition_id().alias("_pid"),
                      F.monotonically_increasing_id().alias("_mid")))
    counts = sorted((r["_pid"], r["count"]) for r in tagged.groupBy("_pid").count().collect())
    offsets, total = [], 0
    for pid, count in counts:
        offsets.append((pid, total))
        total += count
    table = spark.createDataFrame(offsets or [(0, 0)], "_pid int, _offset long")
    doc = (F.col("_offset") + F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)).alias("doc")
    articles = keep(tagged.join(F.broadcast(table), "_pid").select(doc, *ARTICLE_COLUMNS))
    return articles, frame
