"""Readers: input files to raw records.

Each reader is a generator of ``(record_number, raw)`` items for one
:class:`~dedup.io.streams.Source`, where ``raw`` is a dict (or whatever the
file held, which the mapper then rejects), a :class:`~dedup.io.html.Page` to
extract (HTML, WARC; the collector extracts pages in batches, on several
cores), or a :class:`Reject` for a record that could not even be parsed. Readers never raise for bad content; they raise
:class:`FileRejected` when a whole file (or the rest of it) is unusable: empty,
binary, over a size limit, a decompression bomb, not the format its name says;
and :func:`read_file` rejects a file from which its reader yields nothing
(``empty_file``, whatever the format). A text file of one line is the text,
with no title.
Decisions that keep a record (an encoding guessed, a WARC request record
skipped) are counted in ``source.warnings``.

Supported, each optionally compressed as ``.gz``, ``.bz2``, ``.xz`` or
``.zst`` (detected from the content when the name is wrong):

=================  ==========================================  =====================
format             extensions                                  record number
=================  ==========================================  =====================
JSON Lines         ``.jsonl`` ``.ndjson`` (streamed)           line
JSON               ``.json`` (object, array, or JSON Lines)    item (line for lines)
                   (streamed, see read_json)
CSV                ``.csv`` (streamed, see read_csv)           line the row starts on
Parquet            ``.parquet``                                row
text               ``.txt`` ``.md`` (first line: the title)    none (one per file)
HTML               ``.html`` ``.htm`` ``.xhtml``               none (one per file)
WARC               ``.warc`` (streamed)                        WARC record
=================  ==========================================  =====================
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from dedup.io.csvrules import (
    _BLANK_LINES,
    _OPEN_AT_END,
    RowReader,
    _breaks,
    _broken_quotes,
    _delimiter,
    _ends_a_line,
    check_header,
    not_closed,
    rest_not_read,
    row_or_reject,
    separator_hint,
    too_large,
)
from dedup.io.csvstream import read_csv_stream
from dedup.io.decode import Undecodable, decode
from dedup.io.html import Page
from dedup.io.inputs import format_of
from dedup.io.jsonstream import (
    _array_prefix,
    _json_error,
    _one_object_per_line,
    _parse_json,
    _sequence_prefix,
    read_json_stream,
)
from dedup.io.parquet import read_parquet
from dedup.io.records import Reject
from dedup.io.streams import (
    FileRejected,
    Source,
    has_wide_bom,
    iter_lines,
    open_stream,
    read_before_break,
    read_whole,
    splits_on_newline,
    utf8_stream,
)
from dedup.io.textplan import _NON_ASCII, text_plan
from dedup.io.warc import read_warc

Raw = tuple[int | None, Any]

__all__ = ["FileRejected", "Raw", "read_file"]

_BOM = b"\xef\xbb\xbf"


def _text_of(data: bytes, source: Source, what: str) -> str:
    try:
        decoded = decode(data, forced=source.encoding)
    except Undecodable as exc:
        raise FileRejected("undecodable", f"{what}: {exc}") from None
    source.warnings.update(decoded.warnings)
    return decoded.text


def _json_line(number: int, line: bytes, source: Source) -> Raw:
    if source.encoding and splits_on_newline(source.encoding):   # else the stream is UTF-8 already
        text = _text_of(line, source, f"line {number}")
    else:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            try:
                decoded = decode(line, guess=source.detected)   # a file's lines share its codec
            except Undecodable as exc:
                return number, Reject("", number, "undecodable", f"line {number}: {exc}")
            source.warnings.update(decoded.warnings)
            text = decoded.text
            if decoded.encoding != "utf-8" and splits_on_newline(decoded.encoding):   # not a UTF-16 BOM's
                # one line is little evidence (a single-byte codec decodes almost any bytes): a codec becomes
                # the file's guess once the detector gave it for two lines
                source.detections[decoded.encoding] += 1
                if source.detections[decoded.encoding] >= 2:
                    source.detected = decoded.encoding
    return _parse_json(number, text)


def read_jsonl(source: Source) -> Iterator[Raw]:
    """Stream one JSON object per line; a line over ``max_record_bytes`` is skipped unread.

    A UTF-16 or UTF-32 file (with its byte-order mark, or a forced ``encoding``
    whose newline is not the byte ``\\n``) is decoded as a whole stream
    (:func:`~dedup.io.streams.utf8_stream`), not line by line.
    """
    limit = source.limits.max_record_bytes
    with open_stream(source) as raw, utf8_stream(raw, source) as stream:
        for number, line in iter_lines(stream, limit):
            if line is None:
                yield number, Reject("", number, "record_too_large",
                                     f"line is longer than max_record_bytes={limit:,}; skipped unread")
                continue
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM):]
            if not line.strip():
                continue
            yield _json_line(number, line, source)


def _whole_or_prefix(source: Source, complete: Callable[[bytes], bytes]) -> tuple[bytes, FileRejected | None]:
    """The file's bytes, or, when its compressed data breaks part-way (``corrupt_compression``), the
    bytes before the break cut by ``complete`` to what may be whole records, and the reject of the rest.
    A UTF-16 or UTF-32 file (BOM or forced encoding) that breaks is rejected whole."""
    try:
        return read_whole(source), None
    except FileRejected as exc:
        if exc.reason != "corrupt_compression" or (source.encoding and not splits_on_newline(source.encoding)):
            raise
        data, broken = read_before_break(source)
        data = complete(data)
        if has_wide_bom(data) or not data.strip():
            raise broken from None
        return data, broken


def read_json(source: Source) -> Iterator[Raw]:
    """One object or an array of objects; JSON Lines saved as ``.json`` (most lines an object each, see
    :func:`~dedup.io.jsonstream._one_object_per_line`) are read line by line (a malformed line is that line's
    reject), and objects one after the other (pretty-printed) in turn.

    An array that breaks off part-way keeps the elements before the break:
    a malformed element (``malformed_json``) or compressed data that breaks
    (``corrupt_compression``, a truncated download) is one reject for the
    element it cuts and the rest, naming the element it starts on. JSON Lines
    whose compressed data breaks keep the lines before the break, as in a
    ``.jsonl`` file. A file broken in its first element, a single object and
    a UTF-16 or UTF-32 file (BOM or forced encoding) are rejected whole.

    The file is read as a stream (:mod:`dedup.io.jsonstream`, which says where it differs: a value longer than
    ``max_record_bytes`` characters is its reject), in the codec :func:`~dedup.io.textplan.text_plan` decides as
    ``decode()`` would; whole when it cannot (compressed data that breaks in another codec than UTF-8...).
    """
    plan = text_plan(source, cut="ascii", what="JSON file")
    yield from (_read_json_whole(source) if plan is None else read_json_stream(source, plan))


def _read_json_whole(source: Source) -> Iterator[Raw]:
    """:func:`read_json` from the file's whole text."""
    # after a break: the element it cuts is not read anyway, and a character it split would not decode
    data, broken = _whole_or_prefix(source, lambda data: data.rstrip(_NON_ASCII))
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    text = _text_of(data, source, "JSON file")
    del data   # not kept beside the text and the objects parsed from it
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        lines_of_objects = _one_object_per_line(text)
        if text.lstrip().startswith("{") and exc.msg == "Extra data" and not lines_of_objects:
            # objects one after the other, not one per line (pretty-printed, say): read in turn
            source.warnings["json_read_as_jsonl"] += 1
            yield from _sequence_prefix(text, broken)
            return
        if lines_of_objects:   # JSON Lines, even with malformed lines (the first one too)
            source.warnings["json_read_as_jsonl"] += 1
            # Lines end at "\n" only, as in .jsonl: str.splitlines() would also cut at U+2028, U+0085...,
            # which a JSON string may hold as they are.
            lines = text.split("\n")
            if broken is not None:
                lines.pop()   # the line the break cuts
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield _parse_json(number, line)
            if broken is not None:
                raise FileRejected(broken.reason, f"{broken.message}; the lines from {len(lines) + 1} on are not read")
            return
        if text.lstrip().startswith("["):
            yield from _array_prefix(text, exc, broken)
        raise broken or FileRejected("malformed_json", _json_error(exc, f"line {exc.lineno} column {exc.colno}")
                                     ) from None
    except (ValueError, RecursionError) as exc:
        raise FileRejected("malformed_json", f"unreadable JSON: {type(exc).__name__}") from None
    del text   # parsed: only the objects are read from here
    if isinstance(doc, list):
        yield from enumerate(doc, start=1)
    else:
        yield 1, doc
    if broken is not None:   # the data broke after a whole document
        raise broken


