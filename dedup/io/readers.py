"""Readers: input files to raw records.

Each reader is a generator of ``(record_number, raw)`` items for one file,
where ``raw`` is a dict (or whatever the file held, which the mapper then
rejects) or a :class:`Reject` for a record that could not even be parsed.
Readers never raise for bad content; they raise :class:`FileRejected` when a
whole file is unusable (empty, undecodable, not the format its name says).

Supported: ``.jsonl``/``.ndjson``, ``.json`` (object or array), ``.csv``,
``.parquet``, ``.txt``/``.md`` (first line is the title), each optionally
compressed as ``.gz``, ``.bz2``, ``.xz`` or ``.zst``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import lzma
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl

from dedup.errors import InputError
from dedup.io.records import Reject

Raw = tuple[int | None, Any]


class FileRejected(Exception):
    """A whole file is unusable; carries a reason code and a message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}


def _format_of(path: Path) -> tuple[str | None, str | None]:
    """(format, compression) from the file name; format None if unsupported."""
    suffixes = [s.lower() for s in path.suffixes]
    compression = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    fmt = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
           ".parquet": "parquet", ".txt": "text", ".md": "text"}.get(ext)
    return fmt, compression


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
    return _format_of(path)[0] is not None


def _open_bytes(path: Path, compression: str | None) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(6)
    detected = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    kind = detected or compression
    if compression and not detected:
        # The name says compressed but the content is not: read it as it is.
        kind = None
    try:
        if kind == "gzip":
            return gzip.decompress(path.read_bytes())
        if kind == "bz2":
            return bz2.decompress(path.read_bytes())
        if kind == "xz":
            return lzma.decompress(path.read_bytes())
        if kind == "zstd":
            try:
                import zstandard
            except ImportError:
                raise FileRejected("unsupported_compression", "zstd file but the zstandard package is not installed") from None
            with zstandard.ZstdDecompressor().stream_reader(path.open("rb")) as reader:
                return reader.read()
        return path.read_bytes()
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise FileRejected("corrupt_compression", f"cannot decompress ({kind}): {exc}") from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected("undecodable", f"not valid UTF-8 at byte {exc.start}: {exc.reason}") from None


def read_jsonl(data: bytes) -> Iterator[Raw]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, Reject("", number, "undecodable", f"line is not valid UTF-8 at byte {exc.start}")
            continue
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as exc:
            yield number, Reject("", number, "malformed_json", f"malformed JSON: {exc.msg} at column {exc.colno}")


def read_json(data: bytes) -> Iterator[Raw]:
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise FileRejected("malformed_json", f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if isinstance(doc, list):
        for number, item in enumerate(doc, start=1):
            yield number, item
    else:
        yield 1, doc


def read_csv(data: bytes) -> Iterator[Raw]:
    text = _decode(data)
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise FileRejected("empty_file", "CSV file has no header")
    try:
        for row in reader:
            # Record number = the line where the record starts (header is line 1).
            number = reader.line_num
            if None in row:
                yield number, Reject("", number, "malformed_csv", f"row has {len(reader.fieldnames) + len(row[None])} "
                                     f"fields, header has {len(reader.fieldnames)}")
                continue
            yield number, {k: (v if v != "" else None) for k, v in row.items()}
    except csv.Error as exc:
        yield reader.line_num, Reject("", reader.line_num, "malformed_csv", f"malformed CSV: {exc}")


def read_parquet(data: bytes) -> Iterator[Raw]:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several kinds for corrupt files
        raise FileRejected("malformed_parquet", f"cannot read Parquet: {exc}") from None
    for number, row in enumerate(frame.iter_rows(named=True), start=1):
        yield number, row


def read_text(data: bytes) -> Iterator[Raw]:
    text = _decode(data).replace("\r\n", "\n")
    title, _, body = text.strip().partition("\n")
    title = title.strip().lstrip("#").strip()
    yield None, {"title": title or None, "text": body.strip()}


_READERS: dict[str, Callable[[bytes], Iterator[Raw]]] = {
    "jsonl": read_jsonl, "json": read_json, "csv": read_csv, "parquet": read_parquet, "text": read_text,
}


def read_file(path: Path) -> Iterator[Raw]:
    """Yield the raw records of one file; raise FileRejected if the file is unusable."""
    fmt, compression = _format_of(path)
    if fmt is None:
        raise FileRejected("unsupported_format", f"unsupported file type {''.join(path.suffixes) or '(none)'}")
    data = _open_bytes(path, compression)
    if not data.strip():
        raise FileRejected("empty_file", "file is empty")
    yield from _READERS[fmt](data)
