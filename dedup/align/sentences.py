"""Sentence splitting with character spans.

Splitting happens in two layers:

1. **Layout** (this module): blank lines are hard boundaries, and so are
   single line breaks unless the text is *hard-wrapped* (wire copy and
   e-mail style text broken every ~70 characters, as in Reuters-21578). In
   hard-wrapped text a line break is only a boundary before a bullet or a
   numbered item, or before an indented line (a new paragraph). Lines such
   as "Follow us on Twitter @desk", "Read more: ...", photo credits and
   bullet items therefore never glue onto the next sentence.
2. **Sentences inside a layout segment**: a maintained library. It was chosen
   by measurement on a hand-labelled set of tricky news sentences
   (``benchmarks/bench_splitters.py``, numbers in ``benchmarks/README.md``).
   It is trained on English; Chinese and Japanese sentences, which end in a
   full-width mark with no space after it (``。！？``), are also cut there, and
   so are sentences ending in the danda (``।``, ``॥``: Hindi, Bengali...), the
   Urdu full stop ``۔`` or the Arabic question mark ``؟``.

The library only ever proposes *where sentences start*; the text between two
starts is one sentence, stripped of surrounding whitespace. So no visible
character of the article is lost or invented, whatever the library does to its
input, and ``text[start:end]`` is always exactly the sentence. Text of only
white space and invisible characters (:data:`dedup.normalize.IGNORABLE`: a
paragraph holding a zero-width space, as WordPress writes ``<p>&#8203;</p>``)
is blank: no line, segment or sentence. Such a sentence would have no words to
compare, so even an identical copy of it could never be ``kept``.

All functions here are stateless.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import accumulate

from dedup.normalize import IGNORABLE, IGNORABLE_RE

Span = tuple[int, int]

DEFAULT_SPLITTER = "nupunkt"

# White space but a line break, or an invisible character (a line of only those is blank; a bullet may follow them).
_LINE_SPACE = rf"(?:[^\S\n]|[{IGNORABLE}])"
_BLANK_LINE = re.compile(rf"\n{_LINE_SPACE}*\n")
_LIST_ITEM = re.compile(rf"{_LINE_SPACE}*(?:[•·▪‣◦●*\-–—]|\d{{1,2}}[.)])[^\S\n]")
_INDENT = re.compile(r"(?:\t|[^\S\n]{2,})\S")
# "CITY[, Region][, Month Day] [(Source)] -": capitalised place (and its state or country, as in
# "VERONA, Italy" or "SPRINGFIELD, Ill."), then a date or a source in brackets, then a dash.
_DATELINE = re.compile(
    r"[A-Z][A-Z.'\-]+(?:[ /][A-Z][A-Za-z.'\-]+){0,3}"
    r"(?:,\s+[A-Z][A-Za-z.'\-]+(?:\s[A-Z][A-Za-z.'\-]+){0,2})?"
    r"(?P<date>,\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s+\d{4})?)?"
    r"\s*(?P<source>\([^()\n]{2,60}\))?"
    r"\s*[-\u2013\u2014]{1,2}[ \t]+")
# The dateline after the segment's leading white space (\s is str.isspace(), as strip() uses it) and invisible
# characters (a WordPress paragraph opens with a zero-width space).
_LEAD = rf"[\s{IGNORABLE}]*"
_DATELINE_AT = re.compile(_LEAD + "(?:" + _DATELINE.pattern + ")")
# Datelines of scripts without capitals, after the same white space: a place (non-Latin words) and its
# source in brackets, ASCII or full-width, then a dash, as Arabic and Chinese outlets write
# "عمّان (ميريديان برس) -" and "杭州（北风通讯社）-" (a place in a script with capitals, such as Cyrillic or
# Greek, must also pass _written_as_place); a Chinese dispatch line, "新华社北京11月28日电" with its reporter in
# brackets if any; a Japanese one, "【ワシントン=共同】".
_NON_LATIN_WORD = r"[^\W\d_A-Za-z\u00C0-\u024F][^\s\x00-\x7F\u00C0-\u024F\u2010-\u2015（）【】]*"   # marks too
_WIDE_DATELINE_AT = re.compile(
    rf"{_LEAD}(?:(?P<place>{_NON_LATIN_WORD}(?: {_NON_LATIN_WORD}){{0,3}})"
    r"\s*[(（][^()（）\n]{2,60}[)）]\s*[-\u2013\u2014]{1,2}[ \t]*"
    r"|[\u4e00-\u9fff]{0,12}\d{1,2}月\d{1,2}日[电讯][ \t\u3000]*(?:[(（][^()（）\n]{1,30}[)）][ \t\u3000]*)?"
    r"|【[^【】\n]{1,30}】[ \t\u3000]*)")
# A character that shows: not white space nor invisible (a zero-width space, a soft hyphen, a BOM...).
_VISIBLE = re.compile(rf"[^\s{IGNORABLE}]")
# Line breaks other than "\n", read as "\n" (a blank line is two), a character for a character:
# - carriage returns: those right before "\n" are part of its line break ("\r\n", and "\r\r\n", which a second
#   CRLF conversion writes) and stay as they are; so is one right after "\n" ("\n\r", the LF-CR ending) unless
#   another "\n" follows it ("\r\n\r\n" and "\n\r\n\r" are blank lines): it is moved to the end of the line, as
#   in a CRLF file (see _as_newline). Any other is a line break of its own (old Mac files: "\r\r" is a blank
#   line). So the pattern takes a run of carriage returns that no "\n" follows, with the "\n" right before it if
#   any, else from its first one (the lookbehind: no quadratic retries inside a long run). Each branch opens with
#   a fixed character, so the engine skips ahead to the next candidate: as fast as a plain "\r" on CRLF text;
# - the Unicode line and paragraph separators;
# - NEL (U+0085), unless it is a byte of one UTF-8 character read as Latin-1 (a common JSON or CSV mojibake: "Å"
#   is written "Ã\x85", Polish "ą" "Ä\x85"; see _inside_utf8_character). Such a NEL stays: white space inside a
#   line, which the library takes for a space between words (no sentence starts after a word that does not end in
#   a full stop), so it cuts no word inside a line.
_LINE_BREAK = re.compile("\n\r++(?!\n)|\r(?<!\r\r)\r*+(?!\n)|[\u2028\u2029\x85]")
_SHOWN_RUN = re.compile(f"[^{IGNORABLE}]+")
_TERMINAL = re.compile(r"[.!?:;\"'”’)\]]\s*$")
# Chinese and Japanese end a sentence with a full-width mark and no space after it, which the library
# (trained on English) does not take for a boundary: a sentence also starts after a full stop (and the
# closing quotes or brackets right after it: "…时间。”区文化部门…"), and after an exclamation or
# question mark outside quotes. Not before a comma, nor where a quote runs on into its attribution:
# "“我们很高兴！”馆长说。" and "「…したい。」と話した" are one sentence each.
_CJK_CLOSE = "”’」』）》〕】〉)"
# The danda (Hindi, Bengali...), the Urdu full stop and the Arabic question mark are followed by a space,
# but the library does not know them either: a sentence starts at the space after them (and after the
# closing quotes or brackets right after them).
_SCRIPT_END = re.compile(rf"[。｡][。！？｡]*+(?:[{_CJK_CLOSE}]++(?![，、；：,と])|(?![{_CJK_CLOSE}，、；：,]))"
                         rf"|[！？]++(?![{_CJK_CLOSE}，、；：,])"
                         r"|[।॥۔؟]++[\"'”’»)\]]*+(?=\s)")


def split_sentences(text: str, *, splitter: str = DEFAULT_SPLITTER) -> list[Span]:
    """Return the ``(char_start, char_end)`` span of every sentence of ``text``.

    Spans are in order, do not overlap, and ``text[start:end]`` has no
    leading or trailing whitespace, and holds a visible character (not only
    invisible ones, such as zero-width spaces). Blank lines are hard
    boundaries (see the module docstring for single line breaks). Stateless.

    >>> text = "WASHINGTON (Reuters) - Mr. Smith left the U.S. on Jan. 5. He was 54."
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['WASHINGTON (Reuters) -', 'Mr. Smith left the U.S. on Jan. 5.', 'He was 54.']
    """
    return _split(text, _backend(splitter), None)


def split_many(texts: Iterable[str], *, splitter: str = DEFAULT_SPLITTER) -> list[list[Span]]:
    """:func:`split_sentences` of every text, asking the library once per distinct layout segment.

    Versions of one story repeat most paragraphs word for word, so texts given
    story by story cost a fraction of splitting them one by one; the spans are
    exactly :func:`split_sentences`'. The segment memo (each distinct segment's
    sentences, relative to the segment) lives for this call only. Stateless.
    """
    starts_of = _backend(splitter)
    memo: dict[str, list[Span]] = {}
    return [_split(text, starts_of, memo) for text in texts]


def _split(text: str, starts_of: Callable[[str], list[int]], memo: dict[str, list[Span]] | None) -> list[Span]:
    if not text or text.isspace():
        return []
    if "\r" in text or not text.isascii():   # other line breaks as "\n", one character for one: the same spans
        text = _LINE_BREAK.sub(_as_newline, text)
    spans: list[Span] = []
    for seg_start, seg_end in layout_segments(text):
        # Same length as the original, so library offsets are our offsets.
        segment = text[seg_start:seg_end].replace("\n", " ").replace("\r", " ")
        found = memo.get(segment) if memo is not None else None
        if found is None:
            found = _sentences_of(segment, starts_of)
            if memo is not None:
                memo[segment] = found
        spans.extend([(seg_start + a, seg_start + b) for a, b in found] if seg_start else found)
    return spans


def _as_newline(match: re.Match) -> str:
    r"""A match of :data:`_LINE_BREAK` as the layout reads it, as long as the match: "\n" for each line break.
    A "\n" the match opens with keeps the carriage return after it, which goes to the end of the line ("\n\r" is
    read as "\r\n"): a line that opens with one space after it is then not indented (a paragraph's start)."""
    found = match[0]
    if found[0] == "\n":
        return "\r\n" + "\n" * (len(found) - 2)
    if found == "\x85" and _inside_utf8_character(match.string, match.start()):
        return found
    return "\n" * len(found)


def _inside_utf8_character(text: str, at: int) -> bool:
    r"""Whether the NEL at ``text[at]`` is a byte of one valid UTF-8 character read as Latin-1: it follows a lead
    byte read so (U+00C2-U+00F4) within the length that lead announces, and those characters decode as UTF-8 to
    one character ("Ã\x85" is "Å", "Ä\x85" is "ą", "ð\x9f\x98\x85" an emoji). A NEL that is no such byte breaks
    its line, as an EBCDIC file's line ends (cp500 decodes them to NEL) do after "é" or "ç": "é\x85" followed by a
    letter is no UTF-8."""
    for start in range(max(0, at - 3), at):
        lead = text[start]
        if not "\xc2" <= lead <= "\xf4":   # no UTF-8 lead byte read as Latin-1
            continue
        window = text[start:start + (2 if lead < "\xe0" else 3 if lead < "\xf0" else 4)]
        if start + len(window) > at and max(window) <= "\xff":
            character = window.encode("latin-1").decode("utf-8", "replace")
            if len(character) == 1 and character != "\ufffd":
                return True
    return False


def _sentences_of(segment: str, starts_of: Callable[[str], list[int]]) -> list[Span]:
    """The sentences of one layout segment, relative to it: the text between two starts the library
    proposes, stripped (a line break and a space are both white space, so the segment as given to
    the library strips as the text does). A piece of only invisible characters is no sentence."""
    wide = not segment.isascii()   # ASCII has no invisible character and no mark of another script
    starts = _visible_starts(segment, starts_of) if wide else starts_of(segment)
    cuts = sorted({0, *(c for c in starts if 0 < c < len(segment))})
    cuts.append(len(segment))
    return [span for a, b in zip(cuts, cuts[1:])
            if (span := _strip(segment, a, b)) is not None and (not wide or _VISIBLE.search(segment, *span))]


def _visible_starts(segment: str, starts_of: Callable[[str], list[int]]) -> list[int]:
    """Where sentences start in a segment that is not ASCII: ``starts_of`` (the library) and the end marks of
    other scripts (:data:`_SCRIPT_END`), both on the segment as it reads, without its invisible characters,
    which the library takes for letters and which stand between an end mark and what follows it: a zero-width
    space before "Dr." (WordPress opens a paragraph with one) hid the abbreviation, one after a full stop or a
    danda the sentence's end. The library's start (a sentence's first letter) is placed after the visible
    character before it, an end mark's (after the mark) at the visible character after it: invisible
    characters go with the white space between two sentences' text; those that end the segment are a piece of
    their own, which holds no sentence."""
    if not IGNORABLE_RE.search(segment):
        return [*starts_of(segment), *(m.end() for m in _SCRIPT_END.finditer(segment))]
    runs = [m.span() for m in _SHOWN_RUN.finditer(segment)]   # the visible text's pieces, in the segment
    visible = "".join(segment[a:b] for a, b in runs)
    ends = list(accumulate(b - a for a, b in runs))   # where each piece ends, in the visible text

    def after(k: int) -> int:   # right after visible[k - 1], in the segment
        r = bisect_left(ends, k)
        return runs[r][1] - ends[r] + k

    def at(k: int) -> int:   # at visible[k], in the segment
        r = bisect_right(ends, k)
        return runs[r][0] + k - (ends[r - 1] if r else 0)

    n = len(visible)
    starts = [after(k) for k in starts_of(visible) if 0 < k < n]
    starts += [at(m.end()) for m in _SCRIPT_END.finditer(visible) if 0 < m.end() < n]
    end = len(segment)
    while end and (segment[end - 1].isspace() or IGNORABLE_RE.match(segment, end - 1)):
        end -= 1
    if IGNORABLE_RE.search(segment, end):   # invisible characters end the segment: a piece of their own (none)
        starts.append(end)
    return starts


def layout_segments(text: str) -> list[Span]:
    """Split ``text`` into layout segments that no sentence may cross. Stateless."""
    blocks = []
    pos = 0
    for m in _BLANK_LINE.finditer(text):
        blocks.append((pos, m.start()))
        pos = m.end()
    blocks.append((pos, len(text)))
    block_lines = [_lines(text, a, b) for a, b in blocks]
    wrapped = is_hard_wrapped(text, block_lines)
    segments: list[Span] = []
    for lines in block_lines:
        if not wrapped:
            segments.extend(lines)
            continue
        current: Span | None = None
        for start, end in lines:
            line = text[start:end]
            new_paragraph = _LIST_ITEM.match(line) or _INDENT.match(line)
            if current is None or new_paragraph:
                if current is not None:
                    segments.append(current)
                current = (start, end)
            else:
                current = (current[0], end)
        if current is not None:
            segments.append(current)
    # Lines and merged lines hold a visible character, and so does a dateline: only what follows a
    # dateline can be blank.
    out: list[Span] = []
    for seg in segments:
        parts = _split_dateline(text, seg)
        out.append(parts[0])
        if len(parts) == 2 and _VISIBLE.search(text, *parts[1]):
            out.append(parts[1])
    return out


def _split_dateline(text: str, segment: Span) -> list[Span]:
    """A dateline opening a paragraph ("LISBON (Meridian Press) -", "杭州（北风通讯社）-") is a segment of its own.

    Outlets replace the wire's dateline with their own; as its own segment it
    shows as one dateline dropped and one added, and the first sentence stays
    ``kept`` instead of ``edited``.
    """
    start, end = segment
    m = _DATELINE_AT.match(text, start, end)
    if not m or not (m.group("date") or m.group("source")):
        m = _WIDE_DATELINE_AT.match(text, start, end)   # fails at once on Latin text
        if m and m.group("place") and not _written_as_place(m.group("place")):
            m = None
    if not m or m.end() >= end:
        return [segment]
    return [(start, m.end()), (m.end(), end)]


def _written_as_place(words: str) -> bool:
    """Whether the words before a non-Latin dateline's bracketed source are written as a place.

    In a script that does not capitalise words (Arabic, Chinese, Devanagari,
    Georgian, whose lower-case letters have no title case...) any words are.
    In one that does (Cyrillic, Greek, Armenian...) they are upper case, as the
    Latin rule wants: the first word in capitals and any other capitalised
    ("МОСКВА (Интерфакс) —", "ΑΘΗΝΑ (Reuters) –"), or a single capitalised word
    ("Москва (Интерфакс) —"). Otherwise "Банк России (ЦБ) — сообщил…", a common
    opening of a Russian paragraph ("X (abbreviation) — …"), would be cut as one.
    """
    words = words.split()
    if not any(w[0].isupper() or w[0].title() != w[0] for w in words):
        return True
    return all(w[0].isupper() for w in words) and (len(words) == 1 or (len(words[0]) > 1 and words[0].isupper()))


def is_hard_wrapped(text: str, block_lines: list[list[Span]] | None = None) -> bool:
    """Whether single line breaks in ``text`` are wrapping rather than structure.

    Looks at the lines followed by another line of the same paragraph, list
    items excepted. True when there are at least three, at least 80 % are at
    most 100 characters long, their median length is at least 40 (wrapping
    width), and at least half end without sentence-final punctuation (a
    paragraph-per-line article ends nearly every line with one). Stateless.
    """
    if block_lines is None:
        block_lines = [_lines(text, 0, len(text))]
    inner = [text[a:b].strip() for lines in block_lines for a, b in lines[:-1]
             if not _LIST_ITEM.match(text[a:b])]
    if len(inner) < 3:
        return False
    lengths = sorted(len(line) for line in inner)
    short = sum(n <= 100 for n in lengths)
    open_ended = sum(not _TERMINAL.search(line) for line in inner)
    return (short >= 0.8 * len(inner) and lengths[len(lengths) // 2] >= 40
            and open_ended >= 0.5 * len(inner))


def _lines(text: str, start: int, end: int) -> list[Span]:
    if text.find("\n", start, end) == -1:   # one line (most paragraphs of most texts)
        return [(start, end)] if _VISIBLE.search(text, start, end) else []
    out = []
    pos = start
    while pos <= end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        if _VISIBLE.search(text, pos, stop):
            out.append((pos, stop))
        if nl == -1:
            break
        pos = nl + 1
    return out


def _strip(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


# --- backends: each returns the offsets where sentences start in one segment ---


def _locate_starts(segment: str, pieces: list[str]) -> list[int]:
    """Offsets of library-returned sentence strings, searched left to right."""
    starts, cursor = [], 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = segment.find(piece, cursor)
        if at < 0:  # the library rewrote whitespace: match its first word instead
            at = segment.find(piece.split()[0], cursor)
        if at >= 0:
            starts.append(at)
            cursor = at + 1
    return starts


# nupunkt's model, learnt from legal and scholarly text, takes 5,865 tokens for abbreviations, among them
# ordinary words: "month", "bank", "stock", "story", "car", "so", "at". After one of those a period
# followed by a capitalised word that is not a usual sentence starter ("Officials", "Police") was no
# sentence end, so "...rose last month. Officials said..." was one sentence, and a version that dropped
# the sentence in between had two kept sentences read as one edited. The splitter keeps a model entry
# only if it cannot be such a word: a single letter (an initial), a form with an inner period ("u.s",
# "a.m"), one holding a digit, a Latin one without a vowel ("mr", "st", "ltd", "pct", "blvd") or one of
# NEWS_ABBREVIATIONS, the abbreviations with vowels that news copy writes before a word that may be
# capitalised ("Gov. Greg Abbott", "Acme Corp. shares", "Sept. 1", "No. 10", "Belvidere, Ill. plant").
# Some of them are also words ("ill", "miss", "mass", "wash", "ore", "no"): "fell ill. Doctors said"
# stays one sentence. Taking them out, with starts dropped after a state that follows a comma and before
# a lower-case word, and after "No." before a number, was tried (session 32) and dropped: over the
# Reuters-21578 bodies it added 28 boundaries, about 5 of them right ("Portland, Ore. Reuter") and the
# rest wrong ("alloy No. Three", "U.S. no. 2 or better", "in Mass. and Conn.").
NEWS_ABBREVIATIONS = frozenset("""
    mrs messrs mme mlle prof rev hon gov govs sen sens rep reps pres gen maj capt col lieut adm brig supt
    insp det atty attys esq jr
    inc corp co cos bros assn intl natl dept govt univ ave
    jan feb mar apr jun jul aug sep sept oct nov dec
    ala ariz ark calif colo conn del fla ga ill ind kan kans ky la mass mich minn miss mo mont neb nev
    okla ore pa tenn tex va vt wash wis wisc wyo
    no nos vol vols fig figs approx al ibid viz ste wm jas jos chas thos geo int cont
""".split())
_VOWELS = frozenset("aeiouy")


def news_abbreviations(known: frozenset[str]) -> frozenset[str]:
    """The entries of ``known`` (a Punkt model's abbreviations, lowercased, without the final period)
    that cannot be an ordinary word, plus those of :data:`NEWS_ABBREVIATIONS` (see above). Stateless."""
    return frozenset(a for a in known if a in NEWS_ABBREVIATIONS or len(a) == 1 or "." in a
                     or any(c.isdigit() for c in a) or (a.isascii() and _VOWELS.isdisjoint(a)))


@lru_cache(maxsize=None)
def nupunkt_tokenizer():
    """nupunkt's default model with only the abbreviations of :func:`news_abbreviations`."""
    import copy

    import nupunkt

    tokenizer = copy.deepcopy(nupunkt.load("default"))   # load() shares its instance with every caller
    for abbreviation in tokenizer.abbreviations - news_abbreviations(tokenizer.abbreviations):
        tokenizer.remove_abbreviation(abbreviation)
    return tokenizer


@lru_cache(maxsize=None)
def _backend(name: str) -> Callable[[str], list[int]]:
    if name == "pysbd":
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        return lambda s: _locate_starts(s, seg.segment(s))
    if name == "blingfire":
        import blingfire

        return lambda s: [a for a, _ in blingfire.text_to_sentences_and_offsets(s)[1]]
    if name == "syntok":
        from syntok import segmenter

        return lambda s: [sent[0].offset for para in segmenter.analyze(s) for sent in para if sent]
    if name == "nupunkt":
        # The sentences' starts as the tokenizer's tokenize_with_spans (nupunkt.sent_spans) has them,
        # without the contiguous spans and the sentence strings it builds from them (an empty result
        # stands for a start at 0, added anyway).
        tokenizer = nupunkt_tokenizer()
        return lambda s: [a for a, _ in tokenizer.span_tokenize(s)]
    if name == "sentencex":
        import sentencex

        return lambda s: [b["start_index"] for b in sentencex.get_sentence_boundaries("en", s)]
    from dedup.errors import ConfigError

    raise ConfigError(
        f"unknown sentence splitter {name!r}; choose one of pysbd, blingfire, syntok, nupunkt, sentencex"
    )
