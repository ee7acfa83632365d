"""Word-level diff of an edited sentence against its canonical sentence.

A diff is a list of ``{"op": "=" | "+" | "-", "text": str}``. Tokens are words
(letters/digits and combining marks, with inner apostrophes, hyphens, commas
and decimal points), single characters of the scripts written without spaces
(Han, Kana, Thai...: those of shingling, :mod:`dedup.normalize`), each with
the combining marks after it, and single punctuation marks, each carrying the
whitespace before it, and they are compared exactly (a change of case or of
quote style shows). So:

- the ``=`` and ``+`` texts, joined, give the version sentence exactly;
- the ``=`` and ``-`` texts, joined, give the canonical sentence exactly

for sentences as the splitter cuts them (stripped: no white space at either
end); white space after a sentence's last token may be lost.

Whitespace that differs around unchanged words (a line break for a space)
joins the neighbouring change or becomes a whitespace-only op.

The matching is difflib's, whose cost grows with the square of a sentence's
length where words recur ("the", "of"); a text with no sentence punctuation
is one sentence however long. Past ``MATCH_STEPS`` steps (about a tenth of a
second; prose stays well below it up to some 10,000 words in one sentence)
the parts not matched yet are matched only by their common start and end,
the rest of each part one ``-``/``+`` replacement: still an exact diff, only
a coarser one.

All functions here are stateless.
"""

from __future__ import annotations

import re

import numba
import numpy as np

from dedup.normalize import _MK, _MK_ASTRAL, _NS, _NS_ASTRAL, Unicode14Re, has_astral

# \w as Unicode 14.0 has it, on every Python (Unicode14Re).
_TOKEN = Unicode14Re(r"\s*(?:[{w}]+(?:['’.,\-][{w}]+)*|[^{w}\s])")
# The same where a character of a no-space script is a token with its marks, and marks continue words.
# The diff works on the raw text, which shingling sees after NFKC: halfwidth katakana (ｶﾀｶﾅ, U+FF66-U+FF9D)
# is katakana there, so a character here too, and its halfwidth voiced sound marks (ﾞ ﾟ, which NFKC turns
# into combining marks) continue it.
_NS_DIFF, _MK_DIFF = _NS + "\uff66-\uff9d", _MK + "\uff9e\uff9f"
_WORD = rf"(?:(?![{_NS_DIFF}]|[{_NS_ASTRAL}])[{{w}}]|[{_MK_DIFF}]|[{_MK_ASTRAL}])+"
_TOKEN_FULL = Unicode14Re(rf"\s*(?:(?:[{_NS_DIFF}]|[{_NS_ASTRAL}])(?:[{_MK_DIFF}]|[{_MK_ASTRAL}])*"
                          rf"|{_WORD}(?:['’.,\-]{_WORD})*|[^{{w}}\s])")
_NEEDS_FULL_DIFF = re.compile(rf"[{_NS_DIFF}{_MK_DIFF}]")

Op = dict[str, str]


def tokens(text: str) -> list[str]:
    """Word, no-space script character and punctuation tokens of ``text``, each with the whitespace before it."""
    full = _NEEDS_FULL_DIFF.search(text) or has_astral(text)
    out = (_TOKEN_FULL if full else _TOKEN).findall(text)
    consumed = sum(map(len, out))
    if consumed < len(text) and out:  # trailing whitespace
        out[-1] += text[consumed:]
    return out


def word_diff(canonical: str, version: str) -> list[Op]:
    """Diff turning ``canonical`` into ``version``, word by word.

    >>> word_diff("The cat sat.", "The dog sat.")
    [{'op': '=', 'text': 'The'}, {'op': '-', 'text': ' cat'}, {'op': '+', 'text': ' dog'}, {'op': '=', 'text': ' sat.'}]
    """
    return split_diff(canonical, [version])[0]


