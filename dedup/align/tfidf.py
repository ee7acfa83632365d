"""TF-IDF sentence vectors with an IDF fitted once on the whole night's corpus.

Why one corpus-wide IDF: inside one cluster every version repeats the same
names and numbers, so an IDF fitted on a cluster's few dozen sentences would
call the story's key words "common" and weigh them down, exactly where they
tell two sentences apart. Over the night's corpus (every sentence of every
clustered article) a story's names are rare and function words are common, as
they should be.

Features are hashed (scikit-learn ``HashingVectorizer``, 2**20 buckets, no
vocabulary to store; the default character n-grams go through a numba port of
its hashing, word by word, with the same buckets and counts: :class:`_WordRows`)
and the model is only the per-bucket *document frequency*
and the number of sentences. Document frequencies add up, so shards of a
night can be fitted apart and merged with :meth:`IdfModel.merge`, and the
model persists as a two-column frame (:meth:`IdfModel.to_frame`), never as a
pickle.

IDF is scikit-learn's smoothed one: ``idf = ln((1 + n) / (1 + df)) + 1``.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from dedup.errors import ConfigError

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

Features = Literal["word", "word12", "char35", "word12+char35"]

_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
                         "–": "-", "—": "-", "−": "-", "\u00a0": " "})


def normalise_for_match(text: str) -> str:
    """Casefolded NFKC text with straight quotes, plain dashes and single spaces. Stateless.

    ``str.split()`` and the regular expression ``\\s`` agree on what is whitespace, so the join is
    ``re.sub(r"\\s+", " ", text).strip()``, faster; ASCII text has nothing to translate."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = text.translate(_QUOTES)
    return " ".join(text.casefold().split())


_CHAR_NGRAMS = (3, 5)   # the char35 features: character 3- to 5-grams inside words
_TOKEN = r"(?u)\b\w+\b"  # one-character tokens kept: "5 percent" vs "6 percent" matters in news


def _vectorizers(features: Features, n_features: int, preprocessor=normalise_for_match) -> list[HashingVectorizer]:
    """scikit-learn's vectorizers of ``features``, in the order their counts are added.

    The default ``char35`` features never need them (:class:`_WordRows` counts them), so scikit-learn,
    whose import takes over a second, is imported only here."""
    from sklearn.feature_extraction.text import HashingVectorizer

    common = dict(n_features=n_features, alternate_sign=False, norm=None, lowercase=False,
                  preprocessor=preprocessor, dtype=np.float64)
    word1 = HashingVectorizer(analyzer="word", token_pattern=_TOKEN, ngram_range=(1, 1), **common)
    word12 = HashingVectorizer(analyzer="word", token_pattern=_TOKEN, ngram_range=(1, 2), **common)
    char = HashingVectorizer(analyzer="char_wb", ngram_range=_CHAR_NGRAMS, **common)
    return {"word": [word1], "word12": [word12], "char35": [char], "word12+char35": [word12, char]}[features]


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
        return _vectorizers("char35", self.n_features, _same)[0].set_params(ngram_range=self.ngram_range)

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


