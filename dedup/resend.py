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
from datetime import timedelta

import polars as pl
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from dedup.config import ClusterConfig
from dedup.schema import CANDIDATES

_MARKER = r"(?:CORRECTED|CORRECTION|CORRECTS|REPEAT|RPT|REFILE|REFILED|RECASTS?|UPDATED?(?:\s*\d+)?)\b"
# A marker leads the headline followed by a dash or colon ("RPT - ", "UPDATE 2-", "<CORRECTED> - "),
# or stands in parentheses or square brackets at either end ("(CORRECTED)-", "... (RPT)"). Headlines
# where the word is part of the sentence ("BAKER REPEATS HE HOPES...", "UPDATE ON TALKS") and tickers
# ("MOODY'S DOWNGRADES REPUBLICBANK <RPT>") are not marked.
_DASH = r"[-:\u2013\u2014]"
RESEND_MARK = re.compile(
    rf"^\s*(?:[(\[]\s*{_MARKER}\s*[)\]]|(?:<\s*{_MARKER}\s*>|{_MARKER})(?=\s*{_DASH}))[\s\-:\u2013\u2014]*"
    rf"|[\s\-:\u2013\u2014]*[(\[]\s*{_MARKER}\s*[)\]]\s*$",
    re.IGNORECASE)
_WORD = re.compile(r"\w+")
MIN_TITLE_WORDS = 2  # a marked headline with fewer content words cannot identify a story


def is_resend(title: str | None) -> bool:
    """True when the headline carries a re-send marker. Stateless."""
    return bool(title) and RESEND_MARK.search(title) is not None


def title_words(title: str | None) -> list[str]:
    """Content words of the marker-free headline (casefolded, distinct, in order; stop words and
    single characters aside). Stateless."""
    if not title:
        return []
    words = _WORD.findall(RESEND_MARK.sub(" ", title).casefold())
    return list(dict.fromkeys(w for w in words if len(w) > 1 and w not in ENGLISH_STOP_WORDS))


def resend_candidates(articles: pl.DataFrame, *, config: ClusterConfig = ClusterConfig()) -> pl.DataFrame:
    """ARTICLES -> CANDIDATES: marked re-sends paired with the items they may re-send. Stateless.

    ``left``/``right`` are docs (row numbers of ``articles``). Articles with
    no outlet or no ``published`` are never paired (nothing says they come
    from the same desk within days). Empty when ``resend_max_days`` is 0.
    """
    empty = pl.DataFrame(schema=CANDIDATES)
    if config.resend_max_days <= 0 or articles.height == 0:
        return empty
    titles = articles["title"].to_list()
    marked = [d for d, t in enumerate(titles) if is_resend(t)]
    if not marked:
        return empty
    dated = pl.DataFrame({
        "doc": pl.Series(range(articles.height), dtype=pl.UInt32),
        "outlet": articles["outlet"].str.to_lowercase(),
        "published": articles["published"],
        "title": articles["title"],
    }).filter(pl.col("outlet").is_not_null() & pl.col("published").is_not_null())
    # Only the outlets that re-sent something are read further.
    outlets = dated.filter(pl.col("doc").is_in(marked))["outlet"].unique()
    dated = dated.filter(pl.col("outlet").is_in(outlets.implode()))
    words = dated.select("doc", "outlet", "published",
                         word=pl.Series([title_words(t) for t in dated["title"].to_list()],
                                        dtype=pl.List(pl.String)))
    need = words.filter(pl.col("doc").is_in(marked)).with_columns(n=pl.col("word").list.len())
    need = need.filter(pl.col("n") >= MIN_TITLE_WORDS).explode("word")
    pairs = (need.join(words.explode("word"), on=["outlet", "word"], suffix="_other")
             .filter((pl.col("doc_other") != pl.col("doc"))
                     & (pl.col("published_other") <= pl.col("published"))
                     & (pl.col("published_other") >= pl.col("published")
                        - timedelta(days=config.resend_max_days)))
             .group_by("doc", "doc_other", "n").agg(shared=pl.len())
             .filter(pl.col("shared") >= config.resend_min_title * pl.col("n")))
    return (pairs.select(left=pl.min_horizontal("doc", "doc_other"), right=pl.max_horizontal("doc", "doc_other"))
            .unique().sort("left", "right").cast(dict(CANDIDATES)))
