"""Sentence families across a cluster, and provenance links between outlets.

A *family* is one sentence of the story as carried by any number of versions:
the rows of :data:`dedup.schema.SENTENCES` that share a ``family_id`` are "the
same sentence" and the story can be shown as a matrix family x outlet.

- Every canonical sentence is a family; its id is its canonical position
  (0, 1, ...). Version sentences aligned to it (kept or edited) and the
  versions' ``dropped`` rows for it carry that id.
- Added sentences (not from the canonical) that several versions share form
  one family: two added sentences are in the same family when their TF-IDF
  cosine reaches ``align_threshold``, transitively. Added families are
  numbered after the canonical ones, in order of first appearance (articles
  by publication time then article id, sentences by position).

Provenance: when two outlets carry the same added sentence, the later one
probably copied it from the earlier rather than from the canonical (wire)
version. *The same* is what the aligner takes for one sentence with no help from
its position: an identical identity key, or a cosine of at least
``moved_threshold`` (0.8; a copy-edited copy is ~0.87, "...for the seafront." /
"...for the sea front, it said."). Each carrier of an added family gets one LINKS
row "shares added material with" the earliest carrier (publication time, then
article id; unknown times last) that has one of its sentences of the family in
that sense, when that carrier is of *another* outlet: an outlet's update that
carries what an earlier article of its own outlet had first gets no row. A family also groups merely similar
sentences, for the reader: two outlets' bylines ("By Meridian Press" / "By
Gazette staff, with Meridian Press", 0.65) or their "Read more" lines (0.59)
are no evidence of copying, and an outlet's update carrying its own earlier
addition is not copying either. Nor is an outlet's *furniture*: a line it prints
in several different stories of the night ("All rights reserved.", "Have a news
tip?", its newsletter line; see ``furniture_min_stories`` in
:class:`dedup.config.AlignConfig`) is no evidence that it copied that line from
anyone, so a carrier's furniture never makes it a later carrier; a *stock* line,
the furniture of two outlets or more ("All rights reserved."), is furniture for
every outlet. Furniture still counts as held by an earlier carrier: an outlet
that prints another outlet's newsletter line copied that outlet's version.

All functions here are stateless.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp

from dedup.align.vectors import _compact, _row_dots


def group_similar(vectors: sp.csr_matrix, threshold: float, *, block: int = 1024, groups: int = 1024,
                  stats: dict[str, int] | None = None) -> np.ndarray:
    """Connected components of ``cosine >= threshold`` among L2-normalised rows.

    Labels are 0, 1, ... in order of each component's first row. Up to
    ``block`` rows, every pair's cosine comes from one sparse product. Above,
    pairs are first screened by a cheap upper bound of their cosine (see
    :func:`_candidate_pairs`) and only the pairs that pass are computed exactly;
    the cosine of each computed pair is bit for bit the one the full product
    gives, so the components are those of the full product. ``stats`` (if
    given) receives ``screened`` (pairs whose bound was evaluated),
    ``verified`` (pairs whose exact cosine was computed) and ``joined``.
    """
    vectors = sp.csr_matrix(vectors)
    k = vectors.shape[0]
    if k <= block or not vectors.has_sorted_indices:   # exact_dots follows the product's (sorted) order
        left, right = _all_pairs(vectors, threshold, block)
        screened = verified = k * (k - 1) // 2
    else:
        cand_left, cand_right = _candidate_pairs(vectors, threshold, block=block, groups=groups)
        sims = exact_dots(vectors, cand_left, cand_right)
        keep = (sims != 0) & (sims >= threshold)     # the full product stores no exact zero
        left, right = cand_left[keep], cand_right[keep]
        screened, verified = k * (k - 1) // 2, len(cand_left)
    if stats is not None:
        stats.update(screened=screened, verified=verified, joined=len(left))
    return _components(k, left, right)


def group_stories(vectors: sp.csr_matrix, sizes: np.ndarray, threshold: float, *, block: int = 1024) -> np.ndarray:
    """:func:`group_similar` of many stories at once: each row's label within its story.

    The stories are consecutive runs of rows of the given ``sizes`` (each at
    most ``block`` rows, else the screened search of ``group_similar`` is
    what a story gets on its own); the rows are L2-normalised with sorted
    indices. Each story's columns are renamed into columns of its own, in
    their order (:func:`story_columns`), so one product in row blocks gives
    every story's cosines and no cross-story entry; every cosine is computed
    by the same additions in the same order as the story's own product, so
    the labels are bit for bit those of ``group_similar`` story by story
    (tested), without a sparse product and a component search per story.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if len(sizes) == 0:
        return np.zeros(0, dtype=np.int64)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    indices = vectors.indices.astype(np.int64)
    columns, n_columns = story_columns(vectors.indptr.astype(np.int64), indices, bounds, int(indices.max(initial=0)) + 1)
    renamed = sp.csr_matrix((vectors.data, columns, vectors.indptr), shape=(vectors.shape[0], max(n_columns, 1)))
    found = _components(vectors.shape[0], *_all_pairs(renamed, threshold, block))
    return found - np.repeat(found[bounds[:-1]], sizes)   # stories are apart: each one's labels start at its first


