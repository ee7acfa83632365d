"""Which codecs can decode files: the check behind ``ReadConfig.encoding`` (a forced codec).

Apart from :mod:`dedup.io.decode` on purpose: the settings import it, and ``dedup.io`` imports the settings.
"""

from __future__ import annotations

import codecs

#: Bytes of every value in several orders: what a forced codec must decode, with replacement, without raising.
_ANY_BYTES = bytes(range(256)) + bytes(range(255, -1, -1)) + bytes(range(0, 256, 3)) * 2
#: Named, as no decoding probe tells them from a character set (their own encodings round-trip) without refusing
#: one whose byte 0x5C is not the backslash (shift_jisx0213's yen sign): they decode Python string escapes, so a
#: file's backslashes would change its text (a JSON ``\\"`` would end its string).
_ESCAPE_CODECS = ("unicode-escape", "raw-unicode-escape")


def not_a_file_encoding(name: str) -> str | None:
    """Why the codec ``name`` cannot decode files (the end of the error message), or None if it can. Probed, so
    that a codec another package registers is judged by what it does: the readers decode with ``errors="replace"``
    whole or a piece at a time, and expect no exception. So: a text encoding (not rot13, zlib: LookupError), any
    bytes decoded with replacement without raising (punycode and idna, for domain names, raise; undefined always),
    and as well by its incremental decoder fed its own text first (``utf-16`` and ``utf-32`` need their byte-order
    mark to start one: without it, see :func:`dedup.io.decode.incremental_codec`); but :data:`_ESCAPE_CODECS`."""
    try:
        if codecs.lookup(name).name in _ESCAPE_CODECS:
            return "is not a file encoding (it decodes Python string escapes, not a character set)"
    except (LookupError, TypeError):
        return "is not a known codec"
    try:
        _ANY_BYTES.decode(name, "replace")
        decoder = codecs.getincrementaldecoder(name)("replace")
        decoder.decode("a".encode(name, "replace"))
        for start in range(0, len(_ANY_BYTES), 7):   # in pieces: characters cut between two
            decoder.decode(_ANY_BYTES[start:start + 7])
        decoder.decode(b"", final=True)
    except LookupError:
        return "is not a text encoding"
    except Exception as exc:  # noqa: BLE001 - whatever a codec raises, it cannot read a file
        return f"is not a file encoding (bytes that are not its text raise {type(exc).__name__}, not replaced)"
    return None
