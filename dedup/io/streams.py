"""Input files as bounded byte streams: compression by content, size limits, bomb guard.

Every reader gets its bytes through :func:`open_stream` (streamed formats: JSON
Lines, WARC), :func:`read_whole` (formats parsed in memory) or :func:`open_seekable`
(Parquet, read a batch at a time), so the limits of
:class:`~dedup.config.ReadConfig` hold for every format and compression alike:

* the compression is detected from the content's magic bytes; the name only
  decides when the content has none (a ``.gz`` that is plain text is read as
  it is, a ``.jsonl`` that is gzip is decompressed);
* a compressed file that inflates past ``max_decompression_ratio`` times its
  size on disk (once past :data:`RATIO_GRACE_BYTES`) is a decompression bomb:
  reading stops at that point and raises ``decompression_bomb`` (so does a
  Parquet file whose decoded values pass that and ``max_file_bytes``:
  :func:`dedup.io.parquet.decoded_budget`);
* a file read whole may not exceed ``max_file_bytes`` (``file_too_large``),
  and one record may not exceed ``max_record_bytes`` (``record_too_large``).

Memory stays bounded by these limits whatever the input holds.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import io
import lzma
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dedup.config import ReadConfig
from dedup.io.bzip2 import Bzip2Reader
from dedup.io.decode import forced_failure, incremental_codec
from dedup.io.gzip_members import GzipMembers

#: Output allowed before the compression ratio is checked: small files of
#: repetitive text legitimately compress more than any sane ratio limit.
RATIO_GRACE_BYTES = 1 << 20

_CHUNK = 1 << 16

#: The first byte of a line that is not part of a blank line (:func:`_skip_blank_lines`).
_NOT_BLANK = re.compile(rb"[^ \t\n\r\x0b\x0c]")   # what bytes.strip() leaves: a line of these is blank
_NEWLINES = b"\n" * (1 << 20)

# zstd as Python 3.14 has it in the standard library (compression.zstd), from its backport before: it
# reads like gzip, bz2 and lzma, and data that stops inside a frame is an EOFError as theirs is.
try:
    from compression import zstd
except ImportError:
    try:
        from backports import zstd
    except ImportError:   # the package is a dependency; without it a .zst file is unsupported_compression
        zstd = None
_ZSTD_ERRORS = () if zstd is None else (zstd.ZstdError,)

#: Compression named by the last suffix of a file name.
COMPRESSION_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"))


class FileRejected(Exception):
    """A whole file (or the rest of it) is unusable; carries a reason code and a message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Limits:
    """The size limits of :class:`~dedup.config.ReadConfig`, in one place, and its ``field_map``: the
    columns a record can be mapped from, which are the only ones a Parquet file's reader decodes."""

    max_record_bytes: int = 16 * 2**20
    max_file_bytes: int = 2 * 2**30
    max_decompression_ratio: float = 100.0
    field_map: tuple[tuple[str, str], ...] = ()
    max_html_bytes: int = 4 * 2**20

    @classmethod
    def from_config(cls, config: ReadConfig) -> Limits:
        default = cls()
        return cls(**{name: getattr(config, name, getattr(default, name))
                      for name in ("max_record_bytes", "max_file_bytes", "max_decompression_ratio", "field_map",
                                   "max_html_bytes")})


def file_failure(exc: FileRejected | OSError) -> tuple[str, str]:
    """The reason and message of the reject of a file (or the rest of it) that a reader gave up on."""
    if isinstance(exc, FileRejected):
        return exc.reason, exc.message
    return "unreadable_file", f"cannot read file: {exc.strerror or exc}"


def inflation_budget(limits: Limits, on_disk: int) -> int:
    """The bytes a file of ``on_disk`` bytes may inflate to: ``max_decompression_ratio`` times its size, or
    :data:`RATIO_GRACE_BYTES` if more."""
    return max(int(limits.max_decompression_ratio * on_disk), RATIO_GRACE_BYTES)