class IdfModel:
    """Document frequencies of hashed sentence features (a scikit-learn-style estimator).

    Parameters
    ----------
    features:
        ``"word12"`` word unigrams and bigrams (default, chosen on MSRP train;
        see ``benchmarks/README.md``), ``"word"`` unigrams, ``"char35"``
        character 3-5-grams within words, or both word and character n-grams.
    n_features:
        Hash buckets (a power of two).

    Attributes (after :meth:`fit`)
    ------------------------------
    df_ : numpy int64 array, document frequency per bucket.
    n_docs_ : number of sentences seen.
    idf_ : smoothed IDF per bucket.
    """

    def __init__(self, *, features: Features = "word12", n_features: int = 2**20):
        self.features = features
        self.n_features = n_features

    # -- learning ---------------------------------------------------------------------------------

    def fit(self, sentences: Iterable[str], *, normalised: bool = False) -> "IdfModel":
        """Learn document frequencies from an iterable of sentence texts.

        ``normalised``: the texts are already :func:`normalise_for_match` output.
        """
        counter = self.counter(normalised=normalised)
        for text in sentences:
            counter.add(text)
        return counter.done()

    def counter(self, *, normalised: bool = False) -> "DocFreqCounter":
        """A :class:`DocFreqCounter` that fits this model as the sentences come (see :meth:`fit`)."""
        if self.features not in ("word", "word12", "char35", "word12+char35"):
            raise ConfigError(f"unknown TF-IDF features {self.features!r}; choose word, word12, char35 "
                              "or word12+char35")
        if self.n_features < 2**10 or self.n_features & (self.n_features - 1):
            raise ConfigError(f"n_features must be a power of two >= 1024, got {self.n_features}")
        return DocFreqCounter(self, normalised)

    @classmethod
    def from_counts(cls, counts: sp.csr_matrix, *, features: Features = "word12",
                    n_features: int = 2**20) -> "IdfModel":
        """The model :meth:`fit` learns from the texts whose :meth:`counts` are ``counts`` (a row each).

        Counted a slice of the matrix at a time: ``np.bincount`` widens its input to int64, which for
        a big night's 123 M int32 indices is a 1 GB temporary.
        """
        df = np.zeros(n_features, dtype=np.int64)
        for lo in range(0, counts.nnz, SLICE):
            df += np.bincount(counts.indices[lo:lo + SLICE], minlength=n_features)
        return cls(features=features, n_features=n_features)._set(df, counts.shape[0])

    def merge(self, other: "IdfModel") -> "IdfModel":
        """A new model whose counts are the sum of two fitted models (shards of one night)."""
        if (self.features, self.n_features) != (other.features, other.n_features):
            raise ConfigError("cannot merge IDF models built with different features or n_features")
        merged = IdfModel(features=self.features, n_features=self.n_features)
        return merged._set(self.df_ + other.df_, self.n_docs_ + other.n_docs_)

    def _df(self, batch: list[str], normalised: bool = False) -> np.ndarray:
        if self.features == "char35":   # one char_wb vectorizer: count straight from the word rows
            return self._word_rows().doc_freq(batch, _same if normalised else normalise_for_match)
        counts = self._counts(batch, normalised=normalised)
        counts.data[:] = 1.0
        return np.asarray(counts.sum(axis=0)).ravel().astype(np.int64)

    def _set(self, df: np.ndarray, n_docs: int) -> "IdfModel":
        self.df_ = df
        self.n_docs_ = int(n_docs)
        self.idf_ = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        return self

    # -- use --------------------------------------------------------------------------------------

    def _counts(self, texts: list[str], *, normalised: bool = False) -> sp.csr_matrix:
        """Hashed feature counts; ``normalised``: the texts already went through :func:`normalise_for_match`."""
        preprocess = _same if normalised else normalise_for_match
        mats = [v.transform(texts) for v in _vectorizers(self.features, self.n_features, preprocess)
                if v.analyzer != "char_wb"] if self.features != "char35" else []
        if self.features in ("char35", "word12+char35"):
            mats.append(self._word_rows().counts(texts, preprocess))
        out = mats[0] if len(mats) == 1 else sum(mats[1:], mats[0])
        return sp.csr_matrix(out)

    def _word_rows(self) -> _WordRows:
        """The char_wb word memo of this model (built on first use, kept across calls, never pickled)."""
        if getattr(self, "_words", None) is None:
            self._words = _WordRows(_CHAR_NGRAMS, self.n_features)
        return self._words

    def counts(self, texts: list[str], *, normalised: bool = False) -> sp.csr_matrix:
        """Hashed feature counts, a row per text (what :meth:`fit` counts); needs no fitting."""
        return self._counts(texts, normalised=normalised)

    def weights(self, texts: list[str], *, normalised: bool = False) -> sp.csr_matrix:
        """Unnormalised TF-IDF rows (term count x IDF); rows can be added to join sentences.

        ``normalised``: the texts are already :func:`normalise_for_match` output
        (saves normalising them again; the rows are the same).
        """
        self._check_fitted()
        counts = self._counts(texts, normalised=normalised)
        counts.data *= self.idf_[counts.indices]
        return counts

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """L2-normalised TF-IDF rows: ``transform(a) @ transform(b).T`` is the cosine matrix."""
        return l2_normalise(self.weights(texts), copy=False)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_words"}   # the word memo is rebuilt on use

    def _check_fitted(self) -> None:
        if not hasattr(self, "idf_"):
            raise ConfigError("this IdfModel is not fitted yet; call fit(sentences) or build it with fit_idf()")

    # -- persistence ------------------------------------------------------------------------------

    def to_frame(self) -> pl.DataFrame:
        """Non-zero buckets as ``(bucket, df)`` plus the row ``(-1, n_docs)``."""
        self._check_fitted()
        nz = np.flatnonzero(self.df_)
        return pl.DataFrame({"bucket": np.concatenate([[-1], nz]).astype(np.int64),
                             "df": np.concatenate([[self.n_docs_], self.df_[nz]]).astype(np.int64)})

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, *, features: Features = "word12",
                   n_features: int = 2**20) -> "IdfModel":
        model = cls(features=features, n_features=n_features)
        buckets = frame["bucket"].to_numpy()
        counts = frame["df"].to_numpy()
        header = buckets == -1
        if header.sum() != 1:
            raise ConfigError("IDF frame must hold exactly one (-1, n_docs) row")
        df = np.zeros(n_features, dtype=np.int64)
        df[buckets[~header]] = counts[~header]
        return model._set(df, int(counts[header][0]))