def split_diff(canonical: str, versions: list[str]) -> list[list[Op]]:
    """Diff of several consecutive version sentences (an outlet's split) against one canonical text.

    The diff is computed once over the joined version tokens and then cut at
    sentence boundaries: ``=`` and ``+`` pieces go to the sentence they come
    from, a ``-`` piece to the sentence of the version token before it.
    """
    a = tokens(canonical)
    b: list[str] = []
    owner: list[int] = []
    for k, sentence in enumerate(versions):
        toks = tokens(sentence)
        if k and toks:
            toks[0] = toks[0].lstrip()
        b.extend(toks)
        owner.extend([k] * len(toks))
    flat: list[list] = []  # [row, op, text]
    for tag, i1, i2, j1, j2 in opcodes([t.strip() for t in a], [t.strip() for t in b]):
        if tag in ("delete", "replace"):
            flat.append([owner[j1 - 1] if j1 > 0 else 0, "-", "".join(a[i1:i2])])
        if tag in ("insert", "replace"):
            flat.extend(_pieces(owner, b, j1, j2, "+"))
        if tag == "equal" and a[i1:i2] == b[j1:j2]:   # the same whitespace too
            flat.extend(_pieces(owner, b, j1, j2, "="))
        elif tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                flat.extend([owner[j], op, text] for op, text in _rebalance(flat, a[i], b[j]))
    out: list[list[list[str]]] = [[] for _ in versions]
    for row, op, text in flat:   # consecutive pieces of one op are one op
        if not text:
            continue
        ops = out[row]
        if ops and ops[-1][0] == op:
            ops[-1][1] += text
        else:
            ops.append([op, text])
    return [[{"op": op, "text": text} for op, text in ops] for ops in out]


def _pieces(owner: list[int], b: list[str], j1: int, j2: int, op: str) -> list[list]:
    """``[row, op, text]`` of version tokens ``j1:j2``, the tokens of one version sentence joined."""
    pieces = []
    start = j1
    while start < j2:
        stop = start + 1
        while stop < j2 and owner[stop] == owner[start]:
            stop += 1
        pieces.append([owner[start], op, "".join(b[start:stop])])
        start = stop
    return pieces


MATCH_STEPS = 30_000_000   # the matching's budget: each token of a and each of its occurrences in b scanned is a step


