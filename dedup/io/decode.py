"""Bytes to text: byte-order mark, declared charset, UTF-8, then a detector.

Crawled pages and partner dumps come in every legacy encoding, often declared
wrongly. :func:`decode` never raises on bad bytes except for data that is not
text at all (:class:`Undecodable`), and says what it decided, so the read stage
can count it in ``summary.json`` (``warnings_by_reason``):

1. a byte-order mark decides (as in browsers); UTF-16/32 is counted as
   ``decoded_as_utf-16-le``...;
2. pure ASCII is UTF-8;
3. valid UTF-8 is UTF-8, even when the page declares a legacy charset: the
   usual mistake is a template that says ``iso-8859-1`` around UTF-8 content,
   and legacy text is practically never valid UTF-8 by chance
   (``charset_mismatch``);
4. the declared charset (HTTP ``Content-Type`` in WARC, then ``<meta
   charset>`` in the first 4 KiB of HTML) when the bytes decode with it
   (``decoded_as_cp1252``...);
5. for a line of a JSON Lines file, the legacy codec the detector gave two
   earlier lines of the file, when the bytes decode with it (``guess``: the
   detector is slow on short texts and has little evidence in one line);
6. the charset-normalizer detector, which prefers the encodings common on the
   web among equally plausible answers (cp1252 over cp1250 for French, say);
   a declaration it overrides is counted as ``charset_mismatch``;
7. UTF-8 with replacement characters (``decoded_with_replacement``), unless
   the data looks binary (NUL bytes, mostly invalid): :class:`Undecodable`.

Labels follow the WHATWG Encoding standard: ``iso-8859-1`` and ``ascii`` mean
windows-1252, ``gb2312`` means gb18030, ``shift_jis`` means cp932...
"""

from __future__ import annotations

import codecs
import re
import sys
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),  # before UTF-16: same prefix
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: WHATWG label -> the Python codec browsers actually use for it.
_WHATWG = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
    "ascii": "cp1252", "us-ascii": "cp1252", "iso-8859-9": "cp1254", "iso8859-9": "cp1254", "latin5": "cp1254",
    "iso-8859-11": "cp874", "tis-620": "cp874", "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "big5": "big5hkscs", "x-mac-roman": "mac-roman",
}

#: Encodings in rough order of use on the web, to break the detector's ties.
_WEB_ORDER = ("cp1252", "cp1251", "cp932", "euc_jp", "gb18030", "cp949", "iso8859-2", "cp1250", "big5hkscs",
              "cp1254", "cp1256", "iso8859-15", "cp874", "koi8-r", "cp1253", "cp1255", "cp1257", "cp1258",
              "koi8-u", "iso8859-7", "iso8859-8", "iso8859-5", "iso8859-4", "iso8859-13")

_META = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([a-z0-9_.:-]{1,40})""", re.I)
_CONTENT_TYPE = re.compile(r"""charset\s*=\s*["']?\s*([a-z0-9_.:-]{1,40})""", re.I)

_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\ufffd]")

_SNIFF_BYTES = 4096
_DETECT_BYTES = 1 << 18    # the detector reads at most this much; decoding then covers everything
_UNDECODABLE = "not text in any recognisable encoding (binary data?)"


class Undecodable(ValueError):
    """The bytes are not text in any encoding we can identify (binary data)."""


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str                 # Python codec name, e.g. "utf-8", "cp1252"
    warnings: tuple[str, ...] = ()


