"""What a row of a CSV file is, for both readers of :mod:`dedup.io.readers` (a file's whole text) and
:mod:`dedup.io.csvstream` (a UTF-8 file as a stream): line breaks as the csv module cuts them, the separator,
the header's checks, the strict parser's verdict on a row's quotes, and the rejects' messages, so that the two
readers give the same records and rejects."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from dedup.io.records import Reject
from dedup.io.streams import FileRejected

#: Blank lines, which the csv module skips between rows.
_BLANK_LINES = re.compile(r"(?:\r\n|\r|\n)*")

#: A line break: ``\n``, ``\r\n`` or a lone ``\r``.
_BREAK = re.compile(r"\r\n|\r|\n")


def _breaks(text: str, start: int, stop: int) -> int:
    """The line breaks in ``text[start:stop]``: ``\\n``, ``\\r\\n`` or a lone ``\\r``, as the csv module cuts
    lines (``io.StringIO(newline="")``)."""
    return text.count("\n", start, stop) + text.count("\r", start, stop) - text.count("\r\n", start, stop)


def _ends_a_line(text: str, stop: int) -> int:
    """1 if ``text[:stop]`` ends with a line break, else 0."""
    return int(text.endswith(("\n", "\r"), 0, stop))


#: Column separators a CSV export may use: the comma, and the semicolon of spreadsheets in locales whose
#: decimal mark is a comma, the tab and the bar.
DELIMITERS = (",", ";", "\t", "|")


def _delimiter(text: str) -> str:
    """The separator of a CSV file: the one of :data:`DELIMITERS` that cuts its header line into the most
    columns (a comma on a tie, so a one-column header stays comma-separated)."""
    header = re.match(r"[^\r\n]*", text).group()   # a line ends at \r too (old Mac exports), as for the reader
    try:
        return max(DELIMITERS, key=lambda d: (len(next(csv.reader([header], delimiter=d), [])), d == ","))
    except csv.Error:   # a header field over the field limit (max_record_bytes): said as the stream says it
        raise FileRejected("malformed_csv", "unreadable CSV header: its line is longer than "
                           f"max_record_bytes={csv.field_size_limit():,}") from None


#: The start of a strict parser's error for a quoted field still open at the end of the text.
_OPEN_AT_END = "unexpected end of data"


def _broken_quotes(row: str, delimiter: str = ",") -> str | None:
    """The error a strict parser finds in the text of one multi-line row, if any.

    The lenient parser that reads the file takes an unterminated quote as a
    field that runs on through every later line (to the end of the file, or
    to the next quote), swallowing the rows there. A strict parser says
    ``unexpected end of data`` (or ``',' expected after '"'``) for that text,
    and nothing for a well-quoted multi-line field.
    """
    try:
        for _ in csv.reader(io.StringIO(row, newline=""), strict=True, delimiter=delimiter):
            pass
    except csv.Error as exc:
        return str(exc)
    return None


def check_header(reader: csv.DictReader) -> list[str]:
    """The column names of ``reader``'s header; raises :class:`FileRejected` for a header that cannot be read
    (``malformed_csv``), is missing (``empty_file``) or names a column twice (``malformed_csv``)."""
    try:
        fields = reader.fieldnames
    except csv.Error as exc:
        raise FileRejected("malformed_csv", f"unreadable CSV header: {exc}") from None
    if not fields:
        raise FileRejected("empty_file", "CSV file has no header")
    named = [name for name in fields if name.strip()]
    if len(set(named)) < len(named):
        # Which of the columns holds the field is anybody's guess (the csv module keeps the last):
        # the file is rejected, naming them, rather than read from the wrong column.
        twice = ", ".join(f"{name!r} (columns {', '.join(str(i + 1) for i, f in enumerate(fields) if f == name)})"
                          for name in dict.fromkeys(n for n in named if named.count(n) > 1))
        raise FileRejected("malformed_csv", f"the header names a column more than once: {twice}; rename them")
    return fields


def _on_lines(start: int, end: int) -> str:
    return f"line{f's {start}-{end}' if end > start else f' {start}'}"


def too_large(start: int, end: int, limit: int) -> Reject:
    """The reject of a row on lines ``start``-``end`` one of whose fields is over the limit."""
    return Reject("", start, "record_too_large",
                  f"a field of the row on {_on_lines(start, end)} is longer than max_record_bytes={limit:,}; not read")


def not_closed(start: int, end: int, error: str) -> Reject:
    """The reject of a row on lines ``start``-``end`` whose quotes a strict parser finds ``error`` in."""
    ran = f", so lines {start}-{end} ran into one record" if end > start else ""
    return Reject("", start, "malformed_csv", f"malformed CSV: a quoted field of the row on line {start} is not "
                  f"closed properly ({error}){ran}; not read")


def row_or_reject(start: int, row: dict, fields: list[str]) -> Any:
    """The record of a row read whole: its fields (empty ones null), or the reject of a row with too many."""
    if None in row:
        return Reject("", start, "malformed_csv", f"row has {len(fields) + len(row[None])} fields, "
                      f"header has {len(fields)}")
    return {k: (v if v != "" else None) for k, v in row.items()}


def rest_not_read(broken: FileRejected, line: int) -> FileRejected:
    return FileRejected(broken.reason, f"{broken.message}; the rows from line {line} on are not read")
