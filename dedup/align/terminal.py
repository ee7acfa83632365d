"""Terminal rendering of the sentence diff between two articles (``dedup diff A B``).

Article A plays the canonical version and B the version compared with it. The
output reads top to bottom in B's order, with A's dropped sentences placed
where they stood::

    --- A: Reuters  Storm hits coast
    +++ B: Daily    Storm hits coast, 3 dead
      The storm made landfall on Tuesday.            kept (dim)
    ~ Officials said [-two-]{+three+} people died.   edited, word diff inline
    + The mayor visited the shelter.                 added (green)
    - Power was cut to 10,000 homes.                 dropped (red)
    B: 1 kept, 1 edited, 1 added, 1 dropped (A has 3 sentences)

An edited line that merges two A sentences or is part of a split one says so
after it, in the report's words ("edited; two sentences merged into one",
"split in 2 (part 1), same words"). The last line counts A's sentences once
each, as the report does (a merged one edited, a split one edited once), and
B's added ones; with ``titles_differ``, it ends "(A has 3 sentences; titles differ)":
the titles are in the header lines only, never diffed.

With ``color`` the markers are ANSI colours (deletions red and struck
through, insertions green); without, ``[-...-]`` and ``{+...+}`` as in
``git diff --word-diff=plain``. Control characters, line separators and
bidirectional controls in the texts are never passed to the terminal.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from dedup.normalize import TERMINAL_UNSAFE

if TYPE_CHECKING:
    from dedup.align import AlignConfig
    from dedup.align.tfidf import IdfModel

_RESET, _DIM, _BOLD = "\x1b[0m", "\x1b[2m", "\x1b[1m"
_RED, _GREEN, _YELLOW, _STRIKE = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[9m"
_CONTROL = re.compile(f"[{TERMINAL_UNSAFE}]+")


def render_diff(text_a: str, text_b: str, *, title_a: str, title_b: str, color: bool,
                config: "AlignConfig | None" = None, idf: "IdfModel | None" = None,
                titles_differ: bool = False) -> str:
    """The sentence diff of ``text_b`` against ``text_a`` as printable text. Stateless.

    ``idf`` defaults to one fitted on the two texts' sentences; pass one fitted
    on a whole corpus (:func:`dedup.align.fit_idf`) when the articles come from
    one, for the weights the nightly run uses. ``titles_differ``: the articles'
    titles differ (the caller's to say: ``title_a`` and ``title_b`` are labels),
    which the last line then says, since only the texts are diffed.
    """
    from dedup.align import AlignConfig, fit_idf
    from dedup.align.core import align_cluster

    config = config or AlignConfig()
    when = datetime(1970, 1, 1)
    frame = pl.DataFrame({
        "cluster_id": ["diff", "diff"], "article_id": ["A", "B"], "outlet": [title_a, title_b],
        "published": [when, when], "is_canonical": [True, False], "text": [text_a or "", text_b or ""],
        "cluster_size": [2, 2],
    })
    if idf is None:
        idf = fit_idf(frame.select("article_id", "text"), frame, config=config)
    sentences, _links = align_cluster(frame.drop("cluster_size"), idf=idf, config=config)
    rows = sentences.filter(pl.col("article_id") == "B")
    n_canonical = sentences.filter(pl.col("article_id") == "A").height
    return _render(rows, n_canonical, title_a=title_a, title_b=title_b, color=color, titles_differ=titles_differ)


def _render(rows: pl.DataFrame, n_canonical: int, *, title_a: str, title_b: str, color: bool,
            titles_differ: bool) -> str:
    from dedup.report.entries import dropped_after

    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    own = rows.filter(pl.col("status") != "dropped").sort("position").to_dicts()
    dropped = {r["position"]: r for r in rows.filter(pl.col("status") == "dropped").sort("position").to_dicts()}
    # A dropped sentence follows B's row of the nearest A sentence before it (the last such row, for a split
    # one), wherever B moved that sentence; with none before it, it leads. The report places them alike.
    after = {k: [dropped[p] for p in gone]
             for k, gone in dropped_after([r["canonical_position"] for r in own], dropped).items()}
    merged = _merged(rows, n_canonical)
    parts = Counter(r["canonical_position"] for r in own if r["status"] == "edited")
    seen: Counter = Counter()
    lines = [paint(_BOLD, f"--- A: {_clean(title_a)}"), paint(_BOLD, f"+++ B: {_clean(title_b)}")]
    lines.extend(paint(_RED, f"- {_clean(r['text'])}") for r in after.get(-1, []))
    for k, row in enumerate(own):
        status = row["status"]
        if status == "kept":
            lines.append(paint(_DIM, f"  {_clean(row['text'])}"))
        elif status == "added":
            lines.append(paint(_GREEN, f"+ {_clean(row['text'])}"))
        else:
            at = row["canonical_position"]
            seen[at] += 1
            note = _edit_note(row["word_diff"] or [], at in merged, parts[at], seen[at])
            lines.append(paint(_YELLOW, "~ ") + _inline(row["word_diff"] or [], color)
                         + (paint(_DIM, f"   ({note})") if note != "edited" else ""))
        lines.extend(paint(_RED, f"- {_clean(r['text'])}") for r in after.get(k, []))
    counts = _counts(rows, merged)
    lines.append(f"B: {counts['kept']} kept, {counts['edited']} edited, {counts['added']} added, "
                 f"{counts['dropped']} dropped (A has {n_canonical} {'sentence' if n_canonical == 1 else 'sentences'}"
                 f"{'; titles differ' if titles_differ else ''})")
    return "\n".join(lines) + "\n"


def _merged(rows: pl.DataFrame, n_canonical: int) -> set[int]:
    """The A positions of B's edited sentences that merge the next A sentence into their own.

    Such a sentence carries the first A sentence's position and B has no row for the second (README:
    ``canonical_position``), as :func:`dedup.report.entries._slotted` finds them for the report.
    """
    held = {p for p in rows["canonical_position"].to_list() if p is not None}
    edited = rows.filter(pl.col("status") == "edited")["canonical_position"].to_list()
    return {p for p in edited if p is not None and p + 1 < n_canonical and p + 1 not in held}


def _counts(rows: pl.DataFrame, merged: set[int]) -> dict[str, int]:
    """A's sentences by what B did with each, once each (a split one is edited once, one merged into the
    sentence before is edited too), so that kept + edited + dropped is A's count; and B's added sentences."""
    by_status = {s: set(rows.filter(pl.col("status") == s)["canonical_position"].drop_nulls().to_list())
                 for s in ("kept", "edited", "dropped")}
    edited = by_status["edited"] | {p + 1 for p in merged}
    return {"kept": len(by_status["kept"] - edited), "edited": len(edited),
            "dropped": len(by_status["dropped"] - edited - by_status["kept"]),
            "added": rows.filter(pl.col("status") == "added").height}


def _edit_note(diff: list[dict[str, str]], merged: bool, n_parts: int, part: int) -> str:
    """What an edited sentence changed, in the report's words (``editNote`` in report-story.js): "edited"
    when only its words; a merge of two A sentences or a split one says so, and "same words" when
    only the sentence boundaries (and the spaces at them) differ."""
    changed = any(piece["op"] != "=" and (piece["text"] or "").strip() for piece in diff)
    how = "two sentences merged into one" if merged else f"split in {n_parts} (part {part})" if n_parts > 1 else ""
    if not how:
        return "edited" if changed else "same words, other sentence boundaries"
    return f"edited; {how}" if changed else f"{how}, same words"


def _inline(diff: list[dict[str, str]], color: bool) -> str:
    out: list[str] = []
    texts = [_clean(piece["text"], keep_edges=True) for piece in diff]
    for k, (piece, text) in enumerate(zip(diff, texts)):
        core = text.strip()
        lead, tail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
        if piece["op"] == "=" or (piece["op"] == "+" and not core):
            out.append(text)
        elif piece["op"] == "-":
            if not core:
                continue  # whitespace the version no longer has
            # one space around a deletion, whichever side carries it
            lead = lead if not out or not out[-1][-1:].isspace() else ""
            tail = tail if k + 1 == len(texts) or not texts[k + 1][:1].isspace() else ""
            out.append(lead + (f"{_RED}{_STRIKE}{core}{_RESET}" if color else f"[-{core}-]") + tail)
        else:
            out.append(lead + (f"{_GREEN}{core}{_RESET}" if color else f"{{+{core}+}}") + tail)
    return "".join(out).strip()


def _clean(text: str | None, *, keep_edges: bool = False) -> str:
    text = _CONTROL.sub(" ", text or "")
    return text if keep_edges else text.strip()
