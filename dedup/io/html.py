"""HTML pages to articles: main text and metadata with trafilatura.

A crawled news page is mostly not the article: navigation, cookie banners,
bylines, "Related stories" boxes, reader comments, newsletter prompts,
footers. `trafilatura <https://trafilatura.readthedocs.io>`_ is the reference
extractor for news (best F1 in the ScrapingHub and Bevendorff et al.
benchmarks); it finds the main text and reads the title, publication date
(htmldate), site name and canonical URL from the page's metadata (``<meta
property="og:...">``, JSON-LD, ``<time>``...). Comments are excluded.

The text keeps one paragraph per block, separated by blank lines (the sentence
aligner treats a blank line as a hard boundary); a first line that repeats the
title is dropped, since titles are stored apart and outlets re-headline freely.

Extraction is most of a crawled night's reading (about 30 pages a CPU second), and pages are
independent: the readers yield each page as a :class:`Page`, and :func:`extract_pages` extracts
a batch of them on forked worker processes (``read.workers``), in order.

Measured throughput and its share of a night: ``benchmarks/README.md``.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from dedup.io import extractor_guards
from dedup.io.decode import Undecodable, decode
from dedup.io.records import Reject, outlet_from_url

#: Media types read as HTML (WARC ``Content-Type``; other types are ``warc_not_html``).
HTML_TYPES = ("text/html", "application/xhtml+xml")

_SNIFF = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)[\s>/]", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"[ \t\u00a0]+")

# Dates as full ISO 8601 timestamps, fractions of a second included (htmldate's default keeps only the
# day, which would make every outlet's version of a story tie on "published").
_DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S.%f%z", "original_date": True, "extensive_search": True}


def latest_page_date() -> str:
    """The latest date a page may have (htmldate's ``max_date``): the end of tomorrow in UTC, the latest
    day anywhere on earth (as for a night, :mod:`dedup.state`). htmldate's default, the end of the
    machine's local today, made a page dated today in UTC "in the future" west of UTC in the evening: its
    date was then taken from elsewhere in the page (a copyright year: January 1st), and it became its
    story's original. A reader takes it once (:class:`dedup.io._Collector`), so one read gives every page
    the same limit, even across midnight; a long-lived process takes a new one with each read."""
    return f"{datetime.now(UTC).date() + timedelta(days=1)}T23:59:59.999999"


def looks_like_html(data: bytes) -> bool:
    """True when the first bytes are HTML markup (for payloads without a usable Content-Type)."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf")
    return bool(_SNIFF.match(head))


@lru_cache(maxsize=1)
def _trafilatura():
    try:
        import trafilatura
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError(f"reading HTML needs trafilatura (pip install trafilatura): {exc}") from None
    extractor_guards.install()   # bounds on three of its internals, active only in extract_article
    return trafilatura


def _paragraphs(text: str, title: str | None) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0].casefold() == title.strip().casefold():
        lines = lines[1:]
    return "\n\n".join(lines)


