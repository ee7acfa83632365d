"""Alignment cost: the same frames serial and parallel, sentence splitting and hashing shortcuts that change
nothing, and a story carried by hundreds of outlets aligned without one DP pass per version."""

from __future__ import annotations

import gc
import itertools
import os
import random
import subprocess
import sys
import time

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import dedup.align.core as core
import dedup.align.matcher as matcher
import dedup.align.parallel as parallel
import dedup.align.vectors as chunk_vecs
from dedup.align import AlignConfig, align_clusters, fit_idf
from dedup.align.core import identity_key, key_and_norm
from dedup.align.families import story_columns
from dedup.align.matcher import align, align_versions, join_scores
from dedup.align.parallel import chunk_bounds
from dedup.align.sentences import split_many, split_sentences
from dedup.align.tfidf import IdfModel, _vectorizers, l2_normalise
from dedup.align.vectors import _pairwise_sum, _row_dots
from dedup.errors import ConfigError, DedupError
from tests.align.test_align import ADDED, EDITED, OTHER, STORY, articles_and_clusters


def night(n_clusters: int = 12, seed: int = 5):
    """Several small stories: trimmed, edited and padded copies of STORY and OTHER."""
    rng = random.Random(seed)
    members = {}
    for c in range(n_clusters):
        base = STORY if c % 2 else OTHER
        rows = [(f"c{c}-wire", "Wire", base, 0)]
        for v in range(1, 2 + c % 4):
            copy = [s for s in base if rng.random() > 0.2] or base[:1]
            if rng.random() < 0.5:
                copy.insert(rng.randrange(len(copy) + 1), ADDED)
            if rng.random() < 0.5 and base is STORY:
                copy = [EDITED if s == STORY[1] else s for s in copy]
            rows.append((f"c{c}-v{v}", f"Outlet {v}", copy, v))
        members[f"s{c:02d}"] = rows
    return articles_and_clusters(members)


def test_two_workers_give_the_frames_of_one(monkeypatch):
    articles, clusters = night()
    serial = align_clusters(articles, clusters, config=AlignConfig(workers=1))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ARTICLES", 0)     # parallel even for this small night
    assert parallel.n_workers(2, articles.height) == 2
    forked = align_clusters(articles, clusters, config=AlignConfig(workers=2))
    assert serial.sentences.height > 100
    for a, b in ((serial.sentences, forked.sentences), (serial.links, forked.links),
                 (serial.failures, forked.failures)):
        assert_frame_equal(a, b, check_exact=True)


def test_bounded_chunks_give_the_frames_of_one(monkeypatch):
    # a night far larger than its chunk bounds: many small chunks on two workers, the same frames
    articles, clusters = night()
    serial = align_clusters(articles, clusters, config=AlignConfig(workers=1))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ARTICLES", 0)
    monkeypatch.setattr("dedup.align.MAX_CHUNK_SENTENCES", 20)
    calls = []
    real = parallel.iter_chunks
    for module in ("dedup.align", "dedup.align.prepare"):   # the stories' chunks, the split's chunks
        monkeypatch.setattr(f"{module}.MAX_CHUNK_CHARS", 2_000)
        monkeypatch.setattr(f"{module}.iter_chunks", lambda fn, data, bounds, *a, **k: calls.append(len(bounds))
                            or real(fn, data, bounds, *a, **k))
    bounded = align_clusters(articles, clusters, config=AlignConfig(workers=2))
    assert len(calls) == 2   # the split (and the IDF), then the stories
    assert min(calls) > 2 * parallel.CHUNKS_PER_WORKER   # the bounds, not the workers, set the chunk count
    for a, b in ((serial.sentences, bounded.sentences), (serial.links, bounded.links)):
        assert_frame_equal(a, b, check_exact=True)


