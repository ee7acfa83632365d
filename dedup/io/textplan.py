"""The first of a streamed file's two readings: which text does it hold, in which codec, and what did it hold?

:func:`text_plan` reads the decompressed file once, without keeping it, and decides its codec as
:func:`dedup.io.decode.decode` would on its whole bytes (a forced ``read.encoding``, a byte-order mark, UTF-8,
mostly UTF-8, the detector on the head, UTF-8 with replacement), each rule computed in one pass (:class:`_Trial`).
A stream reader (:mod:`dedup.io.csvstream`, :mod:`dedup.io.jsonstream`) then reads it a second time, a chunk at a
time, decoding with that codec and ``errors`` mode (:class:`SecondReading`), so the same text reaches it as
``decode()`` gives; it compares what it read with the first reading's size, file identity and CRC-32: a file that
changed between the two (an export still being written) is an ``unreadable_file`` reject (:func:`changed`) for
what was not read. A file the one pass cannot decide is read whole, as before: compressed data that breaks part-way
in another codec than UTF-8, and a file whose head is UTF-8 but whose rest needs the detector (:func:`text_plan`).
"""

from __future__ import annotations

import codecs
import io
import os
import zlib
from dataclasses import dataclass

import numpy as np

from dedup.io import decode as _decode
from dedup.io.decode import (
    _BOMS,
    _UNDECODABLE,
    Undecodable,
    _detect,
    _label,
    _looks_binary,
    decode,
    forced_failure,
)
from dedup.io.streams import _CHUNK, _NOT_BLANK, FileRejected, Source, open_stream

_NON_ASCII = bytes(range(0x80, 0x100))
#: Forced codecs read whole: "utf-16" and "utf-32" decode data without a byte-order mark in the machine's order
#: when whole, and refuse it (UnicodeError) incrementally; Python's incremental UTF-7 decoder is quadratic.
_WHOLE_ONLY = ("utf-16", "utf-32", "utf-7")
#: Codecs read whole, forced or detected: the incremental ISO-2022 decoders raise ("pending buffer overflow"),
#: even with errors="replace", on an invalid escape sequence cut by a piece's end.
_WHOLE_FAMILY = "iso2022"
_REPLACED = "decoded_with_replacement"


@dataclass(frozen=True)
class TextPlan:
    """What the first reading found: the codec to decode the file with, and with which ``errors`` (``"strict"``, or
    ``"replace"`` as ``decode()`` fell back to), the ``warnings`` that decision counts, the bytes of a byte-order
    mark to ``skip`` before the text, and whether to ``strip_bom`` (a U+FEFF that starts the text: a forced codec);
    ``stop``: the bytes to read, up to the cut (see :func:`text_plan`) before its compressed data broke
    (``broken``), or None: all."""

    codec: str = "utf-8"
    errors: str = "strict"
    warnings: tuple[str, ...] = ()
    skip: int = 0
    strip_bom: bool = False
    stop: int | None = None
    broken: FileRejected | None = None
    size: int = 0                          # the bytes the first reading read (decompressed)
    identity: tuple | None = None          # the file's size, modification time and inode then
    crc: int = 0                           # the CRC-32 of those bytes: a rewrite of the same size and time


