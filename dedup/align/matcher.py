"""Order-aware alignment of one version's sentences against the canonical's.

The input is the cosine matrix ``S`` (version sentences x canonical sentences)
and the information needed to score *joined* sentences. The output is a list
of :class:`Link`: which version sentences go with which canonical sentences.
Everything here is stateless and knows nothing about text.

How it decides
--------------
1. **Monotone alignment** (dynamic programming, like a weighted LCS): choose
   the set of matches, in the same order in both articles, that maximises the
   summed cosine. A pair can only match when its cosine reaches
   ``align_threshold``. Besides one-to-one matches, two moves handle sentences
   that an outlet split or merged: one version sentence against two adjacent
   canonical sentences (*merge*), and two adjacent version sentences against
   one canonical sentence (*split*). Such a move scores the cosine of the
   joined text and is allowed only when that cosine reaches ``join_threshold``
   (higher than ``align_threshold``: a real split of a copied sentence joins
   back to nearly the same text, while two loosely related sentences of the
   same topic can jointly reach the low threshold) and joining raises the
   cosine over the best single sentence by at least ``join_gain``. A join
   scores once, not once per sentence it links, so a weak join never outbids
   an identical sentence elsewhere. A pair of *identical* sentences (equal
   identity keys, given as ``same``) scores ``IDENTICAL_BONUS`` more: when an
   outlet swaps two similar sentences ("...the northern terminal rose by 12
   percent" and "...the southern terminal rose by 7 percent"), the two crossed
   near-matches (0.90 + 0.90) must not outbid one identical pair and turn both
   sentences into edits of each other, with figures "changed"; the identical
   one is kept in order and the other is found as moved (below).
2. **Moved sentences**: outlets sometimes move a paragraph. The sentences the
   monotone pass left over are paired greedily, best cosine first, when the
   canonical sentence is within ``reorder_window`` sentences of where the
   surrounding matches say it should be, or anywhere when the cosine reaches
   ``moved_threshold`` (strong evidence needs no order support). Moved
   sentences can be split or merged too, under the same join rules.

Cost: O(m * n) per version with numpy rows, no Python loop over cells.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numba
import numpy as np

_NEG = -np.inf
#: What an identical pair scores in the monotone alignment on top of its cosine (see the module docstring).
IDENTICAL_BONUS = 1.0


@dataclass(frozen=True)
class Link:
    """Version sentences ``version`` are the canonical sentences ``canonical``."""

    version: tuple[int, ...]
    canonical: tuple[int, ...]
    similarity: float
    moved: bool = False


@dataclass(frozen=True)
class JoinScores:
    """Cosines of joined neighbours, ``-inf`` where a join is not allowed.

    merge[i, j]: version sentence i against canonical j and j+1, shape (m, n-1).
    split[i, j]: version sentences i and i+1 against canonical j, shape (m-1, n).
    """

    merge: np.ndarray
    split: np.ndarray


def join_scores(sim: np.ndarray, v_norm: np.ndarray, c_norm: np.ndarray, v_adj: np.ndarray,
                c_adj: np.ndarray, *, align_threshold: float, join_gain: float,
                join_threshold: float = 0.0) -> JoinScores:
    """Cosines of joined neighbours from the cosine matrix and raw-vector norms.

    ``v_norm``/``c_norm`` are the L2 norms of the unnormalised TF-IDF rows and
    ``v_adj``/``c_adj`` the dot products of each row with the next one (length
    m-1 and n-1). Joining two sentences adds their unnormalised rows, so for a
    unit version row ``v``: ``cos(v, a + b) = (v.a + v.b) / |a + b|`` and
    ``|a + b|^2 = |a|^2 + |b|^2 + 2 a.b``. Stateless.
    """
    m, n = sim.shape
    merge = np.full((m, max(n - 1, 0)), _NEG)
    split = np.full((max(m - 1, 0), n), _NEG)
    if n >= 2:
        dots = sim * c_norm[None, :]                       # v_i . c_j (raw canonical rows)
        joint = np.sqrt(c_norm[:-1] ** 2 + c_norm[1:] ** 2 + 2 * c_adj)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = (dots[:, :-1] + dots[:, 1:]) / joint[None, :]
        best_single = np.maximum(sim[:, :-1], sim[:, 1:])
        ok = (cos >= max(align_threshold, join_threshold)) & (cos >= best_single + join_gain) & np.isfinite(cos)
        merge = np.where(ok, cos, _NEG)
    if m >= 2:
        dots = sim * v_norm[:, None]                       # v_i (raw) . c_j (unit)
        joint = np.sqrt(v_norm[:-1] ** 2 + v_norm[1:] ** 2 + 2 * v_adj)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = (dots[:-1, :] + dots[1:, :]) / joint[:, None]
        best_single = np.maximum(sim[:-1, :], sim[1:, :])
        ok = (cos >= max(align_threshold, join_threshold)) & (cos >= best_single + join_gain) & np.isfinite(cos)
        split = np.where(ok, cos, _NEG)
    return JoinScores(merge=merge, split=split)


def align(sim: np.ndarray, joins: JoinScores | None, *, align_threshold: float, reorder_window: int,
          moved_threshold: float, same: np.ndarray | None = None) -> list[Link]:
    """Links between version sentences (rows of ``sim``) and canonical ones (columns). Stateless.

    Links are sorted by their first version sentence. A sentence appears in at
    most one link; version sentences in no link are *added*, canonical ones
    *dropped*. ``same``: which pairs are identical sentences (bool, shaped as
    ``sim``; see ``IDENTICAL_BONUS``).
    """
    m, n = sim.shape
    if m == 0 or n == 0:
        return []
    w11 = np.where(sim >= align_threshold, sim, _NEG)
    dp11 = w11 if same is None else w11 + IDENTICAL_BONUS * same
    w12 = joins.merge if joins is not None else np.full((m, max(n - 1, 0)), _NEG)
    w21 = joins.split if joins is not None else np.full((max(m - 1, 0), n), _NEG)
    table = np.zeros((m + 1, n + 1))
    for i in range(1, m + 1):
        cand = table[i - 1].copy()                                   # version sentence i-1 unmatched
        np.maximum(cand[1:], table[i - 1][:-1] + dp11[i - 1], out=cand[1:])
        if n >= 2:
            np.maximum(cand[2:], table[i - 1][:-2] + w12[i - 1], out=cand[2:])
        if i >= 2:
            np.maximum(cand[1:], table[i - 2][:-1] + w21[i - 2], out=cand[1:])
        table[i] = np.maximum.accumulate(cand)                       # canonical sentences unmatched
    links = _backtrack(table, dp11, w12, w21, w11)
    links.extend(_moved(sim, joins, links, align_threshold=align_threshold, reorder_window=reorder_window,
                        moved_threshold=moved_threshold))
    return sorted(links, key=lambda link: link.version[0])


def align_versions(sims: list[np.ndarray], v_norms: list[np.ndarray], v_adjs: list[np.ndarray], c_norm: np.ndarray,
                   c_adj: np.ndarray, *, align_threshold: float, join_gain: float, join_threshold: float,
                   reorder_window: int, moved_threshold: float, batch: int = 128,
                   sames: list[np.ndarray] | None = None) -> list[list[Link]]:
    """``align(sim, join_scores(sim, ...), same=same)`` for many versions of one canonical at once. Stateless.

    The same numbers as one call per version (every cell is computed by the
    same floating-point operations), but the dynamic programme advances all
    versions row by row together: a cluster costs about as many numpy calls
    as its longest version has sentences, not as all its versions together.
    Versions are padded to the longest with rows that can match nothing, and
    processed ``batch`` at a time so memory stays bounded.
    """
    out: list[list[Link]] = [[] for _ in sims]
    n = len(c_norm)
    live = [k for k, sim in enumerate(sims) if sim.shape[0] and n]
    for at in range(0, len(live), batch):
        group = live[at:at + batch]
        rows = max(sims[k].shape[0] for k in group)
        sim = np.zeros((len(group), rows, n))
        same = np.zeros((len(group), rows, n))
        v_norm = np.zeros((len(group), rows))
        v_adj = np.zeros((len(group), max(rows - 1, 0)))
        for r, k in enumerate(group):
            m = sims[k].shape[0]
            sim[r, :m], v_norm[r, :m], v_adj[r, :m - 1] = sims[k], v_norms[k], v_adjs[k]
            if sames is not None:
                same[r, :m] = sames[k]
        merge, split = _join_arrays(sim, v_norm, c_norm, v_adj, c_adj, align_threshold=align_threshold,
                                    join_gain=join_gain, join_threshold=join_threshold)
        w11 = np.where(sim >= align_threshold, sim, _NEG)   # padding rows (cosine 0) match nothing
        dp11 = w11 + IDENTICAL_BONUS * same
        table = _table(dp11, merge, split)
        for r, k in enumerate(group):
            m = sims[k].shape[0]
            joins = JoinScores(merge=merge[r, :m], split=split[r, :max(m - 1, 0)])
            links = _backtrack(table[r, :m + 1], dp11[r, :m], joins.merge, joins.split, w11[r, :m])
            links.extend(_moved(sims[k], joins, links, align_threshold=align_threshold,
                                reorder_window=reorder_window, moved_threshold=moved_threshold))
            out[k] = sorted(links, key=lambda link: link.version[0])
    return out


def _join_arrays(sim: np.ndarray, v_norm: np.ndarray, c_norm: np.ndarray, v_adj: np.ndarray, c_adj: np.ndarray, *,
                 align_threshold: float, join_gain: float, join_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`join_scores`' merge and split arrays over a leading batch axis (versions x rows x canonical),
    in one compiled pass (:func:`_join_kernel`: the same operations on each cell, so the same values;
    a story's few versions cost one call instead of some twenty numpy calls)."""
    return _join_kernel(np.ascontiguousarray(sim, dtype=np.float64), np.ascontiguousarray(v_norm, dtype=np.float64),
                        np.ascontiguousarray(c_norm, dtype=np.float64), np.ascontiguousarray(v_adj, dtype=np.float64),
                        np.ascontiguousarray(c_adj, dtype=np.float64), float(max(align_threshold, join_threshold)),
                        float(join_gain))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _join_kernel(sim, v_norm, c_norm, v_adj, c_adj, floor, join_gain):  # pragma: no cover - numba
    """:func:`join_scores` cell by cell, each value by the very operations its numpy expressions use
    (``x ** 2`` is ``x * x``; a division by zero gives inf or nan, which are not finite: no join).
    ``floor`` is ``max(align_threshold, join_threshold)``."""
    b, m, n = sim.shape
    merge = np.full((b, m, max(n - 1, 0)), -np.inf)
    split = np.full((b, max(m - 1, 0), n), -np.inf)
    if n >= 2:
        joint = np.empty(n - 1)
        for j in range(n - 1):
            joint[j] = np.sqrt(c_norm[j] * c_norm[j] + c_norm[j + 1] * c_norm[j + 1] + 2 * c_adj[j])
        for r in range(b):
            for i in range(m):
                for j in range(n - 1):
                    a, c = sim[r, i, j], sim[r, i, j + 1]
                    cos = (a * c_norm[j] + c * c_norm[j + 1]) / joint[j]
                    if cos >= floor and cos >= max(a, c) + join_gain and np.isfinite(cos):
                        merge[r, i, j] = cos
    if m >= 2:
        for r in range(b):
            for i in range(m - 1):
                joint_i = np.sqrt(v_norm[r, i] * v_norm[r, i] + v_norm[r, i + 1] * v_norm[r, i + 1] + 2 * v_adj[r, i])
                for j in range(n):
                    a, c = sim[r, i, j], sim[r, i + 1, j]
                    cos = (a * v_norm[r, i] + c * v_norm[r, i + 1]) / joint_i
                    if cos >= floor and cos >= max(a, c) + join_gain and np.isfinite(cos):
                        split[r, i, j] = cos
    return merge, split


