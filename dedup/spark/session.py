"""The SparkSession the engine runs in, and the checks that say why Spark is unavailable.

The engine takes the *active* session when there is one (``spark-submit``, a
notebook, Databricks, EMR, Dataproc: their cluster configuration applies), and
otherwise starts one with ``master`` (``local[2]`` on a laptop). Either way it
works in a :meth:`~pyspark.sql.SparkSession.newSession` of its own
(:func:`own_session`): the caller's runtime SQL settings are carried into it,
the two the outputs depend on (UTC session time zone, microsecond Parquet
timestamps) are set there whatever the caller's say, and nothing set there
leaks into the caller's session.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

from dedup.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

#: Java releases Spark 4 runs on.
MIN_JAVA = 17

#: SQL settings dedup's outputs depend on: set in the run's session whatever the caller's session says.
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",                       # `published` is UTC end to end
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # not INT96: polars/pyarrow read it as UTC
}

#: dedup's defaults for the run's session, for speed, memory and a crash's traceback only: a value the caller's
#: session was given (``spark.conf.set``) is kept instead.
DEFAULT_CONF = {
    "spark.sql.adaptive.enabled": "true",                      # broadcast small sides, split skewed joins
    "spark.sql.adaptive.skewJoin.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",    # articles per Arrow batch handed to Python
    # a Python worker's segmentation fault says where (its traceback), and is told from a worker killed:
    # dedup.spark.failures.worker_fault
    "spark.sql.execution.pyspark.udf.faulthandler.enabled": "true",
}

#: Spark's loggers that restate a failure dedup reports itself, once, in its own error (a failed task with its
#: stack trace, the job it aborts, a running task's listeners when the context stops): off in a session dedup
#: starts, ``--quiet`` or not (:func:`get_session`).
RESTATED_LOGGERS = ("org.apache.spark.executor.Executor", "org.apache.spark.scheduler.TaskSetManager",
                    "org.apache.spark.TaskContextImpl")

#: Spark's own log under ``--quiet``: errors only, and none of its startup notices.
QUIET_LOG4J = Path(__file__).with_name("log4j2-quiet.properties")

#: Spark's loggers :data:`QUIET_LOG4J` turns off while the context starts and :func:`get_session` sets to ERROR
#: once it has: a context that fails to start (a master it cannot parse) logs its Java stack trace, and dedup
#: gives the reason on its one line.
QUIET_WHILE_STARTING = ("org.apache.spark.SparkContext",)

#: What the JVM itself says at start (Spark 4 loads an incubator module), before any logger exists.
JVM_NOTICES = (b"WARNING: Using incubator modules:",)


def require_pyspark() -> None:
    """Raise a :class:`ConfigError` naming the fix when pyspark (or pandas, which it needs) is missing."""
    # pandas: pyspark's Arrow UDFs refuse to run without it. find_spec looks, without importing.
    for name in ("pyspark", "pandas"):
        if importlib.util.find_spec(name) is None:
            raise ConfigError(f"--engine spark needs pyspark and pandas ({name} is not installed); "
                              "install them from a clone of dedup with: pip install '.[spark]'")


def java_version() -> int | None:
    """The major version of the ``java`` Spark would launch ($JAVA_HOME first, then PATH), or None."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0_392" is Java 8


def unavailable_reason() -> str | None:
    """Why the Spark engine cannot run here (None when it can): used by the CLI and the test skips."""
    try:
        require_pyspark()
    except ConfigError as exc:
        return str(exc)
    version = java_version()
    if version is None:
        return "--engine spark needs Java 17 or later, and no `java` was found on PATH or in JAVA_HOME"
    if version < MIN_JAVA:
        return f"--engine spark needs Java {MIN_JAVA} or later (Spark 4); found Java {version}"
    return None