def extract_article(data: bytes, *, url: str | None = None, declared_charset: str | None = None,
                    forced_encoding: str | None = None, warnings=None,
                    latest: str | None = None, max_bytes: int | None = None) -> dict[str, Any] | Reject:
    """One HTML page to a raw record (``title``, ``text``, ``published``, ``url``, ``outlet``) or a Reject.

    ``url`` is where the page was fetched from (the WARC target URI); the
    page's own canonical URL is used when none is given. ``warnings`` (a
    Counter) receives the decoding decision. A page of more than ``max_bytes``
    (``ReadConfig.max_html_bytes``) whose markup and text outside its scripts and
    styles (:func:`_walked_bytes`) are still more than that is ``html_too_large``,
    not extracted: extraction time grows faster than the page
    (``benchmarks/README.md`` §5). Metadata scripts that are not JSON are cut
    first (:func:`_bound_unparsed_metadata`), and what three of the extractor's slower
    internals are given is bounded (:mod:`dedup.io.extractor_guards`). Stateless.
    """
    try:
        decoded = decode(data, declared=declared_charset, html=True, forced=forced_encoding)
    except Undecodable as exc:
        return Reject("", None, "undecodable", f"HTML page: {exc}")
    if warnings is not None:
        warnings.update(decoded.warnings)
    try:
        trafilatura = _trafilatura()
    except ImportError as exc:  # pragma: no cover - a declared dependency
        return Reject("", None, "unsupported_format", str(exc))
    tree = _parsed(decoded.text)
    if max_bytes is not None and len(data) > max_bytes and (walked := _walked_bytes(decoded.text, tree)) > max_bytes:
        return Reject("", None, "html_too_large", f"page of {len(data):,} bytes, {walked:,} of them outside its "
                      f"scripts, styles and comments, more than max_html_bytes={max_bytes:,}; not extracted "
                      "(raise read.max_html_bytes to extract it: extraction time grows faster than the page)")
    # given the tree, trafilatura copies it instead of parsing the text (the same tree)
    written = _bound_unparsed_metadata(tree) if tree is not None else []
    try:
        with extractor_guards.extraction(fallback_chars=MAX_UNPARSED_METADATA_CHARS, written=tuple(written)):
            doc = trafilatura.bare_extraction(decoded.text if tree is None else tree, url=url, with_metadata=True,
                                              include_comments=False, include_tables=True, include_images=False,
                                              include_links=False, date_extraction_params={
                                                  **_DATE_PARAMS, "max_date": latest or latest_page_date()})
    except Exception as exc:  # the extractor's parser errors are many and undocumented
        return Reject("", None, "malformed_html", f"cannot parse HTML: {type(exc).__name__}: {exc}")
    text = _paragraphs(getattr(doc, "text", None) or "", getattr(doc, "title", None)) if doc else ""
    if not text:
        return Reject("", None, "html_no_text", _no_text_message(decoded.text))
    return {
        "title": doc.title or None,
        "text": text,
        "published": doc.date or None,
        "url": url or doc.url or None,
        "outlet": _site_name(doc),
    }


#: Scripts the extractor reads (trafilatura's and htmldate's metadata: JSON-LD), which count in a page's size.
_METADATA_SCRIPTS = ("application/ld+json", "application/settings+json")

#: The most characters of metadata scripts that are not JSON (:data:`_METADATA_SCRIPTS`, all of a page's
#: together) left to the extractor (:func:`_bound_unparsed_metadata`), and the most characters its fallback
#: for scripts that are not JSON as it normalises them is given in one text, the page's texts' lengths squared
#: summing to at most its square (:mod:`dedup.io.extractor_guards`).
#: trafilatura searches such a script with regular expressions (an author, a publisher; a forum posting type)
#: that take time quadratic in its length on some texts (``"author":`` or ``"Person"`` over and over without a
#: closing brace): a crafted 100 kB script took 8 CPU s, 200 kB 31 s, and ``read.max_html_bytes`` lets 4 MiB
#: through (hours). Cut to 10,000 characters the worst text measured costs about 0.1 s a page, a few ordinary
#: pages (16,000: 0.3 s, 32,000: 1.3 s); real malformed JSON-LD (a trailing comma, an unescaped quote) is a
#: few kB and kept whole, and one carrying a long article body keeps its head: type, headline, author,
#: publisher (``benchmarks/README.md`` §5).
MAX_UNPARSED_METADATA_CHARS = 10_000

_METADATA_XPATH = ".//script[" + " or ".join(f'@type="{kind}"' for kind in _METADATA_SCRIPTS) + "]"


def _parsed(page: str) -> Any:
    """The page as trafilatura parses it (``load_html``), or None when the parser fails or finds no HTML
    (then the extractor is given the text, and fails or finds nothing as before)."""
    try:
        return _trafilatura().load_html(page)
    except Exception:  # noqa: BLE001 - the parser's errors are many: the extractor meets them again
        return None