def test_the_idf_keeps_each_sentences_first_occurrence_by_article_id_whatever_the_chunks(monkeypatch):
    # One identity key, two normalised texts ("storm , said" vs "storm, said": their character n-grams
    # differ). Story order puts the z articles first; article id order puts "a-copy" first, and its text
    # must represent the key. With a chunk per article the two meet only when the parent folds the chunks' results;
    # in one chunk, in the worker.
    loose = "The storm , said officials , closed the port."
    tight = "The storm, said officials, closed the port."
    assert identity_key(loose) == identity_key(tight)
    articles, clusters = articles_and_clusters({
        "s00": [("z-wire", "Wire", [*STORY[1:4], loose], 0), ("z-copy", "Daily", [*STORY[1:3], loose], 5)],
        "s01": [("a-wire", "Wire", [*OTHER[1:4], tight], 0), ("a-copy", "Post", [*OTHER[1:3], tight], 5)],
    })
    reps: dict[str, str] = {}
    assert loose in articles["text"][0] and tight in articles["text"][-1]
    for text in articles.sort("article_id")["text"]:
        for a, b in split_sentences(text):
            key, norm = key_and_norm(text[a:b])
            reps.setdefault(key, norm)
    model = {"features": AlignConfig().features, "n_features": AlignConfig().n_features}
    expected = IdfModel(**model).fit(reps.values(), normalised=True)
    assert reps[identity_key(tight)] == key_and_norm(tight)[1]
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ARTICLES", 0)
    monkeypatch.setattr("dedup.align.prepare.MAX_CHUNK_CHARS", 10)   # bounds_for: one article per chunk

    def one_chunk(sizes, *_):
        return [(0, len(sizes))]

    for cut, workers in itertools.product((parallel.bounds_for, one_chunk), (1, 2)):
        monkeypatch.setattr("dedup.align.prepare.bounds_for", cut)
        idf = fit_idf(articles, clusters, config=AlignConfig(workers=workers))
        assert idf.n_docs_ == len(reps)
        assert np.array_equal(idf.df_, expected.df_)
    assert not np.array_equal(IdfModel(**model).fit([loose]).df_, IdfModel(**model).fit([tight]).df_)


def test_a_given_idf_splits_in_the_alignment_workers_with_the_same_frames(monkeypatch):
    articles, clusters = night()
    serial = align_clusters(articles, clusters, config=AlignConfig(workers=1))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ARTICLES", 0)
    monkeypatch.setattr("dedup.align.MAX_CHUNK_CHARS", 2_000)   # the chunks are cut by characters then
    calls = []
    real = parallel.iter_chunks
    for module in ("dedup.align", "dedup.align.prepare"):
        monkeypatch.setattr(f"{module}.iter_chunks", lambda fn, data, bounds, *a, **k: calls.append(fn.__name__)
                            or real(fn, data, bounds, *a, **k))
    given = align_clusters(articles, clusters, config=AlignConfig(workers=2), idf=serial.idf,
                           furniture=serial.furniture)
    assert calls == ["_align_chunk"]   # no split pass: each chunk splits its own stories
    assert serial.furniture and given.furniture == serial.furniture   # the night has furniture, marked alike
    for a, b in ((serial.sentences, given.sentences), (serial.links, given.links)):
        assert_frame_equal(a, b, check_exact=True)


def test_sentence_frame_joins_the_parts_in_order_and_lets_each_go():
    from dedup.align.rows import sentence_frame
    articles, clusters = night()
    rows = align_clusters(articles, clusters, config=AlignConfig(workers=1)).sentences
    cuts = [0, 1, 40, 41, rows.height]
    parts = [rows.slice(lo, hi - lo).to_arrow() for lo, hi in itertools.pairwise(cuts)]
    joined = sentence_frame(parts)
    assert parts == []   # the caller's list no longer holds the night's rows twice
    assert_frame_equal(joined, rows, check_exact=True)
    assert sentence_frame([]).schema == rows.schema and sentence_frame([]).height == 0


def test_sentence_rows_come_in_sentence_order_without_a_sort_of_the_night(monkeypatch):
    from dedup.align import SENTENCE_ORDER
    from dedup.align.rows import in_sentence_order
    articles, clusters = night()
    monkeypatch.setattr(parallel, "MIN_PARALLEL_ARTICLES", 0)
    monkeypatch.setattr("dedup.align.MAX_CHUNK_SENTENCES", 20)   # many parts, each sorted by its worker
    rows = align_clusters(articles, clusters, config=AlignConfig(workers=2)).sentences
    assert rows.n_chunks() > 2
    assert_frame_equal(rows, rows.sort(SENTENCE_ORDER), check_exact=True)
    # the workers' pyarrow sort is polars' sort (the keys are never null and make a total order)
    assert rows.select("cluster_id", "article_id", "status", "position").null_count().sum_horizontal().item() == 0
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=3)
    assert_frame_equal(pl.from_arrow(in_sentence_order(shuffled.to_arrow())), rows, check_exact=True)


