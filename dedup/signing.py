"""Shingle, strip each outlet's boilerplate and sign a night's articles, in batches of bounded memory.

:func:`sign_articles` is the stage :mod:`dedup.pipeline` runs between reading and LSH: the articles
visited outlet by outlet, so that each outlet's boilerplate counts (:mod:`dedup.boilerplate`) are
complete when its articles are stripped and signed; :func:`resent_rows` marks an outlet's re-sends of
an item, which count once. With a nightly state, an outlet with few texts tonight also counts its
stored texts of the window (:meth:`dedup.state.NightlyState.window_texts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import polars as pl

from dedup.boilerplate import (
    MoreCounts,
    count_keys,
    first_copies,
    merge_keys,
    outlet_codes,
    remove_boilerplate,
    strip_keys,
    text_keys,
)
from dedup.config import Config
from dedup.minhash import sign_flat
from dedup.minhash import signatures as minhash_signatures
from dedup.progress import bar
from dedup.resend import proposers, resend_candidates, resend_followers, with_own_texts
from dedup.schema import flat_lists, signatures_schema
from dedup.shingle import shingle

if TYPE_CHECKING:
    from dedup.pipeline import Timer


BATCH_ARTICLES = 50_000  # articles shingled and signed at once: bounds the memory of the shingle stages


@dataclass
class _Piece:
    """Articles (``rows`` of ARTICLES) shingled in one batch, kept until their outlet's counts are complete."""

    rows: np.ndarray
    shingles: pl.DataFrame | None   # SHINGLES with ``sequence``; None once dropped to bound memory


#: outlet -> distinct texts tonight => stored texts counted for the outlets' boilerplate (``outlet``, ``shingles``;
#: with ``article_id``, ``title``, ``published``, their re-sends count once):
#: :meth:`dedup.state.NightlyState.window_texts`.
WindowTexts = Callable[[dict[str, int]], pl.DataFrame]


