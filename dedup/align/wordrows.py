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
    counts: each text's words' rows merged by bucket (:func:`_text_counts`).
    Counts are small integers, exact in float64 whatever the order they are
    added in, and each row's buckets come sorted like scikit-learn's, so the
    result is identical to ``transform``. News repeats its words, so this
    hashes a small fraction of the n-grams.

    The memo is one CSR table of every word hashed so far (``indptr``,
    ``indices``, ``data``, grown by doubling) and a dict from word to its row:
    the kernels read a batch's rows straight from the table, with no Python
    object per word. It forgets everything past ``max_words`` words (memory
    stays bounded).
    """

    def __init__(self, ngram_range: tuple[int, int], n_features: int, *, max_words: int = 1_000_000):
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.max_words = max_words
        self._clear()

    def _clear(self) -> None:
        self.ids: dict[str, int] = {}
        self.indptr = np.zeros(1024, dtype=np.int64)    # first len(ids) + 1 used
        self.indices = np.empty(1 << 16, dtype=np.int32)  # first indptr[len(ids)] used
        self.data = np.empty(1 << 16, dtype=np.float64)

    def _words(self, texts: list[str], preprocess) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The texts' distinct words as rows of the memo's table (``words``) and every text's words as
        indices into them (``cols``, cut by ``indptr``); the memo updated.

        ``preprocess`` is :func:`normalise_for_match`, or :func:`_same` for texts that already are its output."""
        words, cols, indptr = _split_normalised(texts if preprocess is _same else [preprocess(t) for t in texts])
        ids = self.ids
        if len(ids) + len(words) > self.max_words:
            self._clear()
            ids = self.ids
        new = [w for w in words if w not in ids]
        if new:
            self._append(new)
        return np.fromiter((ids[w] for w in words), dtype=np.int64, count=len(words)), cols, indptr

    def _append(self, new: list[str]) -> None:
        """Hash the words ``new`` (none of them in the memo) into the table's next rows."""
        indptr_new, indices, data = self.hash_words(new)
        n, used = len(self.ids), int(self.indptr[len(self.ids)])
        if n + len(new) + 1 > len(self.indptr):
            self.indptr = _grown(self.indptr, n + len(new) + 1)
        if used + len(indices) > len(self.indices):
            self.indices = _grown(self.indices, used + len(indices))
            self.data = _grown(self.data, used + len(indices))
        self.indptr[n + 1:n + len(new) + 1] = indptr_new[1:] + used
        self.indices[used:used + len(indices)] = indices
        self.data[used:used + len(indices)] = data
        self.ids.update(zip(new, range(n, n + len(new))))

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
        words, cols, indptr = self._words(texts, preprocess)
        return _doc_freq(words, cols, indptr, self.indptr, self.indices, self.n_features)

    def counts(self, texts: list[str], preprocess, scale: np.ndarray | None = None) -> sp.csr_matrix:
        """The texts' ``char_wb`` counts, a CSR row each (canonical: sorted buckets, no duplicates).

        ``scale`` (one float64 per bucket, e.g. the IDF): each count multiplied by its bucket's
        value as it is written, the same product as ``counts.data *= scale[counts.indices]``
        without a gather over the whole matrix afterwards."""
        words, cols, indptr = self._words(texts, preprocess)
        out_indptr, indices, data = _text_counts(words, cols, indptr, self.indptr, self.indices, self.data,
                                                 self.n_features,
                                                 _NO_SCALE if scale is None else np.asarray(scale, dtype=np.float64))
        return sp.csr_matrix((data, indices, out_indptr), shape=(len(texts), self.n_features))


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    """``a`` copied into an array at least twice as long and at least ``size`` long."""
    out = np.zeros(max(size, 2 * len(a)), dtype=a.dtype)
    out[:len(a)] = a
    return out


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
def _local_rows(words, w_indptr, w_indices, n_features):  # pragma: no cover - numba
    """The rows of ``words`` (distinct rows of the table ``w_indptr, w_indices``) with their buckets
    renumbered 0, 1, ... in increasing bucket order: ``(used, indptr, slots)``, bucket ``used[s]`` being
    slot ``s``. The kernels then count in arrays of ``len(used)`` entries, which stay in cache where
    ``n_features`` entries would not (2**20 buckets: a miss per n-gram)."""
    seen = np.zeros(n_features, dtype=np.int32)
    indptr = np.zeros(len(words) + 1, dtype=np.int64)
    n = 0
    for k in range(len(words)):
        w = words[k]
        indptr[k + 1] = indptr[k] + w_indptr[w + 1] - w_indptr[w]
        for e in range(w_indptr[w], w_indptr[w + 1]):
            b = w_indices[e]
            if seen[b] == 0:
                seen[b] = 1
                n += 1
    used = np.empty(n, dtype=np.int64)
    n = 0
    for b in range(n_features):
        if seen[b]:
            seen[b] = n
            used[n] = b
            n += 1
    slots = np.empty(indptr[-1], dtype=np.int64)
    for k in range(len(words)):
        w = words[k]
        at = indptr[k]
        for e in range(w_indptr[w], w_indptr[w + 1]):
            slots[at] = seen[w_indices[e]]
            at += 1
    return used, indptr, slots


