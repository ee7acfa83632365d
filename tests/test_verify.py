"""Verification: vectorised overlaps and batched sentence shares against their per-pair definitions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import dedup.align.parallel
from dedup.align.tfidf import IdfModel
from dedup.cluster import FlatSets, _overlaps, verify
from dedup.config import AlignConfig, ClusterConfig
from dedup.schema import CANDIDATES
from dedup.sentence_match import SentenceMatcher
from dedup.shingle import shingle_flat
from tests.conftest import make_story


def _random_sets(seed: int, n: int = 60) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**32, 400, dtype=np.uint64).astype(np.uint32)    # shared hashes: real overlaps
    sets = []
    for _ in range(n):
        mine = np.concatenate([rng.choice(pool, rng.integers(0, 120)),
                               rng.integers(0, 2**32, rng.integers(0, 40), dtype=np.uint64).astype(np.uint32)])
        sets.append(np.unique(mine))
    return sets


@pytest.mark.parametrize("seed", range(5))
def test_overlaps_are_the_exact_intersection_sizes(seed):
    sets = _random_sets(seed)
    rng = np.random.default_rng(100 + seed)
    left, right = rng.integers(0, len(sets), 500), rng.integers(0, len(sets), 500)
    got = _overlaps(FlatSets.from_list(sets), left, right)
    assert got.tolist() == [len(set(sets[i].tolist()) & set(sets[j].tolist())) for i, j in zip(left, right)]


def test_flat_sets_from_a_list_and_from_a_column_agree():
    sets = _random_sets(7, n=10) + [np.empty(0, np.uint32)]
    a = FlatSets.from_list(sets)
    b = FlatSets.from_series(pl.Series(sets, dtype=pl.List(pl.UInt32)))
    assert np.array_equal(a.values, b.values) and np.array_equal(a.offsets, b.offsets)
    assert len(a) == len(sets) and all(np.array_equal(a[i], s) for i, s in enumerate(sets))


def _texts(n_stories: int = 6) -> list[str]:
    """Stories, their trimmed, reordered and partly rewritten copies, and unrelated ones."""
    out = []
    for s in range(n_stories):
        story = make_story(500 + s, 10)
        out.append(" ".join(story))
        out.append(" ".join(story[:4]))
        out.append(" ".join(story[5:] + story[:2]))
        out.append(" ".join(x.replace("the", "a") for x in story[:7]) + " " + " ".join(make_story(700 + s, 3)))
    return out


def test_batched_shares_equal_each_pair_measured_on_its_own():
    texts = _texts()
    matcher = SentenceMatcher(AlignConfig()).fit(dict(enumerate(texts)))
    left, right = np.triu_indices(len(texts), 1)
    got = matcher.shares(left, right)
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist())):
        vi, vj = matcher.vectors_[i], matcher.vectors_[j]
        want = [np.count_nonzero((a @ b.T).max(axis=1).toarray().ravel() >= AlignConfig().align_threshold) / a.shape[0]
                for a, b in ((vi, vj), (vj, vi)) if a.shape[0] <= b.shape[0]]     # the fewer sentences; both on a tie
        assert got[k] == max(want)   # bit for bit
    assert matcher.share(0, 1) == got[0]
    assert (got > 0.9).sum() >= 6 and (got < 0.1).sum() >= 100


def test_a_given_idf_is_used_as_it_is():
    texts = dict(enumerate(_texts(2)))
    night = SentenceMatcher(AlignConfig()).fit(dict(enumerate(_texts(6)))).idf_
    matcher = SentenceMatcher(AlignConfig()).fit(texts, idf=night)
    assert matcher.idf_ is night
    assert (matcher.vectors_[0] != night.transform(matcher.sentences_[0])).nnz == 0


def test_verify_takes_a_list_of_sets_or_flat_sets_alike():
    sets = _random_sets(3, n=40)
    rng = np.random.default_rng(3)
    pairs = np.unique(np.sort(rng.integers(0, 40, (300, 2)), axis=1), axis=0)
    pairs = pairs[pairs[:, 0] < pairs[:, 1]]
    cand = pl.DataFrame({"left": pairs[:, 0], "right": pairs[:, 1]}, schema=CANDIDATES)
    config = ClusterConfig(min_overlap=2)
    a = verify(cand, sets, config=config)
    b = verify(cand, FlatSets.from_list(sets), config=config)
    assert_frame_equal(a, b)
    assert a["overlap"].to_list() == [len(set(sets[i].tolist()) & set(sets[j].tolist())) for i, j in pairs.tolist()]


def _pair_decisions(matcher: SentenceMatcher, threshold: float) -> list[float]:
    """Every pair's share from its own scipy product (the definition the kernel must reproduce): the article
    with fewer sentences measured, the larger of the two shares on a tie."""
    out = []
    n = len(matcher.rows_)
    for i, j in zip(*np.triu_indices(n, 1)):
        vi, vj = matcher.vectors_.get(int(i)), matcher.vectors_.get(int(j))
        if vi is None or vj is None:
            out.append(0.0)
            continue
        cosines = (vi @ vj.T).toarray()
        out.append(max(np.count_nonzero(measured.max(axis=1) >= threshold) / measured.shape[0]
                       for measured in (cosines, cosines.T) if measured.shape[0] <= measured.shape[1]))
    return out


def test_shares_decide_as_the_pairs_product_does_even_on_the_threshold_itself():
    # Thresholds equal to cosines that occur: a cosine summed in another order than scipy's (or with a fused
    # multiply-add) can land one ulp below its own value and flip the decision.
    matcher = SentenceMatcher(AlignConfig()).fit(dict(enumerate(_texts(3))))
    vi, vj = matcher.vectors_[0], matcher.vectors_[3]
    cosines = np.unique((vi @ vj.T).data)
    cosines = cosines[cosines < 1.0]
    left, right = np.triu_indices(len(matcher.rows_), 1)
    for c in cosines[np.linspace(0, len(cosines) - 1, 12).astype(int)]:
        matcher.config = AlignConfig(align_threshold=float(c), join_threshold=1.0, moved_threshold=1.0)
        assert matcher.shares(left, right).tolist() == _pair_decisions(matcher, float(c))


@pytest.mark.parametrize("features", ["char35", "word12+char35"])
def test_vectors_and_idf_are_the_idf_models_fit_and_transform(features):
    config = AlignConfig(features=features)
    matcher = SentenceMatcher(config).fit(dict(enumerate(_texts(3) + [""])))
    distinct = list(dict.fromkeys(s for sents in matcher.sentences_.values() for s in sents))
    model = IdfModel(features=features, n_features=config.n_features).fit(distinct)
    assert np.array_equal(matcher.idf_.df_, model.df_) and matcher.idf_.n_docs_ == model.n_docs_
    for d, sents in matcher.sentences_.items():
        if sents:
            want = model.transform(sents)
            got = matcher.vectors_[d]
            assert np.array_equal(got.indptr, want.indptr) and np.array_equal(got.indices, want.indices)
            assert np.array_equal(got.data, want.data)      # bit for bit
    assert matcher.rows_[len(matcher.sentences_) - 1].size == 0 and matcher.facts_[len(matcher.sentences_) - 1] == set()


@pytest.mark.parametrize("workers", [2, 3])
def test_forked_workers_fit_exactly_what_one_process_fits(workers):
    texts = dict(enumerate(_texts(6)))
    one = SentenceMatcher(AlignConfig()).fit(texts, workers=1)
    many = SentenceMatcher(AlignConfig()).fit(texts, workers=workers)
    assert one.sentences_ == many.sentences_ and one.facts_ == many.facts_
    assert all(np.array_equal(one.rows_[d], many.rows_[d]) for d in texts)
    for attr in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(one.matrix_, attr), getattr(many.matrix_, attr))
    assert np.array_equal(one.idf_.df_, many.idf_.df_)
    left, right = np.triu_indices(len(texts), 1)
    assert np.array_equal(one.shares(left, right), many.shares(left, right))


def test_verify_gives_the_same_pairs_on_one_or_two_workers(monkeypatch):
    texts = _texts(6)
    flat = shingle_flat(texts)
    sets = FlatSets(flat.values, flat.offsets)
    left, right = np.triu_indices(len(texts), 1)
    cand = pl.DataFrame({"left": left, "right": right}, schema=CANDIDATES)
    config = ClusterConfig(min_overlap=2, rescue_min_containment=0.0, threshold=0.9)
    monkeypatch.setattr(dedup.align.parallel, "MIN_PARALLEL_ARTICLES", 0)
    one = verify(cand, sets, config=config, texts=texts, align_config=AlignConfig(workers=1))
    two = verify(cand, sets, config=config, texts=pl.Series(texts), align_config=AlignConfig(workers=2))
    assert_frame_equal(one, two, check_exact=True)
    assert one["sentence_share"].is_not_null().sum() >= 12 and one["accepted"].sum() >= 6


def test_facts_agree_as_digests_is_the_share_of_the_fewer_facts():
    """The fitted digests give |A & B| / min(|A|, |B|) of the facts' sets (1.0 when one has none)."""
    from dedup.sentence_match import _facts
    texts = dict(enumerate(_texts(5)))
    texts[5] = "no figures or names here at all."
    texts[6] = "Zanzibar reported 42 boats and 17 ferries. " + texts[1]
    matcher = SentenceMatcher(AlignConfig()).fit(texts, workers=1)
    left, right = (a.ravel() for a in np.meshgrid(range(8), range(8)))   # doc 7 was not fitted
    want = []
    for i, j in zip(left.tolist(), right.tolist()):
        a, b = _facts(texts.get(i, "")), _facts(texts.get(j, ""))
        want.append(len(a & b) / min(len(a), len(b)) if a and b else 1.0)
    assert matcher.facts_ == {d: _facts(t) for d, t in texts.items()}
    assert matcher.facts_agree_many(left, right).tolist() == want
    assert any(0 < w < 1 for w in want) and matcher.facts_agree(0, 5) == 1.0
    assert matcher.facts_agree(6, 0) == matcher.facts_agree(0, 6) < 1


