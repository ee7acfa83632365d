"""Sentence rows of a nightly run: copy what earlier nights aligned, align only the rest.

What a row depends on (see :func:`dedup.align.core.align_prepared`):

* **Per version.** Every row of a version (its ``kept``, ``edited`` and
  ``added`` sentences and its ``dropped`` rows, their similarities and word
  diffs, and the ``family_id`` of every row but an ``added`` one, which is a
  canonical position) depends only on the version's text, its story's
  canonical text, the alignment settings and the IDF. Versions are aligned
  independently of one another (:func:`dedup.align.matcher.align_versions`).
* **Per story.** The ``family_id`` of ``added`` rows (the added sentences of
  all versions, grouped by cosine) and the LINKS rows (who carried each added
  family first) depend on every version of the story.

So a state run copies the stored rows of a prior version whose story still
has the canonical they were aligned against (the state also checks that
neither text changed since; :meth:`dedup.state.NightlyState.stored_sentences`),
aligns only the other versions, with tonight's IDF, and then recomputes the
per-story part over the whole story from its rows (:func:`story_families`):
the vectors of the added sentences only (tonight's IDF), their families, the
LINKS. Given the same IDF, :func:`story_families` gives exactly what
``align_prepared`` gives (tested).

Which values were computed when: tonight's IDF is fitted on the distinct
sentences of the articles aligned tonight (tonight's versions, the canonicals
they are aligned against, and prior versions whose canonical changed), as
:func:`dedup.align.fit_idf` does for the clusters it is given. A copied row
keeps the statuses, similarities and word diffs computed on its night, with
that night's IDF; the families of added rows and the LINKS are always
tonight's, with tonight's furniture (:attr:`dedup.align.AlignResult.furniture`:
the pairs counted over the articles aligned tonight, plus those the state's
earlier nights of the window found, given as ``furniture``). Stateless.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import scipy.sparse as sp

from dedup.align import (
    SENTENCE_ORDER,
    AlignConfig,
    AlignResult,
    Furniture,
    IdfModel,
    align_clusters,
)
from dedup.align.core import key_of_norm
from dedup.align.families import group_similar, group_stories, provenance
from dedup.align.parallel import MAX_CHUNK_CHARS, bounds_for, map_chunks, n_workers
from dedup.align.tfidf import l2_normalise, normalise_for_match
from dedup.align.vectors import _compact
from dedup.memory import release_free_memory
from dedup.progress import Progress
from dedup.schema import LINKS, SENTENCES

__all__ = ["align_reusing", "story_families"]

BATCH_BLOCK = 1024   # stories with more added sentences are grouped one by one (group_similar's own block)

def align_reusing(articles: pl.DataFrame, clusters: pl.DataFrame, stored: list[pl.DataFrame], *,
                  config: AlignConfig = AlignConfig(), progress: Progress | None = None,
                  furniture: Furniture = frozenset()) -> tuple[AlignResult, dict[str, int]]:
    """:func:`dedup.align.align_clusters`, copying ``stored`` rows where they still hold.

    ``stored``: a list holding one frame, the SENTENCES rows of earlier nights
    plus ``canonical_id`` (the canonical they were aligned against) and
    ``copy``, one night's rows per article. The list is emptied: the stored
    rows are released once the copied ones are taken from them. An
    article's rows are copied when ``copy`` is true and
    ``canonical_id`` is its cluster's canonical tonight; the other articles of
    its cluster are aligned against the canonical, and the cluster's added
    families and LINKS are recomputed over all its rows. An article with more
    than ``config.max_sentences`` sentences is never copied: its story is
    aligned, and so refused as in a run without stored rows. An aligned article
    with stored rows is not split again: its sentences are its stored rows'
    (same text, same splitter). ``furniture``: pairs taken as furniture on top of
    those counted tonight (see :func:`dedup.align.align_clusters`). Returns the result
    (the IDF is tonight's) and the counts ``versions_copied`` and ``versions_aligned``
    (articles of multi-article clusters, canonicals included).
    """
    stored_rows = stored.pop()
    multi = clusters.filter(pl.col("cluster_size") >= 2).with_columns(pl.col("is_canonical").fill_null(False))
    # An article over max_sentences (stored by a night with a higher bound) is not copied: its story is
    # aligned, so refused (too_many_sentences) as a run without the state refuses it.
    oversized = (stored_rows.filter(pl.col("status") != "dropped").group_by("article_id").len()
                 .filter(pl.col("len") > config.max_sentences).select("article_id"))
    copy_ids = (multi.join(stored_rows.filter(pl.col("copy")).select("article_id", "canonical_id").unique(),
                           on=["article_id", "canonical_id"], how="semi")
                .join(oversized, on="article_id", how="anti")["article_id"])
    copied = pl.col("article_id").is_in(copy_ids.implode())
    todo = multi.filter(~copied)["cluster_id"].unique()
    # The canonical is aligned with the versions it is compared with, even if its own rows could be copied.
    fresh_members = multi.filter(~copied | (pl.col("is_canonical") & pl.col("cluster_id").is_in(todo.implode())))
    fresh = align_clusters(articles, fresh_members, config=config, progress=progress, furniture=furniture,
                           spans=_spans(stored_rows.join(fresh_members.select("article_id"), on="article_id", how="semi")))
    failed = fresh.failures["cluster_id"].implode()
    copies = (stored_rows.drop("cluster_id")
              .join(multi.filter(copied).select("article_id", "cluster_id"), on="article_id", how="inner")
              .join(fresh_members.select("article_id"), on="article_id", how="anti")
              .filter(~pl.col("cluster_id").is_in(failed))
              .select(SENTENCES.names()))
    del stored_rows
    counts = {"versions_copied": copies["article_id"].n_unique(), "versions_aligned": fresh_members.height}
    sentences, links, failures, idf = fresh.sentences, fresh.links, fresh.failures, fresh.idf
    furniture, found = fresh.furniture, fresh.found_furniture
    del fresh   # its rows are split below: no reference may keep the whole frame alive
    if copies.height:
        # The stories with copied rows get their per-story part again, over all their rows: computed
        # on a narrow selection, then written into the rows' family_id (no copy of the rows).
        whole = pl.col("cluster_id").is_in(copies["cluster_id"].unique().implode())
        sentences = pl.concat([sentences, copies])
        del copies
        story = (sentences.select("cluster_id", "article_id", "outlet", "status", "position", "text")
                 .with_row_index("_row").filter(whole))
        families, story_links = added_families(story, multi.filter(whole), idf=idf, config=config,
                                               furniture=furniture)
        del story
        release_free_memory()
        sentences = sentences.with_columns(_scattered(sentences["family_id"], families))
        links = pl.concat([links.filter(~whole), story_links])
        # the copies are out of order: sorted one column at a time, so the night's rows are held once
        # plus one column, not twice
        parts = [sentences]
        del sentences
        sentences = _sorted(parts)
    return AlignResult(sentences=sentences, links=links.sort(["cluster_id", "family_id", "article_id"]),
                       failures=failures, idf=idf, furniture=furniture, found_furniture=found), counts


def _sorted(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The one frame in ``parts`` in :data:`SENTENCE_ORDER` (a total order, so any sort gives it).
    Empties ``parts``; each column of the frame is released as soon as its sorted copy is made."""
    frame = parts.pop()
    order = frame.select(pl.arg_sort_by(SENTENCE_ORDER)).to_series()
    columns = frame.get_columns()
    del frame
    out = []
    for k in range(len(columns)):
        out.append(columns[k].gather(order))
        columns[k] = None
    return pl.DataFrame(out)


def _spans(stored: pl.DataFrame) -> dict[str, list[tuple[int, int]]]:
    """Each article's sentence spans, from its own (not dropped) stored rows in position order."""
    own = stored.filter(pl.col("status") != "dropped").sort("article_id", "position")
    spans: dict[str, list[tuple[int, int]]] = {a: [] for a in stored["article_id"].unique().to_list()}
    for article_id, start, end in own.select("article_id", "char_start", "char_end").iter_rows():
        spans[article_id].append((start, end))
    return spans


def story_families(sentences: pl.DataFrame, clusters: pl.DataFrame, *, idf: IdfModel,
                   config: AlignConfig = AlignConfig(), furniture: Furniture = frozenset()
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The per-story part of an alignment, from the stories' SENTENCES rows. Stateless.

    ``sentences`` holds every row of each story in ``clusters`` (CLUSTERS;
    ``is_canonical`` and ``published`` give the articles' order). Returns the
    rows with the ``family_id`` of ``added`` rows recomputed (other rows
    unchanged) and the stories' LINKS, as :func:`dedup.align.core.align_prepared`
    computes them: added sentences are distinct by identity key, each
    represented by the key's first sentence in the story (articles canonical
    first, then by time and id; sentences in order), vectorised with ``idf``
    and grouped at ``align_threshold``; families are numbered after the
    canonical's sentences in order of first appearance. ``furniture``: the
    ``(outlet, identity key)`` pairs that are no evidence of copying
    (:attr:`dedup.align.AlignResult.furniture`).
    """
    families, links = added_families(sentences.with_row_index("_row"), clusters, idf=idf, config=config,
                                     furniture=furniture)
    return sentences.with_columns(_scattered(sentences["family_id"], families)).select(SENTENCES.names()), links


def added_families(rows: pl.DataFrame, clusters: pl.DataFrame, *, idf: IdfModel, config: AlignConfig,
                   furniture: Furniture = frozenset()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`story_families` as ``(_row, _family)`` pairs: the new ``family_id`` of each ``added`` row.

    ``rows`` needs the SENTENCES columns ``cluster_id``, ``article_id``,
    ``outlet``, ``status``, ``position`` and ``text``, and a row number
    ``_row``; it may be a narrow selection of a larger frame (so a caller
    updates that frame's ``family_id`` in place of copying it). Also returns the LINKS.
    """
    rank = (clusters.select("cluster_id", "article_id", pl.col("is_canonical").fill_null(False), "published")
            .sort(["cluster_id", ~pl.col("is_canonical"), pl.col("published").is_null(), "published", "article_id"])
            .select("cluster_id", "article_id", _rank=pl.int_range(pl.len()).over("cluster_id")))
    # Each row carries the index of its text and an id of its identity key (equal keys, equal ids)
    # instead of the text: the rows of a night's stories stay narrow. Only a text that may share its
    # key with an added sentence is keyed (see _keys); the others get a null id, which no added row has.
    texts = rows["text"].unique()
    wanted = {_spaceless(normalise_for_match(text)) for text in
              rows.filter(pl.col("status") == "added")["text"].unique().to_list()}
    keyed = _keys(texts, n_workers(config.workers, texts.len()), wanted)
    key_ids = keyed["_key"].rank("dense").cast(pl.UInt32)
    own = (rows.select("_row", "cluster_id", "article_id", "outlet", "status", "position",
                       _t=pl.col("text").replace_strict(texts, pl.Series(np.arange(texts.len(), dtype=np.uint32))))
           .filter(pl.col("status") != "dropped"))
    del texts
    own = (own.with_columns(_kid=key_ids.gather(own["_t"])).join(rank, on=["cluster_id", "article_id"], how="left")
           .sort(["cluster_id", "_rank", "position"]))
    reps = own.unique(["cluster_id", "_kid"], keep="first", maintain_order=True).select("cluster_id", "_kid", "_t")
    n_canonical = own.filter(pl.col("_rank") == 0).group_by("cluster_id").agg(_n=pl.len())
    # an added copy of a canonical sentence goes to that sentence's family, and to no added family nor link
    # (as dedup.align.core.story_rows has it)
    canon = (own.filter(pl.col("_rank") == 0).unique(["cluster_id", "_kid"], keep="first", maintain_order=True)
             .select("cluster_id", "_kid", _cpos=pl.col("position").cast(pl.Int32)))
    added = (own.filter(pl.col("status") == "added")
             .join(canon, on=["cluster_id", "_kid"], how="left", maintain_order="left"))
    del own, canon
    repeats = added.filter(pl.col("_cpos").is_not_null()).select("_row", _family="_cpos")
    added = added.filter(pl.col("_cpos").is_null()).drop("_cpos")
    distinct = (added.unique(["cluster_id", "_kid"], keep="first", maintain_order=True).select("cluster_id", "_kid")
                .join(reps, on=["cluster_id", "_kid"], how="left", maintain_order="left")
                .join(n_canonical, on="cluster_id", how="left", maintain_order="left")
                .with_columns(pl.col("_n").fill_null(0)))   # a canonical without sentences: none before
    distinct = distinct.with_columns(_norm=keyed["_norm"].gather(distinct["_t"]))
    families, unit = _families(distinct, idf, config.align_threshold)
    added = added.join(families, on=["cluster_id", "_kid"], how="left", maintain_order="left")
    marks = pl.DataFrame(list(furniture), schema={"outlet": pl.String, "_key": pl.String}, orient="row")
    stock = marks.filter(pl.col("outlet").is_null())["_key"].implode()   # furniture for every outlet
    added = (added.with_columns(_key=keyed["_key"].gather(added["_t"]))
             .join(marks.filter(pl.col("outlet").is_not_null()).with_columns(_own=pl.lit(True)),
                   on=["outlet", "_key"], how="left", maintain_order="left")
             .with_columns(_furn=pl.col("_own").fill_null(False) | pl.col("_key").is_in(stock)))
    links = _links(added, unit, config.moved_threshold)
    return pl.concat([added.select("_row", "_family").filter(pl.col("_family").is_not_null()), repeats]), links


def _scattered(family_id: pl.Series, families: pl.DataFrame) -> pl.Series:
    """``family_id`` with the rows ``families["_row"]`` set to ``families["_family"]``."""
    out = family_id.cast(pl.Int32).clone()
    if families.height:
        out.scatter(families["_row"], families["_family"])
    return out


def _keys(texts: pl.Series, workers: int, wanted: set[str] | None = None) -> pl.DataFrame:
    """``(text, _key, _norm)``: each sentence's identity key and normalised text, as the aligner makes them
    (:func:`dedup.align.core.key_and_norm`), on ``workers`` processes.

    ``wanted``: keys are needed only for the texts whose normalised text without spaces is in it
    (:func:`_spaceless`); the others' ``_key`` is null. Two texts with equal identity keys have the
    same normalised text but for spaces (the key is that text's words and marks joined by single
    spaces), so every text sharing a key with a wanted one is keyed; a key costs about three times
    the normalisation.
    """
    items = texts.to_list()
    parts = map_chunks(_keys_chunk, (items, wanted), bounds_for([len(t) for t in items], workers, MAX_CHUNK_CHARS),
                       workers)
    del items
    keys, norms = (pa.chunked_array([part[k] for part in parts], type=pa.large_string()) for k in (0, 1))
    return pl.DataFrame({"text": texts, "_key": pl.from_arrow(keys), "_norm": pl.from_arrow(norms)})


def _keys_chunk(data: tuple[list[str], set[str] | None], start: int, stop: int) -> tuple[pa.Array, pa.Array]:
    """Keys and normalised texts of ``texts[start:stop]`` as Arrow (may run in a forked worker: no polars)."""
    texts, wanted = data
    keys, norms = [], []
    for text in texts[start:stop]:
        norm = normalise_for_match(text)
        keys.append(key_of_norm(norm) if wanted is None or _spaceless(norm) in wanted else None)
        norms.append(norm)
    return pa.array(keys, type=pa.large_string()), pa.array(norms, type=pa.large_string())


def _spaceless(norm: str) -> str:
    """A normalised text without its spaces: equal for texts with equal identity keys."""
    return norm.replace(" ", "")


def _families(distinct: pl.DataFrame, idf: IdfModel, threshold: float) -> tuple[pl.DataFrame, sp.csr_matrix]:
    """``(cluster_id, _kid, _family, _u)`` for the distinct added sentences (``_kid``: their identity key's
    id, ``_norm``: their normalised text), in order of first appearance, and their unit TF-IDF rows
    (row ``_u``; sorted indices).

    Each story's sentences are grouped as :func:`~dedup.align.families.group_similar`
    groups them on their own; the stories of up to ``BATCH_BLOCK`` sentences
    (nearly all) are grouped together (:func:`~dedup.align.families.group_stories`:
    bit for bit the same).
    """
    if distinct.height == 0:
        return (pl.DataFrame(schema={"cluster_id": pl.String, "_kid": pl.UInt32, "_family": pl.Int32,
                                     "_u": pl.UInt32}), sp.csr_matrix((0, 1)))
    unit = l2_normalise(idf.weights(distinct["_norm"].to_list(), normalised=True), copy=False)
    unit.sort_indices()
    labels = np.zeros(distinct.height, dtype=np.int64)
    cluster_ids = distinct["cluster_id"].to_numpy()
    cuts = np.flatnonzero(cluster_ids[1:] != cluster_ids[:-1]) + 1
    starts, stops = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(cluster_ids)]])
    sizes = stops - starts
    for lo, hi in zip(starts[sizes > BATCH_BLOCK], stops[sizes > BATCH_BLOCK]):
        labels[lo:hi] = group_similar(_compact(unit[lo:hi]), threshold)
    small = (sizes > 1) & (sizes <= BATCH_BLOCK)
    if small.any():
        rows = np.concatenate([np.arange(lo, hi) for lo, hi in zip(starts[small], stops[small])])
        labels[rows] = group_stories(unit[rows], sizes[small], threshold, block=BATCH_BLOCK)
    return (distinct.select("cluster_id", "_kid", _family=(pl.Series(labels) + pl.col("_n")).cast(pl.Int32),
                            _u=pl.int_range(pl.len(), dtype=pl.UInt32)), unit)