def inflation_message(kind: str, limits: Limits, on_disk: int, where: str) -> str:
    """The message of a ``decompression_bomb``: ``kind`` data past its :func:`inflation_budget`, found
    ``where`` (``stopped after 1,234 bytes``)."""
    return (f"{kind} data inflates past {limits.max_decompression_ratio:g} times its {on_disk:,} bytes on disk; "
            f"{where} (raise max_decompression_ratio if the file is genuine)")


@dataclass
class Source:
    """One input file being read: where it is, its limits, and the decisions counted on the way.

    ``warnings`` counts decisions that keep a record but that a user may want to
    know about (``decoded_as_cp1252``, ``warc_skipped_request``...); the read
    stage adds them to ``summary.json`` under ``warnings_by_reason``.
    """

    path: Path
    limits: Limits = field(default_factory=Limits)
    encoding: str | None = None          # a codec forced by ReadConfig.encoding, else None (detect)
    compression: str | None = None       # named by the file's suffix
    warnings: Counter = field(default_factory=Counter)
    detected: str | None = None          # the legacy codec detected for two earlier lines, tried first on the next
    detections: Counter = field(default_factory=Counter)   # legacy codec -> lines the detector gave it
    display: str | None = None           # the name outputs give it, if not its path's (an archive member's)

    @property
    def name(self) -> str:
        return display_path(self.path) if self.display is None else self.display


def display_path(path: str | Path) -> str:
    """``path`` as text that any output can hold, the same under every locale: its bytes read as UTF-8.

    Python decodes a file name (from the file system or the command line)
    with the locale's codec: under ISO-8859-1 the UTF-8 bytes of ``新闻.jsonl``
    become ``æ\\x96°é\\x97».jsonl``. The name is therefore taken back to its bytes
    (:func:`os.fsencode`) and read as UTF-8; bytes that are not valid UTF-8
    (``café.jsonl`` saved in Latin-1) are written as backslash escapes
    (``caf\\xe9.jsonl``), the same way in ``clusters.parquet``,
    ``rejected.jsonl`` and ``summary.json``. A name the locale's codec cannot
    encode did not come from the file system (a URI listed by Spark): its text
    is kept, with any lone surrogate escaped.
    """
    try:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        text = os.fspath(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:           # not undecodable bytes but other surrogates: escape them as they are
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def sniff_compression(head: bytes) -> str | None:
    return next((name for magic, name in _MAGIC if head.startswith(magic)), None)


class _Guarded(io.RawIOBase):
    """A decompressing reader that counts its output and stops at the limits.

    The ratio is that of the whole output to the whole file's size on disk (:func:`inflation_budget`),
    so a genuine file whose first MB is repetitive (the same paywall page under a thousand URLs) is read
    whole. The output a bomb of newlines gets through before it is stopped costs little: the JSON
    Lines reader skips a run of blank lines a buffer at a time (:func:`iter_lines`).
    """

    def __init__(self, inner: BinaryIO, raw: BinaryIO, kind: str, on_disk: int, limits: Limits, cap: int | None):
        self._inner, self._raw, self._kind, self._cap = inner, raw, kind, cap
        self._budget = inflation_budget(limits, on_disk)
        self._limits, self._on_disk = limits, on_disk
        self.produced = 0

    def readable(self) -> bool:
        return True

    def allow(self, nbytes: int) -> None:
        """Raise the budget by ``nbytes`` of output that holds no record's data (see :func:`allow_framing`)."""
        self._budget += nbytes

    def _check_budget(self) -> None:
        """The bomb guard: the output handed out, plus what :class:`~dedup.io.gzip_members.GzipMembers` inflated
        and threw away (damaged members' output): damaged members of zeros must not inflate past it unseen."""
        inflated = self.produced + getattr(self._inner, "discarded", 0)
        if inflated > self._budget:
            raise FileRejected("decompression_bomb", inflation_message(
                self._kind, self._limits, self._on_disk, f"stopped after {inflated:,} bytes"))

    def fileno(self) -> int:
        """The compressed file's descriptor (to ``os.fstat`` the file read)."""
        return self._raw.fileno()

    def readinto(self, buffer) -> int:
        self._check_budget()   # a damaged member raised before the check after its read
        try:
            # readinto1, not readinto: at most one read of the compressed data, so the output
            # decompressed before a break (a valid gzip member then junk) is returned before
            # the next call raises, instead of being dropped with the exception.
            n = self._inner.readinto1(buffer)
        except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError, *_ZSTD_ERRORS) as exc:
            raise FileRejected("corrupt_compression", f"cannot decompress ({self._kind}) after "
                               f"{self.produced:,} bytes: {exc}") from None
        self.produced += n or 0
        self._check_budget()
        if self._cap is not None and self.produced > self._cap:
            raise FileRejected("file_too_large", f"more than max_file_bytes={self._cap:,} bytes after "
                               "decompression; split the file or raise max_file_bytes")
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._raw.close()  # gzip, bz2 and lzma readers do not close a file object they were given
            super().close()


