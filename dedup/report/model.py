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
    """The overview rows and story details, ranked by number of outlets."""
    articles = _articles(clusters)
    ids = articles["cluster_id"].unique().to_list()
    by_cluster_sentences = _group(sentences, _SENTENCE_COLUMNS, "sentences", ids,
                                  ["cluster_id", "article_id", "position", "status"])
    by_cluster_links = _group(links, _LINK_COLUMNS, "links", ids,
                              ["cluster_id", "first_article_id", "article_id", "family_id"])
    outlet_names = sorted({o if o is not None else UNKNOWN_OUTLET for o in articles["outlet"].to_list()},
                          key=lambda o: (o.casefold(), o))
    outlet_index = {name: i for i, name in enumerate(outlet_names)}
    stories = []
    for cluster_id, rows in itertools.groupby(articles.iter_rows(named=True), key=lambda r: r["cluster_id"]):
        rows = list(rows)
        stories.append(_story(cluster_id, rows, outlet_index, by_cluster_sentences.get(cluster_id, []),
                              by_cluster_links.get(cluster_id, [])))
    stories.sort(key=lambda s: (-s[0]["n"], -s[0]["a"], s[0]["ts"] == "", s[0]["ts"], s[0]["id"]))
    return {"outlets": outlet_names, "stories": [s[0] for s in stories], "details": [s[1] for s in stories]}


def _group(frame: pl.DataFrame | None, columns: tuple[str, ...], name: str, ids: list[str],
           order: list[str]) -> dict[str, list[tuple]]:
    if frame is None:
        return {}
    frame = _require(frame, columns, name).filter(pl.col("cluster_id").is_in(ids))
    rows = frame.sort(order, nulls_last=True).iter_rows()
    return {key: list(group) for key, group in itertools.groupby(rows, key=lambda r: r[0])}


def _story(cluster_id: str, rows: list[dict], outlet_index: dict[str, int], sentence_rows: list[tuple],
           link_rows: list[tuple]) -> tuple[dict, dict]:
    canonical = rows[0]
    outlets = [r["outlet"] if r["outlet"] is not None else UNKNOWN_OUTLET for r in rows]
    distinct = list(dict.fromkeys(outlet_index[o] for o in outlets))
    n_outlets = max((r.get("n_outlets") or 0) for r in rows) or len(distinct)
    headline = next((r["title"] for r in rows if r["title"] and r["title"].strip()), None) or UNTITLED
    canon, entries = _align(canonical["article_id"], [r["article_id"] for r in rows], sentence_rows)
    arts, shares = [], []
    for row, outlet in zip(rows, outlets):
        counts, own = None, entries.get(row["article_id"])
        if row is canonical:
            counts = [len(canon), 0, 0, 0] if canon else None
            own = list(range(len(canon))) if canon else None
        elif own is not None:
            counts = _tally(own)
            shares.append((counts[1] + counts[2] + counts[3]) / max(1, sum(counts)))
        similarity = row.get("similarity")
        arts.append({
            "id": row["article_id"], "o": outlet_index[outlet], "h": row["title"], "u": safe_url(row["url"]),
            "t": format_time(row["published"]), "k": int(row is canonical),
            "s": round(similarity, 3) if similarity is not None and math.isfinite(similarity) else None,
            "r": own, "n": counts,
        })
    divergence = round(sum(shares) / len(shares), 3) if shares else None
    overview = {
        "id": cluster_id, "h": headline, "o": outlet_index[outlets[0]], "t": format_time(canonical["published"]),
        "ts": canonical["published"].strftime("%Y-%m-%dT%H:%M:%S") if canonical["published"] else "",
        "n": int(n_outlets), "a": len(rows), "d": divergence, "os": distinct,
    }
    detail = {"c": [[f, t] for f, t in canon], "a": arts, "l": _links(rows, link_rows)}
    return overview, detail


def _align(canonical_id: str, article_ids: list[str], rows: list[tuple]
           ) -> tuple[list[tuple[int | None, str]], dict[str, list[list]]]:
    """Canonical sentences ``[(family_id, text)]`` and each other article's entries (see module doc).

    The canonical text comes from the canonical article's own rows when the
    aligner wrote them, else it is pieced together from the other articles'
    kept, dropped and edited sentences, by canonical position.
    """
    best: dict[int, tuple[int, int | None, str]] = {}  # canonical position -> (rank, family, text)
    per_article: dict[str, list[tuple]] = {}
    for row in rows:
        _cid, article_id, status, position, text, cpos, family, diff = row
        if article_id == canonical_id:
            cpos = cpos if cpos is not None else position
            rank = 0
        else:
            per_article.setdefault(article_id, []).append(row)
            rank = {"dropped": 1, "kept": 2, "edited": 3}.get(status)
            if status == "edited" and diff:
                text = "".join(d["text"] or "" for d in diff if d["op"] in ("=", "-"))
        if cpos is not None and rank is not None and text is not None and (cpos not in best or rank < best[cpos][0]):
            best[cpos] = (rank, family, text)
    order = sorted(best)
    slot = {cpos: i for i, cpos in enumerate(order)}
    canon = [(best[c][1], best[c][2]) for c in order]
    entries = {}
    for article_id in article_ids:
        if article_id in per_article:
            entries[article_id] = _merge(per_article[article_id], slot, [t for _f, t in canon])
    return canon, entries


def _merge(rows: list[tuple], slot: dict[int, int], texts: list[str]) -> list:
    """One article's entries (see module doc) in its own order, its dropped canonical sentences merged in."""
    dropped = sorted({slot[r[5]] for r in rows if r[2] == "dropped" and r[5] in slot})
    own = sorted((r for r in rows if r[2] in ("kept", "edited", "added")), key=lambda r: (r[3] is None, r[3] or 0))
    out: list = []
    d = 0
    for _cid, _aid, status, _pos, text, cpos, family, diff in own:
        index = slot.get(cpos) if cpos is not None else None
        if index is None:
            out.append(["a", family, text or ""])  # added, or aligned to a canonical sentence we do not know
            continue
        while d < len(dropped) and dropped[d] < index:
            out.append(-dropped[d] - 1)
            d += 1
        if status == "kept":
            out.append(index)
        else:
            ops = [(x["op"], x["text"] or "") for x in diff or [] if x["op"] in ("=", "+", "-")]
            out.append(_edit(index, ops or [("+", text or "")], texts[index]))
    out.extend(-i - 1 for i in dropped[d:])
    return out


def _tally(entries: list) -> list[int]:
    """``[kept, edited, added, dropped]`` of an article's entries."""
    kept = edited = added = dropped = 0
    for entry in entries:
        if isinstance(entry, int):
            kept, dropped = (kept + 1, dropped) if entry >= 0 else (kept, dropped + 1)
        elif entry[0] == "a":
            added += 1
        else:
            edited += 1
    return [kept, edited, added, dropped]


def _edit(index: int, ops: list[tuple[str, str]], canonical: str) -> list:
    """``["e", index, ops]`` with "=" and "-" ops as lengths into the canonical sentence when they spell it."""
    if "".join(t for op, t in ops if op != "+") != canonical:
        return ["E", index, [list(op) for op in ops]]
    compact: list = []
    for op, text in ops:
        if op == "+":
            compact.append(text)
        elif text:
            units = len(text.encode("utf-16-le")) // 2  # JavaScript string length
            compact.append(units if op == "=" else -units)
    return ["e", index, compact]


def _links(rows: list[dict], link_rows: list[tuple]) -> list[list]:
    index = {r["article_id"]: i for i, r in enumerate(rows)}
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
