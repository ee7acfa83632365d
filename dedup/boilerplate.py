"""Per-outlet boilerplate: passages an outlet repeats across its own articles.

Bylines, "Read more" lines, newsletter prompts, "About us" paragraphs and
disclaimers recur in many articles *of one outlet*, whatever the story. Left
in, they glue that outlet's unrelated articles together. Two conditions make
a shingle boilerplate for an article:

1. it is *frequent* for the article's outlet: it occurs in at least
   ``min_docs`` of that outlet's *distinct texts* (see below), and
2. it lies in a *run* of at least ``min_run`` consecutive frequent shingles
   in the article: a recurring passage, not an outlet's house phrasing
   ("said in a statement", "pay april 15 record") scattered through real
   stories.

Distinct texts: an outlet's articles with the same shingle set (the same
text once normalised and shingled, e.g. one article a crawl found under
several section URLs or ids) are counted once. Boilerplate is what recurs
across an outlet's *different* stories; exact copies of one article are not
different stories, and counting each of them would make the whole article
its outlet's boilerplate, strip every copy to nothing and lose the story (an
outlet that carries an article 4 times would erase it). Copies are
recognised by a 64-bit hash of the shingle set (:func:`text_keys`), per
outlet. So are an outlet's re-sends of one item, which the outlet marks as
such ("UPDATE 2-", "CORRECTED -": :func:`dedup.resend.resend_followers`,
given as ``resent``): a wire that sends a story and four updates of it sends
one story. Other near-copies, under different wrappers (another breadcrumb or
related-links line) or unmarked updates, are different texts and each counts,
since at this stage they cannot be told from different short items that
share a long outlet passage, which must stay apart.

Boilerplate shingles are removed from that article only, and from each of
its copies alike. Shingles are never dropped for being frequent *across*
outlets: a wire story carried by 200 outlets is 200 articles sharing the
same shingles, each from a different outlet, and that is exactly what must be
found. An outlet that runs a story several times in different, unmarked
versions keeps it as long as it has fewer than ``min_docs`` versions.
Articles with no outlet are never filtered.

A night of a state run counts its own articles, and an outlet with few of
them a night would never reach ``min_docs`` while matching spans the window:
so an outlet with few texts tonight also counts stored texts of the window,
counted and never stripped again (:func:`dedup.state.window.window_texts`,
given to :func:`dedup.signing.sign_articles`).

Two phases, so that a corpus can be processed in batches with bounded memory:

* :func:`count_outlet_shingles` counts, for one batch, in how many distinct
  texts of each outlet each shingle occurs (an OUTLET_COUNTS frame). Counts
  of batches add up (:func:`merge_outlet_counts`) when no outlet has the same
  text in two batches, e.g. when batches hold whole outlets; the pipeline
  carries the text keys of the one outlet that goes on into the next batch
  (:func:`first_copies`'s ``seen``).
* :func:`frequent_shingles` keeps the (outlet, shingle) pairs counted in at
  least ``min_docs`` articles, and :func:`strip_boilerplate` removes, batch by
  batch, the runs of those shingles.

Counting every batch (batches as above), merging, then stripping every batch
gives exactly :func:`remove_boilerplate` on the whole corpus, which chains the
phases.
For a large corpus, :func:`count_keys` / :func:`merge_keys` count in integer
keys (``outlet code << 32 | shingle``) with no string per row, and
:func:`strip_keys` strips with those keys; this is what
:func:`dedup.signing.sign_articles` uses (:func:`frequent_frame` turns keys
back into FREQUENT).
Everything works on the flat layout of the list columns (one array of values
and one of offsets), never per article in Python: counting is two compiled
passes (the keys into one array; after an in-place sort, the distinct keys and
their run lengths compacted in place), stripping is one compiled pass over each article's sequence
(:func:`_strip_kernel`, articles split over threads), its lookups in a hash
set of the frequent pairs (:mod:`dedup.u64set`).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import polars as pl

from dedup import u64set
from dedup.schema import SHINGLES, conform, flat_lists, list_series
from dedup.shingle import parallel_ranges

#: (outlet, shingle) document frequencies of a batch; see :func:`count_outlet_shingles`.
OUTLET_COUNTS = pl.Schema({"outlet": pl.String, "shingle": pl.UInt32, "docs": pl.UInt32})
#: The (outlet, shingle) pairs that are frequent; see :func:`frequent_shingles`.
FREQUENT = pl.Schema({"outlet": pl.String, "shingle": pl.UInt32})

_NO_SEQUENCE = pl.lit(None, dtype=pl.List(pl.UInt32))


def _run_mask(flags: np.ndarray, min_run: int) -> np.ndarray:
    """True where ``flags`` is inside a run of at least ``min_run`` Trues (one article's sequence;
    the Spark engine's per-article strip; :func:`_strip_kernel` applies the same rule in its pass)."""
    flags = np.asarray(flags, dtype=bool)
    if min_run <= 1:
        return flags
    start = flags.copy()
    start[1:] &= ~flags[:-1]                           # a flagged position after an unflagged one opens a run
    run = np.cumsum(start) - 1                         # run number of every flagged position
    lengths = np.bincount(run[flags], minlength=int(run[-1]) + 1 if len(run) else 0)
    mask = np.zeros(len(flags), dtype=bool)
    mask[flags] = lengths[run[flags]] >= min_run
    return mask


def outlet_codes(outlets: pl.Series) -> tuple[np.ndarray, list[str]]:
    """Every row's outlet as a code (``-1`` for none; codes follow the sorted names) and the names by code."""
    names = outlets.drop_nulls().unique().sort()
    codes = pl.DataFrame({"outlet": outlets}).join(
        pl.DataFrame({"outlet": names, "code": np.arange(len(names), dtype=np.int64)}),
        on="outlet", how="left", maintain_order="left")["code"]
    return codes.fill_null(-1).to_numpy(), names.to_list()


def text_keys(shingles: pl.DataFrame) -> np.ndarray:
    """A 64-bit key (uint64) of every article's shingle set: equal sets give equal keys, different sets
    differ but for a 2**-64 chance. What tells an outlet's copies of one text from its different texts."""
    return set_keys(*flat_lists(shingles["shingles"]))


def set_keys(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """:func:`text_keys` of sets in the flat layout (values, offsets); the Spark engine's shingle stage."""
    return _set_keys_kernel(np.asarray(values, dtype=np.uint32), np.asarray(offsets, dtype=np.int64))


@numba.njit(cache=True, nogil=True)
def _mix(h):  # pragma: no cover - numba
    """The splitmix64 finaliser: every bit of ``h`` reaches every bit of the result."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
def _set_keys_kernel(values, offsets):  # pragma: no cover - numba
    """:func:`text_keys` over the flat layout (each set sorted and distinct, so equal sets hash alike)."""
    out = np.empty(len(offsets) - 1, dtype=np.uint64)
    for r in range(len(offsets) - 1):
        h = _mix(np.uint64(offsets[r + 1] - offsets[r]) + np.uint64(0x9E3779B97F4A7C15))
        for i in range(offsets[r], offsets[r + 1]):
            h = _mix(h ^ np.uint64(values[i]))
        out[r] = h
    return out


def first_copies(codes: np.ndarray, keys: np.ndarray, seen: tuple[int, np.ndarray] | None = None,
                 resent: np.ndarray | None = None,
                 resent_texts: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The rows whose shingles count for their outlet: one row of each (outlet, text) of the batch.

    ``codes`` are the rows' outlet codes (:func:`outlet_codes`; ``-1``, no
    outlet: never counted), ``keys`` their :func:`text_keys`. A row counts
    when no earlier row has the same outlet and key and, with ``seen =
    (code, keys)``, when it is not of outlet ``code`` with one of those keys
    (the texts of an outlet counted in earlier batches). Which copy counts
    does not matter: the copies have the same shingles. ``resent``: the rows
    that re-send an item of their outlet with a text of their own
    (:func:`dedup.signing.resent_rows`: its update or correction), whose
    texts never count, in whichever row they are (an unmarked copy of an
    update is the update): the item counts once, in its own text. A re-send
    with the item's text (an unchanged repeat) must not be among them: it
    would take that text out of the count too. ``resent_texts``: more texts
    that never count, as (codes, keys), for rows of other batches.
    """
    codes = np.asarray(codes, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.uint64)
    order = np.lexsort((keys, codes))
    c, k = codes[order], keys[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (k[1:] != k[:-1])
    first = np.empty(len(order), dtype=bool)
    first[order] = new
    first &= codes >= 0
    if seen is not None and len(seen[1]):
        first &= ~((codes == seen[0]) & np.isin(keys, seen[1]))
    texts = set()
    if resent is not None:
        resent = np.asarray(resent, dtype=bool)
        texts.update(zip(codes[resent].tolist(), keys[resent].tolist()))
    if resent_texts is not None:
        texts.update(zip(np.asarray(resent_texts[0]).tolist(), np.asarray(resent_texts[1]).tolist()))
    if texts:   # a few rows: a re-send is rare
        maybe = np.flatnonzero(first & np.isin(keys, np.fromiter((k for _, k in texts), dtype=np.uint64)))
        first[[r for r in maybe.tolist() if (int(codes[r]), int(keys[r])) in texts]] = False
    return first


def _keys(codes: np.ndarray, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``outlet code << 32 | shingle`` of every shingle of the rows that have an outlet."""
    return _keys_kernel(np.asarray(codes, dtype=np.int64), np.asarray(values, dtype=np.uint32),
                        np.asarray(offsets, dtype=np.int64))


@numba.njit(cache=True, nogil=True)
def _keys_kernel(codes, values, offsets):  # pragma: no cover - numba
    """:func:`_keys` in one pass, into one array (the numpy expression made six temporaries of its size)."""
    n = 0
    for r in range(len(offsets) - 1):
        if codes[r] >= 0:
            n += offsets[r + 1] - offsets[r]
    out = np.empty(n, dtype=np.uint64)
    m = 0
    for r in range(len(offsets) - 1):
        if codes[r] >= 0:
            high = np.uint64(codes[r]) << np.uint64(32)
            for i in range(offsets[r], offsets[r + 1]):
                out[m] = high | np.uint64(values[i])
                m += 1
    return out


def _count(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys (sorted) and how often each occurs (int64). Sorts ``keys`` in place."""
    keys.sort()
    n, docs = _runs_in_place(keys)
    if n < len(keys) // 2:   # do not keep a mostly unused array alive through the views
        return keys[:n].copy(), docs[:n].copy()
    return keys[:n], docs[:n]


@numba.njit(cache=True, nogil=True)
def _runs_in_place(keys):  # pragma: no cover - numba
    """Sorted ``keys`` -> their distinct values moved to the front (in order) and each one's run length;
    returns how many there are and the lengths (an array of ``len(keys)``, the first ones used)."""
    docs = np.empty(len(keys), dtype=np.int64)
    m = 0
    i = 0
    while i < len(keys):
        j = i + 1
        while j < len(keys) and keys[j] == keys[i]:
            j += 1
        keys[m] = keys[i]
        docs[m] = j - i
        m += 1
        i = j
    return m, docs


def count_outlet_shingles(shingles: pl.DataFrame, outlets: pl.Series, resent: np.ndarray | None = None
                          ) -> pl.DataFrame:
    """SHINGLES -> OUTLET_COUNTS: in how many distinct texts of each outlet every shingle occurs. Stateless.

    ``outlets`` is aligned with ``shingles`` (the ARTICLES ``outlet`` column);
    articles without an outlet are not counted, an outlet's copies of one
    text and its re-sends of one item (``resent``, see :func:`first_copies`)
    once. Sorted by outlet and shingle. Counts of batches add up with
    :func:`merge_outlet_counts` when no outlet has the same text in two batches.
    """
    codes, names = outlet_codes(outlets)
    keys, docs = count_keys(shingles, np.where(first_copies(codes, text_keys(shingles), resent=resent), codes, -1))
    return frequent_frame(keys, names).with_columns(docs=pl.Series(docs, dtype=pl.UInt32))


def merge_outlet_counts(*counts: pl.DataFrame) -> pl.DataFrame:
    """The sum of OUTLET_COUNTS frames (batches of one corpus), sorted by outlet and shingle. Stateless."""
    frames = [c for c in counts if c.height] or [pl.DataFrame(schema=OUTLET_COUNTS)]
    return conform(pl.concat(frames).group_by("outlet", "shingle").agg(pl.col("docs").sum())
                   .sort("outlet", "shingle"), OUTLET_COUNTS, "boilerplate")


def frequent_shingles(counts: pl.DataFrame, *, min_docs: int) -> pl.DataFrame:
    """OUTLET_COUNTS -> FREQUENT: the pairs counted in at least ``min_docs`` texts of the outlet. Stateless.

    ``min_docs=0`` means the filter is off: nothing is frequent.
    """
    if min_docs == 0:
        return pl.DataFrame(schema=FREQUENT)
    return counts.filter(pl.col("docs") >= min_docs).select("outlet", "shingle").sort("outlet", "shingle")


def count_keys(shingles: pl.DataFrame, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`count_outlet_shingles` as arrays: sorted ``code << 32 | shingle`` keys and their row counts.

    ``codes`` are the rows' outlet codes from :func:`outlet_codes` over the
    whole corpus, so keys of different batches are comparable; sorting keys
    sorts by (outlet name, shingle). Every row with a code ``>= 0`` is
    counted: to count an outlet's copies of one text once, give the others
    code ``-1`` (:func:`first_copies`). No string per row: what a caller
    counting a large corpus batch by batch should keep.
    """
    return _count(_keys(codes, *flat_lists(shingles["shingles"])))


def merge_keys(*counted: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The sum of several :func:`count_keys` results (each sorted and distinct), keys sorted.

    Merged two at a time, the smaller into the larger: each of its keys is
    looked up in the larger one, counts of shared keys added, the others
    inserted in place. No sort of the whole (a batch's 15 M keys and the
    carried outlet's 0.1 M: 0.8 s as a stable sort, a tenth of that merged).
    """
    keys, docs = np.empty(0, np.uint64), np.empty(0, np.int64)
    for more_keys, more_docs in counted:
        keys, docs = _merge_two((keys, docs), (np.asarray(more_keys, np.uint64), np.asarray(more_docs)))
    return keys, docs


def _merge_two(one: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray]:
    (small, small_docs), (large, large_docs) = sorted((one, other), key=lambda c: len(c[0]))
    at = np.searchsorted(large, small)
    shared = at < len(large)
    shared[shared] = large[at[shared]] == small[shared]
    docs = large_docs.astype(np.result_type(large_docs, small_docs))   # a copy: the inputs stay as they were
    docs[at[shared]] += small_docs[shared]        # small's keys are distinct, so are their places
    new = ~shared
    return np.insert(large, at[new], small[new]), np.insert(docs, at[new], small_docs[new])


def frequent_frame(keys: np.ndarray, names: list[str]) -> pl.DataFrame:
    """FREQUENT from sorted ``code << 32 | shingle`` keys (see :func:`count_keys`)."""
    keys = np.asarray(keys, dtype=np.uint64)
    return pl.DataFrame({
        "outlet": pl.Series(names, dtype=pl.String).gather((keys >> np.uint64(32)).astype(np.int64)),
        "shingle": (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32),
    }, schema=FREQUENT)


def strip_boilerplate(shingles: pl.DataFrame, outlets: pl.Series, frequent: pl.DataFrame, *, min_run: int = 1
                      ) -> pl.DataFrame:
    """SHINGLES -> SHINGLES without each article's runs of outlet-frequent shingles; ``sequence`` set to null.

    ``frequent`` is a FREQUENT frame (usually of the whole corpus, from
    :func:`frequent_shingles`); ``outlets`` is aligned with ``shingles``.
    A shingle is dropped from an article when it lies, in the article's
    ``sequence``, inside a run of at least ``min_run`` consecutive shingles
    that are frequent for the article's outlet. With no frequent pair, the
    frame is returned as it is (``n_boilerplate`` untouched). Stateless.
    """
    codes, names = outlet_codes(outlets)
    lookup = pl.DataFrame({"outlet": pl.Series(names, dtype=pl.String), "code": np.arange(len(names))})
    frequent = frequent.join(lookup, on="outlet", how="inner")
    freq_keys = ((frequent["code"].to_numpy().astype(np.uint64) << np.uint64(32))
                 | frequent["shingle"].to_numpy().astype(np.uint64))
    return strip_keys(shingles, codes, freq_keys, min_run)


def strip_keys(shingles: pl.DataFrame, codes: np.ndarray, freq_keys: np.ndarray, min_run: int,
               threads: int | None = None) -> pl.DataFrame:
    """:func:`strip_boilerplate` with the outlets as codes and the frequent pairs as keys. Stateless.

    ``codes`` are the rows' outlet codes (:func:`outlet_codes`), ``freq_keys``
    the frequent ``code << 32 | shingle`` keys (from :func:`count_keys`), in
    any order. One compiled pass per article (:func:`_strip_kernel`),
    articles split over threads; each article writes only its own places, so
    the result does not depend on ``threads``.
    """
    done = shingles.with_columns(sequence=_NO_SEQUENCE)
    if len(freq_keys) == 0 or shingles.height == 0:
        return done
    values, offsets = flat_lists(shingles["shingles"])
    seq, seq_offsets = flat_lists(shingles["sequence"])
    table, shift = u64set.table_of(freq_keys)
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    removed = np.zeros(len(values), dtype=bool)
    n_removed = np.zeros(shingles.height, dtype=np.int64)
    parallel_ranges(lambda lo, hi: _strip_kernel(table, shift, codes, values, offsets, seq, seq_offsets,
                                                 max(min_run, 1), lo, hi, removed, n_removed),
                    seq_offsets, threads)
    keep_offsets = offsets - np.concatenate([[0], np.cumsum(n_removed)])
    out = done.with_columns(
        shingles=list_series(values[~removed], keep_offsets),
        n_boilerplate=pl.Series(n_removed.astype(np.uint32), dtype=pl.UInt32),
    )
    return conform(out, SHINGLES, "boilerplate")


@numba.njit(cache=True, nogil=True)
def _strip_kernel(table, shift, codes, values, offsets, seq, seq_offsets, min_run, first, last,
                  removed, n_removed):  # pragma: no cover - numba
    """Mark the boilerplate of articles ``first..last-1`` in ``removed`` (one flag per set value); count it.

    A position of an article's ``sequence`` is flagged when ``code << 32 |
    shingle`` is in ``table`` (the frequent pairs, :mod:`dedup.u64set`) and
    the shingle is in the article's own set (``values``, sorted); the set
    values of every run of at least ``min_run`` flagged positions are
    removed. Articles with code -1 keep everything.
    """
    longest = 0
    for t in range(first, last):
        longest = max(longest, seq_offsets[t + 1] - seq_offsets[t])
    run = np.empty(longest, dtype=np.int64)   # set positions of the current run's shingles
    for t in range(first, last):
        if codes[t] < 0:
            continue
        high = np.uint64(codes[t]) << np.uint64(32)
        lo, hi = offsets[t], offsets[t + 1]
        own = values[lo:hi]
        n_run = 0
        for p in range(seq_offsets[t], seq_offsets[t + 1] + 1):   # one step past the end closes the last run
            at = -1
            if p < seq_offsets[t + 1] and u64set.has(table, shift, high | np.uint64(seq[p])):
                at = np.searchsorted(own, seq[p])
                if at == len(own) or own[at] != seq[p]:
                    at = -1
            if at >= 0:
                run[n_run] = lo + at
                n_run += 1
                continue
            if n_run >= min_run:
                for r in range(n_run):
                    removed[run[r]] = True
            n_run = 0
        count = 0
        for i in range(lo, hi):
            count += removed[i]
        n_removed[t] = count


#: ``more_counts(codes, names, first, texts)`` of :func:`remove_boilerplate`: the :func:`count_keys` of texts
#: that are counted but not stripped (or None if there are none), given the rows' outlet codes, the outlet
#: names by code (:func:`outlet_codes`), which rows counted (:func:`first_copies`) and the rows' text keys.
MoreCounts = Callable[[np.ndarray, list[str], np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray] | None]


def remove_boilerplate(shingles: pl.DataFrame, outlets: pl.Series, *, min_docs: int, min_run: int = 1,
                       resent: np.ndarray | None = None, more_counts: MoreCounts | None = None) -> pl.DataFrame:
    """SHINGLES -> SHINGLES with each outlet's boilerplate removed; ``sequence`` set to null. Stateless.

    ``outlets`` is aligned with ``shingles`` (the ARTICLES ``outlet`` column).
    ``min_docs=0`` removes nothing. The same as :func:`count_outlet_shingles`,
    :func:`frequent_shingles` and :func:`strip_boilerplate` in one go (see the
    module docstring for batches), without building the frames in between:
    shingles are counted over each outlet's distinct texts (``resent``: the
    rows that re-send an item, see :func:`first_copies`), and every copy is
    stripped alike. ``more_counts`` (:data:`MoreCounts`) adds the counts of
    texts that are not in ``shingles``: a nightly state's stored texts of the
    window (:func:`dedup.signing.sign_articles`); it is not called when
    nothing is removed (``min_docs=0``, no rows).
    """
    if min_docs == 0 or shingles.height == 0:
        return shingles.with_columns(sequence=_NO_SEQUENCE)
    codes, names = outlet_codes(outlets)
    texts = text_keys(shingles)
    first = first_copies(codes, texts, resent=resent)
    keys, docs = count_keys(shingles, np.where(first, codes, -1))
    more = None if more_counts is None else more_counts(codes, names, first, texts)
    if more is not None:
        keys, docs = merge_keys((keys, docs), more)
    return strip_keys(shingles, codes, keys[docs >= min_docs], min_run)