class DocFreqCounter:
    """The document frequencies of :meth:`IdfModel.fit`, counted as the sentences come.

    Sentences are counted ``BATCH`` at a time; one counted earlier can be
    taken back (:meth:`remove`), so a caller that learns only later which
    text stands for a sentence can fit while its input still arrives. The
    counts are integers, so the result does not depend on the order.
    """

    BATCH = 20_000

    def __init__(self, model: IdfModel, normalised: bool):
        self.model, self.normalised = model, normalised
        self.df = np.zeros(model.n_features, dtype=np.int64)
        self.n = 0
        self._added: list[str] = []
        self._removed: list[str] = []

    def add(self, text: str) -> None:
        self._added.append(text)
        self.n += 1
        if len(self._added) == self.BATCH:
            self.df += self.model._df(self._added, self.normalised)
            self._added = []

    def remove(self, text: str) -> None:
        """Take back one :meth:`add` of ``text``."""
        self._removed.append(text)
        self.n -= 1
        if len(self._removed) == self.BATCH:
            self.df -= self.model._df(self._removed, self.normalised)
            self._removed = []

    def done(self) -> IdfModel:
        """The fitted model."""
        if self._added:
            self.df += self.model._df(self._added, self.normalised)
        if self._removed:
            self.df -= self.model._df(self._removed, self.normalised)
        self._added, self._removed = [], []
        return self.model._set(self.df, self.n)


SLICE = 1 << 22   # matrix values processed at once where a full-size temporary would be too large


def l2_normalise(mat: sp.csr_matrix, *, norms: np.ndarray | None = None, copy: bool = True) -> sp.csr_matrix:
    """Rows scaled to unit length (all-zero rows stay zero). Stateless.

    ``norms``: the rows' L2 norms when the caller has them already (as
    :func:`dedup.align.core.chunk_vectors` does); otherwise computed here,
    summed as scipy's ``mat.multiply(mat).sum(axis=1)`` sums them (one
    ``np.add.reduceat`` per row), bit for bit, without its two full-size
    temporaries, for a ``mat`` without duplicate entries (every matrix made
    here). ``copy=False`` scales a float64 CSR ``mat`` in place; the squares
    are summed about ``SLICE`` values (whole rows) at a time, so no
    temporary grows with the matrix.
    """
    mat = sp.csr_matrix(mat, dtype=np.float64, copy=copy)
    lengths = np.diff(mat.indptr)
    if norms is None:
        rows = np.flatnonzero(lengths)
        starts = mat.indptr[rows]
        norms = np.zeros(mat.shape[0])
        # blocks of whole rows of about SLICE values (a longer row is a block of its own)
        cuts = np.unique(np.r_[np.searchsorted(starts, np.arange(0, mat.nnz, SLICE)), len(rows)])
        for a, b in itertools.pairwise(cuts.tolist()):
            lo, hi = starts[a], mat.indptr[rows[b - 1] + 1]
            norms[rows[a:b]] = np.add.reduceat(np.square(mat.data[lo:hi]), starts[a:b] - lo)
        norms = np.sqrt(norms)
    _divide_rows(mat.data, mat.indptr, np.where(norms == 0, 1.0, norms))
    return mat


@numba.njit(cache=True, nogil=True)
def _divide_rows(data, indptr, divisors):  # pragma: no cover - compiled
    """``data[k] /= divisors[row of k]`` in place (the same IEEE division as numpy's)."""
    for row in range(len(indptr) - 1):
        d = divisors[row]
        for k in range(indptr[row], indptr[row + 1]):
            data[k] = data[k] / d
