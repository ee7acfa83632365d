"""The local stage functions, wrapped to run on Arrow batches inside Spark.

Each ``*_fn`` returns a function for ``DataFrame.mapInArrow`` (an iterator of
``pyarrow.RecordBatch`` in, an iterator out) or for
``GroupedData.applyInArrow`` (a ``pyarrow.Table`` in, a table out). Inside,
they call the same functions the local engine calls:

==================  ====================================================  =========================
stage               local function                                        Spark unit of work
==================  ====================================================  =========================
shingle             :func:`dedup.shingle.shingle_texts`                   a batch of articles
boilerplate         :func:`dedup.boilerplate._run_mask` (per article)     a batch of articles
minhash + bands     :func:`dedup.minhash.sign_flat`, LSH band keys        a batch of articles
lsh (small buckets) :func:`dedup.lsh._bucket_pairs`                       a batch of buckets
resend [#]_         :func:`dedup.resend.resend_candidates`                an outlet that re-sent something
verify              :func:`dedup.cluster.verify`                          a batch of candidate pairs
cluster             :func:`dedup.cluster.build_clusters`                  a shard of whole components
align               :func:`dedup.align.align_clusters`                    a shard of whole clusters
==================  ====================================================  =========================

.. [#] its UDFs, and the steps that pick the outlets, are in :mod:`dedup.spark.resend`.

Spark has no unsigned integers: 32-bit shingle hashes travel as ``int`` (the
same bits) and 64-bit band keys as ``long``; every function views them back as
``uint32``/``uint64`` before use, so sorted sets stay sorted the way the local
engine sorts them.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from dedup.align import AlignResult, Furniture, align_clusters
from dedup.align.core import identity_key
from dedup.align.sentences import split_sentences
from dedup.align.tfidf import IdfModel
from dedup.boilerplate import _run_mask, set_keys
from dedup.cluster import build_clusters, verify
from dedup.config import Config
from dedup.lsh import _MIX, LshStats, _bucket_pairs, banding
from dedup.minhash import sign_flat
from dedup.schema import CANDIDATES, CLUSTERS, LINKS, SENTENCES, list_series
from dedup.sentence_match import SentenceMatcher
from dedup.shingle import shingle_texts

Batches = Iterator[pa.RecordBatch]

# -- Arrow helpers ----------------------------------------------------------------------------------


def _lists(column: pa.Array | pa.ChunkedArray, dtype=np.uint32) -> tuple[np.ndarray, np.ndarray]:
    """A list column as (flat values viewed as ``dtype``, offsets starting at 0). Nulls are empty lists."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    view = {np.uint32: np.int32, np.uint64: np.int64}.get(dtype)
    flat = flat.astype(view, copy=False).view(dtype) if view else flat
    return flat, offsets


def _split(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def _list_array(arrays: list[np.ndarray], value_type=pa.int32()) -> pa.Array:
    """Arrays of uint32 (or uint64) as an Arrow list of int32 (or int64), same bits."""
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    signed = {pa.int32(): (np.uint32, np.int32), pa.int64(): (np.uint64, np.int64)}[value_type]
    flat = (np.concatenate(arrays).astype(signed[0], copy=False) if arrays else np.empty(0, signed[0]))
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat.view(signed[1]), type=value_type))


def _to_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """A polars frame as an Arrow table of exactly ``schema`` (Spark's types: no unsigned, no views)."""
    table = frame.select(schema.names).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(schema)


# -- shingle + boilerplate --------------------------------------------------------------------------

SHINGLE_DDL = "doc long, outlet string, shingles array<int>, sequence array<int>, text long"
_SHINGLE_SCHEMA = pa.schema([("doc", pa.int64()), ("outlet", pa.string()), ("shingles", pa.list_(pa.int32())),
                             ("sequence", pa.list_(pa.int32())), ("text", pa.int64())])