def _bound_unparsed_metadata(tree: Any) -> list[str]:
    """Cut the metadata scripts (the ones trafilatura and htmldate read: the types of
    :data:`_METADATA_SCRIPTS`) that are not JSON as written to :data:`MAX_UNPARSED_METADATA_CHARS`
    characters in all, in page order: the first ones whole, then one cut, the rest emptied (the extractor
    skips an empty script). trafilatura searches them with regular expressions, in time quadratic in their
    length: its fallback for metadata that is not JSON, and its check for a forum posting (on the text as
    written). A script that is JSON as written is left whole: htmldate reads its date and trafilatura's
    baseline its article body as written; should trafilatura's normalisation (which unescapes ``&quot;``
    when the text holds a backslash) make it not JSON, what its fallback is given of it is bounded
    instead (:mod:`dedup.io.extractor_guards`). All of an ordinary page's malformed JSON-LD (a trailing
    comma, an unescaped quote), a few kB, is left whole too. In place; returns the texts of the scripts that
    are JSON as written."""
    left, written = MAX_UNPARSED_METADATA_CHARS, []
    for script in tree.xpath(_METADATA_XPATH):
        if not script.text:
            continue
        if _is_json(script.text):
            written.append(script.text)
            continue
        if len(script.text) > left:
            script.text = script.text[:left] or None
        left -= len(script.text or "")
    return written


def _is_json(text: str) -> bool:
    """Whether ``json.loads`` reads the text as the extractor calls it (``strict=False``: control characters in
    strings), as a JSON value."""
    import json

    try:
        json.loads(text, strict=False)
    except (ValueError, RecursionError):   # JSONDecodeError is a ValueError; nesting too deep to parse
        return False
    return True


def _walked_bytes(page: str, tree: Any) -> int:
    """The bytes of the page the extractor walks: the page as trafilatura parses it (``load_html``: lxml's
    HTML parser, comments dropped), serialised, less its ``<script>`` and ``<style>`` elements but the
    JSON-LD ones (:data:`_METADATA_SCRIPTS`), which trafilatura and htmldate parse and search. Extraction
    time grows with that (its XPath queries over the body's elements and text), not with an inline state
    blob or style sheet, which the parser keeps as one text each and the extractor drops. Measured on the
    parsed tree, not by scanning the bytes, so no markup can pass for a script (a ``<script>`` inside a
    comment or an attribute, a comment never closed): the parser decides. ``tree`` is the page parsed
    (:func:`_parsed`; None: it failed, or found no HTML, parsed again here to tell which)."""
    from lxml import etree

    try:
        tree = tree if tree is not None else _trafilatura().load_html(page)
        if tree is None:   # not HTML to the extractor either: it finds no text, cheaply
            return 0
        size = len(etree.tostring(tree, encoding="utf-8"))
        for element in tree.iter("script", "style"):   # never nested: the parser reads their content as text
            if (element.get("type") or "").strip().lower() not in _METADATA_SCRIPTS:
                size -= len(etree.tostring(element, encoding="utf-8", with_tail=False))
    except Exception:  # noqa: BLE001 - the parser's errors are many: then the page counts whole, as bytes
        return len(page.encode("utf-8", "surrogatepass"))
    return size


def _no_text_message(page: str) -> str:
    """Why a page gave no text: its markup passed a limit of the HTML parser (lxml's, libxml2's: elements
    nested over 256 deep, a text run over 10 MB), which drops the rest of the page, or else it holds none.
    Parsed again only here, for the pages without text (~0.01 s a MB)."""
    from lxml import etree

    options = {"collect_ids": False, "default_doctype": False, "remove_comments": True, "remove_pis": True}
    parser = etree.HTMLParser(**options)
    with contextlib.suppress(etree.LxmlError, ValueError):   # an empty document: no limit met
        try:   # the text first, as trafilatura parses it
            etree.fromstring(page, parser)
        except ValueError:   # a str that starts with <?xml encoding=...?>: bytes, as trafilatura falls back to
            parser = etree.HTMLParser(**options, encoding="utf-8")
            etree.fromstring(page.encode("utf-8", "surrogatepass"), parser)
    limits = sorted({error.message.split(",")[0].strip() for error in parser.error_log
                     if error.type_name == "ERR_RESOURCE_LIMIT"})
    if limits:
        return (f"no article text found: the HTML parser stopped at a limit of its own ({'; '.join(limits)[:200]}): "
                "elements nested too deep or a text run too long; the rest of the page was dropped")
    return "no article text found in the page (an index, login or empty page, or all of it looked like navigation)"


