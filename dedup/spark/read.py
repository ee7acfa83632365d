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
  listed on the driver with Hadoop's FileSystem API (:func:`dedup.spark.uris.find_uris`), by the
  rules of ``find_inputs`` (hidden entries, output and state folders, unsupported
  files; names starting with ``_``, which Spark would leave out, are read), and
  exactly those files are fetched by Spark's ``binaryFile`` source; each file's
  bytes are spilled to a temporary file on the executor and read by the same readers.

An archive (``.zip``, ``.tar.gz``...) is one file to Spark: the task that reads it expands its members there
(:mod:`dedup.io.archives`, through ``read_source``), with the local engine's names, rejects and skipped members.

Duplicate ids are resolved across files with a window, as
:meth:`dedup.io._Collector.finish` does: the earliest published record keeps
the id (undated last), then the longest text, the text's SHA-256, and file and
record order. Under ``--strict`` the run stops at the reject the local engine
meets first (:func:`number_articles`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dedup.config import ReadConfig
from dedup.errors import InputError, RejectedRecord
from dedup.io import (
    CONTENT_TIES,
    REJECTS_KEPT,
    _Collector,
    content_rank,
    given_inputs,
    is_uri,
    read_source,
)
from dedup.io.html import latest_page_date
from dedup.io.inputs import find_inputs, no_readable_files, supported
from dedup.io.records import Reject
from dedup.io.streams import Limits, Source, display_path
from dedup.schema import ARTICLES, REJECTS, conform
from dedup.spark.uris import find_uris, path_order, read_once

#: One row per article, reject, warning count or per-file record count.
READ_ROWS = pa.schema([
    ("kind", pa.string()),              # article | reject | warning | records | skipped (an archive's member)
    ("article_id", pa.string()), ("outlet", pa.string()), ("title", pa.string()), ("text", pa.string()),
    ("published", pa.timestamp("us", tz="UTC")), ("url", pa.string()),
    ("source_file", pa.string()), ("source_record", pa.int64()),
    ("reason", pa.string()), ("message", pa.string()), ("n", pa.int64()),
])
READ_DDL = ("kind string, article_id string, outlet string, title string, text string, published timestamp, "
            "url string, source_file string, source_record long, reason string, message string, n long")

#: Spark's ``binaryFile`` leaves out names starting with ``_`` or ``.`` even when named; given this regex
#: (which matches no name) as ``ignoredPathSegmentRegex``, Spark 4.3 and later read them; older ones ignore it.
_NO_NAME = "(?!)"
_GLOB = re.compile(r"[\\\[\]{}*?]")

#: Where an undated record sorts among duplicate ids, in microseconds since 1970: ``datetime.max`` (UTC), as
#: :meth:`dedup.io._Collector.finish` and :func:`number_articles`' window place it.
FAR_MICROS = (datetime.max - datetime(1970, 1, 1)) // timedelta(microseconds=1)   # 253402300799999999

#: Hadoop's ``file:`` file system checks each file it opens against a hidden ``.NAME.crc`` beside it: a stale
#: one, or a ``:`` in the name (it builds that sidecar's path from the name), fails the read of the whole run.
#: ``file:`` inputs are read without checksums, as the local engine reads them, unless the caller's Hadoop
#: configuration names its own ``fs.file.impl``; a new instance, as the cached one is Hadoop's default.
RAW_LOCAL = {"fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem", "fs.file.impl.disable.cache": "true"}

ARTICLE_COLUMNS = ["article_id", "outlet", "title", "text", "published", "url", "source_file", "source_record"]


@dataclass
class SparkRead:
    """What the read stage gives the engine: the articles stay in Spark, the rest is small."""

    articles: DataFrame                  # ARTICLES columns, duplicate ids not yet resolved
    rejects: pl.DataFrame                # REJECTS_KEPT, in no order, but duplicate ids (see number_articles)
    files: int = 0
    records: int = 0
    skipped_files: list[str] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)
    cache: DataFrame | None = None      # the persisted read rows; unpersist once the articles are kept
    order: dict[str, int] = field(default_factory=dict)   # each file read -> its place in the local read order


def _place(name: str, order: dict[str, int]) -> int:
    """The place in the local read order of the file ``name`` names: its own, or an archive member's
    (``ARCHIVE!/path``) its archive's, the longest archive name it starts with (a folder may end in ``!``)."""
    if name in order:
        return order[name]
    archives = [a for a in order if name.startswith(a + "!/")]
    return order[max(archives, key=len)] if archives else len(order)


