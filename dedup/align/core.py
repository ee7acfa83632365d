"""Alignment of one cluster: a pure function from the cluster's articles to frames.

:func:`align_cluster` touches nothing outside its arguments, so clusters can
be aligned in any order, in parallel or on other machines, given the same
fitted :class:`~dedup.align.tfidf.IdfModel` and config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from dedup.align.families import group_similar, provenance
from dedup.align.matcher import Link, align, join_scores
from dedup.align.sentences import split_sentences
from dedup.align.tfidf import IdfModel, l2_normalise, normalise_for_match
from dedup.align.worddiff import split_diff, word_diff
from dedup.errors import DedupError
from dedup.schema import LINKS, SENTENCES, conform

if TYPE_CHECKING:
    from dedup.align import AlignConfig

CLUSTER_COLUMNS = ("cluster_id", "article_id", "outlet", "published", "is_canonical", "text")

_PIECES = re.compile(r"\w+|[^\w\s]")


class AlignmentError(DedupError):
    """A cluster cannot be aligned; ``reason`` is a stable code counted in the failures."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def identity_key(sentence: str) -> str:
    """Two sentences are *the same* (status ``kept``) when these keys are equal.

    The key ignores case, Unicode compatibility forms, quote and dash styles
    and whitespace; every word and punctuation mark still counts. Stateless.
    """
    return " ".join(_PIECES.findall(normalise_for_match(sentence)))


@dataclass
class _Article:
    article_id: str
    outlet: str | None
    published: datetime | None
    text: str
    spans: list[tuple[int, int]]
    sentences: list[str]
    unique: np.ndarray  # row of each sentence in the cluster's matrix of distinct sentences


