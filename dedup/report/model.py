"""Turn a run's frames into the plain data the editors' report shows.

Formatting only, no scoring: every number is read from the frames or is a
simple summary of them (counts, shares). Untrusted strings (titles, outlets,
URLs, sentence text) are made *encodable* here (lone surrogates and control
characters become U+FFFD) and URLs are kept only when they are plain http(s);
story and article ids join and group the frames as the tables have them
(cleaning could make two ids one) and are cleaned as they are shown;
escaping for HTML happens later, in the template and in the browser
(``textContent``). All functions are stateless.

The story detail sent to the browser is compact. For each story::

    {"c": [[family_id, text], ...],          # canonical sentences, in order
     "a": [{"id", "o": outlet index, "h": title, "u": url or null, "t": time,
            "k": 1 if canonical else 0, "s": similarity,
            "r": [entry, ...] or null (see below),
            "n": [kept, edited, added, dropped] or null}, ...],
     "l": [[from article index, to article index, sentences, [family_id, ...]], ...]}

``r`` lists an article's sentences in its own order, with the canonical
sentences it dropped merged in where they stood: each after the article's
sentence holding the nearest canonical sentence before it, as ``dedup diff``
prints them (:func:`dedup.report.entries.dropped_after`). An entry is

* ``k`` (an int >= 0): canonical sentence ``k`` kept as is;
* ``["k", k, text]``: canonical sentence ``k`` kept, spelled ``text`` by this
  article (it differs only as ``kept`` allows: case, quotes, spacing...);
* ``-k - 1`` (an int < 0): canonical sentence ``k`` dropped;
* ``["a", family_id, text]``: a sentence the canonical lacks (added);
* ``["e", k, ops]``: canonical sentence ``k`` edited. ``ops`` replay the word
  diff against the canonical text: an int ``n > 0`` keeps its next ``n``
  characters (UTF-16 code units, as JavaScript counts), ``-n`` deletes
  them, a string is inserted. When the diff does not spell the canonical
  sentence exactly, the entry is ``["E", k, [[op, text], ...]]`` instead.
  An article's sentence that merges canonical sentences ``k`` and the next
  one, ``m``, is ``["e", k, ops, m]`` (or ``["E", k, ops, m]``): its ops spell
  the two canonical texts joined by a space, and ``m`` is merged, not absent.
  The halves of a split canonical sentence are entries of the same ``k``.

``n`` counts the canonical's sentences, each once, by what the article did with
it (a split one is edited once, a merged one edited as the sentence it is merged
into), so kept + edited + dropped is the canonical's sentence count; added counts
the article's sentences the canonical lacks (:func:`dedup.report.entries._per_article`).

The canonical article itself is ``[0, 1, 2, ...]``. ``l`` are the provenance
links: article *to* shares added material first carried by article *from*.
The encoding keeps a 20,000-article report small enough to open fast, and a
story not among those that fit in the report's cap (``max_articles``) has ``null`` for its detail:
the page then shows its overview row and its outlets only.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from dedup.report.entries import Alignment
from dedup.report.frames import CONTROL, check_columns, cleaned

UNKNOWN_OUTLET = "(unknown outlet)"
UNTITLED = "(untitled)"
MAX_REJECT_EXAMPLES = 5

_CONTROL_RE = re.compile(CONTROL)
_HTTP_URL = re.compile(r"(?i)https?://[^\s\x00-\x1f\x7f-\x9f]+")

_CLUSTER_COLUMNS = ("article_id", "outlet", "title", "published", "url", "cluster_id", "is_canonical")
_LINK_COLUMNS = ("cluster_id", "family_id", "first_article_id", "article_id", "n_sentences")


def clean(value: Any) -> str | None:
    """``value`` as a string that encodes to UTF-8 and holds no control characters (tab/newline kept)."""
    if value is None:
        return None
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from json.loads('"\\ud800"')
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROL_RE.sub("\ufffd", text)


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL with a host and no whitespace, else None.

    Anything else (``javascript:``, ``data:``, relative or obfuscated URLs) is
    shown as text, never as a link.
    """
    if not url or len(url) > 4096 or not _HTTP_URL.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and host else None


def format_time(value: datetime | None) -> str:
    return year_first(value, "-%m-%d %H:%M UTC") if value is not None else ""


def year_first(value: datetime, rest: str) -> str:
    """``value``'s year as four digits, then ``value.strftime(rest)``: glibc's ``%Y`` does not pad years
    1-999 ("202-11-27"), which then also sort after "2026-..." as text."""
    return f"{value.year:04d}{value.strftime(rest)}"


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> pl.DataFrame:
    check_columns(frame, columns, name)
    return cleaned(frame.select(columns))


