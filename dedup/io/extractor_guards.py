"""Bounds on four of trafilatura's internals whose time grows faster than their input, during dedup's extraction.

:func:`dedup.io.html.extract_article` hands a page to ``trafilatura.bare_extraction`` (2.3), whose metadata
readers take time quadratic (or worse) in a script's or an author list's length on some texts, which
``read.max_html_bytes`` (4 MiB) does not bound (``benchmarks/README.md`` §5). Each guard wraps one function,
replacing the module attribute where its caller looks it up, and bounds what that function is given:

- ``trafilatura.metadata.extract_json_parse_error`` (looked up by ``extract_meta_json``): the regular
  expressions trafilatura searches a JSON-LD script with when its *normalised* text (``&quot;`` and
  ``\\u0022`` unescaped when the text holds a backslash) is not JSON, quadratic in its length (``"author":``
  over and over: a 200 kB script took 31 CPU s). Each call is given at most :func:`extraction`'s
  ``fallback_chars`` characters (``dedup.io.html.MAX_UNPARSED_METADATA_CHARS``), and the page's calls
  together, in page order, texts whose lengths squared sum to at most its square: the worst a page costs is
  one text that long, while a few dozen short scripts (videos, images) leave the article's script after them
  most of it. Then nothing (the metadata as it stands). A script that is JSON as written is not cut in the
  page (htmldate reads its date, trafilatura's baseline its body, as written); when trafilatura's
  normalisation makes it not JSON, the fallback is given it normalised with each string longer than
  :data:`MAX_FALLBACK_STRING` characters cut to that (an ``articleBody``; the names, types and keys the
  fallback looks for are short) and, should it still be longer than the call may be given, each array cut to
  its first :data:`MAX_FALLBACK_ITEMS` items (a live blog's updates); then the head: so a long body or a long
  list spends little budget, and the publisher after it, or in the page's next script, is still found.
- ``normalize_authors`` in ``trafilatura.json_metadata`` and ``trafilatura.metadata`` (which copied the name):
  it keeps the fullest form of each name by comparing every name with every other, once per author added,
  so k distinct authors cost k³ (800 JSON-LD authors in a 33 kB page: 9 to 12 CPU s). Once
  :data:`MAX_AUTHORS` names are held it adds no more, and it is given at most :data:`MAX_AUTHOR_CHARS`
  characters of author text a page, all calls together. dedup's records use no author (title, date, URL,
  site name, text: ``author`` decides none of them in trafilatura), so they do not change.
- ``trafilatura.core._forum_thread_page`` (looked up by ``trafilatura_sequence``): its pattern
  (:data:`_FORUM_PATTERN`) scans from every ``"@type":[`` to the next ``]``, depth × length on nested valid
  JSON-LD (5 CPU s at 3.8 MiB). Both of its alternatives hold the literal ``"DiscussionForumPosting"``, so a
  script without it does not match; one with it is searched by :func:`_forum_type`, the same answer in
  linear time (a later trafilatura with another pattern: its own function is called).
- ``HTML_STRIP_TAGS`` in ``trafilatura.json_metadata`` and ``trafilatura.metadata`` (``normalize_json`` strips
  every JSON-LD script's text with it, the meta reader each ``content``): searched afresh from each ``<!--``
  never closed, it is quadratic; its ``sub("", text)`` is answered by :func:`_strip_tags`, the same result in
  linear time (another pattern, or another use of it: the pattern itself).

The guards are installed once, idempotently, when dedup first imports trafilatura (:func:`install`, from
``dedup.io.html._trafilatura``), and pass every call through unchanged unless dedup's own extraction is
under way (:func:`extraction`, a :class:`contextvars.ContextVar` set by ``extract_article`` around
``bare_extraction``): an application that uses trafilatura itself, in the same process, sees no change.
A name a later trafilatura no longer has is skipped (that guard is not installed), without error. All
bounds count characters, never time: every machine gives the same records.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

#: The most names an author field is given (``normalize_authors``; each call compares every name held with every
#: other): a news article's byline has a few; at 30 and :data:`MAX_AUTHOR_CHARS` the function takes at most
#: 0.02 s a page of 4 MiB, at 50 and 10,000 0.1 s (``benchmarks/README.md`` §5).
MAX_AUTHORS = 30

#: The most characters of author text ``normalize_authors`` is given a page, all its calls together (an
#: author string is cut to what is left, then calls return the authors held): a call costs the square of
#: the names in it, and names that are parts of longer ones are dropped again, so the number held alone
#: does not bound the work (``benchmarks/README.md`` §5).
MAX_AUTHOR_CHARS = 4_000

#: The most characters of one string of a script that is JSON as written that the fallback is given
#: (:func:`_fitted`): names, types, headlines are shorter.
MAX_FALLBACK_STRING = 200

#: The most items of one array of such a script that the fallback is given when, its strings cut, the script is
#: still longer than the call may be given (:func:`_first_items`): a live blog's updates, a list of images.
MAX_FALLBACK_ITEMS = 3

#: A JSON string literal as written (linear: the alternatives start with different characters).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
#: Its first MAX_FALLBACK_STRING characters, an escape never cut.
_STRING_HEAD = re.compile(r'(?:[^"\\]|\\u[0-9a-fA-F]{4}|\\.)' + f"{{0,{MAX_FALLBACK_STRING}}}")

#: trafilatura's forum-posting pattern (``core._DISCUSSION_FORUM_POSTING_RE``) that :func:`_forum_type` answers for.
_FORUM_PATTERN = r'"@type"\s*:\s*"DiscussionForumPosting"|"@type"\s*:\s*\[[^\]]*"DiscussionForumPosting"'
#: The literal that each of its alternatives holds, its first alternative, the head of its second.
_FORUM_TYPE = '"DiscussionForumPosting"'
_FORUM_STRING = re.compile(r'"@type"\s*:\s*"DiscussionForumPosting"')
_TYPE_LIST = re.compile(r'"@type"\s*:\s*\[')


@dataclass
class _Budget:
    """What is left of one extraction's bounds, and the page's scripts that are JSON as written."""

    fallback_work: int   # characters squared (_bounded_fallback)
    written: tuple[str, ...]   # the page's metadata scripts that are JSON as written
    author_chars: int
    # their normalised texts -> (the text, the same with long strings cut), those with such strings or arrays
    shortened: dict[str, tuple[str, str]] | None = None


_ACTIVE: ContextVar[_Budget | None] = ContextVar("dedup_extraction", default=None)

#: The functions wrapped, by (module, name), as they were when installed: each module's guard calls its own.
_ORIGINAL: dict[tuple[str, str], Callable[..., Any]] = {}


@contextlib.contextmanager
def extraction(fallback_chars: int, written: tuple[str, ...] = ()) -> Iterator[None]:
    """The guards are active inside this block (one page's extraction, with fresh budgets: trafilatura's
    fallback for JSON-LD that is not JSON is given texts of at most ``fallback_chars`` characters, whose
    lengths squared sum to at most ``fallback_chars`` squared). ``written``: the texts of the page's metadata
    scripts that are JSON as written (:func:`_fitted`); the others hold at most ``fallback_chars``
    characters together (``dedup.io.html._bound_unparsed_metadata`` cut them)."""
    token = _ACTIVE.set(_Budget(fallback_chars ** 2, tuple(written), MAX_AUTHOR_CHARS))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _bounded_fallback(original: Callable[..., Any], elem: str, metadata: Any) -> Any:
    budget = _ACTIVE.get()
    if budget is None:
        return original(elem, metadata)
    if budget.fallback_work <= 0:   # what an empty text gives: the metadata as it stands
        return metadata
    # the fallback's time grows with the square of a text's length: charged so, a call may be given as many
    # characters as the root of what is left (at least what a count of characters would have left it)
    allowed = math.isqrt(budget.fallback_work)
    elem = _fitted(elem, allowed, budget)[:allowed]
    budget.fallback_work -= len(elem) ** 2
    return original(elem, metadata)


def _fitted(normalised: str, allowed: int, budget: _Budget) -> str:
    """The script that is JSON as written whose normalisation (as trafilatura's ``extract_meta_json``) is
    ``normalised``, normalised with each string longer than :data:`MAX_FALLBACK_STRING` characters cut to
    that, and, if that is longer than ``allowed``, with each array cut to its first items (:func:`_first_items`,
    on the text as written: normalised, it is not JSON); ``normalised`` itself if no such script (not JSON as
    written: already cut in the page) or none with a string that long or an array. The page's scripts are
    normalised once, at the first call that asks."""
    if budget.shortened is None:
        normalise = _normalisation()
        budget.shortened = {} if normalise is None else {
            normalise(text): (text, short) for text in budget.written
            if (short := _STRING.sub(_string_head, text)) != text or "[" in text}
    if normalised not in budget.shortened:
        return normalised
    text, short = budget.shortened[normalised]
    normalise = _normalisation()
    if short != text:
        normalised = normalise(short)
    if len(normalised) > allowed and (fewer := _first_items(short)) != short:
        normalised = normalise(fewer)
    return normalised


#: The keys whose strings are never cut (:func:`_string_head`): the fallback reads a title from them.
_TITLE_KEY = re.compile(r'"(?:headline|name)"\s*:\s*\Z')


def _string_head(match: re.Match) -> str:
    literal = match[0]
    if len(literal) <= MAX_FALLBACK_STRING + 2 or _TITLE_KEY.search(match.string, max(match.start() - 64, 0),
                                                                    match.start()):
        return literal
    return f'"{_STRING_HEAD.match(literal, 1)[0]}"'


#: What :func:`_first_items` reads: a string (passed whole: it may hold brackets and commas), a bracket, a comma.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]')
#: What lies between a key and its value: blanks and a colon.
_KEY_GAP = re.compile(r"\s*:\s*")


def _first_items(text: str) -> str:
    """``text`` (JSON) with each array cut to its first :data:`MAX_FALLBACK_ITEMS` items, but a list of the
    page's entities (the text itself or a ``@graph``), any of which may be the article, as separate scripts
    may. The fallback takes the first author, type, publisher and headline it finds: in a list's first items,
    or after the list. Linear: one pass over the strings, brackets and commas. ``text`` must be JSON (a script
    that is JSON as written, its long strings cut): anything else may raise."""
    out, kept = [], 0
    commas: list[int | None] = []   # for each bracket open: the commas read in it (None: not an array cut)
    skipped = 0   # while the rest of an array is left out: the count of brackets open, its own included
    string = None   # the last string read: the key of the value that follows it, if a colon does
    for token in _STRUCTURE.finditer(text):
        char = token[0]   # a bracket, a comma, or a whole string
        if char[0] == '"':
            string = token
            continue
        if char == "{":
            commas.append(None)
        elif char == "[":   # a list of the page's entities is kept whole: the text itself, a value of "@graph"
            entities = not commas or (string is not None and string[0] == '"@graph"'
                                      and _KEY_GAP.fullmatch(text, string.end(), token.start()))
            commas.append(None if entities else 0)
        elif char == "}" or char == "]":
            if skipped == len(commas):   # the end of the array cut: kept from its bracket on
                kept, skipped = token.start(), 0
            commas.pop()
        elif char == "," and not skipped and commas[-1] is not None:
            commas[-1] += 1
            if commas[-1] == MAX_FALLBACK_ITEMS:
                out.append(text[kept:token.start()])
                skipped = len(commas)
    out.append(text[kept:])
    return "".join(out)


def _normalisation() -> Callable[[str], str] | None:
    """How trafilatura's ``extract_meta_json`` normalises a script's text before ``json.loads`` (its own
    functions, called); None should a later trafilatura not have them."""
    try:
        from trafilatura.json_metadata import normalize_json
        from trafilatura.metadata import JSON_MINIFY
    except ImportError:   # pragma: no cover - trafilatura 2.3's names
        return None
    # JSON_MINIFY.sub(r"\1", ...) as trafilatura calls it, three times faster with a function than a template
    return lambda text: normalize_json(JSON_MINIFY.sub(lambda match: match[1] or "", text))


def _bounded_authors(original: Callable[..., Any], current_authors: str | None, author_string: str) -> str | None:
    budget = _ACTIVE.get()
    if budget is None:
        return original(current_authors, author_string)
    if budget.author_chars <= 0 or (current_authors and current_authors.count("; ") + 1 >= MAX_AUTHORS):
        return current_authors
    author_string = author_string[:budget.author_chars]
    budget.author_chars -= max(len(author_string), 1)   # an empty string too: the calls are bounded
    return original(current_authors, author_string)


def _checked_forum_page(original: Callable[..., Any], tree: Any) -> bool:
    pattern = getattr(sys.modules.get("trafilatura.core"), "_DISCUSSION_FORUM_POSTING_RE", None)
    if _ACTIVE.get() is None or getattr(pattern, "pattern", None) != _FORUM_PATTERN:
        return original(tree)
    return any(script.text and _forum_type(script.text)
               for script in tree.iterfind('.//script[@type="application/ld+json"]'))   # as the original


def _forum_type(text: str) -> bool:
    """Whether :data:`_FORUM_PATTERN` is found in the text, in linear time. Its second alternative's match
    holds no ``]`` (nor does its head, ``"@type"``, blanks, ``:``, ``[``, or the literal), so it lies between
    two ``]``; there it matches when the literal follows the first head. A later head before the same ``]``
    has a shorter rest, so each stretch between two ``]`` is searched once."""
    if _FORUM_TYPE not in text:
        return False
    if _FORUM_STRING.search(text):
        return True
    start = 0
    while head := _TYPE_LIST.search(text, start):
        close = text.find("]", head.end())
        if text.find(_FORUM_TYPE, head.end(), len(text) if close < 0 else close) >= 0:
            return True
        if close < 0:
            return False
        start = close + 1
    return False


#: trafilatura's tag-stripping pattern (``utils.HTML_STRIP_TAGS``) that :func:`_strip_tags` answers for.
_STRIP_PATTERN = r"(<!--.*?-->|<[^>]*>)"


def _strip_tags(text: str) -> str:
    """``re.sub(_STRIP_PATTERN, "", text)`` in linear time. The pattern tries, at each ``<``, a comment
    (``<!--`` to the first ``-->`` after it on the same line: ``.`` is no line break) and then a tag (``<`` to
    the next ``>``, line breaks included); searched from each ``<`` afresh, a comment never closed costs the
    rest of the text, so ``<!--x>`` repeated took time quadratic in the text (90 kB: 10 CPU s). Here the next
    ``-->``, line break and ``>`` after a position are found by bisection in their lists."""
    if "<" not in text:
        return text
    closes = [m.start() for m in re.finditer("-->", text)]
    breaks = [m.start() for m in re.finditer("\n", text)]
    ends = [m.start() for m in re.finditer(">", text)]
    out, kept, i = [], 0, text.find("<")
    while i >= 0:
        end = -1
        if text.startswith("<!--", i):
            c, b = bisect_left(closes, i + 4), bisect_left(breaks, i + 4)
            if c < len(closes) and (b == len(breaks) or closes[c] < breaks[b]):
                end = closes[c] + 3
        if end < 0:
            g = bisect_left(ends, i + 1)
            end = ends[g] + 1 if g < len(ends) else -1
        if end < 0:   # no match from this "<" (nor from any later one: no ">" after it)
            break
        out.append(text[kept:i])
        kept = i = end
        i = text.find("<", i)
    out.append(text[kept:])
    return "".join(out)


class _StripTags:
    """In place of a module's ``HTML_STRIP_TAGS`` (a compiled pattern): ``sub("", text)`` by :func:`_strip_tags`
    during dedup's extraction (trafilatura's ``normalize_json`` strips every JSON-LD script's text so, and its
    meta reader each ``content``), the pattern itself otherwise, and for anything else asked of it."""

    _dedup_guard = True

    def __init__(self, module_name: str, name: str):
        self._key = (module_name, name)

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        pattern = _ORIGINAL[self._key]
        if (_ACTIVE.get() is None or repl != "" or count or not isinstance(string, str)
                or getattr(pattern, "pattern", None) != _STRIP_PATTERN or getattr(pattern, "flags", 0) != re.UNICODE):
            return pattern.sub(repl, string, count)
        return _strip_tags(string)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_ORIGINAL[self._key], attribute)


def _marked_pattern(guard: Any, module_name: str, name: str) -> Any:
    return guard(module_name, name)


#: (the attribute's name, the guard, the modules whose attribute of that name is replaced: where callers look it
#: up, and how the guard is made from it)
_GUARDS: tuple[tuple[str, Any, tuple[str, ...], Callable[..., Any]], ...] = (
    ("extract_json_parse_error", _bounded_fallback, ("trafilatura.metadata",), None),
    ("normalize_authors", _bounded_authors, ("trafilatura.json_metadata", "trafilatura.metadata"), None),
    ("_forum_thread_page", _checked_forum_page, ("trafilatura.core",), None),
    ("HTML_STRIP_TAGS", _StripTags, ("trafilatura.json_metadata", "trafilatura.metadata"), _marked_pattern),
)


def install() -> list[str]:
    """Install the guards (a second call changes nothing); returns the names guarded. A module or name that
    trafilatura no longer has is left out (a guard none of whose modules has its name is not installed)."""
    guarded = []
    for name, guard, module_names, make in _GUARDS:
        for module_name in module_names:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            current = getattr(module, name, None)
            if current is None:
                continue
            if not getattr(current, "_dedup_guard", False):
                _ORIGINAL[module_name, name] = current
                setattr(module, name, (make or _marked)(guard, module_name, name))
            if name not in guarded:
                guarded.append(name)
    return guarded


def _marked(guard: Callable[..., Any], module_name: str, name: str) -> Callable[..., Any]:
    """``guard`` in place of ``module_name``'s ``name``, given the function it replaced there (a host's own
    wrapper of one module's function stays that module's)."""
    @wraps(_ORIGINAL[module_name, name])
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return guard(_ORIGINAL[module_name, name], *args, **kwargs)

    wrapper._dedup_guard = True  # type: ignore[attr-defined]
    return wrapper
