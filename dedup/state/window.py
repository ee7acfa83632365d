"""The stored articles of a night's window: what the night reads of them before tonight's signatures exist.

:func:`read_window` runs on the state's I/O thread while tonight's articles are shingled and signed
(:meth:`dedup.state.night.NightlyState.start`): the latest row of every stored article in the window, with
its outlet, band keys and story. :meth:`~dedup.state.night.NightlyState.prior` takes tonight's candidates
from it, and :func:`window_texts` the stored articles that count for the boilerplate of tonight's small
outlets.

Why the window counts for boilerplate: an outlet's boilerplate is a passage in ``boilerplate_min_docs``
of its distinct texts (:mod:`dedup.boilerplate`), and a night is counted over its own articles. An outlet
printing one article a night with its long footer never reaches that count in a night, while matching
spans the window: its unrelated articles of the week would be joined by their footer into one story
that grows night after night, where a run over the same articles strips the footer. So an outlet with
fewer than ``WINDOW_SAMPLE`` distinct texts tonight also counts stored ones (:func:`window_texts`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from dedup.align import Furniture
from dedup.boilerplate import text_keys
from dedup.config import MinHashConfig, ShingleConfig
from dedup.lsh import banding
from dedup.schema import REJECTS, UTC_TIME, conform
from dedup.shingle import shingle
from dedup.state.history import StoryHistory, nights_from
from dedup.state.index import list_to_keys
from dedup.state.store import Manifest, Store

#: An outlet with fewer distinct texts tonight counts stored ones of the window for its boilerplate, up to
#: this many texts in all (:func:`window_texts`).
WINDOW_SAMPLE = 16
#: Rows read per stored text wanted: copies of one text (a crawl's several ids for one article) count once.
COPIES_READ = 4

#: The tag in the name of a furniture file: the ``furniture_min_stories`` it was counted with (see
#: window_furniture; a file of an older dedup has none).
FURNITURE_TAG = re.compile(r"\.min(\d+)\.parquet$")
#: Tonight's ids whose latest row in the state has another outlet (:func:`held_elsewhere`): the outlet and
#: night of that row.
HELD = pl.Schema({"article_id": pl.String, "outlet": pl.String, "night": pl.Date})

_TEXTS = pl.Schema({"outlet": pl.String, "shingles": pl.List(pl.UInt32), "article_id": pl.String, "title": pl.String,
                    "published": UTC_TIME})


@dataclass
class Window:
    """What :meth:`dedup.state.night.NightlyState.prior` reads of the window before it needs tonight's signatures."""

    stored: pl.DataFrame       # the latest row of each stored article in the window (not tonight's ids), its outlet
    comparable: pl.Series      # which of those have band keys (not too short to sign)
    keys: np.ndarray           # their band keys, (comparable rows, bands) uint64
    current: pl.DataFrame      # their stories (see StoryHistory.current_stories)
    again: pl.DataFrame        # tonight's ids seen on earlier nights: stories and first_seen_night
    unchanged: pl.Series       # those of them sent again with the text of their latest row in the window
    held: pl.DataFrame         # tonight's ids the state holds for another outlet (HELD); not in the above


