"""Re-sends: wire items marked CORRECTED, REPEAT, REFILE, UPDATE n... in the headline (CANDIDATES).

A wire that corrects or repeats an item sends it again under the same
headline with a marker: ``CORRECTED - GM <GM> TO IDLE SIX PLANTS``,
``(RPT) U.S. SAYS TIN DISPOSALS...``, ``UPDATE 2-Oil rises``. The body may be
rewritten (a corrected figure, a corrected role, a reworded lead), so its
shingles can fall below the clustering threshold, and LSH may never propose
the pair. The headline is the desk's own statement that it is the same story.

:func:`resend_candidates` proposes, for every marked article, the earlier
articles **of the same outlet**, published at most ``resend_max_days``
before it, whose headline matches the marker-free headline: at least
``resend_min_title`` of the marked headline's words (stop words aside) are
in the other headline (re-sent headlines are often cut short to make room
for the marker). Verification accepts such a pair at the lower containment
``resend_min_containment`` (:func:`dedup.cluster.verify`), and the chaining
guard keeps a re-send in the cluster of the item it re-sends
(:func:`dedup.cluster.build_clusters`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from datetime import timedelta

import numpy as np
import polars as pl

from dedup.config import ClusterConfig
from dedup.normalize import Unicode14Re, unicode14
from dedup.ragged import ragged
from dedup.schema import CANDIDATES
from dedup.stopwords import english_stop_words

_MARKER = r"(?:CORRECTED|CORRECTION|CORRECTS|REPEAT|RPT|REFILE|REFILED|RECASTS?|UPDATED?(?:\s*\d+)?)\b"
# A marker leads the headline followed by a dash or colon ("RPT - ", "UPDATE 2-", "<CORRECTED> - "),
# or stands in parentheses or square brackets at either end ("(CORRECTED)-", "... (RPT)"). Headlines
# where the word is part of the sentence ("BAKER REPEATS HE HOPES...", "UPDATE ON TALKS") and tickers
# ("MOODY'S DOWNGRADES REPUBLICBANK <RPT>") are not marked.
_DASH = r"[-:\u2013\u2014]"
_RUN = r"[\s\-:\u2013\u2014]"   # what may separate a marker from the headline
_LEADING = rf"^\s*(?:[(\[]\s*{_MARKER}\s*[)\]]|(?:<\s*{_MARKER}\s*>|{_MARKER})(?=\s*{_DASH})){_RUN}*"
_TRAILING = rf"[(\[]\s*{_MARKER}\s*[)\]]\s*$"
# The run before a trailing marker is matched from its first character only (the look-behind): tried at
# every character of a long run of blanks or dashes, Python's backtracking engine would take the square of
# its length (minutes for a scraped headline padded with 200,000 blanks). The matches are the same: a
# match that starts inside a run also matches from the run's first character, which comes first.
# Digits are Unicode 14.0's on every Python (Unicode14Re), and so are words: \w+.
RESEND_MARK = Unicode14Re(rf"{_LEADING}|(?:(?<!{_RUN}){_RUN}+)?{_TRAILING}".replace(r"\d", "[{d}]"), re.IGNORECASE)
_WORD = Unicode14Re("[{w}]+")
MIN_TITLE_WORDS = 2  # a marked headline with fewer content words cannot identify a story
# Bounds on one marked headline's work (resend_candidates). An item's own earlier versions come first on
# both counts (its words, sent within hours); the bounds only cut when one outlet's headlines share a
# template, where the rest would be an outlet's other items anyway.
MAX_CARRIERS = 32    # per word of it: the latest headlines of its outlet carrying the word
MAX_PARTNERS = 8     # the items kept: the most words shared, then the latest

# The same marker for polars' (Rust) regex engine, which has no look-ahead: the dash after a leading
# marker is matched instead of looked at, and the substitution removes it either way. Applied only
# to printable-ASCII headlines, where both engines agree on \w, \s, \b, case folding and ``$``;
# other headlines go through the Python functions. A million headlines in seconds, not a minute.
# It has no look-behind either, nor needs it: the Rust engine is linear in the headline.
_MARK_RUST = "(?i)" + rf"{_LEADING}|{_RUN}*{_TRAILING}".replace(rf"(?=\s*{_DASH})", rf"\s*{_DASH}")
_PRINTABLE_ASCII = r"^[\x20-\x7e]*$"
ENGLISH_STOP_WORDS = english_stop_words()
_STOP_WORDS = sorted(ENGLISH_STOP_WORDS)


def is_resend(title: str | None) -> bool:
    """True when the headline carries a re-send marker. Stateless."""
    return bool(title) and RESEND_MARK.search(title) is not None


def title_words(title: str | None) -> list[str]:
    """Content words of the marker-free headline (casefolded, distinct, in order; stop words and
    single characters aside). Stateless."""
    if not title:
        return []
    words = _WORD.findall(unicode14(str.casefold, RESEND_MARK.sub(" ", title)))
    return list(dict.fromkeys(w for w in words if len(w) > 1 and w not in ENGLISH_STOP_WORDS))


def resend_candidates(articles: pl.DataFrame, *, config: ClusterConfig = ClusterConfig()) -> pl.DataFrame:
    """ARTICLES -> CANDIDATES: marked re-sends paired with the items they may re-send. Stateless.

    ``left``/``right`` are docs (row numbers of ``articles``). Articles with
    no outlet or no ``published`` are never paired (nothing says they come
    from the same desk within days). Empty when ``resend_max_days`` is 0.

    The work is bounded per marked headline, not per pair of an outlet's
    headlines: each of its words proposes the :data:`MAX_CARRIERS` latest
    headlines of its outlet that carry it within the window (every headline
    of the window that carries a word of its own, such as a company's name),
    and the marked article keeps the :data:`MAX_PARTNERS` proposed items
    whose headlines share the most words with it, the latest first. A desk
    that sends thousands of items on one headline template ("UPDATE
    1-BRIEF-<Co> says quarterly profit rises") would otherwise pair each
    with all the others.
    """
    empty = pl.DataFrame(schema=CANDIDATES)
    if config.resend_max_days <= 0 or articles.height == 0:
        return empty
    titles = pl.DataFrame({"doc": pl.Series(range(articles.height), dtype=pl.UInt32), "title": articles["title"]})
    marked = _marked(titles)
    if not marked.len():
        return empty
    dated = titles.with_columns(outlet=articles["outlet"].str.to_lowercase(), published=articles["published"]
                                ).filter(pl.col("outlet").is_not_null() & pl.col("published").is_not_null())
    # Only the outlets that re-sent something are read further.
    outlets = dated.filter(pl.col("doc").is_in(marked.implode()))["outlet"].unique()
    dated = dated.filter(pl.col("outlet").is_in(outlets.implode()))
    # Every (outlet, word)'s headlines in time order, numbered by a key that sorts like (outlet, word, time).
    words = (dated.select("doc", "outlet", "published").join(_title_words(dated), on="doc")
             .with_columns(time=pl.col("published").dt.epoch("us"))
             .sort("outlet", "word", "time", "doc")
             .with_columns(group=((pl.col("outlet") != pl.col("outlet").shift())
                                  | (pl.col("word") != pl.col("word").shift())).fill_null(True).cum_sum(),
                           n=pl.len().over("doc")))
    need = np.flatnonzero(words.select(pl.col("doc").is_in(marked.implode()) & (pl.col("n") >= MIN_TITLE_WORDS))
                          .to_series().to_numpy())
    if not len(need):
        return empty
    doc, time, group = (words[c].to_numpy().astype(np.int64) for c in ("doc", "time", "group"))
    since = time[need] - timedelta(days=config.resend_max_days) // timedelta(microseconds=1)
    moments = np.unique(np.concatenate([time, since]))
    key = group * (len(moments) + 1) + np.searchsorted(moments, time)
    # the headlines of the marked one's outlet and word published in [since, its time]: rows first:last
    last = np.searchsorted(key, key[need], side="right")
    first = np.maximum(np.searchsorted(key, group[need] * (len(moments) + 1) + np.searchsorted(moments, since)),
                       last - MAX_CARRIERS - 1)   # + 1: the marked headline is one of them
    width = last - first
    at = ragged(first, width)
    # each pair found counts all its shared words, not only those it was found by
    found = (pl.DataFrame({"doc": np.repeat(doc[need], width), "doc_other": doc[at]})
             .filter(pl.col("doc_other") != pl.col("doc")).unique().cast(pl.UInt32))
    pairs = (found.join(words.select("doc", "word", "n"), on="doc")
             .join(words.select(doc_other="doc", word="word", time_other="time"), on=["doc_other", "word"])
             .group_by("doc", "n", "doc_other", "time_other").agg(shared=pl.len())
             .filter(pl.col("shared") >= config.resend_min_title * pl.col("n"))
             .sort("doc", "shared", "time_other", "doc_other", descending=[False, True, True, False])
             .filter(pl.int_range(pl.len()).over("doc") < MAX_PARTNERS))
    return (pairs.select(left=pl.min_horizontal("doc", "doc_other"), right=pl.max_horizontal("doc", "doc_other"))
            .unique().sort("left", "right").cast(dict(CANDIDATES)))


def resend_followers(left: list[int], right: list[int], left_sets: list[np.ndarray], right_sets: list[np.ndarray],
                     article_ids: dict[int, str], *, config: ClusterConfig = ClusterConfig(),
                     proposers: list[int | None] | None = None) -> list[int]:
    """The docs that re-send another item of their outlet, for the per-outlet boilerplate count. Stateless.

    ``left``/``right``: re-send pairs (:func:`resend_candidates`), with each
    doc's shingle set as read (sorted, distinct; before any boilerplate is
    removed) and its article id. A pair holds when its sets share at least
    ``min_overlap`` shingles and ``threshold`` of the smaller set, the bar of
    any two versions of a story: an update that keeps the item's body, not a
    rewrite (nor a weekly table re-sent under last week's headline, which
    shares the table's formulae). The pairs that hold link a wire's
    item, its updates and corrections into chains; every member of a chain but
    the one with the smallest article id is a follower. An outlet's chain is
    one item sent several times: counted once, its body is not that outlet's
    boilerplate however many updates it sends (counted once each, four
    updates would strip the story from all of them). Sorted docs.

    ``proposers`` (:func:`proposers`): the marked doc that proposed each pair.
    Each marked doc then links only to the item it re-sends most closely (of
    its pairs that hold, the largest share of the smaller set, then the most
    shared shingles, then the smallest doc): an outlet whose short items share
    a long passage (a footer, before boilerplate is known) and a headline
    template would otherwise have one ``RPT-`` chain all its items, and none
    of their texts would count for the passage.
    """
    parent: dict[int, int] = {}

    def root(doc: int) -> int:
        while parent.setdefault(doc, doc) != doc:
            parent[doc] = parent[parent[doc]]
            doc = parent[doc]
        return doc

    best: dict[int, tuple[tuple[float, int, int], int, int]] = {}   # proposer -> its best pair's rank and docs
    for k, (a, b, set_a, set_b) in enumerate(zip(left, right, left_sets, right_sets)):
        overlap = len(np.intersect1d(set_a, set_b, assume_unique=True))
        smaller = min(len(set_a), len(set_b))
        if not (smaller and overlap >= config.min_overlap and overlap >= config.threshold * smaller):
            continue
        by = None if proposers is None else proposers[k]
        if by is None:
            parent[root(a)] = root(b)
            continue
        rank = (-overlap / smaller, -overlap, b if by == a else a)
        if by not in best or rank < best[by][0]:
            best[by] = (rank, a, b)
    for _, a, b in best.values():
        parent[root(a)] = root(b)
    chains: dict[int, list[int]] = {}
    for doc in list(parent):
        chains.setdefault(root(doc), []).append(doc)
    return sorted(doc for members in chains.values() if len(members) > 1
                  for doc in members if doc != min(members, key=lambda d: article_ids[d]))


def with_own_texts(followers: list[int], text_of: Mapping[int, Hashable]) -> list[int]:
    """The ``followers`` whose text is not that of a doc of the pairs that re-sends nothing. Stateless.

    ``text_of``: every doc of the re-send pairs -> its outlet and text (anything equal for equal texts).
    A follower with its item's very text (an unchanged ``RPT-``) is a copy of that text, which counts once
    for the outlet's boilerplate as any copy does; left among the re-sends, whose texts never count, it
    would take the item's own text out of the count (the item would count zero times).
    """
    leading = {text_of[d] for d in set(text_of) - set(followers)}
    return [d for d in followers if text_of[d] not in leading]


def proposers(left: list[int], right: list[int], titles: Sequence[str | None] | Mapping[int, str | None],
              published: Sequence | Mapping) -> list[int | None]:
    """The doc of each re-send pair that proposed it (:func:`resend_candidates`): the marked one published
    no earlier than the other (the later doc of two such); None if neither is (``titles``, ``published``:
    of every doc). Stateless."""
    out: list[int | None] = []
    for a, b in zip(left, right):
        can = [d for d, other in ((a, b), (b, a)) if is_resend(titles[d])
               and published[d] is not None and published[other] is not None and published[other] <= published[d]]
        out.append(max(can, key=lambda d: (published[d], d)) if can else None)
    return out


def _marked(titles: pl.DataFrame) -> pl.Series:
    """The ``doc`` of every marked headline (:func:`is_resend`), in doc order."""
    plain = pl.col("title").str.contains(_PRINTABLE_ASCII)
    fast = titles.filter(plain & pl.col("title").str.contains(_MARK_RUST))["doc"]
    other = titles.filter(~plain)
    slow = [d for d, t in zip(other["doc"].to_list(), other["title"].to_list()) if is_resend(t)]
    return pl.concat([fast, pl.Series("doc", slow, dtype=pl.UInt32)]).sort()


def _title_words(titles: pl.DataFrame) -> pl.DataFrame:
    """``doc``, ``word``: each headline's distinct :func:`title_words` (one row each, in no set order)."""
    plain = pl.col("title").str.contains(_PRINTABLE_ASCII)
    fast = (titles.filter(plain)
            .select("doc", word=pl.col("title").str.replace_all(_MARK_RUST, " ").str.to_lowercase()
                    .str.extract_all(r"\w+"))
            .explode("word")
            .filter((pl.col("word").str.len_bytes() > 1) & ~pl.col("word").is_in(_STOP_WORDS))
            .unique(maintain_order=True))
    other = titles.filter(~plain & pl.col("title").is_not_null())
    slow = pl.DataFrame([(d, w) for d, t in zip(other["doc"].to_list(), other["title"].to_list())
                         for w in title_words(t)], schema={"doc": pl.UInt32, "word": pl.String}, orient="row")
    return pl.concat([fast, slow])
