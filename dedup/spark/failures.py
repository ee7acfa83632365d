"""Spark's failures during a run, told apart from dedup's own.

A run that Spark cannot finish (its SparkContext stopped, from another thread
or because the master or the driver was lost; a job aborted because executors
or Python workers died; an I/O error of Spark's or Hadoop's, a Java exception
pyspark leaves a ``Py4JJavaError``) ends as an :class:`~dedup.errors.EngineError`: one line with the first
line of Spark's reason, the Java exception chained (``dedup cluster`` exits 9; a master Spark cannot start
with at all is a bad parameter, exit 2, :func:`dedup.spark.session.get_session`). An
error of dedup's own stays what it is, an internal error with its traceback: a
Python exception raised in the driver while the context runs, and one raised in
a stage function on an executor (pyspark's ``PythonException``), as well as the
errors pyspark recognises as a query's own (``AnalysisException``,
``ArithmeticException``...).

A Python worker that crashes on a fatal signal of its own (a segmentation fault,
a bus error, an illegal instruction: a bug in the code it runs, dedup's or a library's) is
a :class:`WorkerCrash`, an internal error with the worker's Python traceback:
the run's session enables Python's fault handler in the workers
(``spark.sql.execution.pyspark.udf.faulthandler.enabled``,
:data:`dedup.spark.session.DEFAULT_CONF`), which writes it. A worker that
vanishes without one (killed from outside: the kernel's OOM killer, its
container's memory limit, ``kill -9``; or one that ends itself with
``os._exit``) cannot be told apart: Spark reports no exit status or signal, only
"Python worker exited unexpectedly (crashed)"; it is taken for Spark's failure (exit 9), as the
lost worker of a cluster's memory limits most often is; so is a worker that aborts (SIGABRT), as one whose
allocation failed under ``spark.executor.pyspark.memory`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dedup.errors import DedupError, EngineError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark import SparkContext

#: What an error raised by Python code in a task is, in the JVM.
PYTHON_ERROR = "org.apache.spark.api.python.PythonException"

#: How Spark says a Python worker crashed with the fault handler's log (Python's traceback of the fatal signal).
_FAULT = re.compile(r"Python worker exited unexpectedly \(crashed\): (Fatal Python error: .*?)(?:\n\s*at |\Z)",
                    re.DOTALL)

# The fatal signals of a bug in the code a worker runs; not an abort (SIGABRT), which a failed allocation under
# a memory limit (spark.executor.pyspark.memory) also ends in: that one is the cluster's limit, Spark's failure.
_BUG_SIGNALS = re.compile(r"Fatal Python error: (?:Segmentation fault|Bus error|Illegal instruction|"
                          r"Floating[- ]point exception)")


class WorkerCrash(RuntimeError):
    """A Python worker crashed on a fatal signal of its own while running dedup's code on an executor: an
    internal error (exit 1), with the worker's Python traceback, the Java exception chained."""


def java_cause(exc: BaseException, class_name: str) -> Any | None:
    """The first Java exception of class ``class_name`` (or a subclass) behind a failed Spark call: the
    call's own, then its causes; None when there is none or ``exc`` did not come from the JVM."""
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)   # py4j's, pyspark's
    while java is not None:
        if _is_a(java, class_name):
            return java
        java = java.getCause()
    return None


def _is_a(java: Any, class_name: str) -> bool:
    cls = java.getClass()
    while cls is not None:
        if cls.getName() == class_name:
            return True
        cls = cls.getSuperclass()
    return False


def _first_line(java: Any) -> str:
    """The first line of a Java exception's message (a trailing colon dropped); that of its cause for a
    wrapper that says nothing of its own (``Exception thrown in awaitResult:``, the whole message). A job's
    reason that ends its first line with a colon (``Python worker exited unexpectedly (crashed):``, then a
    stack trace) is the reason."""
    while True:
        lines = str(java.getMessage() or "").strip().splitlines()
        line = " ".join(lines[0].split()) if lines else ""
        if (line and not (line.endswith(":") and len(lines) == 1)) or java.getCause() is None:
            return line.removesuffix(":").rstrip() or java.getClass().getName()
        java = java.getCause()


def _stopped(sc: SparkContext) -> bool:
    """Whether the context has stopped (in Python or in the JVM), or its driver JVM is gone."""
    from py4j.protocol import Py4JError

    try:
        return sc._jsc is None or bool(sc._jsc.sc().isStopped())
    except (Py4JError, OSError):   # py4j cannot reach the JVM
        return True


def spark_failure(exc: BaseException, sc: SparkContext) -> str | None:
    """Spark's reason, one line, when ``exc`` is Spark's failure rather than dedup's; else None.

    Spark's: any error once the context has stopped (what failed first, a job
    cancelled by the stop, is named); a job that Spark aborted
    (``org.apache.spark.SparkException``, left unconverted by pyspark) for a
    reason other than a Python exception in a task or a worker's crash on a
    fatal signal of its own (:func:`worker_fault`); and a Java I/O error
    (``java.io.IOException``: a file Hadoop cannot list or open, a connection
    lost) that pyspark leaves unconverted.
    """
    from py4j.protocol import Py4JError, Py4JJavaError

    if not _stopped(sc):
        job = _aborted_job(exc)
        if job is not None:
            return None if worker_fault(exc) else _first_line(job)
        io = java_cause(exc, "java.io.IOException") if isinstance(exc, Py4JJavaError) else None
        return None if io is None else _first_line(io)
    chain, seen = [], exc   # the exception, and those it was raised while handling (a cleanup's failure)
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__context__
    try:   # the earliest: what the stop made fail first
        job = next((job for job in map(_aborted_job, reversed(chain)) if job is not None), None)
        return "its SparkContext was stopped" if job is None else _first_line(job)
    except (Py4JError, OSError):   # the driver JVM is gone, with the Java side of the exceptions
        return "its SparkContext was stopped"


def _aborted_job(exc: BaseException) -> Any | None:
    """The ``SparkException`` a Spark call failed with (pyspark leaves it a py4j error), unless a Python
    exception raised in a task is behind it."""
    from py4j.protocol import Py4JJavaError

    if not isinstance(exc, Py4JJavaError) or java_cause(exc, PYTHON_ERROR) is not None:
        return None
    java = exc.java_exception
    return java if _is_a(java, "org.apache.spark.SparkException") else None


def worker_fault(exc: BaseException) -> str | None:
    """The fault handler's log (``Fatal Python error: Segmentation fault`` and the worker's Python traceback)
    when a job aborted because a Python worker crashed on a fatal signal of its own; else None."""
    job = _aborted_job(exc)
    found = _FAULT.search(str(job.getMessage() or "")) if job is not None else None
    return found.group(1).strip() if found and _BUG_SIGNALS.match(found.group(1)) else None


@contextmanager
def spark_failures(sc: SparkContext) -> Iterator[None]:
    """Run the block; a failure of Spark's (:func:`spark_failure`) is an :class:`EngineError`, one line; a
    worker's crash on a fatal signal (:func:`worker_fault`), a :class:`WorkerCrash`."""
    master = sc.master
    try:
        yield
    except DedupError:
        raise
    except Exception as exc:
        reason = spark_failure(exc, sc)
        if reason is None:
            fault = None if _stopped(sc) else worker_fault(exc)
            if fault is None:
                raise
            raise WorkerCrash(f"a Python worker crashed running dedup's code on an executor: {fault}") from exc
        raise EngineError(f"Spark stopped the run (master {master}): {reason}") from exc