def get_session(master: str | None = None, *, app_name: str = "dedup",
                conf: dict[str, str] | None = None, quiet: bool = False) -> "SparkSession":
    """The engine's SparkSession: a new session over the active one, or over one started with ``master``.

    ``master`` is only used when no session is active (``local[2]``,
    ``spark://host:7077``, ``yarn``...). ``conf`` adds launch settings for a
    session started here (``{"spark.driver.memory": "8g"}``); dedup's own launch
    defaults (with ``local[N]``: 4g of driver memory, 2N shuffle partitions, no
    web UI) apply to the keys spark-defaults.conf leaves unset. A master Spark
    refuses or cannot reach is a :class:`ConfigError`, one line. A session
    started here logs Spark's errors only once it has started, and never those
    that restate a failure dedup reports itself (:data:`RESTATED_LOGGERS`).
    ``quiet``: nor its start-up notices and warnings (:data:`QUIET_LOG4J`, and
    the driver JVM's own start-up notice is dropped). The active session's
    logging is left as its owner set it.
    """
    reason = unavailable_reason()
    if reason:
        raise ConfigError(reason)
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        master = master or "local[*]"
        if master.startswith("local"):
            # Python workers run this interpreter (with dedup installed), not whatever `python3` is on PATH.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.appName(app_name).master(master)
        launch = {"spark.ui.showConsoleProgress": "false", "spark.python.worker.reuse": "true"}
        if master.startswith("local"):
            # A laptop: few shuffle partitions (200 tiny tasks cost more than they give), no web UI.
            cores = re.match(r"local\[(\d+)", master)
            n = int(cores.group(1)) if cores else (os.cpu_count() or 2)
            launch.update({"spark.sql.shuffle.partitions": str(max(2, 2 * n)), "spark.ui.enabled": "false",
                           "spark.driver.memory": "4g"})
        # A setting given here replaces the site's (spark-submit reads spark-defaults.conf, and SPARK_DRIVER_MEMORY,
        # under it): dedup's defaults apply only to what the site leaves unset. The caller's `conf` wins.
        site = spark_defaults()
        if os.environ.get("SPARK_DRIVER_MEMORY"):
            site.setdefault("spark.driver.memory", os.environ["SPARK_DRIVER_MEMORY"])
        settings = {**{key: value for key, value in launch.items() if key not in site}, **(conf or {})}
        hint = "a master is local[N], spark://HOST:PORT, yarn or k8s://HOST:PORT"
        try:
            if quiet:
                key = "spark.driver.extraJavaOptions"   # given here, it replaces spark-defaults.conf's: both kept
                options = settings.get(key) or site.get(key, "")
                settings[key] = f"{options} -Dlog4j2.configurationFile={QUIET_LOG4J.as_uri()}".strip()
                _start_quietly(master, app_name, settings)
            for key, value in settings.items():
                builder = builder.config(key, value)
            active = builder.getOrCreate()
            active.sparkContext.setLogLevel("ERROR")
            _silence(active.sparkContext, RESTATED_LOGGERS)
            if quiet:   # started: its errors are logged again, as without --quiet
                _set_levels(active.sparkContext, QUIET_WHILE_STARTING, "ERROR")
        except PySparkRuntimeError as exc:
            if exc.getCondition() != "JAVA_GATEWAY_EXITED":
                raise
            # Spark's driver (spark-submit) refused to start and said why on stderr: one line here
            raise ConfigError(f"Spark did not start with --master {master} (its driver exited; the reason is "
                              f"above): {hint}") from None
        except Py4JJavaError as exc:
            # The driver started, its SparkContext did not: a master it cannot parse (local[abc], local[0]) or
            # lost (a spark:// master that does not answer stops the context). Spark's reason, on one line.
            java = exc.java_exception
            reason = " ".join(str(java.getMessage() or java.getClass().getName()).split())
            raise ConfigError(f"Spark did not start with --master {master}: {reason}; {hint}") from None
    return own_session(active)


