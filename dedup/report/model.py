"""Turn a run's frames into the plain data the editors' report shows.

Formatting only, no scoring: every number is read from the frames or is a
simple summary of them (counts, shares). Untrusted strings (titles, outlets,
URLs, sentence text) are made *encodable* here (lone surrogates and control
characters become U+FFFD) and URLs are kept only when they are plain http(s);
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
sentences it dropped merged in where they would have been. An entry is

* ``k`` (an int >= 0): canonical sentence ``k`` kept as is;
* ``-k - 1`` (an int < 0): canonical sentence ``k`` dropped;
* ``["a", family_id, text]``: a sentence the canonical lacks (added);
* ``["e", k, ops]``: canonical sentence ``k`` edited. ``ops`` replay the word
  diff against the canonical text: an int ``n > 0`` keeps its next ``n``
  characters (UTF-16 code units, as JavaScript counts), ``-n`` deletes
  them, a string is inserted. When the diff does not spell the canonical
  sentence exactly, the entry is ``["E", k, [[op, text], ...]]`` instead.

The canonical article itself is ``[0, 1, 2, ...]``. ``l`` are the provenance
links: article *to* shares added material first carried by article *from*.
The encoding keeps a 20,000-article report small enough to open fast.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import re
from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from dedup.errors import DedupError

UNKNOWN_OUTLET = "(unknown outlet)"
UNTITLED = "(untitled)"
MAX_REJECT_EXAMPLES = 5

_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL_RE = re.compile(_CONTROL)
_HTTP_URL = re.compile(r"(?i)https?://[^\s\x00-\x1f\x7f-\x9f]+")
_CODES = {"kept": "k", "edited": "e", "added": "a", "dropped": "d"}

_CLUSTER_COLUMNS = ("article_id", "outlet", "title", "published", "url", "cluster_id", "is_canonical")
_SENTENCE_COLUMNS = ("cluster_id", "article_id", "status", "position", "text", "canonical_position",
                     "family_id", "word_diff")
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
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> pl.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DedupError(f"report: the {name} frame lacks column(s) {missing}; "
                         f"it has {frame.columns}. Was it written by another version of dedup?")
    strings = [c for c in columns if frame.schema[c] == pl.String]
    frame = frame.select(columns).with_columns(pl.col(strings).str.replace_all(_CONTROL, "\ufffd"))
    if "word_diff" in columns:
        frame = frame.with_columns(pl.col("word_diff").list.eval(pl.struct(
            pl.element().struct.field("op"),
            pl.element().struct.field("text").str.replace_all(_CONTROL, "\ufffd"))))
    return frame


def _articles(clusters: pl.DataFrame) -> pl.DataFrame:
    """Articles of multi-article clusters, canonical first, then by time, outlet and id."""
    frame = _require(clusters, _CLUSTER_COLUMNS, "clusters")
    extra = [c for c in ("n_outlets", "similarity") if c in clusters.columns]
    frame = frame.with_columns(clusters.select(extra)) if extra else frame
    return (frame.filter(pl.len().over("cluster_id") > 1)
            .sort(["cluster_id", "is_canonical", "published", "outlet", "article_id"],
                  descending=[False, True, False, False, False], nulls_last=True))


def build_model(clusters: pl.DataFrame, sentences: pl.DataFrame | None,
                links: pl.DataFrame | None) -> dict[str, Any]:
    """The overview rows and story details, ranked by number of outlets.

    Linear in the number of articles and sentences: the per-sentence work
    (which text stands for each canonical sentence, where each sentence sits
    in it, the word-diff checks) is done by polars over whole columns; Python
    only assembles each article's entry list.
    """
    with _gc_paused():
        return _build_model(clusters, sentences, links)


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


def _build_model(clusters: pl.DataFrame, sentences: pl.DataFrame | None,
                 links: pl.DataFrame | None) -> dict[str, Any]:
    articles = _articles(clusters)
    ids = articles["cluster_id"].unique().to_list()
    canon_by_cluster, entries = _sentence_entries(sentences, articles, ids)
    by_cluster_links = _group(links, _LINK_COLUMNS, "links", ids,
                              ["cluster_id", "first_article_id", "article_id", "family_id"])
    outlet_names = sorted({o if o is not None else UNKNOWN_OUTLET for o in articles["outlet"].to_list()},
                          key=lambda o: (o.casefold(), o))
    outlet_index = {name: i for i, name in enumerate(outlet_names)}
    columns = {name: articles[name].to_list() for name in ("cluster_id", "article_id", "outlet", "title",
                                                             "published")}
    columns["n_outlets"] = (articles["n_outlets"].to_list() if "n_outlets" in articles.columns
                            else [None] * articles.height)
    columns["similarity"] = (articles["similarity"].to_list() if "similarity" in articles.columns
                             else [None] * articles.height)
    columns["url"] = _safe_urls(articles["url"])
    columns["time"] = _format_times(articles["published"])
    stories = []
    start = 0
    for cluster_id, size in articles.group_by("cluster_id", maintain_order=True).len().iter_rows():
        rows = range(start, start + size)
        start += size
        stories.append(_story(cluster_id, rows, columns, outlet_index, canon_by_cluster.get(cluster_id, []),
                              entries.get(cluster_id, {}), by_cluster_links.get(cluster_id, [])))
    stories.sort(key=lambda s: (-s[0]["n"], -s[0]["a"], s[0]["ts"] == "", s[0]["ts"], s[0]["id"]))
    return {"outlets": outlet_names, "stories": [s[0] for s in stories], "details": [s[1] for s in stories]}


def _group(frame: pl.DataFrame | None, columns: tuple[str, ...], name: str, ids: list[str],
           order: list[str]) -> dict[str, list[tuple]]:
    if frame is None:
        return {}
    frame = _require(frame, columns, name).filter(pl.col("cluster_id").is_in(ids))
    rows = frame.sort(order, nulls_last=True).iter_rows()
    return {key: list(group) for key, group in itertools.groupby(rows, key=lambda r: r[0])}


def _story(cluster_id: str, rows: range, columns: dict[str, list], outlet_index: dict[str, int],
           canon: list[list], entries: dict[str, tuple[list, list[int]]], link_rows: list[tuple]
           ) -> tuple[dict, dict]:
    """One story's overview row and detail; ``rows`` are its articles' indexes into ``columns``."""
    first = rows[0]
    article_ids = columns["article_id"][rows.start:rows.stop]
    outlets = [o if o is not None else UNKNOWN_OUTLET for o in columns["outlet"][rows.start:rows.stop]]
    titles = columns["title"]
    distinct = list(dict.fromkeys(outlet_index[o] for o in outlets))
    n_outlets = max((n or 0) for n in columns["n_outlets"][rows.start:rows.stop]) or len(distinct)
    headline = next((titles[i] for i in rows if titles[i] and titles[i].strip()), None) or UNTITLED
    arts, shares = [], []
    for i, article_id, outlet in zip(rows, article_ids, outlets):
        counts = own = None
        if i == first:
            counts = [len(canon), 0, 0, 0] if canon else None
            own = list(range(len(canon))) if canon else None
        elif article_id in entries:
            own, counts = entries[article_id]
            shares.append((counts[1] + counts[2] + counts[3]) / max(1, sum(counts)))
        similarity = columns["similarity"][i]
        arts.append({
            "id": article_id, "o": outlet_index[outlet], "h": titles[i], "u": columns["url"][i],
            "t": columns["time"][i], "k": int(i == first),
            "s": round(similarity, 3) if similarity is not None and math.isfinite(similarity) else None,
            "r": own, "n": counts,
        })
    divergence = round(sum(shares) / len(shares), 3) if shares else None
    published = columns["published"][first]
    overview = {
        "id": cluster_id, "h": headline, "o": outlet_index[outlets[0]], "t": columns["time"][first],
        "ts": published.strftime("%Y-%m-%dT%H:%M:%S") if published else "",
        "n": int(n_outlets), "a": len(article_ids), "d": divergence, "os": distinct,
    }
    detail = {"c": canon, "a": arts, "l": _links(article_ids, link_rows)}
    return overview, detail


def _sentence_entries(sentences: pl.DataFrame | None, articles: pl.DataFrame, ids: list[str]
                      ) -> tuple[dict[str, list[list]], dict[str, dict[str, tuple[list, list[int]]]]]:
    """Per cluster, the canonical sentences ``[[family_id, text], ...]`` and, per other article, its
    entries (see module doc) with their ``[kept, edited, added, dropped]`` counts.

    The canonical text comes from the canonical article's own rows when the
    aligner wrote them, else it is pieced together from the other articles'
    kept, dropped and edited sentences, by canonical position: for each
    position, the first row (in cluster, article, position, status order) of
    the best kind (canonical's own, then dropped, kept, edited). Every other
    article that has sentence rows gets entries, even an empty list.
    """
    if sentences is None:
        return {}, {}
    frame = _require(sentences, _SENTENCE_COLUMNS, "sentences").filter(pl.col("cluster_id").is_in(ids))
    frame = frame.sort(["cluster_id", "article_id", "position", "status"], nulls_last=True).with_row_index("_row")
    canonical_ids = articles.group_by("cluster_id", maintain_order=True).agg(
        pl.col("article_id").first().alias("_canonical_id"))
    frame = frame.join(canonical_ids, on="cluster_id", how="left", maintain_order="left").with_columns(
        pl.col("article_id").eq_missing(pl.col("_canonical_id")).alias("_is_canonical"))
    op, op_text = pl.element().struct.field("op"), pl.element().struct.field("text")
    status, is_canonical = pl.col("status"), pl.col("_is_canonical")
    diff_text = pl.col("word_diff").list.eval(
        pl.when(op.is_in(["=", "-"])).then(op_text.fill_null("")).otherwise(pl.lit(""))).list.join("")
    from_diff = ~is_canonical & (status == "edited") & (pl.col("word_diff").list.len() > 0).fill_null(False)
    # The winning row of each canonical position is chosen on narrow columns; only the winners'
    # texts are then read (sorting the whole frame with its texts doubled the report's memory).
    winners = (frame.select(
                   "cluster_id", "_row",
                   pl.when(is_canonical).then(pl.coalesce("canonical_position", "position"))
                   .otherwise(pl.col("canonical_position")).alias("_cpos"),
                   pl.when(is_canonical).then(0).when(status == "dropped").then(1).when(status == "kept").then(2)
                   .when(status == "edited").then(3).otherwise(None).alias("_rank"),
                   (from_diff | pl.col("text").is_not_null()).alias("_has_text"))
               .filter(pl.col("_cpos").is_not_null() & pl.col("_rank").is_not_null() & pl.col("_has_text"))
               .sort(["cluster_id", "_cpos", "_rank", "_row"])
               .unique(["cluster_id", "_cpos"], keep="first", maintain_order=True))
    chosen = frame[winners["_row"]]
    best = winners.select(
        "cluster_id", pl.col("_cpos").alias("canonical_position"),
        chosen["family_id"],
        chosen.select(pl.when(from_diff).then(diff_text).otherwise(pl.col("text")))
        .to_series().alias("canonical_text"),
        pl.int_range(pl.len(), dtype=pl.Int64).over("cluster_id").alias("slot"))
    del winners, chosen
    canon: dict[str, list[list]] = {}
    for cluster_id, family, text in best.select("cluster_id", "family_id", "canonical_text").iter_rows():
        canon.setdefault(cluster_id, []).append([family, text])

    has_slot, is_own = pl.col("slot").is_not_null(), status.is_in(["kept", "edited", "added"])
    on = ["cluster_id", "canonical_position"]
    # The other articles' rows: narrow for the counts, with texts only for their own sentences.
    others = (frame.select("cluster_id", "article_id", "status", "canonical_position", "_is_canonical")
              .filter(~is_canonical).join(best.select(*on, "slot"), on=on, how="left", maintain_order="left"))
    own = frame.filter(~is_canonical & is_own).join(best.drop("family_id"), on=on, how="left",
                                                     maintain_order="left")
    flat, slots = _own_entries(own), own["slot"].to_list()
    # One row per article with sentence rows, in the order of `own` (both follow `frame`'s sort).
    per_article = others.group_by("cluster_id", "article_id", maintain_order=True).agg(
        is_own.sum().alias("own"),
        (is_own & has_slot & (status == "kept")).sum().alias("kept"),
        (is_own & has_slot & (status != "kept")).sum().alias("edited"),
        (is_own & ~has_slot).sum().alias("added"),
        pl.col("slot").filter((status == "dropped") & has_slot).unique().sort().alias("dropped"))
    entries: dict[str, dict[str, tuple[list, list[int]]]] = {}
    start = 0
    for cluster_id, article_id, n_own, kept, edited, added, dropped in per_article.iter_rows():
        stop = start + n_own
        merged = _merge(flat[start:stop], slots[start:stop], dropped) if dropped else flat[start:stop]
        entries.setdefault(cluster_id, {})[article_id] = (merged, [kept, edited, added, len(dropped)])
        start = stop
    return canon, entries


def _own_entries(own: pl.DataFrame) -> list:
    """The entry of each own (kept, edited, added) sentence row, in order.

    A sentence whose canonical position is unknown is an ``["a", family, text]``
    entry whatever its status; a kept one is its slot; any other is an edit:
    ``["e", slot, ops]`` with "=" and "-" ops as (UTF-16) lengths into the
    canonical sentence when they spell it, else ``["E", slot, [[op, text], ...]]``.
    """
    op, op_text = pl.element().struct.field("op"), pl.element().struct.field("text").fill_null("")
    is_edit = pl.col("slot").is_not_null() & (pl.col("status") != "kept")
    ops = pl.col("word_diff").list.eval(pl.element().filter(op.is_in(["=", "+", "-"])))
    ops = (pl.when(ops.list.len() > 0).then(ops)
           .otherwise(pl.concat_list(pl.struct(pl.lit("+").alias("op"), pl.col("text").alias("text")))))
    edits = own.filter(is_edit).select(ops.alias("_ops"), "canonical_text").select(
        pl.col("_ops").list.eval(op).alias("op"),
        pl.col("_ops").list.eval(op_text).alias("text"),
        pl.col("_ops").list.eval(op_text.str.len_chars() + op_text.str.count_matches(r"[^\x{0}-\x{FFFF}]"))
        .alias("units"),  # JavaScript string length: UTF-16 code units
        (pl.col("_ops").list.eval(pl.when(op != "+").then(op_text).otherwise(pl.lit(""))).list.join("")
         == pl.col("canonical_text")).alias("spelled"))
    edit_entries = iter([
        (["e", [t if o == "+" else (n if o == "=" else -n) for o, t, n in zip(codes, texts, units) if o == "+" or n]]
         if spelled else ["E", [[o, t] for o, t in zip(codes, texts)]])
        for codes, texts, units, spelled in zip(*(edits[c].to_list() for c in edits.columns))])
    out = []
    for slot, status, family, text in zip(*(own[c].to_list() for c in ("slot", "status", "family_id", "text"))):
        if slot is None:
            out.append(["a", family, text or ""])  # added, or aligned to a canonical sentence we do not know
        elif status == "kept":
            out.append(slot)
        else:
            kind, ops_ = next(edit_entries)
            out.append([kind, slot, ops_])
    return out


def _merge(own: list, slots: list[int | None], dropped: list[int]) -> list:
    """One article's entries in its own order with its dropped canonical sentences merged in.

    A dropped sentence goes just before the first own sentence aligned to a
    later canonical sentence (or at the end).
    """
    out: list = []
    d, n_dropped = 0, len(dropped)
    for index, entry in zip(slots, own):
        if index is not None:
            while d < n_dropped and dropped[d] < index:
                out.append(-dropped[d] - 1)
                d += 1
        out.append(entry)
    out.extend(-i - 1 for i in dropped[d:])
    return out


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
    derived_rejects = Counter(rejects["reason"].to_list()) if rejects is not None and rejects.height else Counter()
    articles = summary.get("articles") if isinstance(summary.get("articles"), dict) else {}
    groups = summary.get("clusters") if isinstance(summary.get("clusters"), dict) else {}
    inputs = summary.get("inputs") if isinstance(summary.get("inputs"), dict) else {}
    by_reason = articles.get("rejected_by_reason")
    by_reason = by_reason if isinstance(by_reason, dict) else dict(derived_rejects)
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


def reject_examples(rejects: pl.DataFrame | None) -> dict[str, list[str]]:
    """Up to MAX_REJECT_EXAMPLES ``file:record: message`` lines per reason."""
    if rejects is None or rejects.height == 0:
        return {}
    columns = [c for c in ("file", "record", "reason", "message") if c in rejects.columns]
    if "reason" not in columns:
        return {}
    frame = rejects.select(columns).sort([c for c in ("reason", "file", "record") if c in columns],
                                         nulls_last=True)
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
