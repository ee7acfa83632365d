"""Sentence families across a cluster, and provenance links between outlets.

A *family* is one sentence of the story as carried by any number of versions:
the rows of :data:`dedup.schema.SENTENCES` that share a ``family_id`` are "the
same sentence" and the story can be shown as a matrix family x outlet.

- Every canonical sentence is a family; its id is its canonical position
  (0, 1, ...). Version sentences aligned to it (kept or edited) and the
  versions' ``dropped`` rows for it carry that id.
- Added sentences (not from the canonical) that several versions share form
  one family: two added sentences are in the same family when their TF-IDF
  cosine reaches ``align_threshold``, transitively. Added families are
  numbered after the canonical ones, in order of first appearance (articles
  by publication time then article id, sentences by position).

Provenance: when two or more articles carry an added family, they probably
copied it from one another rather than from the canonical (wire) version.
The earliest carrier (publication time, then article id; unknown times last)
is recorded as ``first_article_id`` and each later carrier gets one LINKS row
"shares added material with" it.

All functions here are stateless.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def group_similar(vectors: sp.csr_matrix, threshold: float, *, block: int = 1024) -> np.ndarray:
    """Connected components of ``cosine >= threshold`` among L2-normalised rows.

    Labels are 0, 1, ... in order of each component's first row. Rows are
    compared block by block, so memory stays bounded (``block`` x rows) even
    for thousands of added sentences; time is quadratic in the number of
    *distinct* added sentences, which is what grouping them requires.
    """
    k = vectors.shape[0]
    parent = np.arange(k)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    vectors = sp.csr_matrix(vectors)
    for start in range(0, k, block):
        sims = (vectors[start:start + block] @ vectors.T).tocoo()
        keep = (sims.data >= threshold) & (sims.row + start < sims.col)
        for a, b in zip(sims.row[keep] + start, sims.col[keep]):
            ra, rb = find(int(a)), find(int(b))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(k)], dtype=np.int64)
    _, first = np.unique(roots, return_index=True)
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    label_of_root = dict(zip(roots[first], relabel))
    return np.array([label_of_root[r] for r in roots], dtype=np.int64)


def provenance(carriers: dict[int, dict[str, int]], rank: dict[str, int]) -> list[tuple[int, str, str, int]]:
    """LINKS rows ``(family_id, first_article_id, article_id, n_sentences)``.

    ``carriers`` maps each added family to ``{article_id: sentences of that
    family in the article}``; ``rank`` orders articles (earliest first). One
    row per later carrier of a family carried by at least two articles;
    ``n_sentences`` is how many of the family's sentences that later carrier
    has (usually 1), so summing over a (first, later) pair gives the added
    sentences they share.
    """
    rows = []
    for family in sorted(carriers):
        holders = sorted(carriers[family], key=lambda a: rank[a])
        if len(holders) < 2:
            continue
        first = holders[0]
        rows.extend((family, first, later, carriers[family][later]) for later in holders[1:])
    return rows