def _silence(sc, loggers: tuple[str, ...]) -> None:
    """Turn Spark's ``loggers`` off in the driver JVM's log4j (the executors of a ``local[...]`` master too)."""
    _set_levels(sc, loggers, "OFF")


def _set_levels(sc, loggers: tuple[str, ...], level: str) -> None:
    """Set Spark's ``loggers`` to ``level`` (a log4j level name) in the driver JVM's log4j."""
    log4j = sc._jvm.org.apache.logging.log4j
    for name in loggers:
        log4j.core.config.Configurator.setLevel(name, log4j.Level.getLevel(level))


def own_session(parent: SparkSession) -> SparkSession:
    """A new session over ``parent``'s SparkContext, for one run: ``parent``'s runtime SQL settings (what
    ``spark.conf.set`` gave it: ``spark.sql.shuffle.partitions``...) carried over, :data:`DEFAULT_CONF` for
    the keys neither it nor the context (``spark-submit --conf``, ``spark-defaults.conf``) set, and
    :data:`REQUIRED_CONF` whatever it says. ``parent`` itself is left as it is."""
    session = parent.newSession()
    fresh = session.conf.getAll   # the context's settings (spark-submit --conf, spark-defaults.conf)
    given = {key: value for key, value in parent.conf.getAll.items() if fresh.get(key) != value}
    defaults = {key: value for key, value in DEFAULT_CONF.items() if key not in fresh}   # the context's win too
    for key, value in {**defaults, **given, **REQUIRED_CONF}.items():
        session.conf.set(key, value)
    return session


def spark_defaults() -> dict[str, str]:
    """The settings of Spark's ``spark-defaults.conf`` ($SPARK_CONF_DIR, else pyspark's SPARK_HOME/conf), which
    spark-submit applies to a session started here; {} without one. A Java properties file: ``key value``,
    ``key=value`` or ``key: value`` lines, ``#`` and ``!`` comments, the last value of a key wins."""
    from pyspark.find_spark_home import _find_spark_home

    folder = os.environ.get("SPARK_CONF_DIR") or os.path.join(_find_spark_home(), "conf")
    try:
        with open(os.path.join(folder, "spark-defaults.conf"), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return {}
    found = (re.match(r"\s*([^\s=:#!][^\s=:]*)\s*[=:\s]\s*(.*?)\s*$", line) for line in lines)
    return {m.group(1): m.group(2) for m in found if m}


def _start_quietly(master: str, app_name: str, settings: dict[str, str]) -> None:
    """Start the SparkContext with the driver JVM's stderr passed through :func:`_forward_stderr`.

    pyspark starts the JVM with the caller's stderr; the JVM prints
    :data:`JVM_NOTICES` there before log4j is configured. Nothing is started
    when pyspark already has a JVM (the builder then reuses it as it is).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None:  # a JVM from an earlier session of this process
        return
    conf = SparkConf().setMaster(master).setAppName(app_name).setAll(list(settings.items()))
    # A pipe read from before the JVM starts: what it says when it refuses to start (a bad master) is passed on.
    read_end, write_end = os.pipe()
    forward = threading.Thread(target=_forward_stderr, args=(os.fdopen(read_end, "rb"), sys.stderr),
                               name="spark-stderr", daemon=True)
    forward.start()
    try:
        gateway = launch_gateway(conf, popen_kwargs={"stderr": write_end})
    except Exception:
        os.close(write_end)
        forward.join(timeout=10)   # the JVM has exited: its last words come before the caller's error
        raise
    os.close(write_end)   # the JVM holds its own copy
    SparkContext(conf=conf, gateway=gateway)


def _forward_stderr(source: IO[bytes], target: IO[str]) -> None:
    """Copy the JVM's stderr to ``target`` line by line, leaving out :data:`JVM_NOTICES`."""
    for line in iter(source.readline, b""):
        if not line.startswith(JVM_NOTICES):
            target.write(line.decode("utf-8", "replace"))
            target.flush()
