"""The corpus-wide IDF model."""

from __future__ import annotations

import re
import sys
import unicodedata

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.align import tfidf, wordrows
from dedup.align.tfidf import _QUOTES, IdfModel, l2_normalise, normalise_for_match
from dedup.align.wordrows import _split_normalised, _WordRows
from dedup.errors import ConfigError
from dedup.normalize import IGNORABLE, unicode14

CORPUS = ["The storm hit the coast.", "The council met on Friday.", "Ferries were cancelled.",
          "The storm hit the coast!"]


def _reference_normalise(text: str) -> str:
    """The definition written with a regular expression (the code uses faster string methods), with
    Unicode 14.0's rules on every Python (:func:`dedup.normalize.unicode14`)."""
    def definition(text: str) -> str:
        return unicodedata.normalize("NFKC", re.sub(f"[{IGNORABLE}\u0640\u064B-\u065F\u0670]", "",
                                                    unicodedata.normalize("NFKC", text).translate(_QUOTES))).casefold()
    return re.sub(r"\s+", " ", unicode14(definition, text)).strip()


def test_normalised_text_follows_its_regular_expression_definition_for_every_character():
    every = [chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF]
    for lo in range(0, len(every), 256):
        chars = every[lo:lo + 256]
        for text in ("".join(chars), " ".join(f"a{c}b" for c in chars), ",\u00a0 ".join(c + c for c in chars)):
            assert normalise_for_match(text) == _reference_normalise(text), hex(ord(chars[0]))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_normalised_text_follows_its_definition_on_any_text(text):
    assert normalise_for_match(text) == _reference_normalise(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30), max_size=12))
def test_words_of_normalised_texts_split_in_arrow_as_in_python(texts):
    norms = [normalise_for_match(t) for t in [*texts, "", "the storm", "", "storm the storm"]]
    ids: dict[str, int] = {}
    cols, indptr = [], [0]
    for text in norms:
        cols.extend(ids.setdefault(w, len(ids)) for w in text.split())
        indptr.append(len(cols))
    words, got_cols, got_indptr = _split_normalised(norms)
    assert words == list(ids)
    assert got_cols.tolist() == cols and got_indptr.tolist() == indptr


def test_rare_words_weigh_more():
    model = IdfModel(features="word").fit(CORPUS)
    vec = model.weights(["the ferries"]).toarray().ravel()
    the, ferries = sorted(vec[vec > 0])
    assert ferries > the


def test_cosine_of_identical_normalised_text_is_one():
    model = IdfModel().fit(CORPUS)
    a, b = model.transform(["The storm hit the coast."]), model.transform(["the  STORM hit the coast."])
    assert (a @ b.T).toarray()[0, 0] == pytest.approx(1.0)


def test_shards_merge_to_the_whole():
    whole = IdfModel().fit(CORPUS)
    merged = IdfModel().fit(CORPUS[:2]).merge(IdfModel().fit(CORPUS[2:]))
    assert merged.n_docs_ == whole.n_docs_
    np.testing.assert_array_equal(merged.df_, whole.df_)


def test_frame_round_trip():
    model = IdfModel(features="word").fit(CORPUS)
    back = IdfModel.from_frame(model.to_frame(), features="word")
    np.testing.assert_array_equal(back.idf_, model.idf_)


def test_unfitted_and_bad_parameters_are_refused():
    with pytest.raises(ConfigError, match="not fitted"):
        IdfModel().transform(["x"])
    with pytest.raises(ConfigError, match="power of two"):
        IdfModel(n_features=1000).fit(CORPUS)


def test_normalisation_straightens_quotes_and_case():
    assert normalise_for_match("“It’s  OK” — he said") == "\"it's ok\" - he said"
    # guillemets and corner brackets are quote styles too: an outlet that swaps them keeps the sentence
    assert normalise_for_match("« C’est ‹ fini › », a-t-il dit") == normalise_for_match('" C\'est \' fini \' ", a-t-il dit')
    assert normalise_for_match("「終わった」と話した") == normalise_for_match("“終わった”と話した")
    # invisible characters (a CMS's soft hyphens, zero-width spaces, direction marks) are not there
    assert normalise_for_match("Die Zusammen\u00adarbeit\u200b ist \u200fgut.\ufeff") == "die zusammenarbeit ist gut."
    assert normalise_for_match("Caf\u00e9") == normalise_for_match("Cafe\u00ad\u0301")   # the mark composes again


