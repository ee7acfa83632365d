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

from dedup.align.core import AlignmentError, align_cluster, identity_key
from dedup.align.sentences import split_sentences
from dedup.align.terminal import render_diff
from dedup.align.tfidf import Features, IdfModel
from dedup.config import AlignConfig
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
    """

    sentences: pl.DataFrame
    links: pl.DataFrame
    failures: pl.DataFrame


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
    """
    frame = _cluster_frames(articles, clusters).filter(pl.col("_found"))
    seen: dict[str, str] = {}
    for text in frame.sort("article_id")["text"].fill_null("").to_list():
        for a, b in split_sentences(text, splitter=config.splitter):
            seen.setdefault(identity_key(text[a:b]), text[a:b])
    return IdfModel(features=config.features, n_features=config.n_features).fit(seen.values())


def align_clusters(articles: pl.DataFrame, clusters: pl.DataFrame, *, config: AlignConfig = AlignConfig(),
                   idf: IdfModel | None = None) -> AlignResult:
    """Align every cluster of two or more articles; see the module docstring.

    ``articles`` has schema :data:`dedup.schema.ARTICLES` (only ``article_id``
    and ``text`` are read), ``clusters`` :data:`dedup.schema.CLUSTERS`. ``idf``
    defaults to :func:`fit_idf` over the same input. Clusters are aligned
    independently (see :func:`align_cluster`); one that fails lands in
    ``failures`` and the others go on. Deterministic: the same input gives
    identical frames whatever its row order.
    """
    frame = _cluster_frames(articles, clusters)
    if idf is None:
        idf = fit_idf(articles, clusters, config=config)
    sentence_parts, link_parts, failures = [], [], []
    for (cluster_id,), group in sorted(frame.group_by(["cluster_id"]), key=lambda kv: kv[0]):
        lost = group.filter(~pl.col("_found"))["article_id"].sort().to_list()
        if lost:
            failures.append((cluster_id, "missing_article",
                             f"cluster {cluster_id}: article(s) {', '.join(lost)} are not in the articles frame"))
            continue
        try:
            sentences, links = align_cluster(group.drop("_found"), idf=idf, config=config)
        except AlignmentError as exc:
            failures.append((cluster_id, exc.reason, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad cluster must not stop the night
            failures.append((cluster_id, "alignment_error", f"cluster {cluster_id}: {type(exc).__name__}: {exc}"))
            continue
        sentence_parts.append(sentences)
        link_parts.append(links)
    sentences = pl.concat(sentence_parts) if sentence_parts else empty(SENTENCES)
    links = pl.concat(link_parts) if link_parts else empty(LINKS)
    return AlignResult(
        sentences=sentences.sort(["cluster_id", "article_id", pl.col("status") == "dropped", "position"]),
        links=links.sort(["cluster_id", "family_id", "article_id"]),
        failures=pl.DataFrame(failures, schema=FAILURES, orient="row").sort("cluster_id"),
    )

