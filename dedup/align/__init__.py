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
``duplicate_article``, ``bad_frame``, and ``alignment_error`` (an unexpected
exception; the message names it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl
import pyarrow as pa

from dedup.align.core import (AlignmentError, _Article, align_cluster, align_prepared, check_cluster,
                             chunk_vectors, cluster_order, identity_key, make_article)
from dedup.align.rows import _Rows, in_sentence_order, links_frame, sentence_frame
from dedup.align.parallel import MAX_CHUNK_CHARS, MAX_CHUNK_SENTENCES, bounds_for, map_chunks, n_workers
from dedup.align.sentences import split_many, split_sentences
from dedup.align.terminal import render_diff
from dedup.align.tfidf import Features, IdfModel
from dedup.config import AlignConfig
from dedup.memory import release_free_memory
from dedup.progress import Progress, bar
from dedup.schema import LINKS, SENTENCES, empty

__all__ = [
    "AlignConfig", "AlignResult", "AlignmentError", "IdfModel",
    "align_clusters", "align_cluster", "fit_idf", "split_sentences", "render_diff", "FAILURES",
]

FAILURES = pl.Schema({"cluster_id": pl.String, "reason": pl.String, "message": pl.String})

@dataclass(frozen=True)
class AlignResult:
    """Output of :func:`align_clusters`.

    sentences: :data:`dedup.schema.SENTENCES`, sorted by cluster, article,
        own sentences before dropped ones, position.
    links: :data:`dedup.schema.LINKS`, sorted by cluster, family, article.
    failures: :data:`FAILURES`, one row per cluster that could not be aligned.
    idf: the IDF the rows were computed with.
    """

    sentences: pl.DataFrame
    links: pl.DataFrame
    failures: pl.DataFrame
    idf: IdfModel | None = None


def _cluster_frames(articles: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    multi = clusters.filter(pl.col("cluster_size") >= 2).select(
        "cluster_id", "article_id", "outlet", "published", "is_canonical")
    texts = articles.select("article_id", "text").sort("article_id").unique("article_id", keep="first")
    return multi.join(texts,
                      on="article_id", how="left").with_columns(
        pl.col("article_id").is_in(articles["article_id"].implode()).alias("_found"))


def fit_idf(articles: pl.DataFrame, clusters: pl.DataFrame, *, config: AlignConfig = AlignConfig()) -> IdfModel:
    """Fit the IDF on every distinct sentence of every article in a cluster of two or more.

    A sentence repeated by 150 outlets counts once: otherwise the names that
    identify a widely carried story would get the lowest weights of the night.
    Distinct means distinct :func:`~dedup.align.core.identity_key`; a sentence
    is represented by its first occurrence (articles by id, sentences in order).
    """
    frame = _cluster_frames(articles, clusters)
    return _Night(frame, config, n_workers(config.workers, frame.height)).fit_idf()


def align_clusters(articles: pl.DataFrame, clusters: pl.DataFrame, *, config: AlignConfig = AlignConfig(),
                   idf: IdfModel | None = None, progress: Progress | None = None,
                   spans: dict[str, list[tuple[int, int]]] | None = None) -> AlignResult:
    """Align every cluster of two or more articles; see the module docstring.

    ``articles`` has schema :data:`dedup.schema.ARTICLES` (only ``article_id``
    and ``text`` are read), ``clusters`` :data:`dedup.schema.CLUSTERS`. ``idf``
    defaults to :func:`fit_idf` over the same input. Clusters are aligned
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
    """
    frame = _cluster_frames(articles, clusters)
    workers = n_workers(config.workers, frame.height)
    night = _Night(frame, config, workers, spans or {})
    del frame
    if idf is None:
        idf = night.fit_idf()
    todo, night_failures = night.clusters, night.failures
    with bar(progress, "align", total=len(todo), unit="story") as advance:
        parts = map_chunks(_align_chunk, (todo, idf, config),
                           bounds_for([sum(len(a.spans) for a in arts) for _, arts in todo], workers,
                                      MAX_CHUNK_SENTENCES), workers,
                           done=lambda start, stop: advance(stop - start))
    del night, todo
    release_free_memory()   # the split articles: freed by Python, kept by the C heap until trimmed
    failures = list(night_failures)
    tables, link_rows = [], []
    for table, links, failed in parts:
        tables.append(table)
        link_rows.extend(links)
        failures.extend(failed)
    del parts
    sentences, links = sentence_frame(tables), links_frame(link_rows)
    return AlignResult(
        sentences=sentences,
        links=links.sort(["cluster_id", "family_id", "article_id"]),
        failures=pl.DataFrame(failures, schema=FAILURES, orient="row").sort("cluster_id"),
        idf=idf,
    )


#: The row order of :attr:`AlignResult.sentences` (a total order: an article's positions are distinct
#: among its own sentences and among its dropped rows). :func:`dedup.align.rows.in_sentence_order`
#: is the same order in pyarrow, for the workers.
SENTENCE_ORDER = ["cluster_id", "article_id", pl.col("status") == "dropped", "position"]


def _align_chunk(data: tuple[list[tuple[str, list]], IdfModel, AlignConfig], start: int, stop: int
                 ) -> tuple[pa.Table, list[dict], list[tuple[str, str, str]]]:
    """SENTENCES rows (Arrow), LINKS rows and failed clusters of clusters ``start:stop`` (may run in a worker).

    The rows travel back as one Arrow table: compact to pickle, and the parent
    never holds every sentence of the night as Python objects.
    """
    clusters, idf, config = data
    out = _Rows()
    failures = []
    chunk = clusters[start:stop]
    try:
        together = chunk_vectors([arts for _, arts in chunk], idf)
    except Exception:  # noqa: BLE001 - then story by story below, so that only the bad one fails
        together = [None] * len(chunk)
    for (cluster_id, arts), vectors in zip(chunk, together):
        try:
            part = _Rows()
            align_prepared(cluster_id, arts, vectors or chunk_vectors([arts], idf)[0], config, part)
        except Exception as exc:  # noqa: BLE001 - one bad cluster must not stop the night
            failures.append((cluster_id, "alignment_error", f"cluster {cluster_id}: {type(exc).__name__}: {exc}"))
            continue
        out.extend(part)
    return in_sentence_order(out.table()), out.links, failures


def _make_articles(data: tuple[list[tuple[dict, str, list | None]], str], start: int, stop: int) -> list:
    """Articles ``start:stop`` split into sentences, keyed and normalised (may run in a worker).

    An item's third part, when not None, holds its sentence spans already
    (an earlier night's split of the same text): it is keyed, not split again.
    Returns each article's ``(spans, keys, norms)`` only: the caller has the
    texts, and cuts the sentences itself (:func:`_article`) rather than receiving
    every sentence a second time through a pipe.
    """
    rows, splitter = data
    rows = rows[start:stop]
    split = iter(split_many([text for _, text, known in rows if known is None], splitter=splitter))
    memo: dict[str, tuple[str, str]] = {}
    made = (make_article(row, text, next(split) if known is None else known, memo) for row, text, known in rows)
    return [(art.spans, art.keys, art.norms) for art in made]


def _article(row: dict, text: str, made: tuple[list, list, list]) -> _Article:
    """The :class:`~dedup.align.core._Article` of ``text`` from its :func:`_make_articles` parts."""
    spans, keys, norms = made
    return _Article(row["article_id"], row["outlet"], row["published"], text, spans, keys, norms)


class _Night:
    """The clusters of a night, split into sentences once (each distinct layout segment once).

    ``clusters``: ``(cluster_id, articles in cluster order)`` of every alignable
    cluster, by cluster id; ``failures``: the clusters that cannot be aligned;
    ``found``: every clustered article that has a text, for the IDF.
    """

    def __init__(self, frame: pl.DataFrame, config: AlignConfig, workers: int,
                 spans: dict[str, list[tuple[int, int]]] | None = None):
        self.config = config
        rows = frame.with_columns(pl.col("is_canonical").fill_null(False)).to_dicts()
        groups: dict[str, list[dict]] = {}
        for row in rows:
            groups.setdefault(row["cluster_id"], []).append(row)
        self.failures: list[tuple[str, str, str]] = []
        good: list[tuple[str, list[dict]]] = []
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
            good.append((cluster_id, sorted(members, key=cluster_order)))
        # good clusters first and story by story, so repeated paragraphs hit the splitter's memo
        order = [r for _, members in good for r in members]
        seen = {id(r) for r in order}
        order.extend(r for r in found if id(r) not in seen)
        known = spans or {}
        items = [({k: r[k] for k in ("article_id", "outlet", "published")}, r["text"] or "",
                  known.get(r["article_id"])) for r in order]
        # an article with known spans costs no splitting: weigh it by its sentences only
        bounds = bounds_for([len(text) if k is None else 8 * len(k) for _, text, k in items], workers,
                            MAX_CHUNK_CHARS)
        made_list = [a for part in map_chunks(_make_articles, (items, config.splitter), bounds, workers) for a in part]
        made = {id(r): _article(r, text, parts) for r, (_, text, _), parts in zip(order, items, made_list)}
        self.clusters = [(cluster_id, [made[id(r)] for r in members]) for cluster_id, members in good]
        self.found = sorted(((r["article_id"], made[id(r)]) for r in found), key=lambda item: item[0])

    def fit_idf(self) -> IdfModel:
        reps: dict[str, str] = {}
        for _, art in self.found:
            for key, norm in zip(art.keys, art.norms):
                reps.setdefault(key, norm)
        return IdfModel(features=self.config.features, n_features=self.config.n_features).fit(
            reps.values(), normalised=True)
