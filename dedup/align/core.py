"""Alignment of one cluster: a pure function from the cluster's articles to frames.

:func:`align_cluster` touches nothing outside its arguments, so clusters can
be aligned in any order, in parallel or on other machines, given the same
fitted :class:`~dedup.align.tfidf.IdfModel` and config.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from dedup.align.families import group_similar, group_stories, provenance
from dedup.align.matcher import Link, align_versions
from dedup.align.rows import _Rows
from dedup.align.sentences import split_many, split_sentences  # noqa: F401 (re-exported)
from dedup.align.tfidf import IdfModel, normalise_for_match
from dedup.align.vectors import _Vectors, chunk_vectors
from dedup.align.worddiff import split_diff, word_diff
from dedup.errors import DedupError
from dedup.normalize import Unicode14Re

if TYPE_CHECKING:
    from dedup.align import AlignConfig

CLUSTER_COLUMNS = ("cluster_id", "article_id", "outlet", "published", "is_canonical", "text")

_PIECES = Unicode14Re(r"[{w}]+|[^{w}\s]")   # \w+|[^\w\s], Unicode 14.0's on every Python
_EPOCH = datetime(1970, 1, 1)


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
    return key_and_norm(sentence)[0]


def key_and_norm(sentence: str) -> tuple[str, str]:
    """The sentence's :func:`identity_key` and its :func:`normalise_for_match` text. Stateless."""
    norm = normalise_for_match(sentence)
    return key_of_norm(norm), norm


def key_of_norm(norm: str) -> str:
    """The :func:`identity_key` of a sentence from its :func:`normalise_for_match` text: its words and
    punctuation marks joined by single spaces. Stateless."""
    return " ".join(_PIECES.findall(norm))


@dataclass
class _Article:
    article_id: str
    outlet: str | None
    published: datetime | None
    text: str
    spans: list[tuple[int, int]]
    keys: list[str] | list[int]    # identity_key of each sentence, or a number standing for it (equal keys, equal numbers)
    norms: list[str] | None        # normalise_for_match of each sentence (None: made by norm() when asked for)
    unique: np.ndarray = None  # row of each sentence in the cluster's matrix of distinct sentences
    norm_memo: dict[str, str] | None = None   # sentence -> normalised text, shared by the articles of a chunk
    furniture: frozenset[int] = frozenset()   # positions of its outlet's furniture (see AlignConfig.furniture_min_stories)

    @functools.cached_property
    def sentences(self) -> list[str]:
        """The sentences' texts, cut from ``text`` when first asked for: the parent process of a
        night holds every article but only the worker that aligns it needs them."""
        return [self.text[a:b] for a, b in self.spans]

    def norm(self, position: int) -> str:
        """:func:`normalise_for_match` of sentence ``position``."""
        if self.norms is not None:
            return self.norms[position]
        sentence = self.sentences[position]
        memo = self.norm_memo if self.norm_memo is not None else {}
        found = memo.get(sentence)
        if found is None:
            found = memo[sentence] = normalise_for_match(sentence)
        return found


def check_cluster(cluster_id: Any, rows: list[dict[str, Any]]) -> None:
    """Raise :class:`AlignmentError` unless ``rows`` (one per article) form one alignable cluster."""
    n_canonical = sum(bool(r["is_canonical"]) for r in rows)
    if n_canonical != 1:
        reason = "no_canonical" if n_canonical == 0 else "several_canonicals"
        raise AlignmentError(reason, f"cluster {cluster_id} has {n_canonical} canonical articles; expected exactly 1")
    if len({r["article_id"] for r in rows}) != len(rows):
        raise AlignmentError("duplicate_article", f"cluster {cluster_id} lists an article twice")


def check_sizes(cluster_id: Any, articles: list[_Article], max_sentences: int) -> None:
    """Raise :class:`AlignmentError` (``too_many_sentences``) if an article of the cluster (in cluster
    order, canonical first) has more than ``max_sentences`` sentences.

    Called once the articles are split and before anything is vectorised: a story's cosines and its
    dynamic programme take memory in the product of a version's and the canonical's sentence counts
    (:attr:`dedup.config.AlignConfig.max_sentences`), so such a story must be refused before them.
    """
    for rank, art in enumerate(articles):
        n = len(art.spans)
        if n > max_sentences:
            which = "the canonical article" if rank == 0 else "article"
            raise AlignmentError("too_many_sentences",
                                 f"cluster {cluster_id}: {which} {art.article_id} has {n:,} sentences, more than "
                                 f"align.max_sentences ({max_sentences:,}); the story is not aligned")


