"""The base of dedup's own decompressing readers (:mod:`dedup.io.bzip2`, :mod:`dedup.io.gzip_members`)."""

from __future__ import annotations

import io


class OneStepReader(io.RawIOBase):
    """A raw reader whose :meth:`_read` gives the next decompressed bytes (at most ``size``; b"" at the end).

    Each read is one step of decompression, so ``readinto1`` is ``readinto``: :class:`dedup.io.streams._Guarded`
    reads with ``readinto1``, and a reader that held bytes back would lose them when its next read raises (a
    ``BufferedReader``'s ``readinto1`` drops what it held when its read past it raises).
    """

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    readinto1 = readinto

    def _read(self, size: int) -> bytes:
        raise NotImplementedError