def test_every_dash_style_is_a_plain_dash():
    # hyphen, non-breaking hyphen (word processors), figure dash, en and em dashes, horizontal bar, minus
    for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212":
        assert normalise_for_match(f"A long{dash}term plan {dash} now") == "a long-term plan - now", hex(ord(dash))


def test_arabic_tatweel_and_short_vowel_marks_are_no_change():
    # as for shingles (dedup.normalize): a copy that stretches a word with tatweel or adds vowels is kept
    plain = "\u0643\u062a\u0628 \u0627\u0644\u0648\u0632\u064a\u0631"
    for styled in ("\u0643\u0640\u062a\u0640\u0628 \u0627\u0644\u0648\u0632\u064a\u0631",
                   "\u0643\u064e\u062a\u064e\u0628\u064e \u0627\u0644\u0648\u0632\u0650\u064a\u0631\u064f"):
        assert normalise_for_match(styled) == normalise_for_match(plain)


@pytest.mark.parametrize("features", ["char35", "word12+char35", "word"])
def test_document_frequencies_count_each_sentence_once_per_feature(features):
    texts = [*CORPUS, "", "storm storm storm", "The storm hit the coast.", "\u65e5\u672c\u8a9e \u00df"]
    model = IdfModel(features=features).fit(texts)
    counts = IdfModel(features=features)._counts(texts)
    counts.data[:] = 1.0
    np.testing.assert_array_equal(model.df_, np.asarray(counts.sum(axis=0)).ravel())
    assert model.n_docs_ == len(texts)
    batched = IdfModel(features=features)
    np.testing.assert_array_equal(batched._df(texts[:3]) + batched._df(texts[3:]), model.df_)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("abcdé北 ,.-'"), max_size=60), max_size=25))
def test_character_document_frequencies_are_the_binary_counts_summed(texts):
    # counted over the buckets the batch uses, then scattered back into every bucket
    model = IdfModel(features="char35", n_features=2**10)
    counts = model._counts(texts)
    counts.data[:] = 1.0
    np.testing.assert_array_equal(model._df(texts), np.asarray(counts.sum(axis=0)).ravel().astype(np.int64))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=14)
                .map(lambda t: "".join(t.split())).filter(bool), min_size=1, max_size=30))
def test_compiled_word_hashing_equals_scikit_learn(words):
    rows = _WordRows((3, 5), 2**18)
    indptr, indices, data = rows.hash_words(words)
    want = sp.csr_matrix(rows.hasher.transform(words))
    want.sort_indices()
    assert (indptr == want.indptr).all() and (indices == want.indices).all() and (data == want.data).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(alphabet=st.sampled_from("abcdé北 ,.-'\u00a0"), max_size=40), min_size=1,
                         max_size=12), min_size=1, max_size=4), st.sampled_from([3, 20, 1_000_000]))
def test_memo_counts_equal_scikit_learn_across_calls_and_when_it_forgets(batches, max_words):
    # the memo's table grows across calls and is cleared when it would pass max_words words
    rows = _WordRows((3, 5), 2**12, max_words=max_words)
    for texts in batches:
        norms = [normalise_for_match(t) for t in texts]
        want = sp.csr_matrix(rows.hasher.transform(norms))
        want.sort_indices()
        got = rows.counts(texts, normalise_for_match)
        assert got.shape == want.shape and got.has_canonical_format
        assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()
        assert (got.data == want.data).all()
        binary = want.copy()
        binary.data[:] = 1
        np.testing.assert_array_equal(rows.doc_freq(texts, normalise_for_match),
                                      np.asarray(binary.sum(axis=0)).ravel())
        assert len(rows.ids) <= max(max_words, len(set(" ".join(norms).split())))
        # scaled as the counts are written: the very products of scaling them afterwards
        scale = np.random.default_rng(len(texts)).random(2**12) * 9 + 1
        scaled = rows.counts(texts, normalise_for_match, scale=scale)
        assert (scaled.indptr == want.indptr).all() and (scaled.indices == want.indices).all()
        assert (scaled.data == want.data * scale[want.indices]).all()


