"""The polars schemas of every stage boundary.

The pipeline is a one-way chain of functions over frames::

    files --read--> ARTICLES (+ REJECTS)
          --shingle--> SHINGLES
          --minhash--> SIGNATURES
          --lsh--> CANDIDATES
          --cluster (verify, components, canonical)--> PAIRS, CLUSTERS
          --align--> SENTENCES, LINKS
          --report--> report.html, summary.json

Stages exchange only these frames (Arrow underneath), never library objects,
so that the same stage functions can run in-process or inside a distributed
engine. Internally, articles are addressed by ``doc``: their row number in the
ARTICLES frame, which :func:`dedup.io.read_inputs` sorts by ``article_id``.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from dedup.errors import DedupError

UTC_TIME = pl.Datetime("us", "UTC")

ARTICLES = pl.Schema({
    "article_id": pl.String,
    "outlet": pl.String,        # null when neither the record nor its URL names one
    "title": pl.String,
    "text": pl.String,
    "published": UTC_TIME,      # null when unknown
    "url": pl.String,
    "source_file": pl.String,   # where the record came from...
    "source_record": pl.Int64,  # ...1-based line (JSONL/CSV) or record number (JSON/Parquet)
})

REJECTS = pl.Schema({
    "file": pl.String,
    "record": pl.Int64,         # null when the whole file was rejected
    "article_id": pl.String,
    "reason": pl.String,        # a stable code, e.g. "malformed_json"; counted in summary.json
    "message": pl.String,       # a sentence for humans
})

SHINGLES = pl.Schema({
    "doc": pl.UInt32,
    "shingles": pl.List(pl.UInt32),   # sorted, distinct 32-bit shingle hashes, boilerplate removed
    "sequence": pl.List(pl.UInt32),   # the same hashes in text order, with repeats (for boilerplate runs);
                                      # null once the boilerplate stage has used it
    "n_tokens": pl.UInt32,
    "n_boilerplate": pl.UInt32,       # shingles removed as the outlet's boilerplate
})


def signatures_schema(num_perm: int) -> pl.Schema:
    return pl.Schema({"doc": pl.UInt32, "signature": pl.Array(pl.UInt32, num_perm)})


CANDIDATES = pl.Schema({"left": pl.UInt32, "right": pl.UInt32})  # left < right, distinct

PAIRS = pl.Schema({
    "left": pl.UInt32,
    "right": pl.UInt32,
    "overlap": pl.UInt32,        # shared shingles
    "jaccard": pl.Float64,
    "containment": pl.Float64,   # overlap / shingles of the smaller article
    "sentence_share": pl.Float64,  # sentence containment, measured for borderline pairs only (else null)
    "accepted": pl.Boolean,
})

CLUSTERS = pl.Schema({
    "article_id": pl.String,
    "outlet": pl.String,
    "title": pl.String,
    "published": UTC_TIME,
    "url": pl.String,
    "source_file": pl.String,    # the input file and record it was read from (ARTICLES); a prior article of
    "source_record": pl.Int64,   # a nightly state: "state:night=<its night>" and null
    "cluster_id": pl.String,
    "cluster_size": pl.UInt32,
    "n_outlets": pl.UInt32,
    "is_canonical": pl.Boolean,
    "canonical_id": pl.String,
    "similarity": pl.Float64,    # containment with the canonical version (1.0 for the canonical)
    "jaccard": pl.Float64,       # Jaccard with the canonical version
    "n_shingles": pl.UInt32,
    "n_boilerplate": pl.UInt32,
    "note": pl.String,           # why an article is alone or was split off, else null
})

# Columns a run with a nightly state (``run(..., state_dir=...)``) adds to CLUSTERS; there
# ``cluster_id`` is the stable story id (see dedup.state). Standalone runs write CLUSTERS alone.
STORY_HISTORY = pl.Schema({
    "first_seen_night": pl.Date,       # the first night this article id was read
    "is_new": pl.Boolean,              # read tonight (false: a prior article of a story tonight touches)
    "story_status": pl.String,         # new | grew | updated | unchanged | split (see dedup.state.stories)
    "merged_from": pl.List(pl.String),  # story ids merged into this one tonight; null if none
})

CLUSTERS_WITH_HISTORY = pl.Schema({**CLUSTERS, **STORY_HISTORY})

WORD_DIFF = pl.List(pl.Struct({"op": pl.String, "text": pl.String}))  # op: "=", "+", "-"

SENTENCES = pl.Schema({
    "cluster_id": pl.String,
    "article_id": pl.String,
    "outlet": pl.String,
    "status": pl.String,              # kept | edited | added | dropped
    "position": pl.Int32,             # order in the article (dropped: order in the canonical)
    "text": pl.String,
    "canonical_position": pl.Int32,   # null for added
    "similarity": pl.Float64,         # cosine with the aligned canonical sentence
    "family_id": pl.Int32,            # sentence family within the cluster
    "char_start": pl.Int32,           # span in the article's text (dropped: in the canonical's text)
    "char_end": pl.Int32,
    "word_diff": WORD_DIFF,           # edited only, against the canonical sentence
})

LINKS = pl.Schema({
    "cluster_id": pl.String,
    "family_id": pl.Int32,
    "first_article_id": pl.String,    # earliest carrier of material the canonical lacks
    "first_outlet": pl.String,
    "article_id": pl.String,          # a later carrier of the same material
    "outlet": pl.String,
    "n_sentences": pl.Int32,
})


def conform(frame: pl.DataFrame, schema: pl.Schema, stage: str) -> pl.DataFrame:
    """Return ``frame`` with exactly ``schema``'s columns, in order, or raise.

    Missing columns or columns that cannot be cast losslessly are a bug in a
    stage, never a user error, but the message still says which stage and
    column. polars' strict cast refuses overflow and failed parses only, so
    two losses are refused before it (:func:`_lossy_cast`): a float with a
    fraction cast to an integer (1.7 would become 1), and a nested column
    cast to a scalar one (a one-field struct would stay a struct). The
    checks cost nothing on a frame already of the schema: the float one
    reads a column only when its dtype is a float and the schema's an integer.
    """
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise DedupError(f"{stage}: frame lacks column(s) {missing}; has {frame.columns}")
    for name, dtype in schema.items():
        if (why := _lossy_cast(frame.get_column(name), dtype)) is not None:
            raise DedupError(f"{stage}: column {name!r} ({frame.schema[name]}) does not fit the declared "
                             f"schema ({dtype}): {why}")
    try:
        result = frame.select([pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items()])
    except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError) as exc:
        raise DedupError(f"{stage}: a column does not fit the declared schema: {exc}") from None
    if result.schema != schema:   # a cast polars makes otherwise than asked (none known once the above refuse)
        raise DedupError(f"{stage}: the frame does not fit the declared schema: {result.schema} is not {schema}")
    return result


def _lossy_cast(column: pl.Series, dtype: pl.DataType) -> str | None:
    """Why casting ``column`` to ``dtype`` would lose what it holds, or None. Only the losses polars' strict
    cast lets through; the values are read only for floats and decimals cast to integers (in a list, its items)
    and numbers cast to booleans."""
    source = column.dtype
    if source.is_nested() and not dtype.is_nested():
        return "a nested column cannot be a scalar one"
    lists = isinstance(source, (pl.List, pl.Array)) and isinstance(dtype, (pl.List, pl.Array))
    if lists and source.inner.is_float() and dtype.inner.is_integer():
        return _lossy_cast(column.explode(), dtype.inner)
    if (source.is_float() or source.is_decimal()) and dtype.is_integer() and (column != column.floor()).any():
        return "a number with a fraction would be truncated"   # NaN and infinities: refused by the strict cast
    if source.is_numeric() and dtype == pl.Boolean and not ((column == 0) | (column == 1)).drop_nulls().all():
        return "a number other than 0 and 1 cannot be a boolean"
    return None


def empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


# -- list columns as flat arrays (what the numeric kernels read and write) --------------------------


def flat_lists(column: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """A ``List(UInt32)`` column as ``(values uint32, offsets int64)``; nulls are empty lists. Stateless.

    Row ``i`` holds ``values[offsets[i]:offsets[i + 1]]``; ``offsets`` has one
    entry more than the column and starts at 0. No copy when the column is one
    chunk without nulls.
    """
    arr = column.rechunk().to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return pc.list_flatten(arr).to_numpy(zero_copy_only=False).astype(np.uint32, copy=False), offsets
    offsets = np.asarray(arr.offsets).astype(np.int64)
    values = arr.values.to_numpy(zero_copy_only=False)[offsets[0]:offsets[-1]].astype(np.uint32, copy=False)
    return values, offsets - offsets[0]


def list_series(values: np.ndarray, offsets: np.ndarray, name: str = "shingles") -> pl.Series:
    """The inverse of :func:`flat_lists`: a ``List(UInt32)`` series. Stateless."""
    arr = pa.LargeListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int64)),
                                        pa.array(np.asarray(values, dtype=np.uint32)))
    return pl.Series(name, arr, dtype=pl.List(pl.UInt32))