@numba.njit(cache=True, nogil=True)
def story_columns(indptr, indices, starts, n_features):  # pragma: no cover - numba
    """Each entry's column once every story's (cluster's) features are renamed into columns of its own.

    Rows ``starts[k]:starts[k + 1]`` belong to story k. Story k's distinct
    features, in increasing order, become the columns after those of stories
    0..k-1: the inverse of ``np.unique(k * n_features + feature)``, without
    sorting every entry. Returns the columns and their number.
    """
    out = np.empty(len(indices), dtype=np.int64)
    # one int64 per feature, (story + 1) << 32 | the column it became: one cache line per lookup, not two
    slot = np.zeros(n_features, dtype=np.int64)
    distinct = np.empty(len(indices), dtype=np.int64)
    base = 0
    for k in range(len(starts) - 1):
        lo, hi = indptr[starts[k]], indptr[starts[k + 1]]
        tag = np.int64(k + 1) << 32
        m = 0
        for e in range(lo, hi):
            f = indices[e]
            if slot[f] < tag:
                slot[f] = tag
                distinct[m] = f
                m += 1
        ordered = np.sort(distinct[:m])
        for j in range(m):
            slot[ordered[j]] = tag | j
        for e in range(lo, hi):
            out[e] = base + (slot[indices[e]] & 0xFFFFFFFF)
        base += m
    return out, base


def _all_pairs(vectors: sp.csr_matrix, threshold: float, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``i < j`` with ``cosine >= threshold``, from the sparse product in row blocks."""
    lefts, rights = [], []
    transposed = vectors.T.tocsr()   # what each block's product would convert it to (the same matrix)
    for start in range(0, vectors.shape[0], block):
        sims = (vectors[start:start + block] @ transposed).tocoo()
        keep = (sims.data >= threshold) & (sims.row + start < sims.col)
        lefts.append(sims.row[keep].astype(np.int64) + start)
        rights.append(sims.col[keep].astype(np.int64))
    return np.concatenate(lefts), np.concatenate(rights)


def _candidate_pairs(vectors: sp.csr_matrix, threshold: float, *, block: int, groups: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``i < j`` that may reach ``threshold``: a superset of those that do.

    The features are dealt into ``groups`` fixed groups; by Cauchy-Schwarz in
    each group, ``x . y <= sum over groups of |x_g| |y_g|``, a dense product
    of ``rows x groups`` norms (BLAS, float32). Its rounding error is below
    ``groups * 2**-24`` for unit rows, and the margin is four times that, so no
    pair whose exact cosine reaches the threshold is screened out. The screen
    is still all pairs, but at ``groups`` multiply-adds per pair instead of a
    sparse merge of two sentences' features; on unrelated sentences it passes
    a small fraction of the pairs (numbers in ``benchmarks/HISTORY.md``, section 9).
    """
    k, n_cols = vectors.shape
    n_groups = max(1, min(groups, n_cols))
    group_of = np.random.default_rng(0).integers(0, n_groups, n_cols)   # fixed: affects speed, never output
    squares = sp.csr_matrix((vectors.data ** 2, group_of[vectors.indices], vectors.indptr), shape=(k, n_groups))
    norms = np.sqrt(squares.toarray()).astype(np.float32)
    floor = np.float32(threshold - 4.0 * n_groups * 2.0 ** -24)
    lefts, rights = [], []
    for start in range(0, k, block):
        bound = norms[start:start + block] @ norms[start:].T      # rows start.., columns start..
        rows, cols = np.nonzero(bound >= floor)
        upper = rows < cols
        lefts.append(rows[upper].astype(np.int64) + start)
        rights.append(cols[upper].astype(np.int64) + start)
    return np.concatenate(lefts), np.concatenate(rights)


def exact_dots(vectors: sp.csr_matrix, left: np.ndarray, right: np.ndarray, *, chunk: int = 20_000) -> np.ndarray:
    """``vectors[left[p]] . vectors[right[p]]`` for each p, bit for bit as ``vectors @ vectors.T`` has it.

    scipy's sparse product adds ``a_f * b_f`` over the shared features ``f`` in
    increasing order, one by one. The same kernel runs here on a product laid
    out so that each pair meets only its own two rows: row p of the left factor
    holds ``vectors[right[p]]`` restricted to the features of ``vectors[left[p]]``,
    its columns being the stored entries of the left rows (in order), and the
    right factor maps each such entry to its row. ``vectors`` must have sorted
    indices.
    """
    out = np.zeros(len(left), dtype=np.float64)
    n_cols = vectors.shape[1]
    lengths = np.diff(vectors.indptr)
    for lo in range(0, len(left), chunk):
        a, b = left[lo:lo + chunk], right[lo:lo + chunk]
        rows, local = np.unique(a, return_inverse=True)
        sub = vectors[rows]
        entry_row = np.repeat(np.arange(len(rows), dtype=np.int64), np.diff(sub.indptr))
        entry_key = entry_row * n_cols + sub.indices
        count = lengths[b]
        pair = np.repeat(np.arange(len(b), dtype=np.int64), count)
        offsets = np.concatenate([[0], np.cumsum(count)])
        at = vectors.indptr[b][pair] + (np.arange(offsets[-1]) - offsets[pair])
        key = local[pair] * n_cols + vectors.indices[at]
        pos = np.minimum(np.searchsorted(entry_key, key), max(len(entry_key) - 1, 0))
        match = (entry_key[pos] == key) if len(entry_key) else np.zeros(len(key), dtype=bool)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(pair[match], minlength=len(b)))])
        left_factor = sp.csr_matrix((vectors.data[at[match]], pos[match], indptr), shape=(len(b), len(entry_key)))
        right_factor = sp.csr_matrix((sub.data, entry_row, np.arange(len(entry_key) + 1)),
                                     shape=(len(entry_key), len(rows)))
        product = (left_factor @ right_factor).tocsr()
        out[lo:lo + chunk] = np.asarray(product[np.arange(len(b)), local]).ravel()
    return out