def read_window(store: Store, base: Manifest | None, nights: set[str], tonight: pl.DataFrame, *,
                window_start: datetime, past: StoryHistory, minhash: MinHashConfig) -> Window:
    """The part of a night's prior articles that tonight's signatures do not change (may run on a thread).
    ``nights``: the nights of ``base`` whose articles are not pruned; ``tonight``: the ids, outlets and
    texts of tonight's articles; ``window_start``: when the window starts. Tonight's ids the state holds
    for another outlet (``held``, :func:`held_elsewhere`) are left out of tonight's: the stored article
    under such an id stays a stored article, and tonight's record is rejected."""
    again = past.seen_before(tonight["article_id"])
    held = held_elsewhere(tonight, again)
    if held.height:
        tonight = tonight.filter(~pl.col("article_id").is_in(held["article_id"].implode()))
        again = again.filter(~pl.col("article_id").is_in(held["article_id"].implode()))
    tonight_ids = tonight["article_id"]
    first_night = (window_start - timedelta(days=1)).date()
    # The latest row of every stored article in the window; the band keys (the one wide column)
    # are read once and gathered for those rows, not carried through the sort. Pruned nights
    # have no texts, shingles or band keys: never candidates, nor output (an earlier night's
    # --retention may have been shorter than tonight's --window); their history still counts.
    recent = set(filter(nights_from(first_night), nights))
    columns = ("article_id", "outlet", "published", "night", "first_seen_night", "bands")
    every = store.scan(base, "articles", recent.__contains__).select(columns).collect()
    if nights - recent:
        # An article dated after the night it was read stays in the window until its date leaves it:
        # the ids the older nights hold dated in the window (row-group statistics skip the rest:
        # milliseconds), with every older row of theirs, since an id's latest row decides.
        older = store.scan(base, "articles", (nights - recent).__contains__)
        late = older.filter(pl.col("published") >= window_start).select("article_id").collect()["article_id"]
        if late.len():
            every = pl.concat([every, older.filter(pl.col("article_id").is_in(late.implode())).select(columns)
                               .collect()])
            first_night = every["night"].min()   # their stories' rows are on their nights
    stored = (every.select(pl.exclude("bands")).with_row_index("_row")
              .filter(~pl.col("article_id").is_in(tonight_ids.implode()))
              .sort("night").unique("article_id", keep="last")
              .filter(pl.coalesce("published", pl.col("first_seen_night").cast(pl.Datetime("us", "UTC")))
                      >= window_start))
    unchanged = _unchanged_ids(store, base, tonight.select("article_id", "text"),
                               every.filter(pl.col("article_id").is_in(tonight_ids.implode())))
    stored_bands = every["bands"].gather(stored["_row"])
    del every
    comparable = stored_bands.is_not_null()
    keys = list_to_keys(stored_bands.filter(comparable), banding(minhash)[0])
    del stored_bands
    return Window(stored=stored, comparable=comparable, keys=keys,
                  current=past.current_stories(stored["article_id"], first_night),
                  again=again, unchanged=unchanged, held=held)


def held_elsewhere(tonight: pl.DataFrame, again: pl.DataFrame) -> pl.DataFrame:
    """HELD rows of tonight's articles (``tonight``: their ids and outlets) whose id the state holds for
    another outlet: the outlet of the id's latest assignment row (the article the state has under it) is
    not tonight's. ``again``: tonight's ids read on an earlier night, with the outlet and night of their
    latest row (:meth:`dedup.state.history.StoryHistory.seen_before`).

    Outlets compare as everywhere in the state (a story's outlets, the window's texts of an outlet): as
    written, so ``Daily A`` and ``daily a`` are two outlets; an article without outlet (none given, no URL
    host) has the same outlet as another without, and another than a named one. Such a record is two
    outlets' numbering colliding (two CMSs counting from 1), not the article sent again: the night rejects
    it as ``duplicate_id``, as a run without a state rejects a second record under an id
    (:meth:`dedup.state.night.NightlyState.held_elsewhere`)."""
    rows = (again.select("article_id", outlet="latest_outlet", night="latest_night")
            .join(tonight.select("article_id", outlet_tonight="outlet"), on="article_id", how="inner"))
    return rows.filter(~pl.col("outlet").eq_missing(pl.col("outlet_tonight"))).select(*HELD).sort("article_id")


def held_rejects(held: pl.DataFrame, articles: pl.DataFrame) -> pl.DataFrame:
    """REJECTS rows (``duplicate_id``, by file and record) of tonight's ``articles`` whose ids are ``held``
    (HELD: :func:`held_elsewhere`), naming the outlet the state holds each id for and the night of its row."""
    rows = (held.join(articles.select("article_id", "source_file", "source_record", outlet_tonight="outlet"),
                      on="article_id", how="inner").sort("source_file", "source_record", "article_id"))

    def by(outlet: str | None) -> str:
        return "an article without outlet" if outlet is None else f"outlet {outlet!r}"
    messages = [f"id {aid!r} is held by {by(held_by)} in the state (night {night}); sent tonight by {by(now)}"
                for aid, held_by, night, now in rows.select("article_id", "outlet", "night", "outlet_tonight")
                .iter_rows()]
    return conform(rows.select(file="source_file", record="source_record", article_id="article_id",
                               reason=pl.lit("duplicate_id"), message=pl.Series(messages, dtype=pl.String)),
                   REJECTS, "state held ids")


def _unchanged_ids(store: Store, base: Manifest | None, tonight: pl.DataFrame, stored: pl.DataFrame) -> pl.Series:
    """The ids of tonight's articles whose latest row in the window (``stored``: their rows of the
    window's nights) has the same text: sent again unchanged, they count for their stories as stored
    articles do (:mod:`dedup.state.stories`). Only the texts of those rows are read. One whose
    latest row is older than the window counts as changed: it keeps its story only when nothing
    stored decides otherwise."""
    latest = stored.select("article_id", "night").sort("night").unique("article_id", keep="last")
    if not latest.height:
        return pl.Series("article_id", [], dtype=pl.String)
    nights = set(latest["night"].cast(pl.String).to_list())
    texts = (store.scan(base, "articles", nights.__contains__)
             .filter(pl.col("article_id").is_in(latest["article_id"].implode()))
             .select("article_id", "night", "text").join(latest.lazy(), on=["article_id", "night"])
             .collect())
    same = texts.join(tonight, on="article_id", suffix="_tonight").filter(pl.col("text") == pl.col("text_tonight"))
    return same["article_id"].sort()