def shingle_fn(config: Config) -> Callable[[Batches], Batches]:
    """(doc, outlet, text) -> (doc, outlet, shingles, sequence, text): :func:`dedup.shingle.shingle_texts` per
    batch; ``text`` is the set's :func:`dedup.boilerplate.set_keys` key (an outlet's copies count once)."""
    shingle_config = config.shingle

    def run(batches: Batches) -> Batches:
        for batch in batches:
            shingles, _counts, sequences = shingle_texts(batch.column("text").to_pylist(), shingle_config)
            offsets = np.zeros(len(shingles) + 1, dtype=np.int64)
            np.cumsum([len(s) for s in shingles], out=offsets[1:])
            values = np.concatenate(shingles) if shingles else np.empty(0, np.uint32)
            keys = set_keys(values, offsets).view(np.int64)
            yield pa.RecordBatch.from_arrays(
                [batch.column("doc"), batch.column("outlet"), _list_array(shingles), _list_array(sequences),
                 pa.array(keys, type=pa.int64())],
                schema=_SHINGLE_SCHEMA)
    return run


def strip_runs(sequence: np.ndarray, current: np.ndarray, frequent: np.ndarray, min_run: int
               ) -> tuple[np.ndarray, int]:
    """One article's shingle set without the outlet-frequent shingles that lie in runs of ``min_run``.

    The per-article body of :func:`dedup.boilerplate.remove_boilerplate`
    (``sequence``: hashes in text order; ``current``: the sorted distinct set;
    ``frequent``: the article's shingles frequent for its outlet). Stateless.
    """
    in_run = _run_mask(np.isin(sequence, frequent), min_run)
    if not in_run.any():
        return current, 0
    drop = np.unique(sequence[in_run])
    kept = np.setdiff1d(current, drop, assume_unique=True)
    return kept, len(current) - len(kept)


BOILERPLATE_DDL = "doc long, shingles array<int>, n_boilerplate long"
_BOILERPLATE_SCHEMA = pa.schema([("doc", pa.int64()), ("shingles", pa.list_(pa.int32())),
                                 ("n_boilerplate", pa.int64())])


def boilerplate_fn(min_run: int) -> Callable[[Batches], Batches]:
    """(doc, shingles, sequence, frequent) -> (doc, shingles, n_boilerplate)."""

    def run(batches: Batches) -> Batches:
        for batch in batches:
            sets = _split(*_lists(batch.column("shingles")))
            seqs = _split(*_lists(batch.column("sequence")))
            frequent = batch.column("frequent")
            freq = _split(*_lists(frequent))
            has = np.asarray(frequent.is_valid())
            removed = np.zeros(len(sets), dtype=np.int64)
            for i in np.flatnonzero(has).tolist():
                sets[i], removed[i] = strip_runs(seqs[i], sets[i], freq[i], min_run)
            yield pa.RecordBatch.from_arrays([batch.column("doc"), _list_array(sets), pa.array(removed)],
                                             schema=_BOILERPLATE_SCHEMA)
    return run


# -- minhash + LSH ----------------------------------------------------------------------------------

BANDS_DDL = "band int, key long, doc long"
_BANDS_SCHEMA = pa.schema([("band", pa.int32()), ("key", pa.int64()), ("doc", pa.int64())])


