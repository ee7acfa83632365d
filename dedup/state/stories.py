"""Stable story ids across nights: which story each of tonight's clusters continues.

A night clusters its new articles together with the stored articles they
could match (see :mod:`dedup.state.index`). Each resulting cluster has a
content-derived id (``s-`` + hash of its canonical article's id); this module
maps it to a **story id** that stays the same from night to night:

* A cluster none of whose articles belonged to a story before is a **new**
  story: its story id is its content id (or, if that id was ever used before,
  ``s-`` + hash of content id and night, so that no id is ever reused).
* A cluster whose prior articles belonged to one story **continues** it, under
  that story's id, even if its canonical version changed (a late article with
  an earlier timestamp, or the first version fell out of the window).
* A cluster whose prior articles belonged to several stories (a new article
  **bridges** them) continues the **oldest** (first given on the earliest
  night; then the smallest id); the others are recorded in ``story_merges``
  as merged into it, and listed in the cluster's ``merged_from``. Ids are never
  silently renamed: a merged id stays in the history, pointing at its survivor.
* If re-clustering splits one story's prior articles over several clusters,
  the cluster holding most of them keeps the id; the others get new ids and
  status ``split``. On an equal count the cluster holding the story's previous
  canonical article wins, then the one holding tonight's new articles (read
  for the first time, or again with another text: a story keeps its id as
  outlets join it), and only then the smaller content id.
* A split needs tonight's evidence in the cluster split off: a new article, or
  one read again with another text. A cluster of prior articles (stored, or
  sent again unchanged) of one story only is no split: the window parted it
  from the rest, as the articles that linked them left it. It is folded into
  the cluster continuing its story (one cluster per story id in the output):
  that cluster's canonical, its ``similarity`` and ``jaccard`` with it, no
  ``note``.
* An article read again tonight under an id the state has, with the text the
  state has, counts for its old story as a stored article does. One read again
  with another text is tonight's article, not a prior one: its old story counts
  for its cluster only if that cluster holds no stored article nor one read
  again unchanged (so an article sent again alone keeps its story id), and a
  cluster holding those of that story wins it over such a cluster. It never
  makes a cluster of other stories continue its old story, nor merges two
  stories (a cluster of such articles only continues one story): an article
  that moved to another story is no bridge. Its old story is output with the
  night's clusters (what is left of it, ``unchanged``).

``story_status`` of each output cluster: ``new``; ``grew`` (tonight's articles
brought an outlet the story never had); ``updated`` (tonight's articles joined,
from outlets it already had; an article sent again with the text the state has is
none); ``unchanged`` (no new article, e.g. what was left
of a split story); ``split``. Articles without outlet all have one outlet, the
unknown outlet (null), another than every named one (as README says of the
state's outlets): the first such article makes a story grow, the next ones update it.

Which clusters are output: every cluster holding one of tonight's articles,
and every cluster holding a prior article of a story those touch (so the
whole story, as far as it is in the window, is reported). Clusters of stored
articles only loaded as candidates, which tonight's articles did not join,
are dropped: their stories stay as they were.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from dedup.cluster import FlatSets, _similarities, cluster_counts, split_from_note
from dedup.schema import CLUSTERS_WITH_HISTORY, conform
from dedup.state.store import TABLES

# Prior knowledge about an article, from the state: its current story (merges
# already followed), when that story was first given, when the article was first read.
KNOWN = pl.Schema({"article_id": pl.String, "prev_story": pl.String, "story_first_night": pl.Date,
                   "first_seen_night": pl.Date})

STATUSES = ("new", "grew", "updated", "unchanged", "split")


@dataclass
class StoryAssignment:
    """What :func:`assign_stories` returns."""

    clusters: pl.DataFrame      # CLUSTERS_WITH_HISTORY, cluster_id = story id, output clusters only
    assignments: pl.DataFrame   # the state's ``assignments`` rows for tonight
    merges: pl.DataFrame        # the state's ``story_merges`` rows for tonight
    history: dict[str, Any]     # for summary.json


def _fresh_id(content_id: str, night: date) -> str:
    return "s-" + hashlib.blake2b(f"{content_id}@{night.isoformat()}".encode(), digest_size=6).hexdigest()


def assign_stories(clusters: pl.DataFrame, *, tonight_ids: pl.Series, unchanged_ids: pl.Series,
                   known: pl.DataFrame, night: date,
                   used_ids: Callable[[Iterable[str]], set[str]],
                   outlets_before: Callable[[Iterable[str]], dict[str, set[str | None]]],
                   canonicals: Callable[[Iterable[str]], dict[str, str]],
                   shingles: Callable[[], pl.DataFrame]) -> StoryAssignment:
    """Give every output cluster its story id; see the module docstring. Stateless.

    clusters:
        CLUSTERS over tonight's articles and the loaded prior ones (content ids).
    tonight_ids:
        ids of the articles read tonight.
    unchanged_ids:
        those of them read on an earlier night with the same text.
    known:
        :data:`KNOWN` rows for every article with a history in the state.
    used_ids:
        which of the given ids were ever story ids in the state.
    outlets_before:
        for story ids, the outlets their articles had before tonight (None: the unknown outlet).
    canonicals:
        for story ids, the canonical article each had on its latest night (asked for tied stories only).
    shingles:
        ``article_id``, ``shingles`` of the clustered articles (asked for only when a cluster is folded
        into the one continuing its story, for its ``similarity`` and ``jaccard``).
    """
    rows = (clusters.join(known.select(KNOWN.names()), on="article_id", how="left")
            .with_columns(is_new=pl.col("article_id").is_in(tonight_ids.implode()),
                          firm=~pl.col("article_id").is_in(tonight_ids.implode())
                          | pl.col("article_id").is_in(unchanged_ids.implode())))
    claims: dict[str, Counter] = defaultdict(Counter)     # cluster -> prior story -> members
    holders: dict[str, set[str]] = defaultdict(set)       # prior story -> clusters
    left: dict[str, set[str]] = defaultdict(set)          # cluster -> old stories of its articles read again
    first_night: dict[str, date] = {}
    history = rows.filter(pl.col("prev_story").is_not_null()).select(
        "cluster_id", "prev_story", "story_first_night", "is_new", "firm")
    # Clusters holding stored articles or articles read again unchanged: those decide their stories.
    decided = set(history.filter(pl.col("firm"))["cluster_id"].to_list())
    for cid, story, first, again, firm in history.iter_rows():
        first_night[story] = first
        if again:
            left[cid].add(story)
        if not firm and cid in decided:   # read again with another text, moved among decided articles
            continue
        claims[cid][story] += 1
        holders[story].add(cid)
    # Output clusters: those with tonight's articles, closed over shared prior stories and over the
    # stories articles read again left.
    out = set(rows.filter(pl.col("is_new"))["cluster_id"].unique().to_list())
    todo = list(out)
    while todo:
        cid = todo.pop()
        for story in claims.get(cid, {}).keys() | left.get(cid, set()):
            for other in holders.get(story, ()):
                if other not in out:
                    out.add(other)
                    todo.append(other)
    # Clusters tonight's new articles joined: first read tonight, or read again with another text (an article
    # sent again with the text the state has is none: a feed resending yesterday's items updates no story).
    has_new = set(rows.filter(pl.col("is_new") & ~pl.col("firm"))["cluster_id"].to_list())
    winner = _winners(rows, claims, holders, decided, out, first_night, canonicals, has_new)
    won: dict[str, list[str]] = defaultdict(list)
    for story, cid in winner.items():
        won[cid].append(story)
    folded = _kept_apart_by_window(rows, claims, winner, won, has_new, out)
    if folded:
        rows = _fold(rows, folded, shingles())
        out -= folded.keys()
    fresh = sorted(c for c in out if not won.get(c))
    taken = used_ids(fresh) | set(winner)
    story_of, merged_from, first_of = {}, {}, {}
    merges = []
    for cid in sorted(out):
        stories = sorted(won.get(cid, ()), key=lambda s: (first_night[s], s))
        if not stories:
            story_of[cid] = cid if cid not in taken else _fresh_id(cid, night)
            first_of[cid] = night
            continue
        survivor = stories[0]
        story_of[cid], first_of[cid] = survivor, first_night[survivor]
        if len(stories) > 1:
            merged_from[cid] = stories[1:]
            merges.extend((night, s, survivor) for s in stories[1:])
    # Status: compare tonight's outlets with those the story ever had (the unknown one, null, among them).
    before = outlets_before(sorted(winner))
    tonight_outlets = rows.filter(pl.col("is_new")).group_by("cluster_id").agg(pl.col("outlet").unique())
    new_outlets = dict(zip(tonight_outlets["cluster_id"].to_list(), tonight_outlets["outlet"].to_list()))
    status, grew = {}, []
    for cid in out:
        if cid not in won:
            status[cid] = "split" if claims.get(cid) else "new"
            continue
        had = set().union(*(before.get(s, set()) for s in won[cid]))
        added = sorted(set(new_outlets.get(cid, ())) - had, key=_unknown_last)
        if added:
            status[cid] = "grew"
            grew.append({"story_id": story_of[cid], "outlets_before": len(had), "new_outlets": added})
        else:
            status[cid] = "updated" if cid in has_new else "unchanged"
    frame = _output_frame(rows.filter(pl.col("cluster_id").is_in(list(out))), story_of, status, merged_from, night,
                          notes=_split_notes(rows, story_of, folded))
    return StoryAssignment(
        clusters=frame,
        assignments=_assignments(frame, first_of, story_of, night),
        merges=pl.DataFrame(merges, schema=TABLES["story_merges"], orient="row").sort("merged_id"),
        history=_history(frame, status, story_of, grew, merges, claims, won),
    )


def _unknown_last(outlet: str | None) -> tuple[bool, str]:
    """The order of ``new_outlets``: by name, the unknown outlet (None) last."""
    return (outlet is None, outlet or "")


def _winners(rows: pl.DataFrame, claims: dict[str, Counter], holders: dict[str, set[str]], decided: set[str],
             out: set[str], first_night: dict[str, date], canonicals: Callable[[Iterable[str]], dict[str, str]],
             has_new: set[str]) -> dict[str, str]:
    """Prior story -> the output cluster that continues it (``has_new``: the clusters tonight's new articles
    joined).

    A story held by decided clusters goes to one of them; one held only by clusters of articles read
    again with another text goes to one of those, each of which continues at most one story (the one
    it holds most articles of, then the oldest), since such articles bridge nothing. Among the
    candidates, the cluster holding most of the story's articles wins; on an equal count the one
    holding the story's previous canonical, then the one holding tonight's new articles, then the
    smallest content id.
    """
    firm = {story: hs & out & decided for story, hs in holders.items()}
    choice = {}   # undecided cluster -> the one story no decided cluster holds it may continue
    for c in out - decided:
        unheld = [s for s in claims.get(c, ()) if not firm[s]]
        if unheld:
            choice[c] = min(unheld, key=lambda s: (-claims[c][s], first_night[s], s))
    candidates = {}
    for story, hs in holders.items():
        hs = firm[story] or {c for c in hs & out if choice.get(c) == story}
        if hs:
            candidates[story] = hs
    top = {s: max(claims[c][s] for c in hs) for s, hs in candidates.items()}
    tied = sorted(s for s, hs in candidates.items() if sum(claims[c][s] == top[s] for c in hs) > 1)
    previous = canonicals(tied) if tied else {}
    cluster_of = dict(rows.filter(pl.col("article_id").is_in(list(previous.values())))
                      .select("article_id", "cluster_id").iter_rows())
    return {story: min(hs, key=lambda c: (-claims[c][story], cluster_of.get(previous.get(story)) != c,
                                          c not in has_new, c))
            for story, hs in candidates.items()}


def _kept_apart_by_window(rows: pl.DataFrame, claims: dict[str, Counter], winner: dict[str, str],
                          won: dict[str, list[str]], has_new: set[str], out: set[str]) -> dict[str, str]:
    """Output clusters that stay in their story though another cluster continues it -> that cluster.

    Such a cluster holds prior articles of one story only, every one of them stored or sent again
    unchanged, and continues no story: nothing tonight (no new article, none read again with another
    text) parts them from the rest of their story; what does is the window, which the articles that
    linked them to it have left. A window limits what tonight's articles are compared with; it does
    not split the stored stories. Not folded: a cluster the chaining guard split off tonight (a
    ``split_from`` note: it does not match the story's canonical), and one holding an article published
    before that cluster's canonical (which stays the story's earliest version; one published at the same
    time is folded under it, though the canonical order's tie rules, wire, length, id, may rank it first).
    """
    candidates = {cid: winner[next(iter(claims[cid]))] for cid in out - has_new - won.keys()
                  if len(claims.get(cid, ())) == 1}   # prior articles of one story, continued elsewhere
    if not candidates:
        return {}
    parts = (rows.filter(pl.col("cluster_id").is_in(list(candidates)))
             .group_by("cluster_id")
             .agg(pl.len(), first=pl.col("published").min(),
                  guarded=pl.col("note").str.starts_with("split_from").any()))
    part = {r["cluster_id"]: r for r in parts.iter_rows(named=True)}
    canonical_time = dict(rows.filter(pl.col("is_canonical") & pl.col("cluster_id").is_in(list(candidates.values())))
                          .select("cluster_id", "published").iter_rows())
    into = {}
    for cid, target in sorted(candidates.items()):
        if claims[cid].total() != part[cid]["len"] or part[cid]["guarded"]:
            continue   # an article without a story, or one the chaining guard split off tonight
        if _time_key(part[cid]["first"]) < _time_key(canonical_time.get(target)):
            continue   # the target's canonical stays the story's earliest version
        into[cid] = target
    return into


def _time_key(published: datetime | None) -> tuple[bool, datetime]:
    """A publication time's place in the canonical order: unknown times last."""
    return (published is None, published or datetime.min)


def _fold(rows: pl.DataFrame, into: dict[str, str], shingles: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with the clusters of ``into`` (cluster -> the cluster continuing its story) part of the
    cluster they go into: its canonical, their ``similarity`` and ``jaccard`` with it, no ``note``
    (they are not alone), and ``cluster_size``, ``n_outlets`` counted again (as in
    :func:`dedup.cluster.build_clusters`); a ``no_match`` note of a cluster no longer alone dropped."""
    canonical = rows.select("cluster_id", "canonical_id").unique("cluster_id")
    mapping = (pl.DataFrame({"cluster_id": list(into), "_into": list(into.values())},
                            schema={"cluster_id": pl.String, "_into": pl.String})
               .join(canonical.rename({"cluster_id": "_into", "canonical_id": "_canonical"}), on="_into"))
    moving = rows.join(mapping, on="cluster_id", how="inner").sort("article_id")
    similarity, jaccard = _similarities_with(shingles, moving["article_id"], moving["_canonical"])
    moving = moving.with_columns(cluster_id=pl.col("_into"), canonical_id=pl.col("_canonical"),
                                 is_canonical=pl.lit(False), similarity=pl.Series(similarity, dtype=pl.Float64),
                                 jaccard=pl.Series(jaccard, dtype=pl.Float64),
                                 note=pl.lit(None, dtype=pl.String)).select(rows.columns)
    rows = pl.concat([rows.filter(~pl.col("cluster_id").is_in(list(into))), moving])
    return rows.with_columns(**cluster_counts()).with_columns(
        note=pl.when((pl.col("cluster_size") > 1) & (pl.col("note") == "no_match"))
        .then(pl.lit(None, dtype=pl.String)).otherwise(pl.col("note")))


def _similarities_with(shingles: pl.DataFrame, article_ids: pl.Series, canonical_ids: pl.Series
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Containment and Jaccard of each article with its canonical, as the clustering measures them."""
    wanted = shingles.filter(pl.col("article_id").is_in(pl.concat([article_ids, canonical_ids]).implode()))
    doc = {a: i for i, a in enumerate(wanted["article_id"].to_list())}
    containment, jaccard, _ = _similarities(
        FlatSets.from_series(wanted["shingles"]), np.array([doc[a] for a in article_ids], dtype=np.int64),
        np.array([doc[c] for c in canonical_ids], dtype=np.int64))
    return containment, jaccard


def _split_notes(rows: pl.DataFrame, story_of: dict[str, str], folded: dict[str, str]) -> dict[str, str]:
    """``split_from`` notes in ``rows`` -> the story id each should name (``rows`` after :func:`_fold`;
    ``folded``: the clusters it folded -> those they went into).

    The chaining guard names the cluster it split articles off by its content id, the id a run without
    a state gives it; with a state that id may be no story's (a story keeps its id when its canonical
    changes), so the note names the story that cluster continues: the one of the output cluster it is
    or was folded into, or, for a cluster not output (stored articles tonight's did not join), that of
    its canonical article, the anchor the articles did not match.
    """
    notes = set(rows.filter(pl.col("note").str.starts_with("split_from"))["note"].to_list())
    if not notes:
        return {}
    stories = dict(rows.filter(pl.col("is_canonical")).select("cluster_id", "prev_story").iter_rows())
    stories.update({cid: story_of[into] for cid, into in folded.items()})
    return {split_from_note(cid): story_of.get(cid, prior) for cid, prior in stories.items()
            if split_from_note(cid) in notes}


def _output_frame(rows: pl.DataFrame, story_of: dict, status: dict, merged_from: dict, night: date, *,
                  notes: dict[str, str]) -> pl.DataFrame:
    """The output clusters' rows under their story ids, with their status, ``merged_from``, and their
    ``split_from`` notes naming the stories ``notes`` gives (:func:`_split_notes`); none where that is the
    rows' own story (the part split off was folded back into theirs: nothing is split)."""
    cids = sorted(story_of)
    mapping = pl.DataFrame({   # typed: a night whose every record was rejected has no cluster
        "cluster_id": pl.Series(cids, dtype=pl.String),
        "_story": pl.Series([story_of[c] for c in cids], dtype=pl.String),
        "story_status": pl.Series([status[c] for c in cids], dtype=pl.String),
        "merged_from": pl.Series([merged_from.get(c) for c in cids], dtype=pl.List(pl.String)),
    })
    frame = (rows.join(mapping, on="cluster_id", how="left")
             .with_columns(cluster_id=pl.col("_story"),
                           note=pl.when(pl.col("note").replace_strict(notes, default=None) == pl.col("_story"))
                           .then(None).otherwise(pl.col("note").replace(
                               {note: split_from_note(story) for note, story in notes.items()})),
                           first_seen_night=pl.col("first_seen_night").fill_null(night)))
    frame = frame.sort(["cluster_size", "cluster_id", "is_canonical", "published", "article_id"],
                       descending=[True, False, True, False, False], nulls_last=True)
    return conform(frame, CLUSTERS_WITH_HISTORY, "stories")


def _assignments(frame: pl.DataFrame, first_of: dict, story_of: dict, night: date) -> pl.DataFrame:
    firsts = pl.DataFrame({"story_id": [story_of[c] for c in sorted(story_of)],
                           "story_first_night": [first_of[c] for c in sorted(story_of)]},
                          schema={"story_id": pl.String, "story_first_night": pl.Date})
    out = (frame.select("article_id", "outlet", "published", pl.col("cluster_id").alias("story_id"),
                        "canonical_id", "story_status")
           .join(firsts, on="story_id", how="left")
           .with_columns(night=pl.lit(night, dtype=pl.Date)))
    return out.select(TABLES["assignments"].names()).sort("article_id")


def _history(frame: pl.DataFrame, status: dict, story_of: dict, grew: list, merges: list,
             claims: dict, won: dict) -> dict[str, Any]:
    sizes = dict(frame.group_by("cluster_id").agg(pl.len()).iter_rows())
    stories = Counter(status[c] for c in status if sizes[story_of[c]] >= 2)
    singles = Counter(status[c] for c in status if sizes[story_of[c]] < 2)
    split = [{"story_id": story_of[c], "split_from": sorted(claims[c])}
             for c in sorted(status) if status[c] == "split"]
    return {
        "stories": {s: stories.get(s, 0) for s in STATUSES},
        "singletons": {s: singles.get(s, 0) for s in STATUSES},
        "grew": sorted(grew, key=lambda g: g["story_id"]),
        "merged": [{"merged_id": m, "into_id": i} for _, m, i in sorted(merges, key=lambda t: t[1])],
        "split": sorted(split, key=lambda s: s["story_id"]),
    }