def read_one(source: Source, config: ReadConfig, latest: str | None = None) -> _Collector:
    """Read one file into a fresh collector, as :func:`dedup.io.read_inputs` reads each of its files.
    ``latest``: the latest date an HTML page may have, taken once for the run on the driver
    (:func:`dedup.io.html.latest_page_date`), so a run across midnight gives every task the same."""
    # strict is decided on the driver; Spark runs tasks on every core, so a task forks no workers
    collector = _Collector(replace(config, strict=False, workers=1), latest=latest)
    read_source(source, collector)
    return collector


def _rows(collector: _Collector, name: str) -> pa.RecordBatch:
    """One file's read as READ_ROWS: its articles, its rejects, its warnings and its count of records, built
    from the collector's frames (a file of a million bad lines is a million rows, not Python dicts)."""
    text = [column for column, kind in ARTICLES.items() if kind == pl.String]
    parts = [collector.frame().with_columns(kind=pl.lit("article")),
             collector.rejects_frame().select(
                 kind=pl.lit("reject"), article_id=pl.col("article_id").cast(pl.String),
                 source_file=pl.col("file").cast(pl.String), source_record="record",
                 reason=pl.col("reason").cast(pl.String), message=pl.col("message").cast(pl.String)),
             pl.DataFrame({"kind": "warning", "reason": list(collector.warnings), "n": list(collector.warnings.values())},
                          schema={"kind": pl.String, "reason": pl.String, "n": pl.Int64}),
             pl.DataFrame({"kind": ["records"], "source_file": [name], "n": [collector.records]},
                          schema={"kind": pl.String, "source_file": pl.String, "n": pl.Int64}),
             pl.DataFrame({"kind": "skipped", "source_file": collector.skipped},   # an archive's members passed over
                          schema={"kind": pl.String, "source_file": pl.String})]
    rows = pl.concat(parts, how="diagonal_relaxed").with_columns(pl.col(text).cast(pl.String))
    return pa.Table.from_batches(rows.select(READ_ROWS.names).to_arrow().cast(READ_ROWS).to_batches(),
                                 READ_ROWS).combine_chunks().to_batches()[0]


def _read_paths(config: ReadConfig, latest: str):
    limits = Limits.from_config(config)
    encoding = None if config.encoding == "auto" else config.encoding

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path in batch.column("path").to_pylist():
                source = Source(Path(os.fsdecode(path)), limits, encoding=encoding)
                yield _rows(read_one(source, config, latest), source.name)
    return run


def _read_blobs(config: ReadConfig, latest: str):
    limits = Limits.from_config(config)
    encoding = None if config.encoding == "auto" else config.encoding

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for uri, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                name = uri.rsplit("/", 1)[-1]   # Hadoop's names are not escaped: `#` or `?` is part of the name
                with tempfile.TemporaryDirectory(prefix="dedup-read-") as tmp:
                    spill = Path(tmp) / name
                    spill.write_bytes(content)
                    source = Source(spill, limits, encoding=encoding, display=uri)
                    collector = read_one(source, config, latest)
                yield _rows(collector, uri)
    return run


