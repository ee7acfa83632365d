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
  listed on the driver with Hadoop's FileSystem API (:func:`find_uris`), by the
  rules of ``find_inputs`` (hidden entries, output and state folders, unsupported
  files; names starting with ``_``, which Spark would leave out, are read), and
  exactly those files are fetched by Spark's ``binaryFile`` source; each file's
  bytes are spilled to a temporary file on the executor and read by the same readers.

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
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator

import polars as pl
import pyarrow as pa
from py4j.protocol import Py4JJavaError
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dedup.config import ReadConfig
from dedup.errors import InputError, RejectedRecord
from dedup.io import (
    CONTENT_TIES,
    _Collector,
    content_rank,
    file_path,
    is_uri,
    read_source,
)
from dedup.io.inputs import (
    OUTPUT_FILES,
    SUFFIXES,
    find_inputs,
    is_output_folder,
    is_state_folder,
    not_entered,
    state_input,
    supported,
)
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

#: Spark's ``binaryFile`` leaves out names starting with ``_`` or ``.`` even when named; given this regex
#: (which matches no name) as ``ignoredPathSegmentRegex``, Spark 4.3 and later read them; older ones ignore it.
_NO_NAME = "(?!)"
_GLOB = re.compile(r"[\\\[\]{}*?]")

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
    order: dict[str, int] = field(default_factory=dict)   # each file read -> its place in the local read order


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
                source = Source(Path(os.fsdecode(path)), limits, encoding=encoding)
                yield _rows(read_one(source, config), source.name)
    return run


def _read_blobs(config: ReadConfig):
    limits = Limits.from_config(config)
    encoding = None if config.encoding == "auto" else config.encoding

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for uri, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                name = uri.rsplit("/", 1)[-1]   # Hadoop's names are not escaped: `#` or `?` is part of the name
                with tempfile.TemporaryDirectory(prefix="dedup-read-") as tmp:
                    spill = Path(tmp) / name
                    spill.write_bytes(content)
                    source = _NamedSource(spill, uri, limits=limits, encoding=encoding)
                    collector = read_one(source, config)
                yield _rows(collector, uri)
    return run


def path_order(name: str) -> list[str]:
    """The local engine's file order (it sorts Paths: part by part, ``x/a/b.jsonl`` before ``x/a-c.jsonl``)."""
    return name.split("/")


def _java_message(exc: Py4JJavaError) -> str:
    return str(exc.java_exception.getMessage() or exc.java_exception.getClass().getName())


class _Listed:
    """A folder as Hadoop's FileSystem lists it, for the decisions of :mod:`dedup.io.inputs`
    (a :class:`~dedup.io.inputs.Holdings`). Listing it raises a Py4JJavaError if it cannot be."""

    def __init__(self, jvm: Any, fs: Any, path: Any):
        self.jvm, self.fs, self.name = jvm, fs, path.toString()
        self.entries: dict[str, tuple[str, Any]] = {}    # entry name -> ("folder" or "file", Hadoop path)
        self.empty: set[str] = set()                      # the names of its files of 0 bytes
        for status in fs.listStatus(path):
            entry = status.getPath()
            self.entries[entry.getName()] = ("folder" if status.isDirectory() else "file", entry)
            if not status.isDirectory() and status.getLen() == 0:
                self.empty.add(entry.getName())

    def kind(self, name: str) -> str | None:
        return self.entries[name][0] if name in self.entries else None

    def read(self, name: str) -> bytes:
        try:
            stream = self.fs.open(self.entries[name][1])
            try:
                return bytes(self.jvm.org.apache.hadoop.io.IOUtils.readFullyToByteArray(stream))
            finally:
                stream.close()
        except Py4JJavaError as exc:
            raise OSError(f"cannot read {self.name}/{name}: {_java_message(exc)}") from None


@dataclass
class FoundUris:
    """What :func:`find_uris` found, as :class:`dedup.io.inputs.Found` says it for local paths (names are
    Hadoop's, ``file:/x/a.jsonl`` for ``file:///x/a.jsonl``, as Spark's ``binaryFile`` names them)."""

    files: list[tuple[str, bool]] = field(default_factory=list)   # (name, named explicitly), in read order
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, summary entry)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (name, message): unreadable_file rejects
    empty: set[str] = field(default_factory=set)   # the names of files of 0 bytes (binaryFile skips them)


