"""Reader for the Reuters-21578 SGML collection (stdlib only).

The collection is research-only licensed, so it is never copied into this
repository: it is read at run time from ``<repo>/../shared/eval-data`` or from
the directory named by the ``DEDUP_EVAL_DATA`` environment variable (either
the ``eval-data`` directory that contains ``reuters21578/`` or the
``reuters21578/`` directory itself).

Public API (kept deliberately small):

* ``ReutersItem`` -- frozen dataclass: ``newid`` (int), ``date`` (tz-aware UTC
  ``datetime``), ``title``, ``dateline``, ``body`` (all ``str``), plus the
  ``topics`` and ``places`` category tuples.
* ``load_reuters(root=None, *, with_body=True) -> list[ReutersItem]`` -- all
  ``<REUTERS>`` elements ordered by NEWID; with ``with_body`` (default) only
  the 19,043 items that have a ``<BODY>``.
* ``load_reuters_frame(root=None) -> polars.DataFrame`` -- the same as a frame
  (columns newid, date, title, dateline, body, topics, places).
* ``find_reuters_dir(root=None) -> Path`` -- resolve the data directory, raising
  ``ReutersNotFound`` (a ``FileNotFoundError``) with a clear message.
* ``reuters_available(root=None) -> bool`` -- for ``pytest.mark.skipif``.

Text normalisation done by the parser: latin-1 decoding, HTML/SGML entity
unescaping, removal of control characters (``&#2;``, ``&#3;`` ...), removal of
the trailing ``" Reuter\\n&#3;"`` signature (any case), and stripping of
trailing whitespace.  Line wrapping and the 4-space paragraph indentation of
the original wire copy are kept in ``body``; ``paragraphs(body)`` re-flows it
into a list of one-line paragraphs.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

__all__ = [
    "ReutersItem",
    "ReutersNotFound",
    "find_reuters_dir",
    "reuters_available",
    "load_reuters",
    "load_reuters_frame",
    "paragraphs",
]

ENV_VAR = "DEDUP_EVAL_DATA"
DEFAULT_EVAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "eval-data"


class ReutersNotFound(FileNotFoundError):
    """Raised when the Reuters-21578 SGML files cannot be located."""


@dataclass(frozen=True, slots=True)
class ReutersItem:
    """One ``<REUTERS>`` element.  ``date`` is naive wire time interpreted as UTC."""

    newid: int
    date: datetime
    title: str
    dateline: str
    body: str
    topics: tuple[str, ...] = ()
    places: tuple[str, ...] = ()


_DOC_RE = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID_RE = re.compile(r'NEWID="(\d+)"')
_DATE_RE = re.compile(r"(\d{1,2})-([A-Z]{3})-(\d{4})\s+(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d+))?")
_SIGNATURE_RE = re.compile(  # "\n Reuter\n&#3;" and its many variants
    r"(?:\n|[ \t]{2,}|(?<=[.\"'] ))[ \t]*reuters?\b[^\n\w]{0,4}(?:[A-Z]\b)?\s*(?:&#3;)?\s*$",
    re.I)
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MONTHS = {m: i for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}


def find_reuters_dir(root: str | os.PathLike | None = None) -> Path:
    """Return the directory holding ``reut2-*.sgm``.

    ``root`` (or ``$DEDUP_EVAL_DATA``, or ``<repo>/../shared/eval-data``) may be
    either the eval-data directory or the ``reuters21578`` directory itself.
    """
    if root is None:
        root = os.environ.get(ENV_VAR) or DEFAULT_EVAL_DATA
    root = Path(root)
    for cand in (root / "reuters21578", root):
        if cand.is_dir() and any(cand.glob("reut2-*.sgm")):
            return cand
    raise ReutersNotFound(
        f"Reuters-21578 SGML files (reut2-*.sgm) not found under {root}. "
        f"Put the collection at <repo>/../shared/eval-data/reuters21578 or set "
        f"{ENV_VAR} to its location. It is research-only licensed and is never "
        f"shipped with this repository."
    )


def reuters_available(root: str | os.PathLike | None = None) -> bool:
    """True when ``find_reuters_dir(root)`` would succeed."""
    try:
        find_reuters_dir(root)
    except ReutersNotFound:
        return False
    return True


def _field(tag: str, doc: str) -> str | None:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", doc, re.S)
    return None if m is None else m.group(1)


def _clean(s: str) -> str:
    return _CTRL_RE.sub("", html.unescape(s))


def _parse_date(raw: str) -> datetime:
    m = _DATE_RE.search(raw)
    if m is None:
        raise ValueError(f"unparseable DATE {raw!r}")
    d, mon, y, hh, mm, ss, frac = m.groups()
    hh_i = min(int(hh), 23)  # one item has a 3-digit hour ("017:..."); clamp
    micro = int((frac or "0").ljust(6, "0")[:6])
    return datetime(int(y), _MONTHS[mon], int(d), hh_i, int(mm), int(ss), micro,
                    tzinfo=timezone.utc)


def _parse_doc(attrs: str, doc: str) -> ReutersItem:
    newid = int(_NEWID_RE.search(attrs).group(1))
    body = _field("BODY", doc)
    if body is not None:
        head, tail = body[:-60], body[-60:]  # the signature is at the very end
        while (stripped := _SIGNATURE_RE.sub("", tail)) != tail:
            tail = stripped
        body = head + tail
        body = _clean(body).rstrip()
    cats = {}
    for tag in ("TOPICS", "PLACES"):
        cats[tag] = tuple(re.findall(r"<D>(.*?)</D>", _field(tag, doc) or ""))
    return ReutersItem(
        newid=newid,
        date=_parse_date(_field("DATE", doc) or ""),
        title=" ".join(_clean(_field("TITLE", doc) or "").split()),
        dateline=" ".join(_clean(_field("DATELINE", doc) or "").split()).rstrip(" -"),
        body=body or "",
        topics=cats["TOPICS"],
        places=cats["PLACES"],
    )


def load_reuters(root: str | os.PathLike | None = None, *,
                 with_body: bool = True) -> list[ReutersItem]:
    """Parse every ``reut2-*.sgm`` file; return items sorted by NEWID.

    With ``with_body=True`` (default) items without a ``<BODY>`` (title-only
    "blah blah" briefs) are left out.  Raises ``ReutersNotFound`` when absent.
    """
    d = find_reuters_dir(root)
    items: list[ReutersItem] = []
    for path in sorted(d.glob("reut2-*.sgm")):
        text = path.read_bytes().decode("latin-1")
        for m in _DOC_RE.finditer(text):
            item = _parse_doc(m.group(1), m.group(2))
            if item.body or not with_body:
                items.append(item)
    items.sort(key=lambda it: it.newid)
    return items


def load_reuters_frame(root: str | os.PathLike | None = None, *,
                       with_body: bool = True):
    """``load_reuters`` as a polars DataFrame (``date`` is Datetime UTC)."""
    import polars as pl

    items = load_reuters(root, with_body=with_body)
    return pl.DataFrame(
        {
            "newid": [it.newid for it in items],
            "date": [it.date for it in items],
            "title": [it.title for it in items],
            "dateline": [it.dateline for it in items],
            "body": [it.body for it in items],
            "topics": [list(it.topics) for it in items],
            "places": [list(it.places) for it in items],
        },
        schema={"newid": pl.Int64, "date": pl.Datetime("us", "UTC"), "title": pl.String,
                "dateline": pl.String, "body": pl.String,
                "topics": pl.List(pl.String), "places": pl.List(pl.String)},
    )


_PARA_SPLIT_RE = re.compile(r"\n(?=[ \t]+\S)|\n\s*\n")


def paragraphs(body: str) -> list[str]:
    """Re-flow a wire body into one-line paragraphs.

    In Reuters-21578 a new paragraph starts on a line indented by spaces; other
    line breaks are just wrapping.  Whitespace runs inside a paragraph collapse
    to one space.  (Tables get mangled by this; callers filter them out.)
    """
    out = []
    for p in _PARA_SPLIT_RE.split(body):
        p = " ".join(p.split())
        if p:
            out.append(p)
    return out
