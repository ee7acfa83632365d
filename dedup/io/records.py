"""Turn raw records (dicts from any reader) into canonical articles or rejects.

Every reader yields ``(record_number, raw_dict)`` pairs; :class:`RecordMapper`
maps field names (``--field`` overrides first, then the canonical name, then
the common aliases), checks and cleans the values, and returns either an
article row or a reject row with a stable reason code.

A mapped name may be a dotted path into nested objects (JSON objects, Parquet
struct columns): ``--field text=body.content`` reads ``{"body": {"content":
...}}``. A column whose name itself contains the dot wins. Lists are not
indexed: a text stored as a list of paragraphs is rejected (``bad_field_type``).
"""

from __future__ import annotations

import email.utils
import hashlib
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from dedup.config import CANONICAL_FIELDS, ReadConfig
from dedup.normalize import new_since_unicode14

#: Column names accepted for each canonical field, after an explicit --field mapping, in the order they are
#: tried; written in lower case, as a header's names are matched (``publishedat`` is NewsAPI's ``publishedAt``).
#: The specific names of a date come before the generic ``date`` and ``timestamp``, which a CMS export may
#: hold as displayed (``27/11/2026``, or the day alone) beside its full time.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "article_id", "doc_id", "uid", "guid"),
    "outlet": ("outlet", "source", "publisher", "site", "site_name", "sitename", "domain",
               "source_domain"),
    "title": ("title", "headline", "heading"),
    "text": ("text", "body", "content", "article", "maintext", "raw_content"),
    "published": ("published", "published_at", "publishedat", "publish_date", "pubdate", "date_publish", "date",
                  "timestamp"),
    "url": ("url", "link", "uri", "source_url"),
}

#: The first integer a float cannot hold exactly: 2**53 + 1 is read as 2**53, so from there a whole float id
#: may not be the integer that was written (pandas makes an int64 column that has a null float64).
_EXACT_FLOAT_IDS = 2**53


@dataclass(frozen=True)
class Reject:
    file: str
    record: int | None
    reason: str
    message: str
    article_id: str | None = None

    def as_row(self) -> dict[str, Any]:
        # A message may quote the record (its keys, say), which may hold lone surrogates.
        return {"file": self.file, "record": self.record,
                "article_id": None if self.article_id is None else repair_surrogates(self.article_id),
                "reason": self.reason, "message": repair_surrogates(self.message)}


def content_id(*parts: str | None) -> str:
    """A stable id derived from content: the same text always gets the same id."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return "h-" + h.hexdigest()


def outlet_from_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def parse_published(value: Any) -> datetime | None:
    """ISO 8601 (or RFC 2822, as in RSS) to an aware UTC datetime; naive times are taken as UTC.

    Raises ValueError when the value is present but unreadable, names a zone that RFC 2822 does not
    define (``Fri, 27 Nov 2026 08:15:00 CET``: see :func:`_unknown_zone`), or is out of the range of
    ``datetime`` once in UTC (``0001-01-01T00:00:00+01:00``, ``9999-12-31T23:00:00-05:00``).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        s = value.strip()
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            try:
                if new_since_unicode14(s):   # digits Python 3.12+ reads and 3.11 does not: read on none
                    raise ValueError
                dt = email.utils.parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError, OverflowError):   # Overflow: a year or hour of 20 digits
                raise ValueError(f"unreadable date {value!r}; expected ISO 8601 such as 2026-11-27T08:15:00Z") from None
            if dt.tzinfo is None and (zone := _unknown_zone(s)):
                raise ValueError(f"date {value!r} has {zone!r} where RFC 2822 wants a time zone; expected an "
                                 "offset such as +0100, or UT, GMT, EST... (other names are not guessed)") from None
    else:
        raise ValueError(f"unreadable date {value!r} of type {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"date {value!r} is out of range in UTC (years 1 to 9999)") from None


#: The parts of an RFC 2822 date besides its zone: a day or month name (full or not), a number (day, year),
#: the time, and ``-0000`` (RFC 2822's "no zone given").
_RFC2822_PART = re.compile(r"(?i)(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
                           r"[a-z]*\.?|\d+|\d{1,2}:\d\d(?::\d\d)?|-0000")


def _unknown_zone(value: str) -> str | None:
    """The zone of an RFC 2822 date that :mod:`email.utils` read without one, if it names one: ``CET``, ``IST``,
    ``+01:00``... email.utils knows the zones of RFC 2822 (UT, GMT, EST...) and numeric offsets, and takes any
    other as no zone (UTC here). That would shift the time by hours, so it is an unreadable date instead: the
    abbreviations are not guessed, they are ambiguous (IST is India, Ireland or Israel)."""
    tokens = re.sub(r"\([^)]*\)", " ", value).replace(",", " ").split()   # (comments) say nothing
    return next((token for token in tokens if not _RFC2822_PART.fullmatch(token)), None)


#: A UTF-16 surrogate on its own: JSON can carry one as an escape (``"\ud83d"``, a tweet cut mid-emoji),
#: but no UTF-8 file or Arrow string can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def repair_surrogates(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD, as a UTF-8 decoder does with a cut sequence."""
    return value if value.isascii() or not _SURROGATE.search(value) else _SURROGATE.sub("\ufffd", value)


def _is_missing(value: Any) -> bool:
    """True for None and for NaN, a float column's missing value (pandas, polars and Spark write it where an
    id, title or date is missing, and pandas' records as JSON ``NaN``): NaN is missing wherever null is."""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, Decimal):
        return value.is_nan()
    return value is None


