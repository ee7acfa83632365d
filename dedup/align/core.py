"""Alignment of one cluster: a pure function from the cluster's articles to frames.

:func:`align_cluster` touches nothing outside its arguments, so clusters can
be aligned in any order, in parallel or on other machines, given the same
fitted :class:`~dedup.align.tfidf.IdfModel` and config.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import polars as pl
import scipy.sparse as sp

from dedup.align.families import group_similar, provenance
from dedup.align.matcher import Link, align_versions
from dedup.align.rows import _Rows
from dedup.align.sentences import split_many, split_sentences  # noqa: F401 (re-exported)
from dedup.align.tfidf import IdfModel, l2_normalise, normalise_for_match
from dedup.align.worddiff import split_diff, word_diff
from dedup.errors import DedupError

if TYPE_CHECKING:
    from dedup.align import AlignConfig

CLUSTER_COLUMNS = ("cluster_id", "article_id", "outlet", "published", "is_canonical", "text")

_PIECES = re.compile(r"\w+|[^\w\s]")
_EPOCH = datetime(1970, 1, 1)


class AlignmentError(DedupError):
    """A cluster cannot be aligned; ``reason`` is a stable code counted in the failures."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def identity_key(sentence: str) -> str:
    """Two sentences are *the same* (status ``kept``) when these keys are equal.

    The key ignores case, Unicode compatibility forms, quote and dash styles
    and whitespace; every word and punctuation mark still counts. Stateless.
    """
    return key_and_norm(sentence)[0]


def key_and_norm(sentence: str) -> tuple[str, str]:
    """The sentence's :func:`identity_key` and its :func:`normalise_for_match` text. Stateless."""
    norm = normalise_for_match(sentence)
    return " ".join(_PIECES.findall(norm)), norm


@dataclass
class _Article:
    article_id: str
    outlet: str | None
    published: datetime | None
    text: str
    spans: list[tuple[int, int]]
    keys: list[str]         # identity_key of each sentence
    norms: list[str]        # normalise_for_match of each sentence
    unique: np.ndarray = None  # row of each sentence in the cluster's matrix of distinct sentences

    @functools.cached_property
    def sentences(self) -> list[str]:
        """The sentences' texts, cut from ``text`` when first asked for: the parent process of a
        night holds every article but only the worker that aligns it needs them."""
        return [self.text[a:b] for a, b in self.spans]


def check_cluster(cluster_id: Any, rows: list[dict[str, Any]]) -> None:
    """Raise :class:`AlignmentError` unless ``rows`` (one per article) form one alignable cluster."""
    n_canonical = sum(bool(r["is_canonical"]) for r in rows)
    if n_canonical != 1:
        reason = "no_canonical" if n_canonical == 0 else "several_canonicals"
        raise AlignmentError(reason, f"cluster {cluster_id} has {n_canonical} canonical articles; expected exactly 1")
    if len({r["article_id"] for r in rows}) != len(rows):
        raise AlignmentError("duplicate_article", f"cluster {cluster_id} lists an article twice")


def cluster_order(row: dict[str, Any]) -> tuple:
    """Sort key of a cluster's articles: canonical first, then by publication time (unknown last), id."""
    return (not row["is_canonical"], row["published"] is None, row["published"] or _EPOCH, row["article_id"])


