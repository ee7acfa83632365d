"""Reading a WARC on past a record that cannot be parsed: :class:`RecordSource`, the byte source warcio reads,
which can go back to the next line that starts a record.

warcio reads its input a 16 KiB block ahead, so when a record's header block turns out to be garbled, the bytes
after it are already read. The source therefore keeps the bytes it hands out from the start of each record until
warcio has parsed that record's headers (a few KiB: the payload that follows is streamed, not kept), and after a
failure looks through them, then on through the stream, for the next line ``WARC/1.0`` or ``WARC/1.1``, and hands
out the bytes from there again. The scan runs only after a failure: a record whose Content-Length is intact is
read whole, whatever its payload holds. A line found is taken for a record's start only if a header block follows it
with the fields every record has that say what it is and how long: ``WARC-Type``, ``WARC-Record-ID`` and a numeric
``Content-Length``. A page about web archiving quoting a record line is passed over (a record taken from it would
have no length, and warcio would read it to the end of the file), unless it quotes a whole header block.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from dedup.io.gzip_members import DamagedMember

_CHUNK = 1 << 16

#: A line that starts a WARC record, after the newline that ends the line before it (so the bad record's own first
#: line, at the offset the scan starts from, is passed over).
_RECORD_LINE = re.compile(rb"\nWARC/1\.[01]\r\n")
_LONGEST = len(b"\nWARC/1.0\r\n")
#: The header lines after a record line: fields, and continuations of one (starting with a space or a tab).
_HEADER_LINES = re.compile(rb"(?:[!-9;-~]+:[^\r\n]*\r\n|[ \t][^\r\n]*\r\n)*")
_NAMED = (b"warc-type", b"warc-record-id")   # fields a record's header block must have, with a Content-Length
_HEADER_LIMIT = 1 << 20   # a header block longer than this after a failure is taken for no record's


class RecordSource:
    """The decompressed bytes of a WARC as warcio reads them (``read``, ``tell``: offsets in the decompressed data),
    able to go back to the next record after one warcio could not parse (:meth:`resume_after`)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._position = 0            # the offset of the next byte handed out
        self._replay = b""            # bytes handed out again (from the record found) before the stream is read on
        self._last = b""              # the bytes handed out last: where the next record starts, read ahead
        self._kept: bytearray | None = None   # the bytes handed out since the watched record began

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        if self._replay:
            size = len(self._replay) if size < 0 else size
            data, self._replay = self._replay[:size], self._replay[size:]
        else:
            # read1: one read of the decompressor, so what it gave before a break is handed out (see streams.ReadOnce)
            data = self._stream.read1(size)
            if len(data) == 1 and size > 1:
                # warcio tries its first read as gzip, and zlib needs 2 bytes to refuse a gzip header: a first
                # read of 1 byte (a member whose first output is 1 byte) would be swallowed
                data += self._stream.read1(size - 1)
        self._position += len(data)
        self._last = data
        if self._kept is not None:
            self._kept += data
        return data

    def watch(self, start: int) -> None:
        """Keep the bytes of the record that begins at ``start`` (an offset warcio gave, in what it read last) until
        :meth:`parsed`."""
        self._kept = bytearray(self._last[max(0, len(self._last) - (self._position - start)):])

    def parsed(self) -> None:
        """The watched record's headers are parsed: its payload is not kept."""
        self._kept = None

    def resume_after(self, start: int) -> int | None:
        """After the record at ``start`` could not be parsed, hand out the bytes again from the next line that starts
        a record and return its offset; None if no record follows (the stream is then read to its end).

        A damaged gzip member met on the way ends the scan: the next member starts a record.
        """
        kept = b"" if self._kept is None else bytes(self._kept)
        window, window_at = kept[max(0, len(kept) - (self._position - start)):], max(start, self._position - len(kept))
        window, self._replay, self._kept = window + self._replay, b"", None
        self._last = b""
        scan = 0   # where in the window the search goes on (past a line that starts no record)
        while True:
            found = _RECORD_LINE.search(window, scan)
            record = None if found is None else _starts_record(window, found.end())
            if record:
                break
            if record is False:
                scan = found.start() + 1
                continue
            # no record line in the window, or one whose header block goes on past it: read on, keeping it
            keep = found.start() if found else max(0, len(window) - (_LONGEST - 1))
            try:
                more = self._stream.read1(_CHUNK)
            except DamagedMember:
                self._position = window_at + len(window)
                return self._position
            if not more:
                self._position = window_at + len(window)
                return None
            window_at, window, scan = window_at + keep, window[keep:] + more, 0
        self._position = window_at + found.start() + 1
        self._replay = window[found.start() + 1:]
        return self._position


def _starts_record(window: bytes, block_at: int) -> bool | None:
    """Whether the header block at ``block_at`` in ``window`` (after a line ``WARC/1.x``) is a record's: header
    lines up to a blank line, with WARC-Type, WARC-Record-ID and a numeric Content-Length; None when the window
    ends before that can be told."""
    block_end = _HEADER_LINES.match(window, block_at).end()
    if window.startswith(b"\r\n", block_end):
        lines = (line.partition(b":") for line in window[block_at:block_end].split(b"\r\n") if line[:1] not in
                 (b"", b" ", b"\t"))   # fields, not the continuations of one
        fields = {name.strip().lower(): value.strip() for name, _, value in lines}
        return all(name in fields for name in _NAMED) and fields.get(b"content-length", b"").isdigit()
    if window.find(b"\n", block_end) < 0 and len(window) - block_at < _HEADER_LIMIT:
        return None   # the window ends inside a line of the block (a field, or the blank line that ends it)
    return False
