"""Verification, connected components and canonical choice (PAIRS, CLUSTERS).

1. **Verify** every LSH candidate on the exact shingle sets. Two articles are
   the same story when their *containment* — shared shingles divided by the
   shingles of the smaller one — reaches ``threshold`` and they share at least
   ``min_overlap`` shingles. Containment, unlike Jaccard, stays high when an
   outlet trims a wire story to its first paragraphs.
2. **Group** accepted pairs into connected components.
3. **Canonical version** of each component: the earliest ``published``;
   ties go to the configured wire outlets (in their order), then the longest
   text, then the smallest article id.
4. **Chaining guard**: a component is a chain when some members only reach
   the canonical through others (a page stitched from two wires bridges both
   stories). Every member must itself match the canonical at ``threshold``;
   those that do not are split off and grouped again among themselves, with
   their own canonical, until every cluster passes (:mod:`dedup.chaining`).

Re-sends (:mod:`dedup.resend`): a pair proposed because one headline marks
the other's re-send is accepted at ``resend_min_containment``, and the
chaining guard keeps a re-send wherever the item it re-sends is kept.

Cluster ids derive from the canonical article's id, never from a counter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dedup.align.parallel import n_workers
from dedup.chaining import ChainingGuard
from dedup.config import AlignConfig, ClusterConfig, ShingleConfig
from dedup.progress import Progress, bar
from dedup.schema import CLUSTERS, PAIRS, conform, flat_lists
from dedup.sentence_match import SentenceMatcher
from dedup.shingle import parallel_ranges


def cluster_id_for(article_id: str) -> str:
    return "s-" + hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


def split_from_note(cluster_id: str) -> str:
    """The ``note`` of articles the chaining guard split off the cluster ``cluster_id`` (with a state,
    :mod:`dedup.state.stories` writes it again with the story id that cluster continues)."""
    return f"split_from: matched {cluster_id} only through other articles"


@dataclass(frozen=True)
class FlatSets:
    """Shingle sets in a flat layout: set ``i`` is ``values[offsets[i]:offsets[i + 1]]``.

    ``values`` are uint32 shingle hashes, sorted and distinct within each set
    (as in the SHINGLES ``shingles`` column); ``offsets`` (int64) has one entry
    more than there are sets. Two arrays instead of a Python list of one array
    per article: :meth:`from_series` takes them from a polars list column
    without a copy.
    """

    values: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_series(cls, column: pl.Series) -> "FlatSets":
        """The sets of a ``List(UInt32)`` column (nulls are empty sets)."""
        return cls(*flat_lists(column))

    @classmethod
    def from_list(cls, sets: Sequence[np.ndarray]) -> "FlatSets":
        sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        offsets = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        values = np.concatenate([np.asarray(s, dtype=np.uint32) for s in sets]) if len(sets) else np.empty(0, np.uint32)
        return cls(values.astype(np.uint32, copy=False), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    def sizes(self) -> np.ndarray:
        """Each set's size (int64; computed once: the chaining guard asks for it per split piece)."""
        return self._sizes

    @cached_property
    def _sizes(self) -> np.ndarray:
        sizes = np.diff(self.offsets)
        sizes.flags.writeable = False
        return sizes


@numba.njit(cache=True, nogil=True)
def _intersections(values, offsets, left, right, out, first, last):  # pragma: no cover - compiled
    """``out[k] = |set(left[k]) & set(right[k])|`` for k in ``first:last``: a merge of two sorted runs."""
    for k in range(first, last):
        a, a_end = offsets[left[k]], offsets[left[k] + 1]
        b, b_end = offsets[right[k]], offsets[right[k] + 1]
        n = 0
        while a < a_end and b < b_end:   # without branches: the comparisons are unpredictable
            x, y = values[a], values[b]
            n += x == y
            a += x <= y
            b += y <= x
        out[k] = n


