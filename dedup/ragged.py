"""Ragged ranges of a flat array: every position of several ``[start, start + width)`` runs at once."""

from __future__ import annotations

import numpy as np


def ragged(starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The positions ``starts[k], starts[k] + 1, ..., starts[k] + widths[k] - 1`` of every ``k``, in order,
    as one int64 array (no Python loop: the gather of many articles' shingles, or postings' owners).

    >>> ragged(np.array([10, 3]), np.array([2, 3])).tolist()
    [10, 11, 3, 4, 5]
    """
    starts, widths = np.asarray(starts, dtype=np.int64), np.asarray(widths, dtype=np.int64)
    return np.repeat(starts - np.cumsum(widths) + widths, widths) + np.arange(widths.sum(), dtype=np.int64)
