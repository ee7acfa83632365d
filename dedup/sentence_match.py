"""Sentence containment: a second opinion for pairs that shingles call borderline.

Shingle containment counts runs of identical words, so a wire story that an
outlet or the wire itself rewrote sentence by sentence (a correction, a
lightly edited copy) can fall below the clustering threshold although every
sentence is still the same sentence. For candidate pairs whose containment is
between ``rescue_min_containment`` and ``threshold``, the *sentence
containment* is measured instead: the share of the shorter article's
sentences that have a counterpart in the other article with TF-IDF cosine at
least ``align_threshold`` (the aligner's same-sentence decision, chosen on
MSRP), and the facts must agree: at least ``rescue_min_facts`` of the
figures and capitalised names of the article with fewer of them appear in
the other. Independently
written articles on the same event share names and numbers but rarely
sentences, so their sentence containment stays low; templated items (weekly
figures, market reports) share every sentence but not their figures and names.

The IDF is fitted on the sentences of the articles involved in borderline
pairs, each distinct sentence once. A pair with an article of more than
``max_sentences`` sentences (the aligner's bound) gets no second opinion.

How it is computed (the costs are per article and per distinct sentence, never
per pair in Python): on forked workers (:func:`dedup.align.parallel.iter_chunks`,
contiguous chunks put back in order), each chunk of articles is split, its facts
extracted, each sentence keyed by a 16-byte digest and the hashed feature counts
of the chunk's distinct sentences computed. The parent holds no sentence text:
it keeps one count row per distinct sentence of the batch (its first
occurrence's), which serves both the IDF's document frequencies and the
vectors, and each article's list of rows; the cosines of all pairs run in one
compiled kernel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numba
import numpy as np
import scipy.sparse as sp

from dedup.align.parallel import MAX_CHUNK_CHARS, bounds_for, iter_chunks
from dedup.align.sentences import split_many
from dedup.align.tfidf import SLICE, IdfModel, l2_normalise
from dedup.config import AlignConfig
from dedup.normalize import IGNORABLE_RE, Unicode14Re
from dedup.shingle import parallel_ranges
from dedup.stopwords import english_stop_words

# \d+(?:[.,]\d+)* and \b[^\W\d_a-z][\w'&-]+ (a letter first, checked to be a capital, in any script), with
# Unicode 14.0's \w and \d on every Python.
_NUMBER = Unicode14Re(r"[{d}]+(?:[.,][{d}]+)*")
_NAME = Unicode14Re(r"(?<![{w}])(?![{d}_a-z])[{w}][{w}'&-]+")
ENGLISH_STOP_WORDS = english_stop_words()


def _facts(text: str) -> set[str]:
    """Figures and capitalised names (stop words aside): what a templated item changes. Invisible
    characters (a CMS's soft hyphens: :data:`dedup.normalize.IGNORABLE`) do not cut them."""
    text = IGNORABLE_RE.sub("", text)
    numbers = {n.replace(",", "") for n in _NUMBER.findall(text)}
    names = {w for w in _NAME.findall(text) if w[0].isupper() and w.lower() not in ENGLISH_STOP_WORDS}
    return numbers | names


class SentenceMatcher:
    """Sentence containment between articles of one batch (fit once, then query pairs).

    Attributes (after :meth:`fit`): ``idf_`` (the :class:`IdfModel`),
    ``matrix_`` (the L2-normalised TF-IDF row of every distinct sentence),
    ``rows_`` (doc -> its sentences' rows of ``matrix_``), ``vectors_`` (doc
    -> its rows as a matrix, for docs with at least one sentence), ``facts_``
    (doc -> its figures and names) and ``sentences_`` (doc -> its sentence
    texts); the last two are made again from the texts when asked for (for
    tests and inspection): :meth:`fit` keeps each article's facts as sorted
    8-byte digests (a million-article night's borderline articles have 4.4 M
    facts: 600 MB as Python sets, 35 MB as digests).
    """

    def __init__(self, config: AlignConfig = AlignConfig()):
        self.config = config

    def fit(self, texts: dict[int, str], *, idf: IdfModel | None = None, workers: int = 1,
            done: Callable[[int], None] | None = None) -> "SentenceMatcher":
        """Split ``texts`` into sentences and vectorise them, on ``workers`` forked processes.

        The IDF is fitted on the distinct sentences of ``texts``, or ``idf``
        (already fitted, e.g. on the whole night) is used as it is. Every
        distinct sentence is vectorised once: syndicated copies repeat most
        of their sentences, and a sentence's row does not depend on the
        others (a sentence carried by two chunks is counted in both, kept
        once). The result does not depend on ``workers``.

        The workers split, count and key (a 16-byte digest per sentence) their
        chunk of texts; this process keeps no sentence text, only the distinct
        sentences' rows and each article's list of rows. ``done(n)`` is told of each chunk of ``n`` texts
        as it comes back (verification's progress bar: splitting is most of its time).
        """
        docs, bodies = list(texts), list(texts.values())
        self._texts = texts
        self.idf_ = idf
        model = IdfModel(features=self.config.features if idf is None else idf.features,
                         n_features=self.config.n_features if idf is None else idf.n_features)
        bounds = bounds_for([len(t) for t in bodies], workers, MAX_CHUNK_CHARS)
        n_sentences, digests, facts, n_facts, parts, seen = [], [], [], [], [], set()
        chunk_done = None if done is None else lambda start, stop: done(stop - start)
        for n, digest, (chunk_facts, chunk_n_facts), first, part in iter_chunks(_fit_chunk, (bodies, self.config.splitter, model),
                                                               bounds, workers, chunk_done):
            n_sentences.append(n)
            digests.append(digest)
            facts.append(chunk_facts)
            n_facts.append(chunk_n_facts)
            # Chunks come in text order, so the chunk's distinct sentences that no earlier chunk had are
            # the next first occurrences, in order: only their rows are kept, as each chunk arrives.
            keys = digest[first].tobytes()
            keys = [keys[k:k + 16] for k in range(0, len(keys), 16)]
            new = np.fromiter((key not in seen for key in keys), dtype=bool, count=len(keys))
            seen.update(keys)
            parts.append(_kept_rows(part, new))
            del n, digest, chunk_facts, first, part, keys
        del seen
        self._facts = (np.concatenate([*facts, np.empty(0, np.uint64)]),
                       np.concatenate([[0], np.cumsum(np.concatenate([*n_facts, np.zeros(1, np.int64)]))]))
        del facts, n_facts
        sizes = np.concatenate([*n_sentences, np.zeros(1, np.int64)])   # then an empty doc for unknown docs
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        rows, first = _distinct(np.concatenate(digests) if digests else np.empty((0, 2), np.uint64))
        del digests
        counts = _first_rows(parts, len(first), model.n_features)   # empties parts
        if idf is None:
            self.idf_ = IdfModel.from_counts(counts, features=model.features, n_features=model.n_features)
        # IdfModel.transform: the counts weighted by the IDF, rows scaled to unit length (in place, a
        # slice at a time: the matrix is the largest thing a big night's verification holds).
        for lo in range(0, counts.nnz, SLICE):
            counts.data[lo:lo + SLICE] *= self.idf_.idf_[counts.indices[lo:lo + SLICE]]
        self.matrix_ = l2_normalise(counts, copy=False)
        self.matrix_.sort_indices()        # the kernel merges rows by feature (they come sorted already)
        # the docs' rows in one array, for the kernel (docs in fit order, then an empty one for unknown docs)
        doc_nnz = np.add.reduceat(np.append(np.diff(self.matrix_.indptr)[rows], 0), offsets[:-1]) * (sizes > 0)
        self._layout = ({d: k for k, d in enumerate(docs)}, offsets, rows, doc_nnz, int(doc_nnz.max()))
        return self

    @property
    def rows_(self) -> dict[int, np.ndarray]:
        """doc -> the rows of ``matrix_`` of its sentences, in order."""
        where, offsets, rows = self._layout[:3]
        return {d: rows[offsets[k]:offsets[k + 1]] for d, k in where.items()}

    @property
    def sentences_(self) -> dict[int, list[str]]:
        """doc -> its sentence texts (split again on access: :meth:`fit` keeps none)."""
        texts = list(self._texts.values())
        spans = split_many(texts, splitter=self.config.splitter)
        return {d: [t[a:b] for a, b in s] for d, t, s in zip(self._texts, texts, spans)}

    @property
    def vectors_(self) -> dict[int, sp.csr_matrix]:
        return {d: self.matrix_[rows] for d, rows in self.rows_.items() if len(rows)}

    @property
    def facts_(self) -> dict[int, set[str]]:
        """doc -> its figures and names (found again in its text on access)."""
        return {d: _facts(t) for d, t in self._texts.items()}

    def facts_agree(self, i: int, j: int) -> float:
        """Share of the figures and names of one article (the one with fewer) found in the other (1.0 if none).

        Templated wire items (weekly jobless claims, money-market forecasts,
        rights plans) are sentence-for-sentence alike and differ only in their
        figures and names: they are different stories.
        """
        return float(self.facts_agree_many(np.array([i]), np.array([j]))[0])

    def facts_agree_many(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """:meth:`facts_agree` of every pair ``(left[k], right[k])`` (one compiled pass over the digests)."""
        where, none = self._layout[0], len(self._layout[0])   # a doc that was not fitted: no facts
        a = np.fromiter((where.get(d, none) for d in np.asarray(left).tolist()), dtype=np.int64, count=len(left))
        b = np.fromiter((where.get(d, none) for d in np.asarray(right).tolist()), dtype=np.int64, count=len(right))
        out = np.empty(len(a))
        _agree_kernel(*self._facts, a, b, out)
        return out

    def share(self, i: int, j: int) -> float:
        """Share of the article with fewer sentences whose sentences match one in the other (the larger of
        the two on a tie; 0.0 when one has more than ``max_sentences``: :meth:`shares`)."""
        return float(self.shares(np.array([i]), np.array([j]))[0])

    def shares(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """:meth:`share` of every pair ``(left[k], right[k])``, in one compiled pass on all cores.

        The article with fewer sentences is measured: a sentence of it is
        matched when its cosine with some sentence of the other reaches
        ``align_threshold``. On a tie both are measured and the larger share
        counts: matching is not one to one (two sentences of one article can
        match the same sentence of the other), so the two shares can differ, and
        the measured one must not depend on which doc number is left (the order
        of ids; a nightly run numbers its stored articles after tonight's). The
        larger, as containment asks whether one article lies within the other,
        and either may be the one inside. Each pair's cosines are the block
        ``vectors_[i] @ vectors_[j].T`` computed as scipy's sparse product does
        (every cosine summed over the shared features in feature order, from
        0.0), so the decisions are those of that product, bit for bit.

        A pair with an article of more than ``max_sentences`` sentences is not
        measured: its share is 0.0 and shingles alone decide it. The block
        costs time and memory in the product of the two counts, the cost the
        aligner refuses above that bound (a 25,000-sentence dump against its
        copy: minutes and 5 GB per thread). 0.0, not NaN: the Spark engine
        orders NaN above every share.
        """
        where, offsets, rows, doc_nnz, max_nnz = self._layout
        none = len(where)                  # a doc that was not fitted: no sentences
        a = np.fromiter((where.get(d, none) for d in np.asarray(left).tolist()), dtype=np.int64, count=len(left))
        b = np.fromiter((where.get(d, none) for d in np.asarray(right).tolist()), dtype=np.int64, count=len(right))
        out = np.zeros(len(a))
        sizes = np.diff(offsets)
        measured = np.flatnonzero(np.maximum(sizes[a], sizes[b]) <= self.config.max_sentences)
        if len(measured) == 0 or not where:
            return out
        a, b = a[measured], b[measured]
        block = int((sizes[a] * sizes[b]).max())
        got = np.zeros(len(a))
        m = self.matrix_
        work = np.zeros(len(a) + 1, dtype=np.int64)
        np.cumsum(doc_nnz[a] + doc_nnz[b] + 1, out=work[1:])
        parallel_ranges(lambda lo, hi: _share_kernel(m.indptr, m.indices, m.data, offsets, rows, a, b,
                                                     float(self.config.align_threshold), block, max_nnz,
                                                     got, lo, hi), work)
        out[measured] = got
        return out


@numba.njit(cache=True, nogil=True)
def _share_kernel(indptr, indices, data, offsets, rows, left, right, threshold, block, max_nnz,
                  out, first, last):  # pragma: no cover - compiled
    """``out[k]``: matched share of the pair ``(left[k], right[k])`` (docs given by their sentence rows;
    ``block``: the most cosines of one pair, the product of its two sentence counts).

    The left article's entries are listed by feature in a small hash table
    (kept while the next pairs have the same left article: candidates come
    sorted); each sentence of the right one walks its features in order and
    adds ``value * left value`` to its cosine with every left sentence that
    has the feature: every cosine is summed in feature order from 0.0, as
    scipy's ``csr_matmat`` sums it.
    """
    size = 1
    while size < 2 * max_nnz:
        size *= 2
    keys = np.full(size, -1, dtype=np.int64)
    head = np.empty(size, dtype=np.int64)
    filled = np.empty(max_nnz, dtype=np.int64)
    chain = np.empty(max_nnz, dtype=np.int64)
    value = np.empty(max_nnz, dtype=np.float64)
    sentence = np.empty(max_nnz, dtype=np.int64)
    cosine = np.empty(block, dtype=np.float64)
    indexed, mask, n_filled = -1, 0, 0
    for k in range(first, last):
        i, j = left[k], right[k]
        n_i, n_j = offsets[i + 1] - offsets[i], offsets[j + 1] - offsets[j]
        if n_i == 0 or n_j == 0:
            out[k] = 0.0
            continue
        if i != indexed:
            keys[filled[:n_filled]] = -1                       # forget the previous left article
            nnz = 0
            for q in range(offsets[i], offsets[i + 1]):
                nnz += indptr[rows[q] + 1] - indptr[rows[q]]
            mask = 1
            while mask < 2 * nnz:
                mask *= 2
            mask -= 1
            e, n_filled = 0, 0
            for q in range(n_i):
                s = rows[offsets[i] + q]
                for y in range(indptr[s], indptr[s + 1]):
                    slot = _slot(keys, indices[y], mask)
                    if keys[slot] == -1:
                        keys[slot] = indices[y]
                        head[slot] = -1
                        filled[n_filled] = slot
                        n_filled += 1
                    chain[e], value[e], sentence[e] = head[slot], data[y], q
                    head[slot] = e
                    e += 1
            indexed = i
        cosine[:n_i * n_j] = 0.0
        for p in range(n_j):
            r = rows[offsets[j] + p]
            for x in range(indptr[r], indptr[r + 1]):
                slot = _slot(keys, indices[x], mask)
                at = head[slot] if keys[slot] != -1 else -1
                while at >= 0:
                    cosine[sentence[at] * n_j + p] += data[x] * value[at]
                    at = chain[at]
        # the article with fewer sentences is measured (the rows or the columns of the block); on a tie both
        # are and the larger share counts, whichever doc number is left
        share = _matched(cosine, n_i, n_j, n_j, 1, threshold) / n_i if n_i <= n_j else 0.0
        if n_j <= n_i:
            share = max(share, _matched(cosine, n_j, n_i, 1, n_j, threshold) / n_j)
        out[k] = share


@numba.njit(cache=True, nogil=True, inline="always")
def _matched(cosine, n_m, n_o, step_m, step_o, threshold):  # pragma: no cover - compiled
    """How many of the ``n_m`` measured sentences have a cosine of at least ``threshold`` with one of the
    ``n_o`` others (``cosine[a * step_m + b * step_o]``: measured sentence ``a``, other ``b``)."""
    matched = 0
    for a in range(n_m):
        for b in range(n_o):
            if cosine[a * step_m + b * step_o] >= threshold:
                matched += 1
                break
    return matched


@numba.njit(cache=True, nogil=True, inline="always")
def _slot(keys, feature, mask):  # pragma: no cover - compiled
    """The slot of ``feature`` in the open-addressing table ``keys`` (-1: empty), or the empty slot it would take."""
    slot = (feature * 0x9E3779B1) & mask
    while keys[slot] != -1 and keys[slot] != feature:
        slot = (slot + 1) & mask
    return slot


def _fact_digests(text: str) -> np.ndarray:
    """The text's :func:`_facts` as sorted distinct 8-byte digests (uint64)."""
    return np.unique(np.fromiter(
        (int.from_bytes(hashlib.blake2b(f.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
         for f in _facts(text)), dtype=np.uint64))


@numba.njit(cache=True, nogil=True)
def _agree_kernel(values, offsets, left, right, out):  # pragma: no cover - compiled
    """``out[k]``: shared digests of docs ``left[k]`` and ``right[k]`` over the fewer of the two (1.0 if none)."""
    for k in range(len(left)):
        a, a_end = offsets[left[k]], offsets[left[k] + 1]
        b, b_end = offsets[right[k]], offsets[right[k] + 1]
        fewer = min(a_end - a, b_end - b)
        n = 0
        while a < a_end and b < b_end:
            x, y = values[a], values[b]
            n += x == y
            a += x <= y
            b += y <= x
        out[k] = n / fewer if fewer else 1.0


def _fit_chunk(data: tuple[list[str], str, IdfModel], start: int, stop: int):
    """Texts ``start:stop`` split, keyed and counted (runs in a forked worker).

    Returns each text's number of sentences, every sentence's 16-byte digest
    (``(n, 2)`` uint64, in text order), the texts' fact digests (all of them, and
    each text's number), and the feature
    counts of the chunk's distinct sentences (chunk-local index of each one's
    first occurrence; ``(indptr, indices, int32 counts)``).
    """
    texts, splitter, model = data
    chunk = texts[start:stop]
    spans = split_many(chunk, splitter=splitter)
    sentences = [t[a:b] for t, s in zip(chunk, spans) for a, b in s]
    keys = [hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=16).digest() for s in sentences]
    first: dict[bytes, int] = {}
    for k, key in enumerate(keys):
        first.setdefault(key, k)
    firsts = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    counts = (model.counts([sentences[k] for k in firsts.tolist()]) if len(firsts)
              else sp.csr_matrix((0, model.n_features), dtype=np.float64))
    digests = np.frombuffer(b"".join(keys), dtype=np.uint64).reshape(-1, 2)
    facts = [_fact_digests(t) for t in chunk]
    facts = np.concatenate([*facts, np.empty(0, np.uint64)]), np.array([len(f) for f in facts], dtype=np.int64)
    return (np.array([len(s) for s in spans], dtype=np.int64), digests, facts, firsts,
            (counts.indptr.astype(np.int64), counts.indices.astype(np.int32), counts.data.astype(np.int32)))


def _distinct(digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``(n, 2)`` keys: each key's distinct id, ids numbered in order of first occurrence, and
    each id's first index (ascending)."""
    if not len(digests):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.lexsort((digests[:, 1], digests[:, 0]))     # stable: equal keys keep their index order
    ordered = digests[order]
    new = np.concatenate([[True], (ordered[1:] != ordered[:-1]).any(axis=1)])
    first = order[new]                                      # each key's first index, in key order
    renumber = np.empty(len(first), dtype=np.int64)
    renumber[np.argsort(first)] = np.arange(len(first))
    ids = np.empty(len(digests), dtype=np.int64)
    ids[order] = renumber[np.cumsum(new) - 1]
    return ids, np.sort(first)


def _kept_rows(part: tuple[np.ndarray, np.ndarray, np.ndarray], keep: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows ``keep`` of a chunk's ``(indptr, indices, counts)``, as ``(lengths, indices, counts)``."""
    indptr, indices, values = part
    lengths = np.diff(indptr)
    entries = np.repeat(keep, lengths)
    return lengths[keep], indices[entries], values[entries]


def _first_rows(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_rows: int, n_features: int
                ) -> sp.csr_matrix:
    """The chunks' kept rows (:func:`_kept_rows`, the sentences' first occurrences) in order, as one
    float64 CSR matrix of ``n_rows`` rows. Each part is dropped once copied: the matrix is built once,
    with no full-size intermediate.
    """
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    lengths = np.concatenate([part[0] for part in parts]) if parts else np.empty(0, np.int64)
    if len(lengths) != n_rows:
        raise AssertionError(f"sentence matcher: {len(lengths)} first occurrences kept, {n_rows} distinct sentences")
    np.cumsum(lengths, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    values = np.empty(int(indptr[-1]), dtype=np.float64)
    at = 0
    parts.reverse()
    while parts:
        _, part_indices, part_counts = parts.pop()
        indices[at:at + len(part_indices)] = part_indices
        values[at:at + len(part_indices)] = part_counts
        at += len(part_indices)
    return sp.csr_matrix((values, indices, indptr), shape=(n_rows, n_features))
