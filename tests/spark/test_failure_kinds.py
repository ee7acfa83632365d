"""Which failures are Spark's (EngineError, exit 9) and which dedup's own, told as far as Spark lets us tell;
what of Spark's log a failing run prints; a file gone between Spark's listing and its read."""

from __future__ import annotations

import json

import pytest

from dedup.errors import EngineError
from dedup.spark import run_spark
from tests.spark.conftest import REASON
from tests.spark.corpora import planted_corpus, write_jsonl
from tests.spark.test_failures import _cluster_failing


def test_a_java_io_error_of_a_spark_call_is_an_engine_error_with_the_java_exception_chained(spark):
    """An I/O error pyspark leaves a raw Py4JJavaError (Hadoop cannot list or open a file while Spark reads the
    inputs) reaches the caller as an EngineError, one line, the Java exception chained; any other raw Java
    error while the context runs (a NullPointerException) is not said to be Spark's."""
    from py4j.protocol import Py4JJavaError

    from dedup.spark.failures import spark_failures

    jvm, sc = spark.sparkContext._jvm, spark.sparkContext
    gone = Py4JJavaError("An error occurred while calling o92.load",
                         jvm.java.io.FileNotFoundException("File file:/news/a.jsonl does not exist\n\tat x.y(Z)"))
    with pytest.raises(EngineError) as caught, spark_failures(sc):
        raise gone
    assert str(caught.value) == ("Spark stopped the run (master local[2]): File file:/news/a.jsonl does not exist")
    assert caught.value.exit_code == 9 and caught.value.__cause__ is gone
    with pytest.raises(Py4JJavaError), spark_failures(sc):
        raise Py4JJavaError("An error occurred", jvm.java.lang.NullPointerException("x"))


def test_a_crashed_workers_reason_is_named_not_an_empty_wrapper(spark):
    """A job aborted by a worker that vanished (its reason's line ends with a colon, a stack trace follows)
    names the crash, not the EOFException behind it."""
    from py4j.protocol import Py4JJavaError

    from dedup.spark.failures import spark_failure

    jvm = spark.sparkContext._jvm
    crash = jvm.org.apache.spark.SparkException("Python worker exited unexpectedly (crashed): \n\n\tat org.x.Y(Y.scala)",
                                                jvm.java.io.EOFException())
    job = jvm.org.apache.spark.SparkException(
        "Job aborted due to stage failure: Lost task 0.0 in stage 2.0 (TID 2): org.apache.spark.SparkException: "
        "Python worker exited unexpectedly (crashed): \n\n\tat org.x.Y(Y.scala)", crash)
    assert spark_failure(Py4JJavaError("An error occurred", job), spark.sparkContext) == (
        "Job aborted due to stage failure: Lost task 0.0 in stage 2.0 (TID 2): org.apache.spark.SparkException: "
        "Python worker exited unexpectedly (crashed)")


def _crashing(how: str):
    """A shingle stage whose Python worker crashes: ``segv`` on a segmentation fault of its own, ``exit`` by
    ending itself as a worker killed from outside ends (no signal of its own, no fault handler log)."""
    def shingle_fn(config):
        def run(batches):
            import os
            import signal
            for _ in batches:
                if how == "segv":
                    os.kill(os.getpid(), signal.SIGSEGV)
                if how == "abort":   # as a failed allocation under spark.executor.pyspark.memory ends
                    os.abort()
                os._exit(1)
            yield from ()
        return run
    return shingle_fn


def test_a_worker_s_own_fatal_signal_is_dedup_s_crash_and_a_vanished_worker_spark_s(spark, tmp_path, monkeypatch):
    """A segmentation fault in a stage's worker is a WorkerCrash (an internal error: exit 1) with the worker's
    Python traceback, not a failure a scheduler retries in vain; a worker that vanishes cannot be told from one
    killed for its memory and stays Spark's failure (exit 9)."""
    from dedup.spark import stages
    from dedup.spark.failures import WorkerCrash

    corpus = write_jsonl(planted_corpus(stories=1, singles=1), tmp_path / "in" / "night.jsonl")
    monkeypatch.setattr(stages, "shingle_fn", _crashing("segv"))
    with pytest.raises(WorkerCrash, match=r"^a Python worker crashed running dedup's code on an executor: "
                                          r"Fatal Python error: Segmentation fault") as caught:
        run_spark([corpus], tmp_path / "out", spark=spark)
    assert "test_failure_kinds.py" in str(caught.value) and "\tat org.apache" not in str(caught.value)
    assert not isinstance(caught.value, EngineError) and caught.value.__cause__ is not None
    monkeypatch.setattr(stages, "shingle_fn", _crashing("exit"))
    with pytest.raises(EngineError, match=r"Python worker exited unexpectedly \(crashed\)$"):
        run_spark([corpus], tmp_path / "out", spark=spark)
    monkeypatch.setattr(stages, "shingle_fn", _crashing("abort"))   # a memory limit's end, not a bug's
    with pytest.raises(EngineError, match=r"Python worker exited unexpectedly \(crashed\)"):
        run_spark([corpus], tmp_path / "out", spark=spark)
    assert spark.range(3).count() == 3


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
def test_a_failed_task_is_said_once_without_spark_s_error_log_without_quiet_too(tmp_path):
    """Not --quiet: Spark's start-up notices may print, but a failed task and the job it aborts are said once,
    in dedup's own line: not again in Spark's ERROR lines, with their Java stack traces."""
    done = _cluster_failing(tmp_path, "crash")
    assert done.returncode == 9, done.stderr
    assert " ERROR " not in done.stderr and "\tat org.apache" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1].startswith("dedup: error: Spark stopped the run (master local[1]): ")


def test_a_file_gone_between_the_listing_and_the_read_is_an_unreadable_file(spark, tmp_path, monkeypatch):
    """A file deleted after Spark's driver listed the inputs (Spark refuses the whole read for it): its
    unreadable_file reject, as the local engine's for a file gone before it opens it, and the run goes on."""
    from dedup.spark import read

    folder = tmp_path / "in"
    kept = write_jsonl(planted_corpus(stories=1, singles=1), folder / "a.jsonl")
    write_jsonl(planted_corpus(stories=1, singles=1, seed=8), folder / "b.jsonl")
    listed = read.find_uris

    def then_deleted(*args, **kwargs):
        found = listed(*args, **kwargs)
        (folder / "b.jsonl").unlink()
        return found
    monkeypatch.setattr(read, "find_uris", then_deleted)
    summary = run_spark([folder.resolve().as_uri()], tmp_path / "out", spark=spark)
    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["file"], r["reason"], r["message"]) for r in rejected] == [
        (f"file:{folder.resolve()}/b.jsonl", "unreadable_file", "cannot read file: No such file or directory")]
    assert summary["inputs"]["files"] == 2 and summary["articles"]["rejected_by_reason"] == {"unreadable_file": 1}
    assert summary["articles"]["clustered"] == len(kept.read_text().splitlines())   # every article of a.jsonl
