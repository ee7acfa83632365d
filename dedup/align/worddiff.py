"""Word-level diff of an edited sentence against its canonical sentence.

A diff is a list of ``{"op": "=" | "+" | "-", "text": str}``. Tokens are words
(letters/digits, with inner apostrophes, hyphens, commas and decimal points)
and single punctuation marks, each carrying the whitespace before it, and
they are compared exactly (a change of case or of quote style shows). So:

- the ``=`` and ``+`` texts, joined, give the version sentence exactly;
- the ``=`` and ``-`` texts, joined, give the canonical sentence exactly.

Whitespace that differs around unchanged words (a line break for a space)
joins the neighbouring change or becomes a whitespace-only op.

All functions here are stateless.
"""

from __future__ import annotations

import difflib
import re

_TOKEN = re.compile(r"\s*(?:\w+(?:['’.,\-]\w+)*|[^\w\s])")

Op = dict[str, str]


def tokens(text: str) -> list[str]:
    """Word and punctuation tokens of ``text``, each with the whitespace before it."""
    out = _TOKEN.findall(text)
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
    matcher = difflib.SequenceMatcher(None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False)
    flat: list[list] = []  # [row, op, text]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            flat.append([owner[j1 - 1] if j1 > 0 else 0, "-", "".join(a[i1:i2])])
        if tag in ("insert", "replace"):
            flat.extend([owner[j], "+", b[j]] for j in range(j1, j2))
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                flat.extend([owner[j], op, text] for op, text in _rebalance(flat, a[i], b[j]))
    out: list[list[Op]] = [[] for _ in versions]
    for row, op, text in flat:
        _emit(out[row], op, text)
    return out


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


def _emit(ops: list[Op], op: str, text: str) -> None:
    if not text:
        return
    if ops and ops[-1]["op"] == op:
        ops[-1] = {"op": op, "text": ops[-1]["text"] + text}
    else:
        ops.append({"op": op, "text": text})
