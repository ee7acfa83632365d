"""Progress bars for the long stages: items, rate and ETA, on standard error.

Stages take an optional ``progress`` argument: a :class:`Progress` (or
``None``, the same as a disabled one). :func:`dedup.run` also takes ``True``
(bars on standard error, terminal or not: a notebook shows them) and ``False``. A stage that loops over batches
opens one bar and advances it::

    with progress.bar("minhash", total=len(articles), unit="art") as advance:
        for batch in batches:
            ...
            advance(len(batch))

Bars are drawn by tqdm on standard error and never touch the output files. The
command line draws them when standard error is a terminal and the run is not
``--quiet``, as ``Progress()`` (``enabled=None``) does; ``Progress(enabled=True)``
(``progress=True``) draws them whatever standard error is.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator


def _ignore(n: int = 1) -> None:
    return None


class Progress:
    """Factory of progress bars; ``enabled=None`` means "if standard error is a terminal"."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    @contextmanager
    def bar(self, desc: str, total: int | None, unit: str = "art", *, lazy: bool = False
            ) -> Iterator[Callable[[int], None]]:
        """A bar of ``total`` items (None: unknown, so a count and a rate without an ETA), advanced by the
        callable it yields. ``lazy``: drawn from its first advance only, for what a stage may have none of
        (the pages to extract of a read of JSON Lines)."""
        if not self.enabled:
            yield _ignore
            return
        from tqdm import tqdm  # only a run that draws bars pays the import

        # counts as whole numbers (unit_scale would print 3 of 10 as 3.00/10.0); rates keep their decimals
        def drawn():
            return tqdm(total=total, desc=f"{desc:<12}", unit=unit, leave=False,
                        file=sys.stderr, dynamic_ncols=True, mininterval=0.5)

        bars = [] if lazy else [drawn()]

        def advance(n: int = 1) -> None:
            if not bars:
                bars.append(drawn())
            bars[0].update(n)

        try:
            yield advance
        finally:
            for bar in bars:
                bar.close()


QUIET = Progress(enabled=False)


def given_progress(progress: Progress | bool | None) -> Progress | None:
    """``progress`` as :func:`dedup.run` takes it: a :class:`Progress`, None, or True / False for bars
    drawn always / never; anything else is a TypeError naming what it takes."""
    if isinstance(progress, bool):
        return Progress(enabled=progress)
    if progress is not None and not isinstance(progress, Progress):
        raise TypeError(f"progress must be True, False, None or a dedup.progress.Progress, "
                        f"got {type(progress).__name__}")
    return progress


def bar(progress: Progress | None, desc: str, total: int | None, unit: str = "art", *, lazy: bool = False):
    """``progress.bar(...)``, or a no-op when ``progress`` is None."""
    return (progress or QUIET).bar(desc, total, unit, lazy=lazy)
