"""Readers: input files to raw records.

Each reader is a generator of ``(record_number, raw)`` items for one
:class:`~dedup.io.streams.Source`, where ``raw`` is a dict (or whatever the
file held, which the mapper then rejects) or a :class:`Reject` for a record
that could not even be parsed. Readers never raise for bad content; they raise
:class:`FileRejected` when a whole file (or the rest of it) is unusable: empty,
binary, over a size limit, a decompression bomb, not the format its name says.
Decisions that keep a record (an encoding guessed, a WARC request record
skipped) are counted in ``source.warnings``.

Supported, each optionally compressed as ``.gz``, ``.bz2``, ``.xz`` or
``.zst`` (detected from the content when the name is wrong):

=================  ==========================================  =====================
format             extensions                                  record number
=================  ==========================================  =====================
JSON Lines         ``.jsonl`` ``.ndjson`` (streamed)           line
JSON               ``.json`` (object, array, or JSON Lines)    item (line for lines)
CSV                ``.csv``                                    line the row starts on
Parquet            ``.parquet``                                row
text               ``.txt`` ``.md`` (first line is the title)  none (one per file)
HTML               ``.html`` ``.htm`` ``.xhtml``               none (one per file)
WARC               ``.warc`` (streamed)                        WARC record
=================  ==========================================  =====================
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from dedup.errors import InputError
from dedup.io.decode import Undecodable, decode
from dedup.io.html import extract_article
from dedup.io.records import Reject
from dedup.io.streams import (
    COMPRESSION_SUFFIXES,
    FileRejected,
    Source,
    iter_lines,
    open_stream,
    read_whole,
)
from dedup.io.warc import read_warc

Raw = tuple[int | None, Any]

__all__ = ["FileRejected", "Raw", "discover", "format_of", "read_file", "supported", "SUFFIXES"]

#: File-name extension -> format.
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet",
            ".txt": "text", ".md": "text", ".html": "html", ".htm": "html", ".xhtml": "html", ".warc": "warc"}

_BOM = b"\xef\xbb\xbf"


def format_of(path: Path) -> tuple[str | None, str | None]:
    """(format, compression) from the file name; format None if unsupported."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSION_SUFFIXES.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    return SUFFIXES.get(suffixes[-1] if suffixes else ""), compression