def read_csv(source: Source) -> Iterator[Raw]:
    """A header row, then one record per row (quoted multi-line fields allowed). The separator is the
    comma, or a semicolon, tab or bar when that cuts the header into more columns (:func:`_delimiter`).
    Blank lines before the header are skipped, and Excel's separator line ``sep=;`` too, whose separator is
    taken (:func:`_header_of`); the records are numbered by the file's lines all the same.

    A header that names a column twice, or none, rejects the file
    (``malformed_csv``); a row with more or fewer fields than the header, or the
    header repeated, is that row's ``malformed_csv`` reject
    (:func:`~dedup.io.csvrules.row_or_reject`).
    A row over several lines whose quotes do not close properly (an
    unterminated quote, which runs the following rows into one field) is one
    ``malformed_csv`` reject on the line it starts, naming the lines it
    swallowed; reading goes on after them. So is a last row whose quote is
    never closed.

    A compressed file whose data breaks part-way (``corrupt_compression``, a
    truncated download) keeps the rows of the lines decompressed before the
    break; the row the break cuts and the rest are one reject naming the line
    they start on (the whole file, if its encoding is UTF-16 or UTF-32).

    The file is read as a stream (:mod:`dedup.io.csvstream`), in the codec :func:`~dedup.io.textplan.text_plan`
    decides as ``decode()`` would; whole when it cannot (compressed data that breaks in another codec than UTF-8...).
    """
    plan = text_plan(source, what="CSV file")
    yield from (_read_csv_whole(source) if plan is None else read_csv_stream(source, plan))