def find_uris(spark: SparkSession, uris: list[str], out: str | Path | None = None) -> FoundUris:
    """:func:`dedup.io.inputs.find_inputs` for URIs: the same rules, on Hadoop's listing of each input.

    Hidden entries (``.``) are left out; the run's own output folder ``out``
    (for ``file:`` URIs), other dedup outputs and nightly states below an input
    are not entered and are listed in ``skipped``; so are a top folder's own
    output files. Files starting with ``_`` are listed (Hadoop's input formats
    hide them). A ``file:`` URI names the path the local engine reads
    (:func:`dedup.io.file_path`, percent escapes decoded). A missing input is an
    :class:`InputError`; a folder that cannot be listed, an ``unreadable_file`` reject.
    """
    jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    found = FoundUris()
    files: dict[str, bool] = {}

    def own(name: str) -> bool:
        """Whether ``name`` is ``out``."""
        local = _local_name(name)
        try:
            return out is not None and local is not None and os.path.samefile(local, out)
        except OSError:
            return False

    def listed(fs: Any, path: Any) -> _Listed | None:
        try:
            return _Listed(jvm, fs, path)
        except Py4JJavaError as exc:
            message = f"cannot list folder: {_java_message(exc)}; the files in it are not read"
            found.unreadable.append((path.toString(), message))
            return None

    def walk(folder: _Listed, top: bool = False) -> None:
        outputs = top and is_output_folder(folder)
        for name, (kind, path) in folder.entries.items():
            if name.startswith("."):
                continue
            full = path.toString()
            if outputs and name in OUTPUT_FILES:
                found.skipped.append((full, f"{full} (the output of a dedup run)"))
            elif kind == "file":
                files.setdefault(full, False)
                if name in folder.empty:
                    found.empty.add(full)
            elif (child := listed(folder.fs, path)) is not None:
                why = not_entered(child, own(full))
                if why:
                    found.skipped.append((full, f"{full}/ ({why})"))
                else:
                    walk(child)

    for uri in uris:
        try:
            # A file: URI names the file the local engine reads (dedup.io.file_path: percent escapes decoded);
            # Hadoop's Path(String) would take file:///x/e%20f.jsonl as a file named "e%20f.jsonl".
            local = file_path(uri)
            path = (jvm.org.apache.hadoop.fs.Path(uri) if local is None
                    else jvm.org.apache.hadoop.fs.Path("file", None, str(local)))
            fs = path.getFileSystem(conf)
            status = fs.getFileStatus(path)
        except Py4JJavaError as exc:
            if exc.java_exception.getClass().getName() == "java.io.FileNotFoundException":
                raise InputError(f"input {display_path(uri)} does not exist") from None
            raise InputError(f"input {display_path(uri)} cannot be read: {_java_message(exc)}") from None
        if not status.isDirectory():
            files[status.getPath().toString()] = True   # named explicitly: read whatever its type
            if status.getLen() == 0:
                found.empty.add(status.getPath().toString())
        elif (folder := listed(fs, status.getPath())) is not None:
            if is_state_folder(folder):
                raise state_input(uri)
            walk(folder, top=True)
    found.files = sorted(files.items(), key=lambda item: path_order(item[0]))
    return found


def _local_name(name: str) -> str | None:
    """The local path of a file Hadoop lists as ``file:/x/a.jsonl`` (unescaped); None for other schemes."""
    return name[len("file:"):] if name.startswith("file:/") and not name.startswith("file://") else None