def align_cluster(frame: pl.DataFrame, *, idf: IdfModel, config: "AlignConfig") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sentences and provenance links of one cluster. Pure: same input, same frames.

    ``frame`` has one row per article of the cluster with columns
    ``cluster_id, article_id, outlet, published, is_canonical, text`` (a null
    text counts as empty). Exactly one row must be canonical. Raises
    :class:`AlignmentError` for input it cannot align.
    """
    missing = [c for c in CLUSTER_COLUMNS if c not in frame.columns]
    if missing:
        raise AlignmentError("bad_frame", f"cluster frame lacks column(s) {missing}")
    cluster_ids = frame["cluster_id"].unique().to_list()
    if len(cluster_ids) != 1:
        found = sorted(map(str, cluster_ids))
        raise AlignmentError("bad_frame", f"expected the rows of one cluster, got cluster ids {found}")
    cluster_id = cluster_ids[0]
    rows = frame.with_columns(pl.col("is_canonical").fill_null(False)).to_dicts()
    check_cluster(cluster_id, rows)
    rows.sort(key=cluster_order)
    texts = [r["text"] or "" for r in rows]
    spans = split_many(texts, splitter=config.splitter)
    articles = [make_article(row, text, sp_, {}) for row, text, sp_ in zip(rows, texts, spans)]
    out = _Rows()
    align_prepared(cluster_id, articles, chunk_vectors([articles], idf)[0], config, out)
    sentences, links = out.frames()
    return (sentences.sort(["article_id", pl.col("status") == "dropped", "position"]),
            links.sort(["family_id", "article_id"]))


def make_article(row: dict[str, Any], text: str, spans: list[tuple[int, int]],
                 memo: dict[str, tuple[str, str]]) -> _Article:
    """An article with its sentences, their identity keys and normalised texts (``memo``: sentence -> both)."""
    sentences = [text[a:b] for a, b in spans]
    keys, norms = [], []
    for sentence in sentences:
        known = memo.get(sentence)
        if known is None:
            known = memo[sentence] = key_and_norm(sentence)
        keys.append(known[0])
        norms.append(known[1])
    return _Article(row["article_id"], row["outlet"], row["published"], text, spans, keys, norms)


def distinct_sentences(articles: list[_Article]) -> list[str]:
    """Set each article's ``unique`` rows; return the normalised text of each distinct sentence.

    Distinct = distinct identity key, represented by its first occurrence
    (articles in cluster order, sentences in order).
    """
    rows_of: dict[str, int] = {}
    reps: list[str] = []
    for art in articles:
        rows = []
        for key, norm in zip(art.keys, art.norms):
            row = rows_of.get(key)
            if row is None:
                row = rows_of[key] = len(reps)
                reps.append(norm)
            rows.append(row)
        art.unique = np.array(rows, dtype=np.int64)
    return reps


@dataclass
class _Vectors:
    """What the alignment of one cluster needs of its distinct sentences' TF-IDF rows.

    ``unit``: the rows scaled to length 1 are ``unit[offset:offset + len(norms)]``
    (a matrix shared by a chunk of clusters), ``norms``: the unnormalised rows'
    L2 norms, ``sim``: the cosine of every distinct sentence with each canonical
    sentence, ``adjacent``: ``(row, next row) -> unnormalised dot product`` for
    every pair of consecutive sentences in an article.
    """

    unit: sp.csr_matrix
    offset: int
    norms: np.ndarray
    sim: np.ndarray
    adjacent: dict[tuple[int, int], float]

    def adjacent_dots(self, rows: np.ndarray) -> np.ndarray:
        """Dot products of each unnormalised row in ``rows`` with the next one."""
        return np.array([self.adjacent[(int(a), int(b))] for a, b in zip(rows[:-1], rows[1:])], dtype=np.float64)

    def units(self, rows: list[int]) -> sp.csr_matrix:
        """The unit rows ``rows``, over only the columns they use."""
        return _compact(self.unit[np.asarray(rows, dtype=np.int64) + self.offset])


def chunk_vectors(clusters: list[list[_Article]], idf: IdfModel) -> list[_Vectors]:
    """:class:`_Vectors` of many clusters, with a fixed number of sparse operations for all of them.

    Sets each article's ``unique`` rows (see :func:`distinct_sentences`). The
    distinct sentences of the whole chunk are hashed in one call; the clusters'
    rows are then stacked, each cluster's features renamed into columns of its
    own (cluster k's feature f becomes column ``(k, f)``, compacted), so one
    sparse product gives every cluster's cosine block and no cross-cluster
    entry. Every number is computed by the very operations a cluster on its own
    would use (sums over the shared features of two rows in increasing feature
    order, row norms by a reduction over the row's own entries), so the values
    are bit for bit those of one cluster at a time.
    """
    row_of: dict[str, int] = {}
    local = [np.array([row_of.setdefault(norm, len(row_of)) for norm in distinct_sentences(arts)], dtype=np.int64)
             for arts in clusters]
    sizes = np.array([len(rows) for rows in local], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    if row_of:
        stacked = idf.weights(list(row_of), normalised=True)[np.concatenate(local)]
        columns, n_columns = _cluster_columns(stacked.indptr.astype(np.int64), stacked.indices.astype(np.int64),
                                              starts, stacked.shape[1])
        raw = sp.csr_matrix((stacked.data, columns, stacked.indptr), shape=(stacked.shape[0], max(n_columns, 1)))
        raw.has_sorted_indices = True   # renaming is increasing within a cluster, and a row is in one cluster
    else:
        raw = sp.csr_matrix((0, 1))
    every = np.arange(raw.shape[0], dtype=np.int64)
    norms = np.sqrt(_row_dots(raw.indptr.astype(np.int64), raw.indices.astype(np.int64), raw.data, every, every))
    unit = l2_normalise(raw, norms=norms)
    canonical_rows = [starts[k] + arts[0].unique for k, arts in enumerate(clusters)]
    c_starts = np.concatenate([[0], np.cumsum([len(rows) for rows in canonical_rows])])
    product = sp.csr_matrix(unit @ unit[np.concatenate(canonical_rows)].T) if c_starts[-1] else None
    pairs = [sorted({(int(a), int(b)) for art in arts for a, b in zip(art.unique[:-1], art.unique[1:])})
             for arts in clusters]
    flat = np.array([p for ps in pairs for p in ps], dtype=np.int64).reshape(-1, 2)
    flat += np.repeat(starts[:-1], [len(ps) for ps in pairs])[:, None]
    dots = _row_dots(raw.indptr.astype(np.int64), raw.indices.astype(np.int64), raw.data,
                     flat[:, 0].copy(), flat[:, 1].copy()).tolist()
    out = []
    at = 0
    for k, ps in enumerate(pairs):
        lo, hi = starts[k], starts[k + 1]
        sim = np.zeros((hi - lo, c_starts[k + 1] - c_starts[k]))
        if product is not None and sim.size:
            a, b = product.indptr[lo], product.indptr[hi]
            rows = np.repeat(np.arange(hi - lo), np.diff(product.indptr[lo:hi + 1]))
            sim[rows, product.indices[a:b] - c_starts[k]] = product.data[a:b]
        out.append(_Vectors(unit, int(lo), norms[lo:hi], sim, dict(zip(ps, dots[at:at + len(ps)]))))
        at += len(ps)
    return out


@numba.njit(cache=True, nogil=True)
def _cluster_columns(indptr, indices, starts, n_features):  # pragma: no cover - numba
    """Each entry's column once every cluster's features are renamed into columns of its own.

    Rows ``starts[k]:starts[k + 1]`` belong to cluster k. Cluster k's distinct
    features, in increasing order, become the columns after those of clusters
    0..k-1: the inverse of ``np.unique(k * n_features + feature)``, without
    sorting every entry. Returns the columns and their number.
    """
    out = np.empty(len(indices), dtype=np.int64)
    seen = np.full(n_features, -1, dtype=np.int64)
    rank = np.zeros(n_features, dtype=np.int64)
    distinct = np.empty(len(indices), dtype=np.int64)
    base = 0
    for k in range(len(starts) - 1):
        lo, hi = indptr[starts[k]], indptr[starts[k + 1]]
        m = 0
        for e in range(lo, hi):
            f = indices[e]
            if seen[f] != k:
                seen[f] = k
                distinct[m] = f
                m += 1
        ordered = np.sort(distinct[:m])
        for j in range(m):
            rank[ordered[j]] = base + j
        for e in range(lo, hi):
            out[e] = rank[indices[e]]
        base += m
    return out, base


@numba.njit(cache=True, nogil=True)
def _row_dots(indptr, indices, data, left, right):  # pragma: no cover - numba
    """``rows[left[p]] . rows[right[p]]`` of a CSR matrix with sorted indices, for each p.

    The products of the shared features, in increasing feature order, are
    added as scipy's ``a.multiply(b).sum(axis=1)`` adds them (a row's first
    product plus numpy's pairwise sum of the others): the same float64
    results, bit for bit.
    """
    out = np.zeros(len(left), dtype=np.float64)
    longest = 0
    for r in range(len(indptr) - 1):
        longest = max(longest, indptr[r + 1] - indptr[r])
    products = np.empty(longest, dtype=np.float64)
    for p in range(len(left)):
        i, i_end = indptr[left[p]], indptr[left[p] + 1]
        j, j_end = indptr[right[p]], indptr[right[p] + 1]
        m = 0
        while i < i_end and j < j_end:
            if indices[i] == indices[j]:
                products[m] = data[i] * data[j]
                m += products[m] != 0.0          # scipy keeps no zero product
                i += 1
                j += 1
            elif indices[i] < indices[j]:
                i += 1
            else:
                j += 1
        if m:
            out[p] = products[0] + _pairwise_sum(products, 1, m - 1)
    return out


@numba.njit(cache=True, nogil=True)
def _pairwise_sum(a, lo, n):  # pragma: no cover - numba
    """``a[lo:lo + n]`` summed as numpy's reductions sum float64 (pairwise, 8 accumulators), bit for bit.

    ``np.add.reduceat`` (what scipy's row sums use) starts from a segment's
    first value and adds this sum of the rest. numpy halves a run longer than
    128 values (at a multiple of 8) and adds the halves' sums; the halving is
    walked here with a stack, not by recursion (numba's cache cannot hold a
    recursive function).
    """
    spans = np.empty((64, 3), dtype=np.int64)   # (lo, n, halves already summed?)
    sums = np.empty(64, dtype=np.float64)
    top, done = 0, 0
    spans[0, 0], spans[0, 1], spans[0, 2] = lo, n, 0
    while top >= 0:
        lo, n, joined = spans[top, 0], spans[top, 1], spans[top, 2]
        top -= 1
        if joined:
            done -= 1
            sums[done - 1] += sums[done]
            continue
        if n > 128:
            half = n // 2
            half -= half % 8
            spans[top + 1, 0], spans[top + 1, 1], spans[top + 1, 2] = lo, n, 1
            spans[top + 2, 0], spans[top + 2, 1], spans[top + 2, 2] = lo + half, n - half, 0
            spans[top + 3, 0], spans[top + 3, 1], spans[top + 3, 2] = lo, half, 0
            top += 3
            continue
        if n < 8:
            res = 0.0
            for i in range(n):
                res += a[lo + i]
        else:
            r = a[lo:lo + 8].copy()
            i = 8
            while i < n - n % 8:
                for j in range(8):
                    r[j] += a[lo + i + j]
                i += 8
            res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n:
                res += a[lo + i]
                i += 1
        sums[done] = res
        done += 1
    return sums[0]

def align_prepared(cluster_id: str, articles: list[_Article], vectors: _Vectors, config: "AlignConfig",
                   out: _Rows) -> None:
    """Align one cluster whose articles are in cluster order with ``unique`` set; ``vectors``: its
    distinct sentences' (see :func:`chunk_vectors`). Appends the SENTENCES rows and LINKS rows to ``out``."""
    canonical, versions = articles[0], articles[1:]
    norms, sim_all, adjacent = vectors.norms, vectors.sim, vectors.adjacent_dots
    c_rows = canonical.unique
    c_adj = adjacent(c_rows)

    added: list[tuple[int, int, int]] = []  # (row index, unique row, article rank)
    for pos, (sentence, (start, end)) in enumerate(zip(canonical.sentences, canonical.spans)):
        out.add(cluster_id, canonical, "kept", pos, sentence, pos, 1.0, pos, start, end, None)
    all_links = align_versions(
        [sim_all[art.unique] for art in versions], [norms[art.unique] for art in versions],
        [adjacent(art.unique) for art in versions], norms[c_rows], c_adj, align_threshold=config.align_threshold,
        join_gain=config.join_gain, join_threshold=config.join_threshold, reorder_window=config.reorder_window,
        moved_threshold=config.moved_threshold)
    diffs: dict[tuple, list] = {}   # outlets often carry the same edit: diff each (canonical, version) text once
    for rank, (art, links) in enumerate(zip(versions, all_links), start=1):
        linked = _version_rows(cluster_id, art, canonical, links, config, out, diffs)
        for pos, sentence in enumerate(art.sentences):
            if pos not in linked:
                start, end = art.spans[pos]
                added.append((len(out), int(art.unique[pos]), rank))
                out.add(cluster_id, art, "added", pos, sentence, None, None, None, start, end, None)
        covered = {c for link in links for c in link.canonical}
        for cpos, (sentence, (start, end)) in enumerate(zip(canonical.sentences, canonical.spans)):
            if cpos not in covered:
                out.add(cluster_id, art, "dropped", cpos, sentence, cpos, None, cpos, start, end, None)

    link_rows = _added_families(added, out, vectors, articles, config, len(canonical.sentences))
    outlets = {a.article_id: a.outlet for a in articles}
    out.links.extend(
        {"cluster_id": cluster_id, "family_id": f, "first_article_id": first, "first_outlet": outlets[first],
         "article_id": later, "outlet": outlets[later], "n_sentences": n} for f, first, later, n in link_rows)


def _compact(mat: sp.csr_matrix) -> sp.csr_matrix:
    """The same rows over only the hash buckets they use (products then never touch 2**20 columns)."""
    cols, inverse = np.unique(mat.indices, return_inverse=True)
    out = sp.csr_matrix((mat.data, inverse.astype(np.int32), mat.indptr), shape=(mat.shape[0], max(len(cols), 1)))
    out.sort_indices()
    return out


def _version_rows(cluster_id: str, art: _Article, canonical: _Article, links: list[Link], config: "AlignConfig",
                  out: _Rows, diffs: dict[tuple, list]) -> set[int]:
    """Append the kept/edited rows of one version; return the version positions they cover."""
    linked: set[int] = set()
    for link in links:
        first_c = link.canonical[0]
        if len(link.version) == 1:
            v = link.version[0]
            sentence = art.sentences[v]
            start, end = art.spans[v]
            if len(link.canonical) == 1 and (art.unique[v] == canonical.unique[first_c]
                                            or link.similarity >= config.kept_threshold):
                same = art.unique[v] == canonical.unique[first_c]
                out.add(cluster_id, art, "kept", v, sentence, first_c, 1.0 if same else link.similarity,
                        first_c, start, end, None)
            else:
                target = " ".join(canonical.sentences[c] for c in link.canonical)
                diff = diffs.get((target, sentence))
                if diff is None:
                    diff = diffs[(target, sentence)] = word_diff(target, sentence)
                out.add(cluster_id, art, "edited", v, sentence, first_c, link.similarity, first_c, start, end, diff)
        else:
            parts = [art.sentences[v] for v in link.version]
            key = (canonical.sentences[first_c], *parts)
            split = diffs.get(key)
            if split is None:
                split = diffs[key] = split_diff(canonical.sentences[first_c], parts)
            for v, sentence, diff in zip(link.version, parts, split):
                start, end = art.spans[v]
                out.add(cluster_id, art, "edited", v, sentence, first_c, link.similarity, first_c, start, end, diff)
        linked.update(link.version)
    return linked


def _added_families(added: list[tuple[int, int, int]], out: _Rows, vectors: _Vectors,
                    articles: list[_Article], config: "AlignConfig", n_canonical: int) -> list[tuple]:
    """Give added rows their family ids (in place) and return the provenance rows."""
    if not added:
        return []
    added.sort(key=lambda item: (item[2], out.position[item[0]]))   # first appearance order
    distinct = list(dict.fromkeys(u for _, u, _ in added))
    where = {u: k for k, u in enumerate(distinct)}
    labels = group_similar(vectors.units(distinct), config.align_threshold) if len(distinct) > 1 else [0]
    carriers: dict[int, dict[str, int]] = {}
    for index, u, _ in added:
        family = n_canonical + int(labels[where[u]])
        out.family_id[index] = family
        holder = carriers.setdefault(family, {})
        article_id = out.article_id[index]
        holder[article_id] = holder.get(article_id, 0) + 1
    rank = {a.article_id: k for k, a in enumerate(articles)}
    return provenance(carriers, rank)
