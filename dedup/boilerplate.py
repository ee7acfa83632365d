"""Per-outlet boilerplate: passages an outlet repeats across its own articles.

Bylines, "Read more" lines, newsletter prompts, "About us" paragraphs and
disclaimers recur in many articles *of one outlet*, whatever the story. Left
in, they glue that outlet's unrelated articles together. Two conditions make
a shingle boilerplate for an article:

1. it is *frequent* for the article's outlet: it occurs in at least
   ``min_docs`` of that outlet's articles, and
2. it lies in a *run* of at least ``min_run`` consecutive frequent shingles
   in the article: a recurring passage, not an outlet's house phrasing
   ("said in a statement", "pay april 15 record") scattered through real
   stories.

Boilerplate shingles are removed from that article only. Shingles are never
dropped for being frequent *across* outlets: a wire story carried by 200
outlets is 200 articles sharing the same shingles, each from a different
outlet, and that is exactly what must be found. An outlet that runs the same
story several times (updates) keeps it as long as it does so fewer than
``min_docs`` times. Articles with no outlet are never filtered.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dedup.schema import SHINGLES, conform


def _run_mask(flags: np.ndarray, min_run: int) -> np.ndarray:
    """True where ``flags`` is inside a run of at least ``min_run`` Trues."""
    if min_run <= 1:
        return flags
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    mask = np.zeros(len(flags), dtype=bool)
    for s, e in zip(starts, ends):
        if e - s >= min_run:
            mask[s:e] = True
    return mask


def remove_boilerplate(shingles: pl.DataFrame, outlets: pl.Series, *, min_docs: int, min_run: int = 1
                       ) -> pl.DataFrame:
    """SHINGLES -> SHINGLES with each outlet's boilerplate removed; ``sequence`` set to null. Stateless.

    ``outlets`` is aligned with ``shingles`` (the ARTICLES ``outlet`` column).
    ``min_docs=0`` removes nothing.
    """
    done = shingles.with_columns(sequence=pl.lit(None, dtype=pl.List(pl.UInt32)))
    if min_docs == 0 or shingles.height == 0:
        return done
    frame = shingles.select("doc", "shingles").with_columns(outlet=outlets.alias("outlet"))
    exploded = (frame.filter(pl.col("outlet").is_not_null())
                .select("doc", "outlet", pl.col("shingles").alias("h"))
                .explode("h").drop_nulls("h"))
    common = (exploded.group_by("outlet", "h").agg(pl.len().alias("n"))
              .filter(pl.col("n") >= min_docs).select("outlet", "h"))
    if common.height == 0:
        return done
    flagged = (exploded.join(common, on=["outlet", "h"], how="semi")
               .group_by("doc").agg(pl.col("h")).sort("doc"))
    docs = flagged["doc"].to_numpy()
    sequences = shingles["sequence"].to_list()
    sets = shingles["shingles"].to_list()
    new_sets = list(sets)
    removed = np.zeros(shingles.height, dtype=np.uint32)
    for doc, frequent in zip(docs.tolist(), flagged["h"].to_list()):
        seq = np.asarray(sequences[doc], dtype=np.uint32)
        in_run = _run_mask(np.isin(seq, np.asarray(frequent, dtype=np.uint32)), min_run)
        if not in_run.any():
            continue
        drop = np.unique(seq[in_run])
        current = np.asarray(sets[doc], dtype=np.uint32)
        new_sets[doc] = np.setdiff1d(current, drop, assume_unique=True).tolist()
        removed[doc] = len(current) - len(new_sets[doc])
    out = done.with_columns(
        shingles=pl.Series(new_sets, dtype=pl.List(pl.UInt32)),
        n_boilerplate=pl.Series(removed, dtype=pl.UInt32),
    )
    return conform(out, SHINGLES, "boilerplate")
