"""Character n-gram counts of texts, word by word: the default ``char35`` TF-IDF features.

scikit-learn's ``HashingVectorizer(analyzer="char_wb")`` pads each
whitespace-separated word with a space each side and hashes its character
n-grams; n-grams never cross a word, so a text's counts are the sum of its
words' counts, and news repeats its words. :class:`_WordRows` hashes each
distinct word once (a numba port of scikit-learn's MurmurHash3 hashing, tested
bit for bit against it) and builds the texts' count rows and document
frequencies from the words' rows. Used by :class:`dedup.align.tfidf.IdfModel`.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer


def _same(text: str) -> str:
    return text


def _split_normalised(texts: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``text.split()`` of :func:`normalise_for_match` output (words joined by single spaces), in Arrow:
    the distinct words in order of first occurrence, each word's id (``cols``) and each text's
    ``indptr`` into them, as ``text.split()`` and a dict numbering new words would make them."""
    pieces = pc.split_pattern(pa.array(texts, type=pa.large_string()), " ")
    flat = pieces.flatten()
    keep = pc.not_equal(flat, "")   # the empty text splits into one empty piece, and has no word
    before = np.concatenate([[0], np.cumsum(keep.to_numpy(zero_copy_only=False), dtype=np.int64)])
    indptr = before[pieces.offsets.to_numpy()]
    encoded = flat.filter(keep).dictionary_encode()
    return (encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
            indptr)