def sign_articles(articles: pl.DataFrame, config: Config, timer: Timer, resent: Resent | None = None,
                  window: WindowTexts | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ARTICLES -> (SHINGLES without boilerplate, SIGNATURES), in batches of ``BATCH_ARTICLES``.

    Whether a shingle is boilerplate depends on counts over all of its
    outlet's articles. So the articles are visited in outlet order (those
    without an outlet last): when a batch is counted, every outlet in it but
    the one it ends with is complete, and its articles are stripped of
    boilerplate and signed right away, from the shingles just made. Only the
    articles of the outlet that goes on into the next batch wait, with their
    shingles, for their outlet's last batch; when more than a batch of them
    wait, the oldest drop their shingles and are shingled again when their
    turn comes, so memory stays bounded whatever the outlets' sizes. Only the
    counts of that one outlet are carried from batch to batch, as integer keys
    (:func:`dedup.boilerplate.count_keys`), with the keys of the texts it
    has counted (an outlet's copies of one text count once, in whichever
    batches they fall: :func:`dedup.boilerplate.first_copies`; nor do the
    texts of the rows ``resent`` marks, an outlet's re-sends of an item: see
    :func:`resent_rows`). The frames come back in article order, equal to
    shingling, stripping and signing the whole corpus at once.

    ``window`` (a state run: :meth:`dedup.state.NightlyState.window_texts`)
    gives, from the number of distinct texts each outlet has tonight, the
    stored texts of the window that count for its boilerplate too (an outlet
    with a few articles a night has its footer found over the window, as in a
    run over the window's articles). They are counted, not stripped, with
    their outlet's counts once these are complete: in the batch that ends the
    outlet, so once whatever the batches. An item and its re-sends among
    them and tonight's articles count once (:func:`_stored_resends`).
    """
    n = articles.height
    min_run, min_docs = config.cluster.boilerplate_min_run, config.cluster.boilerplate_min_docs
    if n <= BATCH_ARTICLES:
        sh = timer.run("shingle", shingle, articles, config=config.shingle)
        sh = timer.run("boilerplate", remove_boilerplate, sh, articles["outlet"], min_docs=min_docs,
                       min_run=min_run, resent=None if resent is None else resent.rows,
                       more_counts=None if window is None else _window_counter(window, resent, articles, config))
        return sh, timer.run("minhash", minhash_signatures, sh, config=config.minhash)
    codes, names = outlet_codes(articles["outlet"])
    order = np.argsort(np.where(codes >= 0, codes, np.iinfo(np.int64).max), kind="stable") if min_docs \
        else np.arange(n)
    matrix = np.empty((n, config.minhash.num_perm), dtype=np.uint32)   # the signatures, filled by article
    done: list[tuple[np.ndarray, pl.DataFrame]] = []                    # articles and their stripped SHINGLES

    def keep(rows: np.ndarray, stripped: pl.DataFrame) -> None:
        values, offsets = flat_lists(stripped["shingles"])
        matrix[rows] = timer.piece("minhash", sign_flat, values, offsets, num_perm=config.minhash.num_perm,
                                   seed=config.minhash.seed)
        done.append((rows, stripped))

    waiting: list[_Piece] = []
    carry = None
    seen = (-1, np.empty(0, np.uint64))   # the going outlet's text keys counted in earlier batches
    # the texts of the re-sends, which count nowhere: known before any batch is counted
    resent_texts = None if resent is None else (codes[resent.rows], resent.keys)

    def count(sh: pl.DataFrame, rows: np.ndarray, carried: int, going: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The batch's counts over each outlet's distinct texts, with the window's texts of the outlets the
        batch ends (its own and the one ``carried`` from the last batch, but ``going``); the rows' text keys
        and which rows counted."""
        texts, batch_codes = text_keys(sh), codes[rows]
        first = first_copies(batch_codes, texts, seen, resent_texts=resent_texts)
        counted = count_keys(sh, np.where(first, batch_codes, -1))
        if window is not None:
            outlets = np.concatenate([batch_codes, [carried]])
            ends = np.unique(outlets[(outlets >= 0) & (outlets != going)])
            mine = first & np.isin(batch_codes, ends)
            earlier = seen[1] if carried in ends else np.empty(0, np.uint64)   # its texts of earlier batches
            stored = _window_counts(window, names, ends,
                                    np.concatenate([batch_codes[mine], np.full(len(earlier), carried)]),
                                    np.concatenate([texts[mine], earlier]), resent_texts, (articles, codes, config))
            if stored is not None:
                counted = merge_keys(counted, stored)
        return *counted, texts, first

    going = -1
    with bar(timer.progress, "sign", total=n) as advance:
        for lo in range(0, n, BATCH_ARTICLES):
            rows = order[lo:lo + BATCH_ARTICLES]
            sh = timer.piece("shingle", shingle, articles[rows], config=config.shingle)
            carried, going = going, -1   # the outlet the last batch carried into this one; the one going on
            frequent = np.empty(0, np.uint64)
            if min_docs:
                if lo + BATCH_ARTICLES < n and codes[rows[-1]] >= 0:
                    going = int(codes[rows[-1]])
                keys, docs, texts, first = timer.piece("boilerplate", count, sh, rows, carried, going)
                if carry is not None:
                    keys, docs = merge_keys(carry, (keys, docs))
                carry = None
                if going >= 0:
                    on = (keys >> np.uint64(32)) == np.uint64(going)
                    carry = keys[on], docs[on]
                    keys, docs = keys[~on], docs[~on]
                    counted = texts[first & (codes[rows] == going)]
                    seen = (going, np.concatenate([seen[1], counted]) if seen[0] == going else counted)
                    del on, counted
                del texts, first
                frequent = keys[docs >= min_docs]
                del keys, docs   # a batch's counts (~200 MB for 50,000 articles): not held into the next batch
            stays = codes[rows] == going if going >= 0 else np.zeros(len(rows), dtype=bool)
            if stays.any():
                waiting.append(_Piece(rows[stays], sh if stays.all() else sh.filter(pl.Series(stays))))
            if not stays.all():   # the staying articles' rows are stripped as articles without outlet, then left out
                stripped = timer.piece("boilerplate", strip_keys, sh, np.where(stays, -1, codes[rows]), frequent,
                                       min_run)
                keep(rows[~stays], stripped.filter(pl.Series(~stays)) if stays.any() else stripped)
            del sh
            complete = [p for p in waiting if codes[p.rows[0]] != going]
            waiting = [p for p in waiting if codes[p.rows[0]] == going]
            while sum(len(p.rows) for p in waiting if p.shingles is not None) > BATCH_ARTICLES:
                next(p for p in waiting if p.shingles is not None).shingles = None
            for piece in complete:
                sh = piece.shingles if piece.shingles is not None else \
                    timer.piece("shingle", shingle, articles[piece.rows], config=config.shingle)
                piece.shingles = None
                keep(piece.rows, timer.piece("boilerplate", strip_keys, sh, codes[piece.rows], frequent, min_run))
                del sh
            advance(len(rows))
        shingles = timer.piece("minhash", _in_article_order, done, n)
    timer.report("shingle", "boilerplate", "minhash")
    return shingles, pl.DataFrame({
        "doc": shingles["doc"],
        "signature": pl.Series(matrix, dtype=pl.Array(pl.UInt32, config.minhash.num_perm)),   # no copy
    }, schema=signatures_schema(config.minhash.num_perm))


def _window_counter(window: WindowTexts, resent: Resent | None, articles: pl.DataFrame, config: Config
                    ) -> MoreCounts:
    """The ``more_counts`` of :func:`~dedup.boilerplate.remove_boilerplate` for a state run's articles in one
    batch: the window's stored texts of every outlet of the batch (see :func:`sign_articles`)."""
    def more_counts(codes: np.ndarray, names: list[str], first: np.ndarray, texts: np.ndarray):
        resent_texts = None if resent is None else (codes[resent.rows], resent.keys)
        return _window_counts(window, names, np.unique(codes[codes >= 0]), codes[first], texts[first], resent_texts,
                              (articles, codes, config))
    return more_counts


#: Tonight's ARTICLES, their outlet codes (:func:`~dedup.boilerplate.outlet_codes`) and the config: what the
#: re-send rule reads of tonight's articles for the window's texts (:func:`_stored_resends`).
_Tonight = tuple[pl.DataFrame, np.ndarray, Config]


def _window_counts(window: WindowTexts, names: list[str], ends: np.ndarray, codes: np.ndarray, texts: np.ndarray,
                   resent_texts: tuple[np.ndarray, np.ndarray] | None, tonight_articles: _Tonight
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """The :func:`~dedup.boilerplate.count_keys` of the stored texts ``window`` gives for the outlets ``ends``
    (codes), whose distinct texts tonight are (``codes``, ``texts``): outlet code and text key of each; None
    if it gives none (a batch's counts are not copied for nothing). A stored text that is one of those, or a
    re-send's (``resent_texts``), is not counted again; nor is one that re-sends an item counted already, or
    that tonight re-sends (:func:`_stored_resends`)."""
    tonight = np.bincount(codes, minlength=len(names))
    stored = window({names[c]: int(tonight[c]) for c in ends.tolist()})
    if not stored.height:
        return None
    at = {names[c]: c for c in ends.tolist()}
    stored_codes = np.array([at[o] for o in stored["outlet"].to_list()], dtype=np.int64)
    stored_texts = text_keys(stored)
    if resent_texts is not None:
        codes, texts = np.concatenate([codes, resent_texts[0]]), np.concatenate([texts, resent_texts[1]])
    first = first_copies(stored_codes, stored_texts, resent_texts=(codes, texts))
    first &= ~_stored_resends(stored, stored_codes, stored_texts, resent_texts, *tonight_articles)
    return count_keys(stored, np.where(first, stored_codes, -1))


def _stored_resends(stored: pl.DataFrame, stored_codes: np.ndarray, stored_texts: np.ndarray,
                    resent_texts: tuple[np.ndarray, np.ndarray] | None, articles: pl.DataFrame,
                    codes: np.ndarray, config: Config) -> np.ndarray:
    """Which of the window's ``stored`` texts (their outlet codes and text keys) are an outlet's re-sends of an
    item that counts already: the re-send rule of a run over tonight's articles and those stored texts.

    The pairs of :func:`dedup.resend.resend_candidates` over tonight's articles of the stored texts' outlets
    (``articles``, outlet ``codes``) and the stored texts (their ``article_id``, ``title``, ``published``;
    none without these columns) are chained as :func:`resent_rows` chains tonight's
    (:func:`dedup.resend.resend_followers`, tonight's texts shingled as read, the stored ones as the window
    gives them). A chain counts once: in a text of tonight's that counts tonight (not a re-send's,
    ``resent_texts``) if it has one, as tonight's texts are counted already; else in its stored text of the
    smallest article id, as in a run over those articles. Its other stored texts are re-sends. So an item
    sent on one night and updated on the next ones is one text, not one a night.
    """
    resends = np.zeros(stored.height, dtype=bool)
    if not {"article_id", "title", "published"} <= set(stored.columns):
        return resends
    mine = np.flatnonzero(np.isin(codes, np.unique(stored_codes)))
    columns = ("article_id", "title", "published")
    # each outlet paired within itself, under its code: its name as written is the boilerplate's outlet
    both = pl.concat([articles[mine].select(columns), stored.select(columns)]).with_columns(
        outlet=pl.Series(np.concatenate([codes[mine], stored_codes])).cast(pl.String))
    pairs = resend_candidates(both, config=config.cluster)
    if not pairs.height:
        return resends
    n = len(mine)
    left, right = pairs["left"].to_list(), pairs["right"].to_list()
    docs = np.unique(np.concatenate([left, right]))
    ours = shingle(articles[mine[docs[docs < n]]], config=config.shingle)
    sets = dict(zip(docs[docs < n].tolist(), (np.asarray(s, dtype=np.uint32) for s in ours["shingles"])))
    sets.update((d, np.asarray(stored["shingles"][d - n], dtype=np.uint32)) for d in docs[docs >= n].tolist())
    text_of = dict(zip(docs[docs < n].tolist(), zip(codes[mine[docs[docs < n]]].tolist(), text_keys(ours).tolist())))
    text_of.update((d, (int(stored_codes[d - n]), int(stored_texts[d - n]))) for d in docs[docs >= n].tolist())
    resent = set() if resent_texts is None else set(zip(resent_texts[0].tolist(), resent_texts[1].tolist()))
    # the text that leads a chain (counts): one of tonight's that counts, else the stored one of the smallest id
    ids = both["article_id"].to_list()
    rank = {d: f"{'1' if d >= n else '2' if text_of[d] in resent else '0'}{ids[d]}" for d in docs.tolist()}
    titles, published = both["title"].to_list(), both["published"].to_list()
    followers = resend_followers(left, right, [sets[d] for d in left], [sets[d] for d in right], rank,
                                 config=config.cluster, proposers=proposers(left, right, titles, published))
    followers = with_own_texts(followers, text_of)
    resends[[d - n for d in followers if d >= n]] = True
    return resends


def _in_article_order(done: list[tuple[np.ndarray, pl.DataFrame]], n: int) -> pl.DataFrame:
    """The pieces' SHINGLES as one frame in article order, ``doc`` = row number (empties ``done``)."""
    rows = np.concatenate([r for r, _ in done])
    assert np.array_equal(np.sort(rows), np.arange(n)), "every article is signed once"
    place = np.empty(n, dtype=np.int64)
    place[rows] = np.arange(len(rows))
    shingles = pl.concat([s for _, s in done]).drop("doc")
    done.clear()
    doc = pl.Series("doc", np.arange(n, dtype=np.uint32))
    return shingles.select(pl.all().gather(place)).insert_column(0, doc)


class Resent(NamedTuple):
    """An outlet's re-sends of an item (:func:`resent_rows`), left out of its boilerplate count."""

    rows: np.ndarray   # bool, one per article: the re-sends with a text of their own
    keys: np.ndarray   # the :func:`~dedup.boilerplate.text_keys` of the re-sends' texts, in article order


def resent_rows(articles: pl.DataFrame, resends: pl.DataFrame, config: Config) -> Resent | None:
    """Which articles re-send an item of their outlet with a text of their own (:func:`dedup.resend.resend_followers`
    of the re-send pairs ``resends``, their texts shingled as read), for the boilerplate count; None if none.

    A follower with the text of an article of the pairs that re-sends nothing (an unchanged ``RPT-`` of its
    item) is left out (:func:`dedup.resend.with_own_texts`).
    """
    if not resends.height or not config.cluster.boilerplate_min_docs:
        return None
    left, right = resends["left"].to_numpy(), resends["right"].to_numpy()
    docs = np.unique(np.concatenate([left, right]))
    shingled = shingle(articles[docs], config=config.shingle)
    sets = [np.asarray(s, dtype=np.uint32) for s in shingled["shingles"]]
    at = {int(d): k for k, d in enumerate(docs.tolist())}
    ids = dict(zip(docs.tolist(), articles["article_id"].gather(docs).to_list()))
    titles, published = articles["title"].to_list(), articles["published"].to_list()
    followers = resend_followers(left.tolist(), right.tolist(), [sets[at[d]] for d in left.tolist()],
                                 [sets[at[d]] for d in right.tolist()], ids, config=config.cluster,
                                 proposers=proposers(left.tolist(), right.tolist(), titles, published))
    keys, outlets = text_keys(shingled).tolist(), articles["outlet"].gather(docs).to_list()
    followers = with_own_texts(followers, {d: (outlets[at[d]], keys[at[d]]) for d in docs.tolist()})
    if not followers:
        return None
    rows = np.zeros(articles.height, dtype=bool)
    rows[followers] = True
    return Resent(rows, np.array([keys[at[d]] for d in np.flatnonzero(rows).tolist()], dtype=np.uint64))