def read_stage(spark: SparkSession, inputs: list[str | Path], config: ReadConfig,
               out: str | Path | None = None) -> SparkRead:
    """Files and folders (local paths or Spark URIs) -> articles DataFrame and the read counts.

    ``out``: the run's output folder, not read if it lies in an input folder (as locally). A file reached
    both as a local path and by a ``file:`` URI, or by two such URIs, is read once (:func:`dedup.spark.uris.read_once`)."""
    given_inputs(inputs)
    local = [i for i in inputs if not is_uri(i)]
    remote = [str(i) for i in inputs if is_uri(i)]
    latest = latest_page_date()   # one limit for every HTML page of the run, whichever task reads it
    parts: list[DataFrame] = []
    skipped: list[str] = []
    unreadable: list[tuple[str, str]] = []
    order: list[str] = []        # the files read, as their rejects name them, in the local engine's order
    outputs: list[str] = []      # the inputs that are a dedup run's output folder (for the error if none is read)
    chosen: list[Path] = []
    fetched: list[str] = []      # the files read by Spark's binaryFile
    if local:
        found = find_inputs(local, out=out)
        unreadable += [(display_path(path), message) for path, message in found.unreadable]
        outputs += map(display_path, found.outputs)
        explicit = {Path(p) for p in local if Path(p).is_file()}
        passed = list(found.skipped)
        for path in found.files:
            if path not in explicit and not supported(path):
                passed.append((path, display_path(path)))
            else:
                chosen.append(path)
        skipped += [entry for _, entry in sorted(passed, key=lambda s: s[0])]
        order += map(display_path, chosen)
        if chosen:
            slices = max(1, min(len(chosen), 4 * spark.sparkContext.defaultParallelism))
            # the paths travel as their bytes: a Java string would turn a name that is not valid UTF-8
            # (its stray bytes, lone surrogates here) into U+FFFD, a file the executor cannot open
            listing = (spark.createDataFrame([(os.fsencode(p),) for p in chosen], "path binary")
                       .repartition(slices))
            parts.append(listing.mapInArrow(_read_paths(config, latest), READ_DDL))
    if remote:
        found_uris = find_uris(spark, remote, out=out)
        unreadable += found_uris.unreadable
        outputs += found_uris.outputs
        keep, passed_uris = [], list(found_uris.skipped)
        for name, explicit_uri in found_uris.files:
            if explicit_uri or supported(PurePosixPath(name)):
                keep.append(name)
            else:
                passed_uris.append((name, name))
        keep, same = read_once(chosen, keep)
        passed_uris += same
        skipped += [entry for _, entry in sorted(passed_uris, key=lambda s: path_order(s[0]))]
        order += keep
        # Spark's file sources skip files of 0 bytes without a trace: those are read from no bytes, here, by the
        # same reader, so each is its empty_file reject as locally.
        if empty := [name for name in keep if name in found_uris.empty]:
            parts.append(spark.createDataFrame([(name, bytearray()) for name in empty], "path string, content binary")
                         .mapInArrow(_read_blobs(config, latest), READ_DDL))
            keep = [name for name in keep if name not in found_uris.empty]
        if keep:
            # load() globs its paths: the glob characters of the listed names ([ ] { } * ? and \\) are escaped
            # a file Spark cannot read (a vanished file...) is an unreadable_file reject below, not the end of the run
            reader = (spark.read.format("binaryFile").option("ignoredPathSegmentRegex", _NO_NAME)
                      .option("ignoreCorruptFiles", "true").option("ignoreMissingFiles", "true"))
            if spark._jsparkSession.sessionState().newHadoopConf().get("fs.file.impl") is None:
                reader = reader.options(**RAW_LOCAL)   # only this read's Hadoop configuration: the caller's is kept
            blobs, gone = _load(spark, reader, keep)
            unreadable += [(name, "cannot read file: No such file or directory") for name in gone]   # as locally
            left = set(gone)
            keep = [name for name in keep if name not in left]
            if blobs is not None and (left_out := len(keep) - len(blobs.inputFiles())) > 0:   # never silently
                raise InputError(f"Spark {spark.version} leaves out {left_out} of the {len(keep)} input files: "
                                 "names starting with '_' (or '.', named) are read from Spark 4.3 on; "
                                 "upgrade pyspark or rename them")
            if blobs is not None:
                parts.append(blobs.select("path", "content").mapInArrow(_read_blobs(config, latest), READ_DDL))
            fetched = keep
    if config.strict and unreadable:   # read first, as locally, so the first reject of a --strict run
        raise RejectedRecord(unreadable[0][0], None, "unreadable_file", unreadable[0][1])
    if not order:
        raise no_readable_files(list(map(str, inputs)), outputs, unreadable)
    rows = parts[0] if parts else spark.createDataFrame([], READ_DDL)   # every file gone since the listing
    for part in parts[1:]:
        rows = rows.unionByName(part)
    rows = rows.persist()
    small = rows.where(F.col("kind") != "article").drop("text").toArrow()
    small = pl.from_arrow(small) if small.num_rows else pl.DataFrame(schema={"kind": pl.String})
    read_files = set(small.filter(pl.col("kind") == "records")["source_file"]) if small.height else set()
    if len(read_files) < len(order):   # each file read gives one "records" row: those Spark left out give none
        unreadable += [(name, "cannot read file: Spark's reader failed on it (the reason is in the executors' log)")
                       for name in fetched if name not in read_files]
    if small.height:   # an archive's members passed over, after the files and folders (as locally)
        skipped += sorted(small.filter(pl.col("kind") == "skipped")["source_file"])
    records = int(small.filter(pl.col("kind") == "records")["n"].sum()) if small.height else 0
    records += len(unreadable)   # each an unreadable_file reject of one record, as locally
    warnings: Counter = Counter()
    for reason, n in small.filter(pl.col("kind") == "warning").select("reason", "n").iter_rows():
        warnings[reason] += n
    rejects = pl.concat([
        pl.DataFrame([(name, None, None, "unreadable_file", message) for name, message in unreadable] or None,
                     schema=REJECTS_KEPT, orient="row"),
        small.filter(pl.col("kind") == "reject").select(file="source_file", record="source_record",
                                                       article_id="article_id", reason="reason", message="message")
        if small.height else pl.DataFrame()], how="diagonal_relaxed")
    rejects = conform(rejects, REJECTS_KEPT, "read")

    articles = rows.where(F.col("kind") == "article").select(*ARTICLE_COLUMNS)
    return SparkRead(articles, rejects, files=len(order), records=records, skipped_files=skipped,
                     warnings=warnings, cache=rows, order={name: i for i, name in enumerate(order)})


