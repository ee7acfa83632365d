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

With ``color`` the markers are ANSI colours (deletions red and struck
through, insertions green); without, ``[-...-]`` and ``{+...+}`` as in
``git diff --word-diff=plain``. Control characters, line separators and
bidirectional controls in the texts are never passed to the terminal.
"""

from __future__ import annotations

import re
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
                config: "AlignConfig | None" = None, idf: "IdfModel | None" = None) -> str:
    """The sentence diff of ``text_b`` against ``text_a`` as printable text. Stateless.

    ``idf`` defaults to one fitted on the two texts' sentences; pass one fitted
    on a whole corpus (:func:`dedup.align.fit_idf`) when the articles come from
    one, for the weights the nightly run uses.
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
    return _render(rows, n_canonical, title_a=title_a, title_b=title_b, color=color)


def _render(rows: pl.DataFrame, n_canonical: int, *, title_a: str, title_b: str, color: bool) -> str:
    from dedup.report.entries import dropped_after

    def paint(code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    own = rows.filter(pl.col("status") != "dropped").sort("position").to_dicts()
    dropped = {r["position"]: r for r in rows.filter(pl.col("status") == "dropped").sort("position").to_dicts()}
    # A dropped sentence follows B's row of the nearest A sentence before it (the last such row, for a split
    # one), wherever B moved that sentence; with none before it, it leads. The report places them alike.
    after = {k: [dropped[p] for p in gone]
             for k, gone in dropped_after([r["canonical_position"] for r in own], dropped).items()}
    lines = [paint(_BOLD, f"--- A: {_clean(title_a)}"), paint(_BOLD, f"+++ B: {_clean(title_b)}")]
    lines.extend(paint(_RED, f"- {_clean(r['text'])}") for r in after.get(-1, []))
    for k, row in enumerate(own):
        status = row["status"]
        if status == "kept":
            lines.append(paint(_DIM, f"  {_clean(row['text'])}"))
        elif status == "added":
            lines.append(paint(_GREEN, f"+ {_clean(row['text'])}"))
        else:
            lines.append(paint(_YELLOW, "~ ") + _inline(row["word_diff"] or [], color))
        lines.extend(paint(_RED, f"- {_clean(r['text'])}") for r in after.get(k, []))
    counts = {s: rows.filter(pl.col("status") == s).height for s in ("kept", "edited", "added", "dropped")}
    lines.append(f"B: {counts['kept']} kept, {counts['edited']} edited, {counts['added']} added, "
                 f"{counts['dropped']} dropped (A has {n_canonical} {'sentence' if n_canonical == 1 else 'sentences'})")
    return "\n".join(lines) + "\n"


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
