"""The chaining guard: step 4 of :mod:`dedup.cluster`, every component settled on its canonical.

A component is a chain when some members only reach the canonical through
others (a page stitched from two wires bridges both stories). Every member
must itself match the canonical (the component's anchor: its first article in
canonical order) at ``threshold`` with ``min_overlap`` shingles, or by a pair
the sentence second opinion rescued; a re-send stays with the item it
re-sends. The others are split off by their own links into pieces, each
settled the same way on its own anchor, until every cluster passes.

:class:`ChainingGuard` keeps that work near-linear on long chains (a rolling
ticker) and templated components: see its docstring. It writes its decisions
into the arrays :func:`dedup.cluster.build_clusters` gives it and measures
with the function it is given (shingle containment, Jaccard and overlap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dedup.config import ClusterConfig
from dedup.ragged import ragged

if TYPE_CHECKING:
    from dedup.cluster import FlatSets

#: ``measure(sets, docs, anchor)``: containment, Jaccard and overlap of every doc of ``docs`` with ``anchor``.
Measure = Callable[["FlatSets", np.ndarray, "int | np.ndarray"], tuple[np.ndarray, np.ndarray, np.ndarray]]


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


class ChainingGuard:
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
                 canonical: np.ndarray, similarity: np.ndarray, jaccard: np.ndarray, *, measure: Measure):
        self.sets, self.rank, self.indptr, self.indices, self.measure = sets, rank, indptr, indices, measure
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
        c_all, jac_all, ov_all = self.measure(self.sets, every, np.repeat(np.array(anchors, dtype=np.int64), lengths))
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
            near = owners[ragged(lo, width)]
            near = np.concatenate([near, self.indices[self.indptr[anchor]:self.indptr[anchor + 1]], [anchor]])
            docs = np.unique(near[self.piece_of[near] == p])
        else:
            docs = piece.docs[piece.start:]
            piece.docs, piece.start = docs[self.piece_of[docs] == p], 0
            docs = piece.docs
        self._settle(p, anchor, docs, *self.measure(self.sets, docs, anchor), head=piece.head, live=piece.live)

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
            more_c, more_jac, _ = self.measure(self.sets, more, anchor)
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
            at = ragged(offsets[docs], sizes)
            values = self.sets.values[at]
            order = np.argsort(values, kind="stable")
            self._postings[component] = values[order], np.repeat(docs, sizes)[order]
        return self._postings[component]
