"""Spark failing during a run: one line and exit 9 (EngineError); dedup's own errors stay internal errors."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from dedup.errors import EngineError
from dedup.spark import run_spark
from tests.spark.conftest import REASON
from tests.spark.corpora import planted_corpus, write_jsonl

#: `dedup cluster` with the read stage's tasks stalled (they touch argv[1] first); argv[2] "stop": the
#: SparkContext is stopped from another thread while they run, "crash": the task's Python worker exits.
_DRIVER = textwrap.dedent('''
    import os, sys, threading, time
    from pathlib import Path

    from dedup.cli import main
    from dedup.spark import read

    started, mode = sys.argv[1], sys.argv[2]
    os.environ["STARTED"] = started
    os.environ["CRASH"] = "1" if mode == "crash" else ""

    def stalled(config, latest):
        def run(batches):
            import os, time
            from pathlib import Path
            Path(os.environ["STARTED"]).touch()
            if os.environ["CRASH"]:
                os._exit(1)
            time.sleep(60)
            yield from ()
        return run

    def stop():
        while not Path(started).exists():
            time.sleep(0.1)
        from pyspark import SparkContext
        SparkContext._active_spark_context.stop()

    read._read_paths = stalled
    if mode == "stop":
        threading.Thread(target=stop, daemon=True).start()
    sys.argv = ["dedup", *sys.argv[3:]]
    main()
''')


def _cluster_failing(tmp_path, mode: str, *flags: str) -> subprocess.CompletedProcess:
    corpus = write_jsonl(planted_corpus(stories=1, singles=1), tmp_path / "in" / "night.jsonl")
    # -c: this checkout's dedup first on sys.path (the current folder), as `python -m dedup.cli` has it
    return subprocess.run([sys.executable, "-c", _DRIVER, str(tmp_path / "started"), mode,
                           "cluster", str(corpus), "--out", str(tmp_path / "out"), "--engine", "spark",
                           "--master", "local[1]", *flags], capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
def test_a_context_stopped_mid_run_is_one_line_and_exit_9(tmp_path):
    """The run had started (its first job was running): exit 9, no Python traceback, dedup's one line last."""
    done = _cluster_failing(tmp_path, "stop", "--quiet")
    assert done.returncode == 9, done.stderr
    # No traceback; dedup's one line last. (What else a stop mid-task makes Spark's JVM log, and what the stop
    # made fail first, depend on where each task was: only their form is asserted.)
    assert "Traceback" not in done.stderr, done.stderr
    last = done.stderr.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"dedup: error: Spark stopped the run \(master local\[1\]\): \S.*", last), done.stderr


@pytest.mark.spark
@pytest.mark.skipif(REASON is not None, reason=f"Spark engine unavailable: {REASON}")
def test_a_task_s_lost_worker_is_one_line_without_spark_s_error_log_under_quiet(tmp_path):
    """A Python worker that dies (as one killed for its memory) aborts the job: exit 9 with Spark's reason;
    Spark's own ERROR lines for the task and the job (with a Java stack trace) are not printed under --quiet."""
    done = _cluster_failing(tmp_path, "crash", "--quiet")
    assert done.returncode == 9, done.stderr
    assert "Traceback" not in done.stderr.split("EOFError")[-1]   # (pyspark's daemon may print its own)
    assert " ERROR " not in done.stderr and "\tat org.apache" not in done.stderr, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("dedup: error: Spark stopped the run (master local[1]): Job aborted due to stage "
                           "failure: ") and "Python worker exited unexpectedly" in last


def _stalled(error: str):
    """A shingle stage whose tasks fail: ``exit`` ends the Python worker, ``raise`` raises a KeyError."""
    def shingle_fn(config):
        def run(batches):
            import os
            for _ in batches:
                if error == "exit":
                    os._exit(1)
                raise KeyError("a bug in a stage function")
            yield from ()
        return run
    return shingle_fn


def test_a_lost_python_worker_is_spark_s_failure_and_a_stage_s_exception_is_dedups(spark, tmp_path, monkeypatch):
    """In a caller's session (which stays usable): the worker's exit is an EngineError naming Spark's reason;
    a Python exception raised by a stage on an executor, or by dedup on the driver, is not turned into one."""
    from pyspark.errors import PythonException

    from dedup.spark import engine, stages

    corpus = write_jsonl(planted_corpus(stories=1, singles=1), tmp_path / "in" / "night.jsonl")
    monkeypatch.setattr(stages, "shingle_fn", _stalled("exit"))
    with pytest.raises(EngineError, match=r"^Spark stopped the run \(master local\[2\]\): Job aborted due to "
                                          r"stage failure: .*Python worker exited unexpectedly") as caught:
        run_spark([corpus], tmp_path / "out", spark=spark)
    assert caught.value.exit_code == 9 and "\n" not in str(caught.value)
    monkeypatch.setattr(stages, "shingle_fn", _stalled("raise"))
    with pytest.raises(PythonException, match="a bug in a stage function"):
        run_spark([corpus], tmp_path / "out", spark=spark)
    monkeypatch.undo()

    def bug(*args, **kwargs):
        raise KeyError("a bug on the driver")
    monkeypatch.setattr(engine, "_lsh", bug)
    with pytest.raises(KeyError, match="a bug on the driver"):
        run_spark([corpus], tmp_path / "out", spark=spark)
    assert spark.range(3).count() == 3


def test_which_failures_are_spark_s(spark):
    """An aborted job is Spark's (its reason's first line) unless a task's Python exception is behind it;
    a Java error pyspark does not convert, other than a SparkException, is not, while the context runs."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PythonException

    from dedup.spark.failures import spark_failure

    jvm, sc = spark.sparkContext._jvm, spark.sparkContext
    lost = jvm.org.apache.spark.SparkException(
        "Job aborted due to stage failure: Task 3 in stage 7.0 failed 4 times, most recent failure: Lost task "
        "3.3 in stage 7.0 (TID 41) (10.0.0.5 executor 3): ExecutorLostFailure (executor 3 exited)\n"
        "Driver stacktrace:")
    assert spark_failure(Py4JJavaError("An error occurred while calling o81.collectToPython", lost), sc) == (
        "Job aborted due to stage failure: Task 3 in stage 7.0 failed 4 times, most recent failure: Lost task "
        "3.3 in stage 7.0 (TID 41) (10.0.0.5 executor 3): ExecutorLostFailure (executor 3 exited)")
    with pytest.raises(PythonException) as task:   # a Python exception of a task, as pyspark converts it
        sc.parallelize([1], 1).map(lambda x: {}["a bug in a task"]).collect()
    assert spark_failure(task.value, sc) is None
    by_python = jvm.org.apache.spark.SparkException("Job aborted due to stage failure: ...", task.value._origin)
    assert spark_failure(Py4JJavaError("An error occurred", by_python), sc) is None   # as py4j raises it
    assert spark_failure(Py4JJavaError("An error occurred", jvm.java.lang.NullPointerException("x")), sc) is None
    assert spark_failure(KeyError("x"), sc) is None
