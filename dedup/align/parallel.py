"""Running the alignment's per-article and per-cluster work on several cores.

Clusters are independent (:func:`dedup.align.core.align_prepared` is pure), so
the night is cut into contiguous *chunks* of clusters, each chunk runs in a
worker process, and the results are put back together in chunk order: the
output does not depend on the number of workers, and a run with one worker
executes the very same functions in-process.

Workers are *forked* just when a stage's input is ready, so they inherit it
(texts, sentence spans, the fitted IDF) instead of receiving it pickled, and
start in milliseconds instead of re-importing the package (seconds). Only the
results (plain lists) come back through pickling. What runs in a worker is
pure Python, numpy, scipy and scikit-learn's hashing: never polars, whose
thread pool must not be used in a forked child. Where ``fork`` is not
available (not Linux), alignment runs in-process. Small nights stay serial
(:data:`MIN_PARALLEL_ARTICLES`).

Three things keep forked workers cheap and safe on a night of a million articles:

* the parent's objects are moved out of the garbage collector's reach
  (:func:`gc.freeze`) before forking: otherwise each child's first collection
  writes to the header of every object it inherited, and copy-on-write then
  gives every worker its own copy of the parent's heap (at 1M articles a worker
  reached 12 GB and the kernel's OOM killer stopped the run);
* workers are started afresh for each wave of ``workers * CHUNKS_PER_WORKER``
  chunks, so the inherited pages a worker touched (and so copied) are given
  back wave by wave;
* a worker dies with its parent (``PR_SET_PDEATHSIG`` on Linux): a scheduler's
  ``kill -9`` of the run does not leave workers holding gigabytes behind; and a
  stage left by an exception (Ctrl-C, a SIGTERM under :mod:`dedup.signals`)
  kills its workers rather than wait for the chunks under way.

A worker runs each chunk with the cyclic garbage collector off (:func:`_run_shared`).

Several threads of one host program may map chunks at once (a service calling
:func:`dedup.run` from two threads): each call's work is filed under its own
token (:data:`_SHARED`), which its chunks carry to the workers, so a worker runs
the work of the call that forked it whatever another thread filed since. The
freeze is undone only when the last such call ends, and only if the host had
frozen nothing itself (a pre-forking server's own :func:`gc.freeze` is kept).

A worker killed from outside (out of memory) ends the stage with a
:class:`~dedup.errors.DedupError` that says so, not a traceback.
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

import numpy as np

from dedup.errors import DedupError

R = TypeVar("R")

MIN_PARALLEL_ARTICLES = 2_000   # below this many clustered articles, starting workers costs more than it saves
CHUNKS_PER_WORKER = 4           # several chunks per worker even out unequal clusters
SERIAL_CHUNKS = 20              # chunks of an in-process run: the progress bar's steps
#: Bounds of one chunk (sentences to align, characters to split or count): a worker's memory grows with
#: its chunk, and without a bound a night's 8 chunks grow with the night (at 1M articles an alignment
#: worker passed 12 GB). 100,000 sentences to align (a 100,000-article night's 1.4 M make 16 chunks):
#: at 200,000 the two alignment workers of a million-article night held ~3 GB more between them.
MAX_CHUNK_SENTENCES = 100_000
MAX_CHUNK_CHARS = 25_000_000


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def n_workers(setting: int, n_articles: int) -> int:
    """Worker processes for a night of ``n_articles`` clustered articles (1: run in this process).

    ``setting`` is :attr:`dedup.config.AlignConfig.workers`: 0 means every
    available core, N at most N; either way a small night stays serial.
    """
    wanted = available_cores() if setting == 0 else setting
    return 1 if n_articles < MIN_PARALLEL_ARTICLES else max(1, wanted)


def chunk_bounds(sizes: Sequence[int], n_chunks: int, max_size: int | None = None) -> list[tuple[int, int]]:
    """Cut items with these sizes into at most ``n_chunks`` contiguous ``(start, stop)`` runs of about
    ``sum / n_chunks`` each.

    Each run is filled greedily up to a *target* and closed before the item
    that would take it past the target, so an item is never cut and one larger
    than the target (a story carried by thousands of outlets) is a run of its
    own. The target is the smallest one, from ``sum / n_chunks`` up, that
    needs no more than ``n_chunks`` runs: filling up to ``sum / n_chunks``
    itself leaves a sliver for an extra run (which on two workers and eight
    chunks ran alone in a second wave of workers). ``max_size`` caps the
    target (runs are then no larger than it, however many that makes).
    Stateless.
    """
    if not len(sizes):
        return []
    cum = np.cumsum(np.asarray(sizes, dtype=np.int64))
    n = max(n_chunks, 1)
    lo = max(-(-int(cum[-1]) // n), 1)
    hi = max(int(cum[-1]), lo)
    if max_size is not None:
        hi = max(min(hi, max_size), 1)
        lo = min(lo, hi)
    if len(_greedy_runs(cum, hi, n + 1)) > n:
        return _greedy_runs(cum, hi)   # the cap needs more runs than asked for
    while lo < hi:                     # the fewest runs is monotone in the target: bisect it
        mid = (lo + hi) // 2
        if len(_greedy_runs(cum, mid, n + 1)) <= n:
            hi = mid
        else:
            lo = mid + 1
    return _greedy_runs(cum, lo)


def _greedy_runs(cum: np.ndarray, target: int, limit: int | None = None) -> list[tuple[int, int]]:
    """Runs of items (``cum``: their sizes' running sum) filled up to ``target``; an item larger than
    ``target`` alone. Stops after ``limit`` runs when given (enough to tell "too many")."""
    runs: list[tuple[int, int]] = []
    start, base, n = 0, 0, len(cum)
    while start < n and (limit is None or len(runs) < limit):
        stop = max(int(np.searchsorted(cum, base + target, side="right")), start + 1)
        runs.append((start, stop))
        start, base = stop, int(cum[stop - 1])
    return runs


def map_chunks(fn: Callable[[Any, int, int], R], data: Any, bounds: list[tuple[int, int]], workers: int,
               done: Callable[[int, int], None] | None = None) -> list[R]:
    """``[fn(data, start, stop) for start, stop in bounds]``, on up to ``workers`` forked processes.

    ``done(start, stop)`` is called as each chunk's result arrives, in chunk order (for progress bars).
    """
    return list(iter_chunks(fn, data, bounds, workers, done))


def iter_chunks(fn: Callable[[Any, int, int], R], data: Any, bounds: list[tuple[int, int]], workers: int,
                done: Callable[[int, int], None] | None = None) -> Iterator[R]:
    """:func:`map_chunks` yielding each chunk's result as it arrives, in chunk order, so that the
    caller can fold the results in and let each go (the night's results are never held at once)."""
    if workers <= 1 or len(bounds) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for start, stop in bounds:
            result = fn(data, start, stop)
            if done:
                done(start, stop)
            yield result
        return
    token = next(_TOKENS)
    _SHARED[token] = (fn, data)
    _hold_freeze()
    try:
        # Fresh workers for each wave of chunks: a worker keeps a copy of every inherited page it
        # touched (reference counts are writes), so long-lived workers would end up holding the
        # parent's whole heap twice over. A 100k night is one wave.
        wave = workers * CHUNKS_PER_WORKER
        for lo in range(0, len(bounds), wave):
            part = bounds[lo:lo + wave]
            gc.freeze()   # see the module docstring: the children must not touch every inherited object
            with ProcessPoolExecutor(max_workers=min(workers, len(part)), mp_context=multiprocessing.get_context("fork"),
                                     initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
                try:
                    results = pool.map(_run_shared, itertools.repeat(token), part)
                    for (start, stop), result in zip(part, results):
                        if done:
                            done(start, stop)
                        yield result
                        del result
                except BaseException:   # Ctrl-C, SIGTERM (dedup.signals), an error, the caller gone
                    _stop_workers(pool)
                    raise
    except BrokenProcessPool:
        raise DedupError(f"a worker process of {getattr(fn, '__name__', 'a parallel stage')} was killed from "
                         "outside (most often by the system when memory runs out); "
                         "rerun with fewer workers or on a larger machine") from None
    finally:
        _SHARED.pop(token, None)
        _release_freeze()


#: (fn, data) of each running :func:`iter_chunks` by its token, inherited by the workers it forks
#: (another thread's entry costs them nothing: copy-on-write pages they never touch)
_SHARED: dict[int, tuple[Callable[[Any, int, int], Any], Any]] = {}
_TOKENS = itertools.count()
_FREEZE_LOCK = threading.Lock()
_freezing = 0            # iter_chunks calls between their first gc.freeze() and their end
_unfreeze_after = False  # whether the last of them ends with gc.unfreeze() (nothing was frozen before the first)


def _hold_freeze() -> None:
    """Count a call that freezes; the first one notes whether the host had frozen objects itself."""
    global _freezing, _unfreeze_after
    with _FREEZE_LOCK:
        if _freezing == 0:
            _unfreeze_after = gc.get_freeze_count() == 0
        _freezing += 1


def _release_freeze() -> None:
    """The last call to end unfreezes, unless the host had frozen objects before the first began (its
    freeze is its policy: dedup's objects then stay frozen too, freed by reference counting all the same)."""
    global _freezing
    with _FREEZE_LOCK:
        _freezing -= 1
        if _freezing == 0 and _unfreeze_after:
            gc.unfreeze()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill ``pool``'s workers: leaving its ``with`` block otherwise waits for the chunks under way (on a
    large night, minutes after a Ctrl-C or a scheduler's SIGTERM, whose cleanup then waits), and nobody
    wants their results. A worker holds nothing to clean up (it only computes and sends back results);
    the pool then fails what is left (BrokenProcessPool) and reaps them. SIGKILL, not SIGTERM: a worker
    may have inherited a handler of the host's. (Python 3.14 has ``pool.kill_workers()``.)"""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def _die_with_parent(parent: int) -> None:
    """Worker initializer: ask Linux to kill this worker when its parent dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _run_shared(token: int, bound: tuple[int, int]) -> Any:
    """One chunk in a worker, with the cyclic garbage collector off: a chunk makes hundreds of
    thousands of objects that live until it ends (its rows), which the collector would walk again
    and again (5 % of the workers' time on a 100k night) to find almost nothing (a collection after
    each chunk found 0-17 unreachable objects). Reference counting still frees everything else;
    the collector is back on between chunks, and a worker lives for one wave. ``token`` names the
    call whose work this is (:data:`_SHARED`)."""
    fn, data = _SHARED[token]
    gc.disable()
    try:
        return fn(data, *bound)
    finally:
        gc.enable()


def bounds_for(sizes: Sequence[int], workers: int, max_chunk: int | None = None) -> list[tuple[int, int]]:
    """Contiguous chunks of items with these sizes for ``workers`` processes.

    In-process runs are cut too (``SERIAL_CHUNKS``), only so that a progress
    bar advances; chunks never change the output. ``max_chunk`` (in the unit
    of ``sizes``) bounds a chunk, so that a worker's memory, which grows with
    its chunk, stays the same on a night ten times larger: there are then more
    chunks, not larger ones.
    """
    n_chunks = SERIAL_CHUNKS if workers <= 1 else workers * CHUNKS_PER_WORKER
    if max_chunk:
        needed = -(-sum(sizes) // max_chunk)
        if needed > n_chunks:   # whole waves of workers (see iter_chunks)
            n_chunks = -(-needed // n_chunks) * n_chunks
    return chunk_bounds(sizes, n_chunks, max_chunk)
