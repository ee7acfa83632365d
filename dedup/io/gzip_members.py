"""A reader of gzip files of many members that steps over a damaged one (:class:`GzipMembers`), for
:func:`dedup.io.streams.open_stream` and a ``.warc.gz``.

A ``.warc.gz`` is usually one gzip member per WARC record (CC-NEWS and every warcio-based crawler write it so), so a
member whose bytes are damaged holds one record, and the next member starts the next record; a WARC gzipped whole
(``gzip crawl.warc``, or several joined by ``cat``) holds many records in one member. ``gzip.GzipFile`` stops at
the damage and everything after it is lost; this reader raises :class:`DamagedMember` once and then goes on at the
next member's header (``1f 8b 08``), the way ``warcio recompress`` and other WARC tools think of a damaged file.

A member's output is held back until the CRC-32 and length at its end are checked (up to 4 MiB of it: a member
of one record), so that a record whose data was damaged in a way zlib decodes without error is never handed out;
a larger member (many records) is handed out as it is decompressed, and its check comes after all of it.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO, NoReturn

from dedup.io.rawreaders import OneStepReader

_INPUT_CHUNK = 1 << 16
_MAGIC = b"\x1f\x8b\x08"   # a gzip header: its magic and the deflate method
_FIXED_HEADER = 10         # magic, method, flags, time, extra flags, system
_FHCRC, _FEXTRA, _FNAME, _FCOMMENT, _RESERVED = 0x02, 0x04, 0x08, 0x10, 0xE0   # the header's flags (RFC 1952)
_OUTPUT_CHUNK = 1 << 16    # the output of one decompression step
_HOLD = 4 << 20            # a member's output held back until its check, up to this much
_TRAILER = 8               # the member's CRC-32 and length, after its deflate data
_CUT = "Compressed file ended before the end-of-stream marker was reached"   # GzipFile's words


class DamagedMember(Exception):
    """A gzip member could not be decompressed; the next read goes on at the next member.

    ``output_end`` is the offset in the decompressed data where the output handed out ends; ``output_whole`` says
    that all the member's output had been handed out when only its check failed (a member larger than the output
    held back), else its output broke off there.
    """

    def __init__(self, message: str, output_end: int, output_whole: bool):
        super().__init__(message)
        self.output_end, self.output_whole = output_end, output_whole


def _header_length(data: bytes) -> int | None:
    """The length of the gzip header at the start of ``data``, None if ``data`` ends inside it; ``zlib.error`` (as
    zlib's own gzip decoder raises) as soon as ``data`` shows it is no gzip header."""
    if not data.startswith(_MAGIC[:len(data)]) or (len(data) > 3 and data[3] & _RESERVED):
        raise zlib.error("incorrect header check")
    if len(data) < _FIXED_HEADER:
        return None
    flags, end = data[3], _FIXED_HEADER
    if flags & _FEXTRA:   # its length, then as many bytes
        end += 2 + int.from_bytes(data[end:end + 2], "little") if len(data) >= end + 2 else len(data) + 1
    for field in (_FNAME, _FCOMMENT):   # each ends at a zero byte (find's -1 + 1: none yet, past the end)
        if flags & field and end <= len(data):
            end = data.find(b"\x00", end) + 1 or len(data) + 1
    if flags & _FHCRC:   # the low 16 bits of the CRC-32 of the header before it
        end += 2
        if end <= len(data) and zlib.crc32(data[:end - 2]) & 0xFFFF != int.from_bytes(data[end - 2:end], "little"):
            raise zlib.error("header crc mismatch")
    return end if end <= len(data) else None


class GzipMembers(OneStepReader):
    """The members of a gzip file decompressed one after another, as ``gzip.GzipFile`` reads them (zero bytes
    between members are padding; the header parsed here, the data by zlib as raw deflate, the CRC-32 and length
    checked here), each member's output held back until its check (see the module docstring).

    What a failed check means thus depends on the member's size only, never on where the file's reads fall. A
    member that does not decompress raises :class:`DamagedMember` when another member follows, else ``zlib.error``;
    a file that ends inside a member raises ``EOFError`` once the output decompressed before it was handed out, as
    ``GzipFile`` does.
    """

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._inflate = None          # the current member's decompressor; None between members
        self._input = b""             # compressed bytes read and not yet decompressed
        self._input_at = 0            # the byte of the file where _input begins
        self._member_at = 0           # the byte of the file where the current member begins
        self._crc = self._length = 0  # the CRC-32 and length of the current member's output
        self._held = bytearray()      # its output held back until its check (empty once over _HOLD)
        self._streaming = False       # whether its output went over _HOLD, and is handed out as it comes
        self._ready, self._ready_at = b"", 0   # output to hand out, and how much of it was
        self.produced = 0             # decompressed bytes handed out
        self.discarded = 0            # decompressed bytes of damaged members thrown away (the bomb guard's)

    def _read(self, size: int) -> bytes:
        while self._ready_at == len(self._ready):
            if not self._step():
                return b""
        data = self._ready[self._ready_at:self._ready_at + size]
        self._ready_at += len(data)
        self.produced += len(data)
        return data

    def _step(self) -> bool:
        """Read and decompress a step further, into ``_held`` or ``_ready``; False at the end of the file."""
        if self._inflate is None:   # a member starts (after zero padding, which GzipFile allows too)
            if not self._input and not self._read_input():
                return False
            if self._input[0] == 0:
                self._consume(self._input.lstrip(b"\x00"))
            else:
                self._start_member()
            return True
        if self._inflate.eof:
            self._end_member()
            return True
        if not self._input and not self._read_input():
            self._cut()
            return True
        chunk = self._input
        try:
            data = self._inflate.decompress(chunk, _OUTPUT_CHUNK)
        except zlib.error as exc:
            self._skip_member(exc, chunk)
        self._consume(self._inflate.unused_data if self._inflate.eof else self._inflate.unconsumed_tail)
        self._crc, self._length = zlib.crc32(data, self._crc), self._length + len(data)
        if self._streaming:
            self._hand_out(data)
        else:
            self._held += data
            if len(self._held) > _HOLD:   # too large to hold back: handed out as it comes, checked after
                self._streaming = True
                self._hand_out(self._held)
        return True

    def _hand_out(self, data: bytes | bytearray) -> None:
        self._ready, self._ready_at = data, 0
        if data is self._held:
            self._held = bytearray()

    def _read_input(self) -> bool:
        self._input = self._raw.read(_INPUT_CHUNK)
        return bool(self._input)

    def _fill(self, needed: int) -> bool:
        """Read until ``_input`` holds ``needed`` bytes (a header or a trailer across two reads); False if the file
        ends first."""
        while len(self._input) < needed:
            more = self._raw.read(_INPUT_CHUNK)
            if not more:
                return False
            self._input += more
        return True

    def _consume(self, rest: bytes) -> None:
        """``_input`` is now ``rest``, its end."""
        self._input_at += len(self._input) - len(rest)
        self._input = rest

    def _cut(self) -> None:
        """The file ends inside the current member: hand out its output held back, then raise ``EOFError``."""
        if not self._held:
            raise EOFError(_CUT)
        self._hand_out(self._held)

    def _start_member(self) -> None:
        """Step past the header of the member ``_input`` starts with (a damaged one: on to the next member)."""
        self._member_at = self._input_at
        try:
            while (length := _header_length(self._input)) is None:
                if not self._fill(len(self._input) + 1):
                    raise EOFError(_CUT)
        except zlib.error as exc:
            self._skip_member(exc, self._input)
        self._inflate, self._streaming = zlib.decompressobj(-zlib.MAX_WBITS), False
        self._crc = self._length = 0
        self._consume(self._input[length:])

    def _end_member(self) -> None:
        """Check the CRC-32 and length at the end of the member just decompressed, step past them, and hand out its
        output held back; a damaged check raises :class:`DamagedMember` instead, and reading goes on right after it
        (a damaged header there is a damaged member of its own)."""
        if not self._fill(_TRAILER):
            self._cut()
            return
        crc, length = int.from_bytes(self._input[:4], "little"), int.from_bytes(self._input[4:_TRAILER], "little")
        self._inflate = None
        self._consume(self._input[_TRAILER:])
        if (crc, length) == (self._crc, self._length & 0xFFFFFFFF):
            self._hand_out(self._held)
            return
        self.discarded += len(self._held)
        self._held = bytearray()
        raise DamagedMember(f"the gzip member at byte {self._member_at:,} of the file is damaged (its CRC-32 or "
                            f"length does not match its data); the next member starts at byte {self._input_at:,}",
                            self.produced, output_whole=self._streaming)

    def _skip_member(self, error: zlib.error, chunk: bytes) -> NoReturn:
        """Go on at the first gzip header after the damaged member's own, looked for from the input that met the
        damage (a damaged end of block can run the decoder past the member's end, but not past this input,
        which holds at most 64 KiB), and raise :class:`DamagedMember`; raise ``error`` if no member follows."""
        window_at = max(self._input_at, self._member_at + 1)
        window = chunk[window_at - self._input_at:]
        while (found := window.find(_MAGIC)) < 0:
            more = self._raw.read(_INPUT_CHUNK)
            if not more:
                raise error   # no member follows: the end is damaged, as a truncated file is
            keep = window[-(len(_MAGIC) - 1):]
            window_at, window = window_at + len(window) - len(keep), keep + more
        self.discarded += len(self._held)
        self._inflate, self._held, self._input, self._input_at = None, bytearray(), window[found:], window_at + found
        raise DamagedMember(f"the gzip member at byte {self._member_at:,} of the file is damaged ({error}); the next "
                            f"member starts at byte {self._input_at:,}", self.produced, output_whole=False)
