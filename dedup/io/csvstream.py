"""CSV files read as a stream: memory bounded by a record, not by the file.

:func:`~dedup.io.textplan.text_plan` reads the decompressed file once, deciding its codec as
:func:`dedup.io.decode.decode` would on its whole bytes (UTF-8, cp1252, UTF-16...); then
:func:`read_csv_stream` reads it a second time, a chunk at a time, decoded with that codec, into the
same records and rejects, numbered by the same lines, as the whole-file
reader (:func:`dedup.io.readers._read_csv_whole`, for a file the first reading cannot decide), sharing
its rules (:mod:`dedup.io.csvrules`: line breaks, separator, strict parser,
messages). A file that changes between the two readings (an export still
being written) is an ``unreadable_file`` reject for what was not read.

A line longer than ``max_record_bytes`` characters is not held in memory: it
is read through a chunk at a time (:class:`_Scan` finds where its row ends,
as the csv module would), and its row is one ``record_too_large`` reject.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from dedup.io.csvrules import (
    _BLANK_LINES,
    _BREAK,
    _OPEN_AT_END,
    RowReader,
    _breaks,
    _broken_quotes,
    _delimiter,
    _on_lines,
    check_header,
    miscounted,
    not_closed,
    rest_not_read,
    row_or_reject,
    separator_hint,
    too_large,
)
from dedup.io.records import Reject
from dedup.io.streams import _CHUNK, FileRejected, Source, open_stream
from dedup.io.textplan import SecondReading, TextPlan, changed, identity_of

__all__ = ["read_csv_stream"]


def _changed(line: int | None = None, *, found_at_end: bool = False) -> FileRejected:
    """The reject of a file that changed between its two readings (:func:`dedup.io.textplan.changed`): nothing
    read, or the rows from ``line`` on, or (``found_at_end``) all read, to ``line``, but from a changing file."""
    return changed("not read" if line is None else f"its rows to line {line - 1} were read as it then was"
                   if found_at_end else f"the rows from line {line} on are not read", "rows")

# -- the second reading: the lines, a chunk at a time ----------------------------------------------------------


class _TooLong(Exception):
    """The next line is longer than the limit: read it through with :meth:`_StreamLines.drain`."""


class _StreamLines:
    """The lines of a byte stream for the csv module, cut as :class:`dedup.io.readers._Lines` cuts a text,
    decoded a chunk at a time with the plan's codec. ``consumed``: the lines taken so far (by the csv module,
    skipped as blank or read through); ``record``: the lines the csv module took for the current row (reset by
    the reader). A line longer than ``limit`` characters raises :class:`_TooLong` instead (again until
    :meth:`drain` reads it through)."""

    def __init__(self, stream: io.BufferedIOBase, plan: TextPlan, limit: int, chunk: int):
        self.reading, self._limit, self._chunk = SecondReading(stream, plan), limit, chunk
        self._buf, self._pos = "", 0
        self._ahead: str | None = None     # a line read ahead (peek)
        self._long: list[str] | None = None   # the head of a line too long, not yet read through
        self.consumed = 0
        self.record: list[str] = []

    def _fill(self, keep: str = "") -> bool:
        """Replace the buffer by ``keep`` and the next chunk's text; False at the end of the data."""
        if self.at_eof:
            return False
        try:
            text = self.reading.read(self._chunk)
        except UnicodeDecodeError:   # the first reading found the text decoded: the file changed
            raise _changed(self.consumed + 1) from None
        self._buf, self._pos = keep + text, 0
        return True

    def _break_ahead(self) -> tuple[re.Match | None, str]:
        """The next line break in the buffer, and ``""``; or None and what to keep for the next chunk: a ``\\r``
        that ends the buffer, which a ``\\n`` there may complete (``""`` when no break is in the buffer)."""
        found = _BREAK.search(self._buf, self._pos)
        if found and found.group() == "\r" and found.end() == len(self._buf) and not self.at_eof:
            return None, "\r"
        return found, ""

    def _line(self) -> str | None:
        """The next line with its break; None at the end."""
        if self._long is not None:
            raise _TooLong
        parts, size = [], 0
        while True:
            found, keep = self._break_ahead()
            if found:
                if size + found.start() - self._pos > self._limit:
                    self._long = parts
                    raise _TooLong
                line = self._buf[self._pos:found.end()]
                self._pos = found.end()
                return "".join(parts) + line if parts else line
            piece = self._buf[self._pos:len(self._buf) - len(keep)]
            if piece:
                parts.append(piece)
                size += len(piece)
            self._pos = len(self._buf)
            if size > self._limit:
                self._buf, self._pos, self._long = keep, 0, parts
                raise _TooLong
            if not self._fill(keep):
                return "".join(parts) + keep or None

    @property
    def at_eof(self) -> bool:
        """Whether the data has been read to its end."""
        return self.reading.eof


    def _next_line(self) -> str | None:
        line, self._ahead = (self._ahead, None) if self._ahead is not None else (self._line(), None)
        return line

    def __iter__(self) -> _StreamLines:
        return self

    def __next__(self) -> str:
        line = self._next_line()
        if line is None:
            raise StopIteration
        self.consumed += 1
        self.record.append(line)
        return line

    def at_end(self) -> bool:
        if self._long is not None or self._ahead is not None:
            return False
        try:
            self._ahead = self._line()
        except _TooLong:
            return False
        return self._ahead is None

    def skip_blank(self) -> int:
        """Take the blank lines ahead (a run of them a buffer at a time) and return their number."""
        skipped = 0
        if self._ahead is not None:
            if self._ahead not in ("\n", "\r", "\r\n"):
                return 0
            self._ahead, skipped = None, 1
        while self._long is None:
            buf, start = self._buf, self._pos
            end = _BLANK_LINES.match(buf, start).end()
            pending = end == len(buf) and end > start and buf[end - 1] == "\r" and not self.at_eof
            end -= pending   # a \n may follow the \r in the next chunk
            skipped += _breaks(buf, start, end)
            self._pos = end
            if end < len(buf) and not pending:   # a line with text follows
                break
            self._pos = len(buf)
            if not self._fill(buf[end:]):
                break
        self.consumed += skipped
        return skipped

    def drain(self) -> Iterator[str]:
        """The pieces of the line too long (raised as :class:`_TooLong`), its break last, read through."""
        yield from self._long or ()
        self._long = None
        while True:
            found, keep = self._break_ahead()
            if found:
                yield self._buf[self._pos:found.end()]
                self._pos = found.end()
                break
            yield self._buf[self._pos:len(self._buf) - len(keep)]
            self._pos = len(self._buf)
            if not self._fill(keep):
                break
        self.consumed += 1

    def through_quoted(self, scan: _Scan) -> None:
        """Read on to the next quote while ``scan`` is in a quoted field (one never closed may run to the end),
        a buffer at a time: the line breaks on the way counted, the characters added to the field."""
        partial = False   # text read after the last line break: the last line, if the data ends here
        while scan.quoted and self._ahead is None and self._long is None:
            buf, start = self._buf, self._pos
            quote = buf.find('"', start)
            end = len(buf) if quote < 0 else quote
            end -= quote < 0 and end > start and buf[end - 1] == "\r" and not self.at_eof   # a \n may follow
            self.consumed += _breaks(buf, start, end)
            scan.add(end - start)
            partial = buf[end - 1] not in "\r\n" if end > start else partial
            self._pos = end
            if quote >= 0:
                return
            self._pos = len(buf)
            if not self._fill(buf[end:]):
                self.consumed += partial
                return