def cluster_order(row: dict[str, Any]) -> tuple:
    """Sort key of a cluster's articles: canonical first, then by publication time (unknown last), id."""
    return (not row["is_canonical"], row["published"] is None, row["published"] or _EPOCH, row["article_id"])


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
    rows = frame.with_columns(pl.col("is_canonical").fill_null(False)).to_dicts()
    check_cluster(cluster_id, rows)
    rows.sort(key=cluster_order)
    texts = [r["text"] or "" for r in rows]
    spans = split_many(texts, splitter=config.splitter)
    articles = [make_article(row, text, sp_, {}) for row, text, sp_ in zip(rows, texts, spans)]
    check_sizes(cluster_id, articles, config.max_sentences)
    out = _Rows()
    align_prepared(cluster_id, articles, chunk_vectors([articles], idf)[0], config, out)
    sentences, links = out.frames()
    return (sentences.sort(["article_id", pl.col("status") == "dropped", "position"]),
            links.sort(["family_id", "article_id"]))


def make_article(row: dict[str, Any], text: str, spans: list[tuple[int, int]],
                 memo: dict[str, tuple[str, str]]) -> _Article:
    """An article with its sentences, their identity keys and normalised texts (``memo``: sentence -> both)."""
    sentences = [text[a:b] for a, b in spans]
    keys, norms = [], []
    for sentence in sentences:
        known = memo.get(sentence)
        if known is None:
            known = memo[sentence] = key_and_norm(sentence)
        keys.append(known[0])
        norms.append(known[1])
    return _Article(row["article_id"], row["outlet"], row["published"], text, spans, keys, norms)


def align_prepared(cluster_id: str, articles: list[_Article], vectors: _Vectors, config: "AlignConfig",
                   out: _Rows) -> None:
    """Align one cluster whose articles are in cluster order with ``unique`` set; ``vectors``: its
    distinct sentences' (see :func:`chunk_vectors`). Appends the SENTENCES rows and LINKS rows to ``out``.

    In two steps, which a chunk of stories takes one after the other for all of them
    (:func:`align_stories`): the rows (:func:`story_rows`), then the families of
    the added sentences and the LINKS (:func:`finish_story`)."""
    story = story_rows(cluster_id, articles, vectors, config, out)
    finish_story(story, group_added([story], config.align_threshold)[0], out, config.moved_threshold)


@dataclass
class _Story:
    """A story whose rows are made and whose added sentences wait for their families (:func:`finish_story`).

    ``added``: ``(index of its row in the rows written to, unique row, article rank, furniture)``
    of each added sentence, in order of first appearance; ``distinct``: their
    distinct unique rows, in that order.
    """

    cluster_id: str
    articles: list[_Article]
    vectors: _Vectors
    added: list[tuple[int, int, int, bool]]
    distinct: list[int]


def align_stories(stories: list[tuple[str, list[_Article], _Vectors]], config: "AlignConfig"
                  ) -> tuple[list[_Rows], list[tuple[str, str, str]]]:
    """:func:`align_prepared` of many stories: each one's rows (a :class:`_Rows` each, the ones that
    did not fail) and the failed ones (``cluster_id, "alignment_error", message``).

    The families of all stories' added sentences are grouped at once
    (:func:`group_added`: the same labels); a story that raises fails alone.
    """
    made: list[tuple[_Story, _Rows]] = []
    failures = []

    def failed(cluster_id: str, exc: Exception) -> None:
        failures.append((cluster_id, "alignment_error", f"cluster {cluster_id}: {type(exc).__name__}: {exc}"))

    for cluster_id, arts, vectors in stories:
        try:
            part = _Rows()
            made.append((story_rows(cluster_id, arts, vectors, config, part), part))
        except Exception as exc:  # noqa: BLE001 - one bad cluster must not stop the night
            failed(cluster_id, exc)
    try:
        labels = group_added([story for story, _ in made], config.align_threshold)
    except Exception:  # noqa: BLE001 - then story by story below, so that only the bad one fails
        labels = [None] * len(made)
    parts = []
    for (story, part), found in zip(made, labels):
        try:
            finish_story(story, group_added([story], config.align_threshold)[0] if found is None else found, part,
                         config.moved_threshold)
        except Exception as exc:  # noqa: BLE001
            failed(story.cluster_id, exc)
            continue
        parts.append(part)
    return parts, failures


