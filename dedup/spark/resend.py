"""The re-send rule on Spark: :func:`dedup.resend.resend_candidates` run per outlet that re-sent something.

A re-send is only ever paired with an item of its own outlet, and marked
headlines are few, so the rule needs the headlines of a few outlets only:

1. one Python pass over the ``(outlet, title)`` of the dated articles
   (:func:`dedup.resend.is_resend` per headline) gives each outlet and whether
   it marked a headline; the distinct outlets are collected (one row per
   outlet of the night, a few thousand strings);
2. the driver keys them as :func:`~dedup.resend.resend_candidates` does
   (polars' lowercase, not Spark's ``lower``, whose Unicode case mapping may
   differ) and keeps the outlets whose key marked something;
3. the ``(doc, outlet, title, published)`` rows of those outlets are grouped
   by key and :func:`~dedup.resend.resend_candidates` runs on each group in
   ``applyInArrow``, on the group's rows in doc order; its row numbers are
   mapped back to docs (an increasing map, so ``left < right`` still holds).

Per outlet rather than collected to the driver: the rows of the re-sending
outlets are the night's wire output, the bulk of a corpus of wires, and a
group holds one outlet's titles only. The cost is one shuffle of some 100
bytes (doc, outlet, title, time) per article of those outlets, and one task
per outlet (the largest wire's night is the largest task; the headline-word
join inside is the local engine's). The pairs themselves are few.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dedup.config import ClusterConfig
from dedup.resend import is_resend, resend_candidates

OUTLETS_DDL = "outlet string, marked boolean"
_OUTLETS = pa.schema([("outlet", pa.string()), ("marked", pa.bool_())])
PAIRS_DDL = "left long, right long"
_PAIRS = pa.schema([("left", pa.int64()), ("right", pa.int64())])


def marked_outlets_fn() -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """(outlet, title) -> one (outlet, marked) row per outlet of the batch: did it mark a re-send."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            marked: dict[str, bool] = {}
            for outlet, title in zip(batch.column("outlet").to_pylist(), batch.column("title").to_pylist()):
                marked[outlet] = marked.get(outlet, False) or is_resend(title)
            yield pa.RecordBatch.from_pydict({"outlet": list(marked), "marked": list(marked.values())},
                                             schema=_OUTLETS)
    return run


def resend_pairs_fn(config: ClusterConfig) -> Callable[[pa.Table], pa.Table]:
    """One outlet's (doc, outlet, title, published) -> its CANDIDATES as (left, right) docs."""

    def run(table: pa.Table) -> pa.Table:
        rows = pl.from_arrow(table.select(["doc", "outlet", "title", "published"])).sort("doc")
        pairs = resend_candidates(rows, config=config)
        docs = rows["doc"].to_numpy()
        return pa.table({"left": docs[pairs["left"].to_numpy()].astype(np.int64),
                         "right": docs[pairs["right"].to_numpy()].astype(np.int64)}, schema=_PAIRS)
    return run


def resend_pairs(spark: SparkSession, articles: DataFrame, config: ClusterConfig) -> DataFrame | None:
    """ARTICLES (with ``doc``) -> re-send pairs (left, right) as the local engine finds them; None if none."""
    if config.resend_max_days <= 0:
        return None
    dated = articles.where(F.col("outlet").isNotNull() & F.col("published").isNotNull())
    found = (dated.select("outlet", "title").mapInArrow(marked_outlets_fn(), OUTLETS_DDL)
             .groupBy("outlet").agg(F.max("marked").alias("marked")).toArrow())
    outlets = pl.from_arrow(found).with_columns(key=pl.col("outlet").str.to_lowercase())  # type: ignore[union-attr]
    outlets = outlets.filter(pl.col("key").is_in(outlets.filter(pl.col("marked"))["key"].implode()))
    if outlets.height == 0:
        return None
    keys = spark.createDataFrame(outlets.select("outlet", "key").rows(), "outlet string, key string")
    return (dated.join(F.broadcast(keys), "outlet").select("key", "doc", "outlet", "title", "published")
            .groupBy("key").applyInArrow(resend_pairs_fn(config), PAIRS_DDL))
