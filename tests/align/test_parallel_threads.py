"""dedup.align.parallel inside a host program: two threads mapping chunks at once each get their own work
done, and the garbage collector's freeze is undone only when (and if) it is dedup's to undo."""

from __future__ import annotations

import gc
import multiprocessing
import threading

import pytest

from dedup.align import parallel

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="workers are forked only where fork exists")

BOUNDS = [(0, 3), (3, 6), (6, 10)]


def _tagged(data: tuple[str, list[int]], start: int, stop: int) -> list[str]:
    tag, values = data
    return [f"{tag}{v}" for v in values[start:stop]]


def _doubled(data: list[int], start: int, stop: int) -> list[int]:
    return [2 * v for v in data[start:stop]]


class _MeetingPool(parallel.ProcessPoolExecutor):
    """A pool whose first construction in each thread waits for the other thread's: both calls have filed
    their work before either forks (the interleaving a thread switch at the wrong moment makes)."""

    barrier: threading.Barrier
    seen: set[str]

    def __init__(self, *args, **kwargs):
        me = threading.current_thread().name
        if me not in self.seen:
            self.seen.add(me)
            self.barrier.wait()
        super().__init__(*args, **kwargs)


def _in_threads(jobs: dict[str, object]) -> tuple[dict[str, object], dict[str, BaseException]]:
    results: dict[str, object] = {}
    errors: dict[str, BaseException] = {}

    def work(name, job):
        try:
            results[name] = job()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors[name] = exc

    threads = [threading.Thread(target=work, args=item, name=item[0]) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results, errors


def test_two_threads_in_a_parallel_stage_each_get_their_own_results(monkeypatch):
    monkeypatch.setattr(_MeetingPool, "barrier", threading.Barrier(2, timeout=60), raising=False)
    monkeypatch.setattr(_MeetingPool, "seen", set(), raising=False)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _MeetingPool)
    values = list(range(10))
    results, errors = _in_threads({
        "A": lambda: parallel.map_chunks(_tagged, ("a", values), BOUNDS, workers=2),
        "B": lambda: parallel.map_chunks(_doubled, values, BOUNDS, workers=2),
    })
    assert errors == {}
    assert results["A"] == [_tagged(("a", values), a, b) for a, b in BOUNDS]
    assert results["B"] == [_doubled(values, a, b) for a, b in BOUNDS]
    assert parallel._SHARED == {}   # each call's work is let go when it ends


def test_a_host_freeze_is_kept():
    host_objects = [{"k": i} for i in range(1000)]
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        assert parallel.map_chunks(_doubled, list(range(10)), BOUNDS, workers=2) == [[0, 2, 4], [6, 8, 10],
                                                                                     [12, 14, 16, 18]]
        assert gc.get_freeze_count() >= before
    finally:
        gc.unfreeze()
    del host_objects


def test_dedup_own_freeze_is_undone():
    gc.unfreeze()
    parallel.map_chunks(_doubled, list(range(10)), BOUNDS, workers=2)
    assert gc.get_freeze_count() == 0


def test_the_first_call_to_end_leaves_the_other_call_frozen():
    """Call B is between two waves of its workers when call A ends: A must not unfreeze under B (whose next
    wave would fork with the heap unfrozen); the freeze is undone when B, the last, ends."""
    gc.unfreeze()
    a_ended, b_waiting = threading.Event(), threading.Event()
    frozen_in_b: list[int] = []

    def b_done(start: int, stop: int) -> None:
        if start == 0:
            b_waiting.set()
            assert a_ended.wait(timeout=60)
            frozen_in_b.append(gc.get_freeze_count())

    def call_a():
        assert b_waiting.wait(timeout=60)
        try:
            return parallel.map_chunks(_doubled, list(range(10)), BOUNDS, workers=2)
        finally:
            a_ended.set()

    results, errors = _in_threads({
        "B": lambda: parallel.map_chunks(_doubled, list(range(10)), BOUNDS, workers=2, done=b_done),
        "A": call_a,
    })
    assert errors == {}
    assert results["A"] == results["B"] == [_doubled(list(range(10)), a, b) for a, b in BOUNDS]
    assert frozen_in_b and frozen_in_b[0] > 0
    assert gc.get_freeze_count() == 0