def _articles(clusters: pl.DataFrame) -> pl.DataFrame:
    """Articles of multi-article clusters, canonical first, then by time, outlet and id."""
    frame = _require(clusters, _CLUSTER_COLUMNS, "clusters")
    extra = [c for c in ("n_outlets", "similarity") if c in clusters.columns]
    frame = frame.with_columns(clusters.select(extra)) if extra else frame
    return (frame.filter(pl.len().over("cluster_id") > 1)
            .sort(["cluster_id", "is_canonical", "published", "outlet", "article_id"],
                  descending=[False, True, False, False, False], nulls_last=True))


def build_model(clusters: pl.DataFrame, sentences: pl.DataFrame | pl.LazyFrame | None,
                links: pl.DataFrame | None, *, max_articles: int = 0) -> dict[str, Any]:
    """The overview rows and story details, ranked by number of outlets.

    Every story gets an overview row. Down the ranking, a story gets a detail
    when it fits in what is left of ``max_articles`` articles in all (every
    story when it is 0; a bigger one is passed over); the others get None.
    Linear in the number of articles and sentences: the per-sentence work
    (which text stands for each canonical sentence, where each sentence sits
    in it, the counts and word-diff checks) is done by polars over whole
    columns, on narrow columns for the stories without detail; Python only
    assembles one row per story and each detailed article's entry list.
    """
    with _gc_paused():
        return _build_model(clusters, sentences, links, max_articles)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while the model's million small lists are built.

    They hold no reference cycles, yet every few hundred allocations the
    collector would walk them all again: ~40 % of the build at 15,000
    articles. The previous setting is restored on the way out.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_model(clusters: pl.DataFrame, sentences: pl.DataFrame | pl.LazyFrame | None,
                 links: pl.DataFrame | None, max_articles: int) -> dict[str, Any]:
    articles = _articles(clusters)
    aligned = None if sentences is None else Alignment(sentences, articles)
    outlet_names = sorted(articles["outlet"].fill_null(UNKNOWN_OUTLET).unique().to_list(),
                          key=lambda o: (o.casefold(), o))
    outlet_index = {name: i for i, name in enumerate(outlet_names)}
    stories = _overviews(articles, outlet_index, aligned.shares(articles) if aligned else {})
    stories.sort(key=lambda s: (-s["n"], -s["a"], s["ts"] == "", s["ts"], s["id"]))
    chosen, total = [], 0
    for story in stories:
        if 0 < max_articles < total + story["a"]:
            continue   # more articles than are left: a smaller story further down may still fit
        total += story["a"]
        chosen.append(story["id"])
    canon, entries = aligned.details(chosen) if aligned else ({}, {})
    by_cluster_links = _group(links, _LINK_COLUMNS, "links", chosen,
                              ["cluster_id", "first_article_id", "article_id", "family_id"])
    details = _details(articles.filter(pl.col("cluster_id").is_in(chosen)), outlet_index, canon, entries,
                       by_cluster_links)
    details = [details.get(s["id"]) for s in stories]
    for story in stories:   # the ids as shown, once they have been used as keys
        story["id"] = clean(story["id"])
    return {"outlets": outlet_names, "stories": stories, "details": details}


def _group(frame: pl.DataFrame | None, columns: tuple[str, ...], name: str, ids: list[str],
           order: list[str]) -> dict[str, list[tuple]]:
    if frame is None:
        return {}
    frame = _require(frame, columns, name).filter(pl.col("cluster_id").is_in(ids))
    rows = frame.sort(order, nulls_last=True).iter_rows()
    return {key: list(group) for key, group in itertools.groupby(rows, key=lambda r: r[0])}


def _overviews(articles: pl.DataFrame, outlet_index: dict[str, int], shares: dict[str, list[float]]
               ) -> list[dict]:
    """Every story's overview row, from one polars aggregation over its articles (canonical first).

    ``shares`` holds, per story, the share of changed sentences of each
    other article with sentence rows, in article order; ``d`` is their mean.
    """
    # clusters.parquet's n_outlets, 0 when no article names its outlet; counted only where it is missing
    n_outlets = pl.col("n_outlets").max() if "n_outlets" in articles.columns else pl.lit(None)
    titled = pl.col("title").is_not_null() & (pl.col("title").str.strip_chars() != "")
    rows = articles.group_by("cluster_id", maintain_order=True).agg(
        pl.col("outlet").fill_null(UNKNOWN_OUTLET).unique(maintain_order=True).alias("outlets"),
        pl.col("title").filter(titled).first().alias("headline"),
        n_outlets.alias("n"), pl.len().alias("a"), pl.col("published").first())
    stories = []
    for (cluster_id, outlets, headline, n, size, published), time in zip(rows.iter_rows(),
                                                                           _format_times(rows["published"])):
        distinct = [outlet_index[o] for o in outlets]
        share = shares.get(cluster_id)
        stories.append({
            "id": cluster_id, "h": headline or UNTITLED, "o": distinct[0], "t": time,
            # sorts as text, to the microsecond: stories a wire sent within one second keep their order
            "ts": year_first(published, "-%m-%dT%H:%M:%S.%f") if published else "",
            "n": len(distinct) if n is None else int(n), "a": size,
            "d": round(sum(share) / len(share), 3) if share else None, "os": distinct,
        })
    return stories


