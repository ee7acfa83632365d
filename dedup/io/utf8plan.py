"""The first of a streamed file's two readings: is it UTF-8 text, and what did it hold?

:func:`utf8_plan` reads the decompressed file once, without keeping it, and says
whether :func:`dedup.io.decode.decode` would take its whole bytes as UTF-8 (or
ASCII) text. If so, a stream reader (:mod:`dedup.io.csvstream`,
:mod:`dedup.io.jsonstream`) reads it a second time, a chunk at a time, and
compares what it read with the first reading's size, file identity and CRC-32:
a file that changed between the two (an export still being written) is an
``unreadable_file`` reject (:func:`changed`) for what was not read.
"""

from __future__ import annotations

import codecs
import io
import os
import zlib
from dataclasses import dataclass

from dedup.io.decode import _DETECT_BYTES, _looks_binary
from dedup.io.streams import _CHUNK, _NOT_BLANK, FileRejected, Source, open_stream

_NON_ASCII = bytes(range(0x80, 0x100))


@dataclass(frozen=True)
class Utf8Plan:
    """What the first reading found: the file is UTF-8 text, with a byte-order mark or not; ``stop``: the bytes
    to read, up to the cut (see :func:`utf8_plan`) before its compressed data broke (``broken``), or None: all."""

    bom: bool
    stop: int | None = None
    broken: FileRejected | None = None
    size: int = 0                          # the bytes the first reading read (decompressed)
    identity: tuple | None = None          # the file's size, modification time and inode then
    crc: int = 0                           # the CRC-32 of those bytes: a rewrite of the same size and time


class SecondReading:
    """The second reading of a file :func:`utf8_plan` passed, decoded a piece at a time: up to the plan's ``stop``,
    its bytes counted and their CRC-32 kept, to compare with the first reading's at the end (:meth:`differs`)."""

    def __init__(self, stream: io.BufferedIOBase, plan: Utf8Plan):
        self._stream, self._left, self._plan = stream, plan.stop, plan
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.read_bytes = self.crc = 0
        self.eof = False

    def read(self, size: int) -> str:
        """The text of the next ``size`` bytes at most (``eof`` once none is left). Raises UnicodeDecodeError
        where they are not UTF-8: the file changed since the first reading found it was."""
        size = size if self._left is None else min(size, self._left)
        data = self._stream.read(size) if size else b""
        self.read_bytes += len(data)
        self.crc = zlib.crc32(data, self.crc)
        self._left = None if self._left is None else self._left - len(data)
        self.eof = not data
        return self._decoder.decode(data, final=self.eof)

    def differs(self) -> bool:
        """Whether the open file is another now, or, read to its end, held other bytes than the first reading's."""
        whole = self._plan.stop is None and self.eof   # (a file cut by a break was read to the cut only)
        return identity_of(self._stream) != self._plan.identity or (
            whole and (self.read_bytes, self.crc) != (self._plan.size, self._plan.crc))


def identity_of(stream: io.BufferedIOBase) -> tuple:
    """The open file's size, modification time and inode (of the file opened, even once its name is another's)."""
    stat = os.fstat(stream.fileno())
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def changed(rest: str, records: str) -> FileRejected:
    """The reject of a file that changed between its two readings (an export still being written); ``rest`` says
    what of it was read or not; ``records``: what the second reading reads (``rows``...)."""
    return FileRejected("unreadable_file", f"the file changed while it was read (its encoding was checked, then its "
                        f"{records} read: a file still being written?); {rest}: read it again once it is complete")


def utf8_plan(source: Source, cut: str = "line") -> Utf8Plan | None:
    """Read ``source`` once (its bytes are not kept) and say whether it is UTF-8 text that
    :func:`dedup.io.decode.decode` would decode as such, with no warning: valid UTF-8 (a UTF-8 byte-order
    mark allowed) that does not look binary, or valid UTF-8 when ``utf-8`` is forced. None otherwise: the
    file is then read whole, as before. Raises as :func:`dedup.io.streams.read_whole` would (limits, bomb)
    and ``empty_file`` (or the break's reject, for a file that broke before any text) as the whole reader.

    ``cut``: what is kept of data that broke part-way, as the whole reader keeps it: to its last line break
    (``"line"``, CSV: the row the break cuts is not read) or to its last ASCII byte (``"ascii"``, JSON: a
    character the break split would not decode).
    """
    try:
        if source.encoding and codecs.lookup(source.encoding).name != "utf-8":
            return None   # another encoding forced
    except LookupError:
        return None
    counted = source.warnings.copy()
    plan = _first_reading(source, cut)   # a reject it raises keeps the count of a misnamed compression
    source.warnings.clear()   # else the reading that follows counts it, not twice
    source.warnings.update(counted)
    return plan


def _first_reading(source: Source, cut: str) -> Utf8Plan | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    head, chars, done, crc, last_cut, first_text, broken = bytearray(), 0, 0, 0, 0, None, None
    with open_stream(source, cap=source.limits.max_file_bytes) as stream:
        identity = identity_of(stream)
        while True:
            try:
                data = stream.read1(_CHUNK)   # as read_before_break: the same bytes before a break
            except FileRejected as exc:
                if exc.reason != "corrupt_compression":
                    raise
                broken = exc
                break
            if not data:
                break
            decoded = len(data)
            if decoder.getstate()[0] or not data.isascii():   # ASCII needs no decoding
                try:
                    decoded = len(decoder.decode(data))
                except UnicodeDecodeError:
                    return None
            if chars <= _DETECT_BYTES:   # the head that decode() looks at for binary data
                head += data
                chars += decoded
            end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1 if cut == "line" else len(data.rstrip(_NON_ASCII))
            if end:
                last_cut = done + end
            if first_text is None and (found := _NOT_BLANK.search(data)):
                first_text = done + found.start()
            done += len(data)
            crc = zlib.crc32(data, crc)
        if identity_of(stream) != identity:   # changed while read: read whole, once, instead
            return None
    if broken is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
        if first_text is None:
            raise FileRejected("empty_file", "file is empty")
    elif first_text is None or first_text >= last_cut:   # no text before the cut
        raise broken
    stop = None if broken is None else last_cut
    bom = head.startswith(codecs.BOM_UTF8)
    if not bom and not source.encoding and _looks_binary(str(memoryview(head)[:stop], "utf-8", "ignore")):
        return None
    return Utf8Plan(bom, stop, broken, done, identity, crc)
