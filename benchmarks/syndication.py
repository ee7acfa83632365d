"""Labelled syndication corpus simulated from real Reuters-21578 wire stories.

``build_corpus(n_stories=3000, seed=7, holdout=False)`` returns one row per
article (deterministic given ``seed`` and ``holdout``):

* public columns: ``id, outlet, title, text, published (Datetime UTC), url``;
* gold columns: ``gold_story`` (base Reuters NEWID as str, or ``pr-<c>-<k>``
  for press releases), ``gold_role`` (``wire`` | ``copy`` | ``press_release``),
  ``gold_added_spans`` ([start, end) char spans of ``text`` that are not
  from the base story), ``gold_dropped`` (base-sentence indices missing from the
  copy), ``gold_dropped_spans`` (the char spans of those sentences in the wire
  original's ``text``), ``gold_edited`` (base-sentence indices present but
  copy-edited), ``gold_partner`` (story B of a stitched copy, else null),
  ``gold_base_spans`` (wire rows only: char spans of every base sentence in
  the wire text, the unit behind the indices) and ``edits`` (operations applied).
  ``goldcheck.check_gold`` verifies these invariants.

How it is built
---------------
1. (``storypool.py``) Prose Reuters items (no tables, >= 90% of paragraphs end in punctuation)
   are split into sentences with ``copyedit.split_sentences``.  Natural
   re-sends, rewrites and follow-ups are removed: items are grouped when their
   5-word-shingle sets have Jaccard >= 0.2 or containment >= 0.3, or similar
   (or CORRECTED/RPT-marked) titles and containment >= 0.1 (exact sets; candidates from an inverted
   index), and only the lowest NEWID of each group is ever used.
   The group representative's NEWID parity selects the split: default = even,
   ``holdout=True`` = odd, so the two corpora share no base, donor or re-sent text.
2. Each of ``n_stories`` base stories draws a copy count: 0 (45%), 1-5 (40%),
   6-19 (12%), 20-50 (3%).  Stories with copies need >= 8 sentences; the
   copy-less singletons are any prose item with >= 3 sentences.
3. The wire original (outlet ``Reuters``, its Reuters DATE) is the earliest
   article of its story.  Each copy comes from a distinct outlet of a pool of
   60 fictional outlets with fixed house styles (``copyedit.make_outlets``) and
   is published 5 min - ~4 days later (updates later still).  Per copy, by
   outlet propensity: tail trim (keep 30-90%), 1+ middle sentences dropped,
   1-3 padding sentences inserted from other real stories, copy edits (house
   style + desk edits), new headline, outlet dateline prefix, byline, the
   outlet's fixed footer (always, for outlets that have one), update (new top
   paragraph + "(Adds ...)" note + "UPDATE 1-" headline), paragraph reflow.
   ~1.2% of copies are STITCHED: the first half of story A followed by the
   first half of another corpus story B; gold assigns them to A (the B half
   is "added", A's second half is "dropped").
4. Hard negatives: short press releases (2-4 sentences, each from a different
   real story) from 3 press-release wires, by max(2, n_stories/250) companies
   with 4-15 releases each; each fictional company's releases
   share its ~5-sentence "About <Company>" boilerplate and contact line.  Every
   release is its own gold story.

Inserted/padding/update/press-release sentences ("donors") come from unused
group representatives of the same split, have 8-60 words, occur exactly once
in the whole collection, and are used at most once, so added text never
matches a base story (except the B half of a stitched copy, which is by
design another corpus story).  Copy-edited sentences are "edited": neither added nor
dropped.  Added spans cover exactly the inserted pieces (whitespace between
pieces excluded; adjacent added pieces merged).  Donor sentences also share no
8-word shingle with any other Reuters item.  Stories with copies must not
repeat a sentence of 4+ words internally (some wire items carry duplicated
paragraphs), so every base sentence of 4+ words is unambiguous (a shorter one
may repeat: story 11624 of the main corpus repeats "Therese").

CLI: ``python benchmarks/syndication.py build --n-stories 3000 --seed 7
--out /tmp/synd.jsonl [--holdout]`` writes the public JSONL, ``<stem>.gold.jsonl``
and ``<stem>.meta.json``; ``read_corpus(path)`` loads them back.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import math
import re
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from random import Random

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from benchmarks.copyedit import (Outlet, byline, discretionary_edits, headline_variants,
                                 house_style, make_companies, make_outlets, title_case)
from benchmarks.reuters import ReutersNotFound, find_reuters_dir, load_reuters
from benchmarks.storypool import (DonorPool, Story, near_duplicate_groups, norm,
                                  prepare_stories, shingles)

WIRE_OUTLET = "Reuters"
PR_OUTLETS = ["Corporate Newswire Service", "PR Dispatch Network", "IssuerLink Newswire"]
PUBLIC_COLUMNS = ["id", "outlet", "title", "text", "published", "url"]
GOLD_COLUMNS = ["id", "gold_story", "gold_role", "gold_added_spans", "gold_dropped",
                "gold_dropped_spans", "gold_edited", "gold_partner", "gold_base_spans", "edits"]
SCHEMA = {"id": pl.String, "outlet": pl.String, "title": pl.String, "text": pl.String,
          "published": pl.Datetime("us", "UTC"), "url": pl.String,
          "gold_story": pl.String, "gold_role": pl.String,
          "gold_added_spans": pl.List(pl.List(pl.Int64)), "gold_dropped": pl.List(pl.Int64),
          "gold_dropped_spans": pl.List(pl.List(pl.Int64)),
          "gold_edited": pl.List(pl.Int64), "gold_partner": pl.String,
          "gold_base_spans": pl.List(pl.List(pl.Int64)), "edits": pl.List(pl.String)}
MIN_COPIED_SENTENCES = 8
STITCH_RATE = 0.012
UPDATE_NOTES = ["(Adds analyst comment, background in paragraphs 4-6)",
                "(Adds company comment, details)", "(Updates with official statement)",
                "(Recasts with new figures, adds quotes)", "(Adds market reaction)"]


def render(paras: list[list[tuple[str, int | None]]], sep: str = "\n\n"):
    """Join pieces (text, base-sentence index or None=added) into text.

    Pieces of a paragraph are joined by one space, paragraphs by ``sep``.
    Returns (text, added_spans, {base index: span}); whitespace-only gaps
    between added pieces are merged into one span."""
    out, pos, added, spans = [], 0, [], {}
    for pi, para in enumerate(paras):
        for k, (piece, src) in enumerate(para):
            glue = (sep if pi else "") if k == 0 else " "
            out.append(glue)
            pos += len(glue)
            if src is None:
                if added and added[-1][1] + len(glue) == pos:
                    added[-1][1] = pos + len(piece)
                else:
                    added.append([pos, pos + len(piece)])
            else:
                spans[src] = [pos, pos + len(piece)]
            out.append(piece)
            pos += len(piece)
    return "".join(out), added, spans


def _group(units: list[tuple[str, int | None, int]], one_per_para: bool):
    """[(text, src, para_id)] -> paragraphs, grouping consecutive equal para ids."""
    paras: list[list[tuple[str, int | None]]] = []
    last = object()
    for text, src, pid in units:
        if one_per_para or pid != last or not paras:
            paras.append([])
        paras[-1].append((text, src))
        last = pid
    return paras


def _slug(title: str, rng: Random) -> str:
    words = re.findall(r"\w+", title.lower())[:8]
    return "-".join(words) + f"-{rng.getrandbits(32):08x}"


def _copy_count(rng: Random) -> int:
    r = rng.random()
    if r < 0.45:
        return 0
    if r < 0.85:
        return rng.randint(1, 5)
    return rng.randint(6, 19) if r < 0.97 else rng.randint(20, 50)


def make_copy(story: Story, outlet: Outlet, rng: Random, donors: DonorPool,
              partner: Story | None = None) -> dict:
    """One outlet's version of ``story`` (stitched with ``partner`` if given)."""
    n, p, edits = len(story.sents), outlet.p, []
    kept = list(range(n))
    if partner is not None:
        kept, edits = kept[:math.ceil(n / 2)], ["stitched"]
    else:
        if rng.random() < p["trim_tail"]:
            keep = max(2, math.ceil(n * rng.uniform(0.3, 0.9)))
            if keep < n:
                kept, edits = kept[:keep], edits + ["trim_tail"]
        if rng.random() < p["drop_middle"] and len(kept) >= 4:
            gone = set(rng.sample(kept[1:-1], rng.randint(1, max(1, (len(kept) - 2) // 4))))
            kept, edits = [i for i in kept if i not in gone], edits + ["drop_middle"]
    do_edit = rng.random() < p["copy_edit"]

    def ed(t: str) -> str:
        return discretionary_edits(house_style(t, outlet), rng) if do_edit else t

    units = [(ed(story.sents[i]), i, story.para[i]) for i in kept]
    if partner is not None:
        half = math.ceil(len(partner.sents) / 2)
        units += [(ed(partner.sents[j]), None, 10_000 + partner.para[j]) for j in range(half)]
    paras = _group(units, outlet.one_sentence_paras)
    if outlet.one_sentence_paras:
        edits.append("reflow")
    topics = story.item.topics
    if partner is None and rng.random() < p["insert_padding"]:
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            paras.insert(rng.randint(1, len(paras)), [(ed(donors.take(rng, topics)[0]), None)])
        edits.append("insert_padding")
    update = partner is None and rng.random() < p["update"]
    if update:
        paras.insert(0, [(ed(donors.take(rng, topics, lead=True)[0]), None)])
        edits.append("update")
    if rng.random() < p["dateline"]:
        city = story.item.dateline.split(",")[0].strip() or outlet.place.upper()
        paras[0].insert(0, (f"{city} ({outlet.name}) -", None))
        edits.append("dateline")
    if update and rng.random() < 0.7:
        paras.insert(0, [(rng.choice(UPDATE_NOTES), None)])
    if rng.random() < p["byline"]:
        paras.insert(0, [(byline(outlet, rng), None)])
        edits.append("byline")
    if outlet.footer:
        paras += [[(line, None)] for line in outlet.footer]
        edits.append("footer")
    text, added, _ = render(paras, outlet.para_sep)
    edited = [i for t, i, _ in units if i is not None and t != story.sents[i]]
    if edited:
        edits.append("copy_edit")
    title, rewritten = headline_variants(story.item.title, story.sents, rng)
    if rewritten or partner is not None:
        edits.append("new_headline")
    if update:
        title = f"UPDATE {rng.choice([1, 1, 2])}-{title}"
    kept_set = set(kept)
    return {"outlet": outlet.name, "title": title, "text": text, "gold_added_spans": added,
            "gold_dropped": [i for i in range(n) if i not in kept_set],
            "gold_edited": edited, "edits": sorted(set(edits)), "domain": outlet.domain}


def _delay(rng: Random) -> timedelta:
    return timedelta(minutes=5 + min(rng.lognormvariate(math.log(180), 1.2), 5760))


@functools.lru_cache(maxsize=2)
def _material(root: str):
    """Parsed prose stories, group representatives, sentences unique in the
    collection, and 8-word shingles occurring in more than one item (cached
    per process: this is ~30 s of the build)."""
    stories = prepare_stories(load_reuters(root))
    rep = near_duplicate_groups(stories)
    counts = collections.Counter(norm(s) for st in stories for s in st.sents)
    unique = frozenset(s for s, c in counts.items() if c == 1)
    df8 = collections.Counter(h for st in stories for h in shingles(" ".join(st.sents), 8))
    return stories, rep, unique, frozenset(h for h, c in df8.items() if c > 1)


def build_corpus(n_stories: int = 3000, seed: int = 7, holdout: bool = False,
                 root=None, n_outlets: int = 60, verbose: bool = False) -> pl.DataFrame:
    """Build the labelled corpus (see module docstring); raises ReutersNotFound."""
    t0 = time.perf_counter()
    stories, rep, unique, shared = _material(str(find_reuters_dir(root)))
    parity = 1 if holdout else 0
    pool = [st for i, st in enumerate(stories) if rep[i] == i and st.item.newid % 2 == parity]
    rng = Random(f"syndication-{seed}-{parity}")
    long_ = [s for s in pool if len(s.sents) >= MIN_COPIED_SENTENCES and not s.has_repeats]
    rng.shuffle(long_)
    ks = [_copy_count(rng) for _ in range(n_stories)]
    n_copied = sum(k > 0 for k in ks)
    if n_copied > len(long_):
        print(f"warning: only {len(long_)} eligible long stories; {n_copied - len(long_)} "
              f"stories lose their copies", file=sys.stderr)
    copied = list(zip(long_, [k for k in ks if k > 0]))
    rest = long_[len(copied):] + [s for s in pool if 3 <= len(s.sents) < MIN_COPIED_SENTENCES]
    rng.shuffle(rest)
    singles = rest[:n_stories - len(copied)]
    used = {s.item.newid for s, _ in copied} | {s.item.newid for s in singles}
    donors = DonorPool([s for s in pool if s.item.newid not in used], unique, shared, rng)
    outlets = make_outlets(rng, n_outlets)
    rows = []

    def add(row: dict, domain: str, when: datetime) -> None:
        row["published"] = when
        row["url"] = f"https://{domain}/{when:%Y/%m/%d}/{_slug(row['title'], rng)}"
        rows.append(row)

    base_spans = {}
    for st in [s for s, _ in copied] + singles:
        text, _, spans = render(_group([(s, i, st.para[i]) for i, s in enumerate(st.sents)],
                                       False))
        base_spans[st.item.newid] = spans
        add({"outlet": WIRE_OUTLET, "title": st.item.title, "text": text,
             "gold_story": str(st.item.newid), "gold_role": "wire", "gold_added_spans": [],
             "gold_dropped": [], "gold_edited": [], "edits": ["wire_original"],
             "gold_base_spans": [spans[i] for i in range(len(st.sents))]},
            "www.reuters.example/article", st.item.date)
    copied_stories = [s for s, _ in copied]
    for st, k in copied:
        for outlet in rng.sample(outlets, min(k, len(outlets))):
            partner = None
            if rng.random() < STITCH_RATE and len(copied_stories) > 1:
                while partner is None or partner is st:
                    partner = rng.choice(copied_stories)
            row = make_copy(st, outlet, rng, donors, partner)
            when = max(st.item.date, partner.item.date if partner else st.item.date)
            when += _delay(rng) + (timedelta(hours=rng.uniform(2, 24))
                                   if "update" in row["edits"] else timedelta())
            row.update(gold_story=str(st.item.newid), gold_role="copy",
                       gold_partner=str(partner.item.newid) if partner else None)
            add(row, row.pop("domain"), when)
    n_co = max(2, round(n_stories / 250))
    lo, hi = min(s.item.date for s in pool), max(s.item.date for s in pool)
    for c, co in enumerate(make_companies(rng, n_co, PR_OUTLETS)):
        for r in range(rng.randint(4, 15)):
            srcs, sents = set(), []
            for _ in range(rng.randint(2, 4)):
                s, src = donors.take(rng, (), avoid=srcs, lead=not sents)
                srcs.add(src.item.newid)
                sents.append((s, src))
            when = lo + (hi - lo) * rng.random()
            head = f"{co.city.upper()}, {when:%B} {when.day} /{co.pr_outlet}/ --"
            paras = [[(head, None), (sents[0][0], None)]] + [[(s, None)] for s, _ in sents[1:]]
            paras += [[(co.about[0], None)], [(x, None) for x in co.about[1:]],
                      [(co.contact, None)], [(f"SOURCE {co.name}", None)]]
            verb = rng.choice(["Announces", "Reports", "Comments on", "Provides Update on"])
            add({"outlet": co.pr_outlet, "title": f"{co.name} {verb} "
                 f"{title_case(sents[0][1].item.title)}", "text": render(paras)[0],
                 "gold_story": f"pr-{c}-{r}", "gold_role": "press_release",
                 "gold_added_spans": [], "gold_dropped": [], "gold_edited": [],
                 "edits": ["press_release"]},
                co.pr_outlet.lower().replace(" ", "") + ".example/news", when)
    for row in rows:
        spans = base_spans.get(int(row["gold_story"])) if row["gold_role"] != \
            "press_release" else None
        row["gold_dropped_spans"] = [spans[i] for i in row["gold_dropped"]] if spans else []
        row.setdefault("gold_base_spans", [])
        row.setdefault("gold_partner", None)
    rng.shuffle(rows)
    for k, row in enumerate(rows):
        row["id"] = f"a{k:06d}"
    df = pl.DataFrame(rows, schema=SCHEMA).select(list(SCHEMA))
    if verbose:
        print(f"built {df.height} articles from {n_stories} base stories "
              f"({len(copied)} with copies) in {time.perf_counter() - t0:.1f}s",
              file=sys.stderr)
    return df


def gold_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".gold.jsonl")


def write_corpus(df: pl.DataFrame, out: str | Path, meta: dict | None = None) -> tuple[Path, Path]:
    """Write public JSONL (+ ``.gold.jsonl`` and ``.meta.json`` sidecars)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    g = gold_path(out)
    with out.open("w") as fa, g.open("w") as fg:
        for row in df.iter_rows(named=True):
            pub = {c: row[c] for c in PUBLIC_COLUMNS}
            pub["published"] = row["published"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            fa.write(json.dumps(pub, ensure_ascii=False) + "\n")
            fg.write(json.dumps({c: row[c] for c in GOLD_COLUMNS}, ensure_ascii=False) + "\n")
    if meta is not None:
        out.with_name(out.name.removesuffix(".jsonl") + ".meta.json").write_text(
            json.dumps(meta, indent=2) + "\n")
    return out, g


def read_corpus(path: str | Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(articles with PUBLIC_COLUMNS, gold with GOLD_COLUMNS) from ``write_corpus``."""
    path = Path(path)
    frames = []
    for p, cols in ((path, PUBLIC_COLUMNS), (gold_path(path), GOLD_COLUMNS)):
        with p.open() as f:
            recs = [json.loads(line) for line in f]
        if "published" in cols:
            for r in recs:
                r["published"] = datetime.fromisoformat(r["published"])
        frames.append(pl.DataFrame(recs, schema={c: SCHEMA[c] for c in cols}))
    return frames[0], frames[1]


def summary(df: pl.DataFrame) -> dict:
    """Counts for logs/meta: articles per role, stories, edit-type frequencies."""
    sizes = df.group_by("gold_story").len()["len"]
    return {"articles": df.height,
            "roles": dict(df.group_by("gold_role").len().iter_rows()),
            "gold_clusters": sizes.len(), "clusters_gt1": int((sizes > 1).sum()),
            "largest_cluster": int(sizes.max()),
            "edit_counts": dict(sorted(df.explode("edits").group_by("edits").len()
                                       .iter_rows()))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a labelled corpus")
    b.add_argument("--n-stories", type=int, default=3000)
    b.add_argument("--seed", type=int, default=7)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--holdout", action="store_true", help="odd-NEWID base items")
    b.add_argument("--data", help="eval-data dir (default: $DEDUP_EVAL_DATA or ../shared)")
    a = ap.parse_args(argv)
    try:
        df = build_corpus(a.n_stories, a.seed, a.holdout, a.data, verbose=True)
    except ReutersNotFound as e:
        print(f"skipped: {e}", file=sys.stderr)
        return 2
    meta = {"n_stories": a.n_stories, "seed": a.seed, "holdout": a.holdout, **summary(df)}
    pub, gold = write_corpus(df, a.out, meta)
    print(json.dumps(meta, indent=2))
    print(f"wrote {pub} and {gold}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