@numba.njit(cache=True, nogil=True)
def _doc_freq(words, cols, indptr, w_indptr, w_indices, n_features):  # pragma: no cover - numba
    """Per bucket, the number of texts (``cols[indptr[i]:indptr[i+1]]``: indices into ``words``,
    distinct rows of the table ``w_indptr, w_indices``) whose words use it; each text counts a bucket once."""
    used, l_indptr, slots = _local_rows(words, w_indptr, w_indices, n_features)
    counted = np.zeros(len(used), dtype=np.int64)
    last = np.full(len(used), -1, dtype=np.int64)
    for i in range(len(indptr) - 1):
        for k in range(indptr[i], indptr[i + 1]):
            w = cols[k]
            for e in range(l_indptr[w], l_indptr[w + 1]):
                j = slots[e]
                if last[j] != i:
                    last[j] = i
                    counted[j] += 1
    df = np.zeros(n_features, dtype=np.int64)
    for j in range(len(used)):
        df[used[j]] = counted[j]
    return df


_RADIX_BITS = 10
_RADIX = 1 << _RADIX_BITS


@numba.njit(cache=True, nogil=True)
def _radix_sort(a, m, bound, spare, digits):  # pragma: no cover - numba
    """Sort ``a[:m]`` (integers in ``[0, bound)``) in place, ``_RADIX_BITS`` at a time (least significant
    first); ``spare`` holds ``m`` values, ``digits`` ``_RADIX + 1``. On a text's few hundred slots
    this is ~3.5x faster than ``np.sort``."""
    shift = 0
    while shift == 0 or (bound - 1) >> shift > 0:
        digits[:] = 0
        for q in range(m):
            digits[((a[q] >> shift) & (_RADIX - 1)) + 1] += 1
        for d in range(_RADIX):
            digits[d + 1] += digits[d]
        for q in range(m):
            d = (a[q] >> shift) & (_RADIX - 1)
            spare[digits[d]] = a[q]
            digits[d] += 1
        a[:m] = spare[:m]
        shift += _RADIX_BITS


_NO_SCALE = np.zeros(0, dtype=np.float64)


@numba.njit(cache=True, nogil=True)
def _text_counts(words, cols, indptr, w_indptr, w_indices, w_data, n_features, scale):  # pragma: no cover - numba
    """CSR ``(indptr, indices int32, data float64)`` of the texts whose words are
    ``cols[indptr[i]:indptr[i+1]]`` (indices into ``words``, distinct rows of the table ``w_indptr,
    w_indices, w_data``): each text's words' counts added bucket by bucket, its buckets in increasing order;
    each count times ``scale[bucket]`` unless ``scale`` is empty."""
    used, l_indptr, slots = _local_rows(words, w_indptr, w_indices, n_features)
    factor = np.ones(len(used), dtype=np.float64)     # times 1.0 leaves a count exactly as it is
    if len(scale):
        for j in range(len(used)):
            factor[j] = scale[used[j]]
    n_texts = len(indptr) - 1
    total = 0
    for k in range(len(cols)):
        total += l_indptr[cols[k] + 1] - l_indptr[cols[k]]
    out_indptr = np.zeros(n_texts + 1, dtype=np.int64)
    out_indices = np.empty(total, dtype=np.int32)
    out_data = np.empty(total, dtype=np.float64)
    acc = np.zeros(len(used), dtype=np.float64)
    touched = np.empty(len(used), dtype=np.int64)
    spare = np.empty(len(used), dtype=np.int64)
    digits = np.zeros(_RADIX + 1, dtype=np.int64)
    at = 0
    for i in range(n_texts):
        m = 0
        for k in range(indptr[i], indptr[i + 1]):
            w = cols[k]
            base = w_indptr[words[w]] - l_indptr[w]
            for e in range(l_indptr[w], l_indptr[w + 1]):
                j = slots[e]
                if acc[j] == 0.0:       # a word's counts are >= 1: 0 means not touched by this text yet
                    touched[m] = j
                    m += 1
                acc[j] += w_data[base + e]
        _radix_sort(touched, m, len(used), spare, digits)   # slots are numbered in bucket order
        for q in range(m):
            j = touched[q]
            out_indices[at] = used[j]
            out_data[at] = acc[j] * factor[j]
            acc[j] = 0.0
            at += 1
        out_indptr[i + 1] = at
    return out_indptr, out_indices[:at], out_data[:at]