@numba.njit(cache=True, nogil=True)
def _table(w11: np.ndarray, w12: np.ndarray, w21: np.ndarray) -> np.ndarray:  # pragma: no cover - numba
    """The DP table of :func:`align` over a leading batch axis (the same maxima of the same sums)."""
    b, m, n = w11.shape
    table = np.zeros((b, m + 1, n + 1))
    for r in range(b):
        for i in range(1, m + 1):
            best = table[r, i - 1, 0]
            table[r, i, 0] = best
            for j in range(1, n + 1):
                cand = max(table[r, i - 1, j],                              # version sentence i-1 unmatched
                           table[r, i - 1, j - 1] + w11[r, i - 1, j - 1])
                if j >= 2:
                    cand = max(cand, table[r, i - 1, j - 2] + w12[r, i - 1, j - 2])
                if i >= 2:
                    cand = max(cand, table[r, i - 2, j - 1] + w21[r, i - 2, j - 1])
                best = max(best, cand)                                      # canonical sentences unmatched
                table[r, i, j] = best
    return table


def _backtrack(table, dp11, w12, w21, w11) -> list[Link]:
    """The links of the best path through ``table`` (built with the one-to-one weights ``dp11``); a
    one-to-one link's similarity is its cosine (``w11``), without the identical pair's bonus."""
    moves = _path(table, dp11, w12, w21)
    if moves is None:  # pragma: no cover - the table is built from exactly these moves
        raise RuntimeError("alignment backtrack lost its way")
    links = []
    for kind, i, j in moves.tolist():
        if kind == 1:
            links.append(Link((i,), (j,), float(w11[i, j])))
        elif kind == 2:
            links.append(Link((i,), (j, j + 1), float(w12[i, j])))
        else:
            links.append(Link((i, i + 1), (j,), float(w21[i, j])))
    return links