def row_cosine(unit: sp.csr_matrix, i: int, j: int) -> float:
    """The dot product of rows ``i`` and ``j`` of an L2-normalised matrix with sorted indices, as the
    sparse product has it (:func:`dedup.align.vectors._row_dots`: the same bits wherever the same two
    rows are found)."""
    return float(_row_dots(unit.indptr, unit.indices, unit.data, np.array([i]), np.array([j]))[0])


def _components(k: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component labels 0, 1, ... in order of each component's first row."""
    parent = np.arange(k)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(left.tolist(), right.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(k)], dtype=np.int64)
    _, first = np.unique(roots, return_index=True)
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    label_of_root = dict(zip(roots[first], relabel))
    return np.array([label_of_root[r] for r in roots], dtype=np.int64)


def provenance(carried: dict[int, list[tuple[int, int, bool]]], outlet: Callable[[int], str | None],
               unit: sp.csr_matrix, threshold: float) -> list[tuple[int, int, int, int]]:
    """LINKS rows ``(family_id, first rank, later rank, n_sentences)``.

    ``carried`` maps each added family to its rows as ``(rank, key, furniture)``:
    the carrying article's rank in the story (earliest first), the sentence's
    row in ``unit`` (L2-normalised TF-IDF rows with sorted indices; one row per
    identity key), and whether the sentence is its outlet's furniture;
    ``outlet(rank)`` is the article's outlet. Two different keys are the same
    sentence all the same when their cosine (:func:`row_cosine`) reaches
    ``threshold`` (see the module docstring). Each carrier gets a row for the
    earliest carrier that has one of its sentences of the family, its
    furniture left out (an earlier carrier's furniture counts), when that
    carrier is of another outlet (unknown outlets differ from every outlet):
    when it is of the same outlet, the later one is that outlet's update
    carrying its own addition, and gets no row. ``n_sentences`` is how many of
    its rows of the family that carrier has (usually 1), so summing over a
    (first, later) pair gives the added sentences the later one took.

    The earliest such carrier is the earliest one that carries a key the same
    as one of the later one's: each distinct key's earliest carrier, then each
    key's first "same" key in that order (:func:`first_same`, once per
    family), give it in one pass over the carriers, not by comparing each
    carrier with every earlier one (a wire story's thousands of carriers each
    adding their own similar byline made that quadratic).
    """
    rows = []
    for family in sorted(carried):
        keys: dict[int, list[int]] = {}       # rank -> every key it carries
        evidence: dict[int, list[int]] = {}   # rank -> the keys that are not its furniture
        earliest: dict[int, int] = {}         # key -> the earliest rank carrying it
        for rank, key, furniture in carried[family]:
            keys.setdefault(rank, []).append(key)
            if not furniture:
                evidence.setdefault(rank, []).append(key)
            earliest[key] = min(earliest.get(key, rank), rank)
        if len(keys) < 2:
            continue
        order = sorted(earliest, key=lambda key: (earliest[key], key))
        same = first_same(unit, np.array(order, dtype=np.int64), threshold)
        reach = {key: earliest[order[j]] for key, j in zip(order, same.tolist())}   # earliest rank with a same key
        for later in sorted(keys)[1:]:
            own = evidence.get(later)
            if not own:
                continue
            first = min(reach[key] for key in own)
            if first == later:
                continue
            held = set(keys[first])
            n = sum(key in held or any(row_cosine(unit, key, other) >= threshold for other in held) for key in own)
            if outlet(first) is None or outlet(first) != outlet(later):
                rows.append((family, first, later, n))
    return rows


