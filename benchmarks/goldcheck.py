"""Invariant checks of a syndication corpus's gold (for tests and after edits).

``check_gold(df) -> list[str]`` takes a frame with the public and gold columns
of ``syndication.build_corpus`` (or ``articles.join(gold, on="id")`` from
``read_corpus``) and returns human-readable problems (empty = all good):

* ids unique; press releases each their own story;
* every story's wire original is strictly its earliest article, and has no
  added/dropped/edited gold; ``gold_base_spans`` tile the wire text's words;
* added spans lie inside the text, are sorted, disjoint and whitespace-trimmed;
* dropped indices are valid, ``gold_dropped_spans`` are their base sentences;
* copies without ``copy_edit``: the words outside added spans are exactly the
  words of the kept base sentences, in order (with ``copy_edit``: the kept
  base sentences that are not in ``gold_edited`` appear verbatim in the copy).

CLI: ``python benchmarks/goldcheck.py /tmp/synd.jsonl``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

_WORD = re.compile(r"\w+")


def _outside(text: str, spans) -> str:
    out, last = [], 0
    for s, e in spans:
        out.append(text[last:s])
        last = e
    return " ".join(out + [text[last:]])


def check_gold(df: pl.DataFrame, limit: int = 20) -> list[str]:
    """Problems found (at most ``limit``), empty when the gold is consistent."""
    bad: list[str] = []
    if df["id"].n_unique() != df.height:
        bad.append("duplicate ids")
    pr = df.filter(pl.col("gold_role") == "press_release")
    if pr["gold_story"].n_unique() != pr.height:
        bad.append("press releases share a gold story")
    wires = {r["gold_story"]: r for r in df.filter(pl.col("gold_role") == "wire").iter_rows(named=True)}
    for r in wires.values():
        if r["gold_added_spans"] or r["gold_dropped"] or r["gold_edited"]:
            bad.append(f"{r['id']}: wire original with added/dropped/edited gold")
        base = [r["text"][a:b] for a, b in r["gold_base_spans"]]
        if _WORD.findall(" ".join(base)) != _WORD.findall(r["text"]):
            bad.append(f"{r['id']}: gold_base_spans do not tile the wire text")
    for r in df.filter(pl.col("gold_role") == "copy").iter_rows(named=True):
        if len(bad) >= limit:
            break
        w, t, sp = wires.get(r["gold_story"]), r["text"], r["gold_added_spans"]
        if w is None:
            bad.append(f"{r['id']}: no wire original for story {r['gold_story']}")
            continue
        if not w["published"] < r["published"]:
            bad.append(f"{r['id']}: published before its wire original")
        if any(not 0 <= a < b <= len(t) or t[a:b] != t[a:b].strip() for a, b in sp) or \
                any(sp[i][1] > sp[i + 1][0] for i in range(len(sp) - 1)):
            bad.append(f"{r['id']}: malformed added spans {sp}")
            continue
        base = [w["text"][a:b] for a, b in w["gold_base_spans"]]
        if any(not 0 <= i < len(base) for i in r["gold_dropped"] + r["gold_edited"]):
            bad.append(f"{r['id']}: base sentence index out of range")
            continue
        if [w["text"][a:b] for a, b in r["gold_dropped_spans"]] != \
                [base[i] for i in r["gold_dropped"]]:
            bad.append(f"{r['id']}: gold_dropped_spans differ from the dropped sentences")
        gone = set(r["gold_dropped"])
        kept = [i for i in range(len(base)) if i not in gone]
        rest = _outside(t, sp)
        if "copy_edit" not in r["edits"]:
            if r["gold_edited"] or _WORD.findall(rest) != \
                    _WORD.findall(" ".join(base[i] for i in kept)):
                bad.append(f"{r['id']}: unedited copy differs from its kept base sentences")
        elif any(base[i] not in rest for i in kept if i not in set(r["gold_edited"])):
            bad.append(f"{r['id']}: a kept, unedited base sentence is missing from the copy")
    return bad[:limit]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.syndication import read_corpus

    argv = sys.argv[1:] if argv is None else argv
    articles, gold = read_corpus(argv[0])
    problems = check_gold(articles.join(gold, on="id"))
    print("\n".join(problems) or f"gold OK ({articles.height} articles)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
