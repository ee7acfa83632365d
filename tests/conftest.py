"""Shared fixtures: small corpora written for the tests (fictional texts)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

try:   # zstd as Python 3.14 has it, from its backport before (the reader's own choice)
    from compression import zstd
except ImportError:
    from backports import zstd  # noqa: F401 (used by tests)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "sample-corpus"

_VOCAB = (
    "minister council harbour strike union wages talks port city officials spokesman agreement budget "
    "railway drought farmers river election court ruling appeal hospital nurses vaccine storm coast "
    "bridge tunnel airport flights delayed police protest market shares bank rates inflation exports "
    "fishing quota ferry museum festival school teachers parliament vote reform energy prices wind solar"
).split()


def make_story(seed: int, sentences: int = 12) -> list[str]:
    """A fictional story of distinct pseudo-sentences, reproducible from ``seed``."""
    rng = random.Random(seed)
    out = []
    for _ in range(sentences):
        words = [rng.choice(_VOCAB) for _ in range(rng.randint(12, 20))]
        out.append(" ".join(words).capitalize() + ".")
    return out


def article(id, outlet, sentences, published=None, title=None, url=None):
    return {"id": id, "outlet": outlet, "title": title or f"Title of {id}", "text": " ".join(sentences),
            "published": published, "url": url}


def write_jsonl(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write((rec if isinstance(rec, str) else json.dumps(rec, ensure_ascii=False)) + "\n")
    return path


@pytest.fixture
def planted():
    """Three wire stories with outlet copies (trimmed, padded, edited) and two unrelated articles.

    Returns (records, truth) where truth maps article id -> story key.
    """
    records, truth = [], {}
    for s in range(3):
        base = make_story(100 + s, 14)
        wire = article(f"w{s}", "Wire", base, f"2026-11-27T0{s}:00:00Z")
        records.append(wire)
        truth[wire["id"]] = s
        filler = make_story(900 + s, 3)
        versions = [
            base[:6],                                          # trimmed to the lead
            base[:5] + filler[:2] + base[5:12],                # padded with a local angle
            [t.replace("officials", "authorities") for t in base],  # copy-edited
            base[:3] + base[4:10],                             # a dropped sentence, trimmed tail
        ]
        for o, sents in enumerate(versions):
            rec = article(f"w{s}-o{o}", f"Outlet {o}", sents, f"2026-11-27T1{o}:00:00Z")
            records.append(rec)
            truth[rec["id"]] = s
    for u in range(2):
        rec = article(f"u{u}", "Other", make_story(500 + u, 10), "2026-11-27T05:00:00Z")
        records.append(rec)
        truth[rec["id"]] = f"u{u}"
    return records, truth