def _read_csv_whole(source: Source) -> Iterator[Raw]:
    """:func:`read_csv` from the file's whole text."""
    # not the cut line (a line ends at \r too: old Mac exports, as the reader cuts them)
    data, broken = _whole_or_prefix(source, lambda data: data[:max(data.rfind(b"\n"), data.rfind(b"\r")) + 1])
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    text = _text_of(data, source, "CSV file")
    del data   # the text is all that is read from here: the file's bytes need not stay in memory beside it
    limit = source.limits.max_record_bytes
    csv.field_size_limit(limit)
    buffer = _Lines(text)
    delimiter, header_at = _header_of(text)
    buffer.seek(header_at)
    reader = RowReader(buffer, delimiter)
    fields = check_header(reader)
    # The lines are counted in the text, not by the reader: it counts the blank lines it skips as well.
    position = buffer.tell()
    line = 1 + _breaks(text, 0, position)   # the line at ``position``, after the header's
    while True:
        begin = _BLANK_LINES.match(text, position).end()   # the reader skips blank lines before a row
        start = line + _breaks(text, position, begin)       # the record's number is the line it starts on
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            oversize = "field larger than field limit" in str(exc)
            if oversize:   # the reader stopped inside the field: the record's later lines are skipped too
                buffer.seek(begin)
                csv.field_size_limit(len(text) + 1)   # the text is in memory already: its record can be
                try:                                  # parsed once more to find where it ends
                    next(csv.reader(buffer, delimiter=delimiter), None)
                except csv.Error:
                    pass   # then it ends where that reader stopped
                finally:
                    csv.field_size_limit(limit)
            end = line + _breaks(text, position, buffer.tell()) - _ends_a_line(text, buffer.tell())
            yield start, (too_large(start, end, limit) if oversize
                          else Reject("", start, "malformed_csv", f"malformed CSV: {exc}"))
            if buffer.tell() <= position:  # nothing consumed: the reader cannot go on
                break
            line, position = line + _breaks(text, position, buffer.tell()), buffer.tell()
            continue
        before, position = position, buffer.tell()
        line += _breaks(text, before, position)
        end = line - _ends_a_line(text, position)   # the line the row ends on
        lines = end - start + 1
        last = position == len(text)
        error = _broken_quotes(text[before:position], delimiter) if lines > 1 or last else None
        open_at_end = last and error is not None and error.startswith(_OPEN_AT_END)
        if open_at_end and broken is not None:   # the break cut this row: it is part of the rest
            raise rest_not_read(broken, start)
        if (lines > 1 and error) or open_at_end:
            yield start, not_closed(start, end, error)
            continue
        yield start, row_or_reject(start, row, fields, reader.width)
    if broken is not None:
        raise rest_not_read(broken, _breaks(text, 0, len(text)) + 1)