@numba.njit(cache=True, nogil=True)
def _path(table, w11, w12, w21):  # pragma: no cover - numba
    """The moves of the best path through ``table``, first to last: ``(kind, i, j)`` rows, kind 1 a
    one-to-one link of (i, j), 2 version i with canonical j and j+1, 3 versions i and i+1 with
    canonical j; ``None`` if the table does not follow from the weights."""
    out = np.empty((table.shape[0] + table.shape[1], 3), dtype=np.int64)
    k = 0
    i, j = table.shape[0] - 1, table.shape[1] - 1
    while i > 0 and j > 0:
        here = table[i, j]
        if here == table[i, j - 1]:
            j -= 1
        elif here == table[i - 1, j]:
            i -= 1
        elif here == table[i - 1, j - 1] + w11[i - 1, j - 1]:
            out[k, 0], out[k, 1], out[k, 2] = 1, i - 1, j - 1
            i, j = i - 1, j - 1
            k += 1
        elif j >= 2 and here == table[i - 1, j - 2] + w12[i - 1, j - 2]:
            out[k, 0], out[k, 1], out[k, 2] = 2, i - 1, j - 2
            i, j = i - 1, j - 2
            k += 1
        elif i >= 2 and here == table[i - 2, j - 1] + w21[i - 2, j - 1]:
            out[k, 0], out[k, 1], out[k, 2] = 3, i - 2, j - 1
            i, j = i - 2, j - 1
            k += 1
        else:
            return None
    return out[:k][::-1].copy()