def test_a_chunk_bound_adds_chunks_only_when_the_night_needs_them():
    sizes = [10] * 100
    assert parallel.bounds_for(sizes, 2, max_chunk=10_000) == parallel.bounds_for(sizes, 2)
    bounded = parallel.bounds_for(sizes, 2, max_chunk=50)
    assert len(bounded) == 20 and all(sum(sizes[a:b]) <= 50 for a, b in bounded)
    assert parallel.bounds_for([500, 10], 2, max_chunk=50)[0] == (0, 1)   # an item larger than the bound is not cut


def test_workers_setting_is_validated():
    with pytest.raises(ConfigError, match="workers"):
        AlignConfig(workers=-1)
    assert parallel.n_workers(0, 10) == 1          # a small night never starts workers
    assert parallel.n_workers(0, 10**6) == parallel.available_cores()


def test_chunks_are_contiguous_cover_everything_and_never_cut_an_item():
    sizes = [5, 1, 1, 400, 2, 2, 2, 3, 1]
    bounds = chunk_bounds(sizes, 4)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(sizes)
    assert all(a < b for a, b in bounds) and all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:]))
    assert (3, 4) in bounds                       # the huge item is a chunk of its own
    assert chunk_bounds([], 4) == [] and chunk_bounds([3, 3], 1) == [(0, 2)]


def test_chunks_are_as_many_as_asked_and_even():
    # Filling runs up to sum / n leaves a sliver for an (n + 1)-th run, which on two workers ran alone
    # in a second wave; the target is raised just enough for n runs.
    rng = np.random.default_rng(5)
    for n_items, n in ((2_041, 8), (17_459, 8), (300, 8), (50, 20), (9, 8)):
        sizes = rng.integers(1, 400, n_items).tolist()
        bounds = chunk_bounds(sizes, n)
        runs = [sum(sizes[a:b]) for a, b in bounds]
        assert [a for a, _ in bounds] == [0, *(b for _, b in bounds[:-1])] and bounds[-1][1] == n_items
        assert len(bounds) <= n
        assert max(runs) <= sum(sizes) / n + max(sizes)   # within one item of an even cut
        if n_items >= 300:
            assert len(bounds) == n
    assert chunk_bounds([10] * 100 + [500], 8)[-1] == (100, 101)   # still a run of its own
    assert len(chunk_bounds([7] * 16, 8)) == 8 and len(chunk_bounds([7] * 17, 8)) <= 8


def test_bounded_chunks_fill_whole_waves_of_workers():
    wave = 2 * parallel.CHUNKS_PER_WORKER
    sizes = [3] * 1_000
    bounds = parallel.bounds_for(sizes, 2, max_chunk=100)   # 30 chunks needed: 4 waves
    assert len(bounds) == 4 * wave and all(sum(sizes[a:b]) <= 100 for a, b in bounds)
    lumpy = [100, 1] * 40   # no way to cut them in 2 waves under the bound: the bound wins
    assert all(sum(lumpy[a:b]) <= 100 for a, b in parallel.bounds_for(lumpy, 2, max_chunk=100))


def test_split_many_is_split_sentences_text_by_text():
    texts = [" ".join(STORY), " ".join(STORY[:4]) + "\n\n" + " ".join(OTHER), "", "  ", " ".join(STORY)]
    assert split_many(texts) == [split_sentences(t) for t in texts]


