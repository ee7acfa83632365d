"""Boilerplate removal: the vectorised stage against a per-article oracle, and the two-phase batch API."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dedup.boilerplate import (
    _run_mask,
    count_outlet_shingles,
    flat_lists,
    frequent_shingles,
    list_series,
    merge_outlet_counts,
    remove_boilerplate,
    strip_boilerplate,
)
from dedup.schema import SHINGLES


def _oracle_run_mask(flags: np.ndarray, min_run: int) -> np.ndarray:
    out = np.zeros(len(flags), dtype=bool)
    i = 0
    while i < len(flags):
        j = i
        while j < len(flags) and flags[j]:
            j += 1
        if j - i >= max(min_run, 1):
            out[i:j] = True
        i = max(j, i + 1)
    return out


def _oracle(shingles: pl.DataFrame, outlets: list[str | None], min_docs: int, min_run: int) -> list[list[int]]:
    """The definition, article by article: drop frequent-for-the-outlet shingles in long enough runs
    (frequent: in ``min_docs`` of the outlet's distinct shingle sets, an outlet's copies of one text once)."""
    df: dict[tuple[str, int], int] = {}
    texts = {(outlet, tuple(s)) for outlet, s in zip(outlets, shingles["shingles"].to_list())}
    for outlet, s in texts:
        if outlet is not None:
            for h in s:
                df[outlet, h] = df.get((outlet, h), 0) + 1
    out = []
    for outlet, s, seq in zip(outlets, shingles["shingles"].to_list(), shingles["sequence"].to_list()):
        if outlet is None:
            out.append(s)
            continue
        flags = np.array([df.get((outlet, h), 0) >= min_docs for h in seq], dtype=bool)
        drop = {h for h, f in zip(seq, _oracle_run_mask(flags, min_run)) if f}
        out.append([h for h in s if h not in drop])
    return out


def _corpus(seed: int, n: int = 120) -> tuple[pl.DataFrame, pl.Series]:
    """Articles of a few outlets: random shingle sequences, some carrying their outlet's footer or a shared story."""
    rng = np.random.default_rng(seed)
    outlets = [None, "A", "B", "C", "D"]
    footers = {o: rng.integers(0, 2**32, 12, dtype=np.uint64).astype(np.uint32) for o in outlets if o}
    story = rng.integers(0, 2**32, 40, dtype=np.uint64).astype(np.uint32)
    common = rng.integers(0, 2**32, 30, dtype=np.uint64).astype(np.uint32)   # a small vocabulary: repeats
    seqs, who = [], []
    for _ in range(n):
        outlet = outlets[rng.integers(0, len(outlets))]
        parts = [rng.choice(common, rng.integers(0, 20)),
                 rng.integers(0, 2**32, rng.integers(0, 60), dtype=np.uint64).astype(np.uint32)]
        if outlet and rng.random() < 0.6:
            parts.insert(int(rng.integers(0, 3)), footers[outlet][: rng.integers(2, 13)])
        if rng.random() < 0.3:
            parts.append(story[: rng.integers(5, 41)])
        seqs.append(np.concatenate(parts).astype(np.uint32))
        who.append(outlet)
    frame = pl.DataFrame({
        "doc": np.arange(n, dtype=np.uint32),
        "shingles": pl.Series([np.unique(s) for s in seqs], dtype=pl.List(pl.UInt32)),
        "sequence": pl.Series(seqs, dtype=pl.List(pl.UInt32)),
        "n_tokens": np.array([len(s) + 3 for s in seqs], dtype=np.uint32),
        "n_boilerplate": np.zeros(n, dtype=np.uint32),
    }, schema=SHINGLES)
    return frame, pl.Series("outlet", who, dtype=pl.String)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_docs,min_run", [(2, 1), (4, 5), (3, 3), (6, 2)])
def test_remove_boilerplate_matches_the_per_article_definition(seed, min_docs, min_run):
    frame, outlets = _corpus(seed)
    got = remove_boilerplate(frame, outlets, min_docs=min_docs, min_run=min_run)
    want = _oracle(frame, outlets.to_list(), min_docs, min_run)
    assert got["shingles"].to_list() == want
    before = frame["shingles"].list.len().to_numpy()
    assert got["n_boilerplate"].to_list() == (before - np.array([len(w) for w in want])).tolist()
    assert got["sequence"].null_count() == got.height
    assert got.schema == SHINGLES


@pytest.mark.parametrize("seed", range(4))
def test_counting_then_stripping_batch_by_batch_equals_the_whole_frame(seed):
    frame, outlets = _corpus(seed, n=200)
    whole = remove_boilerplate(frame, outlets, min_docs=4, min_run=3)
    cuts = [0, 37, 38, 120, 200]                        # uneven batches, one of a single article
    batches = [(frame[a:b], outlets[a:b]) for a, b in zip(cuts, cuts[1:])]
    counts = merge_outlet_counts(*(count_outlet_shingles(f, o) for f, o in batches))
    assert_frame_equal(counts, count_outlet_shingles(frame, outlets))
    frequent = frequent_shingles(counts, min_docs=4)
    stripped = pl.concat([strip_boilerplate(f, o, frequent, min_run=3) for f, o in batches])
    assert_frame_equal(stripped, whole)


def test_counts_are_document_frequencies_per_outlet():
    frame = pl.DataFrame({"doc": [0, 1, 2, 3], "shingles": [[1, 2], [2, 3], [2], [2, 9]],
                          "sequence": [[1, 2], [2, 3], [2], [2, 9]], "n_tokens": [5, 5, 4, 5],
                          "n_boilerplate": [0, 0, 0, 0]}, schema=SHINGLES)
    counts = count_outlet_shingles(frame, pl.Series(["X", "X", None, "Y"]))
    assert counts.rows() == [("X", 1, 1), ("X", 2, 2), ("X", 3, 1), ("Y", 2, 1), ("Y", 9, 1)]
    assert frequent_shingles(counts, min_docs=2).rows() == [("X", 2)]
    assert frequent_shingles(counts, min_docs=0).height == 0