def _header_of(text: str) -> tuple[str, int]:
    """The separator of a CSV text, and where its header line starts: after blank lines (an export that prints
    a line break first) and Excel's separator line ``sep=;``, which names the separator."""
    position = _BLANK_LINES.match(text).end()
    first = _LINE.match(text, position).group()
    hinted = separator_hint(first)
    if hinted is not None:
        position = _BLANK_LINES.match(text, position + len(first)).end()
    guessed = _delimiter(text, position)   # a hint too: it rejects a header over the limit as the stream does
    return hinted or guessed, position


#: One line, with its break: ``\n``, ``\r\n`` or a lone ``\r``.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")


class _Lines:
    """The lines of ``text`` for the csv module, as ``io.StringIO(text, newline="")`` gives them, without its
    copy of the text (4 bytes a character: a 217 MB CSV file took 1 GB more). ``tell`` and ``seek``:
    the position in ``text`` where the next line starts, as a character index."""

    def __init__(self, text: str):
        self._text, self._position = text, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        end = _LINE.match(self._text, self._position).end()
        if end == self._position:
            raise StopIteration
        line, self._position = self._text[self._position:end], end
        return line

    def tell(self) -> int:
        return self._position

    def seek(self, position: int) -> None:
        self._position = position


def _single(source: Source) -> bytes:
    data = read_whole(source)
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    limit = source.limits.max_record_bytes
    if len(data) > limit:
        raise FileRejected("record_too_large", f"{len(data):,} bytes, more than max_record_bytes={limit:,}")
    return data


def read_text(source: Source) -> Iterator[Raw]:
    """One article: the first line is the title (a leading ``#`` removed), the rest the text. A file of one
    line (a paragraph written as one line) is the text, with a null title. Lines end at ``\\n``, ``\\r\\n``
    or a lone ``\\r`` (old Mac exports), as in CSV."""
    text = _text_of(_single(source), source, "text file").replace("\r\n", "\n").replace("\r", "\n")
    title, _, body = text.strip().partition("\n")
    if not body.strip():
        yield None, {"title": None, "text": title.strip()}
        return
    title = title.strip().lstrip("#").strip()
    yield None, {"title": title or None, "text": body.strip()}


def read_html(source: Source) -> Iterator[Raw]:
    yield None, Page(_single(source), forced_encoding=source.encoding, max_bytes=source.limits.max_html_bytes)


_READERS: dict[str, Callable[[Source], Iterator[Raw]]] = {
    "jsonl": read_jsonl, "json": read_json, "csv": read_csv, "parquet": read_parquet, "text": read_text,
    "html": read_html, "warc": read_warc,
}


def read_file(source: Source) -> Iterator[Raw]:
    """Yield the raw records of one file; raise FileRejected if the file (or its rest) is unusable.

    A file that holds no record (0 bytes, white space, blank lines, a CSV
    header alone, ``[]``, a Parquet file of 0 rows) is one ``empty_file``
    reject whatever its format, so that an empty export does not vanish
    unseen and a quiet night ends the same way for every format.
    """
    fmt, compression = format_of(source.path)
    if fmt is None:
        raise FileRejected("unsupported_format",
                           f"unsupported file type {''.join(source.path.suffixes) or '(none)'}")
    source.compression = compression
    empty = True
    for item in _READERS[fmt](source):
        empty = False
        yield item
    if empty:
        raise FileRejected("empty_file", "file holds no record")