def test_capitalised_names_are_facts_in_every_cased_script():
    from dedup.sentence_match import _facts
    assert _facts("Путин встретился с Макроном в Москве в 2024 году.") == {"Путин", "Макроном", "Москве", "2024"}
    assert _facts("Élise met Øster and Łukasz in Paris. The end") == {"Élise", "Øster", "Łukasz", "Paris"}
    assert _facts("émile et ørsted sont là") == set()   # lower case, whatever the script
    # a CMS's soft hyphens cut neither names nor figures
    assert _facts("Die Bundes\u00adregierung in Ber\u00adlin zahlte 1\u00ad000 Euro.") == \
        _facts("Die Bundesregierung in Berlin zahlte 1000 Euro.") == {"Die", "Bundesregierung", "Berlin", "1000",
                                                                     "Euro"}


@pytest.mark.parametrize("names", [(("Лавров", "Ваном", "Пекине"), ("Шойгу", "Кимом", "Сеуле")),
                                   (("Ødegaard", "Éluard", "Åre"), ("Łukasz", "Ömer", "Ürümqi"))])
def test_a_templated_item_with_other_names_is_another_story_in_any_script(names):
    """One template, two sets of names: every sentence matches (share 1.0) and containment is in the
    sentence test's range, but the facts disagree, so the items stay apart (as with English names)."""
    from dedup import cluster_frame
    template = ["Министр иностранных дел {a} встретился с {b} в {c} во вторник для переговоров о торговле.",
                "Переговоры между {a} и {b} в {c} были посвящены поставкам энергии и трубопроводу.",
                "По данным министерства, {a} сообщил {b} в {c}, что соглашение будет подписано.",
                "Чиновники в {c} сообщили, что {a} и {b} также обсудили ситуацию в регионе.",
                "После встречи в {c} {a} поблагодарил {b} за теплый прием и визит.",
                "Аналитики отметили, что встреча {a} и {b} в {c} показала улучшение отношений."]
    texts = [" ".join(s.format(a=a, b=b, c=c) for s in template) for a, b, c in names]
    result = cluster_frame(pl.DataFrame({"id": ["one", "two"], "outlet": ["Wire", "Wire"], "title": ["t1", "t2"],
                                         "text": texts, "published": ["2026-11-27T08:00:00Z"] * 2}))
    pair = result.pairs.row(0, named=True)
    assert pair["sentence_share"] == 1.0 and 0.2 <= pair["containment"] < 0.5
    assert not pair["accepted"] and result.clusters["cluster_size"].to_list() == [1, 1]
