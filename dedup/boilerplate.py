"""Per-outlet boilerplate: shingles an outlet repeats across its own articles.

Bylines, "Read more" lines, newsletter prompts, "About us" paragraphs and
disclaimers recur in many articles *of one outlet*, whatever the story. Left
in, they glue that outlet's unrelated articles together. A shingle that
occurs in at least ``boilerplate_min_docs`` articles of the same outlet is
removed from that outlet's articles (and only theirs).

Shingles are never dropped for being frequent *across* outlets: a wire story
carried by 200 outlets is 200 articles sharing the same shingles, each from a
different outlet, and that is exactly what must be found. An outlet that runs
the same story several times (updates) keeps it as long as it does so fewer
than ``boilerplate_min_docs`` times. Articles with no outlet are never
filtered.
"""

from __future__ import annotations

import polars as pl

from dedup.schema import SHINGLES, conform


def remove_boilerplate(shingles: pl.DataFrame, outlets: pl.Series, *, min_docs: int) -> pl.DataFrame:
    """SHINGLES -> SHINGLES with each outlet's boilerplate shingles removed. Stateless.

    ``outlets`` is aligned with ``shingles`` (the ARTICLES ``outlet`` column).
    ``min_docs=0`` returns the input unchanged.
    """
    if min_docs == 0 or shingles.height == 0:
        return shingles
    frame = shingles.with_columns(outlet=outlets.alias("outlet"))
    exploded = (frame.filter(pl.col("outlet").is_not_null())
                .select("doc", "outlet", pl.col("shingles").alias("h"))
                .explode("h").drop_nulls("h"))
    common = (exploded.group_by("outlet", "h").agg(pl.len().alias("n"))
              .filter(pl.col("n") >= min_docs).select("outlet", "h"))
    if common.height == 0:
        return shingles
    flagged = exploded.join(common, on=["outlet", "h"], how="semi")
    removed = flagged.group_by("doc").agg(pl.col("h").alias("drop"))
    out = (frame.join(removed, on="doc", how="left")
           .with_columns(
               shingles=pl.when(pl.col("drop").is_null()).then(pl.col("shingles"))
               .otherwise(pl.col("shingles").list.set_difference(pl.col("drop")).list.sort()),
               n_boilerplate=pl.col("drop").list.len().fill_null(0).cast(pl.UInt32),
           )
           .sort("doc"))
    return conform(out, SHINGLES, "boilerplate")
