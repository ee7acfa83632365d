"""A night's clustered articles prepared for the alignment workers.

:class:`Night` lays the members of the night's clusters out story by story
(metadata, one Arrow array of texts, known sentence spans) so that forked
workers read them without copies. :meth:`Night.split` splits every article on
the workers (:func:`split_chunk`), numbers each distinct identity key across
the night, fits the IDF on the distinct sentences as the chunks arrive, and
counts the night's furniture. :func:`dedup.align.align_clusters` then aligns
the stories chunk by chunk over the same :class:`Night`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from dedup.align.core import (
    AlignmentError,
    _Article,
    check_cluster,
    cluster_order,
    identity_key,
    make_article,
)
from dedup.align.parallel import MAX_CHUNK_CHARS, bounds_for, iter_chunks
from dedup.align.sentences import split_many
from dedup.align.tfidf import IdfModel
from dedup.config import AlignConfig

#: ``(outlet, identity key)`` pairs of the night's furniture (see ``furniture_min_stories`` in
#: :class:`AlignConfig`); an outlet of None: a stock line, furniture for every outlet.
Furniture = frozenset[tuple[str | None, str]]


def cluster_frame(articles: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """The members of clusters of two or more, each with the row of its text in ``articles`` (``_text_row``;
    the first row of an id given twice) and whether it has one (``_found``). The texts are not copied."""
    multi = clusters.filter(pl.col("cluster_size") >= 2).select(
        "cluster_id", "article_id", "outlet", "published", "is_canonical")
    rows = (articles.select("article_id").with_row_index("_text_row")
            .sort("article_id", "_text_row").unique("article_id", keep="first"))
    return multi.join(rows, on="article_id", how="left").with_columns(
        pl.col("_text_row").is_not_null().alias("_found"))



def split_chunk(data: tuple[Night, str], start: int, stop: int
                 ) -> tuple[list[np.ndarray], list[tuple[bytes, tuple[int, int, str]]]]:
    """Rows ``start:stop`` of the night split (may run in a worker).

    Returns each row's sentences as ``(start, end, key)`` rows (int32; ``key``
    numbers the sentence's identity key among the chunk's distinct keys) and,
    for each of those keys in that order, its digest and its first occurrence
    among the rows (``(rank, position, normalised text)``).
    """
    night, splitter = data
    local: dict[str, int] = {}
    first: list[tuple[int, int, str]] = []
    rows = []
    for rank, art in zip(night.ranks[start:stop].tolist(), night.articles(start, stop, splitter)):
        ids = []
        for position, (key, norm) in enumerate(zip(art.keys, art.norms)):
            k = local.get(key)
            if k is None:
                k = local[key] = len(first)
                first.append((rank, position, norm))
            elif (rank, position) < first[k][:2]:
                first[k] = (rank, position, norm)
            ids.append(k)
        out = np.empty((len(ids), 3), dtype=np.int32)
        out[:, :2] = np.array(art.spans, dtype=np.int32).reshape(-1, 2)
        out[:, 2] = ids
        rows.append(out)
    return rows, [(hashlib.blake2b(key.encode(), digest_size=16).digest(), v) for key, v in zip(local, first)]


class Night:
    """The clusters of a night laid out story by story, as the workers read them.

    The parent splits nothing and holds no sentence: each article's metadata
    (``rows``), its text in one Arrow array (``texts``) and, once known, its
    sentence spans (``spans``, an int32 array of ``(start, end)`` each; after
    :meth:`split`, ``(start, end, key)`` with ``key`` a number standing for the
    sentence's identity key, the same for equal keys across the night). The
    workers cut, key and align the articles of their chunk (:meth:`articles`),
    so each distinct layout segment of a chunk is split once, and each sentence
    keyed once.

    ``clusters``: ``(cluster_id, start, stop)`` of every alignable cluster by
    cluster id, its articles being ``rows[start:stop]`` in cluster order;
    ``failures``: the clusters that cannot be aligned. After the clusters' rows
    come the other clustered articles that have a text (members of clusters that
    cannot be aligned), which count for the IDF only. ``ranks``: each row's rank
    in article id order (the IDF's first occurrence).
    """

    def __init__(self, frame: pl.DataFrame, text: pl.Series, spans: dict[str, list[tuple[int, int]]] | None = None):
        meta = frame.select("cluster_id", "article_id", "outlet", "published",
                            pl.col("is_canonical").fill_null(False), "_found", "_text_row")
        groups: dict[str, list[dict]] = {}
        for row in meta.to_dicts():
            groups.setdefault(row["cluster_id"], []).append(row)
        del meta
        self.failures: list[tuple[str, str, str]] = []
        self.clusters: list[tuple[str, int, int]] = []
        order: list[dict] = []
        found: list[dict] = []
        for cluster_id in sorted(groups):
            members = groups[cluster_id]
            found.extend(r for r in members if r["_found"])
            lost = sorted(r["article_id"] for r in members if not r["_found"])
            if lost:
                self.failures.append((cluster_id, "missing_article",
                                      f"cluster {cluster_id}: article(s) {', '.join(lost)} are not in the articles frame"))
                continue
            try:
                check_cluster(cluster_id, members)
            except AlignmentError as exc:
                self.failures.append((cluster_id, exc.reason, str(exc)))
                continue
            self.clusters.append((cluster_id, len(order), len(order) + len(members)))
            order.extend(sorted(members, key=cluster_order))
        seen = {id(r) for r in order}
        order.extend(r for r in found if id(r) not in seen)
        del groups, found, seen
        self.rows = [{k: r[k] for k in ("article_id", "outlet", "published")} for r in order]
        # each row's story and outlet as numbers (no outlet: -1), to count where outlets print a sentence
        self.story = np.empty(len(order), dtype=np.int32)
        for k, (_, a, b) in enumerate(self.clusters):
            self.story[a:b] = k
        others: dict[str, int] = {}
        for i in range(self.clusters[-1][2] if self.clusters else 0, len(order)):
            self.story[i] = others.setdefault(order[i]["cluster_id"], len(self.clusters) + len(others))
        self.outlets: dict[str, int] = {}
        self.outlet = np.array([-1 if r["outlet"] is None else self.outlets.setdefault(r["outlet"], len(self.outlets))
                                for r in order], dtype=np.int64)
        # Each outlet's furniture (see _find_furniture): as (outlet, identity key) pairs, and as a flag on each
        # sentence of the night (rows' sentences one after the other, row i's from sentence_offsets[i]);
        # found_furniture: the pairs counted over the night (furniture_pairs also has those given)
        self.furniture_pairs: Furniture = frozenset()
        self.found_furniture: Furniture = frozenset()
        self.furniture_flags: np.ndarray | None = None
        self.sentence_offsets: np.ndarray | None = None
        # Every article's text, for the workers to read their rows' texts: polars' own buffers seen
        # as an Arrow string view (no copy; a plain ``to_arrow()`` copies every text, 2 GB at 1M articles).
        self.texts = text.to_arrow(compat_level=pl.CompatLevel.newest())
        self.text_rows = np.array([r["_text_row"] for r in order], dtype=np.int64)
        self.chars = text.str.len_chars().fill_null(0).to_numpy()[self.text_rows]
        self.ranks = np.empty(len(order), dtype=np.int64)
        self.ranks[sorted(range(len(order)), key=lambda i: order[i]["article_id"])] = np.arange(len(order))
        known = spans or {}
        self.spans: list[np.ndarray | None] = [
            None if (s := known.get(r["article_id"])) is None else np.array(s, dtype=np.int32).reshape(-1, 2)
            for r in order]

    def all_split(self) -> bool:
        return all(s is not None for s in self.spans)

    def articles(self, start: int, stop: int, splitter: str) -> list[_Article]:
        """Rows ``start:stop`` as articles: split unless their spans are known, keyed (one memo).

        After :meth:`split` the rows carry their identity keys as numbers, so
        nothing is keyed again; the normalised texts a story's vectors need are
        then made on demand (:meth:`dedup.align.core._Article.norm`)."""
        texts = [self.texts[i].as_py() or "" for i in self.text_rows[start:stop].tolist()]
        known = self.spans[start:stop]
        split = iter(split_many([t for t, k in zip(texts, known) if k is None], splitter=splitter))
        memo: dict[str, tuple[str, str]] = {}
        norms: dict[str, str] = {}
        out = []
        pairs, flags, offsets = self.furniture_pairs, self.furniture_flags, self.sentence_offsets
        for i, row, text, k in zip(range(start, stop), self.rows[start:stop], texts, known):
            if k is not None and k.shape[1] == 3:   # numbered keys (see split)
                art = _Article(row["article_id"], row["outlet"], row["published"], text,
                               list(map(tuple, k[:, :2].tolist())), k[:, 2].tolist(), None, norm_memo=norms)
                if flags is not None and flags[offsets[i]:offsets[i + 1]].any():
                    art.furniture = frozenset(np.flatnonzero(flags[offsets[i]:offsets[i + 1]]).tolist())
            else:
                art = make_article(row, text, next(split) if k is None else list(map(tuple, k.tolist())), memo)
                if pairs:
                    art.furniture = frozenset(p for p, key in enumerate(art.keys)
                                              if (None, key) in pairs or (art.outlet, key) in pairs)
            out.append(art)
        return out

    def split(self, config: AlignConfig, workers: int, known: Furniture = frozenset()) -> IdfModel:
        """Split every row (on the workers), keep the spans, and fit the IDF on the distinct sentences.
        Then find the furniture (with ``config.furniture_min_stories``), and add the ``known`` pairs."""
        # an article with known spans costs no splitting: weigh it by its sentences only
        sizes = [int(c) if k is None else 8 * len(k) for c, k in zip(self.chars, self.spans)]
        first: dict[bytes, tuple[int, int, str, int]] = {}   # digest -> first occurrence, key number
        spans: list[np.ndarray] = []
        # Fitted as the chunks arrive, while the workers split the next ones (at a million articles the
        # fit is 30 s of one core). A sentence is counted by the text of its first occurrence in article
        # order: when a later chunk brings an earlier occurrence with another text, the two are swapped.
        # Each distinct identity key gets a number, which replaces the chunk's own in the rows' spans.
        counter = IdfModel(features=config.features, n_features=config.n_features).counter(normalised=True)
        for part, firsts in iter_chunks(split_chunk, (self, config.splitter), bounds_for(sizes, workers, MAX_CHUNK_CHARS),
                                        workers):
            number = np.empty(len(firsts), dtype=np.int32)
            for k, (digest, occurrence) in enumerate(firsts):
                seen = first.get(digest)
                if seen is None:
                    counter.add(occurrence[2])
                    first[digest] = (*occurrence, len(first))
                elif occurrence[:2] < seen[:2]:
                    if occurrence[2] != seen[2]:
                        counter.remove(seen[2])
                        counter.add(occurrence[2])
                    first[digest] = (*occurrence, seen[3])
                number[k] = first[digest][3]
            for rows in part:
                rows[:, 2] = number[rows[:, 2]]
            spans.extend(part)
            del part, firsts
        self.spans = spans
        if config.furniture_min_stories:
            self._find_furniture(config.furniture_min_stories)
            if known:
                self._add_known(known, first)
        return counter.done()

    def _find_furniture(self, min_stories: int) -> None:
        """Each outlet's furniture: the sentences (numbered identity keys, see :meth:`split`) it prints in
        ``min_stories`` or more different stories; and the stock lines, furniture of two outlets or more,
        which are furniture for every outlet. Sets ``furniture_flags``, ``furniture_pairs`` and
        ``found_furniture``."""
        lengths = np.array([len(s) for s in self.spans], dtype=np.int64)
        if not lengths.sum():
            return
        every = np.concatenate([s[:, 2] for s in self.spans])      # int32, as row: a night's 16 M sentences
        row = np.repeat(np.arange(len(self.spans), dtype=np.int32), lengths)
        story = self.story[row]      # non-decreasing: the rows come story by story
        # only a key found in two stories or more can be furniture (nearly every key is in one story):
        # its first and its last sentence are in different stories
        width = int(every.max()) + 1
        first_story, last_story = np.empty(width, dtype=np.int32), np.empty(width, dtype=np.int32)
        first_story[every[::-1]] = story[::-1]
        last_story[every] = story
        maybe = np.flatnonzero((first_story[every] != last_story[every]) & (self.outlet[row] >= 0))
        del first_story, last_story
        self.sentence_offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.furniture_flags = np.zeros(len(every), dtype=bool)
        if not len(maybe):
            return
        row, story = row[maybe], story[maybe]
        pair = self.outlet[row] * width + every[maybe]
        # the distinct pairs (sorted), each one's first sentence, and each sentence's pair (np.unique does
        # the same far slower: it hashes)
        order = np.argsort(pair, kind="stable")
        new = np.ones(len(order), dtype=bool)
        new[1:] = pair[order][1:] != pair[order][:-1]
        pairs, first = pair[order][new], order[new]
        inverse = np.empty(len(order), dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
        # the number of stories each pair is printed in: its distinct (pair, story) codes
        n_story = int(self.story.max()) + 1
        codes = np.sort(inverse * n_story + story)
        own = np.bincount(codes[np.r_[True, codes[1:] != codes[:-1]]] // n_story,
                          minlength=len(pairs)) >= min_stories               # by distinct pair
        stock = np.bincount(pairs[own] % width, minlength=width) >= 2       # by key: two outlets' furniture
        self.furniture_flags = stock[every]
        self.furniture_flags[maybe[own[inverse]]] = True
        # each furniture pair's identity key (a stock line's outlet: None), from its first sentence
        marks = set()
        stock_seen = set()   # a stock key is named once, whichever outlet's pair comes first
        for u in np.flatnonzero(own).tolist():
            key = int(pairs[u] % width)
            if stock[key]:
                if key in stock_seen:
                    continue
                stock_seen.add(key)
            i, r = int(maybe[first[u]]), int(row[first[u]])
            a, b = self.spans[r][i - int(self.sentence_offsets[r]), :2]
            text = identity_key(self.texts[int(self.text_rows[r])].as_py()[a:b])
            marks.add((None if stock[key] else self.rows[r]["outlet"], text))
        self.furniture_pairs = self.found_furniture = frozenset(marks)

    def _add_known(self, known: Furniture, first: dict[bytes, tuple[int, int, str, int]]) -> None:
        """Take the ``known`` pairs (found on earlier nights) as furniture too: flag tonight's sentences of
        each one (a stock line's in every outlet) and add them to ``furniture_pairs``. ``first``: each
        identity key's digest -> its first occurrence and number (:meth:`split`); a key nobody printed
        tonight flags nothing."""
        self.furniture_pairs = self.found_furniture | known
        if self.furniture_flags is None:
            return
        every = np.concatenate([s[:, 2] for s in self.spans])
        width = len(first)
        stock, own = np.zeros(width, dtype=bool), []
        for outlet, key in known:
            seen = first.get(hashlib.blake2b(key.encode(), digest_size=16).digest())
            if seen is None:
                continue
            number = seen[3]
            if outlet is None:
                stock[number] = True
            elif outlet in self.outlets:
                own.append(self.outlets[outlet] * width + number)
        self.furniture_flags |= stock[every]
        if own:
            own = np.array(own, dtype=np.int64)
            maybe = np.flatnonzero(np.isin(every, own % width))
            row = np.searchsorted(self.sentence_offsets, maybe, side="right") - 1
            self.furniture_flags[maybe[np.isin(self.outlet[row] * width + every[maybe], own)]] = True
