"""The plain-text summary printed at the end of ``dedup cluster``.

Titles and outlet names are untrusted: control characters (including the
escape sequences a terminal would obey) and bidirectional overrides are
removed before anything is printed, and columns are measured in terminal
cells, so wide (CJK) characters do not break the table. Stateless.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import polars as pl

from dedup.normalize import TERMINAL_UNSAFE
from dedup.report import model

_UNSAFE = re.compile(f"[{TERMINAL_UNSAFE}]+")
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
HEADLINE_CELLS = 60
OUTLET_CELLS = 20


def render_summary(summary: dict, clusters: pl.DataFrame, *, report_path: Path | None, top: int = 10,
                   color: bool) -> str:
    """The end-of-run summary: counts, the ``top`` stories by number of outlets, rejects, the report's path.

    ``summary`` is the run's ``summary.json`` content; missing keys are counted
    from ``clusters``. With ``color`` the headings are bold (ANSI escapes).
    Returns the text with a trailing newline.
    """
    summary = summary if isinstance(summary, dict) else {}
    numbers = model.overview_numbers(summary, clusters, None)
    bold = (lambda s: f"{_BOLD}{s}{_RESET}") if color else (lambda s: s)
    dim = (lambda s: f"{_DIM}{s}{_RESET}") if color else (lambda s: s)
    version = safe_line(summary.get("dedup_version")) or "dedup"
    files = numbers["files"]
    lines = [bold(f"dedup {version}".replace("dedup dedup", "dedup")) + ": "
             + f"{_n(numbers['read'])} records read" + (f" from {_n(files)} file(s)" if files is not None else "")]
    lines.append(f"  clustered {_n(numbers['clustered'])} · rejected {_n(numbers['rejected'])}")
    lines.append(f"  stories {_n(numbers['stories'])} (2+ articles; largest {_n(numbers['largest'])})"
                 f" · duplicates removed {_n(numbers['duplicates'])} · single articles {_n(numbers['singletons'])}")
    if numbers["rejected_by_reason"]:
        reasons = ", ".join(f"{safe_line(r)} {_n(c)}" for r, c in numbers["rejected_by_reason"])
        lines.append(f"  rejected by reason: {reasons}")
    failed = (summary.get("alignment") or {}).get("failures") or []
    if failed:   # stories clustered but not diffed: say so where the night is read, not only in summary.json
        reasons: dict[str, int] = {}
        for failure in failed:
            reasons[safe_line(failure.get("reason"))] = reasons.get(safe_line(failure.get("reason")), 0) + 1
        lines.append(f"  stories not aligned (no sentence diff): {_n(len(failed))} — "
                     + ", ".join(f"{r} {_n(c)}" for r, c in sorted(reasons.items())) + " (summary.json: alignment)")
    stories, total = model.top_stories(clusters, top)
    if stories:
        lines += ["", bold(f"Top {len(stories)} of {_n(total)} stories by number of outlets")]
        header = f"{'#':>4}  {'outlets':>7}  {'articles':>8}  {'first seen (UTC)':<16}  " \
                 f"{fit('first outlet', OUTLET_CELLS)}  headline"
        lines.append(dim(header))
        for rank, story in enumerate(stories, 1):
            when = model.year_first(story["published"], "-%m-%d %H:%M") if story["published"] else "unknown"
            outlet = story["outlet"] if story["outlet"] is not None else model.UNKNOWN_OUTLET
            headline = story["headline"] or model.UNTITLED
            # n_outlets counts named outlets: 0 when no article of the story names its outlet
            outlets = story["outlets"] or "unknown"
            lines.append(f"{rank:>4}  {outlets:>7}  {story['articles']:>8}  {when:<16}  "
                         f"{fit(outlet, OUTLET_CELLS)}  {fit(headline, HEADLINE_CELLS).rstrip()}")
        if total > len(stories):
            lines.append(dim(f"      … and {_n(total - len(stories))} more"))
    elif clusters.height:
        lines += ["", "No story was carried by more than one article."]
    if report_path is not None:
        lines += ["", f"Report: {bold(safe_line(str(report_path)))}"]
    return "\n".join(lines) + "\n"


def safe_line(value: Any) -> str:
    """``value`` on one line with no control characters or bidi overrides."""
    if value is None:
        return ""
    text = model.clean(value) or ""
    return _UNSAFE.sub(" ", text.replace("\ufffd", "?")).strip()


def cells(text: str) -> int:
    """Terminal cells ``text`` occupies (wide characters take two, combining marks none)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def fit(value: Any, width: int) -> str:
    """``value`` cut with an ellipsis or padded to exactly ``width`` cells."""
    text, used, out = safe_line(value), 0, []
    if cells(text) > width:
        for ch in text:
            w = cells(ch)
            if used + w > width - 1:
                break
            out.append(ch)
            used += w
        text = "".join(out) + "…"
    return text + " " * max(0, width - cells(text))


def _n(value: int | None) -> str:
    return f"{value:,}" if value is not None else "?"