@dataclass(frozen=True)
class Page:
    """An HTML page a reader found, to extract later (:func:`extract_pages`): the arguments of
    :func:`extract_article` but its warnings."""

    data: bytes
    url: str | None = None
    declared_charset: str | None = None
    forced_encoding: str | None = None
    max_bytes: int | None = None      # ReadConfig.max_html_bytes: a larger page is html_too_large

    def extract(self, latest: str | None = None) -> tuple[dict[str, Any] | Reject, Counter]:
        """:func:`extract_article` of the page (``latest``: the latest date it may have, see
        :func:`latest_page_date`), and the warnings it counted."""
        warnings: Counter = Counter()
        raw = extract_article(self.data, url=self.url, declared_charset=self.declared_charset,
                              forced_encoding=self.forced_encoding, warnings=warnings, latest=latest,
                              max_bytes=self.max_bytes)
        return raw, warnings


#: Fewer pages than this are extracted in-process: forking workers costs more than it saves.
MIN_PARALLEL_PAGES = 8


def extract_pages(pages: list[Page], workers: int, latest: str | None = None,
                  done: Callable[[int], None] | None = None) -> list[tuple[dict[str, Any] | Reject, Counter]]:
    """:meth:`Page.extract` of each page with ``latest`` (:func:`latest_page_date`), in order, on up to
    ``workers`` forked processes (0: one per core; 1, or fewer than :data:`MIN_PARALLEL_PAGES` pages: in
    this process). The same results in any case: each page is extracted alone
    (:func:`dedup.align.parallel.map_chunks` keeps the order). ``done(n)`` is told of each chunk of ``n``
    pages as its results come back (the read's progress bar: extraction is most of a crawled night)."""
    from dedup.align.parallel import (  # not at import: io <- align
        available_cores,
        bounds_for,
        map_chunks,
    )

    wanted = available_cores() if workers == 0 else workers
    wanted = 1 if len(pages) < MIN_PARALLEL_PAGES else wanted
    if wanted > 1:
        _trafilatura()   # imported once here, not once per worker
    latest = latest or latest_page_date()
    parts = map_chunks(_extract_chunk, (pages, latest), bounds_for([len(page.data) for page in pages], wanted), wanted,
                       done=None if done is None else lambda start, stop: done(stop - start))
    return [result for part in parts for result in part]


def _extract_chunk(data: tuple[list[Page], str], start: int, stop: int
                   ) -> list[tuple[dict[str, Any] | Reject, Counter]]:
    pages, latest = data
    return [_extracted(page, latest) for page in pages[start:stop]]


def _extracted(page: Page, latest: str) -> tuple[dict[str, Any] | Reject, Counter]:
    """:meth:`Page.extract`; an unexpected error (a bug) is the page's ``reader_error`` reject, so that one
    page never fails its batch, which holds pages of other files."""
    try:
        return page.extract(latest)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad page must not stop the night
        return Reject("", None, "reader_error", f"the page could not be extracted ({type(exc).__name__}: "
                      f"{str(exc)[:200]}); please report this bug"), Counter()


def _site_name(doc: Any) -> str | None:
    """The site name the page states, or None.

    trafilatura falls back to the host of the page's canonical URL, but a
    syndicated copy often keeps the original outlet's canonical link; the
    record mapper falls back to the host of the URL the page was fetched from
    instead.
    """
    name = (doc.sitename or "").strip()
    if not name:
        return None
    canonical_host = outlet_from_url(doc.url)
    # read as a host, as that fallback is the URL's as written: with a port (``example.com:443``), in capitals
    if canonical_host and outlet_from_url(f"http://{name}") == canonical_host:
        return None
    return name