def band_keys(matrix: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(bands, n) uint64 keys: equal keys in a band = identical band (as in :func:`dedup.lsh.candidates`)."""
    out = np.empty((bands, len(matrix)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            key = np.full(len(matrix), np.uint64(band + 1) * _MIX, dtype=np.uint64)
            for col in range(band * rows, (band + 1) * rows):
                key = (key ^ matrix[:, col].astype(np.uint64)) * _MIX
                key ^= key >> np.uint64(31)
            out[band] = key
    return out


def bands_fn(config: Config) -> Callable[[Batches], Batches]:
    """(doc, shingles) -> one (band, key, doc) row per band: signatures by :func:`dedup.minhash.sign_flat`."""
    mh = config.minhash
    bands, rows = banding(mh)

    def run(batches: Batches) -> Batches:
        for batch in batches:
            values, offsets = _lists(batch.column("shingles"))
            matrix = sign_flat(values, offsets, num_perm=mh.num_perm, seed=mh.seed)
            keys = band_keys(matrix, bands, rows)
            docs = batch.column("doc").to_numpy()
            n = len(docs)
            yield pa.RecordBatch.from_arrays([
                pa.array(np.repeat(np.arange(bands, dtype=np.int32), n)),
                pa.array(keys.ravel().view(np.int64)),
                pa.array(np.tile(docs, bands)),
            ], schema=_BANDS_SCHEMA)
    return run


PAIRS_DDL = "left long, right long"
_PAIRS_SCHEMA = pa.schema([("left", pa.int64()), ("right", pa.int64())])


def bucket_pairs_fn(max_bucket: int) -> Callable[[Batches], Batches]:
    """(members: sorted docs of one bucket) -> all (left, right) pairs, by :func:`dedup.lsh._bucket_pairs`."""

    def run(batches: Batches) -> Batches:
        for batch in batches:
            docs, offsets = _lists(batch.column("members"), dtype=np.int64)
            sizes = np.diff(offsets)
            out = _bucket_pairs(docs, offsets[:-1], sizes, max_bucket, LshStats(0, 0)) if len(sizes) else []
            both = np.concatenate(out) if out else np.empty((0, 2), dtype=np.int64)
            yield pa.RecordBatch.from_arrays([pa.array(both[:, 0].astype(np.int64)),
                                              pa.array(both[:, 1].astype(np.int64))], schema=_PAIRS_SCHEMA)
    return run


# -- verify -----------------------------------------------------------------------------------------

VERIFY_DDL = ("left long, right long, overlap long, jaccard double, containment double, accepted boolean, "
              "resend boolean")
_VERIFY_SCHEMA = pa.schema([("left", pa.int64()), ("right", pa.int64()), ("overlap", pa.int64()),
                            ("jaccard", pa.float64()), ("containment", pa.float64()), ("accepted", pa.bool_()),
                            ("resend", pa.bool_())])


def verify_fn(config: Config) -> Callable[[Batches], Batches]:
    """(left, right, resend, left_set, right_set) -> PAIRS rows and ``resend``, by :func:`dedup.cluster.verify`.

    ``resend`` marks the re-send pairs (:mod:`dedup.spark.resend`), handed to
    ``verify`` as its ``resends``, so it accepts them at ``resend_min_containment``.
    """
    cluster_config = config.cluster

    def run(batches: Batches) -> Batches:
        for batch in batches:
            n = batch.num_rows
            lefts = _split(*_lists(batch.column("left_set")))
            rights = _split(*_lists(batch.column("right_set")))
            sets = [s for pair in zip(lefts, rights) for s in pair]
            local = pl.DataFrame({"left": np.arange(0, 2 * n, 2, dtype=np.uint32),
                                  "right": np.arange(1, 2 * n, 2, dtype=np.uint32)}, schema=CANDIDATES)
            resend = pl.Series(batch.column("resend").to_numpy(zero_copy_only=False), dtype=pl.Boolean)
            pairs = verify(local, sets, config=cluster_config, resends=local.filter(resend))
            pairs = pairs.with_columns(left=pl.Series(batch.column("left").to_numpy()),
                                       right=pl.Series(batch.column("right").to_numpy()), resend=resend)
            yield from _to_arrow(pairs, _VERIFY_SCHEMA).to_batches()
    return run


SENTENCE_TEXTS_DDL = "text string"
_SENTENCE_TEXTS = pa.schema([("text", pa.string())])


def sentence_texts_fn(config: Config) -> Callable[[Batches], Batches]:
    """(text) -> one row per sentence text: what :meth:`SentenceMatcher.fit` fits its IDF on (once each)."""
    splitter = config.align.splitter

    def run(batches: Batches) -> Batches:
        for batch in batches:
            out = [t[a:b] for t in batch.column("text").to_pylist() for a, b in split_sentences(t, splitter=splitter)]
            yield pa.RecordBatch.from_pydict({"text": out}, schema=_SENTENCE_TEXTS)
    return run


SHARE_DDL = "left long, right long, sentence_share double, facts_agree double"
_SHARE_SCHEMA = pa.schema([("left", pa.int64()), ("right", pa.int64()), ("sentence_share", pa.float64()),
                           ("facts_agree", pa.float64())])


def _matcher(texts: dict[int, str], idf: IdfModel, align) -> SentenceMatcher:
    """A :class:`SentenceMatcher` fitted on ``texts`` but with the night's IDF (see the module docstring)."""
    return SentenceMatcher(align).fit(texts, idf=idf)


def share_fn(config: Config, idf_broadcast, token: str) -> Callable[[Batches], Batches]:
    """Borderline pairs (left, right, left_text, right_text) -> sentence containment and facts agreement.

    :meth:`SentenceMatcher.share` and :meth:`SentenceMatcher.facts_agree`, with
    the IDF the local engine fits on the distinct sentences of every article
    in a borderline pair (``idf_broadcast``: the summed per-partition counts).
    """
    align = config.align

    def run(batches: Batches) -> Batches:
        idf = _cached_idf(idf_broadcast, token, config)
        for batch in batches:
            left, right = batch.column("left").to_pylist(), batch.column("right").to_pylist()
            texts = dict(zip(left, batch.column("left_text").to_pylist()))
            texts.update(zip(right, batch.column("right_text").to_pylist()))
            matcher = _matcher(texts, idf, align)
            share = [matcher.share(i, j) for i, j in zip(left, right)]
            agree = [matcher.facts_agree(i, j) for i, j in zip(left, right)]
            yield pa.RecordBatch.from_arrays([batch.column("left"), batch.column("right"),
                                              pa.array(share, type=pa.float64()), pa.array(agree, type=pa.float64())],
                                             schema=_SHARE_SCHEMA)
    return run


# -- clusters ---------------------------------------------------------------------------------------

CLUSTERS_DDL = ("article_id string, outlet string, title string, published timestamp, url string, "
                "source_file string, source_record long, cluster_id string, cluster_size long, n_outlets long, "
                "is_canonical boolean, canonical_id string, similarity double, jaccard double, n_shingles long, "
                "n_boilerplate long, note string")
CLUSTERS_ARROW = pa.schema([
    ("article_id", pa.string()), ("outlet", pa.string()), ("title", pa.string()),
    ("published", pa.timestamp("us", tz="UTC")), ("url", pa.string()), ("source_file", pa.string()),
    ("source_record", pa.int64()), ("cluster_id", pa.string()), ("cluster_size", pa.int64()),
    ("n_outlets", pa.int64()), ("is_canonical", pa.bool_()),
    ("canonical_id", pa.string()), ("similarity", pa.float64()), ("jaccard", pa.float64()),
    ("n_shingles", pa.int64()), ("n_boilerplate", pa.int64()), ("note", pa.string()),
])
assert CLUSTERS_ARROW.names == list(CLUSTERS.names())  # noqa: S101 - a module invariant, not a data check
SHARD_DDL = CLUSTERS_DDL + ", _splits long"
_SHARD_ARROW = CLUSTERS_ARROW.append(pa.field("_splits", pa.int64()))

#: Columns of the member rows handed to :func:`clusters_fn` (sorted by doc inside).
MEMBER_COLUMNS = ["doc", "article_id", "outlet", "title", "published", "url", "source_file", "source_record", "length",
                  "shingles", "n_boilerplate"]
#: Columns of the accepted-edge rows (containment: build_clusters lets sentence-rescued pairs pass the guard;
#: resend: it keeps a re-send with the item it re-sends).
EDGE_COLUMNS = ["left", "right", "containment", "resend"]


def _cluster(members: pl.DataFrame, sets: pl.Series, left: np.ndarray, right: np.ndarray,
             containment: np.ndarray, resend: np.ndarray, config: Config) -> tuple[pl.DataFrame, int]:
    """:func:`dedup.cluster.build_clusters` over some whole components, docs renumbered 0..m-1 in doc order.

    ``sets``: the members' shingle sets as a ``List(UInt32)`` series (:func:`dedup.schema.list_series`: polars
    makes a list of arrays all of one length a fixed-size ``Array`` series, which build_clusters cannot read)."""
    order = np.argsort(members["doc"].to_numpy(), kind="stable")
    members = members[order]
    docs = members["doc"].to_numpy()
    # build_clusters reads the text only for its length (canonical preference: longest text);
    # a string of the same number of characters gives the same order without shipping the text.
    lengths = members["length"].to_list()
    articles = members.select("article_id", "outlet", "title", "published", "url", "source_file",
                              "source_record").with_columns(
        text=pl.Series([" " * (n or 0) for n in lengths], dtype=pl.String))
    shingles = pl.DataFrame({"shingles": sets.gather(order),
                             "n_boilerplate": members["n_boilerplate"].cast(pl.UInt32)})
    pairs = pl.DataFrame({"left": np.searchsorted(docs, left).astype(np.uint32),
                          "right": np.searchsorted(docs, right).astype(np.uint32),
                          "containment": containment.astype(np.float64),
                          "accepted": np.ones(len(left), dtype=bool)})
    resends = pairs.filter(pl.Series(resend, dtype=pl.Boolean)).select("left", "right")
    frame, stats = build_clusters(articles, shingles, pairs, config=config.cluster, shingle_config=config.shingle,
                                  resends=resends)
    return frame, stats.splits


def _member_frame(table: pa.Table | pa.RecordBatch) -> pl.DataFrame:
    return pl.from_arrow(table.select([c for c in MEMBER_COLUMNS if c != "shingles"]))  # type: ignore[arg-type]


def clusters_fn(config: Config) -> Callable[[pa.Table], pa.Table]:
    """A shard of whole components (member rows + accepted edge rows) -> CLUSTERS rows and the split count."""

    def run(table: pa.Table) -> pa.Table:
        is_member = pc.equal(table.column("kind"), "member")
        members = table.filter(is_member)
        edges = table.filter(pc.invert(is_member))
        frame, splits = _cluster(_member_frame(members), list_series(*_lists(members.column("shingles"))),
                                 edges.column("left").to_numpy(), edges.column("right").to_numpy(),
                                 edges.column("containment").to_numpy(),
                                 edges.column("resend").to_numpy(zero_copy_only=False), config)
        counts = np.zeros(frame.height, dtype=np.int64)
        counts[:1] = splits  # once per shard; the engine sums the column
        frame = frame.with_columns(_splits=pl.Series(counts))
        return _to_arrow(frame, _SHARD_ARROW)
    return run


def singletons_fn(config: Config) -> Callable[[Batches], Batches]:
    """Member rows of articles in no verified pair -> their CLUSTERS rows (build_clusters with no pairs)."""

    def run(batches: Batches) -> Batches:
        empty = np.empty(0, dtype=np.int64)
        for batch in batches:
            frame, _ = _cluster(_member_frame(batch), list_series(*_lists(batch.column("shingles"))), empty, empty,
                                empty.astype(np.float64), empty.astype(bool), config)
            yield from _to_arrow(frame, CLUSTERS_ARROW).to_batches()
    return run


# -- IDF and alignment ------------------------------------------------------------------------------

SENTENCE_KEYS_DDL = "key string, article_id string, pos int, text string"
_SENTENCE_KEYS = pa.schema([("key", pa.string()), ("article_id", pa.string()), ("pos", pa.int32()),
                            ("text", pa.string())])


def sentence_keys_fn(config: Config) -> Callable[[Batches], Batches]:
    """(article_id, text) -> one row per sentence with its identity key, as :func:`dedup.align.fit_idf` reads them."""
    splitter = config.align.splitter

    def run(batches: Batches) -> Batches:
        for batch in batches:
            cols: dict[str, list] = {"key": [], "article_id": [], "pos": [], "text": []}
            for article_id, text in zip(batch.column("article_id").to_pylist(), batch.column("text").to_pylist()):
                text = text or ""
                for pos, (a, b) in enumerate(split_sentences(text, splitter=splitter)):
                    cols["key"].append(identity_key(text[a:b]))
                    cols["article_id"].append(article_id)
                    cols["pos"].append(pos)
                    cols["text"].append(text[a:b])
            yield pa.RecordBatch.from_pydict(cols, schema=_SENTENCE_KEYS)
    return run


IDF_DDL = "bucket long, df long"
_IDF_SCHEMA = pa.schema([("bucket", pa.int64()), ("df", pa.int64())])


def idf_counts_fn(config: Config) -> Callable[[Batches], Batches]:
    """Distinct sentences -> (bucket, df) of one partition, plus (-1, n_sentences): :meth:`IdfModel.fit`.

    Document frequencies add up (:meth:`IdfModel.merge`), so summing the
    partitions' counts gives the model :func:`dedup.align.fit_idf` fits on the
    whole night.
    """
    align = config.align

    def run(batches: Batches) -> Batches:
        texts = (t for batch in batches for t in batch.column("text").to_pylist())
        model = IdfModel(features=align.features, n_features=align.n_features).fit(texts)
        frame = model.to_frame()
        yield pa.RecordBatch.from_arrays([pa.array(frame["bucket"].to_numpy()), pa.array(frame["df"].to_numpy())],
                                         schema=_IDF_SCHEMA)
    return run


_IDF_CACHE: dict[str, IdfModel] = {}


def _cached_idf(idf_broadcast, token: str, config: Config) -> IdfModel:
    """The IDF model held by a broadcast of (bucket, df) arrays, built once per Python worker."""
    model = _IDF_CACHE.get(token)
    if model is None:
        buckets, df = idf_broadcast.value
        model = idf_model(pl.DataFrame({"bucket": buckets, "df": df}), config)
        if len(_IDF_CACHE) > 4:
            _IDF_CACHE.clear()
        _IDF_CACHE[token] = model
    return model


def idf_model(frame: pl.DataFrame, config: Config) -> IdfModel:
    """The night's IDF from the summed (bucket, df) rows (an empty night: no sentences)."""
    align = config.align
    if frame.height == 0:
        return IdfModel(features=align.features, n_features=align.n_features).fit([])
    return IdfModel.from_frame(frame, features=align.features, n_features=align.n_features)


ALIGN_ARROW = pa.schema([
    ("kind", pa.string()),  # sentence | link | failure
    ("cluster_id", pa.string()), ("article_id", pa.string()), ("outlet", pa.string()), ("status", pa.string()),
    ("position", pa.int32()), ("text", pa.string()), ("canonical_position", pa.int32()),
    ("similarity", pa.float64()), ("family_id", pa.int32()), ("char_start", pa.int32()),
    ("char_end", pa.int32()),
    ("word_diff", pa.list_(pa.struct([("op", pa.string()), ("text", pa.string())]))),
    ("first_article_id", pa.string()), ("first_outlet", pa.string()), ("n_sentences", pa.int32()),
    ("reason", pa.string()), ("message", pa.string()),
])
ALIGN_DDL = ("kind string, cluster_id string, article_id string, outlet string, status string, position int, "
             "text string, canonical_position int, similarity double, family_id int, char_start int, "
             "char_end int, word_diff array<struct<op:string,text:string>>, first_article_id string, "
             "first_outlet string, n_sentences int, reason string, message string")
assert set(SENTENCES.names()) <= set(ALIGN_ARROW.names) and set(LINKS.names()) <= set(ALIGN_ARROW.names)  # noqa: S101


def align_fn(config: Config, idf_broadcast, token: str, furniture: Furniture = frozenset()
             ) -> Callable[[pa.Table], pa.Table]:
    """A shard of whole clusters (members with text) -> SENTENCES, LINKS and failure rows, by align_clusters.

    ``idf_broadcast`` holds the night's (bucket, df) arrays; ``token`` names
    them, so each Python worker builds the model once per run. ``furniture``:
    the night's (outlet, identity key) pairs (:attr:`dedup.align.AlignResult.furniture`).
    """
    align = config.align

    def run(table: pa.Table) -> pa.Table:
        model = _cached_idf(idf_broadcast, token, config)
        rows = pl.from_arrow(table)
        clusters = rows.select("cluster_id", "article_id", "outlet", "published", "is_canonical", "cluster_size")
        articles = rows.select("article_id", "text")
        result: AlignResult = align_clusters(articles, clusters, config=align, idf=model, furniture=furniture)
        parts = [result.sentences.with_columns(kind=pl.lit("sentence")),
                 result.links.with_columns(kind=pl.lit("link")),
                 result.failures.with_columns(kind=pl.lit("failure"))]
        frame = pl.concat(parts, how="diagonal_relaxed")
        for name in ALIGN_ARROW.names:
            if name not in frame.columns:
                frame = frame.with_columns(pl.lit(None).alias(name))
        return _to_arrow(frame, ALIGN_ARROW)
    return run