def codec_name(label: str | None) -> str | None:
    """The Python codec for a charset label (WHATWG meanings), or None if unknown or not text."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG.get(label, label)
    try:
        info = codecs.lookup(label)
        "a".encode(info.name)  # LookupError for non-text codecs such as rot13 or zlib
    except (LookupError, UnicodeError, ValueError):
        return None
    return "utf-8" if info.name in ("utf-8", "utf_8") else info.name


def forced_failure(forced: str, exc: Exception) -> Undecodable:
    """What is raised for bytes the ``forced`` codec raised ``exc`` on instead of replacing what it cannot decode:
    :class:`~dedup.config.ReadConfig` refuses the codecs that do so (punycode, idna); one registered by another
    package may still, on some bytes, and then the file, not the run, is lost (its reader's ``undecodable``)."""
    return Undecodable(f"cannot be decoded with the forced encoding {forced!r} ({type(exc).__name__}: {exc})")


def incremental_codec(codec: str, head: bytes) -> str:
    """The codec that decodes, a piece at a time, what ``codec`` decodes whole, for bytes that start with ``head``
    (their first 4 at least, or all): ``codec`` itself, but for ``utf-16`` and ``utf-32`` without their byte-order
    mark, which ``bytes.decode`` reads in the machine's order and their incremental decoders refuse (UnicodeError):
    that order's codec then."""
    name = codecs.lookup(codec).name
    if name in ("utf-16", "utf-32") and not any(head.startswith(bom) for bom, of in _BOMS if of.startswith(name)):
        return f"{name}-{'le' if sys.byteorder == 'little' else 'be'}"
    return codec


def charset_from_content_type(value: str | None) -> str | None:
    """The charset label of an HTTP ``Content-Type`` value, if any."""
    match = _CONTENT_TYPE.search(value or "")
    return match.group(1) if match else None


def html_declared_charset(data: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag within its first 4 KiB."""
    match = _META.search(data[:_SNIFF_BYTES])
    return match.group(1).decode("ascii", "replace") if match else None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency; fall back to the web's commonest legacy codec
        return "cp1252"
    results = list(from_bytes(data[:_DETECT_BYTES]))
    if not results:
        return None
    best = min(r.chaos for r in results)
    plausible = [r for r in results if r.chaos <= best + 0.01]
    candidates = {codec_name(name) for r in plausible for name in [r.encoding, *r.could_be_from_charset]}
    for preferred in _WEB_ORDER:
        if preferred in candidates:
            return preferred
    return codec_name(plausible[0].encoding)


def _looks_binary(text: str) -> bool:
    """Control characters or replacement marks in more than 5% of the text: not prose."""
    head = text[:_DETECT_BYTES]
    return len(_CONTROL.findall(head)) > len(head) // 20


def _label(encoding: str) -> str:
    return "decoded_as_" + encoding.replace("_", "-")


def decode(data: bytes, *, declared: str | None = None, html: bool = False, forced: str | None = None,
           guess: str | None = None) -> Decoded:
    """Decode ``data``, following the order in the module docstring.

    ``declared`` is a charset label from outside the bytes (an HTTP header);
    ``html`` also looks for a ``<meta charset>``; ``forced`` (a codec name from
    ``ReadConfig.encoding``) skips detection. ``guess`` is the legacy codec the
    detector chose for an earlier part of the same file (a JSON Lines line):
    tried, strictly, before the detector, which is slow on short texts (some
    2 ms a line) and has little evidence in one line. Raises
    :class:`Undecodable` for binary data, and for bytes the ``forced`` codec
    raises on instead of replacing what it cannot decode.
    """
    if forced:
        # A byte-order mark is dropped as in step 1: "utf-8" and "utf-16-le" keep it as a U+FEFF ("utf-16" not).
        try:
            text = _strict(data, forced)
            if text is not None:
                return Decoded(text.removeprefix("\ufeff"), forced)
            return Decoded(data.decode(forced, errors="replace").removeprefix("\ufeff"), forced,
                           ("decoded_with_replacement",))
        except (UnicodeError, LookupError) as exc:
            raise forced_failure(forced, exc) from None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            text = _strict(body, encoding)
            warnings = () if encoding == "utf-8" else (_label(encoding),)
            if text is None:
                text, warnings = body.decode(encoding, errors="replace"), warnings + ("decoded_with_replacement",)
            return Decoded(text, encoding, warnings)
    if data.isascii() and not _looks_binary(text := data.decode("ascii")):
        return Decoded(text, "utf-8")
    label = declared or (html_declared_charset(data) if html else None)
    claimed = codec_name(label)
    mismatch = ("charset_mismatch",) if label else ()
    text = _strict(data, "utf-8")
    if text is not None and not _looks_binary(text):
        legacy = claimed is not None and not claimed.startswith("utf")
        return Decoded(text, "utf-8", mismatch if legacy else ())
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    if 4 * bad <= len(lenient) - len(lenient.encode("ascii", "ignore")) - bad and not _looks_binary(lenient):
        # Mostly valid UTF-8 with a few stray bytes (a pasted cp1252 quote, a cut sequence).
        legacy = claimed is not None and not claimed.startswith("utf")
        return Decoded(lenient, "utf-8", ("decoded_with_replacement",) + (mismatch if legacy else ()))
    if claimed and not claimed.startswith("utf"):
        text = _strict(data, claimed)
        if text is not None and not _looks_binary(text):
            return Decoded(text, claimed, (_label(claimed),))
    if guess and guess != claimed:
        text = _strict(data, guess)
        if text is not None and not _looks_binary(text):
            return Decoded(text, guess, (_label(guess),) + mismatch)
    detected = _detect(data)
    if detected and detected != "utf-8":
        text = _strict(data, detected)
        if text is not None and not _looks_binary(text):
            return Decoded(text, detected, (_label(detected),) + mismatch)
        # The detector saw a sample; a later stretch does not fit: keep what fits.
        text = data.decode(detected, errors="replace")
        if not _looks_binary(text):
            return Decoded(text, detected, (_label(detected), "decoded_with_replacement") + mismatch)
    if _looks_binary(lenient):
        raise Undecodable(_UNDECODABLE)
    return Decoded(lenient, "utf-8", ("decoded_with_replacement",) + mismatch)