def _override_names(path: str | None) -> tuple[str, ...]:
    """The names a ``--field`` column is looked up by: as written, then case-folded and stripped, as a
    header's names are also found (:meth:`RecordMapper._with_folded_names`): ``text=Story Body`` reaches the
    column `` Story Body ``."""
    return () if path is None else tuple(dict.fromkeys((path, path.strip().casefold())))


def _nested(raw: dict[str, Any], path: str) -> Any:
    """``raw["a"]["b"]`` for the path ``a.b`` (JSON objects, Parquet structs); None if absent."""
    value: Any = raw
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _utf8(value: bytes | bytearray) -> str | bytes | bytearray:
    """A byte string as the text it encodes in UTF-8 (Hive and Impala write Parquet strings as plain
    BINARY, without the annotation that makes them strings); as it is if it is not UTF-8 (bad_field_type)."""
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return value


class RecordMapper:
    """Map raw records to ARTICLES rows.

    Stateless apart from the field lookup order it derives from ``config``.
    """

    def __init__(self, config: ReadConfig):
        self.config = config
        self._plain_names: set[tuple] = set()   # see _with_folded_names
        overrides = dict(config.field_map)
        self.lookup = {field: _override_names(overrides.get(field)) + ALIASES[field] for field in CANONICAL_FIELDS}
        self.explicit_published = set(_override_names(overrides.get("published")))
        # The objects a --field path reaches into (``source`` for ``outlet=source.name``): one is never the
        # field itself, though it is an alias; where the path is null, the aliases after it are tried.
        self.containers = {field: {".".join(parts[:i]) for name in _override_names(path)
                                   for parts in [name.split(".")] for i in range(1, len(parts))}
                           for field, path in overrides.items()}

    def _get(self, raw: dict[str, Any], field: str) -> Any:
        """The value of ``field`` under the first of its lookup names that has one (see :meth:`_value`), None if
        none has. Most names are not in the record: skipped without a call (this runs for each field of each
        record)."""
        for name in self.lookup[field]:
            if (raw.get(name) is not None or "." in name) and (value := self._value(raw, field, name)) is not None:
                return value
        return None

    def _value(self, raw: dict[str, Any], field: str, name: str) -> Any:
        """The value of ``field`` under ``name`` in ``raw``: None if it is missing (null, NaN) or is an object a
        ``--field`` path reaches into; text for a UTF-8 byte string."""
        value = raw.get(name)
        if value is None and "." in name:
            value = _nested(raw, name)
        if value.__class__ is str:
            return value
        if _is_missing(value) or (isinstance(value, dict) and name in self.containers.get(field, ())):
            return None
        return _utf8(value) if value.__class__ in (bytes, bytearray) else value

    def _id(self, raw: dict[str, Any]) -> tuple[Any, str | None]:
        """The record's id, an integer as its digits (a whole float or decimal too: pandas writes a nullable
        integer column as floats, ``12345.0``; databases a DECIMAL(18,0)), any other value as it is; and a
        warning. A whole float from 2**53 on may not be the integer written (1469785430253568001 and ...002
        are both 1469785430253568000.0): such an id is None, so the article gets the content id rather than
        another article's id, with the warning ``imprecise_float_id``."""
        value = self._get(raw, "id")
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value), None
        if isinstance(value, float) and value.is_integer():
            if abs(value) < _EXACT_FLOAT_IDS:
                return str(int(value)), None
            return None, (f"imprecise_float_id: id {value!r} is a float past 2**53, which cannot tell the integers "
                          "apart; the content id is used (write ids as int64 or strings)")
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return str(int(value)), None   # a DECIMAL(18,0) column of Spark, Hive or a database export
        return value, None

    def _published(self, raw: dict[str, Any]) -> tuple[datetime | None, str | None]:
        """The first readable date of the ``published`` names, in lookup order, and a warning or None.

        A display column (``date``: ``27/11/2026``) so never leaves undated an article whose ``published_at``
        is readable; but a date taken after an unreadable one is the warning ``date_fallback`` (the CMS's
        field broke: the date may be another kind of time), not silence. A ``--field published=`` column the
        user chose is not replaced when unreadable (only when absent), and no readable date at all is
        ``bad_date`` with the first unreadable one's reason: the article stays undated."""
        unreadable = None   # (name, reason) of the first unreadable date
        for name in self.lookup["published"]:
            if (raw.get(name) is None and "." not in name) or (value := self._value(raw, "published", name)) is None:
                continue
            try:
                published = parse_published(value)
            except ValueError as exc:
                if name in self.explicit_published:
                    return None, f"bad_date: {exc}"
                unreadable = unreadable or (name, str(exc))
                continue
            if published is not None:
                if unreadable:
                    return published, f"date_fallback: {unreadable[0]}: {unreadable[1]}; the date of {name} is used"
                return published, None
        return None, unreadable and f"bad_date: {unreadable[1]}"

    def _with_folded_names(self, raw: dict[str, Any]) -> dict[str, Any]:
        """``raw``, plus each of its names written otherwise than the lower-case aliases (``Text``, ``" title"``
        from a spreadsheet's header) under its case-folded, stripped form, where no name has that form:
        exact names are found first. ``raw`` itself when every name is already so written (the name lists
        found so are remembered: a file's records mostly share one)."""
        names = tuple(raw)
        if names in self._plain_names:
            return raw
        if all(isinstance(k, str) and k == k.strip().casefold() for k in names):
            if len(self._plain_names) < 1024:
                self._plain_names.add(names)
            return raw
        out = dict(raw)
        for key, value in raw.items():
            if isinstance(key, str):
                out.setdefault(key.strip().casefold(), value)
        return out

    def map(self, raw: Any, file: str, record: int | None) -> dict[str, Any] | Reject:
        """Return an ARTICLES row (with a ``_warnings`` key, a tuple of ``reason: detail``, usually empty)
        or a Reject. Lone surrogates in the string fields are replaced by U+FFFD (warning
        ``lone_surrogate_replaced``); an unreadable or out-of-range date is a ``bad_date`` warning."""
        if not isinstance(raw, dict):
            kind = "array" if isinstance(raw, list) else type(raw).__name__
            return Reject(file, record, "not_an_object", f"expected a JSON object, got {kind}")
        original, raw = raw, self._with_folded_names(raw)
        # the record's own id, if readable, names it in a reject (rejected.jsonl's article_id)
        raw_id, id_warning = self._id(raw)
        own_id = (raw_id.strip() or None) if isinstance(raw_id, str) else None
        text = self._get(raw, "text")
        if text is None and any(name in raw and _is_missing(raw[name]) for name in self.lookup["text"]):
            # the field is there but null: an empty CSV cell (the CSV reader makes "" null), a JSON or Parquet null
            return Reject(file, record, "empty_text", "text is empty", own_id)
        if text is None:
            keys = ", ".join(sorted(map(str, original))[:12]) or "none"   # as the record names them
            return Reject(file, record, "missing_text",
                          f"no text field (looked for {', '.join(self.lookup['text'])}; record has: {keys}); "
                          "map it with --field text=COLUMN", own_id)
        if not isinstance(text, str):
            return Reject(file, record, "bad_field_type", f"text must be a string, got {type(text).__name__}", own_id)
        if not text.strip():
            return Reject(file, record, "empty_text", "text is empty", own_id)
        if len(text) > self.config.max_text_chars:
            return Reject(file, record, "text_too_long",
                          f"text has {len(text):,} characters, more than max_text_chars={self.config.max_text_chars:,}",
                          own_id)
        warnings: list[str] = [id_warning] if id_warning else []
        fields: dict[str, Any] = {"text": text}
        for name in ("title", "outlet", "url", "id"):
            value = raw_id if name == "id" else self._get(raw, name)
            if name == "outlet" and isinstance(value, dict) and isinstance(value.get("name"), str):
                value = value["name"]   # NewsAPI's "source": {"id": ..., "name": ...}, a schema.org publisher
            if value is not None and not isinstance(value, str):
                return Reject(file, record, "bad_field_type", _not_a_string(name, value), own_id)
            fields[name] = value.strip() if isinstance(value, str) else None
            if fields[name] == "":
                fields[name] = None
        cut = []
        for name, value in fields.items():
            if value is not None and (repaired := repair_surrogates(value)) is not value:
                fields[name] = repaired
                cut.append(name)
        if cut:
            warnings.append(f"lone_surrogate_replaced: {', '.join(cut)}")
        text = fields["text"]
        published, date_warning = self._published(raw)
        if date_warning:
            # An unreadable date does not make the article unusable: keep it
            # (undated, or dated by the next name) and count the warning in summary.json.
            warnings.append(date_warning)
        outlet = fields["outlet"] or outlet_from_url(fields["url"])
        article_id = fields["id"] or content_id(outlet, fields["title"], text)
        return {
            "article_id": article_id,
            "outlet": outlet,
            "title": fields["title"],
            "text": text,
            "published": published,
            "url": fields["url"],
            "source_file": file,
            "source_record": record,
            "_warnings": tuple(warnings),
        }


def _not_a_string(name: str, value: Any) -> str:
    """The message of a ``bad_field_type`` reject: ``name``'s ``value`` is not a string (nor, for an id, a
    whole number), with what to do about it where that is clear."""
    kind = type(value).__name__
    if name == "id" and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f"id must be a string or a whole number, got the {kind} {value}"
    if isinstance(value, dict):
        return f"{name} must be a string, got an object; map a string in it with --field {name}=COLUMN.KEY"
    return f"{name} must be a string, got {kind}"
