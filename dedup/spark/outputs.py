"""The Spark engine's outputs: its tables as folders of part files, its summary, and its write failures.

The local engine's equivalents are :mod:`dedup.io.writers` and
:func:`dedup.pipeline.build_summary`; the run itself is :mod:`dedup.spark.engine`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dedup.config import Config
from dedup.errors import OutputError
from dedup.pipeline import build_summary
from dedup.spark.failures import java_cause
from dedup.spark.read import SparkRead
from dedup.spark.tables import remove_side_files

__all__ = ["alignment_summary", "hadoop_path", "java_io_failure", "java_writes_into", "summary_of",
           "write_table_folder"]


# -- tables ------------------------------------------------------------------------------------------


def hadoop_path(path: Path) -> str:
    """``path`` as Spark's writers take it: an absolute ``file:`` URI, as typed (Hadoop's ``Path(String)`` does
    not decode escapes). A relative ``night:1/x`` would be a URI of scheme ``night``, and a plain path one on
    the cluster's default file system (HDFS on YARN), not the folder the driver prepares and reads back."""
    return f"file:{path.absolute()}"


def write_table_folder(frame: DataFrame, out: Path, name: str, formats: tuple[str, ...]) -> None:
    """``NAME.parquet/`` (and ``NAME.csv/``, ``NAME.json/``): folders of part files and nothing else."""
    frame.write.mode("overwrite").option("compression", "zstd").parquet(hadoop_path(out / f"{name}.parquet"))
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