def window_texts(store: Store, base: Manifest | None, window: Callable[[], Window], wanted: dict[str, int],
                 config: ShingleConfig) -> pl.DataFrame:
    """``outlet``, ``shingles`` of the stored articles of the window that count for the boilerplate of
    tonight's small outlets: for each outlet of ``wanted``, its ``wanted[outlet]`` most recent ones (by
    outlet, the most recent first); ``window()`` gives the :class:`Window`. With each, the ``article_id``,
    ``title`` and ``published`` the re-send rule reads (a stored re-send of an item counts once with it:
    :func:`dedup.signing.sign_articles`).

    An outlet with fewer than ``WINDOW_SAMPLE`` distinct texts tonight
    counts its stored articles of the window too, up to ``WINDOW_SAMPLE``
    texts in all (:meth:`dedup.state.night.NightlyState.window_texts` asks),
    as a run over those articles would count them: each stored text is
    shingled again as read (``config``), since the stored shingles lack what
    their own night found to be boilerplate (a footer counted from them
    would be lost again once the nights that found it fill the window), and
    copies of one text count once (one crawl's copies under several ids
    fill no more than one place: the ``COPIES_READ`` × wanted most recent
    rows are read, and the first of each text kept; tonight's own texts are
    left out downstream, by :func:`dedup.boilerplate.first_copies`). So an outlet that re-publishes
    one story in several different versions makes it its boilerplate, as in
    a run over the window. The stored articles are counted, never stripped
    again. Nothing is read (nor waited for) when nothing is wanted; else the
    chosen articles' texts only, from the nights holding them.
    """
    wanted = {outlet: n for outlet, n in wanted.items() if n > 0}
    if not wanted:
        return pl.DataFrame(schema=_TEXTS)
    stored = window()
    chosen = (stored.stored.filter(pl.col("outlet").is_in(list(wanted)))
              .sort("night", "published", "article_id", descending=True, nulls_last=True)
              .filter(pl.int_range(pl.len()).over("outlet")
                      < COPIES_READ * pl.col("outlet").replace_strict(wanted, return_dtype=pl.Int64))
              .select("article_id", "night").with_row_index("_order"))
    if not chosen.height:
        return pl.DataFrame(schema=_TEXTS)
    nights = set(chosen["night"].cast(pl.String).to_list())
    found = (store.scan(base, "articles", nights.__contains__)
             .filter(pl.col("article_id").is_in(chosen["article_id"].implode()))
             .select("article_id", "night", "outlet", "title", "published", "text").collect()
             .join(chosen, on=["article_id", "night"]).sort("outlet", "_order"))
    shingled = shingle(found, config=config)
    texts = (found.select("outlet", "article_id", "title", "published")
             .with_columns(shingles=shingled["shingles"], _text=pl.Series(text_keys(shingled)))
             .unique(["outlet", "_text"], keep="first", maintain_order=True)
             .filter(pl.int_range(pl.len()).over("outlet")
                     < pl.col("outlet").replace_strict(wanted, return_dtype=pl.Int64)))
    return texts.select(*_TEXTS)


def window_furniture(store: Store, base: Manifest | None, night: date, window_start: datetime,
                     min_stories: int) -> Furniture:
    """The furniture pairs the nights of the window before ``night`` found (``furniture`` table): an
    outlet's line counted on an earlier night stays its furniture tonight, when the night's stories
    alone would show it in too few of them (a late copy joining one story).

    Only the nights that counted it with ``min_stories`` (tonight's ``furniture_min_stories``) or more: a
    line printed in that many stories is in as many as tonight's setting asks; one counted with fewer may
    not be, so the setting raised takes effect tonight, not once the window has passed. (A night of an
    older dedup, whose file does not say, is taken.)"""
    files = base.tables.get("furniture", {}) if base else {}
    counted = {n: FURNITURE_TAG.search(rel) for n, rel in files.items()}
    taken = {n for n, tag in counted.items() if tag is None or int(tag.group(1)) >= min_stories}
    in_window = nights_from(window_start.date())
    found = (store.scan(base, "furniture", lambda n: n in taken and in_window(n))
             .filter(pl.col("night") < night).select("outlet", "key").unique().collect())
    return frozenset(found.iter_rows())
