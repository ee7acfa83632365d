"""A reader of bzip2 files that keeps the output CPython's ``bz2`` holds when its input runs out
(:class:`Bzip2Reader`), for :func:`dedup.io.streams.open_stream`."""

from __future__ import annotations

import bz2
from typing import BinaryIO

from dedup.io.rawreaders import OneStepReader

_INPUT_CHUNK = 1 << 16


class Bzip2Reader(OneStepReader):
    """The bzip2 streams of a file (one after another, as ``cat`` or pbzip2 join them) decompressed, as
    ``bz2.BZ2File`` reads them but for one thing: at the end of the file, a decompressor that says it needs
    input is asked again with none before the file is called truncated. CPython's bz2 stops when its input
    runs out though it still holds output, so ``BZ2File`` lost the last block (up to 900 kB) of a file cut
    exactly at that block's end."""

    def __init__(self, raw: BinaryIO):
        self._raw, self._decompressor = raw, bz2.BZ2Decompressor()
        self._done = False   # the end read: b"" from then on, as BZ2File gives

    def _read(self, size: int) -> bytes:
        if not size or self._done:   # asked for nothing (the decompressor would give nothing forever), or the end
            return b""
        while True:   # until some output, the end, or an error: a read of input may give no output yet
            if self._decompressor.eof:   # a stream ended: another may follow
                if not (rest := self._decompressor.unused_data or self._raw.read(_INPUT_CHUNK)):
                    self._done = True
                    return b""
                self._decompressor = bz2.BZ2Decompressor()
                try:
                    data = self._decompressor.decompress(rest, size)
                except OSError:   # bytes after the last stream that are not one: ignored, as BZ2File does
                    self._done = True
                    return b""
            elif self._decompressor.needs_input and (block := self._raw.read(_INPUT_CHUNK)):
                data = self._decompressor.decompress(block, size)
            elif not (data := self._decompressor.decompress(b"", size)) and self._decompressor.needs_input:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            if data:
                return data
