"""Real Reuters material for the syndication simulator: which items may be used.

* ``Story`` -- a prose Reuters item split into sentences (``copyedit.split_sentences``)
  with the paragraph of each sentence; ``has_repeats`` flags items that repeat
  a sentence of 4+ words (wire glitch), which are never given copies.  Shorter
  sentences are not checked, so a story with copies can repeat one (story 11624
  of the main corpus repeats "Therese"): such a base sentence is ambiguous.
* ``prepare_stories(items)`` -- keep prose items: no table-like lines and >= 90%
  of paragraphs ending in sentence punctuation.
* ``near_duplicate_groups(stories)`` -- natural re-sends, rewrites and
  follow-ups: exact 5-word-shingle sets, edge when Jaccard >= 0.2, or
  containment >= 0.3, or similar titles (or a CORRECTED/RPT marked title)
  and containment >= 0.1 (candidates
  share >= 2 shingles of document frequency <= 20); returns each story's
  group representative (lowest index = lowest NEWID when sorted).
* ``DonorPool`` -- sentences used as padding, new top paragraphs and press
  release bodies: 8-60 words, the sentence occurs once in the collection, none
  of its 8-word shingles occurs in any other item, and each is handed out once.
"""

from __future__ import annotations

import collections
import itertools
import re
from dataclasses import dataclass
from random import Random

import xxhash

from benchmarks.copyedit import split_sentences
from benchmarks.reuters import ReutersItem, paragraphs

__all__ = ["Story", "prepare_stories", "near_duplicate_groups", "DonorPool", "shingles",
           "norm"]

_ANAPHORIC = re.compile(r"(?:He|She|It|They|But|And|Also|However|Its|His|Her|Their|This|"
                        r"That|These|Those|The company|The spokesman)\b")
_TABLE = re.compile(r"\S {3,}\S|\.{4,}|\t")
_WORD = re.compile(r"\w+")


@dataclass
class Story:
    """A prose Reuters item split into sentences; ``para[i]`` = paragraph of sentence i."""

    item: ReutersItem
    sents: list[str]
    para: list[int]

    @property
    def has_repeats(self) -> bool:
        """True if a sentence (>= 4 words) occurs twice or inside another one
        (wire transmission glitch: some items repeat paragraphs).  Sentences of
        fewer than 4 words are ignored, even when repeated exactly; changing
        that would change every built corpus."""
        norms = [f" {norm(s)} " for s in self.sents if len(s.split()) >= 4]
        return any(i != j and a in b for i, a in enumerate(norms) for j, b in enumerate(norms))


def prepare_stories(items: list[ReutersItem]) -> list[Story]:
    """Keep prose items (no tables, >= 90% terminated paragraphs), split them."""
    out = []
    for it in items:
        paras = paragraphs(it.body)
        if not paras or _TABLE.search(it.body) or \
                sum(p[-1] in ".!?\"'" for p in paras) < 0.9 * len(paras):
            continue
        sents, para = [], []
        for k, p in enumerate(paras):
            for s in split_sentences(p):
                sents.append(s)
                para.append(k)
        out.append(Story(it, sents, para))
    return out


def shingles(text: str, k: int = 5) -> set[int]:
    """Hashed k-word shingles of lower-cased ``\\w+`` tokens."""
    w = _WORD.findall(text.lower())
    return {xxhash.xxh64_intdigest(" ".join(w[i:i + k]).encode())
            for i in range(max(1, len(w) - k + 1))}


_RESEND = re.compile(r"^\W*(?:CORRECTED|REPEAT|RPT)\b|\((?:CORRECTED|REPEAT|RPT)\)\W*$")
_STOP = frozenset("the a an of to in on for and at by with from u s".split())


def _title_words(story: Story) -> set[str]:
    return set(re.findall(r"[a-z]+", story.item.title.lower())) - _STOP


