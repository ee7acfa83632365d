"""Lookups into a state's story history: the story each article had, merges, first nights, outlets.

A night needs to know, for tonight's ids read before and for the stored articles it loads, which story
each belonged to (following merges), when that story was first given, which outlets it had, and whether
a new story id was ever used. :class:`StoryHistory` answers from the ``assignments`` and
``story_merges`` tables of one state version, reading only the nights that can hold each answer (each
bound is tested against a lookup over every night, ``tests/state/test_history_lookups.py``; what they
cost as a state ages: ``benchmarks/README.md`` section 6, "A year of history"). Read only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import polars as pl

from dedup.state.store import Manifest, Store


def nights_from(first: date) -> Callable[[str], bool]:
    """A night filter for :meth:`dedup.state.store.Store.scan`: the nights on or after ``first``."""
    first_iso = first.isoformat()
    return lambda night: night >= first_iso


class StoryHistory:
    """The story history of state version ``base`` (None: an empty state) in ``store``."""

    def __init__(self, store: Store, base: Manifest | None):
        self.store, self.base = store, base
        self._merge_rows: pl.DataFrame | None = None
        self._final: dict[str, str] | None = None

    def seen_before(self, ids: pl.Series) -> pl.DataFrame:
        """The ids read on an earlier night, with their stories (KNOWN's columns), and the night and outlet
        of each id's latest row (``latest_night``, ``latest_outlet``: the article the state holds under it).

        Every article read on a night has an assignment row that night, so one scan of the assignments
        gives both the night each id was first read (the ``first_seen_night`` its stored rows carry)
        and its latest story. This scan reads every night of the history: with :meth:`used_ids`, it is
        what a night's cost still grows with as the state ages (benchmarks/README.md section 6, "A year
        of history").
        """
        rows = (self.store.scan(self.base, "assignments").filter(pl.col("article_id").is_in(ids.implode()))
                .select("article_id", "night", "outlet", "story_id", "story_first_night").collect())
        first_seen = rows.group_by("article_id").agg(first_seen_night=pl.col("night").min())
        latest = rows.sort("night").unique("article_id", keep="last")
        return (self.stories_of(latest).join(first_seen, on="article_id", how="left")
                .join(latest.select("article_id", latest_night="night", latest_outlet="outlet"), on="article_id",
                      how="left"))

    def merges(self) -> pl.DataFrame:
        """Every recorded merge (night, merged_id, into_id): one row per merged story, a few per night."""
        if self._merge_rows is None:
            self._merge_rows = self.store.scan(self.base, "story_merges").collect()
        return self._merge_rows

    def final_ids(self) -> dict[str, str]:
        """Every merged story id -> the story it finally lives on in (chains followed)."""
        if self._final is None:
            frame = self.merges()
            merges = dict(zip(frame["merged_id"].to_list(), frame["into_id"].to_list()))
            self._final = {}
            for m in merges:
                x, seen = m, set()
                while x in merges and x not in seen:
                    seen.add(x)
                    x = merges[x]
                self._final[m] = x
        return self._final

    def resolve(self, ids: pl.Series) -> pl.Series:
        final = self.final_ids()
        return ids.replace(final) if final else ids

    def current_stories(self, ids: pl.Series, first_night: date) -> pl.DataFrame:
        """article_id, prev_story (merges followed), story_first_night: the latest assignment of each id
        among the nights from ``first_night``."""
        latest = (self.store.scan(self.base, "assignments", nights_from(first_night))
                  .filter(pl.col("article_id").is_in(ids.implode()))
                  .select("article_id", "night", "story_id", "story_first_night")
                  .sort("night").unique("article_id", keep="last").collect())
        return self.stories_of(latest)

    def stories_of(self, latest: pl.DataFrame) -> pl.DataFrame:
        """``latest`` assignment rows -> article_id, prev_story (merges followed), story_first_night.

        Every row of a story id carries the night that id was first given, so a row's own
        ``story_first_night`` is its story's. A story merged since then continues as the story it was
        merged into, whose first night is read on a night of that merge (:meth:`merged_first_nights`).
        """
        out = latest.with_columns(prev_story=self.resolve(latest["story_id"]))
        moved = pl.col("prev_story") != pl.col("story_id")
        into = out.filter(moved)["prev_story"].unique()
        if into.len():
            firsts = self.merged_first_nights(into).rename({"story_id": "prev_story", "story_first_night": "_first"})
            out = (out.join(firsts, on="prev_story", how="left")
                   .with_columns(story_first_night=pl.when(moved).then("_first").otherwise("story_first_night")))
        return out.select("article_id", "prev_story", "story_first_night")

    def merged_first_nights(self, story_ids: pl.Series) -> pl.DataFrame:
        """story_id, story_first_night of stories other stories were merged into.

        On the night of a merge the cluster's articles were written under the surviving id, with
        its first night, so only the nights of the merges into these stories are read, not the
        whole history."""
        merges = self.merges()
        nights = set(merges.filter(pl.col("into_id").is_in(story_ids.implode()))["night"].cast(pl.String).to_list())
        found = self.first_nights(story_ids, nights.__contains__)
        missing = story_ids.filter(~story_ids.is_in(found["story_id"].implode()))
        if missing.len():   # not written on a merge night (a state edited by hand?): read every night for them
            found = pl.concat([found, self.first_nights(missing, None)])
        return found

    def first_nights(self, story_ids: pl.Series, nights: Callable[[str], bool] | None) -> pl.DataFrame:
        """story_id, story_first_night of ``story_ids``, from the nights ``nights`` accepts (None: every night)."""
        return (self.store.scan(self.base, "assignments", nights)
                .filter(pl.col("story_id").is_in(story_ids.implode()))
                .group_by("story_id").agg(pl.col("story_first_night").min()).collect())

    def used_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` ever given to a story or merged away (a new story cannot take them)."""
        ids = pl.Series(list(ids), dtype=pl.String)
        used = self.store.scan(self.base, "assignments").filter(pl.col("story_id").is_in(ids.implode()))
        merged = self.store.scan(self.base, "story_merges").filter(pl.col("merged_id").is_in(ids.implode()))
        return (set(used.select("story_id").collect()["story_id"].to_list())
                | set(merged.select("merged_id").collect()["merged_id"].to_list()))

    def outlets_before(self, story_ids: Iterable[str], known: pl.DataFrame) -> dict[str, set[str | None]]:
        """Every outlet each story of ``story_ids`` had before tonight (with the stories merged into it),
        None for the unknown outlet of articles naming none. ``known``: KNOWN rows (``prev_story``,
        ``story_first_night``) of the stories."""
        wanted = set(story_ids)
        members = wanted | {m for m, into in self.final_ids().items() if into in wanted}
        frame = (self.store.scan(self.base, "assignments", self._story_nights(wanted, known))
                 .filter(pl.col("story_id").is_in(pl.Series(sorted(members), dtype=pl.String).implode()))
                 .select("story_id", "outlet").unique().collect())
        out: dict[str, set[str | None]] = {}
        for story, outlet in zip(self.resolve(frame["story_id"]).to_list(), frame["outlet"].to_list()):
            out.setdefault(story, set()).add(outlet)
        return out

    def canonicals(self, story_ids: Iterable[str], known: pl.DataFrame) -> dict[str, str]:
        """The canonical article each story of ``story_ids`` had on the latest night that gave it (on a
        night of a merge into it, its rows are written under its id). ``known``: as for :meth:`outlets_before`."""
        wanted = set(story_ids)
        frame = (self.store.scan(self.base, "assignments", self._story_nights(wanted, known))
                 .filter(pl.col("story_id").is_in(pl.Series(sorted(wanted), dtype=pl.String).implode())
                         & pl.col("canonical_id").is_not_null())
                 .select("story_id", "night", "canonical_id").sort("night", "canonical_id")
                 .unique("story_id", keep="last").collect())
        return dict(zip(frame["story_id"].to_list(), frame["canonical_id"].to_list()))

    @staticmethod
    def _story_nights(wanted: set[str], known: pl.DataFrame) -> Callable[[str], bool] | None:
        """The nights that can hold rows of the stories ``wanted``: a story's rows are on the nights from
        the one its id was first given, and a story merged into another is younger than it (the oldest
        survives), so the wanted stories' earliest first night bounds them. The stories are those of the
        loaded articles (KNOWN)."""
        firsts_of = dict(known.select("prev_story", "story_first_night").unique().iter_rows())
        firsts = [firsts_of.get(s) for s in wanted]
        return None if not firsts or None in firsts else nights_from(min(firsts))