class _WordRows:
    """Hashed ``char_wb`` rows of words, each word hashed once while this memo lives.

    ``char_wb`` n-grams never cross a word (a whitespace-separated piece padded
    with one space each side), so a text's counts are the sum of its words'
    counts: a (texts x distinct words) count matrix times the words' hashed
    rows. Counts are small integers, exact in float64, and the result is in
    canonical form like scikit-learn's, so it is identical to ``transform``.
    News repeats its words, so this hashes a small fraction of the n-grams.
    The memo forgets everything past ``max_words`` words (memory stays bounded).
    """

    def __init__(self, ngram_range: tuple[int, int], n_features: int, *, max_words: int = 1_000_000):
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.max_words = max_words
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _words(self, texts: list[str], preprocess) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
        """Every text's words as ids (``cols``, cut by ``indptr``) and the ids' hashed rows, memo updated.

        Ids number the distinct words in order of first occurrence. ``preprocess`` is
        :func:`normalise_for_match`, or :func:`_same` for texts that already are its output."""
        words, cols, indptr = _split_normalised(texts if preprocess is _same else [preprocess(t) for t in texts])
        if len(self.rows) + len(words) > self.max_words:
            self.rows.clear()
        new = [w for w in words if w not in self.rows]
        if new:
            indptr_new, indices, data = self.hash_words(new)
            bounds = indptr_new.tolist()
            self.rows.update(zip(new, ((indices[a:b], data[a:b]) for a, b in itertools.pairwise(bounds))))
        return cols, indptr, [self.rows[w] for w in words]

    @property
    def hasher(self) -> HashingVectorizer:
        """The scikit-learn vectorizer these rows equal (``hasher.transform(words)``), for checking."""
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, n_features=self.n_features,
                                 alternate_sign=False, norm=None, lowercase=False, dtype=np.float64)

    def hash_words(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR ``(indptr, indices, data)`` of whitespace-free words, as ``self.hasher.transform(words)``
        has them: each word padded with a space each side, its character n-grams UTF-8 encoded and
        hashed with MurmurHash3 (seed 0) into ``n_features`` buckets, counts summed (:func:`_hash_words`)."""
        encoded = [f" {w} ".encode() for w in words]
        starts = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=starts[1:])
        buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return _hash_words(buf, starts, self.ngram_range[0], self.ngram_range[1], self.n_features)

    def doc_freq(self, texts: list[str], preprocess) -> np.ndarray:
        """In how many of ``texts`` each bucket occurs: ``counts(texts)`` made binary and summed, without
        building it (:func:`_doc_freq`)."""
        cols, indptr, rows = self._words(texts, preprocess)
        if not rows:
            return np.zeros(self.n_features, dtype=np.int64)
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(r[0]) for r in rows], out=offsets[1:])
        # counted over only the buckets these words use: the kernel's two per-bucket arrays then stay
        # in cache (2**20 buckets: a miss per n-gram; a batch of 20,000 sentences 53 -> 34 ms)
        used, compact = np.unique(np.concatenate([r[0] for r in rows]), return_inverse=True)
        counted = _doc_freq(np.asarray(cols, dtype=np.int64), np.asarray(indptr, dtype=np.int64), offsets,
                            compact.astype(np.int64).ravel(), len(used))
        df = np.zeros(self.n_features, dtype=np.int64)
        df[used] = counted
        return df

    def counts(self, texts: list[str], preprocess) -> sp.csr_matrix:
        cols, indptr, rows = self._words(texts, preprocess)
        if not rows:
            return sp.csr_matrix((len(texts), self.n_features), dtype=np.float64)
        lengths = np.fromiter((len(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        # the product runs over only the buckets these words use (scipy allocates one slot per column)
        buckets, compact = np.unique(np.concatenate([r[0] for r in rows]), return_inverse=True)
        per_word = sp.csr_matrix((np.concatenate([r[1] for r in rows]), compact.astype(np.int32),
                                  np.concatenate([[0], np.cumsum(lengths)])), shape=(len(rows), len(buckets)))
        which = sp.csr_matrix((np.ones(len(cols)), np.asarray(cols, dtype=np.int32),
                               np.asarray(indptr, dtype=np.int64)), shape=(len(texts), len(rows)))
        out = sp.csr_matrix(which @ per_word)
        out.sum_duplicates()   # sorts the indices (buckets keep their order), as scikit-learn's output is
        return sp.csr_matrix((out.data, buckets[out.indices], out.indptr), shape=(len(texts), self.n_features))


@numba.njit(cache=True, nogil=True)
def _murmur3_32(buf, lo, hi):  # pragma: no cover - numba
    """MurmurHash3_x86_32 of ``buf[lo:hi]`` with seed 0, as an unsigned 32-bit value (scikit-learn's hash)."""
    mask = np.uint64(0xFFFFFFFF)
    c1, c2 = np.uint64(0xCC9E2D51), np.uint64(0x1B873593)
    h = np.uint64(0)
    n = hi - lo
    end = lo + (n // 4) * 4
    for i in range(lo, end, 4):
        k = (np.uint64(buf[i]) | (np.uint64(buf[i + 1]) << np.uint64(8)) | (np.uint64(buf[i + 2]) << np.uint64(16))
             | (np.uint64(buf[i + 3]) << np.uint64(24)))
        k = (k * c1) & mask
        k = ((k << np.uint64(15)) | (k >> np.uint64(17))) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << np.uint64(13)) | (h >> np.uint64(19))) & mask
        h = (h * np.uint64(5) + np.uint64(0xE6546B64)) & mask
    rest = n & 3
    if rest:
        k = np.uint64(0)
        if rest == 3:
            k ^= np.uint64(buf[end + 2]) << np.uint64(16)
        if rest >= 2:
            k ^= np.uint64(buf[end + 1]) << np.uint64(8)
        k ^= np.uint64(buf[end])
        k = (k * c1) & mask
        k = ((k << np.uint64(15)) | (k >> np.uint64(17))) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= np.uint64(n)
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & mask
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & mask
    h ^= h >> np.uint64(16)
    return h


@numba.njit(cache=True, nogil=True)
def _hash_words(buf, starts, min_n, max_n, n_features):  # pragma: no cover - numba
    """scikit-learn's ``char_wb`` hashing (``alternate_sign=False``) of padded UTF-8 words
    ``buf[starts[w]:starts[w+1]]``: n-grams of ``min_n``..``max_n`` code points (a word shorter than
    ``n`` once, whole, and no longer n-grams), each hashed and its bucket counted; a word's buckets
    sorted, each once. Returns CSR ``(indptr, indices int32, data float64)``."""
    n_words = len(starts) - 1
    total = 0
    for w in range(n_words):
        total += (starts[w + 1] - starts[w]) * (max_n - min_n + 1)
    indptr = np.zeros(n_words + 1, dtype=np.int64)
    indices = np.empty(total, dtype=np.int32)
    data = np.empty(total, dtype=np.float64)
    points = np.empty(len(buf) + 1, dtype=np.int64)
    grams = np.empty(total, dtype=np.int64)
    at = 0
    for w in range(n_words):
        lo, hi = starts[w], starts[w + 1]
        length = 0                                   # code points of the padded word, and where each starts
        for i in range(lo, hi):
            if (buf[i] & 0xC0) != 0x80:
                points[length] = i
                length += 1
        points[length] = hi
        m = 0
        for n in range(min_n, max_n + 1):
            offset = 0
            while True:
                h = np.int64(_murmur3_32(buf, points[offset], points[min(offset + n, length)]))
                if h >= 2**31:
                    h -= 2**32
                grams[m] = (2147483647 - (n_features - 1)) % n_features if h == -2**31 else abs(h) % n_features
                m += 1
                if offset + n >= length:
                    break
                offset += 1
            if offset == 0:
                break
        row = np.sort(grams[:m])
        j = 0
        while j < m:
            k = j
            while k < m and row[k] == row[j]:
                k += 1
            indices[at] = row[j]
            data[at] = k - j
            at += 1
            j = k
        indptr[w + 1] = at
    return indptr, indices[:at], data[:at]


@numba.njit(cache=True, nogil=True)
def _doc_freq(cols, indptr, offsets, buckets, n_features):  # pragma: no cover - numba
    """Per bucket, the number of texts (words ``cols[indptr[i]:indptr[i+1]]``) whose words' rows
    (word ``w``: ``buckets[offsets[w]:offsets[w+1]]``) use it; each text counts a bucket once."""
    df = np.zeros(n_features, dtype=np.int64)
    last = np.full(n_features, -1, dtype=np.int64)
    for i in range(len(indptr) - 1):
        for k in range(indptr[i], indptr[i + 1]):
            w = cols[k]
            for e in range(offsets[w], offsets[w + 1]):
                b = buckets[e]
                if last[b] != i:
                    last[b] = i
                    df[b] += 1
    return df