def first_same(unit: sp.csr_matrix, rows: np.ndarray, threshold: float, *, small: int = 64, block: int = 512,
               run: int = 8) -> np.ndarray:
    """For each of ``rows`` (rows of ``unit``, L2-normalised, sorted indices), the position of the first of
    ``rows`` before it whose cosine with it reaches ``threshold``, as :func:`row_cosine` has it; its own
    position if none does.

    Up to ``small`` rows, every pair's cosine is computed. Above, only the
    pairs that share a feature of both rows' :func:`_suffixes` can reach the
    threshold; the rows go in blocks of ``block``, each compared with the rows
    before it in runs of columns that double from ``run`` up to ``block``,
    and a row leaves the search once it has its answer. Rows that are the same
    as an early one (copy-edited copies of one line) so cost a few cosines
    each, and rows that are merely similar (every carrier's own byline) share
    few suffix features: neither costs a cosine per pair.
    """
    m = len(rows)
    found = np.arange(m)
    if m < 2:
        return found
    if m <= small:
        later, earlier = np.nonzero(np.tri(m, k=-1, dtype=bool))   # every pair, by later row then earlier
        hit = _row_dots(unit.indptr, unit.indices, unit.data, rows[later], rows[earlier]) >= threshold
        np.minimum.at(found, later[hit], earlier[hit])
        return found
    sub = _compact(unit[rows])            # the same rows, the same features in the same order: the same bits
    suffixes = _suffixes(sub, threshold)
    for start in range(0, m, block):
        open_ = np.arange(start, min(start + block, m))
        at, width = 0, run
        while len(open_) and at < open_[-1]:
            shared = (suffixes[open_] @ suffixes[at:at + width].T).tocoo()
            later, earlier = open_[shared.row], shared.col.astype(np.int64) + at
            keep = earlier < later
            later, earlier = later[keep], earlier[keep]
            hit = _row_dots(sub.indptr, sub.indices, sub.data, later, earlier) >= threshold
            np.minimum.at(found, later[hit], earlier[hit])   # the runs go in order: the first run's hit is the first
            open_ = open_[found[open_] == open_]
            at, width = at + width, min(2 * width, block)
    return found


def _suffixes(vectors: sp.csr_matrix, threshold: float) -> sp.csr_matrix:
    """Each row's features that two rows whose cosine reaches ``threshold`` must share (ones in a CSR matrix).

    The features are ordered from the most frequent among the rows to the
    rarest; a row's *prefix* is its features in that order as long as the sum
    of its weight times the feature's highest weight in any row stays below
    ``threshold`` (less a margin for rounding), its *suffix* the rest. The
    weights being positive, a pair with no shared feature in x's suffix has
    ``x . y`` at most the prefix's sum, below the threshold; and the suffix of
    the row whose suffix starts later lies within the other's, so a pair
    reaching the threshold shares a feature of both suffixes (the prefix
    filter of all-pairs similarity search). The common words of a family's
    lines are in the prefixes.
    """
    k, n_cols = vectors.shape
    row = np.repeat(np.arange(k, dtype=np.int64), np.diff(vectors.indptr))
    top = np.zeros(n_cols)
    np.maximum.at(top, vectors.indices, vectors.data)
    counts = np.bincount(vectors.indices, minlength=n_cols)
    rank = np.empty(n_cols, dtype=np.int64)
    rank[np.lexsort((np.arange(n_cols), -counts))] = np.arange(n_cols)
    entries = np.lexsort((rank[vectors.indices], row))            # each row's entries, most frequent feature first
    bounds = vectors.data[entries] * top[vectors.indices[entries]]
    keep = entries[_past_prefix(vectors.indptr.astype(np.int64), bounds, threshold - 1e-9)]
    return sp.csr_matrix((np.ones(len(keep)), vectors.indices[keep], np.searchsorted(row[keep], np.arange(k + 1))),
                         shape=(k, n_cols))


@numba.njit(cache=True, nogil=True)
def _past_prefix(indptr, bounds, threshold):  # pragma: no cover - numba
    """Whether each entry (row by row) brings the sum of its row's ``bounds`` so far to ``threshold``."""
    out = np.zeros(len(bounds), dtype=np.bool_)
    for r in range(len(indptr) - 1):
        total = 0.0
        for e in range(indptr[r], indptr[r + 1]):
            total += bounds[e]
            out[e] = total >= threshold
    return out