def _moved(sim: np.ndarray, joins: JoinScores | None, links: list[Link], *, align_threshold: float,
           reorder_window: int, moved_threshold: float) -> list[Link]:
    m, n = sim.shape
    if sum(len(link.version) for link in links) == m or sum(len(link.canonical) for link in links) == n:
        return []                        # nothing left over on one side: nothing can have moved
    # plain lists: a version has a few dozen sentences, where each numpy call costs more than the loop
    first = [-1] * m                     # canonical span each matched version sentence covers
    last = [-1] * m
    used_c = [False] * n
    for link in links:
        for v in link.version:
            first[v], last[v] = link.canonical[0], link.canonical[-1]
        for c in link.canonical:
            used_c[c] = True
    free_v = [v for v in range(m) if first[v] < 0]
    free_c = [c for c in range(n) if not used_c[c]]
    if not free_v or not free_c:
        return []
    matched = [v for v in range(m) if first[v] >= 0]
    # where the surrounding matches say each free version sentence belongs: strictly between lo and hi
    lo: dict[int, int] = {}
    hi: dict[int, int] = {}
    for v in free_v:
        k = bisect.bisect_left(matched, v)
        lo[v] = last[matched[k - 1]] if k > 0 else -1
        hi[v] = first[matched[k]] if k < len(matched) else n
    free_v_set, free_c_set = set(free_v), set(free_c)
    candidates = []                       # (-cosine, version sentences, canonical sentences)
    sub = sim[np.ix_(free_v, free_c)]
    for a, b in zip(*np.nonzero(sub >= align_threshold)):
        candidates.append((-float(sub[a, b]), (free_v[a],), (free_c[b],)))
    if joins is not None:                 # moved sentences may also have been split or merged
        for v, c in zip(*np.nonzero(np.isfinite(joins.split))):
            if v in free_v_set and v + 1 in free_v_set and c in free_c_set:
                candidates.append((-float(joins.split[v, c]), (int(v), int(v) + 1), (int(c),)))
        for v, c in zip(*np.nonzero(np.isfinite(joins.merge))):
            if v in free_v_set and c in free_c_set and c + 1 in free_c_set:
                candidates.append((-float(joins.merge[v, c]), (int(v),), (int(c), int(c) + 1)))
    candidates.sort()
    taken_v: set[int] = set()
    taken_c: set[int] = set()
    out = []
    for neg, vs, cs in candidates:
        if taken_v.intersection(vs) or taken_c.intersection(cs):
            continue
        v, c = vs[0], cs[0]
        distance = 0 if lo[v] < c < hi[v] else min(abs(c - lo[v]), abs(c - hi[v]))
        if -neg >= moved_threshold or distance <= reorder_window:
            taken_v.update(vs)
            taken_c.update(cs)
            out.append(Link(vs, cs, -neg, moved=True))
    return out