def align_cluster(frame: pl.DataFrame, *, idf: IdfModel, config: "AlignConfig") -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sentences and provenance links of one cluster. Pure: same input, same frames.

    ``frame`` has one row per article of the cluster with columns
    ``cluster_id, article_id, outlet, published, is_canonical, text`` (a null
    text counts as empty). Exactly one row must be canonical. Raises
    :class:`AlignmentError` for input it cannot align.
    """
    missing = [c for c in CLUSTER_COLUMNS if c not in frame.columns]
    if missing:
        raise AlignmentError("bad_frame", f"cluster frame lacks column(s) {missing}")
    cluster_ids = frame["cluster_id"].unique().to_list()
    if len(cluster_ids) != 1:
        found = sorted(map(str, cluster_ids))
        raise AlignmentError("bad_frame", f"expected the rows of one cluster, got cluster ids {found}")
    cluster_id = cluster_ids[0]
    n_canonical = int(frame["is_canonical"].fill_null(False).sum())
    if n_canonical != 1:
        reason = "no_canonical" if n_canonical == 0 else "several_canonicals"
        raise AlignmentError(reason, f"cluster {cluster_id} has {n_canonical} canonical articles; expected exactly 1")
    if frame["article_id"].n_unique() != frame.height:
        raise AlignmentError("duplicate_article", f"cluster {cluster_id} lists an article twice")

    ordered = frame.with_columns(pl.col("is_canonical").fill_null(False)).sort(
        ["is_canonical", "published", "article_id"], descending=[True, False, False], nulls_last=True)
    articles = [_article(row, config) for row in ordered.iter_rows(named=True)]
    canonical, versions = articles[0], articles[1:]

    # distinct sentences of the cluster, vectorised once (wire copies repeat most sentences)
    keys: dict[str, int] = {}
    texts: list[str] = []
    for art in articles:
        rows = []
        for sentence in art.sentences:
            key = identity_key(sentence)
            if key not in keys:
                keys[key] = len(texts)
                texts.append(sentence)
            rows.append(keys[key])
        art.unique = np.array(rows, dtype=np.int64)
    raw = _compact(idf.weights(texts)) if texts else sp.csr_matrix((0, 1))
    unit = l2_normalise(raw)
    norms = np.sqrt(np.asarray(raw.multiply(raw).sum(axis=1)).ravel())
    c_rows = canonical.unique
    sim_all = (unit @ unit[c_rows].T).toarray() if len(c_rows) and len(texts) else np.zeros((len(texts), 0))
    adjacent = _adjacent_dots(raw, articles)
    c_adj = adjacent(c_rows)

    records: list[dict[str, Any]] = []
    added: list[tuple[int, int, int]] = []  # (record index, unique row, article rank)
    for pos, (sentence, (start, end)) in enumerate(zip(canonical.sentences, canonical.spans)):
        records.append(_row(canonical, "kept", pos, sentence, pos, 1.0, pos, start, end, None))
    for rank, art in enumerate(versions, start=1):
        sim = sim_all[art.unique]
        joins = join_scores(sim, norms[art.unique], norms[c_rows], adjacent(art.unique), c_adj,
                            align_threshold=config.align_threshold, join_gain=config.join_gain,
                            join_threshold=config.join_threshold)
        links = align(sim, joins, align_threshold=config.align_threshold, reorder_window=config.reorder_window,
                      moved_threshold=config.moved_threshold)
        linked = _version_rows(art, canonical, links, config, records)
        for pos, sentence in enumerate(art.sentences):
            if pos not in linked:
                start, end = art.spans[pos]
                added.append((len(records), int(art.unique[pos]), rank))
                records.append(_row(art, "added", pos, sentence, None, None, None, start, end, None))
        covered = {c for link in links for c in link.canonical}
        for cpos, (sentence, (start, end)) in enumerate(zip(canonical.sentences, canonical.spans)):
            if cpos not in covered:
                records.append(_row(art, "dropped", cpos, sentence, cpos, None, cpos, start, end, None))

    link_rows = _added_families(added, records, unit, articles, config, len(canonical.sentences))
    sentences = conform(pl.DataFrame(records, schema=SENTENCES), SENTENCES, "align")
    sentences = sentences.with_columns(pl.lit(cluster_id, pl.String).alias("cluster_id"))
    sentences = sentences.sort(["article_id", pl.col("status") == "dropped", "position"])
    outlets = {a.article_id: a.outlet for a in articles}
    links = pl.DataFrame(
        [{"cluster_id": cluster_id, "family_id": f, "first_article_id": first, "first_outlet": outlets[first],
          "article_id": later, "outlet": outlets[later], "n_sentences": n} for f, first, later, n in link_rows],
        schema=LINKS,
    ).sort(["family_id", "article_id"])
    return sentences, conform(links, LINKS, "align")


def _article(row: dict[str, Any], config: "AlignConfig") -> _Article:
    text = row["text"] or ""
    spans = split_sentences(text, splitter=config.splitter)
    return _Article(row["article_id"], row["outlet"], row["published"], text, spans,
                    [text[a:b] for a, b in spans], np.zeros(0, dtype=np.int64))


def _compact(mat: sp.csr_matrix) -> sp.csr_matrix:
    """The same rows over only the hash buckets they use (products then never touch 2**20 columns)."""
    cols, inverse = np.unique(mat.indices, return_inverse=True)
    out = sp.csr_matrix((mat.data, inverse.astype(np.int32), mat.indptr), shape=(mat.shape[0], max(len(cols), 1)))
    out.sort_indices()
    return out


def _adjacent_dots(raw: sp.csr_matrix, articles: list[_Article]):
    """``rows -> dot products of each raw row with the next``, computed once per distinct pair."""
    pairs = sorted({(int(a), int(b)) for art in articles for a, b in zip(art.unique[:-1], art.unique[1:])})
    if pairs:
        left, right = np.array(pairs).T
        dots = np.asarray(raw[left].multiply(raw[right]).sum(axis=1)).ravel()
    else:
        dots = np.zeros(0)
    lookup = dict(zip(pairs, dots))

    def adjacent(rows: np.ndarray) -> np.ndarray:
        return np.array([lookup[(int(a), int(b))] for a, b in zip(rows[:-1], rows[1:])], dtype=np.float64)

    return adjacent


def _row(art: _Article, status: str, position: int, text: str, canonical_position: int | None,
         similarity: float | None, family: int | None, start: int, end: int,
         diff: list[dict[str, str]] | None) -> dict[str, Any]:
    return {"cluster_id": None, "article_id": art.article_id, "outlet": art.outlet, "status": status,
            "position": position, "text": text, "canonical_position": canonical_position,
            "similarity": similarity, "family_id": family, "char_start": start, "char_end": end,
            "word_diff": diff}


def _version_rows(art: _Article, canonical: _Article, links: list[Link], config: "AlignConfig",
                  records: list[dict[str, Any]]) -> set[int]:
    """Append the kept/edited rows of one version; return the version positions they cover."""
    linked: set[int] = set()
    for link in links:
        first_c = link.canonical[0]
        if len(link.version) == 1:
            v = link.version[0]
            sentence = art.sentences[v]
            start, end = art.spans[v]
            if len(link.canonical) == 1 and (art.unique[v] == canonical.unique[first_c]
                                            or link.similarity >= config.kept_threshold):
                same = art.unique[v] == canonical.unique[first_c]
                records.append(_row(art, "kept", v, sentence, first_c, 1.0 if same else link.similarity,
                                    first_c, start, end, None))
            else:
                target = " ".join(canonical.sentences[c] for c in link.canonical)
                records.append(_row(art, "edited", v, sentence, first_c, link.similarity, first_c, start, end,
                                    word_diff(target, sentence)))
        else:
            parts = [art.sentences[v] for v in link.version]
            diffs = split_diff(canonical.sentences[first_c], parts)
            for v, sentence, diff in zip(link.version, parts, diffs):
                start, end = art.spans[v]
                records.append(_row(art, "edited", v, sentence, first_c, link.similarity, first_c, start, end,
                                    diff))
        linked.update(link.version)
    return linked


def _added_families(added: list[tuple[int, int, int]], records: list[dict[str, Any]], unit: sp.csr_matrix,
                    articles: list[_Article], config: "AlignConfig", n_canonical: int) -> list[tuple]:
    """Give added rows their family ids (in place) and return the provenance rows."""
    if not added:
        return []
    added.sort(key=lambda item: (item[2], records[item[0]]["position"]))   # first appearance order
    distinct = list(dict.fromkeys(u for _, u, _ in added))
    where = {u: k for k, u in enumerate(distinct)}
    labels = group_similar(unit[distinct], config.align_threshold)
    carriers: dict[int, dict[str, int]] = {}
    for index, u, _ in added:
        family = n_canonical + int(labels[where[u]])
        records[index]["family_id"] = family
        holder = carriers.setdefault(family, {})
        article_id = records[index]["article_id"]
        holder[article_id] = holder.get(article_id, 0) + 1
    rank = {a.article_id: k for k, a in enumerate(articles)}
    return provenance(carriers, rank)