def _load(spark: SparkSession, reader, names: list[str]) -> tuple[DataFrame | None, list[str]]:
    """``reader.load`` of the listed files ``names`` (their glob characters ``[ ] { } * ? \\`` escaped), and
    those gone since they were listed (deleted, renamed, a link broken), which Spark refuses the whole read
    for (``PATH_NOT_FOUND``): left out, each an ``unreadable_file`` reject as locally. None: all gone."""
    from pyspark.errors import AnalysisException

    hadoop, conf, gone = spark._jvm.org.apache.hadoop.fs.Path, spark._jsc.hadoopConfiguration(), []
    while names:
        try:
            return reader.load([_GLOB.sub(r"\\\g<0>", name) for name in names]), gone
        except AnalysisException as exc:
            missing = {name for name in names if not (path := hadoop(name)).getFileSystem(conf).exists(path)}
            if exc.getCondition() != "PATH_NOT_FOUND" or not missing:
                raise
            gone += [name for name in names if name in missing]
            names = [name for name in names if name not in missing]
    return None, gone


def number_articles(spark: SparkSession, read: SparkRead, config: ReadConfig,
                    keep: Callable[[DataFrame], DataFrame]) -> tuple[DataFrame, pl.DataFrame]:
    """Distinct ids and their ``doc`` numbers, with one shuffle of the articles; and the final REJECTS.

    The articles are range-partitioned by id: every copy of a duplicated id
    lands in one partition, where a window keeps the earliest published one
    (as :meth:`dedup.io._Collector.finish`), and the partitions, sorted, hold
    the ids in order, so ``doc`` (the row number in id order, as the local
    engine numbers articles) is the partition's offset plus the row's index
    in it. Ties of time go to the longest text, then by the text's SHA-256,
    then outlet, title and url (missing last; :func:`dedup.io.content_rank`),
    then file and record order, as locally. ``keep`` materialises the ranked
    rows so that the numbering is computed on fixed partitions.
    """
    n_parts = max(2 * spark.sparkContext.defaultParallelism, read.records // 20_000)
    far = F.lit(datetime.max.replace(tzinfo=timezone.utc).replace(tzinfo=None)).cast("timestamp")
    text = F.coalesce("text", F.lit(""))
    order = Window.partitionBy("article_id").orderBy(F.coalesce("published", far), F.length(text).desc(),
                                                     F.sha2(text, 256), *map(F.asc_nulls_last, CONTENT_TIES),
                                                     "source_file", F.coalesce("source_record", F.lit(0)))
    ranked = keep(read.articles.repartitionByRange(n_parts, "article_id")
                  .withColumn("_rank", F.row_number().over(order))
                  .withColumn("_first_file", F.first("source_file").over(order))
                  .withColumn("_first_record", F.first("source_record").over(order))
                  .sortWithinPartitions("article_id"))
    if read.cache is not None:
        read.cache.unpersist()
    duplicates = (ranked.where(F.col("_rank") > 1)
                  .select("article_id", "source_file", "source_record", "_first_file", "_first_record",
                          F.coalesce(F.unix_micros("published"), F.lit(FAR_MICROS)).alias("_time"),
                          F.length(text).alias("_length"), F.sha2(text, 256).alias("_digest"), *CONTENT_TIES)
                  .collect())
    # in the order of dedup.io._Collector.finish, whose first duplicate is the one --strict stops at
    doubles = []
    for d in sorted(duplicates, key=lambda r: (r._time, -r._length, r._digest, *content_rank(r), r.source_file,
                                               r.source_record or 0)):
        where = f"{d._first_file}:{d._first_record}" if d._first_record is not None else d._first_file
        doubles.append(Reject(d.source_file, d.source_record, "duplicate_id",
                              f"id {d.article_id!r} already used by {where}", d.article_id).as_row())
    if config.strict and (read.rejects.height or doubles):
        # As the local engine meets them: files in its order, a file's records, then the reject that ended
        # the file (a truncated archive's, after the records read before it); duplicate ids last.
        # an archive's member (ARCHIVE!/path) where its archive is read, by name (dedup.io.read_source)
        file = pl.col("file").cast(pl.String)
        names = read.rejects["file"].cast(pl.String).unique().to_list()
        place = file.replace_strict({name: _place(name, read.order) for name in names}, default=len(read.order))
        first = (read.rejects.sort(place, file, pl.col("record").is_null(), pl.col("record").fill_null(0))
                 .row(0, named=True)
                 if read.rejects.height else doubles[0])
        raise RejectedRecord(first["file"], first["record"], first["reason"], first["message"])
    frame = pl.concat([read.rejects, pl.DataFrame(doubles or None, schema=REJECTS_KEPT, orient="row")])
    frame = conform(frame.sort(["file", "record", "reason"], nulls_last=False), REJECTS, "read")

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