def test_word_by_word_hashing_equals_scikit_learn():
    texts = [*STORY, *OTHER, EDITED, "", " ", "a", "U.S. , \u201cquoted\u201d \u2014 dash", "\u65e5\u672c\u8a9e",
             "x\u00a0y\tz\n\nw", "\u00df \u1e9e \u0130stanbul"]
    for features in ("char35", "word12+char35"):
        model = IdfModel(features=features, n_features=2**20)
        expected = sum((sp.csr_matrix(v.transform(texts)) for v in _vectorizers(features, 2**20)[1:]),
                       sp.csr_matrix(_vectorizers(features, 2**20)[0].transform(texts)))
        for batch in (texts, texts[3:], texts):          # the word memo is reused across calls
            got = model._counts(batch)
            want = expected[len(texts) - len(batch):]
            assert (got.indptr == want.indptr).all() and (got.indices == want.indices).all()
            assert (got.data == want.data).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=6), st.integers(1, 8), st.integers(0, 2**31))
def test_versions_aligned_together_equal_one_by_one(rows, n, seed):
    rng = np.random.default_rng(seed)
    c_norm = rng.uniform(0.5, 3, n)
    c_adj = rng.uniform(0, 1, max(n - 1, 0))
    sims, v_norms, v_adjs = [], [], []
    for m in rows:
        sims.append(np.where(rng.random((m, n)) < 0.4, rng.uniform(0.3, 1.0, (m, n)), 0.0))
        v_norms.append(rng.uniform(0.5, 3, m))
        v_adjs.append(rng.uniform(0, 1, max(m - 1, 0)))
    kw = dict(align_threshold=0.5, join_gain=0.05, join_threshold=0.7)
    moved = dict(reorder_window=1, moved_threshold=0.9)
    together = align_versions(sims, v_norms, v_adjs, c_norm, c_adj, **kw, **moved, batch=3)
    one_by_one = [align(s, join_scores(s, vn, c_norm, va, c_adj, **kw), align_threshold=0.5, **moved)
                  for s, vn, va in zip(sims, v_norms, v_adjs)]
    assert together == one_by_one


