"""Planted corpora for the Spark tests and benchmark (fictional text, generated from a seed).

``skew_corpus`` is the issue's skew case: one story carried by thousands of
outlets (its band buckets hold thousands of articles: they are capped and
chained), a paragraph shared by every article across outlets (hot band
buckets that verification rejects), and one big outlet whose footer is
boilerplate (a hot per-outlet shingle count). ``planted_corpus`` is a smaller
mix of stories with trimmed, padded and edited copies, plus unrelated
articles, for quick equality checks.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

_WORDS = (
    "minister council harbour strike union wages talks port city officials spokesman agreement budget "
    "railway drought farmers river election court ruling appeal hospital nurses vaccine storm coast "
    "bridge tunnel airport flights delayed police protest market shares bank rates inflation exports "
    "fishing quota ferry museum festival school teachers parliament vote reform energy prices wind solar "
    "mayor district grain cargo tariff senate ministry hearing inquiry regulator lender bond yields copper "
    "orchard vineyard glacier valley canal dockers pilots freight depot refinery pipeline turbine reservoir"
).split()

SHARED = ("Readers can send tips to the regional desk at any hour of the day or night, in any language. "
          "This report was produced with support from the coastal journalism fund and its partners.")
FOOTER = ("Big Daily is an independent newspaper owned by its readers since nineteen twelve. "
          "Subscribe to the morning briefing for the top stories delivered before breakfast. "
          "Follow the newsroom on every platform for live updates from the harbour district.")
_T0 = datetime(2026, 11, 27, 6, 0, tzinfo=timezone.utc)


def sentences(rng: random.Random, n: int) -> list[str]:
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(12, 20))).capitalize() + "." for _ in range(n)]


def _row(id_: str, outlet: str, text: str, minutes: int, title: str | None = None) -> dict:
    when = (_T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": id_, "outlet": outlet, "title": title or f"Story {id_}", "text": text, "published": when}


def skew_corpus(copies: int = 5000, articles: int = 20000, big_outlet: int = 2000, seed: int = 11) -> list[dict]:
    """``articles`` rows: one story with ``copies`` copies, the rest unrelated; SHARED in every article."""
    rng = random.Random(seed)
    story = sentences(rng, 14)
    rows = [_row("story-0000", "Wire One", " ".join(story + [SHARED]), 0, "The story")]
    for k in range(1, copies):
        kept = list(story)
        del kept[rng.randrange(1, len(kept))]        # each outlet drops one sentence (never the lead)
        rows.append(_row(f"story-{k:04d}", f"Outlet {k:04d}", " ".join(kept + [SHARED]), 5 + k % 900))
    others = articles - copies
    for k in range(others):
        body = sentences(rng, rng.randint(10, 16))
        if k < big_outlet:
            outlet, text = "Big Daily", " ".join(body + [SHARED, FOOTER])
        else:
            outlet, text = f"Local {k % 7000:04d}", " ".join(body + [SHARED])
        rows.append(_row(f"other-{k:05d}", outlet, text, rng.randint(0, 2000)))
    rng.shuffle(rows)
    return rows


def planted_corpus(stories: int = 60, singles: int = 200, seed: int = 5) -> list[dict]:
    """Stories with 1-30 copies (trimmed, padded, a sentence edited, a stitched pair) and unrelated articles."""
    rng = random.Random(seed)
    rows = []
    bases = [sentences(rng, rng.randint(9, 16)) for _ in range(stories)]
    for s, base in enumerate(bases):
        rows.append(_row(f"s{s:03d}-wire", rng.choice(["Wire One", "Wire Two"]), " ".join(base), s))
        for c in range(rng.randint(1, 30)):
            version = list(base)
            kind = rng.random()
            if kind < 0.3:
                version = version[:rng.randint(4, len(version))]
            elif kind < 0.55:
                at = rng.randint(1, len(version))
                version[at:at] = sentences(rng, rng.randint(1, 3))
            elif kind < 0.75:
                i = rng.randrange(len(version))
                words = version[i].split()
                words[rng.randrange(len(words))] = rng.choice(_WORDS)
                version[i] = " ".join(words)
            elif kind < 0.78 and s + 1 < stories:
                half = bases[s + 1]
                version = version[:len(version) // 2] + half[:len(half) // 2]
            outlet = f"Outlet {rng.randrange(40):02d}"
            text = " ".join(version)
            if rng.random() < 0.5:
                text += " " + FOOTER.replace("Big Daily", outlet)
            rows.append(_row(f"s{s:03d}-c{c:02d}", outlet, text, s + 10 + rng.randint(0, 600)))
    for k in range(singles):
        outlet = f"Outlet {rng.randrange(40):02d}"
        rows.append(_row(f"single-{k:04d}", outlet, " ".join(sentences(rng, rng.randint(3, 12))), rng.randint(0, 900)))
    rows.append(_row("tiny-0001", "Outlet 01", "Too short to compare.", 3))
    rng.shuffle(rows)
    return rows


def resend_corpus(seed: int = 23) -> list[dict]:
    """A wire story, an outlet's copy, and the outlet's marked correction that rewrites most of it.

    ``wire`` (Wire One) is the story; ``copy`` (Coast Herald) carries its first
    eight sentences; ``fix`` (spelled "COAST HERALD" by its feed) is the
    copy's correction, ``CORRECTED - `` plus the copy's headline, keeping three
    of its sentences and rewriting five: containment about 0.37 with the
    copy and 0.33 with the wire, so only the re-send rule joins it, and only
    the rule's chaining guard keeps it with the wire (through the copy). Decoys:
    ``foreign`` is the same correction sent by another outlet; ``other_fix``
    is a Coast Herald correction of another headline with three other
    sentences of the story; ``namesake`` is an earlier Coast Herald item
    under the copy's very headline with an unrelated body (proposed by the
    rule, refused by verification). A few planted stories and singletons
    around them.
    """
    rng = random.Random(seed)
    story, rewrite, other = sentences(rng, 12), sentences(rng, 5), sentences(rng, 5)
    title = "Harbour council approves ferry terminal plan"
    rows = [
        _row("wire", "Wire One", " ".join(story), 0, "Harbour council approves new ferry terminal"),
        _row("copy", "Coast Herald", " ".join(story[:8]), 60, title),
        _row("fix", "COAST HERALD", " ".join(story[:3] + rewrite), 600, f"CORRECTED - {title}"),
        _row("foreign", "Bay Courier", " ".join(story[:3] + sentences(rng, 5)), 620, f"CORRECTED - {title}"),
        _row("other_fix", "Coast Herald", " ".join(story[3:6] + other), 640,
             "CORRECTED - Harbour council rejects airport runway"),
        _row("namesake", "Coast Herald", " ".join(sentences(rng, 8)), -2 * 24 * 60, title),
    ]
    return rows + planted_corpus(stories=4, singles=12, seed=seed + 1)


def update_chain_corpus(seed: int = 29, marked: bool = True) -> list[dict]:
    """A wire's story and its four updates, carried by three other outlets; decoys that must stay apart.

    ``wire-0`` (Wire One) is the story; ``wire-1``..``wire-4`` are the wire's
    updates, each a new top paragraph on the same body, headlined ``UPDATE n-``
    (``marked``) or with the bare headline. Five copies of one body are that
    outlet's boilerplate unless the updates count as one item. ``copy-*``
    carry the body's first eight sentences. The wire also sends six other
    stories, and a press-release wire sends five releases of one company, each
    two sentences of its own and the company's long "About" passage: its
    boilerplate, which must keep them apart.
    """
    rng = random.Random(seed)
    body, title = sentences(rng, 10), "Ferry operators suspend night crossings after harbour collision"
    rows = [_row("wire-0", "Wire One", " ".join(body), 0, title)]
    for k in range(1, 5):
        rows.append(_row(f"wire-{k}", "Wire One", " ".join(sentences(rng, 1) + body), 45 * k,
                         f"UPDATE {k}-{title}" if marked else title))
    rows += [_row(f"copy-{k}", outlet, " ".join(body[:8]), 90 + k) for k, outlet in
             enumerate(["Coast Herald", "Bay Courier", "Valley Post"])]
    rows += [_row(f"wire-other-{k}", "Wire One", " ".join(sentences(rng, 8)), 30 + k) for k in range(6)]
    about = sentences(rng, 6)
    rows += [_row(f"release-{k}", "Press Wire", " ".join(sentences(rng, 2) + about), 200 + k,
                  f"Harbour Lines {verb} results") for k, verb in
             enumerate(["announces", "reports", "comments on", "updates", "confirms"])]
    return rows


def write_jsonl(rows: list[dict], path: Path, parts: int = 1) -> Path:
    """Write ``rows`` as ``parts`` JSON Lines files in folder ``path`` (or one file if ``path`` ends .jsonl)."""
    if path.suffix == ".jsonl":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return path
    path.mkdir(parents=True, exist_ok=True)
    for p in range(parts):
        chunk = rows[p::parts]
        (path / f"part-{p:03d}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chunk),
                                                  encoding="utf-8")
    return path


def syndication_corpus(main: int = 4200, holdout: int = 700):
    """~20,700 articles simulated from Reuters-21578 by ``benchmarks/syndication.py`` (public columns).

    One build cannot reach 20,000 articles (its donor-sentence pool runs out
    past ~4,500 base stories), so the default split (``main`` stories, 17,259
    articles) is joined with the holdout split (``holdout`` stories), which
    shares no base or donor text with it; holdout ids get the prefix ``h``.
    Raises the simulator's ``ReutersNotFound`` when the data is absent.
    """
    import importlib.util

    import polars as pl

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "syndication.py"
    spec = importlib.util.spec_from_file_location("syndication", path)
    syndication = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(syndication)
    frames = [syndication.build_corpus(main, seed=7).select(syndication.PUBLIC_COLUMNS)]
    if holdout:
        frames.append(syndication.build_corpus(holdout, seed=7, holdout=True).select(syndication.PUBLIC_COLUMNS)
                      .with_columns(id=pl.lit("h") + pl.col("id")))
    return pl.concat(frames)
