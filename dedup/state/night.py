"""One night's run against the state: lock, checks, prior articles, story ids, commit.

Used by :func:`dedup.pipeline.run` in this order::

    with NightlyState(state_dir, config=config, window="7d") as state:   # lock; format check
        state.start(articles)              # the night; its base version; starts reading the window
        ... shingle, strip boilerplate and sign tonight's articles, counting state.window_texts(...) ...
        rejects = state.held_elsewhere(articles)   # ids the state holds for another outlet: duplicate_id,
        ... those articles dropped from tonight's frames (dedup.io.reject_read_articles) ...
        prior_articles, prior_shingles = state.prior(articles, shingles, signatures)
                                           # the candidates; starts writing tonight's articles file
        ... cluster tonight's + prior articles together ...
        story = state.assign(clusters)     # story ids, statuses, merges
        stored = state.stored_sentences(story)   # earlier alignments tonight may copy
        furniture = state.window_furniture()    # the furniture earlier nights found
        ... align (dedup.align.reuse); state.keep_sentences(sentences, story, found_furniture) ...
        ... write the outputs ...
        state.commit()                     # one atomic manifest swap

The lookups into the story history (stories of ids read before, merges, first nights, outlets, ids
ever used) are :class:`dedup.state.history.StoryHistory`'s, over the version the night builds on.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl

from dedup import __version__
from dedup.align import Furniture
from dedup.config import Config
from dedup.errors import ConfigError
from dedup.schema import ARTICLES, SHINGLES, conform
from dedup.state.errors import StateError
from dedup.state.history import StoryHistory, nights_from
from dedup.state.index import band_keys, keys_to_list, sharing_rows
from dedup.state.lock import StateLock
from dedup.state.params import (
    added_settings,
    differences,
    effective_parameters,
    fingerprint,
    format_duration,
    parse_duration,
    parse_night,
    state_parameters,
    with_added,
)
from dedup.state.store import TABLES, Manifest, Store, checkpoint, writing_state
from dedup.state.stories import KNOWN, StoryAssignment, assign_stories
from dedup.state.window import (
    WINDOW_SAMPLE,
    Window,
    held_rejects,
    read_window,
    window_furniture,
    window_texts,
)

DEFAULT_WINDOW = "7d"
DEFAULT_RETENTION = "30d"
DEFAULT_KEEP_VERSIONS = 5
DAY = timedelta(days=1)
#: Stored sentence rows depend on the alignment settings only (their canonical is checked apart).
ALIGN_STAGE = ("align",)
#: The tag in the name of an articles file rewritten without texts, shingles and band keys (see _prune).
PRUNED_TAG = ".pruned"


def make_state_folder(root: Path) -> None:
    """Create the state folder ``root`` if missing (where its lock goes)."""
    if root.exists() and not root.is_dir():   # a bad parameter (exit 2), not a refused state
        raise ConfigError(f"--state {root} is a file, not a folder")
    with writing_state(root):   # a folder that cannot be made is a write that failed (exit 8), not a refusal
        root.mkdir(parents=True, exist_ok=True)


class NightlyState:
    """A night's run against a state folder; see the module docstring.

    Parameters
    ----------
    state_dir:
        The state folder (created on the first night).
    config:
        The run's configuration; the state refuses one whose shingle, minhash
        or cluster settings differ from those it was built with, as stored data
        depends on them (:func:`dedup.state.params.effective_parameters`).
    night:
        The night's date (``date`` or ISO string). Default: the UTC date of
        the newest ``published`` among tonight's articles. A night after
        tomorrow (UTC), given or inferred, is refused (:meth:`start`).
    window:
        Stored articles published less than this before the end of the night
        are candidates for tonight's articles (default ``7d``). Older ones stay
        in the state and in the history, but are not matched any more.
    retention:
        Texts, shingles and band keys of nights older than this are pruned
        (default ``30d``, at least the window); the history is kept.
    keep_versions:
        Committed versions kept readable (default 5).
    """

    def __init__(self, state_dir: str | Path, *, config: Config, night: date | str | None = None,
                 window: str | timedelta = DEFAULT_WINDOW, retention: str | timedelta = DEFAULT_RETENTION,
                 keep_versions: int = DEFAULT_KEEP_VERSIONS, log=None):
        self.store = Store(state_dir)
        self.config = config
        self.window = parse_duration(window, "--window")
        self.retention = parse_duration(retention, "--retention")
        if self.retention < self.window:
            raise ConfigError(f"--retention ({retention}) must be at least --window ({window}): "
                             "candidates need their texts and shingles")
        if keep_versions < 1:
            raise ConfigError(f"keep_versions must be at least 1, got {keep_versions}")
        self.keep_versions = keep_versions
        self.night = parse_night(night) if night is not None else None
        self.lock = StateLock(state_dir, command=" ".join(sys.argv[:1]))
        self.log = log or (lambda msg: None)
        self.params = state_parameters(config)
        self.base: Manifest | None = None
        self.head: Manifest | None = None
        self.history: dict[str, Any] = {}
        self._window_articles = 0   # stored articles counted for tonight's boilerplate (see window_texts)
        self._small: dict[str, int] = {}              # tonight's outlets of few articles (see window_texts)
        self._window_read: pl.DataFrame | None = None   # their stored texts, read at the first ask
        self._tonight: dict[str, Any] = {}
        self._story: StoryAssignment | None = None
        self.past: StoryHistory | None = None   # the story history of the base version (see start)
        # One thread for the state's reading and writing that overlaps other work: the window's
        # reads during signing, tonight's articles file during clustering (see start, prior).
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dedup-state")
        self._window: Future | None = None
        self._sentences: Future | None = None
        self._articles_file: Future | None = None

    # -- opening ---------------------------------------------------------------------------
    def __enter__(self) -> "NightlyState":
        root = self.store.root
        make_state_folder(root)
        self.lock.acquire()
        try:
            if self.lock.takeover:
                self.log(f"took over a stale lock of pid {self.lock.takeover.get('pid')}")
            removed = self.store.clean_orphans()
            if removed:
                self.log(f"removed {removed} file(s) of an interrupted run")
            self.head = self.store.check_files(self.store.manifest())
            if self.head is not None and self.head.fingerprint != fingerprint(self.params):
                # Compared as stored data depends on them: the banding derived or written out, the same;
                # max_bucket, any. (An older dedup's fingerprint hashed them as written: compared, equal.)
                stored, tonight = effective_parameters(self.head.parameters), effective_parameters(self.params)
                added = added_settings(stored, tonight)
                diff = differences(with_added(stored, tonight), tonight)
                if any(d.startswith(("minhash.bands:", "minhash.rows:")) for d in diff):   # the threshold, if it is why
                    diff += [d for d in differences(self.head.parameters, self.params)
                             if d.startswith("minhash.lsh_threshold:")]
                if diff:
                    raise StateError(f"state {root} was built with other parameters ({'; '.join(diff)}); "
                                     "run with the state's parameters, or start a new --state folder")
                # A newer dedup added settings: stored shingles and band keys do not depend on them. (Equal
                # values written apart, 1 and 1.0 by an older dedup, differ in the fingerprint only: nothing new.)
                if added:
                    self.log(f"settings new since this state was built, applied from tonight: "
                             f"{'; '.join(added)}")
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._io.shutdown(wait=True)   # a run that failed midway: its reads or its write end first
        finally:
            self.lock.release()

    def start(self, articles: pl.DataFrame) -> date:
        """Fix the night (from ``articles`` if not given) and the version it builds on, and start
        reading the window on a thread (what :meth:`prior` needs before tonight's signatures)."""
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        given = self.night is not None
        if not given:
            self.night = self._infer_night(articles, tomorrow)
        head = self.head
        if head is None or head.night is None or date.fromisoformat(head.night) < self.night:
            self.base = head
        elif head.night == self.night.isoformat():
            if not given:   # one evening's feeds with an item after midnight UTC date the next evening's too
                raise StateError(f"night {self.night}, inferred from the newest article, is the state's newest "
                                 f"night already: give --night {self.night} to rerun it (the run replaces it), "
                                 "or the night of these feeds if they are another's")
            # A rerun of the newest night: build on what the first run built on.
            self.log(f"night {self.night} is the state's newest: this run replaces it")
            self.base = self.store.manifest(head.parent) if head.parent is not None else None
        else:
            raise StateError(f"night {self.night} is older than the state's newest night {head.night}; "
                             "only the newest night can be rerun (use a copy of an older state version "
                             "to redo older nights)")
        try:   # the night's window, its day before (what the lookups read) and its retention, in the calendar
            self.window_start = datetime.combine(self.night + timedelta(days=1), time(), timezone.utc) - self.window
            _ = self.window_start - timedelta(days=1), self.night - self.retention
        except OverflowError:
            raise ConfigError(f"night {self.night} with --window {format_duration(self.window)} and --retention "
                              f"{format_duration(self.retention)} reaches beyond the calendar (years 1 to 9999)"
                              ) from None
        if given and self.night > tomorrow:   # as for an inferred night: a typo would block every real night
            raise StateError(f"--night {self.night} is after tomorrow ({tomorrow} UTC): a wrong date? it would become "
                             "the state's newest night, and every real night after it would be refused as older")
        if self.base is head and head is not None and head.night is not None and \
                date.fromisoformat(head.night) < self.night - DAY:
            self.log(f"night {self.night}: the state's newest night is {head.night}; the nights between were "
                     "not run, and cannot be once this one is (older than the newest)")
        self.past = StoryHistory(self.store, self.base)
        # What prior() needs of the window before tonight's signatures exist is read on a thread
        # meanwhile: the Parquet decoding releases the GIL, and signing leaves a core idle.
        self._window = self._io.submit(self._read_window, articles.select("article_id", "outlet", "text"))
        counts = articles["outlet"].drop_nulls().value_counts()
        self._small = {o: n for o, n in counts.iter_rows() if n < WINDOW_SAMPLE}
        return self.night

    def _infer_night(self, articles: pl.DataFrame, tomorrow: date) -> date:
        """The UTC date of the newest article, logged with the article. A date after tomorrow (UTC) is
        refused: a year mistyped in one record would make it the state's newest night, and every real
        night after it would be refused as older."""
        newest = articles["published"].max()
        if not articles.height:
            raise StateError("no usable article tonight (every record rejected, or none read), so the night "
                             "cannot be inferred; give it with --night YYYY-MM-DD (rejected.jsonl then lists why)")
        if newest is None:
            raise StateError("no article has a publication date, so the night cannot be inferred; "
                             "give it with --night YYYY-MM-DD")
        newest_id = articles.filter(pl.col("published") == newest)["article_id"].min()
        source = f"article {newest_id!r} published {newest.isoformat().replace('+00:00', 'Z')}"
        if newest.date() > tomorrow:
            raise StateError(f"the night inferred from the newest article, {newest.date()}, is after tomorrow "
                             f"({tomorrow} UTC): {source}; a wrong date? give the night with --night YYYY-MM-DD")
        self.log(f"night {newest.date()} (inferred from the newest article: {source})")
        return newest.date()

    # -- reading prior articles ------------------------------------------------------------
    def held_elsewhere(self, articles: pl.DataFrame) -> pl.DataFrame:
        """REJECTS rows (``duplicate_id``) of tonight's ``articles`` whose id the state holds for another outlet
        (:func:`dedup.state.window.held_elsewhere`): the caller drops those articles from tonight's frames before
        :meth:`prior`; the stored articles under their ids stay. Waits for the window's read (beside signing)."""
        return held_rejects(self._window.result().held, articles)

    def prior(self, articles: pl.DataFrame, shingles: pl.DataFrame, signatures: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The stored articles tonight's could match, with every in-window article of their stories and
        of the stories of tonight's articles read before.

        Returns ARTICLES and SHINGLES frames; their ``doc`` numbers continue
        after tonight's. Also remembers tonight's frames for :meth:`commit`.
        """
        too_short = shingles["shingles"].list.len().to_numpy() < self.config.shingle.min_shingles
        keys = band_keys(signatures, config=self.config.minhash)
        self._tonight = {"articles": articles, "shingles": shingles, "bands": keys_to_list(keys, ~too_short)}
        window, self._window = self._window.result(), None
        stored, current, again = window.stored, window.current, window.again
        self._unchanged = window.unchanged
        hit = sharing_rows(window.keys, keys[~too_short])
        matched = stored["article_id"].filter(window.comparable).filter(pl.Series(hit))
        del window, hit
        # Every in-window article of the stories those belong to, and of the stories tonight's articles
        # read before had (one sent again with another text may leave its story: the rest is output).
        touched = pl.concat([current.filter(pl.col("article_id").is_in(matched.implode()))["prev_story"],
                             again["prev_story"]]).unique()
        selected = current.filter(pl.col("prev_story").is_in(touched.implode()))["article_id"]
        selected = pl.concat([selected, matched]).unique().sort()
        self.history = {"night": self.night.isoformat(), "base_version": self.base.version if self.base else None,
                        "window": format_duration(self.window),
                        "window_start": self.window_start.isoformat().replace("+00:00", "Z"),
                        "prior_in_window": stored.height, "prior_matched": matched.len(),
                        "prior_loaded": selected.len(), "boilerplate_window_articles": self._window_articles}
        # Only the nights holding a selected article's latest row are read (of a 7-day window, the
        # oldest nights often hold none).
        holding = set(stored.filter(pl.col("article_id").is_in(selected.implode()))["night"].cast(pl.String).to_list())
        rows = (self.store.scan(self.base, "articles", holding.__contains__).select(pl.exclude("bands"))
                .filter(pl.col("article_id").is_in(selected.implode()))
                .sort("night").unique("article_id", keep="last").sort("article_id").collect())
        self._known = self._known_for(current, rows, again)
        self._prior_sets = rows.select("article_id", "shingles")
        self._text_nights = rows.select("article_id", text_night="night")
        start = articles.height
        # While tonight's and these articles are clustered: the stored sentence rows the alignment
        # may re-use are read, and tonight's articles file (final now) is written (a killed run
        # leaves it an orphan, which the next run deletes before it reads anything).
        self._sentences = self._io.submit(self._read_sentences)
        self._version = (self.store.versions() or [0])[-1] + 1
        self._articles_file = self._io.submit(self._write_articles)
        prior_articles = conform(rows.with_columns(source_file=pl.lit("state:night=") + pl.col("night").cast(pl.String),
                                                   source_record=pl.lit(None, dtype=pl.Int64)),
                                 ARTICLES, "state prior")
        prior_shingles = conform(rows.select(
            doc=pl.int_range(start, start + rows.height, dtype=pl.UInt32), shingles="shingles",
            sequence=pl.lit(None, dtype=pl.List(pl.UInt32)), n_tokens="n_tokens", n_boilerplate="n_boilerplate"),
            SHINGLES, "state prior")
        return prior_articles, prior_shingles

    def _read_window(self, tonight: pl.DataFrame) -> Window:
        """The part of :meth:`prior` that tonight's signatures do not change (may run on a thread; see
        :func:`dedup.state.window.read_window`). ``tonight``: the ids, outlets and texts of tonight's articles."""
        nights = set(self.base.tables.get("articles", {}) if self.base else ()) - self._pruned_nights()
        return read_window(self.store, self.base, nights, tonight, window_start=self.window_start, past=self.past,
                           minhash=self.config.minhash)

    def window_texts(self, texts: dict[str, int]) -> pl.DataFrame:
        """``outlet``, ``shingles`` of the stored articles that count for tonight's boilerplate, given the
        number of distinct texts each outlet has tonight (for :func:`dedup.signing.sign_articles`): those
        of the outlets with fewer than ``WINDOW_SAMPLE`` (:func:`dedup.state.window.window_texts`).

        A night in batches asks once per batch: the window is read once, at the first ask, for every
        outlet with fewer than ``WINDOW_SAMPLE`` articles tonight (hence texts), as many as the fewest
        texts it can have tonight (one) leaves room for; each ask takes its outlets' most recent ones.
        An outlet of more articles but fewer texts (copies) is read at its own ask."""
        wanted = {o: WINDOW_SAMPLE - n for o, n in texts.items() if n < WINDOW_SAMPLE}
        if not wanted:
            return window_texts(self.store, self.base, self._window.result, {}, self.config.shingle)   # empty
        if self._window_read is None:
            self._window_read = window_texts(self.store, self.base, self._window.result,
                                             dict.fromkeys(self._small, WINDOW_SAMPLE - 1), self.config.shingle)
        others = {o: n for o, n in wanted.items() if o not in self._small}
        found = pl.concat([
            self._window_read.filter(pl.col("outlet").is_in(list(wanted)))
            .filter(pl.int_range(pl.len()).over("outlet") < pl.col("outlet").replace_strict(
                wanted, default=0, return_dtype=pl.Int64)),
            window_texts(self.store, self.base, self._window.result, others, self.config.shingle),
        ])
        self._window_articles += found.height
        return found

    def _pruned_nights(self) -> set[str]:
        """The nights whose articles file :meth:`_prune` rewrote without texts."""
        files = self.base.tables.get("articles", {}) if self.base else {}
        return {night for night, rel in files.items() if rel.endswith(f"{PRUNED_TAG}.parquet")}

    def _known_for(self, current: pl.DataFrame, rows: pl.DataFrame, again: pl.DataFrame) -> pl.DataFrame:
        """KNOWN rows for the loaded prior articles and (``again``) for tonight's ids the state has seen before."""
        prior = current.join(rows.select("article_id", "first_seen_night"), on="article_id", how="inner")
        return pl.concat([conform(prior, KNOWN, "state"), conform(again, KNOWN, "state")]).unique(
            "article_id", keep="first").sort("article_id")

    # -- story ids ---------------------------------------------------------------------------
    def assign(self, clusters: pl.DataFrame) -> pl.DataFrame:
        """CLUSTERS (content ids) -> CLUSTERS_WITH_HISTORY of the output clusters (story ids)."""
        self._story = assign_stories(clusters, tonight_ids=self._tonight["articles"]["article_id"],
                                     unchanged_ids=self._unchanged, known=self._known, night=self.night,
                                     used_ids=self.past.used_ids,
                                     outlets_before=lambda ids: self.past.outlets_before(ids, self._known),
                                     canonicals=lambda ids: self.past.canonicals(ids, self._known),
                                     shingles=lambda: pl.concat([self._tonight["articles"].select(
                                         "article_id", shingles=self._tonight["shingles"]["shingles"]),
                                         self._prior_sets]))
        self._prior_sets = None   # (the loaded articles' shingles: for folded clusters' similarities)
        self.history.update(self._story.history)
        return self._story.clusters

    # -- earlier alignments -------------------------------------------------------------------
    def _read_sentences(self) -> pl.DataFrame:
        """The stored SENTENCES rows (with ``canonical_id`` and ``night``) of each loaded prior article:
        its rows of the latest night that output it with tonight's alignment settings, if that night
        is on or after the night the state's text of the article was read (may run on a thread)."""
        texts = self._text_nights
        scan = self.store.scan(self.base, "sentences", nights_from((self.window_start - timedelta(days=1)).date()))
        scan = scan.filter(pl.col("fingerprint") == self.config.fingerprint(ALIGN_STAGE))
        latest = (scan.filter(pl.col("article_id").is_in(texts["article_id"].implode()))
                  .select("article_id", "night", "canonical_id").unique()
                  .sort("night").unique("article_id", keep="last").collect())
        usable = (latest.join(texts, on="article_id", how="inner").filter(pl.col("night") >= pl.col("text_night"))
                  .select("article_id", "night"))
        nights = set(usable["night"].cast(pl.String).to_list())
        return (self.store.scan(self.base, "sentences", nights.__contains__)
                .filter(pl.col("article_id").is_in(usable["article_id"].implode()))
                .join(usable.lazy(), on=["article_id", "night"], how="inner").drop("fingerprint").collect())

    def stored_sentences(self, clusters: pl.DataFrame) -> pl.DataFrame:
        """Stored SENTENCES rows (with ``canonical_id`` and ``copy``) tonight's alignment may re-use.

        For each prior article of a multi-article output cluster: its rows of
        the latest night that output it with tonight's alignment settings
        (the same :meth:`Config.fingerprint` of the ``align`` settings), if that night is on or after
        the night the state's text of the article was read (an article sent
        again with another text is split again). ``copy`` is true when the
        rows were also aligned against the canonical its cluster has tonight,
        whose text has not changed since either; the other rows only give the
        article's sentence spans. See :mod:`dedup.align.reuse`. The rows were
        read while the articles were clustered (:meth:`prior`).
        """
        prior = clusters.filter((pl.col("cluster_size") >= 2) & ~pl.col("is_new")).select("article_id", "canonical_id")
        stored, self._sentences = self._sentences.result(), None
        texts = self._text_nights
        tonight = (prior.rename({"canonical_id": "tonight_canonical"})
                   .join(texts.rename({"article_id": "tonight_canonical", "text_night": "canonical_night"}),
                         on="tonight_canonical", how="left"))
        rows = (stored.join(tonight, on="article_id", how="inner")
                .with_columns(copy=(pl.col("canonical_id") == pl.col("tonight_canonical"))
                              & (pl.col("night") >= pl.col("canonical_night")).fill_null(False)))
        del stored
        return rows.drop("night", "tonight_canonical", "canonical_night").sort("article_id", "status", "position")

    def keep_sentences(self, sentences: pl.DataFrame, clusters: pl.DataFrame,
                       furniture: Furniture = frozenset()) -> None:
        """Remember tonight's output SENTENCES rows, with each story's canonical, and the furniture
        tonight found (:attr:`dedup.align.AlignResult.found_furniture`), for :meth:`commit`.

        Only references are kept: the stored frame (the rows plus their canonical)
        is built in :meth:`commit`, after the outputs are written, so that it and
        the report never take memory at the same time.
        """
        self._tonight["sentences"] = (sentences, clusters.select("article_id", "canonical_id"))
        self._tonight["furniture"] = furniture

    def window_furniture(self) -> Furniture:
        """The furniture pairs the nights of the window before tonight found: the ``furniture`` table read
        with tonight's ``furniture_min_stories`` (:func:`dedup.state.window.window_furniture`)."""
        return window_furniture(self.store, self.base, self.night, self.window_start,
                                self.config.align.furniture_min_stories)

    def _sentence_rows(self) -> pl.DataFrame | None:
        kept = self._tonight.get("sentences")
        if kept is None:
            return None
        sentences, canonicals = kept
        return (sentences.join(canonicals, on="article_id", how="left", maintain_order="left")
                .with_columns(night=pl.lit(self.night, dtype=pl.Date),
                              fingerprint=pl.lit(self.config.fingerprint(ALIGN_STAGE))))

    # -- commit ------------------------------------------------------------------------------
    def commit(self) -> Manifest:
        """Write tonight's files, then publish them in one manifest; then drop old versions."""
        night, version, story = self.night.isoformat(), self._version, self._story
        tables = {t: dict(self.base.tables.get(t, {})) if self.base else {} for t in TABLES}
        tables["articles"][night], articles_tonight = self._articles_file.result()
        checkpoint("articles_written")
        tables["assignments"][night] = self.store.write_file("assignments", night, version, story.assignments)
        tables["story_merges"].pop(night, None)
        if story.merges.height:
            tables["story_merges"][night] = self.store.write_file("story_merges", night, version, story.merges)
        tables["sentences"].pop(night, None)
        sentences = self._sentence_rows()
        if sentences is not None and sentences.height:
            tables["sentences"][night] = self.store.write_file("sentences", night, version, sentences)
        tables["furniture"].pop(night, None)
        if self._tonight.get("furniture"):
            found = pl.DataFrame(sorted(self._tonight["furniture"], key=lambda pair: (pair[0] or "", pair[1])),
                                 schema={"outlet": pl.String, "key": pl.String}, orient="row")
            tables["furniture"][night] = self.store.write_file(
                "furniture", night, version, found.with_columns(night=pl.lit(self.night, dtype=pl.Date)),
                tag=f".min{self.config.align.furniture_min_stories}")
        pruned = self._prune(tables, version)
        checkpoint("files_written")
        manifest = Manifest(version=version, parent=self.base.version if self.base else None, night=night,
                            fingerprint=fingerprint(self.params), parameters=self.params,
                            dedup_version=__version__, tables=tables,
                            counts={"nights": len(tables["articles"]), "articles_tonight": articles_tonight,
                                    "pruned_nights": pruned + (self.base.counts.get("pruned_nights", 0)
                                                               if self.base else 0)})
        self.store.commit(manifest)
        checkpoint("committed")
        self.store.vacuum(self.keep_versions)
        checkpoint("vacuumed")
        return manifest

    def _write_articles(self) -> tuple[str, int]:
        """Write tonight's articles file (texts, shingles, band keys); its path and rows (may run on a thread)."""
        tonight = self._tonight
        arts, sh = tonight["articles"], tonight["shingles"]
        first_seen = self._known.select("article_id", "first_seen_night")
        frame = (arts.select("article_id", "outlet", "title", "text", "published", "url")
                 .with_columns(night=pl.lit(self.night, dtype=pl.Date),
                               n_tokens=sh["n_tokens"], n_boilerplate=sh["n_boilerplate"],
                               shingles=sh["shingles"], bands=tonight["bands"])
                 .join(first_seen, on="article_id", how="left")
                 .with_columns(pl.col("first_seen_night").fill_null(pl.col("night")))
                 .sort("article_id"))
        return self.store.write_file("articles", self.night.isoformat(), self._version, frame), frame.height

    def _prune(self, tables: dict[str, dict[str, str]], version: int) -> int:
        """Rewrite nights past the retention without texts, shingles and band keys; drop their sentences
        and furniture."""
        limit = (self.night - self.retention).isoformat()
        for table in ("sentences", "furniture"):
            for night in [n for n in tables[table] if n < limit]:
                del tables[table][night]
        files = tables["articles"]
        pruned = 0
        for night, rel in sorted(files.items()):
            if night >= limit or rel.endswith(f"{PRUNED_TAG}.parquet"):
                continue
            frame = pl.read_parquet(self.store.root / rel, glob=False).with_columns(
                text=pl.lit(None, dtype=pl.String), shingles=pl.lit(None, dtype=pl.List(pl.UInt32)),
                bands=pl.lit(None, dtype=pl.List(pl.UInt64)))
            files[night] = self.store.write_file("articles", night, version, frame, tag=PRUNED_TAG)
            pruned += 1
        return pruned