def opcodes(a: list[str], b: list[str], *, steps: int = MATCH_STEPS) -> list[tuple[str, int, int, int, int]]:
    """``difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()``, with the matching in numba.

    The same recursion as difflib's ``get_matching_blocks`` (the longest
    matching block of a range, earliest in ``a`` then in ``b`` on ties, then
    the ranges left and right of it), on integer codes of the tokens; with no
    junk, difflib's block extensions never apply. Past ``steps`` steps of the
    search, each range left gets only its common start and end as blocks
    (see the module docstring). Stateless.
    """
    codes: dict[str, int] = {}
    a_codes = np.array([codes.setdefault(t, len(codes)) for t in a], dtype=np.int64)
    b_codes = np.array([codes.setdefault(t, len(codes)) for t in b], dtype=np.int64)
    blocks = _matching_blocks(a_codes, b_codes, len(codes), steps).tolist()
    i = j = 0
    answer = []
    for ai, bj, size in blocks:
        tag = "replace" if i < ai and j < bj else "delete" if i < ai else "insert" if j < bj else ""
        if tag:
            answer.append((tag, i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            answer.append(("equal", ai, i, bj, j))
    return answer


@numba.njit(cache=True, nogil=True)
def _matching_blocks(a: np.ndarray, b: np.ndarray, n_codes: int, steps: int) -> np.ndarray:  # pragma: no cover
    """difflib's ``get_matching_blocks`` (adjacent blocks collapsed, ``(len(a), len(b), 0)`` last).

    Once the search has taken ``steps`` steps, the range being searched and
    every range still queued get only their common start and end as blocks.
    """
    la, lb = len(a), len(b)
    b2j_ptr = np.zeros(n_codes + 1, dtype=np.int64)          # positions of each code in b, increasing
    for j in range(lb):
        b2j_ptr[b[j] + 1] += 1
    for c in range(n_codes):
        b2j_ptr[c + 1] += b2j_ptr[c]
    fill = b2j_ptr[:-1].copy()
    b2j = np.empty(lb, dtype=np.int64)
    for j in range(lb):
        b2j[fill[b[j]]] = j
        fill[b[j]] += 1
    old_len = np.zeros(lb + 1, dtype=np.int64)               # j2len of the previous row, at j + 1
    new_len = np.zeros(lb + 1, dtype=np.int64)
    old_set = np.empty(lb, dtype=np.int64)
    new_set = np.empty(lb, dtype=np.int64)
    found = np.empty((la + lb + 1, 3), dtype=np.int64)
    n_found = 0
    queue = np.empty((la + lb + 2, 4), dtype=np.int64)
    queue[0, 0], queue[0, 1], queue[0, 2], queue[0, 3] = 0, la, 0, lb
    n_queue = 1
    taken = 0
    while n_queue:
        n_queue -= 1
        alo, ahi, blo, bhi = queue[n_queue, 0], queue[n_queue, 1], queue[n_queue, 2], queue[n_queue, 3]
        besti, bestj, bestsize = alo, blo, 0
        n_old = 0
        for i in range(alo, ahi):
            if taken > steps:
                break
            n_new = 0
            c = a[i]
            taken += 1
            for p in range(b2j_ptr[c], b2j_ptr[c + 1]):
                taken += 1
                j = b2j[p]
                if j < blo:
                    continue
                if j >= bhi:
                    break
                k = old_len[j] + 1                           # j2len.get(j - 1, 0) + 1
                new_len[j + 1] = k
                new_set[n_new] = j + 1
                n_new += 1
                if k > bestsize:
                    besti, bestj, bestsize = i - k + 1, j - k + 1, k
            for q in range(n_old):
                old_len[old_set[q]] = 0
            old_len, new_len = new_len, old_len
            old_set, new_set = new_set, old_set
            n_old = n_new
        for q in range(n_old):
            old_len[old_set[q]] = 0
        if taken > steps:                                    # over budget: only the common start and end
            head = 0
            while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
                head += 1
            tail = 0
            while alo + head < ahi - tail and blo + head < bhi - tail and a[ahi - tail - 1] == b[bhi - tail - 1]:
                tail += 1
            if head:
                found[n_found, 0], found[n_found, 1], found[n_found, 2] = alo, blo, head
                n_found += 1
            if tail:
                found[n_found, 0], found[n_found, 1], found[n_found, 2] = ahi - tail, bhi - tail, tail
                n_found += 1
            continue
        if bestsize:
            found[n_found, 0], found[n_found, 1], found[n_found, 2] = besti, bestj, bestsize
            n_found += 1
            if alo < besti and blo < bestj:
                queue[n_queue, 0], queue[n_queue, 1], queue[n_queue, 2], queue[n_queue, 3] = alo, besti, blo, bestj
                n_queue += 1
            if besti + bestsize < ahi and bestj + bestsize < bhi:
                queue[n_queue, 0], queue[n_queue, 1] = besti + bestsize, ahi
                queue[n_queue, 2], queue[n_queue, 3] = bestj + bestsize, bhi
                n_queue += 1
    blocks = found[:n_found]
    blocks = blocks[np.argsort(blocks[:, 0] * (lb + 1) + blocks[:, 1])]
    out = np.empty((n_found + 1, 3), dtype=np.int64)
    n_out = 0
    i1 = j1 = k1 = 0
    for r in range(n_found):
        i2, j2, k2 = blocks[r, 0], blocks[r, 1], blocks[r, 2]
        if i1 + k1 == i2 and j1 + k1 == j2:
            k1 += k2
        else:
            if k1:
                out[n_out, 0], out[n_out, 1], out[n_out, 2] = i1, j1, k1
                n_out += 1
            i1, j1, k1 = i2, j2, k2
    if k1:
        out[n_out, 0], out[n_out, 1], out[n_out, 2] = i1, j1, k1
        n_out += 1
    out[n_out, 0], out[n_out, 1], out[n_out, 2] = la, lb, 0
    return out[:n_out + 1]


def _rebalance(flat: list[list], a_tok: str, b_tok: str) -> list[tuple[str, str]]:
    """Ops for an unchanged token whose preceding whitespace may differ between the two sides.

    Differing whitespace joins the deletion / insertion just before the token,
    or becomes a whitespace-only ``-``/``+`` op, so both sides rebuild exactly.
    """
    ws_a, ws_b = a_tok[: len(a_tok) - len(a_tok.lstrip())], b_tok[: len(b_tok) - len(b_tok.lstrip())]
    if ws_a == ws_b:
        return [("=", b_tok)]
    changes = []
    for entry in reversed(flat):
        if entry[1] == "=":
            break
        changes.append(entry)
    last_del = next((e for e in changes if e[1] == "-"), None)
    last_ins = next((e for e in changes if e[1] == "+"), None)
    ops = []
    if last_del is not None:
        last_del[2] += ws_a
    elif ws_a:
        ops.append(("-", ws_a))
    if last_ins is not None:
        last_ins[2] += ws_b
    elif ws_b:
        ops.append(("+", ws_b))
    ops.append(("=", b_tok[len(ws_b):]))
    return ops