def test_a_story_carried_by_hundreds_of_outlets_costs_one_dp_pass_per_128_versions(monkeypatch):
    rng = random.Random(7)
    n_versions = 300
    members = [("wire", "Wire", STORY, 0)]
    for v in range(1, n_versions + 1):
        copy = [s for s in STORY if rng.random() > 0.1]
        copy.insert(rng.randrange(len(copy) + 1), f"Outlet {v} adds its own line number {v} about the storm.")
        members.append((f"v{v:03d}", f"Outlet {v}", copy, v))
    articles, clusters = articles_and_clusters({"big": members})
    passes = []
    real = matcher._table
    monkeypatch.setattr(matcher, "_table", lambda *a: passes.append(a[0].shape) or real(*a))
    result = align_clusters(articles, clusters, config=AlignConfig(workers=1))
    assert len(passes) == -(-n_versions // 128)                    # not one pass per version
    assert result.failures.is_empty()
    own = result.sentences.filter(pl.col("status") != "dropped")
    assert own.height == sum(len(split_sentences(t)) for t in articles["text"])
    added = result.sentences.filter(pl.col("status") == "added")
    assert added.height == n_versions                                # each outlet's own line, nothing else


def _one_cluster_at_a_time(arts, model):
    """The vectors of one cluster computed on their own, with plain scipy (the reference)."""
    raw = model.weights(chunk_vecs.distinct_sentences(arts), normalised=True)
    unit = l2_normalise(raw)
    norms = np.sqrt(np.asarray(raw.multiply(raw).sum(axis=1)).ravel())
    sim = (unit @ unit[arts[0].unique].T).toarray()
    pairs = sorted({(int(a), int(b)) for art in arts for a, b in zip(art.unique[:-1], art.unique[1:])})
    left, right = np.array(pairs).reshape(-1, 2).T
    dots = np.asarray(raw[left].multiply(raw[right]).sum(axis=1)).ravel()
    return unit, norms, sim, dict(zip(pairs, dots.tolist()))


@pytest.mark.parametrize("alone", [False, True])
def test_a_chunks_vectors_computed_together_are_each_clusters_own_bit_for_bit(alone):
    # together, the clusters share sentences (the chunk's rows are gathered: a shared one once per
    # cluster); alone, each cluster's distinct sentences are the chunk's rows in order (no gather)
    articles, clusters = night(10)
    texts = dict(articles.select("article_id", "text").iter_rows())
    model = IdfModel(features="char35").fit([*STORY, *OTHER, EDITED, ADDED])
    groups = [[core.make_article({"article_id": a, "outlet": None, "published": None}, texts[a], spans, {})
               for a, spans in zip(ids, split_many([texts[a] for a in ids]))]
              for ids in clusters.group_by("cluster_id", maintain_order=True).agg("article_id")["article_id"]]
    if alone:
        together = [chunk_vecs.chunk_vectors([arts], model)[0] for arts in groups]
    else:
        together = chunk_vecs.chunk_vectors(groups, model)
        shared = [set(chunk_vecs.distinct_sentences(arts)) for arts in groups]
        assert any(a & b for i, a in enumerate(shared) for b in shared[i + 1:])   # the gather is exercised
    for arts, got in zip(groups, together):
        unit, norms, sim, adjacent = _one_cluster_at_a_time(arts, model)
        assert norms.tobytes() == got.norms.tobytes() and sim.tobytes() == got.sim.tobytes()
        for art in arts:   # each article's consecutive sentences: the same dot products
            want = np.array([adjacent[a, b] for a, b in zip(art.unique[:-1].tolist(), art.unique[1:].tolist())])
            assert got.adjacent_dots(art.unique).tobytes() == want.astype(np.float64).tobytes()
        mine = got.units(list(range(unit.shape[0])))
        assert (mine.indptr == unit.indptr).all() and mine.data.tobytes() == unit.data.tobytes()


LOCAL = ["The mayor of Brighton opened the town hall as a shelter for families without power.",
         "The mayor of Hove opened the town hall as a shelter for families without heating.",
         "Schools in Worthing stayed closed on Wednesday, the county council said.",
         "Schools in Lewes stayed closed on Wednesday and Thursday, the county council said.",
         "A fundraising page for the families had raised 20,000 pounds by Wednesday evening.",
         "Photographs of the damage can be sent to our newsroom."]


@pytest.mark.parametrize("block", [1024, 3])
def test_stories_aligned_together_equal_one_by_one(monkeypatch, block):
    """align_stories (a chunk's stories, their added families grouped at once) gives every story the rows and
    LINKS that align_prepared gives it alone with group_similar on the story's own rows; ``block`` 3 sends
    the stories with more added sentences alone."""
    monkeypatch.setattr(core, "GROUP_BLOCK", block)
    rng = random.Random(11)
    members = {}
    for c in range(14):
        base = STORY if c % 3 else OTHER
        rows = [(f"c{c}-wire", "Wire", base, 0)]
        for v in range(1, 2 + c % 5):
            copy = [s for s in base if rng.random() > 0.2] or base[:1]
            for extra in rng.sample(LOCAL, rng.randrange(4)):   # near-copies across versions join a family
                copy.insert(rng.randrange(len(copy) + 1), extra)
            rows.append((f"c{c}-v{v}", f"Outlet {v}", copy, v))
        members[f"s{c:02d}"] = rows
    articles, clusters = articles_and_clusters(members)
    texts = dict(articles.select("article_id", "text").iter_rows())
    model = IdfModel(features="char35").fit([*STORY, *OTHER, *LOCAL])
    stories = []
    for (cluster_id,), group in clusters.sort("published").group_by("cluster_id", maintain_order=True):
        ids = group["article_id"].to_list()
        stories.append((cluster_id, [core.make_article({"article_id": a, "outlet": a.split("-")[-1], "published": None},
                                                       texts[a], spans, {})
                                     for a, spans in zip(ids, split_many([texts[a] for a in ids]))]))
    together = chunk_vecs.chunk_vectors([arts for _, arts in stories], model)
    parts, failures = core.align_stories([(c, arts, v) for (c, arts), v in zip(stories, together)], AlignConfig())
    assert failures == [] and len(parts) == len(stories)
    monkeypatch.setattr(core, "GROUP_BLOCK", 0)     # the reference: each story's group_similar on its own rows
    n_families = 0
    for (cluster_id, arts), vectors, part in zip(stories, together, parts):
        alone = core._Rows()
        core.align_prepared(cluster_id, arts, vectors, AlignConfig(), alone)
        assert part.table().equals(alone.table()) and part.links == alone.links
        n_families += len({f for f, s in zip(alone.family_id, alone.status) if s == "added"})
    assert n_families > 20 and sum(len(p.links) for p in parts) > 10   # families and links did form


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 600), st.floats(0.01, 0.6), st.integers(0, 2**31))
def test_sparse_kernels_equal_scipy_bit_for_bit(n_rows, n_cols, density, seed):
    # chunk_vectors' compiled row dots, norms and per-cluster columns against the scipy operations they replace
    rng = np.random.default_rng(seed)
    mat = sp.random(n_rows, n_cols, density=density, format="csr", random_state=rng,
                    data_rvs=lambda k: rng.integers(1, 5, k) * rng.uniform(1, 9, k))
    mat.sort_indices()
    indptr, indices = mat.indptr.astype(np.int64), mat.indices.astype(np.int64)
    left, right = rng.integers(0, n_rows, 50), rng.integers(0, n_rows, 50)
    want = np.asarray(mat[left].multiply(mat[right]).sum(axis=1)).ravel()
    assert (_row_dots(indptr, indices, mat.data, left, right) == want).all()
    every = np.arange(n_rows)
    norms = np.sqrt(_row_dots(indptr, indices, mat.data, every, every))
    assert (norms == np.sqrt(np.asarray(mat.multiply(mat).sum(axis=1)).ravel())).all()
    unit, reference = l2_normalise(mat, norms=norms), l2_normalise(mat)
    assert (unit.indptr == reference.indptr).all() and (unit.indices == reference.indices).all()
    assert (unit.data == reference.data).all()
    starts = np.unique(np.concatenate([[0, n_rows], rng.integers(0, n_rows, 3)]))
    block = np.repeat(np.repeat(np.arange(len(starts) - 1), np.diff(starts)), np.diff(mat.indptr))
    _, columns = np.unique(block * n_cols + mat.indices, return_inverse=True)
    got, n_columns = story_columns(indptr, indices, starts, n_cols)
    assert (got == columns).all() and n_columns == len(np.unique(block * n_cols + mat.indices))