def near_duplicate_groups(stories: list[Story], jaccard: float = 0.2,
                          containment: float = 0.3, title_overlap: float = 0.5,
                          title_containment: float = 0.1, max_df: int = 20) -> list[int]:
    """Index of each story's group representative (its lowest index).

    Exact 5-word-shingle sets; candidate pairs share >= 2 shingles of document
    frequency <= ``max_df``.  Two items are grouped (transitively) when
    Jaccard >= ``jaccard``, or containment (|A&B| / smaller set, which must
    hold >= 5 shingles) >= ``containment``, or their titles share >=
    ``title_overlap`` of the shorter title's content words (or one is marked
    CORRECTED/REPEAT/RPT, i.e. a re-send) and containment >= ``title_containment``.  Deliberately aggressive: besides re-sends this
    groups wire rewrites ("EC WARNS U.S. AND JAPAN..." filed twice, 6 hours
    apart, Jaccard 0.26) and follow-ups that reuse background paragraphs
    (containment 0.39) and corrected re-sends (NEWID 3838 vs 3800: containment
    0.28), whose gold would otherwise be debatable.
    """
    sh = [shingles(" ".join(s.sents)) for s in stories]
    post: dict[int, list[int]] = collections.defaultdict(list)
    for d, s in enumerate(sh):
        for h in s:
            post[h].append(d)
    pairs: collections.Counter = collections.Counter()
    for docs in post.values():
        if 2 <= len(docs) <= max_df:
            pairs.update(itertools.combinations(docs, 2))
    parent = list(range(len(stories)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for (a, b), c in pairs.items():
        if c < 2:
            continue
        inter, small = len(sh[a] & sh[b]), min(len(sh[a]), len(sh[b]))
        cont = inter / small if small >= 5 else 0.0
        same = inter / (len(sh[a]) + len(sh[b]) - inter) >= jaccard or cont >= containment
        if not same and cont >= title_containment:
            ta, tb = _title_words(stories[a]), _title_words(stories[b])
            same = bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) >= title_overlap \
                or any(_RESEND.search(stories[x].item.title) for x in (a, b))
        if same:
            ra, rb = find(a), find(b)
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(len(stories))]


def norm(s: str) -> str:
    return " ".join(_WORD.findall(s.lower()))


class DonorPool:
    """Sentences of unused stories, each handed out at most once."""

    def __init__(self, stories: list[Story], unique: set[str], shared: set[int], rng: Random):
        self.items = [(s, st) for st in stories for s in st.sents
                      if 8 <= len(s.split()) <= 60 and norm(s) in unique
                      and not shingles(s, 8) & shared]
        rng.shuffle(self.items)
        self.by_topic: dict[str, list[int]] = collections.defaultdict(list)
        for i, (_, st) in enumerate(self.items):
            for t in st.item.topics:
                self.by_topic[t].append(i)
        self.used: set[int] = set()
        self.ptr = 0

    def _ok(self, i: int, avoid: set[int], lead: bool) -> bool:
        s, st = self.items[i]
        return i not in self.used and st.item.newid not in avoid and \
            not (lead and _ANAPHORIC.match(s))

    def take(self, rng: Random, topics=(), avoid: set[int] = frozenset(),
             lead: bool = False) -> tuple[str, Story]:
        """A fresh sentence, from a same-topic story when possible (p=0.6, 1 for lead);
        never from a story whose NEWID is in ``avoid``; with ``lead`` not one
        starting with a pronoun/conjunction (it opens a paragraph)."""
        cands = [self.by_topic[t] for t in topics if self.by_topic.get(t)]
        if cands and (lead or rng.random() < 0.6):
            lst = rng.choice(cands)
            while lst:
                i = lst.pop()
                if self._ok(i, avoid, lead):
                    self.used.add(i)
                    return self.items[i]
        while self.ptr < len(self.items) and self.ptr in self.used:
            self.ptr += 1
        for i in range(self.ptr, len(self.items)):  # skipped items stay available
            if self._ok(i, avoid, lead):
                self.used.add(i)
                return self.items[i]
        raise RuntimeError("donor sentence pool exhausted; use fewer --n-stories")
