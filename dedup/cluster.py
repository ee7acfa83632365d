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
   their own canonical, until every cluster passes.

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
from dedup.config import AlignConfig, ClusterConfig, ShingleConfig
from dedup.schema import CLUSTERS, PAIRS, conform, flat_lists
from dedup.sentence_match import SentenceMatcher
from dedup.shingle import parallel_ranges


def cluster_id_for(article_id: str) -> str:
    return "s-" + hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()


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
           resends: pl.DataFrame | None = None) -> pl.DataFrame:
    """CANDIDATES -> PAIRS: exact overlap, Jaccard, containment and the decision. Stateless.

    ``sets`` holds every article's shingle set, by doc: a :class:`FlatSets`
    (e.g. ``FlatSets.from_series(shingles["shingles"])``) or a list of sorted
    uint32 arrays. With ``texts``, borderline pairs (containment between
    ``rescue_min_containment`` and ``threshold``) get a second opinion from
    their sentence containment (:mod:`dedup.sentence_match`); ``texts`` may be
    the ARTICLES ``text`` column itself: only the borderline pairs' texts are read.
    Candidates that are also rows of ``resends`` (:func:`dedup.resend.resend_candidates`)
    are accepted at ``resend_min_containment``.
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
            matcher = SentenceMatcher(align_config).fit(dict(zip(docs.tolist(), bodies)),
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
    """Rank of every doc in canonical preference (lower is preferred)."""
    wire_rank = {o.casefold(): i for i, o in enumerate(wire_outlets)}
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


@dataclass
class _Piece:
    """Articles the chaining guard split off together, not settled yet: those of ``docs`` (in canonical
    order) from ``start`` on that still wait in this piece; ``head``: the anchor they were split from."""
    docs: np.ndarray
    start: int
    head: int
    component: int       # the component it was split from first (whose postings it reads)
    live: int            # articles waiting in it
    weight: int          # their shingles: what measuring them all against an anchor costs
    again: bool = False  # what a pass left of it: it may be passed over again and again (a chain)


class _ChainingGuard:
    """Step 4 of the module docstring: settles every component on its anchor, and the pieces split off.

    Each pass is the first pass's rule on what is left, and a piece is
    settled on its own whatever the order, but a pass costs what it keeps,
    not the piece: a long chain (a rolling ticker, where each version drops
    its oldest sentence and adds one) keeps a few articles per pass and would
    otherwise be measured and walked again in full every pass, the square
    of its length. The anchor is measured against the articles of the piece
    that share a shingle with it (the component's postings, once a pass has
    left it; unless reading them costs more than measuring the whole
    piece): the others cannot reach
    ``threshold``, as ``min_overlap`` is at least 1. The rest falls into
    pieces that each hold a neighbour of a kept article; a search from each
    such neighbour walks its piece, the searches taking turns, and a search
    that meets another joins it. Once a single search is left, its piece is
    everything else, which is not walked.
    """

    def __init__(self, sets: FlatSets, rank: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 rescued: set[tuple[int, int]], resent: dict[int, list[int]], config: ClusterConfig,
                 canonical: np.ndarray, similarity: np.ndarray, jaccard: np.ndarray):
        self.sets, self.rank, self.indptr, self.indices = sets, rank, indptr, indices
        self.rescued, self.resent, self.config = rescued, resent, config
        self.canonical, self.similarity, self.jaccard = canonical, similarity, jaccard
        n = len(rank)
        self.piece_of = np.full(n, -1, dtype=np.int64)      # the piece a doc waits in (-1: settled, or none)
        self.split_head = np.full(n, -1, dtype=np.int64)    # the anchor a doc was last split from (-1: never)
        self.pieces: dict[int, _Piece] = {}     # by number: a component's own, then len(components) + k
        self.pending: list[int] = []
        self._numbered = 0
        self._members: list[list[int]] = []
        self._postings: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def run(self, initial: list[list[int]]) -> None:
        """Settle the components ``initial`` (each a list of docs) and every piece split off them.

        Components are disjoint, so the first pass measures every member
        against its anchor at once.
        """
        if not initial:
            return
        self._members, self._numbered = initial, len(initial)
        lengths = [len(m) for m in initial]
        every = np.concatenate([np.array(m, dtype=np.int64) for m in initial])
        self.piece_of[every] = np.repeat(np.arange(len(initial)), lengths)
        anchors = [min(members, key=lambda d: self.rank[d]) for members in initial]
        cuts = np.cumsum(lengths)[:-1]
        c_all, jac_all, ov_all = _similarities(self.sets, every, np.repeat(np.array(anchors, dtype=np.int64), lengths))
        for k, (docs, c, jac, ov) in enumerate(zip(np.split(every, cuts), np.split(c_all, cuts),
                                                   np.split(jac_all, cuts), np.split(ov_all, cuts))):
            self._settle(k, anchors[k], docs, c, jac, ov, head=-1, live=len(docs))
        while self.pending:
            self._pass(self.pending.pop())

    def _pass(self, p: int) -> None:
        """Settle piece ``p`` on its anchor: its first article in canonical order."""
        piece = self.pieces[p]
        while self.piece_of[piece.docs[piece.start]] != p:
            piece.start += 1
        anchor = int(piece.docs[piece.start])
        if piece.again:      # (the postings are made for the components that have such a piece only)
            values, owners = self._postings_of(piece.component)
            mine = self.sets[anchor]
            lo, hi = np.searchsorted(values, mine, side="left"), np.searchsorted(values, mine, side="right")
        # a posting read, sorted and looked up costs some 8 times a shingle merged: measured on templated items
        if piece.again and 8 * (hi - lo).sum() < piece.weight:
            width = hi - lo
            near = owners[np.repeat(lo - np.cumsum(width) + width, width) + np.arange(width.sum())]
            near = np.concatenate([near, self.indices[self.indptr[anchor]:self.indptr[anchor + 1]], [anchor]])
            docs = np.unique(near[self.piece_of[near] == p])
        else:
            docs = piece.docs[piece.start:]
            piece.docs, piece.start = docs[self.piece_of[docs] == p], 0
            docs = piece.docs
        self._settle(p, anchor, docs, *_similarities(self.sets, docs, anchor), head=piece.head, live=piece.live)

    def _settle(self, p: int, anchor: int, docs: np.ndarray, c: np.ndarray, jac: np.ndarray, ov: np.ndarray, *,
                head: int, live: int) -> None:
        """Keep the articles of piece ``p`` close enough to ``anchor`` (``docs``: all those that may be, with
        their similarities to it); queue the rest, split by their own links."""
        keep = (c >= self.config.threshold) & (ov >= self.config.min_overlap)
        if self.rescued:
            lo, hi = np.minimum(docs, anchor).tolist(), np.maximum(docs, anchor).tolist()
            keep |= np.fromiter(((a, b) in self.rescued for a, b in zip(lo, hi)), dtype=bool, count=len(docs))
        keep[docs == anchor] = True
        kept, c, jac = docs[keep], c[keep], jac[keep]
        extra = self._resent_with(kept, p)
        if extra:
            more = np.array(extra, dtype=np.int64)
            more_c, more_jac, _ = _similarities(self.sets, more, anchor)
            kept, c, jac = np.concatenate([kept, more]), np.concatenate([c, more_c]), np.concatenate([jac, more_jac])
        self.canonical[kept] = anchor
        self.similarity[kept], self.jaccard[kept] = c, jac
        self.similarity[anchor] = self.jaccard[anchor] = 1.0
        self.split_head[kept] = head
        self.piece_of[kept] = -1
        live -= len(kept)
        if not live:
            self.pieces.pop(p, None)
            return
        sizes = self.sets.sizes()
        indptr, indices, piece_of = self.indptr, self.indices, self.piece_of
        seeds = [y for x in kept.tolist() for y in indices[indptr[x]:indptr[x + 1]].tolist() if piece_of[y] == p]
        done, rest = self._split(seeds, p)
        if rest is not None and live == sum(map(len, done)) + 1:
            done.append(rest)                     # the rest is one article: a singleton, as any
        for found in done:
            docs = np.array(found, dtype=np.int64)
            live -= len(docs)
            self.split_head[docs] = anchor
            if len(docs) == 1:
                self.piece_of[docs] = -1          # a singleton: its own canonical, no similarity
                continue
            q = self._numbered
            self._numbered += 1
            self.piece_of[docs] = q
            self.pieces[q] = _Piece(docs[np.argsort(self.rank[docs])], 0, anchor, self._component(p), len(docs),
                                    int(sizes[docs].sum()))
            self.pending.append(q)
        if not live:
            self.pieces.pop(p, None)
            return
        if p not in self.pieces:                  # the rest of a component: its members in canonical order
            members = np.array(self._members[p], dtype=np.int64)
            members = members[self.piece_of[members] == p]
            self.pieces[p] = _Piece(members[np.argsort(self.rank[members])], 0, anchor, p, live,
                                    int(sizes[members].sum()))
        else:
            gone = np.concatenate([kept, *[np.array(f, dtype=np.int64) for f in done]])
            self.pieces[p].weight -= int(sizes[gone].sum())
        self.pieces[p].head, self.pieces[p].live, self.pieces[p].again = anchor, live, True
        self.pending.append(p)

    def _component(self, p: int) -> int:
        return p if p < len(self._members) else self.pieces[p].component

    def _resent_with(self, kept: np.ndarray, p: int) -> list[int]:
        """The articles of piece ``p`` that re-send a kept one or that one re-sends, and so on: a re-send
        stays with the item it re-sends, and the reverse."""
        if not self.resent:
            return []
        seen = set(kept.tolist())
        stack = [d for d in seen if d in self.resent]
        extra = []
        while stack:
            for y in self.resent[stack.pop()]:
                if y not in seen and self.piece_of[y] == p:
                    seen.add(y)
                    extra.append(y)
                    stack.append(y)
        return extra

    def _split(self, seeds: list[int], p: int) -> tuple[list[list[int]], list[int] | None]:
        """The pieces of what piece ``p`` did not keep, found from ``seeds`` (every piece holds one): those
        walked to their end, and the articles found of the one left unwalked (all the rest of ``p``), if any."""
        owner: dict[int, int] = {}
        joined: list[int] = []             # search -> the search it joined (itself while it runs)
        frontier: list[list[int]] = []
        found: list[list[int]] = []
        for s in seeds:
            if s not in owner:
                owner[s] = len(joined)
                joined.append(len(joined))
                frontier.append([s])
                found.append([s])

        def root(s: int) -> int:
            while joined[s] != s:
                joined[s] = joined[joined[s]]
                s = joined[s]
            return s

        running = dict.fromkeys(range(len(joined)))   # in order of start
        done = []
        indptr, indices, piece_of = self.indptr, self.indices, self.piece_of
        while len(running) > 1:
            for s in list(running):
                if s not in running:
                    continue
                x = frontier[s].pop()
                for y in indices[indptr[x]:indptr[x + 1]].tolist():
                    if piece_of[y] != p:
                        continue
                    other = owner.get(y)
                    if other is None:
                        owner[y] = s
                        frontier[s].append(y)
                        found[s].append(y)
                    elif (other := root(other)) != s:       # the same piece: the smaller search joins the larger
                        big, small = (s, other) if len(found[s]) >= len(found[other]) else (other, s)
                        joined[small] = big
                        frontier[big].extend(frontier[small])
                        found[big].extend(found[small])
                        frontier[small], found[small] = [], []
                        del running[small]
                        s = big
                if not frontier[s]:
                    done.append(found[s])
                    del running[s]
        return done, found[next(iter(running))] if running else None

    def _postings_of(self, component: int) -> tuple[np.ndarray, np.ndarray]:
        """The shingles of a component's articles, sorted, and the article of each (made once)."""
        if component not in self._postings:
            docs = np.array(self._members[component], dtype=np.int64)
            offsets, sizes = self.sets.offsets, self.sets.sizes()[docs]
            width = sizes.sum()
            at = np.repeat(offsets[docs] - np.cumsum(sizes) + sizes, sizes) + np.arange(width)
            values = self.sets.values[at]
            order = np.argsort(values, kind="stable")
            self._postings[component] = values[order], np.repeat(docs, sizes)[order]
        return self._postings[component]


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
    guard = _ChainingGuard(sets, rank, indptr, indices, rescued, resent, config, canonical, similarity, jaccard)
    guard.run(initial)
    split = np.flatnonzero(guard.split_head >= 0)
    stats.splits = len(split)     # a piece split off may be split again: its articles count once
    ids = articles["article_id"].to_list()
    heads: dict[int, str] = {}
    for d, head in zip(split.tolist(), guard.split_head[split].tolist()):
        if head not in heads:
            heads[head] = f"split_from: matched {cluster_id_for(ids[head])} only through other articles"
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
    frame = frame.with_columns(
        cluster_size=pl.len().over("cluster_id").cast(pl.UInt32),
        n_outlets=pl.col("outlet").n_unique().over("cluster_id").cast(pl.UInt32)
        - pl.col("outlet").is_null().any().over("cluster_id").cast(pl.UInt32),
    ).with_columns(
        note=pl.when((pl.col("cluster_size") == 1) & pl.col("note").is_null())
        .then(pl.lit("no_match")).otherwise(pl.col("note")),
    )
    frame = frame.sort(["cluster_size", "cluster_id", "is_canonical", "published", "article_id"],
                       descending=[True, False, True, False, False], nulls_last=True)
    return conform(frame, CLUSTERS, "cluster"), stats