class SecondReading:
    """The second reading of a file :func:`text_plan` passed, decoded a piece at a time with its codec: up to the
    plan's ``stop``, its bytes counted and their CRC-32 kept, to compare with the first reading's at the end
    (:meth:`differs`)."""

    def __init__(self, stream: io.BufferedIOBase, plan: TextPlan):
        self._stream, self._left, self._plan = stream, plan.stop, plan
        self._decoder = codecs.getincrementaldecoder(plan.codec)(plan.errors)
        self._skip, self._strip = plan.skip, plan.strip_bom
        self.read_bytes = self.crc = 0
        self.eof = False

    def read(self, size: int) -> str:
        """The text of the next ``size`` bytes at most (``eof`` once none is left). Raises UnicodeDecodeError
        where they do not decode (strictly): the file changed since the first reading found they did; an
        ``undecodable`` FileRejected where a forced codec raises instead of replacing."""
        if self._skip:   # the byte-order mark, dropped as decode() drops it
            skip, self._skip = self._skip, 0
            self._take(skip)
        try:
            text = self._decoder.decode(self._take(size), final=self.eof)
        except UnicodeError as exc:
            if isinstance(exc, UnicodeDecodeError) and self._plan.errors == "strict":
                raise   # (the file changed)
            # a forced codec that raises, not replaces (see forced_failure): the rest of the file is rejected
            raise FileRejected("undecodable", str(forced_failure(self._plan.codec, exc))) from None
        if self._strip and text:
            text, self._strip = text.removeprefix("\ufeff"), False
        return text

    def _take(self, size: int) -> bytes:
        size = size if self._left is None else min(size, self._left)
        data = self._stream.read(size) if size else b""
        self.read_bytes += len(data)
        self.crc = zlib.crc32(data, self.crc)
        self._left = None if self._left is None else self._left - len(data)
        self.eof = not data
        return data

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


def text_plan(source: Source, cut: str = "line", what: str = "file") -> TextPlan | None:
    """Read ``source`` once (its bytes are not kept) and decide, as :func:`dedup.io.decode.decode` would on its
    whole bytes, how its text is decoded; count the decision's warnings in ``source.warnings`` as the whole reader
    does. None when one pass cannot decide (see the module docstring): the file is then read whole, as before.
    Raises as :func:`dedup.io.streams.read_whole` would (limits, bomb), ``empty_file`` (or the break's reject, for
    a file that broke before any text) and ``undecodable`` (binary data; ``what``: the file's kind, in its
    message) as the whole reader.

    ``cut``: what is kept of data that broke part-way, as the whole reader keeps it: to its last line break
    (``"line"``, CSV: the row the break cuts is not read) or to its last ASCII byte (``"ascii"``, JSON: a
    character the break split would not decode). Only UTF-8 text is streamed after a break.
    """
    try:
        plan = _counted(source, cut)
    except Undecodable as exc:
        raise FileRejected("undecodable", f"{what}: {exc}") from None
    except UnicodeError as exc:   # a forced codec that raises, not replaces (see forced_failure)
        if not source.encoding:
            raise
        raise FileRejected("undecodable", f"{what}: {forced_failure(source.encoding, exc)}") from None
    if plan is not None:
        source.warnings.update(plan.warnings)
    return plan


def _counted(source: Source, cut: str) -> TextPlan | None:
    if source.encoding:
        try:
            name = codecs.lookup(source.encoding).name
        except LookupError:
            return None   # the whole reader says what is wrong with it
        if name in _WHOLE_ONLY or name.startswith(_WHOLE_FAMILY):
            return None
    counted = source.warnings.copy()
    plan = _first_reading(source, cut)   # a reject it raises keeps the count of a misnamed compression
    source.warnings.clear()   # else the reading that follows counts it, not twice
    source.warnings.update(counted)
    return None if plan is not None and codecs.lookup(plan.codec).name.startswith(_WHOLE_FAMILY) else plan


