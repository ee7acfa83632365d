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
* ``malformed_warc``: a record cut by the end of the file, or a stretch that
  cannot be parsed (a garbled or cut header block, garbage between records, a
  damaged gzip member): reading resumes at the next record
  (:class:`~dedup.io.warc_resync.RecordSource` looks for the next line
  ``WARC/1.0`` or ``WARC/1.1``; a ``.warc.gz`` goes on at its next gzip member,
  :mod:`dedup.io.gzip_members`), or the rest of the file is skipped if none
  follows.

The record's number is its position in the archive (1-based, counting every
record; an unreadable stretch counts as one record, however many it held).
``request``, ``metadata``, ``warcinfo``, ``revisit`` and other records hold no
page; they are counted under ``warc_skipped_<type>`` in
``warnings_by_reason``; a file without any ``response`` or ``resource``
record is one ``empty_file`` reject, as an empty file of any format. ``url``
is the record's ``WARC-Target-URI``; ``outlet`` is the page's site name, else
the URI's host.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dedup.io.decode import charset_from_content_type
from dedup.io.gzip_members import DamagedMember
from dedup.io.html import HTML_TYPES, Page, looks_like_html
from dedup.io.records import Reject
from dedup.io.streams import FileRejected, Source, open_stream
from dedup.io.warc_resync import RecordSource

_PAGE_TYPES = ("response", "resource")
_OTHER_TYPES = ("warcinfo", "request", "metadata", "revisit", "conversion", "continuation")
_RECORD_END = len(b"\r\n\r\n")   # the two line ends after a record's block
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
    with open_stream(source, skip_damaged=True) as stream:
        data = RecordSource(stream)
        records = _records(data)
        number = read = 0           # the last record's number (a stretch that cannot be read is one); those yielded
        start, block_end = 0, None  # where the record being read begins; where the last one parsed ends its block
        stretch: _Stretch | None = None   # the unreadable stretch being stepped over: yielded when it ends
        while True:
            noise = io.StringIO()  # warcio reports bad record lengths on stderr; count them instead
            try:
                with contextlib.redirect_stderr(noise):
                    records.read_to_end()   # the rest of the record before, as next() would: warcio then knows
                    start = records.offset  # where this record begins
                    data.watch(start)
                    record = next(records)
                    data.parsed()
                    block_end = _block_end(record, records, data)
                    kind = (record.rec_type or "").lower()
                    raw = _page(record, number + 1, source) if kind in _PAGE_TYPES else None
            except StopIteration:
                break
            except FileRejected:   # the rest of the file is one reject (read_file's); a stretch before it is one
                if stretch:
                    yield stretch.number, stretch.reject()
                raise
            except Exception as exc:  # warcio raises many kinds on truncated or corrupt archives
                if isinstance(exc, DamagedMember) and not stretch and _read_whole(exc, block_end):
                    source.warnings["warc_damaged_member_read"] += 1   # no record lost; some may be altered (README)
                elif not stretch:
                    number += 1
                    stretch = _Stretch(number, _cause(exc, number, start))
                if stretch:
                    stretch.resumed = _resume(data, exc, start)
                    if stretch.resumed is None:
                        break
                records = _records(data)
                continue
            finally:
                if noise.getvalue():
                    source.warnings["warc_bad_record_length"] += 1
            if stretch:
                read += 1
                yield stretch.number, stretch.reject()
                stretch = None
            number += 1
            if kind not in _PAGE_TYPES:
                source.warnings[f"warc_skipped_{kind if kind in _OTHER_TYPES else 'other'}"] += 1
                continue
            read += 1
            yield number, raw
    if stretch:
        yield stretch.number, stretch.reject()
    elif number and not read:   # none of its records is one of the run (a file of none: read_file says so)
        raise FileRejected("empty_file", f"WARC file holds no response or resource record, only "
                           f"{number:,} other records")


def _records(data: RecordSource) -> Any:
    """warcio's iterator over the records of ``data`` from where it stands (after a bad record: the next one)."""
    from warcio.archiveiterator import ArchiveIterator

    return ArchiveIterator(data, check_digests=False)


def _block_end(record: Any, records: Any, data: RecordSource) -> int | None:
    """Where the block of ``record``, just parsed by ``records``, ends in ``data`` (None without a Content-Length):
    the offset warcio has read to (what it took from ``data``, less what its buffer still holds, as warcio counts
    its own offsets), plus what is left of the block."""
    left = getattr(record.raw_stream, "limit", None)
    return None if left is None else data.tell() - records.reader.rem_length() + left


def _read_whole(exc: DamagedMember, block_end: int | None) -> bool:
    """Whether the records of the damaged member ``exc`` were all read whole, so that no record is lost (their
    text may still be altered from the damage on: README says so): only the
    check at its end failed, after all its output was handed out (a member too large to be held back until its
    check, :mod:`dedup.io.gzip_members`), and that output ended with the block of the last record parsed
    (``block_end``), or in the two line ends after it. warcio had then read that record to its end (it asks for
    more only past what it needs), and the member held no part of the next record; a member whose output ended
    anywhere else held part of a record that cannot be read.
    """
    return exc.output_whole and block_end is not None and block_end <= exc.output_end <= block_end + _RECORD_END


def _cause(exc: Exception, number: int, start: int) -> str:
    """Why record ``number`` (at ``start`` in the decompressed data) cannot be read, for its reject."""
    if isinstance(exc, DamagedMember):   # the message names the member's bytes in the file
        return f"cannot read WARC record {number}: {exc}"
    return f"cannot parse WARC record {number} (at byte {start:,}): {type(exc).__name__}: {str(exc)[:200]}"


def _resume(data: RecordSource, exc: Exception, start: int) -> str | None:
    """Go on at the next record after the one at ``start`` that raised ``exc``, and say where; None if no record
    follows."""
    if isinstance(exc, DamagedMember):   # stepped over already: the next member starts a record
        return "reading resumed at the next member"
    resumed = data.resume_after(start)
    return None if resumed is None else f"reading resumed at the next record, at byte {resumed:,}"


@dataclass
class _Stretch:
    """Bytes that cannot be read as records, from the record ``number`` on, counted as one record: what was wrong
    there (``cause``), and where reading resumed (None: nowhere, the rest of the file is skipped)."""

    number: int
    cause: str
    resumed: str | None = None

    def reject(self) -> Reject:
        return Reject("", self.number, "malformed_warc", f"{self.cause}; "
                      f"{self.resumed or 'no record follows: the rest of the file is skipped'}")
