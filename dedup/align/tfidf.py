"""TF-IDF sentence vectors with an IDF fitted once on the whole night's corpus.

Why one corpus-wide IDF: inside one cluster every version repeats the same
names and numbers, so an IDF fitted on a cluster's few dozen sentences would
call the story's key words "common" and weigh them down, exactly where they
tell two sentences apart. Over the night's corpus (every sentence of every
clustered article) a story's names are rare and function words are common, as
they should be.

Features are hashed (scikit-learn ``HashingVectorizer``, 2**20 buckets, no
vocabulary to store; the default character n-grams go through a numba port of
its hashing, word by word, with the same buckets and counts: :mod:`dedup.align.wordrows`)
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
import scipy.sparse as sp

from dedup.align.wordrows import _same, _WordRows
from dedup.errors import ConfigError
from dedup.normalize import DROPPED_RE, Unicode14Re, unicode14

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

Features = Literal["word", "word12", "char35", "word12+char35"]

# Quote styles: curly and low quotes, guillemets (French, Russian, German, Arabic), CJK corner brackets; dash
# styles: the hyphen (U+2010, and the non-breaking one word processors insert, which NFKC makes U+2010), the
# figure, en and em dashes, the horizontal bar and the minus sign.
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"',
                         "«": '"', "»": '"', "‹": "'", "›": "'", "「": '"', "」": '"', "『": '"', "』": '"',
                         "\u2010": "-", "\u2012": "-", "–": "-", "—": "-", "\u2015": "-", "−": "-", "\u00a0": " "})


def normalise_for_match(text: str) -> str:
    """Casefolded NFKC text with straight quotes, plain dashes, single spaces, and neither invisible
    characters (:data:`dedup.normalize.IGNORABLE`: soft hyphens, zero-width spaces...) nor Arabic
    tatweel and short-vowel marks, as for shingles (:data:`dedup.normalize.DROPPED_RE`). Stateless.

    ``str.split()`` and the regular expression ``\\s`` agree on what is whitespace, so the join is
    ``re.sub(r"\\s+", " ", text).strip()``, faster; ASCII text has nothing to translate. Unicode 14.0's
    rules on every Python (:func:`dedup.normalize.unicode14`)."""
    return " ".join(unicode14(_match_form, text).split())


def _match_form(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text, removed = DROPPED_RE.subn("", text.translate(_QUOTES))
        if removed:   # a mark the removed character had cut off composes again (e.g. a soft hyphen before it)
            text = unicodedata.normalize("NFKC", text)
    return text.casefold()


_CHAR_NGRAMS = (3, 5)   # the char35 features: character 3- to 5-grams inside words
# \w+ (one-character tokens kept: "5 percent" vs "6 percent" matters in news), Unicode 14.0's on every Python
_TOKEN = Unicode14Re("[{w}]+")


def _vectorizers(features: Features, n_features: int, preprocessor=normalise_for_match) -> list[HashingVectorizer]:
    """scikit-learn's vectorizers of ``features``, in the order their counts are added.

    The default ``char35`` features never need them (:class:`_WordRows` counts them), so scikit-learn,
    whose import takes over a second, is imported only here."""
    from sklearn.feature_extraction.text import HashingVectorizer

    common = dict(n_features=n_features, alternate_sign=False, norm=None, lowercase=False,
                  preprocessor=preprocessor, dtype=np.float64)
    words = {"analyzer": "word", "tokenizer": _TOKEN.findall, "token_pattern": None}
    word1 = HashingVectorizer(ngram_range=(1, 1), **words, **common)
    word12 = HashingVectorizer(ngram_range=(1, 2), **words, **common)
    char = HashingVectorizer(analyzer="char_wb", ngram_range=_CHAR_NGRAMS, **common)
    return {"word": [word1], "word12": [word12], "char35": [char], "word12+char35": [word12, char]}[features]


class IdfModel:
    """Document frequencies of hashed sentence features (a scikit-learn-style estimator).

    Parameters
    ----------
    features:
        ``"word12"`` word unigrams and bigrams (this class's default),
        ``"word"`` unigrams, ``"char35"`` character 3-5-grams within words
        (the features a run uses, :attr:`dedup.config.AlignConfig.features`:
        chosen on MSRP train, see ``benchmarks/README.md``), or both word
        and character n-grams.
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
        if self.features == "char35":   # the IDF applied as the counts are written (same products)
            return self._word_rows().counts(texts, _same if normalised else normalise_for_match, scale=self.idf_)
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