def test_without_frequent_shingles_nothing_changes_but_the_sequence():
    frame, outlets = _corpus(1, n=20)
    out = remove_boilerplate(frame, outlets, min_docs=0)
    assert_frame_equal(out.drop("sequence"), frame.drop("sequence"))
    out = strip_boilerplate(frame, outlets, frequent_shingles(count_outlet_shingles(frame, outlets), min_docs=99))
    assert_frame_equal(out.drop("sequence"), frame.drop("sequence"))


@pytest.mark.parametrize("seed", range(20))
def test_run_mask_marks_exactly_the_long_runs(seed):
    rng = np.random.default_rng(seed)
    flags = rng.random(rng.integers(0, 60)) < 0.6
    for min_run in (1, 2, 3, 5):
        assert _run_mask(flags, min_run).tolist() == _oracle_run_mask(flags, min_run).tolist()


def test_flat_lists_round_trip_with_nulls_and_empty_lists():
    series = pl.Series("shingles", [[3, 4], None, [], [7]], dtype=pl.List(pl.UInt32))
    values, offsets = flat_lists(series)
    assert values.tolist() == [3, 4, 7] and offsets.tolist() == [0, 2, 2, 2, 3]
    values, offsets = flat_lists(series.slice(2, 2))
    assert values.tolist() == [7] and offsets.tolist() == [0, 0, 1]
    assert list_series(*flat_lists(series)).to_list() == [[3, 4], [], [], [7]]


@pytest.mark.parametrize("seed", range(4))
def test_merge_keys_adds_the_counts_of_sorted_distinct_keys(seed):
    from collections import Counter

    from dedup.boilerplate import merge_keys
    rng = np.random.default_rng(seed)
    parts = []
    for size in rng.integers(0, 300, size=3):
        keys = np.unique(rng.integers(0, 500, size=size).astype(np.uint64) << np.uint64(rng.integers(0, 33)))
        parts.append((keys, rng.integers(1, 9, size=len(keys))))
    want = Counter()
    for keys, docs in parts:
        want.update(dict(zip(keys.tolist(), docs.tolist())))
    keys, docs = merge_keys(*parts)
    assert keys.dtype == np.uint64 and np.all(keys[1:] > keys[:-1])
    assert dict(zip(keys.tolist(), docs.tolist())) == want
    assert merge_keys(parts[0])[0].tolist() == parts[0][0].tolist()


@pytest.mark.parametrize("seed", range(4))
def test_count_keys_counts_each_outlet_shingle_key_of_the_rows_with_an_outlet(seed):
    from collections import Counter

    from dedup.boilerplate import count_keys
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    lists = [np.unique(rng.integers(0, 2**32, size=int(rng.integers(0, 40)), dtype=np.uint64) % 50
                       + (2**32 - 50) * int(rng.integers(0, 2))).astype(np.uint32).tolist() for _ in range(n)]
    codes = rng.integers(-1, 4, size=n)
    frame = pl.DataFrame({"shingles": lists}, schema={"shingles": pl.List(pl.UInt32)})
    want = Counter((int(c) << 32) | v for c, values in zip(codes, lists) if c >= 0 for v in values)
    keys, docs = count_keys(frame, codes)
    assert keys.dtype == np.uint64 and docs.dtype == np.int64
    assert keys.tolist() == sorted(want) and docs.tolist() == [want[k] for k in sorted(want)]


@pytest.mark.parametrize("seed", range(2))
def test_stripping_in_threads_gives_the_definition_whatever_the_thread_count(seed):
    # 1,500 articles, ~100k sequence positions: enough for the compiled pass to split the articles over threads
    from dedup.boilerplate import count_keys, outlet_codes, strip_keys
    frame, outlets = _corpus(seed, n=1500)
    codes, _ = outlet_codes(outlets)
    keys, docs = count_keys(frame, codes)
    frequent = keys[docs >= 4]
    want = _oracle(frame, outlets.to_list(), 4, 3)
    for threads in (1, 2, 5):
        got = strip_keys(frame, codes, frequent, 3, threads=threads)
        assert got["shingles"].to_list() == want
        assert got["n_boilerplate"].to_list() == [len(s) - len(w) for s, w in
                                                  zip(frame["shingles"].to_list(), want)]


def test_a_shingle_outside_the_articles_own_set_is_not_boilerplate_and_breaks_the_run():
    # Article 0's sequence holds 9, which its set does not: 9 is frequent for X but not in the set, so
    # the run 1 2 | 9 | 3 4 is two runs of two, too short for min_run 3; articles 1 and 2 (two texts: 2 ends
    # with its own 7) have the run whole.
    frame = pl.DataFrame({"doc": [0, 1, 2], "shingles": [[1, 2, 3, 4], [1, 2, 3, 4, 9], [1, 2, 3, 4, 7, 9]],
                          "sequence": [[1, 2, 9, 3, 4], [1, 2, 9, 3, 4], [1, 2, 9, 3, 4, 7]],
                          "n_tokens": [8, 8, 9], "n_boilerplate": [0, 0, 0]}, schema=SHINGLES)
    out = remove_boilerplate(frame, pl.Series(["X", "X", "X"]), min_docs=2, min_run=3)
    assert out["shingles"].to_list() == [[1, 2, 3, 4], [], [7]]
    assert out["n_boilerplate"].to_list() == [0, 5, 5]