def _once(paths: list[Path], names: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """``names`` (Hadoop's) without the ``file:`` files already read under another name: one of the local
    ``paths``, or an earlier name (a folder given as a path and as a URI, a link); and those left out, as
    ``skipped`` entries. :func:`dedup.io.inputs.find_inputs` reads a file once so among paths: its records
    would otherwise be read twice, each a duplicate_id reject."""
    first: dict[tuple[int, int], str] = {}
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        first.setdefault((st.st_dev, st.st_ino), display_path(path))
    kept, same = [], []
    for name in names:
        local = _local_name(name)
        try:
            st = os.stat(local) if local is not None else None
        except OSError:
            st = None
        other = name if st is None else first.setdefault((st.st_dev, st.st_ino), name)
        if other is name:
            kept.append(name)
        else:
            same.append((name, f"{name} (the same file as {other})"))
    return kept, same


def read_stage(spark: SparkSession, inputs: list[str | Path], config: ReadConfig,
               out: str | Path | None = None) -> SparkRead:
    """Files and folders (local paths or Spark URIs) -> articles DataFrame and the read counts.

    ``out``: the run's output folder, not read if it lies in an input folder (as locally). A file reached
    both as a local path and by a ``file:`` URI, or by two such URIs, is read once (:func:`_once`)."""
    if not inputs:
        raise InputError("no input given; pass files or folders, e.g. dedup cluster corpus/")
    local = [i for i in inputs if not is_uri(i)]
    remote = [str(i) for i in inputs if is_uri(i)]
    parts: list[DataFrame] = []
    skipped: list[str] = []
    unreadable: list[tuple[str, str]] = []
    order: list[str] = []        # the files read, as their rejects name them, in the local engine's order
    chosen: list[Path] = []
    if local:
        found = find_inputs(local, out=out)
        unreadable += [(display_path(path), message) for path, message in found.unreadable]
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
            parts.append(listing.mapInArrow(_read_paths(config), READ_DDL))
    if remote:
        found_uris = find_uris(spark, remote, out=out)
        unreadable += found_uris.unreadable
        keep, passed_uris = [], list(found_uris.skipped)
        for name, explicit_uri in found_uris.files:
            if explicit_uri or supported(PurePosixPath(name)):
                keep.append(name)
            else:
                passed_uris.append((name, name))
        keep, same = _once(chosen, keep)
        passed_uris += same
        skipped += [entry for _, entry in sorted(passed_uris, key=lambda s: path_order(s[0]))]
        order += keep
        # Spark's file sources skip files of 0 bytes without a trace: those are read from no bytes, here, by the
        # same reader, so each is its empty_file reject as locally.
        if empty := [name for name in keep if name in found_uris.empty]:
            parts.append(spark.createDataFrame([(name, bytearray()) for name in empty], "path string, content binary")
                         .mapInArrow(_read_blobs(config), READ_DDL))
            keep = [name for name in keep if name not in found_uris.empty]
        if keep:
            # load() globs its paths: the glob characters of the listed names ([ ] { } * ? and \\) are escaped
            blobs = (spark.read.format("binaryFile").option("ignoredPathSegmentRegex", _NO_NAME)
                     .load([_GLOB.sub(r"\\\g<0>", name) for name in keep]))
            if (left_out := len(keep) - len(blobs.inputFiles())) > 0:   # never silently
                raise InputError(f"Spark {spark.version} leaves out {left_out} of the {len(keep)} input files: "
                                 "names starting with '_' (or '.', named) are read from Spark 4.3 on; "
                                 "upgrade pyspark or rename them")
            parts.append(blobs.select("path", "content").mapInArrow(_read_blobs(config), READ_DDL))
    if config.strict and unreadable:   # read first, as locally, so the first reject of a --strict run
        raise RejectedRecord(unreadable[0][0], None, "unreadable_file", unreadable[0][1])
    if not order:
        unread = "".join(f"; {name}: {message}" for name, message in unreadable[:1])
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
    rejects = [{"file": name, "record": None, "article_id": None, "reason": "unreadable_file", "message": message}
               for name, message in unreadable]
    rejects += [dict(zip(("file", "record", "article_id", "reason", "message"), r)) for r in
                small.filter(pl.col("kind") == "reject")
                .select("source_file", "source_record", "article_id", "reason", "message").iter_rows()]

    articles = rows.where(F.col("kind") == "article").select(*ARTICLE_COLUMNS)
    return SparkRead(articles, rejects, files=len(order), records=records, skipped_files=skipped,
                     warnings=warnings, cache=rows, order={name: i for i, name in enumerate(order)})


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
    rejects = list(read.rejects)
    duplicates = (ranked.where(F.col("_rank") > 1)
                  .select("article_id", "source_file", "source_record", "_first_file", "_first_record",
                          F.coalesce(F.unix_micros("published"), F.lit(2**63 - 1)).alias("_time"),
                          F.length(text).alias("_length"), F.sha2(text, 256).alias("_digest"), *CONTENT_TIES)
                  .collect())
    # in the order of dedup.io._Collector.finish, whose first duplicate is the one --strict stops at
    for d in sorted(duplicates, key=lambda r: (r._time, -r._length, r._digest, *content_rank(r), r.source_file,
                                               r.source_record or 0)):
        where = f"{d._first_file}:{d._first_record}" if d._first_record is not None else d._first_file
        rejects.append(Reject(d.source_file, d.source_record, "duplicate_id",
                              f"id {d.article_id!r} already used by {where}", d.article_id).as_row())
    if config.strict and rejects:
        # As the local engine meets them: files in its order, a file's records, then the reject that ended
        # the file (a truncated archive's, after the records read before it); duplicate ids last.
        first = min(read.rejects, key=lambda r: (read.order.get(r["file"], len(read.order)), r["record"] is None,
                                                 r["record"] or 0)) if read.rejects else rejects[0]
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