def _links(added: pl.DataFrame, unit: sp.csr_matrix, moved_threshold: float) -> pl.DataFrame:
    """LINKS of the added families (``added``: rows with ``_family``, ``_rank``, ``_furn`` (the row is its
    outlet's furniture) and ``_u``, the row of their distinct sentence in ``unit``), as
    :func:`~dedup.align.families.provenance` makes them."""
    rows_of = (added.select("cluster_id", "_family", "_rank", pl.col("_u").alias("_kid"), "article_id", "outlet",
                            "_furn")
               .sort("cluster_id", "_family", "_rank"))
    # cluster -> (family -> [(rank, key, furniture)], rank -> (article, outlet))
    stories: dict[str, tuple[dict, dict]] = {}
    for cluster_id, family, rank, kid, article_id, outlet, furniture in rows_of.iter_rows():
        carried, who = stories.setdefault(cluster_id, ({}, {}))
        carried.setdefault(family, []).append((rank, kid, furniture))
        who[rank] = (article_id, outlet)
    rows = [(cluster_id, family, *who[first], *who[later], n)
            for cluster_id, (carried, who) in stories.items()
            for family, first, later, n in provenance(carried, lambda rank, who=who: who[rank][1], unit,
                                                      moved_threshold)]
    return pl.DataFrame(rows, schema=LINKS, orient="row")