def test_weights_are_counts_times_idf_bit_for_bit():
    texts = ["The minister said on Tuesday.", "A minister, said Tuesday!", "Nothing here", ""]
    for features in ("char35", "word12", "word12+char35"):
        model = IdfModel(features=features, n_features=2**14).fit(texts + ["The cat sat.", "minister"])
        counts = model.counts(texts)
        weights = model.weights(texts)
        assert (weights.indptr == counts.indptr).all() and (weights.indices == counts.indices).all()
        assert (weights.data == counts.data * model.idf_[counts.indices]).all()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**22).flatmap(lambda bound: st.tuples(
    st.just(max(bound, 1)), st.lists(st.integers(0, max(bound, 1) - 1), unique=True, max_size=300))))
def test_radix_sort_of_a_texts_slots_is_a_sort(case):
    bound, values = case
    a = np.array([*values, 7, 7], dtype=np.int64)   # the entries past m are left alone
    wordrows._radix_sort(a, len(values), bound, np.empty(len(a), dtype=np.int64),
                         np.zeros(wordrows._RADIX + 1, dtype=np.int64))
    assert a[:len(values)].tolist() == sorted(values) and a[len(values):].tolist() == [7, 7]


def _scipy_unit_rows(mat: sp.csr_matrix) -> np.ndarray:
    """Rows scaled to unit length as written with scipy's own operations (the definition)."""
    norms = np.sqrt(np.asarray(mat.multiply(mat).sum(axis=1)).ravel())
    return mat.data / np.repeat(np.where(norms == 0, 1.0, norms), np.diff(mat.indptr))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block", [1 << 22, 1, 500, 1000])
def test_l2_normalise_is_scipys_row_scaling_bit_for_bit_in_place_or_not(seed, block, monkeypatch):
    # rows of 0 to 600 values: numpy's pairwise summation changes its order above 8 and 128 values;
    # the squares are summed in blocks of whole rows of about `block` values (one block, or many)
    monkeypatch.setattr(tfidf, "SLICE", block)
    rng = np.random.default_rng(seed)
    lengths = rng.choice([0, 1, 3, 9, 130, 600], size=40)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([np.sort(rng.choice(5000, n, replace=False)) for n in lengths]).astype(np.int32)
    mat = sp.csr_matrix((rng.integers(1, 9, indptr[-1]) * rng.uniform(0.5, 12.0, indptr[-1]), indices, indptr),
                        shape=(len(lengths), 5000))
    want = _scipy_unit_rows(mat)
    copied = l2_normalise(mat)
    assert np.array_equal(copied.data, want) and not np.shares_memory(copied.data, mat.data)
    data = mat.data
    in_place = l2_normalise(mat, copy=False)
    assert np.array_equal(in_place.data, want) and np.shares_memory(in_place.data, data)


@pytest.mark.parametrize("batch", [1, 3, 20_000])
def test_doc_freq_counter_with_texts_taken_back_equals_fitting_the_rest(batch, monkeypatch):
    monkeypatch.setattr(tfidf.DocFreqCounter, "BATCH", batch)
    texts = [f"the harbour {w} closed on monday {i} ." for i, w in enumerate(["storm", "wind", "fog", "ice", "rain"])]
    for features in ("char35", "word12"):
        counter = IdfModel(features=features, n_features=2**12).counter(normalised=True)
        for text in [*texts, "a sentence taken back later .", texts[0]]:
            counter.add(text)
        counter.remove("a sentence taken back later .")
        counter.remove(texts[0])
        got = counter.done()
        want = IdfModel(features=features, n_features=2**12).fit(texts, normalised=True)
        assert got.n_docs_ == len(texts) and np.array_equal(got.df_, want.df_)
        assert np.array_equal(got.idf_, want.idf_)