def test_pairwise_sum_is_numpys():
    rng = np.random.default_rng(7)
    for n in [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 1000, 4099]:
        x = rng.random(n) * 10.0 ** rng.uniform(-3, 3, n)
        assert x[0] + _pairwise_sum(x, 1, n - 1) == np.add.reduceat(x, [0])[0]


def _pid(data, start, stop):
    return start, os.getpid()


def test_each_wave_of_chunks_gets_fresh_workers():
    wave = 2 * parallel.CHUNKS_PER_WORKER
    got = parallel.map_chunks(_pid, None, [(k, k + 1) for k in range(2 * wave + 1)], workers=2)
    assert [start for start, _ in got] == list(range(2 * wave + 1))      # results in chunk order
    pids = [{pid for _, pid in got[lo:lo + wave]} for lo in range(0, len(got), wave)]
    assert os.getpid() not in set().union(*pids)
    assert not pids[0] & pids[1] and not pids[1] & pids[2]


def _exit_in_worker(data, start, stop):
    """A chunk function whose second chunk dies the way an out-of-memory kill ends a worker."""
    if start == 1:
        os._exit(9)
    return start


def test_a_worker_killed_from_outside_ends_the_stage_with_a_clear_error():
    with pytest.raises(DedupError, match="killed from outside"):
        parallel.map_chunks(_exit_in_worker, None, [(0, 1), (1, 2)], workers=2)
    assert not gc.isenabled() or gc.get_freeze_count() == 0  # the parent's objects are collectable again


_ORPHAN_SCRIPT = """
import os, sys, time
from dedup.align.parallel import map_chunks

def wait(path, start, stop):
    with open(f"{path}/{os.getpid()}", "w"):
        pass
    time.sleep(60)
    return start

map_chunks(wait, sys.argv[1], [(0, 1), (1, 2)], workers=2)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_their_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = [int(p.name) for p in tmp_path.iterdir()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        parent.kill()   # what a scheduler's kill -9 does
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
