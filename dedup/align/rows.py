"""The rows the aligner writes: SENTENCES and LINKS, column by column, then as Arrow and polars frames.

A chunk of stories fills one :class:`_Rows` (in a forked worker or in
process); :meth:`_Rows.table` turns it into an Arrow table without polars,
so a worker can build it and send it back compactly, and
:func:`sentence_frame` / :func:`links_frame` give the declared frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from dedup.schema import LINKS, SENTENCES, WORD_DIFF, conform

if TYPE_CHECKING:
    from dedup.align.core import _Article


class _Rows:
    """SENTENCES rows of one or many clusters, column by column (no per-row dicts)."""

    COLUMNS = tuple(SENTENCES)

    def __init__(self):
        for name in self.COLUMNS:
            setattr(self, name, [])
        self.links: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.article_id)

    def add(self, cluster_id: str, art: _Article, status: str, position: int, text: str,
            canonical_position: int | None, similarity: float | None, family: int | None, start: int, end: int,
            diff: list[dict[str, str]] | None) -> None:
        self.cluster_id.append(cluster_id)
        self.article_id.append(art.article_id)
        self.outlet.append(art.outlet)
        self.status.append(status)
        self.position.append(position)
        self.text.append(text)
        self.canonical_position.append(canonical_position)
        self.similarity.append(similarity)
        self.family_id.append(family)
        self.char_start.append(start)
        self.char_end.append(end)
        self.word_diff.append(diff)

    def extend(self, other: "_Rows") -> None:
        for name in self.COLUMNS:
            getattr(self, name).extend(getattr(other, name))
        self.links.extend(other.links)

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(SENTENCES, LINKS), unsorted."""
        return sentence_frame([self.table()]), links_frame(self.links)

    def table(self) -> pa.Table:
        """The SENTENCES rows as an Arrow table, built without polars (so a forked worker may build it)."""
        arrays = [pa.array(getattr(self, name), type=_ARROW[name]) for name in self.COLUMNS if name != "word_diff"]
        return pa.Table.from_arrays([*arrays, word_diff_array(self.word_diff)], names=list(self.COLUMNS))


_ARROW = {"cluster_id": pa.large_string(), "article_id": pa.large_string(), "outlet": pa.large_string(),
          "status": pa.large_string(), "position": pa.int32(), "text": pa.large_string(),
          "canonical_position": pa.int32(), "similarity": pa.float64(), "family_id": pa.int32(),
          "char_start": pa.int32(), "char_end": pa.int32()}


def in_sentence_order(table: pa.Table) -> pa.Table:
    """``table``'s rows in :data:`dedup.align.SENTENCE_ORDER` (cluster, article, own rows before
    dropped ones, position; none of them is ever null), sorted with pyarrow so that a forked
    worker can sort its own part."""
    keys = pa.table({"c": table["cluster_id"], "a": table["article_id"],
                     "d": pc.equal(table["status"], "dropped"), "p": table["position"]})
    order = pc.sort_indices(keys, sort_keys=[(k, "ascending") for k in "cadp"])
    return table.take(order)


def sentence_frame(tables: list[pa.Table]) -> pl.DataFrame:
    """SENTENCES from :meth:`_Rows.table` parts, in order. Empties ``tables``.

    Each part is dropped as soon as it is converted, so the night's rows are
    held once plus one part, not twice (a million-article night's rows are
    several GB). The frame keeps one chunk per part: the writers' output
    does not depend on chunks (see :func:`dedup.io.writers.write_table`).
    """
    if not tables:
        return conform(pl.DataFrame(schema=SENTENCES), SENTENCES, "align")
    frames = []
    tables.reverse()
    while tables:
        frames.append(conform(pl.from_arrow(tables.pop()), SENTENCES, "align"))
    return pl.concat(frames, how="vertical", rechunk=False)


def links_frame(links: list[dict[str, Any]]) -> pl.DataFrame:
    return conform(pl.DataFrame(links, schema=LINKS), LINKS, "align")


def word_diff_array(diffs: list[list[dict[str, str]] | None]) -> pa.LargeListArray:
    """A ``word_diff`` column (:data:`dedup.schema.WORD_DIFF`) as Arrow, from each row's diff or ``None``.
    Stateless.

    Built from flat op and text columns and the rows' offsets: polars' own
    conversion of nested dicts costs a microsecond per element.
    """
    lengths = [0 if d is None else len(d) for d in diffs]
    offsets = np.zeros(len(diffs) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    parts = [part for d in diffs if d for part in d]
    values = pa.StructArray.from_arrays([pa.array([p["op"] for p in parts], type=pa.large_string()),
                                         pa.array([p["text"] for p in parts], type=pa.large_string())],
                                        names=["op", "text"])
    return pa.LargeListArray.from_arrays(pa.array(offsets), values,
                                         mask=pa.array([d is None for d in diffs], type=pa.bool_()))


def word_diff_series(diffs: list[list[dict[str, str]] | None]) -> pl.Series:
    """:func:`word_diff_array` as a polars Series. Stateless."""
    return pl.Series("word_diff", word_diff_array(diffs), dtype=WORD_DIFF)
