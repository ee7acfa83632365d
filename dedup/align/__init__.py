"""Sentence-level diff: what each outlet kept, edited, added and dropped.

For every cluster of two or more articles, each version is aligned sentence by
sentence against the cluster's canonical version:

``kept``
    the same sentence: equal after ignoring case, quote/dash style and
    whitespace (see :func:`dedup.align.core.identity_key`), or a cosine of at
    least ``kept_threshold`` when that is lowered below 1.
``edited``
    the same sentence reworded: TF-IDF cosine with its canonical sentence of at
    least ``align_threshold``, found by an order-aware alignment that also
    pairs split and merged sentences. Carries a word-level diff.
``added``
    a sentence of the version that matches no canonical sentence.
``dropped``
    one row per canonical sentence a version does not carry (its text, position
    and character span are the canonical's).

Choosing ``align_threshold``
----------------------------
The threshold trades the two ways the aligner can be wrong. Too low, and two
different sentences about the same story (same names, same numbers) are taken
for one sentence reworded, so real additions hide as "edited". Too high, and a
rewritten sentence shows up as one sentence dropped plus one added. The default
(0.52 with character 3-5-gram features) maximises accuracy on the training
split of the Microsoft Research Paraphrase Corpus, whose pairs are exactly
"the same sentence as another outlet wrote it" vs "a different sentence of the
same story"; on its test split it scores 0.72 accuracy / 0.80 F1 (numbers and
commands in ``benchmarks/README.md``). Near-copies of wire stories are
far easier than MSRP, so the threshold mostly matters for heavy rewrites.

Singletons (``cluster_size`` 1) produce no rows: there is nothing to compare
them with, and their text is in the articles table.

Failures: a cluster whose alignment raises is reported in
:attr:`AlignResult.failures` (``cluster_id``, ``reason``, ``message``) and the
run goes on. Reasons: ``missing_article`` (a clustered article id is not in
the articles frame), ``no_canonical``, ``several_canonicals``,
``duplicate_article``, ``bad_frame``, ``too_many_sentences`` (the canonical or
a version has more than ``max_sentences`` sentences: refused before anything
is allocated for it, as its alignment's memory grows with the square of that
count; the message names the article and its count), and ``alignment_error``
(an unexpected exception; the message names it).
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa

from dedup.align.core import (AlignmentError, _Article, align_cluster, align_stories, check_cluster, check_sizes,
                             chunk_vectors, cluster_order, identity_key, make_article)
from dedup.align.rows import _Rows, in_sentence_order, links_frame, sentence_frame
from dedup.align.parallel import MAX_CHUNK_CHARS, MAX_CHUNK_SENTENCES, bounds_for, iter_chunks, n_workers
from dedup.align.sentences import split_many, split_sentences
from dedup.align.terminal import render_diff
from dedup.align.tfidf import Features, IdfModel
from dedup.config import AlignConfig
from dedup.io.writers import ParquetRows
from dedup.memory import release_free_memory
from dedup.progress import Progress, bar
from dedup.schema import LINKS, SENTENCES, empty

__all__ = [
    "AlignConfig", "AlignResult", "AlignmentError", "IdfModel",
    "align_clusters", "align_cluster", "fit_idf", "split_sentences", "render_diff", "FAILURES",
]

FAILURES = pl.Schema({"cluster_id": pl.String, "reason": pl.String, "message": pl.String})

#: ``(outlet, identity key)`` pairs of the night's furniture (see ``furniture_min_stories`` in
#: :class:`AlignConfig`); an outlet of None: a stock line, furniture for every outlet.
Furniture = frozenset[tuple[str | None, str]]

@dataclass(frozen=True)
class AlignResult:
    """Output of :func:`align_clusters`.

    sentences: :data:`dedup.schema.SENTENCES`, sorted by cluster, article,
        own sentences before dropped ones, position; a LazyFrame scanning
        the file when the rows were written as they came (``sentences_file``).
    links: :data:`dedup.schema.LINKS`, sorted by cluster, family, article.
    failures: :data:`FAILURES`, one row per cluster that could not be aligned.
    idf: the IDF the rows were computed with.
    furniture: the pairs the LINKS took for furniture (:data:`Furniture`).
    found_furniture: those of them counted over these articles (the others were
        given, see ``furniture`` in :func:`align_clusters`): what a nightly state
        keeps for the nights after.
    """

    sentences: pl.DataFrame | pl.LazyFrame
    links: pl.DataFrame
    failures: pl.DataFrame
    idf: IdfModel | None = None
    furniture: Furniture = frozenset()
    found_furniture: Furniture = frozenset()


def _cluster_frames(articles: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """The members of clusters of two or more, each with the row of its text in ``articles`` (``_text_row``;
    the first row of an id given twice) and whether it has one (``_found``). The texts are not copied."""
    multi = clusters.filter(pl.col("cluster_size") >= 2).select(
        "cluster_id", "article_id", "outlet", "published", "is_canonical")
    rows = (articles.select("article_id").with_row_index("_text_row")
            .sort("article_id", "_text_row").unique("article_id", keep="first"))
    return multi.join(rows, on="article_id", how="left").with_columns(
        pl.col("_text_row").is_not_null().alias("_found"))


def fit_idf(articles: pl.DataFrame, clusters: pl.DataFrame, *, config: AlignConfig = AlignConfig()) -> IdfModel:
    """Fit the IDF on every distinct sentence of every article in a cluster of two or more.

    A sentence repeated by 150 outlets counts once: otherwise the names that
    identify a widely carried story would get the lowest weights of the night.
    Distinct means distinct :func:`~dedup.align.core.identity_key`; a sentence
    is represented by its first occurrence (articles by id, sentences in order).
    """
    frame = _cluster_frames(articles, clusters)
    return _Night(frame, articles.get_column("text")).split(config, n_workers(config.workers, frame.height))


def align_clusters(articles: pl.DataFrame, clusters: pl.DataFrame, *, config: AlignConfig = AlignConfig(),
                   idf: IdfModel | None = None, progress: Progress | None = None,
                   spans: dict[str, list[tuple[int, int]]] | None = None,
                   sentences_file: str | Path | None = None,
                   furniture: Furniture | None = None) -> AlignResult:
    """Align every cluster of two or more articles; see the module docstring.

    ``articles`` has schema :data:`dedup.schema.ARTICLES` (only ``article_id``
    and ``text`` are read), ``clusters`` :data:`dedup.schema.CLUSTERS`. ``idf``
    defaults to :func:`fit_idf` over the same input. The furniture (the
    ``(outlet, identity key)`` pairs that are no evidence of copying, see
    ``furniture_min_stories`` in :class:`AlignConfig`) is then counted over the
    same articles, and the pairs given as ``furniture`` are added to it (a
    nightly state gives those its earlier nights found; with
    ``furniture_min_stories`` 0 there is no furniture at all). Given an ``idf``, the
    furniture is the pairs given, if any (the Spark engine counts both over the
    whole night). Clusters are aligned
    independently (see :func:`align_cluster`), on ``config.workers`` processes
    for a large night (see :mod:`dedup.align.parallel`); one that fails lands
    in ``failures`` and the others go on. Deterministic: the same input gives
    identical frames whatever its row order and whatever the number of workers.
    The sentence rows come in :data:`SENTENCE_ORDER`: the clusters are cut into
    contiguous chunks in cluster id order and each chunk sorts its own rows, so
    the parts only need to be joined.
    ``progress`` draws a bar of the stories aligned (see :mod:`dedup.progress`).
    ``spans``: sentence spans already known by article id (an earlier night's
    split of the same text with the same splitter); those articles are not split again.
    ``sentences_file``: write the sentence rows to this Parquet file as each chunk's
    rows arrive (:class:`dedup.io.writers.ParquetRows`: the same bytes as writing
    the whole frame) instead of holding the night's rows; ``sentences`` is then a
    LazyFrame scanning it. A million-article night has 16 M rows, 3.4 GB in memory.
    """
    frame = _cluster_frames(articles, clusters)
    workers = n_workers(config.workers, frame.height)
    night = _Night(frame, articles.get_column("text"), spans)
    del frame
    if idf is None:
        idf = night.split(config, workers, known=frozenset(furniture or ()))
    elif furniture:
        night.furniture_pairs = frozenset(furniture)
    todo = night.clusters
    if night.all_split():   # chunks of at most so many sentences to align
        per_row, cap = np.array([len(s) for s in night.spans], dtype=np.int64), MAX_CHUNK_SENTENCES
    else:                   # (idf given) each chunk splits its own articles: at most so many characters
        per_row, cap = night.chars, MAX_CHUNK_CHARS
    at = np.concatenate([[0], np.cumsum(per_row)])
    sizes = [int(at[b] - at[a]) for _, a, b in todo]
    tables, link_rows, failures = [], [], list(night.failures)
    # the file is named when the block ends, and removed if it ends on an exception
    with (nullcontext() if sentences_file is None else ParquetRows(sentences_file, SENTENCES)) as rows, \
            bar(progress, "align", total=len(todo), unit="story") as advance:
        for table, links, failed in iter_chunks(_align_chunk, (night, idf, config), bounds_for(sizes, workers, cap),
                                                workers, done=lambda start, stop: advance(stop - start)):
            if rows is None:
                tables.append(table)
            else:
                rows.write(table)
            link_rows.extend(links)
            failures.extend(failed)
            del table
    furniture_pairs, found = night.furniture_pairs, night.found_furniture
    del night, todo
    release_free_memory()   # the workers' rows as Python objects: freed by Python, kept by the C heap until trimmed
    sentences = sentence_frame(tables) if rows is None else pl.scan_parquet(rows.path)
    links = links_frame(link_rows)
    return AlignResult(
        sentences=sentences,
        links=links.sort(["cluster_id", "family_id", "article_id"]),
        failures=pl.DataFrame(failures, schema=FAILURES, orient="row").sort("cluster_id"),
        idf=idf,
        furniture=furniture_pairs,
        found_furniture=found,
    )


#: The row order of :attr:`AlignResult.sentences` (a total order: an article's positions are distinct
#: among its own sentences and among its dropped rows). :func:`dedup.align.rows.in_sentence_order`
#: is the same order in pyarrow, for the workers.
SENTENCE_ORDER = ["cluster_id", "article_id", pl.col("status") == "dropped", "position"]


def _align_chunk(data: tuple[_Night, IdfModel, AlignConfig], start: int, stop: int
                 ) -> tuple[pa.Table, list[dict], list[tuple[str, str, str]]]:
    """SENTENCES rows (Arrow), LINKS rows and failed clusters of clusters ``start:stop`` (may run in a worker).

    The chunk's articles are split (unless their spans are known) and keyed here,
    story by story; the rows travel back as one Arrow table: compact to pickle,
    and the parent never holds the night's sentences as Python objects.
    """
    night, idf, config = data
    todo = night.clusters[start:stop]
    lo = todo[0][1]
    made = night.articles(lo, todo[-1][2], config.splitter)
    chunk, failures = [], []
    for cluster_id, a, b in todo:
        arts = made[a - lo:b - lo]
        try:   # refused before any vector is made: an oversized story's cosines alone could exhaust memory
            check_sizes(cluster_id, arts, config.max_sentences)
        except AlignmentError as exc:
            failures.append((cluster_id, exc.reason, str(exc)))
            continue
        chunk.append((cluster_id, arts))
    try:
        together = chunk_vectors([arts for _, arts in chunk], idf)
    except Exception:  # noqa: BLE001 - then story by story below, so that only the bad one fails
        together = [None] * len(chunk)
    stories = []
    for (cluster_id, arts), vectors in zip(chunk, together):
        try:
            stories.append((cluster_id, arts, vectors or chunk_vectors([arts], idf)[0]))
        except Exception as exc:  # noqa: BLE001 - one bad cluster must not stop the night
            failures.append((cluster_id, "alignment_error", f"cluster {cluster_id}: {type(exc).__name__}: {exc}"))
    parts, failed = align_stories(stories, config)
    out = _Rows()
    for part in parts:
        out.extend(part)
    return in_sentence_order(out.table()), out.links, failures + failed


def _split_chunk(data: tuple[_Night, str], start: int, stop: int
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


class _Night:
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
        for part, firsts in iter_chunks(_split_chunk, (self, config.splitter), bounds_for(sizes, workers, MAX_CHUNK_CHARS),
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
