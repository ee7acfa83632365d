"""Loaders for the third-party evaluation data in ``../shared/eval-data``.

The data is research-only licensed: it is read at run time and never copied
into the repository. The root is ``$DEDUP_EVAL_DATA`` or
``<repo>/../shared/eval-data``; :func:`require` skips the calling test (with a
reason) when a dataset is absent.

Two environment variables make these tests a measuring tool as well:

* ``DEDUP_EVAL_CONFIG``: a JSON object passed to ``Config().replace(...)``,
  e.g. ``'{"shingle": {"size": 3}, "cluster": {"threshold": 0.6}}'``, so the
  same checks can be run on other parameters (see
  ``benchmarks/README.md``).
* ``DEDUP_EVAL_REPORT``: a file to which every test appends one JSON line of
  the numbers it measured (they are also printed; run pytest with ``-s``).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dedup import Config
from dedup.normalize import tokenize

REPO = Path(__file__).resolve().parents[2]
ENV_DATA = "DEDUP_EVAL_DATA"
ENV_CONFIG = "DEDUP_EVAL_CONFIG"
ENV_REPORT = "DEDUP_EVAL_REPORT"


# --------------------------------------------------------------------------- locating data, config, reporting

def eval_data_root() -> Path:
    return Path(os.environ.get(ENV_DATA) or REPO.parent / "shared" / "eval-data")


def require(folder: str) -> Path:
    """The dataset folder, or skip the test when it is not there."""
    path = eval_data_root() / folder
    if not path.is_dir():
        pytest.skip(f"evaluation data {folder!r} not found under {eval_data_root()} "
                    f"(research-only data, never shipped; set {ENV_DATA} to its location)")
    return path


def eval_config() -> Config:
    """``Config()``, or the variation given as JSON in ``$DEDUP_EVAL_CONFIG``."""
    raw = os.environ.get(ENV_CONFIG)
    return Config().replace(**json.loads(raw)) if raw else Config()


def record(dataset: str, **numbers: Any) -> None:
    """Print the measured numbers; append them to ``$DEDUP_EVAL_REPORT`` when set."""
    line = {"dataset": dataset, "config": json.loads(os.environ.get(ENV_CONFIG) or "{}"), **numbers}
    text = json.dumps(line, sort_keys=False, default=str)
    print(f"\nEVAL {text}")
    path = os.environ.get(ENV_REPORT)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")


def cluster_of(result) -> dict[str, str]:
    """article_id -> cluster_id."""
    return dict(zip(result.clusters["article_id"].to_list(), result.clusters["cluster_id"].to_list()))


# --------------------------------------------------------------------------- diagnostics

def _ngrams(tokens: list[str], k: int) -> list[tuple[str, ...]]:
    if len(tokens) < k:
        return [tuple(tokens)] if tokens else []
    return [tuple(tokens[i:i + k]) for i in range(len(tokens) - k + 1)]


def similarity(text_a: str, text_b: str, size: int) -> dict[str, Any]:
    """Containment, Jaccard and overlap of two texts' word ``size``-shingles (before any
    boilerplate removal), and the shared passages, for failure messages."""
    ta, tb = tokenize(text_a), tokenize(text_b)
    ga, gb = _ngrams(ta, size), _ngrams(tb, size)
    sa, sb = set(ga), set(gb)
    ov = len(sa & sb)
    smaller, union = min(len(sa), len(sb)), len(sa | sb)
    shared = sa & sb
    covered = [False] * len(ta)
    for i, g in enumerate(ga):
        if g in shared:
            for j in range(i, i + len(g)):
                covered[j] = True
    passages, run = [], []
    for tok, c in zip(ta, covered):
        if c:
            run.append(tok)
        elif run:
            passages.append(" ".join(run))
            run = []
    if run:
        passages.append(" ".join(run))
    passages.sort(key=len, reverse=True)
    return {"containment": round(ov / smaller, 3) if smaller else 0.0,
            "jaccard": round(ov / union, 3) if union else 0.0,
            "overlap": ov, "shingles": (len(sa), len(sb)), "shared_passages": passages[:5]}


def longest_shared_run(text_a: str, text_b: str, size: int) -> int:
    """The longest verbatim passage two texts share, in consecutive word ``size``-shingles
    (a passage of ``n + size - 1`` words is ``n`` shingles; 0 when they share none)."""
    ga, gb = _ngrams(tokenize(text_a), size), _ngrams(tokenize(text_b), size)
    where: dict[tuple[str, ...], list[int]] = {}
    for j, g in enumerate(gb):
        where.setdefault(g, []).append(j)
    best, previous = 0, {}
    for g in ga:
        current = {j: previous.get(j - 1, 0) + 1 for j in where.get(g, ())}
        best = max(best, *current.values()) if current else best
        previous = current
    return best


def pair_row(result, id_a: str, id_b: str) -> dict[str, Any] | None:
    """The verified candidate pair of two articles in ``result.pairs``, if LSH proposed it."""
    ids = result.articles["article_id"].to_list()
    pos = {a: i for i, a in enumerate(ids)}
    i, j = sorted((pos[id_a], pos[id_b]))
    rows = result.pairs.filter((pl.col("left") == i) & (pl.col("right") == j)).to_dicts()
    return rows[0] if rows else None


def describe_pair(result, config: Config, id_a: str, id_b: str) -> str:
    texts = dict(zip(result.articles["article_id"].to_list(), result.articles["text"].to_list()))
    cl = result.clusters.select("article_id", "cluster_id", "similarity", "n_shingles", "n_boilerplate", "note")
    info = {r["article_id"]: r for r in cl.filter(pl.col("article_id").is_in([id_a, id_b])).to_dicts()}
    sim = similarity(texts[id_a], texts[id_b], config.shingle.size)
    pr = pair_row(result, id_a, id_b)
    pipe = (f"pipeline pair: containment={pr['containment']:.3f} jaccard={pr['jaccard']:.3f} "
            f"overlap={pr['overlap']} accepted={pr['accepted']}" if pr else "pipeline pair: not an LSH candidate")
    return (f"{id_a} vs {id_b}: raw {config.shingle.size}-shingles containment={sim['containment']} "
            f"jaccard={sim['jaccard']} overlap={sim['overlap']} sizes={sim['shingles']}; {pipe}; "
            f"{id_a}: {info[id_a]}; {id_b}: {info[id_b]}; shared: {sim['shared_passages'][:3]}")


# --------------------------------------------------------------------------- BASIL

def load_basil(root: Path) -> pl.DataFrame:
    """300 articles: id (file name: <triplet uuid>_<n>; some article uuids are "empty"), outlet, title, text, published, url, event (triplet uuid)."""
    rows = []
    for path in sorted((root / "articles").rglob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        paragraphs = []
        for para in doc.get("body-paragraphs") or []:
            paragraphs.append(" ".join(para) if isinstance(para, list) else str(para))
        rows.append({"id": path.stem, "outlet": (doc.get("source") or "").lower(),
                     "title": doc.get("title"), "text": "\n\n".join(p for p in paragraphs if p.strip()),
                     "published": doc.get("date"), "url": doc.get("url"), "event": doc["triplet-uuid"]})
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------- SemEval-2022 task 8

def load_semeval(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(articles, en-en pairs) from both CSV files.

    Articles: every English article of any pair (``id`` from ``pair_id``); an
    article present twice with differently truncated texts keeps its longest text.
    Pairs: ``a``, ``b``, ``overall`` (1 = very similar ... 4 = very dissimilar), ``file``.
    """
    texts: dict[str, str] = {}
    pairs = []
    for name in ("training_set.csv", "testing_set.csv"):
        frame = pl.read_csv(root / name)
        for r in frame.iter_rows(named=True):
            a, b = str(r["pair_id"]).split("_")
            for aid, lang, text in ((a, r["lang1"], r["text1"]), (b, r["lang2"], r["text2"])):
                if lang == "en" and text and len(text) > len(texts.get(aid, "")):
                    texts[aid] = text
            if r["lang1"] == "en" and r["lang2"] == "en":
                pairs.append({"a": a, "b": b, "overall": float(r["Overall"]), "file": name})
    articles = pl.DataFrame({"id": list(texts), "text": list(texts.values())}).sort("id")
    return articles, pl.DataFrame(pairs)


