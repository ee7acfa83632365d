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

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from dedup.align.core import (
    AlignmentError,
    align_cluster,
    align_stories,
    check_sizes,
    chunk_vectors,
)
from dedup.align.parallel import (
    MAX_CHUNK_CHARS,
    MAX_CHUNK_SENTENCES,
    bounds_for,
    iter_chunks,
    n_workers,
)
from dedup.align.prepare import Furniture, Night, cluster_frame
from dedup.align.rows import _Rows, in_sentence_order, links_frame, sentence_frame
from dedup.align.sentences import split_sentences
from dedup.align.terminal import render_diff
from dedup.align.tfidf import IdfModel
from dedup.config import AlignConfig
from dedup.io.writers import ParquetRows
from dedup.memory import release_free_memory
from dedup.progress import Progress, bar
from dedup.schema import SENTENCES

__all__ = [
    "AlignConfig", "AlignResult", "AlignmentError", "IdfModel",
    "align_clusters", "align_cluster", "fit_idf", "split_sentences", "render_diff", "FAILURES",
]

FAILURES = pl.Schema({"cluster_id": pl.String, "reason": pl.String, "message": pl.String})


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


def fit_idf(articles: pl.DataFrame, clusters: pl.DataFrame, *, config: AlignConfig = AlignConfig()) -> IdfModel:
    """Fit the IDF on every distinct sentence of every article in a cluster of two or more.

    A sentence repeated by 150 outlets counts once: otherwise the names that
    identify a widely carried story would get the lowest weights of the night.
    Distinct means distinct :func:`~dedup.align.core.identity_key`; a sentence
    is represented by its first occurrence (articles by id, sentences in order).
    """
    frame = cluster_frame(articles, clusters)
    return Night(frame, articles.get_column("text")).split(config, n_workers(config.workers, frame.height))


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
    The scan reads the file this call wrote even after a later run removes or replaces it.
    """
    frame = cluster_frame(articles, clusters)
    workers = n_workers(config.workers, frame.height)
    night = Night(frame, articles.get_column("text"), spans)
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
    if rows is None:
        sentences = sentence_frame(tables)
    else:   # a scan of the file written, not of its name: still this run's rows once a later run replaces it
        with open(rows.path, "rb") as written:   # (polars keeps its own descriptor and reads it in pieces)
            sentences = pl.scan_parquet(written)
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


def _align_chunk(data: tuple[Night, IdfModel, AlignConfig], start: int, stop: int
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
