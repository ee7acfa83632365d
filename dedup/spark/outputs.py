"""The Spark engine's outputs: its tables as folders of part files, its summary, and its write failures.

The local engine's equivalents are :mod:`dedup.io.writers` and
:func:`dedup.pipeline.build_summary`; the run itself is :mod:`dedup.spark.engine`.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from dedup.config import Config
from dedup.errors import OutputError
from dedup.io.writers import ParquetRows
from dedup.pipeline import build_summary
from dedup.spark.failures import java_cause
from dedup.spark.read import SparkRead
from dedup.spark.tables import TABLES, remove_side_files, strip_random_names

__all__ = ["alignment_summary", "hadoop_path", "java_io_failure", "java_writes_into", "summary_of",
           "write_parquet_parts", "write_table_folder"]


# -- tables ------------------------------------------------------------------------------------------


def hadoop_path(path: Path) -> str:
    """``path`` as Spark's writers take it: an absolute ``file:`` URI, as typed (Hadoop's ``Path(String)`` does
    not decode escapes). A relative ``night:1/x`` would be a URI of scheme ``night``, and a plain path one on
    the cluster's default file system (HDFS on YARN), not the folder the driver prepares and reads back."""
    return f"file:{path.absolute()}"


def write_table_folder(frame: DataFrame, out: Path, name: str, formats: tuple[str, ...]) -> None:
    """``NAME.parquet/`` (and ``NAME.csv/``, ``NAME.json/``): folders of part files and nothing else, the same
    files under the same names, byte for byte, on every rerun. ``name`` is one of :data:`TABLES`.

    The Parquet parts are dedup's own (:func:`write_parquet_parts`); the CSV and JSON parts are Spark's, whose
    bytes are already the same from run to run but whose names hold a random UUID, taken out here
    (:func:`~dedup.spark.tables.strip_random_names`; renaming is a few calls on the driver per part).
    """
    parquet = out / f"{name}.parquet"
    _empty_folder(parquet)   # as Spark's mode("overwrite")
    write_parquet_parts(frame, parquet, TABLES[name])
    nested = [f.name for f in frame.schema.fields if f.dataType.typeName() in ("array", "struct", "map")]
    flat = frame.select(*[F.to_json(c).alias(c) if c in nested else F.col(c) for c in frame.columns])
    if "csv" in formats:
        # Spark's CSV writer trims spaces and control characters (a wire text's \x03) around values by default
        (flat.write.mode("overwrite").option("header", "true").option("escape", '"')   # RFC 4180: "" in quotes
         .option("ignoreLeadingWhiteSpace", "false").option("ignoreTrailingWhiteSpace", "false")
         .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").csv(hadoop_path(out / f"{name}.csv")))
    if "json" in formats:
        (frame.write.mode("overwrite").option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
         .option("ignoreNullFields", "false").json(hadoop_path(out / f"{name}.json")))
    for fmt in formats:   # parquet among them (OutputConfig)
        remove_side_files(out / f"{name}.{fmt}")
        strip_random_names(out / f"{name}.{fmt}")


def _empty_folder(folder: Path) -> None:
    """Make ``folder`` an empty folder, removing whatever held its name (an earlier run's table)."""
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
    else:
        folder.unlink(missing_ok=True)
    folder.mkdir(parents=True)


#: What a task of :func:`write_parquet_parts` returns for a partition with rows: the part it wrote and its rows,
#: or the message of a write that failed.
_PART_WRITTEN = pa.schema([("part", pa.string()), ("rows", pa.int64()), ("error", pa.string())])


def write_parquet_parts(frame: DataFrame, folder: Path, schema: pl.Schema) -> None:
    """``frame``'s rows as ``folder/part-NNNNN.parquet`` (an empty folder), one part per partition that has
    rows, numbered by partition: a sorted frame's partitions hold consecutive ranges, so the parts in name
    order hold its rows in order (:func:`dedup.io.table_files`). A frame without rows gets one empty part,
    which holds the schema (as Spark's writer leaves it).

    Each executor writes its partitions with the local engine's writer, :class:`~dedup.io.writers.ParquetRows`,
    streaming their Arrow batches, not with Spark's: parquet-java lists a column chunk's encodings in the
    order of a ``HashSet`` of enum constants, which changes from JVM to JVM (apache/parquet-java#3215; no
    setting orders it), so a rerun's parts differed by a few footer bytes. ParquetRows' bytes depend on the
    rows only, and the parts have the local column types (``uint32``, not Spark's ``int64``). Nothing is
    collected but a row per part; the write stage is no slower than with Spark's writer (benchmarks/README.md
    §8: 16.5 s against 25.7 s on 12,208 syndication articles, on a loaded machine).

    A task writes its part under a hidden name of its own attempt (a speculative copy of the task may
    write at the same time) and then renames it: a part is there whole or not at all, and a killed attempt
    leaves only a hidden file, which :func:`~dedup.spark.tables.remove_side_files` deletes. A write that
    fails (a full disk, no permission) is returned by its task, not raised there, and raised here as an
    :class:`OutputError` (exit 8, one line): an exception of a task is an internal error
    (:mod:`dedup.spark.failures`).
    """
    folder = folder.absolute()   # the executors do not run in the driver's working folder

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        written = _write_part(batches, folder, schema)
        if written is not None:
            yield pa.RecordBatch.from_pylist([written], schema=_PART_WRITTEN)

    parts = frame.mapInArrow(write_partition, from_arrow_schema(_PART_WRITTEN)).collect()
    error = next((part["error"] for part in parts if part["error"]), None)
    if error is not None:
        raise OutputError(error)
    if not parts:
        ParquetRows(folder / "part-00000.parquet", schema).close()


def _write_part(batches: Iterator[pa.RecordBatch], folder: Path, schema: pl.Schema) -> dict[str, Any] | None:
    """Write one partition's batches as its part, on the executor (:func:`write_parquet_parts`); what was
    written, or None for a partition without rows."""
    from pyspark import TaskContext

    task = TaskContext.get()
    batches = (batch for batch in batches if batch.num_rows)
    first = next(batches, None)
    if first is None:
        return None
    part = folder / f"part-{task.partitionId():05d}.parquet"
    attempt = folder / f".{part.stem}.attempt-{task.attemptNumber()}.parquet"
    try:
        with ParquetRows(attempt, schema) as rows:
            for batch in chain([first], batches):
                rows.write(pa.Table.from_batches([batch]))
        os.replace(attempt, part)
    except OSError as exc:
        return {"part": None, "rows": 0, "error": f"cannot write {part}: {exc.strerror or exc}"}
    except OutputError as exc:   # ParquetRows' OSErrors, which name the attempt's hidden file: the part's name instead
        attempt.unlink(missing_ok=True)
        return {"part": None, "rows": 0, "error": str(exc).replace(str(attempt), str(part))}
    return {"part": part.name, "rows": rows.rows, "error": None}


def summary_of(read: SparkRead, rejects: pl.DataFrame, clusters: DataFrame, stats: dict, config: Config
             ) -> dict[str, Any]:
    """The local engine's summary.json, counted with Spark aggregations."""
    multi = F.col("cluster_size") > 1
    row = clusters.agg(
        F.count("*").alias("clustered"),
        F.countDistinct(F.when(multi, F.col("cluster_id"))).alias("stories"),
        F.sum((~multi).cast("long")).alias("singletons"),
        F.max("cluster_size").alias("largest"),
        F.sum((multi & ~F.col("is_canonical")).cast("long")).alias("duplicates"),
    ).first()
    notes = Counter({r["reason"]: r["count"] for r in clusters.where(F.col("note").isNotNull() & ~multi)
                     .groupBy(F.substring_index("note", ":", 1).alias("reason")).count().collect()})
    counts = {key: int(row[key] or 0) for key in ("stories", "singletons", "largest", "duplicates")}
    return build_summary(read, rejects, int(row["clustered"]), notes, counts, stats, config)


def alignment_summary(sentences: DataFrame, links: DataFrame, failures: pl.DataFrame) -> dict[str, Any]:
    statuses = {r["status"]: r["count"] for r in sentences.groupBy("status").count().collect()}
    return {
        "sentences_by_status": dict(sorted(statuses.items())),
        "provenance_links": links.select("cluster_id", "first_article_id", "article_id").distinct().count(),
        "failed_clusters": failures.height,
        "failures": failures.sort("cluster_id").to_dicts(),
    }


def java_io_failure(exc: BaseException) -> str | None:
    """The message of the ``java.io.IOException`` behind a failed Spark call (a full disk, no permission
    where Spark's writers write), or None when the failure is another (a task's Python error...)."""
    java = java_cause(exc, "java.io.IOException")
    return None if java is None else str(java.getMessage() or java.getClass().getName())


@contextmanager
def java_writes_into(out: Path) -> Iterator[None]:
    """:func:`dedup.io.writers.writing_into` for the tables Spark writes in the JVM: its I/O failures are an
    :class:`OutputError` (exit 8), one line."""
    try:
        yield
    except Exception as exc:
        message = java_io_failure(exc)
        if message is None:
            raise
        raise OutputError(f"cannot write the outputs in {out}: {message}") from None