def _details(articles: pl.DataFrame, outlet_index: dict[str, int], canon: dict[str, list[list]],
             entries: dict[str, dict[str, tuple[list, list[int]]]], links: dict[str, list[tuple]]
             ) -> dict[str, dict]:
    """The detail of each story of ``articles`` (sorted as :func:`_articles` sorts them)."""
    columns = {name: articles[name].to_list() for name in ("article_id", "outlet", "title")}
    # the ids as shown (cleaned); the raw ones are the keys
    columns["shown_id"] = articles["article_id"].str.replace_all(CONTROL, "\ufffd").to_list()
    columns["similarity"] = (articles["similarity"].to_list() if "similarity" in articles.columns
                             else [None] * articles.height)
    columns["url"] = _safe_urls(articles["url"])
    columns["time"] = _format_times(articles["published"])
    details, start = {}, 0
    for cluster_id, size in articles.group_by("cluster_id", maintain_order=True).len().iter_rows():
        rows = range(start, start + size)
        start += size
        details[cluster_id] = _detail(rows, columns, outlet_index, canon.get(cluster_id, []),
                                      entries.get(cluster_id, {}), links.get(cluster_id, []))
    return details


def _detail(rows: range, columns: dict[str, list], outlet_index: dict[str, int], canon: list[list],
            entries: dict[str, tuple[list, list[int]]], link_rows: list[tuple]) -> dict:
    """One story's detail; ``rows`` are its articles' indexes into ``columns``, canonical first."""
    first = rows[0]
    article_ids = columns["article_id"][rows.start:rows.stop]
    arts = []
    for i, article_id in zip(rows, article_ids):
        counts = own = None
        if i == first:
            counts = [len(canon), 0, 0, 0] if canon else None
            own = list(range(len(canon))) if canon else None
        elif article_id in entries:
            own, counts = entries[article_id]
        similarity = columns["similarity"][i]
        outlet = columns["outlet"][i]
        arts.append({
            "id": columns["shown_id"][i], "o": outlet_index[outlet if outlet is not None else UNKNOWN_OUTLET],
            "h": columns["title"][i], "u": columns["url"][i], "t": columns["time"][i], "k": int(i == first),
            "s": round(similarity, 3) if similarity is not None and math.isfinite(similarity) else None,
            "r": own, "n": counts,
        })
    return {"c": canon, "a": arts, "l": _links(article_ids, link_rows)}


def _safe_urls(urls: pl.Series) -> list[str | None]:
    """:func:`safe_url` of every value: plain ASCII http(s) URLs are recognised by polars (for those
    ``safe_url`` returns the URL itself), the rest go through ``safe_url``."""
    plain = urls.str.contains(r"^(?i:https?)://[A-Za-z0-9.\-]+(?::[0-9]*)?(?:[/?#][!-~]*)?$").fill_null(False) \
        & (urls.str.len_chars() <= 4096).fill_null(False)
    return [url if ok else safe_url(url) for url, ok in zip(urls.to_list(), plain.to_list())]


def _format_times(published: pl.Series) -> list[str]:
    """:func:`format_time` of every value (polars formats years 1000-9999, Python the rest)."""
    if published.dtype != pl.Datetime or published.is_empty():
        return [format_time(v) for v in published.to_list()]
    formatted = published.dt.strftime("%Y-%m-%d %H:%M UTC").fill_null("").to_list()
    years = published.dt.year()
    if ((years < 1000) | (years > 9999)).any():
        odd = ((years < 1000) | (years > 9999)).fill_null(False).to_list()
        values = published.to_list()
        formatted = [format_time(v) if o else f for f, o, v in zip(formatted, odd, values)]
    return formatted


def _links(article_ids: list[str], link_rows: list[tuple]) -> list[list]:
    index = {article_id: i for i, article_id in enumerate(article_ids)}
    pairs: dict[tuple[int, int], list] = {}
    for _cid, family, first_id, article_id, n_sentences in link_rows:
        if first_id in index and article_id in index and first_id != article_id:
            entry = pairs.setdefault((index[first_id], index[article_id]), [0, set()])
            entry[0] += n_sentences or 0
            if family is not None:
                entry[1].add(family)
    return [[a, b, n, sorted(fams)] for (a, b), (n, fams) in sorted(pairs.items())]