def _decompressor(kind: str, raw: BinaryIO, skip_damaged: bool) -> BinaryIO:
    if kind == "gzip":
        return GzipMembers(raw) if skip_damaged else gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "bz2":
        return Bzip2Reader(raw)
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    if zstd is None:
        raise FileRejected("unsupported_compression",
                           "zstd file but the backports.zstd package is not installed (pip install backports.zstd)")
    return zstd.ZstdFile(raw, mode="rb")


def allow_framing(stream: BinaryIO, nbytes: int) -> None:
    """Let a stream :func:`open_stream` opened inflate ``nbytes`` more than its ratio allows: an archive's own
    framing (a tar's headers and padding), which its reader counts apart from the members' data. A no-op for
    an uncompressed file."""
    guard = getattr(stream, "raw", None)
    if isinstance(guard, _Guarded):
        guard.allow(nbytes)


class ReadOnce:
    """A reader of a stream :func:`open_stream` opened whose ``read(n)`` is one read of it (``read1(n)``), for a
    parser that reads blocks (warcio, tarfile).

    A buffered ``read(n)`` fills a block with several reads of the decompressor, and when one of them meets a
    break (a truncated ``.gz``, a bomb) the exception drops the bytes the others decompressed: the last whole
    records before the break were lost, every record of a small archive. ``read1`` returns them, and the next
    read raises (see :class:`_Guarded`). It has no ``tell``: warcio then counts offsets itself.
    """

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read1(size)


def open_stream(source: Source, *, cap: int | None = None, skip_damaged: bool = False) -> BinaryIO:
    """Open ``source`` as a buffered, decompressed byte stream (the caller closes it).

    ``cap`` bounds the decompressed size (``file_too_large``); the ratio limit
    always applies to compressed content. Raises :class:`FileRejected` when the
    limits are crossed while reading, and :class:`OSError` if the file cannot be
    opened. With ``skip_damaged``, a damaged member of a gzip file raises
    :class:`~dedup.io.gzip_members.DamagedMember` once and reading goes on at the
    next member (a ``.warc.gz``: the next record); a member's output is handed out
    once its CRC-32 passed (up to 4 MiB of it, see :mod:`dedup.io.gzip_members`).
    """
    raw = open(source.path, "rb")
    try:
        head = raw.read(6)
        raw.seek(0)
        kind = sniff_compression(head)  # the content wins; a wrong suffix is ignored
        if source.compression != kind:
            source.warnings["compression_misnamed"] += 1
        on_disk = os.fstat(raw.fileno()).st_size
        if kind is None:
            if cap is not None and on_disk > cap:
                raise FileRejected("file_too_large", f"file has {on_disk:,} bytes, more than "
                                   f"max_file_bytes={cap:,}; split it or raise max_file_bytes")
            return raw
        inflated = _decompressor(kind, raw, skip_damaged)
        return io.BufferedReader(_Guarded(inflated, raw, kind, on_disk, source.limits, cap), buffer_size=_CHUNK)
    except BaseException:
        raw.close()
        raise