def _overlaps(sets: FlatSets, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``|sets[left[k]] & sets[right[k]]|`` for every k (int64), on all cores.

    Each pair is one merge of two sorted sets in a compiled kernel; pairs are
    cut into ranges of about equal work (the two sets' sizes), one per thread,
    and every pair's count has its own place, so threads do not change it.
    """
    left = np.ascontiguousarray(left, dtype=np.int64)
    right = np.ascontiguousarray(right, dtype=np.int64)
    out = np.zeros(len(left), dtype=np.int64)
    sizes = sets.sizes()
    work = np.zeros(len(left) + 1, dtype=np.int64)
    np.cumsum(sizes[left] + sizes[right], out=work[1:])
    values = np.ascontiguousarray(sets.values, dtype=np.uint32)
    offsets = np.ascontiguousarray(sets.offsets, dtype=np.int64)
    parallel_ranges(lambda lo, hi: _intersections(values, offsets, left, right, out, lo, hi), work)
    return out


def _pair_mask(left: np.ndarray, right: np.ndarray, pairs: pl.DataFrame | None) -> np.ndarray:
    """Which of the pairs (left[k], right[k]) are rows of ``pairs`` (CANDIDATES)."""
    if pairs is None or pairs.height == 0 or len(left) == 0:
        return np.zeros(len(left), dtype=bool)
    code = (left.astype(np.uint64) << np.uint64(32)) | right.astype(np.uint64)
    wanted = (pairs["left"].to_numpy().astype(np.uint64) << np.uint64(32)) | pairs["right"].to_numpy().astype(np.uint64)
    return np.isin(code, wanted)


def verify(candidates: pl.DataFrame, sets: Sequence[np.ndarray] | FlatSets, *, config: ClusterConfig,
           texts: Sequence[str] | pl.Series | None = None, align_config: AlignConfig = AlignConfig(),
           resends: pl.DataFrame | None = None, progress: Progress | None = None) -> pl.DataFrame:
    """CANDIDATES -> PAIRS: exact overlap, Jaccard, containment and the decision. Stateless.

    ``sets`` holds every article's shingle set, by doc: a :class:`FlatSets`
    (e.g. ``FlatSets.from_series(shingles["shingles"])``) or a list of sorted
    uint32 arrays. With ``texts``, borderline pairs (containment between
    ``rescue_min_containment`` and ``threshold``) get a second opinion from
    their sentence containment (:mod:`dedup.sentence_match`); ``texts`` may be
    the ARTICLES ``text`` column itself: only the borderline pairs' texts are read.
    Candidates that are also rows of ``resends`` (:func:`dedup.resend.resend_candidates`)
    are accepted at ``resend_min_containment``. ``progress`` draws a bar of the borderline pairs' articles
    split into sentences (most of the time verification takes).
    """
    flat = sets if isinstance(sets, FlatSets) else FlatSets.from_list(sets)
    left = candidates["left"].to_numpy()
    right = candidates["right"].to_numpy()
    overlap = _overlaps(flat, left, right)
    sizes = flat.sizes()
    size_l = sizes[left]
    size_r = sizes[right]
    union = size_l + size_r - overlap
    smaller = np.minimum(size_l, size_r)
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, overlap / np.maximum(union, 1), 0.0)
        containment = np.where(smaller > 0, overlap / np.maximum(smaller, 1), 0.0)
    del size_l, size_r, union, smaller   # four arrays per candidate, not to be held through the fit below
    enough = overlap >= config.min_overlap
    accepted = (containment >= config.threshold) & enough
    accepted |= _pair_mask(left, right, resends) & enough & (containment >= config.resend_min_containment)
    share = np.full(len(left), np.nan)
    if texts is not None and config.sentence_threshold > 0:
        border = np.flatnonzero(enough & ~accepted & (containment >= config.rescue_min_containment))
        if len(border):
            docs = np.unique(np.concatenate([left[border], right[border]]))
            # Versions of a story side by side: the workers' contiguous chunks then split each repeated
            # paragraph once. The order changes no value (each doc and distinct sentence is measured alone).
            ends = np.searchsorted(docs, left[border]), np.searchsorted(docs, right[border])
            _, story = connected_components(coo_matrix((np.ones(len(border), np.int8), ends),
                                                       shape=(len(docs), len(docs))), directed=False)
            docs = docs[np.argsort(story, kind="stable")]
            bodies = texts.gather(docs).to_list() if isinstance(texts, pl.Series) else [texts[int(d)] for d in docs]
            with bar(progress, "verify", total=len(docs), unit="art") as advance:
                matcher = SentenceMatcher(align_config).fit(dict(zip(docs.tolist(), bodies)), done=advance,
                                                            workers=n_workers(align_config.workers, len(docs)))
            share[border] = matcher.shares(left[border], right[border])
            agree = matcher.facts_agree_many(left[border], right[border])
            accepted[border] = (share[border] >= config.sentence_threshold) & (agree >= config.rescue_min_facts)
    return pl.DataFrame({"left": left, "right": right, "overlap": overlap, "jaccard": jaccard,
                         "containment": containment, "sentence_share": share, "accepted": accepted},
                        schema=PAIRS).with_columns(pl.col("sentence_share").fill_nan(None))


@dataclass
class ClusterStats:
    components: int = 0
    splits: int = 0          # articles the chaining guard split off a component (each counted once)


def _canonical_order(articles: pl.DataFrame, n_shingles: np.ndarray, wire_outlets: tuple[str, ...]) -> np.ndarray:
    """Rank of every doc in canonical preference (lower is preferred).

    Wire outlets match in any case; a name listed again (in another case) keeps its first, better rank.
    """
    wire_rank = {o: i for i, o in enumerate(dict.fromkeys(o.casefold() for o in wire_outlets))}
    frame = pl.DataFrame({
        "doc": np.arange(articles.height, dtype=np.int64),
        "published": articles["published"],
        "wire": [wire_rank.get((o or "").casefold(), len(wire_rank)) for o in articles["outlet"].to_list()],
        "length": articles["text"].str.len_chars(),
        "article_id": articles["article_id"],
    })
    order = frame.sort(["published", "wire", "length", "article_id"],
                       descending=[False, False, True, False], nulls_last=True)["doc"].to_numpy()
    rank = np.empty(articles.height, dtype=np.int64)
    rank[order] = np.arange(articles.height)
    return rank


def _similarities(sets: FlatSets, docs: np.ndarray, anchor: int | np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Containment, Jaccard and overlap of every doc with ``anchor`` (one doc, or one per doc)."""
    anchors = np.broadcast_to(np.asarray(anchor, dtype=np.int64), docs.shape)
    ov = _overlaps(sets, np.ascontiguousarray(anchors), docs)
    sizes = sets.sizes()
    smaller = np.minimum(sizes[docs], sizes[anchors])
    union = sizes[docs] + sizes[anchors] - ov
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.where(smaller > 0, ov / np.maximum(smaller, 1), 0.0),
                np.where(union > 0, ov / np.maximum(union, 1), 0.0), ov)


def _resend_ties(left: np.ndarray, right: np.ndarray, containment: np.ndarray, published: np.ndarray,
                 rank: np.ndarray) -> np.ndarray:
    """Which re-send pairs (``left[k]``, ``right[k]``) tie a re-send to its item.

    A re-send (the later of a pair; either, at one time) is tied to one item
    only: the one it shares the most with (highest containment, then the item
    first in canonical order). An update that also reuses a few paragraphs of
    an older story of its outlet would otherwise tie the two stories together.
    """
    best: dict[int, tuple[float, int, int]] = {}
    for k, (a, b) in enumerate(zip(left.tolist(), right.tolist())):
        senders = (a, b) if published[a] == published[b] else ((b,) if published[b] > published[a] else (a,))
        for sender in senders:
            key = (-float(containment[k]), int(rank[b if sender == a else a]), k)
            if sender not in best or key < best[sender]:
                best[sender] = key
    ties = np.zeros(len(left), dtype=bool)
    ties[[key[2] for key in best.values()]] = True
    return ties


def cluster_counts() -> dict[str, pl.Expr]:
    """The expressions of ``cluster_size`` and ``n_outlets`` (outlets named, an unknown one not counted)
    over rows holding ``cluster_id`` and ``outlet``."""
    return {"cluster_size": pl.len().over("cluster_id").cast(pl.UInt32),
            "n_outlets": pl.col("outlet").n_unique().over("cluster_id").cast(pl.UInt32)
            - pl.col("outlet").is_null().any().over("cluster_id").cast(pl.UInt32)}


def build_clusters(articles: pl.DataFrame, shingles: pl.DataFrame, pairs: pl.DataFrame, *,
                   config: ClusterConfig = ClusterConfig(), shingle_config: ShingleConfig = ShingleConfig(),
                   resends: pl.DataFrame | None = None) -> tuple[pl.DataFrame, ClusterStats]:
    """ARTICLES + SHINGLES + PAIRS -> CLUSTERS (one row per article). Stateless.

    Accepted pairs that are rows of ``resends`` tie a re-send to the item it
    re-sends (:func:`_resend_ties`): the chaining guard keeps either wherever
    the other is kept. Articles with fewer than ``min_shingles`` shingles are
    singletons, whatever pairs name them.
    """
    n = articles.height
    stats = ClusterStats()
    sets = FlatSets.from_series(shingles["shingles"])
    n_shingles = sets.sizes()
    too_short = n_shingles < shingle_config.min_shingles
    accepted = pairs.filter(pl.col("accepted"))
    if too_short.any() and accepted.height:
        # LSH never proposes them; a re-send pair (resend_candidates) may, when min_shingles > min_overlap
        short = pl.Series(np.flatnonzero(too_short)).cast(accepted["left"].dtype).implode()
        accepted = accepted.filter(~pl.col("left").is_in(short) & ~pl.col("right").is_in(short))
    rank = _canonical_order(articles, n_shingles, config.wire_outlets)
    left = accepted["left"].to_numpy().astype(np.int64)
    right = accepted["right"].to_numpy().astype(np.int64)
    is_resend = _pair_mask(left, right, resends)
    if is_resend.any():
        # a re-send pair that does not tie its re-send (_resend_ties) joins nothing below the threshold
        ties = np.zeros(len(left), dtype=bool)
        ties[is_resend] = _resend_ties(left[is_resend], right[is_resend],
                                       accepted["containment"].to_numpy()[is_resend],
                                       articles["published"].to_numpy(), rank)
        drop = is_resend & ~ties & (accepted["containment"].to_numpy() < config.threshold)
        if drop.any():
            accepted, left, right, ties = accepted.filter(pl.Series(~drop)), left[~drop], right[~drop], ties[~drop]
        is_resend = ties
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)

    # Pairs accepted on sentence containment (below the shingle threshold) also
    # satisfy the chaining guard.
    rescued = set(zip(*accepted.filter(pl.col("containment") < config.threshold)
                      .select("left", "right").to_numpy().T.tolist())) if accepted.height else set()
    # each doc's accepted neighbours: indices[indptr[d]:indptr[d + 1]]
    both = (graph + graph.T).tocsr()
    indptr, indices = both.indptr, both.indices
    del both
    resent: dict[int, list[int]] = {}
    for a, b in zip(left[is_resend].tolist(), right[is_resend].tolist()):
        resent.setdefault(a, []).append(b)
        resent.setdefault(b, []).append(a)

    canonical = np.arange(n)          # canonical doc of each doc's cluster
    similarity = np.full(n, np.nan)
    jaccard = np.full(n, np.nan)
    note: list[str | None] = [None] * n
    n_boilerplate = shingles["n_boilerplate"].to_numpy()
    for d in np.flatnonzero(too_short):
        # an article emptied by its outlet's boilerplate says so: its text was not short
        left = f"{n_shingles[d]} shingles" if not n_boilerplate[d] else \
            f"{n_shingles[d]} shingles left after {n_boilerplate[d]} removed as the outlet's boilerplate"
        note[d] = f"too_short: {left}, fewer than min_shingles={shingle_config.min_shingles}"

    # components of two or more docs, each in doc order, ordered by their first doc
    by_label = np.argsort(labels, kind="stable")
    starts = np.flatnonzero(np.r_[n > 0, labels[by_label][1:] != labels[by_label][:-1]])   # none for no article
    sizes = np.diff(np.r_[starts, n])
    firsts = by_label[starts]
    initial = [by_label[starts[k]:starts[k] + sizes[k]].tolist()
               for k in np.argsort(firsts, kind="stable") if sizes[k] > 1]
    del by_label, starts, sizes, firsts
    stats.components = len(initial)

    # Anchor on the canonical version. (Anchoring on the best-connected
    # member instead was tried: a stitched page is the best-connected
    # member of the two stories it bridges, and merged them.)
    guard = ChainingGuard(sets, rank, indptr, indices, rescued, resent, config, canonical, similarity, jaccard,
                          measure=_similarities)
    guard.run(initial)
    split = np.flatnonzero(guard.split_head >= 0)
    stats.splits = len(split)     # a piece split off may be split again: its articles count once
    ids = articles["article_id"].to_list()
    heads: dict[int, str] = {}
    for d, head in zip(split.tolist(), guard.split_head[split].tolist()):
        if head not in heads:
            heads[head] = split_from_note(cluster_id_for(ids[head]))
        note[d] = heads[head]

    canon_ids = [ids[c] for c in canonical.tolist()]
    frame = pl.DataFrame({
        "article_id": articles["article_id"],
        "outlet": articles["outlet"],
        "title": articles["title"],
        "published": articles["published"],
        "url": articles["url"],
        "source_file": articles["source_file"],
        "source_record": articles["source_record"],
        "canonical_id": canon_ids,
        "cluster_id": [cluster_id_for(c) for c in canon_ids],
        "is_canonical": canonical == np.arange(n),
        "similarity": similarity,
        "jaccard": jaccard,
        "n_shingles": n_shingles.astype(np.uint32),
        "n_boilerplate": shingles["n_boilerplate"],
        "note": note,
    }).with_columns(pl.col("similarity", "jaccard").fill_nan(None))
    frame = frame.with_columns(**cluster_counts()).with_columns(
        note=pl.when((pl.col("cluster_size") == 1) & pl.col("note").is_null())
        .then(pl.lit("no_match")).otherwise(pl.col("note")),
    )
    frame = frame.sort(["cluster_size", "cluster_id", "is_canonical", "published", "article_id"],
                       descending=[True, False, True, False, False], nulls_last=True)
    return conform(frame, CLUSTERS, "cluster"), stats