def overview_numbers(summary: dict, clusters: pl.DataFrame, rejects: pl.DataFrame | None) -> dict[str, Any]:
    """The night's numbers: the summary's where it has them, else counted from the frames."""
    sizes = clusters.group_by("cluster_id").len()["len"] if clusters.height else pl.Series([], dtype=pl.UInt32)
    multi = sizes.filter(sizes > 1)
    derived_rejects = (dict(rejects.group_by("reason", maintain_order=True).len().iter_rows())
                       if rejects is not None and rejects.height else {})
    articles = summary.get("articles") if isinstance(summary.get("articles"), dict) else {}
    groups = summary.get("clusters") if isinstance(summary.get("clusters"), dict) else {}
    inputs = summary.get("inputs") if isinstance(summary.get("inputs"), dict) else {}
    by_reason = articles.get("rejected_by_reason")
    by_reason = by_reason if isinstance(by_reason, dict) else derived_rejects
    rejected = _int(articles.get("rejected"), sum(_int(v, 0) for v in by_reason.values()))
    clustered = _int(articles.get("clustered"), clusters.height)
    return {
        "files": _int(inputs.get("files"), None),
        "read": _int(articles.get("read"), clustered + rejected),
        "clustered": clustered,
        "rejected": rejected,
        "stories": _int(groups.get("stories"), multi.len()),
        "singletons": _int(groups.get("singletons"), int(sizes.len() - multi.len())),
        "largest": _int(groups.get("largest"), int(sizes.max() or 0) if sizes.len() else 0),
        "duplicates": _int(groups.get("duplicates"), int(multi.sum() - multi.len()) if multi.len() else 0),
        "rejected_by_reason": sorted(((clean(k), _int(v, 0)) for k, v in by_reason.items()),
                                     key=lambda kv: (-kv[1], kv[0])),
    }


def _int(value: Any, default: int | None) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


_REJECT_SLICE_ROWS = 64 * 1024


def reject_examples(rejects: pl.DataFrame | None) -> dict[str, list[str]]:
    """Up to MAX_REJECT_EXAMPLES ``file:record: message`` lines per reason."""
    if rejects is None or rejects.height == 0:
        return {}
    columns = [c for c in ("file", "record", "reason", "message") if c in rejects.columns]
    if "reason" not in columns:
        return {}
    # Each reason's first rows by file and record (missing last): the rows a sort of the whole frame would
    # put first, found a slice at a time, as a file of bad lines has millions.
    keys = [key for c in ("file", "record") if c in columns for key in (pl.col(c).is_null(), c)]
    first = pl.all().bottom_k_by(keys, k=MAX_REJECT_EXAMPLES) if keys else pl.all().head(MAX_REJECT_EXAMPLES)
    frame = rejects.select(columns).head(0)
    for part in rejects.select(columns).iter_slices(_REJECT_SLICE_ROWS):
        frame = pl.concat([frame, part]).group_by("reason").agg(first).explode(pl.exclude("reason")).select(columns)
    frame = frame.sort([c for c in ("reason", "file", "record") if c in columns], nulls_last=True)
    examples: dict[str, list[str]] = {}
    for row in frame.iter_rows(named=True):
        bucket = examples.setdefault(clean(row["reason"]) or "", [])
        if len(bucket) < MAX_REJECT_EXAMPLES:
            where = clean(row.get("file")) or "?"
            where += f":{row['record']}" if row.get("record") is not None else ""
            bucket.append(f"{where}: {clean(row.get('message')) or ''}")
    return examples


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested parameters as sorted ``("stage.key", "value")`` pairs."""
    if isinstance(value, dict):
        out = []
        for key in sorted(value, key=str):
            out.extend(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in value):
        out = []
        for i, item in enumerate(value):
            out.extend(flatten(item, f"{prefix}.{i}" if prefix else str(i)))
        return out
    if isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value) if value else "(none)"
    else:
        text = str(value)
    return [(clean(prefix) or "", clean(text) or "")]


def top_stories(clusters: pl.DataFrame, top: int) -> tuple[list[dict[str, Any]], int]:
    """The ``top`` stories ranked as in the report, and how many stories there are in all."""
    articles = _articles(clusters)
    n_outlets = pl.col("n_outlets").max() if "n_outlets" in articles.columns else pl.lit(None)
    ranked = (articles.group_by("cluster_id", maintain_order=True)
              .agg(pl.col("title").filter(pl.col("title").str.strip_chars() != "").first().alias("headline"),
                   pl.col("outlet").first(), pl.col("published").first(), pl.len().alias("articles"),
                   n_outlets.alias("n"), pl.col("outlet").n_unique().alias("distinct"))
              .with_columns(pl.coalesce(pl.col("n").cast(pl.Int64), pl.col("distinct").cast(pl.Int64))
                            .alias("outlets"))
              .sort(["outlets", "articles", "published", "cluster_id"], descending=[True, True, False, False],
                    nulls_last=True))
    return ranked.head(max(0, top)).to_dicts(), ranked.height
