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

#: A line's text, to its break.
_TO_BREAK = re.compile(r"[^\r\n]*")


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


#: Excel's first line naming the separator (``sep=;``), which exports write so that Excel opens them in any
#: locale: not a header, and not a row.
_SEPARATOR_HINT = re.compile(r"sep=([,;\t|])[^\S\r\n]*(?:\r\n|\r|\n)?")


def separator_hint(line: str) -> str | None:
    """The separator an Excel hint line ``sep=X`` names (one of :data:`DELIMITERS`), or None for another line."""
    hint = _SEPARATOR_HINT.fullmatch(line)
    return hint.group(1) if hint else None


def _delimiter(text: str, start: int = 0) -> str:
    """The separator of a CSV file whose header line starts at ``text[start]``: the one of :data:`DELIMITERS`
    that cuts that line into the most columns (a comma on a tie, so a one-column header stays comma-separated)."""
    header = _TO_BREAK.match(text, start).group()   # a line ends at \r too (old Mac exports), as for the reader
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
    if not named:   # white space or empty cells before the header (a template's indent, a spreadsheet's empty row)
        raise FileRejected("malformed_csv", "the CSV header names no column (a row of empty cells or white space "
                           "before it? remove it)")
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


class _Counted:
    """A csv reader whose rows are counted: ``width``, the number of fields of the row read last."""

    def __init__(self, rows: Any):
        self._rows, self.width = rows, 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> list[str]:
        row = next(self._rows)
        self.width = len(row)
        return row

    @property
    def line_num(self) -> int:   # read by DictReader for every row: a property, not a failed lookup each time
        return self._rows.line_num

    def __getattr__(self, name: str) -> Any:   # dialect: the reader's
        return getattr(self._rows, name)


class RowReader(csv.DictReader):
    """:class:`csv.DictReader` that also says how many fields its last row had (``width``). The dict cannot
    say it of a short row: the header's columns the row does not reach are None, and an unnamed column the
    header repeats shares one key, read or not."""

    def __init__(self, lines: Any, delimiter: str):
        super().__init__(lines, delimiter=delimiter)
        self.reader = _Counted(self.reader)

    @property
    def width(self) -> int:
        return self.reader.width


def miscounted(start: int, width: int, fields: list[str]) -> Reject | None:
    """The reject of a row of ``width`` fields on line ``start`` if the header has another number. A complete
    export writes every field of every row (Python's csv, pandas, polars, Excel, LibreOffice): a row with fewer
    was cut in two, mostly by a line break written unquoted in a field, and its fields would go to the wrong
    columns."""
    if width == len(fields):
        return None
    hint = " (an unquoted line break in a field?)" if width < len(fields) else ""
    fields_of_row = f"{width} field{'s' if width != 1 else ''}"
    return Reject("", start, "malformed_csv", f"row has {fields_of_row}, header has {len(fields)}{hint}")


def _is_header(row: dict) -> bool:
    """Whether a row repeats the header: every field its own column's name (a byte-order mark and the white
    space around them aside), as when two exports are joined (``cat a.csv b.csv``)."""
    return all(_bare(value) == _bare(name) for name, value in row.items())


def _bare(name: str) -> str:
    return name.lstrip("\ufeff").strip()


def row_or_reject(start: int, row: dict, fields: list[str], width: int) -> Any:
    """The record of a row of ``width`` fields read whole: its fields (empty ones null); or the reject of a row
    with too many or too few fields (:func:`miscounted`), or of the header repeated."""
    if (reject := miscounted(start, width, fields)) is not None:
        return reject
    if _is_header(row):
        return Reject("", start, "malformed_csv", "the header repeated (two exports joined?)")
    return {k: (v if v != "" else None) for k, v in row.items()}


def rest_not_read(broken: FileRejected, line: int) -> FileRejected:
    return FileRejected(broken.reason, f"{broken.message}; the rows from line {line} on are not read")
