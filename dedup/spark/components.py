"""Connected components in DataFrame operations: alternating large-star and small-star.

Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii, "Connected Components in
MapReduce and Beyond" (SoCC 2014). Edges are kept as ``(src, dst)`` with
``src > dst``; node ids are the ``doc`` numbers, so every component ends as a
star around its smallest doc:

* **large-star**: every node ``u`` links each *larger* neighbour to the
  smallest node of its neighbourhood (``u`` included);
* **small-star**: every node ``u`` links itself and each *smaller* neighbour
  to the smallest of them.

Both keep connectivity and never merge components; together they converge in
``O(log n)`` rounds. The loop stops when the edges form stars: every ``src``
has exactly one ``dst``, and no ``dst`` is itself a ``src``. Each round is
three aggregations and two joins, all shuffled by node: no edge list is ever
collected on the driver. Skew (a hub node with thousands of neighbours, as in
a story carried by thousands of outlets) stays cheap: ``min`` aggregations are
combined map-side, and adaptive query execution broadcasts or splits the
joins. Each round's edges are checkpointed, so the lineage (and the plan Spark
re-optimises) does not grow with the number of rounds.
"""

from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dedup.errors import DedupError

MAX_ROUNDS = 64  # 2^64 nodes; a loop still running after that is a bug


def _large_star(edges: DataFrame) -> DataFrame:
    both = (edges.select(F.col("src").alias("a"), F.col("dst").alias("b"))
            .unionByName(edges.select(F.col("dst").alias("a"), F.col("src").alias("b"))))
    low = both.groupBy("a").agg(F.min("b").alias("m")).select("a", F.least("a", "m").alias("m"))
    return (both.where(F.col("b") > F.col("a")).join(low, "a")
            .select(F.col("b").alias("src"), F.col("m").alias("dst")).distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    low = edges.groupBy("src").agg(F.min("dst").alias("m"))
    spokes = (edges.join(low, "src").where(F.col("dst") != F.col("m"))
              .select(F.col("dst").alias("src"), F.col("m").alias("dst")))
    return spokes.unionByName(low.select("src", F.col("m").alias("dst"))).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    several = edges.groupBy("src").count().where(F.col("count") > 1).limit(1).count()
    if several:
        return False
    chained = edges.select(F.col("dst").alias("src")).distinct().join(edges.select("src"), "src", "left_semi")
    return chained.limit(1).count() == 0


def connected_components(pairs: DataFrame, *, checkpoint: Callable[[DataFrame], DataFrame],
                         log: Callable[[str], None] | None = None) -> tuple[DataFrame, int]:
    """Undirected ``(left, right)`` edges -> ``(doc, component)`` for every node in an edge, and the rounds run.

    ``component`` is the smallest doc of the node's component. ``checkpoint``
    materialises a round's edges and cuts their lineage (a reliable checkpoint
    in the engine).
    """
    edges = checkpoint(pairs.select(F.greatest("left", "right").alias("src"), F.least("left", "right").alias("dst"))
                       .where(F.col("src") != F.col("dst")).distinct())
    rounds = 0
    while True:
        if rounds >= MAX_ROUNDS:
            raise DedupError(f"internal error: connected components did not converge in {MAX_ROUNDS} rounds; "
                             "please report this bug")
        rounds += 1
        edges = checkpoint(_small_star(_large_star(edges)))
        done = _is_star_forest(edges)
        if log:
            log(f"components round {rounds}: {'converged' if done else 'not yet a star forest'}")
        if done:
            break
    roots = edges.select(F.col("dst").alias("doc"), F.col("dst").alias("component")).distinct()
    return edges.select(F.col("src").alias("doc"), F.col("dst").alias("component")).unionByName(roots), rounds