def story_rows(cluster_id: str, articles: list[_Article], vectors: _Vectors, config: "AlignConfig",
               out: _Rows) -> _Story:
    """The first step of :func:`align_prepared`: every SENTENCES row, ``added`` rows still without a family."""
    canonical, versions = articles[0], articles[1:]
    norms, sim_all, adjacent = vectors.norms, vectors.sim, vectors.adjacent_dots
    c_rows = canonical.unique
    c_adj = adjacent(c_rows)

    added: list[tuple[int, int, int, bool]] = []  # (row index, unique row, article rank, furniture)
    for pos, (sentence, (start, end)) in enumerate(zip(canonical.sentences, canonical.spans)):
        out.add(cluster_id, canonical, "kept", pos, sentence, pos, 1.0, pos, start, end, None)
    all_links = []
    for group in _version_groups([len(art.spans) for art in versions], len(c_rows)):
        part = [versions[k] for k in group]
        all_links.extend(align_versions(
            [sim_all[art.unique] for art in part], [norms[art.unique] for art in part],
            [adjacent(art.unique) for art in part], norms[c_rows], c_adj, align_threshold=config.align_threshold,
            join_gain=config.join_gain, join_threshold=config.join_threshold, reorder_window=config.reorder_window,
            moved_threshold=config.moved_threshold, sames=[art.unique[:, None] == c_rows[None, :] for art in part]))
    diffs: dict[tuple, list] = {}   # outlets often carry the same edit: diff each (canonical, version) text once
    # A version's second copy of a canonical sentence (a pull quote) is added text, but no added material:
    # it goes to that canonical sentence's family, and no family of its own, so no link (README: links).
    canonical_family: dict[int, int] = {}
    for pos, u in enumerate(c_rows.tolist()):
        canonical_family.setdefault(u, pos)
    for rank, (art, links) in enumerate(zip(versions, all_links), start=1):
        linked = _version_rows(cluster_id, art, canonical, links, config, out, diffs)
        for pos, sentence in enumerate(art.sentences):
            if pos not in linked:
                start, end = art.spans[pos]
                family = canonical_family.get(int(art.unique[pos]))
                if family is None:
                    added.append((len(out), int(art.unique[pos]), rank, pos in art.furniture))
                out.add(cluster_id, art, "added", pos, sentence, None, None, family, start, end, None)
        covered = {c for link in links for c in link.canonical}
        for cpos, (sentence, (start, end)) in enumerate(zip(canonical.sentences, canonical.spans)):
            if cpos not in covered:
                out.add(cluster_id, art, "dropped", cpos, sentence, cpos, None, cpos, start, end, None)

    added.sort(key=lambda item: (item[2], out.position[item[0]]))   # first appearance order
    return _Story(cluster_id, articles, vectors, added, list(dict.fromkeys(item[1] for item in added)))


#: Cells (version sentences x canonical sentences, the longest version's count for every version) aligned
#: in one call of :func:`~dedup.align.matcher.align_versions`, which holds some 56 bytes per cell (the
#: cosines, the join scores, the table): 4 M cells, 0.22 GB. A story of 150 versions of 30 sentences
#: (135,000 cells) is one call; 150 long versions are aligned a few at a time, so that a story's memory
#: is bounded by its longest version (see ``max_sentences``), not multiplied by its number of versions.
ALIGN_CELLS = 4_000_000


def _version_groups(lengths: list[int], n: int) -> list[range]:
    """Consecutive groups of versions (of ``lengths`` sentences; ``n`` canonical sentences) of at most
    :data:`ALIGN_CELLS` padded cells each (a longer version alone). Versions are aligned independently
    (the same links in any grouping), so this changes memory only."""
    groups, start, longest = [], 0, 0
    for k, m in enumerate(lengths):
        if k > start and (k + 1 - start) * max(longest, m) * n > ALIGN_CELLS:
            groups.append(range(start, k))
            start, longest = k, 0
        longest = max(longest, m)
    if lengths:
        groups.append(range(start, len(lengths)))
    return groups