#: The lenient csv parser's states that matter to where a row ends and how long its fields are.
_START, _FIELD, _QUOTED, _QUOTE, _BREAK_SEEN = range(5)


class _Scan:
    """The csv module's lenient parser (the ``excel`` dialect, any separator) followed through a row without
    keeping its fields: where the row ends, and whether a field is longer than ``limit`` characters (the
    module's ``field larger than field limit``). Fed the text of a line in pieces, then :meth:`line_end`."""

    def __init__(self, delimiter: str, limit: int):
        self._delimiter, self._limit = delimiter, limit
        self._field_end = re.compile(f"[{re.escape(delimiter)}\r\n]")
        self._state, self._size, self.over = _START, 0, False
        self.fields, self.strict = 0, None   # the row's fields; the error a strict parser meets first

    @property
    def quoted(self) -> bool:
        return self._state == _QUOTED

    def add(self, n: int) -> None:
        self._size += n
        self.over = self.over or self._size > self._limit

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            state = self._state
            if state == _QUOTED:
                j = text.find('"', i)
                if j < 0:
                    self.add(n - i)
                    return
                self.add(j - i)
                self._state, i = _QUOTE, j + 1
            elif state == _FIELD:
                found = self._field_end.search(text, i)
                if found is None:
                    self.add(n - i)
                    return
                self.add(found.start() - i)
                self._saved(text[found.start()])
                i = found.end()
            else:
                char = text[i]
                if char == '"' and state in (_START, _QUOTE):
                    if state == _QUOTE:
                        self.add(1)   # a doubled quote
                    self._state = _QUOTED
                elif char == self._delimiter or char in "\r\n":
                    self._saved(char)
                else:
                    if state == _QUOTE and self.strict is None:
                        self.strict = f"'{self._delimiter}' expected after '\"'"
                    self.add(1)
                    self._state = _FIELD
                i += 1

    def _saved(self, char: str) -> None:
        self.fields += self._state != _BREAK_SEEN
        self._size, self._state = 0, _START if char == self._delimiter else _BREAK_SEEN

    def line_end(self) -> bool:
        """Whether the row ends with the line just fed (its quoted field is closed)."""
        if self._state == _QUOTED:
            return False
        self.fields += self._state != _BREAK_SEEN   # a last line without a break
        self._size, self._state = 0, _START
        return True


