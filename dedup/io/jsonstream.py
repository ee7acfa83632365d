"""JSON files read as a stream: memory bounded by a record, not by the file.

:func:`~dedup.io.textplan.text_plan` reads the decompressed file once, deciding
its codec as :func:`dedup.io.decode.decode` would on its whole bytes; then
:func:`read_json_stream` reads it a second time, a chunk at a time, decoded with
that codec, into the same records and rejects, numbered alike, as the
whole-file reader (:func:`dedup.io.readers._read_json_whole`, for the files the
first reading cannot decide), which shares its rules here (:func:`_one_object_per_line`,
:func:`_rest_rejected`...). Values are parsed by :meth:`json.JSONDecoder.raw_decode`
in a window of the text (:class:`_Window`), so they and the error messages are
:func:`json.loads`'s. A file that changes between the two readings (an export
still being written) is an ``unreadable_file`` reject for what was not read.

Where the stream differs from the whole-file reader, on purpose:

- an element, object or line longer than ``max_record_bytes`` characters is
  not held in memory: it is read through (:meth:`_Window.skip_value` follows
  its strings and brackets) and is one ``record_too_large`` reject; reading
  goes on after it. Read whole, it was parsed like any other;
- an array element that :func:`json.loads` cannot hold (an integer of more
  than 4,300 digits, nesting deeper than the stack) is that element's
  ``malformed_json`` reject and reading goes on; read whole, the file was
  rejected;
- JSON Lines saved as ``.json`` are recognised from the file's first
  :data:`DETECT_CHARS` characters (:func:`_one_object_per_line`), not from
  its whole text, and before the file is parsed as one document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, NamedTuple

from dedup.io.records import Reject
from dedup.io.streams import _CHUNK, FileRejected, Source, open_stream
from dedup.io.textplan import SecondReading, TextPlan, changed, identity_of

Raw = tuple[int | None, Any]

CHUNK = _CHUNK            #: bytes read at a time (the window grows by as much as it holds when a value needs it)
DETECT_CHARS = 1 << 20    #: the head of the text in which JSON Lines saved as ``.json`` are recognised
_MARGIN = 16              # a parse error this near the window's end may be the window's (``tru``, ``\\u00``, ``-``)

_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


# -- rules shared with the whole-file reader -------------------------------------------------------------------


class _Error(NamedTuple):
    """A JSON error where :func:`json.loads` would have met it in the whole text (as a JSONDecodeError's)."""

    msg: str
    lineno: int
    colno: int
    pos: int   # in the whole text


def _json_error(exc: json.JSONDecodeError | _Error, where: str) -> str:
    # json says "Unterminated string starting at" (then the position): no second "at"
    return f"malformed JSON: {exc.msg}{'' if exc.msg.endswith(' at') else ' at'} {where}"


def _where(error: json.JSONDecodeError | _Error) -> str:
    return f"line {error.lineno} column {error.colno}"


def _parse_json(number: int, text: str) -> Raw:
    try:
        return number, json.loads(text)
    except json.JSONDecodeError as exc:
        return number, Reject("", number, "malformed_json", _json_error(exc, f"column {exc.colno}"))
    except (ValueError, RecursionError) as exc:  # absurdly long numbers, nesting deeper than the stack
        return number, Reject("", number, "malformed_json", f"unreadable JSON: {type(exc).__name__}")


def _one_object_per_line(text: str) -> bool:
    """Whether ``text`` looks like JSON Lines: two lines or more that each hold an object (start with ``{`` and
    end with ``}``), and they are most of its non-blank lines. Not all of them: a log line, a line its writer
    cut, a string holding a newline or an array on a line of its own is then that line's reject, where
    :func:`_sequence_prefix` would stop there and reject every later line with it. A pretty-printed object
    (``{`` alone on its first line) or an array's element (``},`` at its end) does not count.

    A file read as a stream is decided on its first :data:`DETECT_CHARS` characters, cut after their last line
    break (the whole text when shorter): the whole-file reader asks it of the whole text."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    objects = sum(1 for line in lines if line.startswith("{") and line.endswith("}"))
    return objects > 1 and 2 * objects > len(lines)


def _head(text: str, whole: bool) -> str:
    """The text :func:`_one_object_per_line` decides a streamed file on: its first :data:`DETECT_CHARS`
    characters cut after their last line break, or all of it (``whole``: ``text`` is all) if no longer."""
    if whole and len(text) <= DETECT_CHARS:
        return text
    return text[:text.rfind("\n", 0, DETECT_CHARS) + 1]


def _sequence_prefix(text: str, broken: FileRejected | None) -> Iterator[Raw]:
    """The JSON values of ``text``, one after the other (white space between them), numbered from 1, up to
    the first that cannot be read; then raises the reject of it and the rest (``broken``: the data broke
    after ``text``, and that is the reject if it cut the last value)."""
    pos, number = _JSON_SPACE.match(text, 0).end(), 0
    while pos < len(text):
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _rest_rejected(exc, _blank_after(text, exc.pos), broken,
                                 f"the objects from {number + 1} on are not read") from None
        except (ValueError, RecursionError) as exc:
            raise _unreadable_rest(number + 1, type(exc).__name__) from None
        number += 1
        yield number, value
        pos = _JSON_SPACE.match(text, pos).end()
    if broken is not None:
        raise broken


def _array_prefix(text: str, error: json.JSONDecodeError, broken: FileRejected | None) -> Iterator[Raw]:
    """The elements of the JSON array ``text`` before ``error``, the first error :func:`json.loads` met
    in it; then raises the reject of the element it cuts and the rest. Yields nothing (and raises
    nothing) when the error is in the first element. ``broken``: the data broke after ``text``."""
    pos, number = text.index("[") + 1, 0
    while True:
        pos = _JSON_SPACE.match(text, pos).end()
        if number:
            if not text.startswith(",", pos):   # the array's end (then something after it), or no comma
                break
            pos = _JSON_SPACE.match(text, pos + 1).end()
        try:   # an element that ends before the error was read by json.loads too; the next holds the error
            element, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        number += 1
        yield number, element
    if not number:
        return
    raise _rest_rejected(error, _blank_after(text, error.pos), broken, _array_rest(number, text.startswith("]", pos)))


def _array_rest(number: int, closed: bool) -> str:
    return f"after the array's {number} elements" if closed else f"the elements from {number + 1} on are not read"


def _unreadable_rest(number: int, kind: str) -> FileRejected:
    return FileRejected("malformed_json", f"unreadable JSON in object {number}: {kind}; "
                        f"the objects from {number} on are not read")


def _blank_after(text: str, pos: int) -> Callable[[], bool]:
    return lambda: pos >= len(text.rstrip())


def _rest_rejected(error: json.JSONDecodeError | _Error, at_end: Callable[[], bool], broken: FileRejected | None,
                   rest: str) -> FileRejected:
    """The reject of a JSON text's records from ``error`` on (``rest`` says which): the break's when
    the data broke (``broken``) and json met the end of the text there (``at_end``: only white space
    follows; a string never closed runs to it), else ``malformed_json``."""
    at_break = broken is not None and (error.msg.startswith("Unterminated string") or at_end())
    why = broken.message if at_break else _json_error(error, _where(error))
    return FileRejected(broken.reason if at_break else "malformed_json", f"{why}; {rest}")


# -- the second reading: the text, a window at a time ---------------------------------------------------------


class _Changed(Exception):
    """The bytes do not decode any more: the file changed since the first reading."""


class _TooLarge(Exception):
    """The value at the window's position is longer than ``max_record_bytes`` characters."""


_STRUCTURE = re.compile(r'["\[\]{}]')
# a string's characters up to its closing quote, or to a \ that ends the text; possessive: no backtracking
# state kept (228 MB for 16 MB of text with an escape every 10 characters, greedy)
_STRING_BODY = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+', re.DOTALL)
_SCALAR = re.compile(r"[-+.0-9A-Za-z]*")


class _Window:
    """The text of a byte stream decoded a chunk at a time: ``buf`` from the character ``base`` of the text on,
    ``pos`` the reading position in it; the text before ``pos`` is dropped when more is read. ``lines`` and
    ``line_start`` (the line breaks before ``base``, where the line of ``base`` starts) place an error as
    :func:`json.loads` would in the whole text."""

    def __init__(self, stream: BinaryIO, plan: TextPlan):
        self.reading = SecondReading(stream, plan)
        self.buf, self.pos = "", 0
        self.base = self.lines = self.line_start = 0

    @property
    def eof(self) -> bool:
        return self.reading.eof

    def _read(self, size: int) -> str:
        try:
            return self.reading.read(size)
        except UnicodeDecodeError:   # the first reading found the text decoded
            raise _Changed from None

    def more(self, size: int = 0) -> bool:
        """Drop the text before ``pos`` and read ``size`` bytes more (a chunk at least); False at the end."""
        if self.eof:
            return False
        if self.pos:
            breaks = self.buf.count("\n", 0, self.pos)
            if breaks:
                self.lines += breaks
                self.line_start = self.base + self.buf.rfind("\n", 0, self.pos) + 1
            self.base += self.pos
            self.buf, self.pos = self.buf[self.pos:], 0
        text = self._read(max(size, CHUNK))
        while not text and not self.eof:   # a character cut by the chunk's end
            text = self._read(CHUNK)
        self.buf += text
        return True

    def grow(self, cap: int) -> bool:
        """Read on to double the text held from ``pos``, but not past ``cap`` characters (a chunk at least)."""
        held = len(self.buf) - self.pos
        return self.more(min(held, cap - held))

    def peek(self) -> str:
        """The character at ``pos``; ``""`` at the end of the text."""
        while self.pos >= len(self.buf) and self.more():
            pass
        return self.buf[self.pos:self.pos + 1]

    def skip_space(self) -> None:
        """Move ``pos`` past JSON white space."""
        while True:
            self.pos = _JSON_SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.more():
                return

    def error(self, msg: str, at: int) -> _Error:
        """The error ``msg`` at ``at`` in ``buf``, placed in the whole text."""
        before = self.buf.rfind("\n", 0, at)
        column = at - before if before >= 0 else self.base + at - self.line_start + 1
        return _Error(msg, self.lines + self.buf.count("\n", 0, at) + 1, column, self.base + at)

    def blank_from(self, at: int) -> bool:
        """Whether the text from ``at`` in ``buf`` to its end is white space (``str.strip``'s); reads on."""
        self.pos = at
        while not self.buf[self.pos:].strip():
            self.pos = len(self.buf)
            if not self.more():
                return True
        return False

    def value(self, limit: int) -> Any:
        """The JSON value at ``pos``, which moves past it. Raises :class:`json.JSONDecodeError` (at a position in
        ``buf``), ValueError or RecursionError as :func:`json.loads` would, and :class:`_TooLarge` for a value
        longer than ``limit`` characters (``pos`` unmoved). A value the window's end may have cut is parsed
        again once the window has grown by as much as it holds (so that a long one is not parsed quadratically),
        up to the limit."""
        while True:
            start = self.pos
            try:
                value, end = _DECODER.raw_decode(self.buf, start)
            except json.JSONDecodeError as exc:
                at = len(self.buf) if exc.msg.startswith("Unterminated string") else exc.pos
                if at - start > limit:
                    raise _TooLarge from None
                if self.eof or at < len(self.buf) - _MARGIN:
                    raise
            else:
                if end - start > limit:
                    raise _TooLarge from None
                # a number may go on in the next chunk, and one the window cut after its "." or "e" ("1e")
                # parses short, leaving its last characters unread: near the window's end, read on first
                if end < len(self.buf) - _MARGIN or self.eof:
                    self.pos = end
                    return value
            self.grow(limit + _MARGIN + 1)

    def skip_value(self) -> bool:
        """Move ``pos`` past the JSON value there without parsing it or holding it: its strings and brackets
        followed a window at a time. False if the text ends first."""
        depth, quoted = 0, self.peek() == '"'
        if quoted:
            self.pos += 1
        elif self.buf[self.pos:self.pos + 1] not in ("[", "{"):   # a number or a literal
            while (end := _SCALAR.match(self.buf, self.pos).end()) == len(self.buf):
                self.pos = end
                if not self.more():
                    return True
            self.pos = end
            return True
        while True:
            if quoted:
                end = _STRING_BODY.match(self.buf, self.pos).end()
                if end < len(self.buf) and self.buf[end] == '"':
                    self.pos, quoted = end + 1, False
                    if not depth:
                        return True
                    continue
                self.pos = end   # at the window's end, or at a \ that ends it
            elif found := _STRUCTURE.search(self.buf, self.pos):
                self.pos, char = found.end(), found.group()
                quoted = char == '"'
                depth += 1 if char in "[{" else -1 if char in "]}" else 0
                if not depth and not quoted:
                    return True
                continue
            else:
                self.pos = len(self.buf)
            if not self.more():
                return False


class _Reader:
    """The records of one file's text in a :class:`_Window`, as the whole-file reader finds them."""

    def __init__(self, source: Source, broken: FileRejected | None, window: _Window):
        self.source, self.broken, self.w = source, broken, window
        self.limit = source.limits.max_record_bytes
        self.unit, self.next = "elements", 1   # what the records are called, the next one's number

    def rest(self, found_at_end: bool = False) -> str:
        return f"its {self.unit} were read as it then was" if found_at_end else \
            f"the {self.unit} from {self.next} on are not read"

    def records(self) -> Iterator[Raw]:
        w = self.w
        while len(w.buf) <= DETECT_CHARS and w.more(DETECT_CHARS + 1 - len(w.buf)):
            pass
        if _one_object_per_line(_head(w.buf, w.eof)):
            self.source.warnings["json_read_as_jsonl"] += 1
            yield from self._lines()
            return
        if w.buf.startswith("\ufeff") and not w.base:   # a second byte-order mark (one was dropped): json.loads
            error = _Error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 1, 1, 0)   # refuses the text
            raise self.broken or FileRejected("malformed_json", _json_error(error, _where(error)))
        w.skip_space()
        lead = w.buf[w.pos:].lstrip()[:1]   # the whole-file reader's text.lstrip()
        while not lead and len(w.buf) - w.pos <= self.limit and w.more():   # white space JSON does not take,
            lead = w.buf[w.pos:].lstrip()[:1]                               # longer than the window
        if w.peek() == "[":
            yield from self._array(None)
        elif lead == "[":   # after white space that JSON does not take: json.loads fails there
            error = None
            try:
                _DECODER.raw_decode(w.buf, w.pos)
            except json.JSONDecodeError as exc:
                error = w.error(exc.msg, exc.pos)
            w.pos = w.buf.index("[", w.pos)
            yield from self._array(error)
        else:
            yield from self._values(lead == "{")

    def _parse(self) -> tuple[str, Any]:
        """The value at the window's position: ``("value", it)``, ``("error", _Error)``, ``("unreadable", the
        exception's name)`` or ``("too large", None)``."""
        try:
            return "value", self.w.value(self.limit)
        except json.JSONDecodeError as exc:
            return "error", self.w.error(exc.msg, exc.pos)
        except (ValueError, RecursionError) as exc:
            return "unreadable", type(exc).__name__
        except _TooLarge:
            return "too large", None

    def _skipped(self, number: int, what: str, why: str) -> Raw:
        """The reject of the value ``number`` at the window's position, read through; raises if the text ends in it."""
        if not self.w.skip_value():
            if self.broken is not None:
                raise FileRejected(self.broken.reason, f"{self.broken.message}; {self.rest()}")
            raise FileRejected("malformed_json", f"{what} {number} is longer than max_record_bytes={self.limit:,} "
                               f"characters and runs to the end of the file; {self.rest()}")
        if why == "too large":
            return number, Reject("", number, "record_too_large", f"{what} {number} is longer than "
                                  f"max_record_bytes={self.limit:,} characters; skipped unread")
        return number, Reject("", number, "malformed_json", f"unreadable JSON in {what} {number}: {why}")

    def _at_end(self, error: _Error) -> Callable[[], bool]:
        """Whether only white space follows ``error`` (a position dropped from the window is before text)."""
        return lambda: error.pos >= self.w.base and self.w.blank_from(error.pos - self.w.base)

    def _array(self, error: _Error | None) -> Iterator[Raw]:
        """The elements of the array whose ``[`` is at the window's position, as :func:`_array_prefix` reads
        them; ``error``: json.loads's, met before the array (else the array's first, or none)."""
        w, number, failed = self.w, 0, None
        w.pos += 1
        while True:
            w.skip_space()
            if number:
                if w.peek() != ",":   # the array's end (then something after it, or nothing), or no comma
                    break
                w.pos += 1
                w.skip_space()
            self.next = number + 1
            kind, got = self._parse()
            if kind == "error":
                failed = got
                break
            number += 1
            yield (number, got) if kind == "value" else self._skipped(number, "element", got or kind)
        if w.peek() == "]" and (failed is None or not number):   # the array is closed
            w.pos += 1
            w.skip_space()
            if error is None and not w.peek():   # json.loads reads it whole
                if self.broken is not None:
                    raise self.broken
                return
            error, closed = error or w.error("Extra data", w.pos), True
        else:
            closed = w.buf.startswith("]", w.pos)
            error = error or failed or w.error("Expecting ',' delimiter", w.pos)
        if not number:
            raise self.broken or FileRejected("malformed_json", _json_error(error, _where(error)))
        raise _rest_rejected(error, self._at_end(error), self.broken, _array_rest(number, closed))

    def _values(self, sequence: bool) -> Iterator[Raw]:
        """One value; or (``sequence``: the text starts with ``{``) objects one after the other, as
        :func:`_sequence_prefix` reads them."""
        w, what = self.w, "object" if sequence else "value"
        self.unit = "objects"
        kind, got = self._parse()
        if kind == "error":
            raise self.broken or FileRejected("malformed_json", _json_error(got, _where(got)))
        if kind == "unreadable":
            raise FileRejected("malformed_json", f"unreadable JSON: {got}")
        first = (1, got) if kind == "value" else self._skipped(1, what, kind)
        w.skip_space()
        if w.peek() and not sequence:
            error = w.error("Extra data", w.pos)
            raise self.broken or FileRejected("malformed_json", _json_error(error, _where(error)))
        if w.peek():
            self.source.warnings["json_read_as_jsonl"] += 1
        yield first
        number = 1
        while w.peek():
            self.next = number + 1
            kind, got = self._parse()
            if kind == "error":
                raise _rest_rejected(got, self._at_end(got), self.broken, self.rest())
            if kind == "unreadable":
                raise _unreadable_rest(number + 1, got)
            number += 1
            yield (number, got) if kind == "value" else self._skipped(number, what, kind)
            w.skip_space()
        if self.broken is not None:
            raise self.broken

    def _lines(self) -> Iterator[Raw]:
        """JSON Lines: one value per line, lines ending at ``\\n`` only; a line longer than ``max_record_bytes``
        characters is read through, unheld, and is its ``record_too_large`` reject."""
        w, number, too_long = self.w, 0, False
        self.unit = "lines"
        while True:
            self.next = number + 1
            end = w.buf.find("\n", w.pos)
            if end < 0:
                if too_long or len(w.buf) - w.pos > self.limit:   # read through: only whether it ends matters
                    w.pos, too_long = len(w.buf), True
                if w.grow(self.limit + 1):
                    continue
                end = len(w.buf)   # the last line, without its break
                if self.broken is not None:   # the line the break cuts, and the rest
                    raise FileRejected(self.broken.reason, f"{self.broken.message}; {self.rest()}")
            number += 1
            line, w.pos = w.buf[w.pos:end], end + 1
            if too_long or len(line) > self.limit:
                yield number, Reject("", number, "record_too_large",
                                     f"line is longer than max_record_bytes={self.limit:,}; skipped unread")
            elif line.strip():
                yield _parse_json(number, line)
            too_long = False
            if end == len(w.buf) and w.eof:
                return


def read_json_stream(source: Source, plan: TextPlan) -> Iterator[Raw]:
    """The records of a JSON file that :func:`~dedup.io.textplan.text_plan` passed, read :data:`CHUNK`
    bytes at a time: the same, numbered alike, as :func:`dedup.io.readers.read_json` reads from the whole text."""
    with open_stream(source, cap=source.limits.max_file_bytes) as stream:
        if identity_of(stream) != plan.identity:   # another file by that name now, or this one changed
            raise changed("not read", "records")
        window = _Window(stream, plan)
        reader = _Reader(source, plan.broken, window)
        try:
            yield from reader.records()
        except _Changed:
            raise changed(reader.rest(), "records") from None
        except FileRejected:
            if identity_of(stream) != plan.identity:
                raise changed(reader.rest(), "records") from None
            raise
        if window.reading.differs():
            raise changed(reader.rest(found_at_end=True), "records")
