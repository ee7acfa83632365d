"""What each story's detail says sentence by sentence: its canonical text and, per other article,
the entries and counts of the report's story detail (the encoding is documented in
:mod:`dedup.report.model`).

:class:`Alignment` reads the SENTENCES rows of every story as narrow columns
(ids, statuses, positions), enough for each article's counts; texts and word
diffs are read only for the stories that get a detail.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence

import polars as pl

from dedup.report.frames import check_columns, cleaned

SENTENCE_COLUMNS = ("cluster_id", "article_id", "status", "position", "text", "canonical_position",
                    "family_id", "word_diff")


#: Sentence rows whose narrow columns are sorted and counted at once: the per-article counts of a
#: night's 16 M rows are made batch by batch (whole clusters each), so that the sorts and joins of
#: the whole night are never held together (4.5 GB above the frames at a million articles).
BATCH_ROWS = 1 << 20


class Alignment:
    """The report's sentence rows: narrow columns (ids, statuses, positions) for every story; texts
    and word diffs are read only for the stories that get a detail.

    Per story, the canonical text comes from the canonical article's own rows
    when the aligner wrote them, else it is pieced together from the other
    articles' kept, dropped and edited sentences, by canonical position: for
    each position, the first row (in cluster, article, position, status
    order) of the best kind (canonical's own, then dropped, kept, edited).
    Every other article that has sentence rows gets entries (see :mod:`dedup.report.model`),
    even an empty list, and ``[kept, edited, added, dropped]`` counts.

    Each story is measured on its own rows only, so the counts of every story
    (:attr:`per_article`) are made ``BATCH_ROWS`` rows at a time when the
    rows come grouped by cluster (as the aligner writes them), and
    :meth:`details` works on the rows of the stories it is asked for. The
    result does not depend on the batches.
    """

    def __init__(self, sentences: pl.DataFrame | pl.LazyFrame, articles: pl.DataFrame):
        check_columns(sentences, SENTENCE_COLUMNS, "sentences")
        self.sentences = sentences   # a LazyFrame (a scan of sentences.parquet) is read for the details only
        self.canonical_ids = articles.group_by("cluster_id", maintain_order=True).agg(
            pl.col("article_id").first().alias("_canonical_id"))
        narrow = _narrow(sentences)
        parts = []
        for lo, hi in cluster_batches(narrow["cluster_id"], BATCH_ROWS):
            rows = _rows(narrow.slice(lo, hi - lo), self.canonical_ids)
            parts.append(_per_article(_slotted(rows, _winners(rows))))
            del rows
        del narrow
        #: one row per other article with sentence rows: cluster_id, article_id, own, kept, edited,
        #: added, dropped (the slots of its dropped canonical sentences), in cluster and article order;
        #: the counts as :func:`_per_article` makes them
        self.per_article = pl.concat(parts)

    def shares(self, articles: pl.DataFrame) -> dict[str, list[float]]:
        """Per story, each other article's share of changed sentences, in the order of ``articles``:
        (edited + added + dropped) / (the canonical's sentences + added), as :func:`_per_article` counts them."""
        changed = pl.col("edited") + pl.col("added") + pl.col("dropped").list.len()
        share = self.per_article.select(
            "cluster_id", "article_id", (changed / pl.max_horizontal(pl.col("kept") + changed, 1)).alias("share"))
        ordered = articles.select("cluster_id", "article_id").join(share, on=["cluster_id", "article_id"],
                                                                    how="inner", maintain_order="left")
        return dict(ordered.group_by("cluster_id", maintain_order=True).agg("share").iter_rows())

    def details(self, ids: list[str]) -> tuple[dict[str, list[list]], dict[str, dict[str, tuple[list, list[int]]]]]:
        """For the stories ``ids``: the canonical sentences ``[[family_id, text], ...]`` and, per other
        article, its entries with their counts."""
        sentences = self.sentences.filter(pl.col("cluster_id").is_in(ids))
        if isinstance(sentences, pl.LazyFrame):
            sentences = sentences.collect()
        chosen = pl.col("cluster_id").is_in(ids)
        rows = _rows(_narrow(sentences), self.canonical_ids.filter(chosen))
        winners = _winners(rows)
        rows = _slotted(rows, winners)
        per_article = _per_article(rows)
        picked = _texts(sentences, winners["_src"]).with_columns(winners["status"], winners["_is_canonical"],
                                                                 _has_diff())
        best = winners.select(
            "cluster_id", pl.col("_cpos").alias("canonical_position"), picked["family_id"],
            picked.select(pl.when(_from_diff()).then(_diff_text())
                          .otherwise(pl.col("text"))).to_series().alias("canonical_text"),
            "slot")
        del picked
        canon: dict[str, list[list]] = {}
        for cluster_id, family, text in best.select("cluster_id", "family_id", "canonical_text").iter_rows():
            canon.setdefault(cluster_id, []).append([family, text])
        own_rows = rows.filter(~pl.col("_is_canonical") & pl.col("status").is_in(["kept", "edited", "added"]))
        own = (_texts(sentences, own_rows["_src"])
               .with_columns(own_rows.select("cluster_id", "article_id", "status", "canonical_position", "merged"))
               .join(best.drop("family_id"), on=_ON, how="left", maintain_order="left"))
        own = _with_merges(own, best)
        flat, slots = _own_entries(own), own["slot"].to_list()
        entries: dict[str, dict[str, tuple[list, list[int]]]] = {}
        start = 0
        for cluster_id, article_id, n_own, kept, edited, added, dropped in per_article.iter_rows():
            stop = start + n_own
            merged = _merge(flat[start:stop], slots[start:stop], dropped) if dropped else flat[start:stop]
            entries.setdefault(cluster_id, {})[article_id] = (merged, [kept, edited, added, len(dropped)])
            start = stop
        return canon, entries


def cluster_batches(cluster_ids: pl.Series, size: int) -> list[tuple[int, int]]:
    """Row ranges ``(start, stop)`` of about ``size`` rows each that never cut a cluster.

    Only when the rows are sorted by cluster id; otherwise one range of every row.
    """
    n = cluster_ids.len()
    if n <= size or cluster_ids.null_count() or not cluster_ids.is_sorted():
        return [(0, n)]
    bounds = [0]
    while n - bounds[-1] > size:
        value = cluster_ids[bounds[-1] + size]
        cut = int(cluster_ids.search_sorted(value, side="left"))
        if cut <= bounds[-1]:   # one cluster longer than a batch: a batch of its own
            cut = int(cluster_ids.search_sorted(value, side="right"))
        bounds.append(cut)
    if bounds[-1] < n:
        bounds.append(n)
    return list(itertools.pairwise(bounds))


def _narrow(sentences: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The columns of every row that the counts need (no texts): at a million articles 0.6 GB of the
    rows' 3.4 GB, read from the file's columns when ``sentences`` is a scan."""
    narrow = sentences.select("cluster_id", "article_id", "status", "position", "canonical_position",
                              _has_diff(), pl.col("text").is_not_null().alias("_text_given"))
    return narrow.collect() if isinstance(narrow, pl.LazyFrame) else narrow


def _rows(narrow: pl.DataFrame, canonical_ids: pl.DataFrame) -> pl.DataFrame:
    """The rows (of :func:`_narrow`) of the stories of ``canonical_ids`` (``_src``: the row in ``narrow``),
    in cluster, article, position, status order (``_row``), each marked ``_is_canonical``. Nothing is
    cleaned: the ids are keys (see :data:`dedup.report.frames.KEYS`), the statuses are compared only."""
    return (narrow.with_row_index("_src").filter(pl.col("cluster_id").is_in(canonical_ids["cluster_id"].implode()))
            .sort(["cluster_id", "article_id", "position", "status"], nulls_last=True, maintain_order=True)
            .with_row_index("_row")
            .join(canonical_ids, on="cluster_id", how="left", maintain_order="left")
            .with_columns(pl.col("article_id").eq_missing(pl.col("_canonical_id")).alias("_is_canonical")))


def _winners(rows: pl.DataFrame) -> pl.DataFrame:
    """The winning row of each canonical position (narrow columns: texts are read for details only),
    with its ``slot`` (its order among its story's canonical sentences)."""
    status, is_canonical = pl.col("status"), pl.col("_is_canonical")
    return (rows.select(
                "cluster_id", "_row", "_src", "status", "_is_canonical",
                pl.when(is_canonical).then(pl.coalesce("canonical_position", "position"))
                .otherwise(pl.col("canonical_position")).alias("_cpos"),
                pl.when(is_canonical).then(0).when(status == "dropped").then(1)
                .when(status == "kept").then(2).when(status == "edited").then(3)
                .otherwise(None).alias("_rank"),
                (_from_diff() | pl.col("_text_given")).alias("_has_text"))
            .filter(pl.col("_cpos").is_not_null() & pl.col("_rank").is_not_null() & pl.col("_has_text"))
            .sort(["cluster_id", "_cpos", "_rank", "_row"])
            .unique(["cluster_id", "_cpos"], keep="first", maintain_order=True)
            .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over("cluster_id").alias("slot")))


def _slotted(rows: pl.DataFrame, winners: pl.DataFrame) -> pl.DataFrame:
    """``rows`` (of :func:`_rows`) with ``slot``, the slot of the canonical sentence each holds (null when
    none is known: an added sentence), and ``merged``, the slot of the canonical sentence an edited row of
    another article merges into its own (null for any other row).

    A version sentence aligned with two adjacent canonical sentences carries the first one's
    position, its word diff spells both joined by a space, and the version has no row for the
    second (README: ``canonical_position``). So an edited row whose next canonical sentence the
    version neither holds nor dropped merged it: it is shown merged, not absent, and counted edited.
    """
    status, position = pl.col("status"), pl.col("canonical_position").cast(pl.Int64)
    rows = rows.join(winners.select("cluster_id", pl.col("_cpos").alias("canonical_position"), "slot"),
                     on=_ON, how="left", maintain_order="left")
    other = ~pl.col("_is_canonical") & position.is_not_null()
    keys = ["cluster_id", "article_id", "_next"]
    held = rows.filter(other & status.is_in(["kept", "edited", "dropped"])).select(
        "cluster_id", "article_id", position.alias("_next"))
    merges = (rows.filter(other & (status == "edited") & pl.col("slot").is_not_null())
              .select("_row", "cluster_id", "article_id", (position + 1).alias("_next"))
              .join(winners.select("cluster_id", pl.col("_cpos").cast(pl.Int64).alias("_next"),
                                   pl.col("slot").alias("merged")), on=["cluster_id", "_next"], how="inner")
              .join(held, on=keys, how="anti"))
    return rows.join(merges.select("_row", "merged"), on="_row", how="left", maintain_order="left")


def _per_article(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per other article with sentence rows (of :func:`_slotted`), in the order of the rows:
    its own sentences, their counts by kind and the slots of the canonical sentences it dropped.

    The counts are of the canonical's sentences, each once, by what the article did with it: kept,
    edited (a split one counts once; one merged into the sentence before counts as edited, as that
    one does) or dropped, so that they add up to the canonical's sentence count; and of the article's
    added sentences (those holding no known canonical sentence).
    """
    status = pl.col("status")
    has_slot, is_own = pl.col("slot").is_not_null(), status.is_in(["kept", "edited", "added"])
    return (rows.select("cluster_id", "article_id", "status", "_is_canonical", "slot", "merged")
            .filter(~pl.col("_is_canonical"))
            .group_by("cluster_id", "article_id", maintain_order=True).agg(
                is_own.sum().alias("own"),
                pl.col("slot").filter(is_own & has_slot & (status == "kept")).n_unique().alias("kept"),
                (pl.col("slot").filter(is_own & has_slot & (status != "kept")).n_unique()
                 + pl.col("merged").drop_nulls().n_unique()).alias("edited"),
                (is_own & ~has_slot).sum().alias("added"),
                pl.col("slot").filter((status == "dropped") & has_slot).unique().sort()
                .alias("dropped")))


def _texts(sentences: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    return cleaned(sentences.select("family_id", "text", "word_diff")[rows])


_ON = ["cluster_id", "canonical_position"]


def _from_diff() -> pl.Expr:
    """An edited sentence of another article, with a word diff that spells the canonical sentence."""
    return ~pl.col("_is_canonical") & (pl.col("status") == "edited") & pl.col("_has_diff")


def _has_diff() -> pl.Expr:
    return (pl.col("word_diff").list.len() > 0).fill_null(False).alias("_has_diff")


def _diff_text() -> pl.Expr:
    """The canonical sentence spelled by a word diff: its "=" and "-" texts."""
    op, op_text = pl.element().struct.field("op"), pl.element().struct.field("text")
    return pl.col("word_diff").list.eval(
        pl.when(op.is_in(["=", "-"])).then(op_text.fill_null("")).otherwise(pl.lit(""))).list.join("")


def _with_merges(own: pl.DataFrame, best: pl.DataFrame) -> pl.DataFrame:
    """``own`` with the ``canonical_text`` of an edited row that merges the next canonical sentence into
    its own (``merged``, :func:`_slotted`) made the two texts joined by a space, as its word diff spells them."""
    nexts = best.select("cluster_id", pl.col("slot").alias("merged"), pl.col("canonical_text").alias("_next_text"))
    return (own.join(nexts, on=["cluster_id", "merged"], how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("merged").is_not_null())
                          .then(pl.concat_str("canonical_text", pl.lit(" "), "_next_text"))
                          .otherwise(pl.col("canonical_text")).alias("canonical_text"))
            .drop("_next_text"))


def _own_entries(own: pl.DataFrame) -> list:
    """The entry of each own (kept, edited, added) sentence row, in order.

    A sentence whose canonical position is unknown is an ``["a", family, text]``
    entry whatever its status; a kept one is its slot, or ``["k", slot, text]`` when the
    version spells it otherwise (case, quotes, spacing); any other is an edit:
    ``["e", slot, ops]`` with "=" and "-" ops as (UTF-16) lengths into the
    canonical sentence when they spell it, else ``["E", slot, [[op, text], ...]]``;
    an edit that merges the next canonical sentence into its own (:func:`_with_merges`)
    carries that one's slot last, and its ops spell both texts joined by a space.
    """
    op, op_text = pl.element().struct.field("op"), pl.element().struct.field("text").fill_null("")
    is_edit = pl.col("slot").is_not_null() & (pl.col("status") != "kept")
    ops = pl.col("word_diff").list.eval(pl.element().filter(op.is_in(["=", "+", "-"])))
    ops = (pl.when(ops.list.len() > 0).then(ops)
           .otherwise(pl.concat_list(pl.struct(pl.lit("+").alias("op"), pl.col("text").alias("text")))))
    edits = own.filter(is_edit).select(ops.alias("_ops"), "canonical_text").select(
        pl.col("_ops").list.eval(op).alias("op"),
        pl.col("_ops").list.eval(op_text).alias("text"),
        pl.col("_ops").list.eval(op_text.str.len_chars() + op_text.str.count_matches(r"[^\x{0}-\x{FFFF}]"))
        .alias("units"),  # JavaScript string length: UTF-16 code units
        (pl.col("_ops").list.eval(pl.when(op != "+").then(op_text).otherwise(pl.lit(""))).list.join("")
         == pl.col("canonical_text")).alias("spelled"))
    edit_entries = iter([
        (["e", [t if o == "+" else (n if o == "=" else -n) for o, t, n in zip(codes, texts, units) if o == "+" or n]]
         if spelled else ["E", [[o, t] for o, t in zip(codes, texts)]])
        for codes, texts, units, spelled in zip(*(edits[c].to_list() for c in edits.columns))])
    out = []
    columns = ("slot", "status", "family_id", "text", "canonical_text", "merged")
    for slot, status, family, text, canonical, merged in zip(*(own[c].to_list() for c in columns)):
        if slot is None:
            out.append(["a", family, text or ""])  # added, or aligned to a canonical sentence we do not know
        elif status == "kept":
            out.append(slot if text is None or text == canonical else ["k", slot, text])
        else:
            kind, ops_ = next(edit_entries)
            out.append([kind, slot, ops_] if merged is None else [kind, slot, ops_, merged])
    return out


def _merge(own: list, slots: list[int | None], dropped: list[int]) -> list:
    """One article's entries in its own order with its dropped canonical sentences merged in where
    :func:`dropped_after` places them."""
    after = dropped_after(slots, dropped)
    out = [-i - 1 for i in after.get(-1, ())]
    for k, entry in enumerate(own):
        out.append(entry)
        out.extend(-i - 1 for i in after.get(k, ()))
    return out


def dropped_after(held: Sequence[int | None], dropped: Iterable[int]) -> dict[int, list[int]]:
    """Where a version's dropped canonical sentences go among its own sentences: the report's rule and
    ``dedup diff``'s (:mod:`dedup.align.terminal`), so that both show a version alike.

    A dropped sentence follows the version's sentence that holds the nearest
    canonical sentence before it (its last one, for a split sentence),
    wherever the version moved that sentence; with none before it, it leads.
    So a sentence cut from the middle stays in the middle when the version
    moved the wire's last paragraph to its lead, instead of going to the top
    (before the version's first sentence holding a later one).

    ``held``: for each own sentence in order, the canonical position it holds
    (or any number in the same order, as the report's slots), None for an
    added one; ``dropped``: the dropped sentences' positions, in order.
    Returns, per own sentence index (-1: before the first), the dropped
    positions that follow it, in order. Stateless.
    """
    last = {h: k for k, h in enumerate(held) if h is not None}   # a held position's last own sentence
    below = sorted(last)
    after: dict[int, list[int]] = {}
    for gone in dropped:
        i = bisect.bisect_left(below, gone)
        after.setdefault(last[below[i - 1]] if i else -1, []).append(gone)
    return after