def group_added(stories: list[_Story], threshold: float) -> list[np.ndarray]:
    """Each story's family label of each of its ``distinct`` added sentences: ``group_similar`` of their
    unit rows, story by story. The stories whose vectors share one matrix (a chunk's, see
    :func:`chunk_vectors`) and that have at most ``GROUP_BLOCK`` sentences are grouped together
    (:func:`~dedup.align.families.group_stories`, bit for bit the same labels)."""
    labels: list[np.ndarray | None] = [None] * len(stories)
    together: dict[int, list[int]] = {}   # id of the shared matrix -> stories
    for k, story in enumerate(stories):
        n = len(story.distinct)
        if n <= 1:
            labels[k] = np.zeros(n, dtype=np.int64)
        elif n > GROUP_BLOCK:
            labels[k] = group_similar(story.vectors.units(story.distinct), threshold)
        else:
            together.setdefault(id(story.vectors.unit), []).append(k)
    for ks in together.values():
        unit = stories[ks[0]].vectors.unit
        rows = np.concatenate([stories[k].vectors.offset + np.asarray(stories[k].distinct, dtype=np.int64)
                               for k in ks])
        sizes = np.array([len(stories[k].distinct) for k in ks], dtype=np.int64)
        found = group_stories(unit[rows], sizes, threshold, block=GROUP_BLOCK)
        for k, part in zip(ks, np.split(found, np.cumsum(sizes)[:-1])):
            labels[k] = part
    return labels


GROUP_BLOCK = 1024   # stories with more distinct added sentences are grouped alone (group_similar's own block)


def finish_story(story: _Story, labels: np.ndarray, out: _Rows, moved_threshold: float) -> None:
    """The second step of :func:`align_prepared`: the added rows' family ids (in ``out``, the story's
    rows) from their ``labels`` (:func:`group_added`), and the story's LINKS rows."""
    articles = story.articles
    link_rows = _added_families(story, labels, out, len(articles[0].sentences), moved_threshold)
    outlets = {a.article_id: a.outlet for a in articles}
    out.links.extend(
        {"cluster_id": story.cluster_id, "family_id": f, "first_article_id": first, "first_outlet": outlets[first],
         "article_id": later, "outlet": outlets[later], "n_sentences": n} for f, first, later, n in link_rows)


def _version_rows(cluster_id: str, art: _Article, canonical: _Article, links: list[Link], config: "AlignConfig",
                  out: _Rows, diffs: dict[tuple, list]) -> set[int]:
    """Append the kept/edited rows of one version; return the version positions they cover."""
    linked: set[int] = set()
    for link in links:
        first_c = link.canonical[0]
        if len(link.version) == 1:
            v = link.version[0]
            sentence = art.sentences[v]
            start, end = art.spans[v]
            # kept: the identical sentence; a cosine of kept_threshold only when that is lowered below 1
            # (at 1 a cosine that rounds up, the same words in another order, would be kept)
            if len(link.canonical) == 1 and (art.unique[v] == canonical.unique[first_c]
                                            or link.similarity >= config.kept_threshold < 1):
                same = art.unique[v] == canonical.unique[first_c]
                out.add(cluster_id, art, "kept", v, sentence, first_c, 1.0 if same else link.similarity,
                        first_c, start, end, None)
            else:
                target = " ".join(canonical.sentences[c] for c in link.canonical)
                diff = diffs.get((target, sentence))
                if diff is None:
                    diff = diffs[(target, sentence)] = word_diff(target, sentence)
                out.add(cluster_id, art, "edited", v, sentence, first_c, min(link.similarity, 1.0), first_c, start,
                        end, diff)   # (a cosine of the same words in another order may round above 1)
        else:
            parts = [art.sentences[v] for v in link.version]
            key = (canonical.sentences[first_c], *parts)
            split = diffs.get(key)
            if split is None:
                split = diffs[key] = split_diff(canonical.sentences[first_c], parts)
            for v, sentence, diff in zip(link.version, parts, split):
                start, end = art.spans[v]
                out.add(cluster_id, art, "edited", v, sentence, first_c, min(link.similarity, 1.0), first_c, start,
                        end, diff)   # (a cosine of the same words in another order may round above 1)
        linked.update(link.version)
    return linked


def _added_families(story: _Story, labels: np.ndarray, out: _Rows, n_canonical: int,
                    moved_threshold: float) -> list[tuple]:
    """Give the story's added rows their family ids (in place) and return the provenance rows."""
    if not story.added:
        return []
    where = {u: k for k, u in enumerate(story.distinct)}
    offset = story.vectors.offset
    carried: dict[int, list[tuple[int, int, bool]]] = {}   # family -> (rank, row of the identity key, furniture)
    for index, u, rank, furniture in story.added:
        family = n_canonical + int(labels[where[u]])
        out.family_id[index] = family
        carried.setdefault(family, []).append((rank, offset + u, furniture))
    arts = story.articles
    return [(f, arts[a].article_id, arts[b].article_id, n)
            for f, a, b, n in provenance(carried, lambda rank: arts[rank].outlet, story.vectors.unit, moved_threshold)]