class _Trial:
    """A codec tried over the whole bytes, fed a piece at a time, as ``decode()`` tries it: whether they decode
    strictly (``ok``); the first ``_DETECT_BYTES`` characters of the text (``head``: with replacement characters
    once ``ok`` is not, as ``decode()`` looks at them for binary data), if ``head`` is asked for; with ``count``,
    over the whole lenient text, the replacement characters (``bad``) and those not ASCII (``non_ascii``)."""

    def __init__(self, codec: str, head: bool = False, count: bool = False):
        self.codec, self.count, self.ok = codec, count, True
        self._strict = codecs.getincrementaldecoder(codec)()
        # with ``count`` (UTF-8) the lenient decoding starts where the strict one fails, in its state; else it runs
        # beside it while the head is read (a stateful codec's state is its own)
        self._lenient = codecs.getincrementaldecoder(codec)("replace") if head and not count else None
        self._ascii = codec == "utf-8"   # ASCII needs no decoding
        self.head: list[str] | None = [] if head else None
        self.chars = self.bad = self.non_ascii = 0

    def feed(self, data: bytes, final: bool = False) -> None:
        text = None   # the lenient text of ``data`` (its bytes when they are ASCII, in UTF-8)
        if self.ok:
            state = self._strict.getstate()
            try:
                text = self._decoded(self._strict, data, final)
            except UnicodeDecodeError:
                self.ok = False
                if self.count:
                    self._lenient = codecs.getincrementaldecoder(self.codec)("replace")
                    self._lenient.setstate(state)
        if self._lenient is not None:
            lenient = self._decoded(self._lenient, data, final)
            text = lenient if text is None else text
        if text is None:
            return
        if self._wants_head():
            piece = text if isinstance(text, str) else text.decode("ascii")
            self.head.append(piece[:_decode._DETECT_BYTES - self.chars])
            self.chars += len(self.head[-1])
            if not self.count and not self._wants_head():
                self._lenient = None   # read with the head
        if self.count and isinstance(text, str):   # (ASCII bytes hold neither)
            self.bad += text.count("\ufffd")
            # UTF-8 decodes each ASCII byte to itself, never into a replacement: those are the ASCII characters
            self.non_ascii += len(text) - len(data) + int(np.count_nonzero(np.frombuffer(data, np.int8) < 0))

    def _decoded(self, decoder: codecs.IncrementalDecoder, data: bytes, final: bool) -> str | bytes:
        if self._ascii and data.isascii() and not decoder.getstate()[0]:
            return data
        return decoder.decode(data, final)

    def _wants_head(self) -> bool:
        return self.head is not None and self.chars < _decode._DETECT_BYTES

    def binary(self) -> bool:
        return _looks_binary("".join(self.head))


def _trials(head: bytes, forced: str | None) -> tuple[_Trial, int]:
    """The codec tried first, fed the head of the bytes, and the bytes of its byte-order mark."""
    if forced:
        trial, skip = _Trial(forced), 0
    else:
        bom, encoding = next(((bom, encoding) for bom, encoding in _BOMS if head.startswith(bom)), (b"", None))
        trial, skip = (_Trial(encoding), len(bom)) if encoding else (_Trial("utf-8", head=True, count=True), 0)
    trial.feed(head[skip:])
    return trial, skip


def _first_reading(source: Source, cut: str) -> TextPlan | None:
    head, done, crc, last_cut, first_text, broken = bytearray(), 0, 0, 0, None, None
    first = detected = None   # the codec tried first (see _trials), the detector's, once the head is read
    late = False              # UTF-8 failed after the head was read: the detector was not asked then
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
            if len(head) < 4 * _decode._DETECT_BYTES:   # the bytes of the head's characters (4 at most each)
                head += data
            if first is None:
                if len(head) >= _decode._DETECT_BYTES:   # the head decode() looks at: the codec tried first
                    first, skip = _trials(bytes(head), source.encoding)
                    detected = _detector(first, head, skip, source.encoding)
            else:
                ok = first.ok
                first.feed(data)
                late = late or (ok and not first.ok and first.count)
                if detected is not None:
                    detected.feed(data)
            end = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1 if cut == "line" else len(data.rstrip(_NON_ASCII))
            if end:
                last_cut = done + end
            if first_text is None and (found := _NOT_BLANK.search(data)):
                first_text = done + found.start()
            done += len(data)
            crc = zlib.crc32(data, crc)
        if identity_of(stream) != identity:   # changed while read: read whole, once, instead
            return None
    if first_text is None or (broken is not None and first_text >= last_cut):   # no text (before the cut)
        raise broken or FileRejected("empty_file", "file is empty")
    kept = TextPlan(size=done, identity=identity, crc=crc)
    if broken is not None:
        return _broken_plan(kept, bytes(head), source.encoding, first, broken, last_cut)
    if first is None:   # the whole file is its head: decode() itself decides
        decoded = decode(bytes(head), forced=source.encoding)
        skip = 0 if source.encoding else next((len(bom) for bom, _ in _BOMS if head.startswith(bom)), 0)
        return _plan(kept, decoded.encoding, decoded.warnings, skip, bool(source.encoding))
    ok = first.ok
    first.feed(b"", final=True)   # (a sequence the file's last bytes leave incomplete fails only here)
    late = late or (ok and not first.ok and first.count)
    if detected is not None:
        detected.feed(b"", final=True)
    return _decided(kept, first, detected, late, source.encoding)