def _read_through(lines: _StreamLines, scan: _Scan, taken: Iterable[str]) -> None:
    """Follow ``scan`` through the lines ``taken`` already, then the stream's, to the end of the row."""
    for line in taken:
        scan.feed(line)
        if scan.line_end():
            return
    while True:
        lines.through_quoted(scan)
        try:
            line = lines._next_line()
        except _TooLong:
            for piece in lines.drain():
                scan.feed(piece)
        else:
            if line is None:
                return
            lines.consumed += 1
            scan.feed(line)
        if scan.line_end():
            return


def _checked(start: int, end: int, last: bool, error: str | None, row: dict | None, width: int,
             fields: list[str], broken: FileRejected | None, kept: Reject | None = None
             ) -> Iterator[tuple[int, Any]]:
    """The record or reject of a row of ``width`` fields on lines ``start``-``end`` (``last``: the data ends
    with it) that the csv module read, as the whole-file reader decides: ``error``, what a strict parser says
    of its text. A row not held (``row`` None) that would be kept is the reject ``kept``."""
    open_at_end = last and error is not None and error.startswith(_OPEN_AT_END)
    if open_at_end and broken is not None:   # the break cut this row: it is part of the rest
        raise rest_not_read(broken, start)
    if (end > start and error) or open_at_end:
        yield start, not_closed(start, end, error)
    else:
        yield start, (miscounted(start, width, fields) or kept) if row is None else row_or_reject(
            start, row, fields, width)


def _header_of(lines: _StreamLines) -> str:
    """The separator of a CSV file, its lines taken to its header line's: blank lines (an export that prints a
    line break first) and Excel's separator line ``sep=;``, which names the separator, as
    :func:`dedup.io.readers._header_of` takes them."""
    lines.skip_blank()
    lines.at_end()
    hinted = separator_hint(lines._ahead or "")
    if hinted is None:
        return _delimiter(lines._ahead or "")
    next(lines)
    lines.skip_blank()
    return hinted


def read_csv_stream(source: Source, plan: TextPlan, chunk: int = _CHUNK) -> Iterator[tuple[int, Any]]:
    """The records of a CSV file that :func:`~dedup.io.textplan.text_plan` passed, read a chunk of ``chunk`` bytes
    at a time, decoded with the plan's codec: the same, numbered by the same lines, as
    :func:`dedup.io.readers.read_csv` reads from the whole text."""
    limit = source.limits.max_record_bytes
    csv.field_size_limit(limit)
    with open_stream(source, cap=source.limits.max_file_bytes) as stream:
        if identity_of(stream) != plan.identity:   # another file by that name now, or this one changed
            raise _changed()
        lines = _StreamLines(stream, plan, limit, chunk)
        try:
            delimiter = _header_of(lines)
            reader = RowReader(lines, delimiter)
            fields = check_header(reader)
        except _TooLong:
            raise FileRejected("malformed_csv", f"unreadable CSV header: its line is longer than "
                               f"max_record_bytes={limit:,}") from None
        while True:
            skipped = lines.skip_blank()
            start = lines.consumed + 1   # the record's number is the line it starts on
            lines.record = []
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, _TooLong) as exc:
                if isinstance(exc, csv.Error) and "field larger than field limit" not in str(exc):
                    yield start, Reject("", start, "malformed_csv", f"malformed CSV: {exc}")
                    if not lines.record and not skipped:   # nothing consumed: the reader cannot go on
                        break
                    continue
                scan = _Scan(delimiter, limit)   # where the row ends, as the csv module would read on
                _read_through(lines, scan, lines.record)
                if scan.over:
                    yield start, too_large(start, lines.consumed, limit)
                    continue
                # a line longer than the limit, not held, of fields within it: checked as below, then rejected
                # where the row would have been kept
                end, last = lines.consumed, lines.at_end()
                if scan.quoted:   # the row ran to the end of the data in a quoted field
                    scan.fields += 1
                    scan.strict = scan.strict or _OPEN_AT_END
                error = scan.strict if end > start or last else None
                yield from _checked(start, end, last, error, None, scan.fields, fields, plan.broken, Reject(
                    "", start, "record_too_large", f"the row on {_on_lines(start, end)} is longer than "
                    f"max_record_bytes={limit:,}; not read"))
                continue
            end = lines.consumed   # the line the row ends on
            last = lines.at_end()
            error = _broken_quotes("".join(lines.record), delimiter) if end > start or last else None
            yield from _checked(start, end, last, error, row, reader.width, fields, plan.broken)
        if lines.reading.differs():
            raise _changed(lines.consumed + 1, found_at_end=lines.at_eof)
        if plan.broken is not None:
            raise rest_not_read(plan.broken, lines.consumed + 1)
