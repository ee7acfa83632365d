"""WARC archives to articles: one article per HTML response record.

Crawlers (and the public CC-NEWS crawl) store what they fetched as WARC: a
sequence of records, each with WARC headers, and for ``response`` records the
HTTP status line, headers and body. Parsing uses `warcio
<https://github.com/webrecorder/warcio>`_ (pure Python, so a hostile file can
only raise, never crash the process; the faster fastwarc was measured too, see
``benchmarks/README.md``: parsing is a few per cent of extraction time
either way). Decompression (a ``.warc.gz`` of per-record gzip members, or any
other compression) goes through :func:`~dedup.io.streams.open_stream`, so the
bomb guard holds here too.

Every ``response`` or ``resource`` record is a record of the run: it becomes an
article, or a reject with its reason:

* ``warc_status_404`` (``_301``, ``_500``...): the HTTP status is not 200;
  ``warc_status_invalid`` when it is not a number;
* ``warc_not_html``: the payload is not ``text/html`` or
  ``application/xhtml+xml`` (untyped payloads are sniffed);
* ``record_too_large``, ``html_too_large``, ``undecodable``, ``malformed_html``,
  ``html_no_text``: as for HTML files;
* ``malformed_warc``: the archive cannot be parsed past this point (truncated
  or corrupt); the rest of the file is skipped.

The record's number is its position in the archive (1-based, counting every
record). ``request``, ``metadata``, ``warcinfo``, ``revisit`` and other records
hold no page; they are counted under ``warc_skipped_<type>`` in
``warnings_by_reason``; a file without any ``response`` or ``resource``
record is one ``empty_file`` reject, as an empty file of any format. ``url``
is the record's ``WARC-Target-URI``; ``outlet`` is the page's site name, else
the URI's host.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

from dedup.io.decode import charset_from_content_type
from dedup.io.html import HTML_TYPES, Page, looks_like_html
from dedup.io.records import Reject
from dedup.io.streams import FileRejected, ReadOnce, Source, open_stream

_PAGE_TYPES = ("response", "resource")
_OTHER_TYPES = ("warcinfo", "request", "metadata", "revisit", "conversion", "continuation")
_UNTYPED = ("", "application/octet-stream", "unk", "unknown", "text/plain")


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _page(record: Any, number: int, source: Source) -> Page | Reject:
    """A response or resource record to a page to extract, or a Reject."""
    uri = record.rec_headers.get_header("WARC-Target-URI") or None
    if record.rec_type == "response":
        http = record.http_headers
        if http is None or not getattr(http, "protocol", "").upper().startswith("HTTP"):
            return Reject("", number, "warc_not_html", f"response for {uri} has no HTTP payload")
        status = (http.get_statuscode() or "").strip()
        if status != "200":
            code = status if status.isascii() and status.isdigit() and len(status) == 3 else "invalid"
            return Reject("", number, f"warc_status_{code}", f"HTTP status {status[:20]!r} for {uri}")
        content_type = http.get_header("Content-Type")
    else:
        content_type = record.rec_headers.get_header("Content-Type")
    mime = _mime(content_type)
    if mime not in HTML_TYPES and mime not in _UNTYPED:
        return Reject("", number, "warc_not_html", f"payload of {uri} is {mime[:60]}, not HTML")
    limit = source.limits.max_record_bytes
    payload = record.content_stream().read(limit + 1)
    if len(payload) > limit:
        return Reject("", number, "record_too_large", f"payload of {uri} is longer than "
                      f"max_record_bytes={limit:,}; skipped")
    if getattr(record.raw_stream, "limit", 0) > 0 and not record.raw_stream.read(1):
        # warcio hands out a short payload when the archive ends inside the record.
        return Reject("", number, "malformed_warc", f"record for {uri} is truncated: the archive ends "
                      f"{record.raw_stream.limit:,} bytes before the record does")
    if mime not in HTML_TYPES and not looks_like_html(payload):
        return Reject("", number, "warc_not_html", f"payload of {uri} is {mime or 'untyped'} and does not "
                      "look like HTML")
    return Page(payload, url=uri, declared_charset=charset_from_content_type(content_type),
                forced_encoding=source.encoding,   # extracted by the collector (dedup.io.html.extract_pages)
                max_bytes=source.limits.max_html_bytes)


def read_warc(source: Source) -> Iterator[tuple[int, Any]]:
    """Stream the articles of one WARC file (see the module docstring)."""
    from warcio.archiveiterator import ArchiveIterator

    with open_stream(source) as stream:
        records = iter(ArchiveIterator(ReadOnce(stream), check_digests=False))
        number = pages = 0
        while True:
            number += 1
            noise = io.StringIO()  # warcio reports bad record lengths on stderr; count them instead
            try:
                with contextlib.redirect_stderr(noise):
                    record = next(records)
                    kind = (record.rec_type or "").lower()
                    raw = _page(record, number, source) if kind in _PAGE_TYPES else None
            except StopIteration:
                break
            except FileRejected:
                raise
            except Exception as exc:  # warcio raises many kinds on truncated or corrupt archives
                yield number, Reject("", number, "malformed_warc", f"cannot parse WARC record {number}: "
                                     f"{type(exc).__name__}: {str(exc)[:200]}; the rest of the file is skipped")
                return
            finally:
                if noise.getvalue():
                    source.warnings["warc_bad_record_length"] += 1
            if kind not in _PAGE_TYPES:
                source.warnings[f"warc_skipped_{kind if kind in _OTHER_TYPES else 'other'}"] += 1
                continue
            pages += 1
            yield number, raw
    if number > 1 and not pages:   # none of its records is one of the run (a file of none: read_file says so)
        raise FileRejected("empty_file", f"WARC file holds no response or resource record, only "
                           f"{number - 1:,} other records")