def discover(inputs: list[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into a sorted list of files.

    Hidden files and folders (starting with ``.``) are skipped. Files with an
    unsupported extension inside a folder are skipped too (and reported by
    :func:`dedup.io.read_inputs`); named explicitly, they are read and fail.
    """
    found: set[Path] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for child in path.rglob("*"):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(part.startswith(".") for part in rel):
                    found.add(child)
        elif path.is_file():
            found.add(path)
        else:
            raise InputError(f"input {item} does not exist")
    return sorted(found)


def supported(path: Path) -> bool:
    return format_of(path)[0] is not None


def _text_of(data: bytes, source: Source, what: str) -> str:
    try:
        decoded = decode(data, forced=source.encoding)
    except Undecodable as exc:
        raise FileRejected("undecodable", f"{what}: {exc}") from None
    source.warnings.update(decoded.warnings)
    return decoded.text


def _json_line(number: int, line: bytes, source: Source) -> Raw:
    if source.encoding:
        text = _text_of(line, source, f"line {number}")
    else:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            try:
                decoded = decode(line)
            except Undecodable as exc:
                return number, Reject("", number, "undecodable", f"line {number}: {exc}")
            source.warnings.update(decoded.warnings)
            text = decoded.text
    return _parse_json(number, text)


def _parse_json(number: int, text: str) -> Raw:
    try:
        return number, json.loads(text)
    except json.JSONDecodeError as exc:
        return number, Reject("", number, "malformed_json", f"malformed JSON: {exc.msg} at column {exc.colno}")
    except (ValueError, RecursionError) as exc:  # absurdly long numbers, nesting deeper than the stack
        return number, Reject("", number, "malformed_json", f"unreadable JSON: {type(exc).__name__}")


def read_jsonl(source: Source) -> Iterator[Raw]:
    """Stream one JSON object per line; a line over ``max_record_bytes`` is skipped unread."""
    limit = source.limits.max_record_bytes
    seen = False
    with open_stream(source) as stream:
        for number, line in iter_lines(stream, limit):
            if line is None:
                seen = True
                yield number, Reject("", number, "record_too_large",
                                     f"line is longer than max_record_bytes={limit:,}; skipped unread")
                continue
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM):]
            if not line.strip():
                continue
            seen = True
            yield _json_line(number, line, source)
    if not seen:
        raise FileRejected("empty_file", "file is empty")


def read_json(source: Source) -> Iterator[Raw]:
    """One object or an array of objects; JSON Lines saved as ``.json`` are read line by line."""
    data = read_whole(source)
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    text = _text_of(data, source, "JSON file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            source.warnings["json_read_as_jsonl"] += 1
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    yield _parse_json(number, line)
            return
        raise FileRejected("malformed_json", f"malformed JSON: {exc.msg} at line {exc.lineno} "
                           f"column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise FileRejected("malformed_json", f"unreadable JSON: {type(exc).__name__}") from None
    if isinstance(doc, list):
        yield from enumerate(doc, start=1)
    else:
        yield 1, doc


def read_csv(source: Source) -> Iterator[Raw]:
    """A header row, then one record per row (quoted multi-line fields allowed)."""
    data = read_whole(source)
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    text = _text_of(data, source, "CSV file")
    limit = source.limits.max_record_bytes
    csv.field_size_limit(limit)
    buffer = io.StringIO(text, newline="")
    reader = csv.DictReader(buffer)
    try:
        fields = reader.fieldnames
    except csv.Error as exc:
        raise FileRejected("malformed_csv", f"unreadable CSV header: {exc}") from None
    if not fields:
        raise FileRejected("empty_file", "CSV file has no header")
    end, position = reader.line_num, buffer.tell()
    while True:
        start = end + 1  # the record's number is the line it starts on (the header is line 1)
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            too_large = "field larger than field limit" in str(exc)
            yield start, Reject("", start, "record_too_large" if too_large else "malformed_csv",
                                f"a field is longer than max_record_bytes={limit:,}" if too_large
                                else f"malformed CSV: {exc}")
            if buffer.tell() <= position:  # nothing consumed: the reader cannot go on
                return
            # The failed record's lines are consumed but not counted by the reader.
            end, position = end + text.count("\n", position, buffer.tell()), buffer.tell()
            continue
        end, position = reader.line_num, buffer.tell()
        if None in row:
            yield start, Reject("", start, "malformed_csv", f"row has {len(fields) + len(row[None])} fields, "
                                f"header has {len(fields)}")
            continue
        yield start, {k: (v if v != "" else None) for k, v in row.items()}


def read_parquet(source: Source) -> Iterator[Raw]:
    data = read_whole(source)
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except (Exception, pl.exceptions.PanicException) as exc:  # corrupt files raise many kinds, even panics
        raise FileRejected("malformed_parquet", f"cannot read Parquet: {type(exc).__name__}: "
                           f"{str(exc)[:200]}") from None
    yield from enumerate(frame.iter_rows(named=True), start=1)


def _single(source: Source) -> bytes:
    data = read_whole(source)
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    limit = source.limits.max_record_bytes
    if len(data) > limit:
        raise FileRejected("record_too_large", f"{len(data):,} bytes, more than max_record_bytes={limit:,}")
    return data


def read_text(source: Source) -> Iterator[Raw]:
    text = _text_of(_single(source), source, "text file").replace("\r\n", "\n")
    title, _, body = text.strip().partition("\n")
    title = title.strip().lstrip("#").strip()
    yield None, {"title": title or None, "text": body.strip()}


def read_html(source: Source) -> Iterator[Raw]:
    yield None, extract_article(_single(source), forced_encoding=source.encoding, warnings=source.warnings)


_READERS: dict[str, Callable[[Source], Iterator[Raw]]] = {
    "jsonl": read_jsonl, "json": read_json, "csv": read_csv, "parquet": read_parquet, "text": read_text,
    "html": read_html, "warc": read_warc,
}


def read_file(source: Source) -> Iterator[Raw]:
    """Yield the raw records of one file; raise FileRejected if the file (or its rest) is unusable."""
    fmt, compression = format_of(source.path)
    if fmt is None:
        raise FileRejected("unsupported_format",
                           f"unsupported file type {''.join(source.path.suffixes) or '(none)'}")
    source.compression = compression
    yield from _READERS[fmt](source)