#: Byte-order marks of the encodings whose newline is not the byte ``\n`` (UTF-32 before UTF-16: same prefix).
_WIDE_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
              (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


class _Transcoded(io.RawIOBase):
    """A UTF-16 or UTF-32 (or any other encoding's) byte stream as UTF-8, decoded incrementally (bad units
    become U+FFFD)."""

    def __init__(self, inner: BinaryIO, encoding: str, source: Source, head: bytes = b""):
        self._inner, self._source, self._encoding = inner, source, encoding
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._head = head   # bytes already read from ``inner``, decoded first
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._done:
            # read1: one read of the stream below, so what it decompressed before a break is decoded
            # and returned before the next read raises (see _Guarded), not dropped with the exception
            chunk, self._head = (self._head, b"") if self._head else (self._inner.read1(_CHUNK), b"")
            self._done = not chunk
            try:
                text = self._decoder.decode(chunk, final=self._done)
            except UnicodeError as exc:   # a forced codec that raises (see forced_failure): the rest of the file
                raise FileRejected("undecodable", str(forced_failure(self._encoding, exc))) from None
            if "\ufffd" in text and not self._source.warnings["decoded_with_replacement"]:
                self._source.warnings["decoded_with_replacement"] += 1
            self._pending = text.encode("utf-8")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            super().close()


def utf8_stream(stream: BinaryIO, source: Source) -> BinaryIO:
    """``stream`` as UTF-8 bytes for a reader that splits lines on the byte ``\\n``.

    A UTF-16 or UTF-32 byte-order mark at the start (looked for once per file)
    means the whole stream is decoded from that encoding (counted as
    ``decoded_as_utf-16-le``...) and its mark dropped; any other stream is
    returned as it is (a UTF-8 mark stays for the reader to drop). A forced
    ``encoding`` skips the check, as in :func:`dedup.io.decode.decode`: one whose
    newline is the byte ``\\n`` (:func:`splits_on_newline`) leaves the stream as
    it is, for the reader to decode line by line; another (``utf-16``, an
    EBCDIC code page) has the whole stream decoded from it.
    """
    if source.encoding:
        if splits_on_newline(source.encoding):
            return stream
        # "utf-16" without its byte-order mark: in the machine's order, as decode() reads it whole. Its first 4
        # bytes read, not peeked: a peek may give fewer (a gzip whose first member holds 1-3 bytes).
        head = stream.read(4)
        return io.BufferedReader(_Transcoded(stream, incremental_codec(source.encoding, head), source, head),
                                 buffer_size=_CHUNK)
    found = _wide_bom(stream.peek(4)[:4] if hasattr(stream, "peek") else b"")
    if found is None:
        return stream
    bom, encoding = found
    stream.read(len(bom))
    source.warnings["decoded_as_" + encoding] += 1
    return io.BufferedReader(_Transcoded(stream, encoding, source), buffer_size=_CHUNK)


def _wide_bom(data: bytes) -> tuple[bytes, str] | None:
    """The UTF-16 or UTF-32 byte-order mark ``data`` starts with, and its encoding; None if none."""
    return next(((bom, encoding) for bom, encoding in _WIDE_BOMS if data.startswith(bom)), None)


#: Letters of several scripts, for :func:`splits_on_newline` to see whether a codec's lines decode on their own.
_SCRIPTS_SAMPLE = "éßøčőяαא한日本中"


@functools.cache
def splits_on_newline(encoding: str) -> bool:
    """Whether text in ``encoding`` can be cut into lines at the byte ``\\n`` and each line decoded on its own
    (UTF-8, Latin-1, cp1252, KOI8-R, Shift-JIS, ISO-2022-JP...; not UTF-16, UTF-32 or EBCDIC, nor ISO-2022-KR,
    which names its character set once, before the first line, nor a codec that cannot encode them)."""
    try:
        if not ("\n".encode(encoding) == b"\n" and "a\nb".encode(encoding).split(b"\n") == [b"a", b"b"]):
            return False
        letters = "".join(c for c in _SCRIPTS_SAMPLE if c.encode(encoding, "replace") != "?".encode(encoding))
        text = f"{letters}\n{letters}"
        return [line.decode(encoding) for line in text.encode(encoding).split(b"\n")] == text.split("\n")
    except UnicodeError:
        return False


def read_whole(source: Source) -> bytes:
    """The whole decompressed content of ``source``, at most ``max_file_bytes``."""
    with open_stream(source, cap=source.limits.max_file_bytes) as stream:
        return _whole(stream, source.limits.max_file_bytes)


def open_seekable(source: Source) -> BinaryIO:
    """``source`` for a reader that seeks (Parquet): the file itself, of any size (it is read a batch at a
    time), or, if it is compressed, its decompressed content in memory, at most ``max_file_bytes``. The
    caller closes it."""
    stream = open_stream(source)
    if stream.seekable():
        return stream
    with stream:
        return io.BytesIO(_whole(stream, source.limits.max_file_bytes))


def _whole(stream: BinaryIO, cap: int) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise FileRejected("file_too_large", f"more than max_file_bytes={cap:,} bytes; split the file or "
                           "raise max_file_bytes")
    return data


def read_before_break(source: Source) -> tuple[bytes, FileRejected]:
    """What ``source`` decompresses to before its compressed data breaks, and the error, for a format
    parsed in memory that can use a prefix (CSV: the rows before the break). Called after
    :func:`read_whole` raised ``corrupt_compression``, so a whole file costs no second copy: the
    stream is read again, one decompressor read at a time (``read1``: the output produced before the
    break is returned before the next call raises, see ``_Guarded``).
    """
    parts = []
    with open_stream(source, cap=source.limits.max_file_bytes) as stream:
        try:
            while chunk := stream.read1(_CHUNK):
                parts.append(chunk)
        except FileRejected as exc:
            if exc.reason != "corrupt_compression":
                raise
            return b"".join(parts), exc
    raise FileRejected("corrupt_compression", "cannot decompress: the data broke on a first reading but not on a "
                       "second (did the file change while it was read?)")


def has_wide_bom(data: bytes) -> bool:
    """Whether ``data`` starts with a UTF-16 or UTF-32 byte-order mark (its newline is not the byte ``\\n``)."""
    return _wide_bom(data) is not None


def iter_lines(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line_number, line)`` for each line of ``stream`` that is not blank, without its newline.

    A line longer than ``max_bytes`` is skipped without being held in memory
    and yielded as ``None``, so the caller can reject it as too large. Blank
    lines (nothing but ``\r`` before their ``\n``) are not yielded, only
    counted in the numbers of the lines after them; a run of them is skipped
    a buffer at a time (:func:`_skip_blank_lines`), not one Python iteration
    a line (a gzip of newlines inflates 1,000 times).
    """
    number = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while True:  # drain the rest of the runaway line in bounded chunks
                rest = stream.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        if not line.endswith(b"\n"):
            yield number, line
        elif line.strip():
            yield number, line.rstrip(b"\r\n")
        else:
            number += _skip_blank_lines(stream, max_bytes)


def _skip_blank_lines(stream: BinaryIO, max_bytes: int) -> int:
    """Consume the blank lines at the head of ``stream`` (each ``\n`` with only white space before it:
    ``\r``, spaces, tabs), the bytes already buffered at a time (``peek``), and return their number. Only
    whole lines are consumed: white space that begins the next line stays for its ``readline``, and a
    window holds at most
    ``max_bytes + 1`` bytes, so a blank line longer than ``max_bytes`` is left for :func:`iter_lines` to
    reject as it would any line that long."""
    if not hasattr(stream, "peek"):
        return 0
    skipped = 0
    while True:
        window = stream.peek(max_bytes + 1)[:max_bytes + 1]
        if _NEWLINES.startswith(window):     # nothing but newlines (a bomb of them): a memcmp
            end = newlines = len(window)
        else:
            # counted, not stripped: bytes.count runs at memory speed, bytes.lstrip tests each byte in turn
            blank = len(window) if window.count(b"\n") + window.count(b"\r") == len(window) \
                else (found.start() if (found := _NOT_BLANK.search(window)) else len(window))
            end = window.rfind(b"\n", 0, blank) + 1
            newlines = window.count(b"\n", 0, end)
        if not end:
            return skipped
        skipped += newlines
        stream.read(end)
        if end < len(window):
            return skipped