def _detector(first: _Trial, head: bytearray, skip: int, forced: str | None) -> _Trial | None:
    """The detector's codec tried, fed the head, when decode() asks it: not forced, no byte-order mark, not UTF-8."""
    if forced or skip or first.ok:
        return None   # (UTF-8 still: the detector is not asked, nor later, see ``late``)
    codec = _detect(bytes(head))
    if not codec or codec == "utf-8":
        return None
    trial = _Trial(codec, head=True)
    trial.feed(bytes(head))
    return trial


def _decided(kept: TextPlan, first: _Trial, detected: _Trial | None, late: bool, forced: str | None
             ) -> TextPlan | None:
    """decode()'s decision, from its rules' trials over the whole bytes."""
    if not first.count:   # forced, or a byte-order mark
        label = () if forced or first.codec == "utf-8" else (_label(first.codec),)
        skip = 0 if forced else next(len(bom) for bom, codec in _BOMS if codec == first.codec)
        return _plan(kept, first.codec, label + (() if first.ok else (_REPLACED,)), skip, bool(forced))
    if first.ok and not first.binary():
        return _plan(kept, "utf-8", ())
    if 4 * first.bad <= first.non_ascii - first.bad and not first.binary():   # mostly UTF-8
        return _plan(kept, "utf-8", (_REPLACED,))
    if first.ok or late:   # decode() asks the detector: it was not, when the head was read
        return None
    if detected is not None:
        if detected.ok and not detected.binary():
            return _plan(kept, detected.codec, (_label(detected.codec),))
        if not detected.binary():
            return _plan(kept, detected.codec, (_label(detected.codec), _REPLACED))
    if first.binary():
        raise Undecodable(_UNDECODABLE)
    return _plan(kept, "utf-8", (_REPLACED,))


def _plan(kept: TextPlan, codec: str, warnings: tuple[str, ...], skip: int = 0, strip: bool = False) -> TextPlan:
    errors = "replace" if _REPLACED in warnings else "strict"
    return TextPlan(codec, errors, warnings, skip, strip, None, None, kept.size, kept.identity, kept.crc)


def _broken_plan(kept: TextPlan, head: bytes, forced: str | None, first: _Trial | None, broken: FileRejected,
                 stop: int) -> TextPlan | None:
    """Data that broke part-way: streamed when it is UTF-8 text to the break (a character the break cut aside)."""
    if first is None:
        first, _ = _trials(head, forced)
    utf8 = codecs.lookup(first.codec).name == "utf-8"
    if not (utf8 and first.ok):
        return None
    if first.count and _looks_binary(str(memoryview(head)[:stop], "utf-8", "ignore")):
        return None
    skip = len(codecs.BOM_UTF8) if not forced and head.startswith(codecs.BOM_UTF8) else 0
    return TextPlan("utf-8", "strict", (), skip, bool(forced), stop, broken, kept.size, kept.identity, kept.crc)