# --------------------------------------------------------------------------- Clough & Stevenson

def _read_mixed(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def load_clough(root: Path) -> pl.DataFrame:
    """100 texts: id (file stem), outlet (the student, or 'wikipedia'), text, published, task, category.

    The Wikipedia sources predate the students' answers, so they carry an earlier
    ``published`` (the answers have none): the canonical version of a task's
    cluster is then its source, as it would be for a dated corpus.
    """
    with open(root / "file_information.csv", newline="", encoding="utf-8") as fh:
        info = {r["File"]: (r["Task"], r["Category"]) for r in csv.DictReader(fh)}
    for task in "abcde":
        info.setdefault(f"orig_task{task}.txt", (task, "orig"))
    rows = []
    for name, (task, category) in sorted(info.items()):
        outlet = "wikipedia" if category == "orig" else name.split("_")[0]
        rows.append({"id": Path(name).stem, "outlet": outlet, "title": None,
                     "text": _read_mixed(root / name), "task": task, "category": category,
                     "published": "2009-01-01T00:00:00Z" if category == "orig" else None})
    return pl.DataFrame(rows)


# --------------------------------------------------------------------------- Reuters-21578

# A re-sent item is marked in its title: "CORRECTED - ...", "(CORRECTED)-...",
# "<CORRECTED> - ...", "RPT - ...", "(RPT) ...", "... (RPT)"; "RPT" is the wire's
# abbreviation of REPEAT. Headlines where "repeats" is a verb ("BAKER REPEATS HE
# HOPES...") and tickers such as <RPT> are not markers.
RESEND_MARK = re.compile(r"^\W*(?:CORRECTED|REPEAT|RPT)\b\W*|\W*\((?:CORRECTED|REPEAT|RPT)\)\W*$")

# The independent identification of "the item they correct" (not our pipeline):
RESEND_SHINGLE = 3            # word 3-grams of the body
RESEND_MIN_CONTAINMENT = 0.45  # ...of which this share of the smaller body is shared
RESEND_MIN_TITLE = 0.4        # share of the marker-free title words found in the original's title
RESEND_MAX_DAYS = 7


def load_reuters_items(root: Path):
    """Reuters items with a body, via ``benchmarks/reuters.py`` (the project's SGML parser)."""
    path = REPO / "benchmarks" / "reuters.py"
    if not path.is_file():
        pytest.skip("benchmarks/reuters.py (the Reuters-21578 parser) is missing")
    spec = importlib.util.spec_from_file_location("_dedup_bench_reuters", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.load_reuters(root)


def reuters_frame(items) -> pl.DataFrame:
    """The items as a dedup input frame; every item's outlet is 'Reuters' (it is one wire)."""
    return pl.DataFrame({
        "id": [str(it.newid) for it in items],
        "outlet": ["Reuters"] * len(items),
        "title": [it.title for it in items],
        "text": [it.body for it in items],
        "published": [it.date.isoformat() for it in items],
    })


def _words(s: str) -> list[str]:
    return re.findall(r"\w+", s.lower())


def _title_words(title: str) -> set[str]:
    return set(_words(RESEND_MARK.sub(" ", title).replace("<", " ").replace(">", " ")))


def _place(dateline: str) -> str:
    return dateline.split(",")[0].strip().casefold()


def find_resends(items) -> list[dict[str, Any]]:
    """Every marked re-send with its original, found independently of the pipeline.

    The original is an item with an earlier NEWID, at most ``RESEND_MAX_DAYS``
    older, from the same dateline place, whose title holds at least
    ``RESEND_MIN_TITLE`` of the re-send's marker-free title words and whose body
    shares at least ``RESEND_MIN_CONTAINMENT`` of the smaller body's word
    3-grams; the best such item by containment. ``original`` is None when no
    earlier item qualifies (the original is not in the collection).
    """
    cache: dict[int, set] = {}

    def grams(j: int) -> set:
        if j not in cache:
            cache[j] = set(_ngrams(_words(items[j].body), RESEND_SHINGLE))
        return cache[j]

    out = []
    for k, item in enumerate(items):
        if not RESEND_MARK.search(item.title):
            continue
        words, best = _title_words(item.title), None
        for j in range(k):
            other = items[j]
            if (item.date - other.date).days > RESEND_MAX_DAYS or _place(other.dateline) != _place(item.dateline):
                continue
            ov = len(grams(k) & grams(j))
            if not ov:
                continue
            cont = ov / min(len(grams(k)), len(grams(j)))
            tshare = len(words & _title_words(other.title)) / max(1, len(words))
            if cont >= RESEND_MIN_CONTAINMENT and tshare >= RESEND_MIN_TITLE:
                if best is None or cont > best[0]:
                    best = (cont, other.newid)
        out.append({"resend": str(item.newid), "title": item.title,
                    "original": None if best is None else str(best[1]),
                    "containment3": None if best is None else round(best[0], 3)})
    return out
